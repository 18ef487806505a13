// cmd_transfer.cc: est export and import: a store as JSON lines, one event
// per line in global order, and back. Import writes through
// EST_APPEND_RESTORE so that IDs, timestamps and stream versions survive
// (a truncated stream keeps its versions); positions are assigned afresh.
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unordered_map>

#include "cli.h"

namespace est {
namespace {

using StorePtr = std::unique_ptr<est_store, StoreCloser>;
using IterPtr = std::unique_ptr<est_iter, IterCloser>;

struct ImportedEvent {
  std::string stream;
  int64_t version = 0;
  est_uuid id{};
  std::string type;
  int64_t timestamp_ns = 0;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> metadata;  // sorted by key (JSON object order)
  std::string data;
};

ImportedEvent ParseLine(const std::string& line, size_t line_no) {
  std::string where = "line " + std::to_string(line_no);
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) UsageError(where + ": not a JSON object");
  auto str = [&](const char* key) -> std::string {
    if (!j.contains(key) || !j[key].is_string()) UsageError(where + ": \"" + key + "\" (a string) is missing");
    return j[key].get<std::string>();
  };
  auto num = [&](const char* key) -> int64_t {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() <= 0) {
      UsageError(where + ": \"" + key + "\" (a positive integer) is missing");
    }
    return j[key].get<int64_t>();
  };
  ImportedEvent e;
  e.stream = str("stream");
  CheckStreamId(e.stream);
  e.version = num("version");
  if (!ParseUuid(str("id"), &e.id)) UsageError(where + ": \"id\" is not a UUID");
  e.type = str("type");
  e.timestamp_ns = num("timestamp_ns");
  e.content_type = j.contains("content_type") ? str("content_type") : "";
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object()) UsageError(where + ": \"metadata\" is not an object");
    for (auto& [k, v] : j["metadata"].items()) {
      if (!v.is_string()) UsageError(where + ": metadata \"" + k + "\" is not a string");
      e.metadata.emplace_back(k, v.get<std::string>());
    }
  }
  if (!Base64Decode(str("data_base64"), &e.data)) UsageError(where + ": \"data_base64\" is not base64");
  return e;
}

}  // namespace

int CmdExport(const std::vector<std::string>& argv) {
  Args args(argv, {}, {});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  StorePtr store(OpenStore(uri, kReadOnly));
  est_stats stats = EST_STATS_INIT;
  if (est_status st = est_store_stats(store.get(), &stats); st != EST_OK) FailStatus(st, "reading the statistics");
  est_iter* raw = nullptr;
  if (est_status st = est_read_all(store.get(), nullptr, &raw); st != EST_OK) FailStatus(st, "reading all");
  IterPtr iter(raw);
  Progress progress("exporting");
  uint64_t done = 0;
  for (;;) {
    est_event e = EST_EVENT_INIT;
    est_status st = est_iter_next(iter.get(), &e);
    if (st == EST_END) break;
    if (st != EST_OK) FailStatus(st, "reading all");
    std::string line = EventToJson(e, false).dump();
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) Fail(kExitFailure, "writing to stdout failed");
    progress.Update(++done, static_cast<uint64_t>(stats.events));
  }
  progress.Finish();
  if (std::fflush(stdout) != 0) Fail(kExitFailure, "writing to stdout failed");
  return kExitOk;
}

int CmdImport(const std::vector<std::string>& argv) {
  Args args(argv, {"--sync"}, {});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  int32_t sync_mode = EST_SYNC_ALWAYS;
  if (std::optional<std::string> s = args.get("--sync")) {
    if (*s == "always") {
      sync_mode = EST_SYNC_ALWAYS;
    } else if (*s == "interval") {
      sync_mode = EST_SYNC_INTERVAL;
    } else if (*s == "none") {
      sync_mode = EST_SYNC_NONE;
    } else {
      UsageError("--sync is always, interval or none");
    }
  }
  // The whole input is checked before the store is opened: a bad line
  // leaves the store untouched.
  std::vector<ImportedEvent> events;
  {
    std::string line;
    size_t line_no = 0;
    while (std::getline(std::cin, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      events.push_back(ParseLine(line, line_no));
    }
  }
  std::unordered_map<std::string, int64_t> tips;  // stream -> version written so far
  for (size_t i = 0; i < events.size(); ++i) {
    auto it = tips.find(events[i].stream);
    if (it != tips.end() && events[i].version != it->second + 1) {
      UsageError("event " + std::to_string(i + 1) + " of " + events[i].stream + " has version " +
                 std::to_string(events[i].version) + ", not " + std::to_string(it->second + 1));
    }
    tips[events[i].stream] = events[i].version;
  }
  tips.clear();

  StorePtr store(OpenStore(uri, {.must_exist = false, .sync_mode = sync_mode}));
  Progress progress("importing");
  constexpr size_t kMaxBatchEvents = 1000;
  constexpr size_t kMaxBatchBytes = 4 << 20;
  size_t i = 0;
  while (i < events.size()) {
    // One batch: consecutive events of one stream.
    size_t j = i;
    size_t bytes = 0;
    est_batch* raw_batch = nullptr;
    if (est_status st = est_batch_new(&raw_batch); st != EST_OK) FailStatus(st, "making a batch");
    std::unique_ptr<est_batch, void (*)(est_batch*)> batch(raw_batch, est_batch_free);
    while (j < events.size() && events[j].stream == events[i].stream && j - i < kMaxBatchEvents &&
           bytes < kMaxBatchBytes) {
      const ImportedEvent& e = events[j];
      std::string what = "event " + std::to_string(j + 1) + " (" + e.stream + " version " + std::to_string(e.version) + ")";
      est_status st = est_batch_add(batch.get(), e.type.c_str(), e.data.data(), e.data.size(), e.content_type.c_str());
      if (st == EST_OK) st = est_batch_set_id(batch.get(), &e.id);
      if (st == EST_OK) st = est_batch_set_timestamp(batch.get(), e.timestamp_ns);
      for (size_t m = 0; st == EST_OK && m < e.metadata.size(); ++m) {
        st = est_batch_add_metadata(batch.get(), e.metadata[m].first.c_str(), e.metadata[m].second.c_str());
      }
      if (st != EST_OK) FailStatus(st, "importing " + what);
      bytes += e.data.size() + 64;
      ++j;
    }
    const ImportedEvent& first = events[i];
    est_append_options options = EST_APPEND_OPTIONS_INIT;
    options.flags = EST_APPEND_RESTORE;
    options.first_version = first.version;
    if (tips.count(first.stream)) {
      options.expect = EST_EXPECT_VERSION;
      options.expected_version = first.version - 1;
    } else {
      options.expect = EST_EXPECT_NO_STREAM;
    }
    est_append_result result = EST_APPEND_RESULT_INIT;
    est_status st = est_append_batch(store.get(), first.stream.c_str(), batch.get(), &options, &result, nullptr);
    if (st == EST_ERR_VERSION_MISMATCH) {
      Fail(kExitConflict, "importing " + first.stream + ": the stream already exists in the store (at version " +
                              std::to_string(result.actual_version) + "); " + std::to_string(i) +
                              " events were imported before it");
    }
    if (st != EST_OK) FailStatus(st, "importing " + first.stream);
    if (result.first_version != first.version) {
      Fail(kExitFailure, "importing " + first.stream + ": the store put version " + std::to_string(first.version) +
                             " at " + std::to_string(result.first_version));
    }
    tips[first.stream] = result.last_version;
    i = j;
    progress.Update(i, events.size());
  }
  progress.Finish();
  if (est_status st = est_store_sync(store.get()); st != EST_OK) FailStatus(st, "syncing");
  std::printf("imported %zu events into %zu streams\n", events.size(), tips.size());
  return kExitOk;
}

}  // namespace est
