// cmd_transfer.cc: est export and import: a store as JSON lines, one event
// per line in global order, and back. Import appends with
// AppendOptions::Restoring so that IDs, timestamps and stream versions
// survive (a truncated stream keeps its versions), many batches per
// Transaction; positions are assigned afresh.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cli.h"
#include "estoria/transaction.hpp"

namespace est {
namespace {

struct ImportedEvent {
  std::string stream;
  int64_t version = 0;
  estoria::Uuid id;
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
  e.stream = ParseStreamId(str("stream")).str();
  e.version = num("version");
  estoria::Result<estoria::Uuid> id = estoria::Uuid::Parse(str("id"));
  if (!id.ok()) UsageError(where + ": \"id\" is not a UUID");
  e.id = *id;
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

// One append of an import: events [begin, end) as a batch, with its expectation.
struct PlannedBatch {
  size_t begin = 0;
  size_t end = 0;
  estoria::Batch batch;
  estoria::AppendOptions options;
};

void CheckPlacement(const ImportedEvent& first, const estoria::AppendResult& result) {
  if (result.first_version != first.version) {
    Fail(kExitFailure, "importing " + first.stream + ": the store put version " + std::to_string(first.version) +
                           " at " + std::to_string(result.first_version));
  }
}

void AppendOne(const estoria::Store& store, const std::vector<ImportedEvent>& events, const PlannedBatch& p) {
  const ImportedEvent& first = events[p.begin];
  estoria::Result<estoria::AppendResult> appended = store.Append(first.stream, p.batch, p.options);
  if (!appended.ok() && appended.error().is_version_mismatch()) {
    Fail(kExitConflict, "importing " + first.stream + ": the stream already exists in the store (at version " +
                            std::to_string(appended.error().actual_version()) + "); " + std::to_string(p.begin) +
                            " events were imported before it");
  }
  CheckPlacement(first, Must(std::move(appended), "importing " + first.stream));
}

enum class Committed { kYes, kConflict, kUnsupported };

// Appends planned[g, h) in one transaction, or nothing: on a conflict, or
// with a backend without transactions.
Committed CommitInOneTransaction(const estoria::Store& store, const std::vector<ImportedEvent>& events,
                            const std::vector<PlannedBatch>& planned, size_t g, size_t h) {
  estoria::Transaction txn = Must(estoria::Transaction::Begin(store), "starting a transaction");
  for (size_t k = g; k < h; ++k) {
    const ImportedEvent& first = events[planned[k].begin];
    Must(txn.Append(first.stream, planned[k].batch, planned[k].options), "importing " + first.stream);
  }
  estoria::Result<std::vector<estoria::AppendResult>> results = txn.Commit();
  if (!results.ok()) {
    if (results.error().is_version_mismatch()) return Committed::kConflict;
    if (results.error().status() == EST_ERR_UNSUPPORTED) return Committed::kUnsupported;
    FailOn(results.error(), "importing");
  }
  for (size_t k = g; k < h; ++k) CheckPlacement(events[planned[k].begin], (*results)[k - g]);
  return Committed::kYes;
}

}  // namespace

Command AddExport(CLI::App& est) {
  auto store_arg = std::make_shared<std::string>();
  CLI::App* cmd = AddCommand(
      est, "export", "write every event as JSON lines to stdout",
      "One JSON object per event in global order: stream, version, id, type,\n"
      "timestamp_ns, content_type, metadata, data_base64 (exact for binary data).\n"
      "Positions and snapshots are not exported. Opens the store read-only:\n"
      "works beside a writer in another process (the export is then the log\n"
      "as far as that writer had published it: whole batches, in order).\n"
      "  est export STORE > FILE");
  cmd->add_option("STORE", *store_arg, "the store: a path, file:PATH or memory:")->required();

  return {cmd, [store_arg]() -> int {
            StoreUri uri = ParseStoreUri(*store_arg);
            estoria::Store store = OpenStore(uri, kReadOnly);
            estoria::StoreStats stats = Must(store.Stats(), "reading the statistics");
            estoria::StreamIterator events = Must(store.ReadAll(), "reading all");
            Progress progress("exporting");
            uint64_t done = 0;
            for (const estoria::EventView& e : events) {
              std::string line = EventToJson(e, false).dump();
              line += '\n';
              if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) {
                Fail(kExitFailure, "writing to stdout failed");
              }
              progress.Update(++done, static_cast<uint64_t>(stats.events));
            }
            Must(events.status(), "reading all");
            progress.Finish();
            if (std::fflush(stdout) != 0) Fail(kExitFailure, "writing to stdout failed");
            return kExitOk;
          }};
}

Command AddImport(CLI::App& est) {
  struct Options {
    std::string store;
    std::string sync = "always";
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "import", "append JSON lines from stdin, keeping IDs and versions",
      "Appends the events of an export in order, keeping each event's ID,\n"
      "timestamp and stream version (a truncated stream keeps its versions).\n"
      "Positions are assigned afresh, in the same order. A stream that already\n"
      "exists in STORE fails with exit code 6 before anything of it is written.\n"
      "Where the store has transactions (memory, file), many batches are\n"
      "committed at once: one sync for many small streams.\n"
      "  est import STORE < FILE");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory: (created if absent)")->required();
  AddSyncOption(cmd, &o->sync);

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            // The whole input is checked before the store is opened: a bad
            // line leaves the store untouched.
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

            // The batches: consecutive events of one stream, each expecting
            // where the one before it left the stream (or no stream at all).
            constexpr size_t kMaxBatchEvents = 1000;
            constexpr size_t kMaxBatchBytes = 4 << 20;
            std::vector<PlannedBatch> planned;
            for (size_t i = 0; i < events.size();) {
              PlannedBatch p;
              p.begin = p.end = i;
              size_t bytes = 0;
              while (p.end < events.size() && events[p.end].stream == events[i].stream &&
                     p.end - i < kMaxBatchEvents && bytes < kMaxBatchBytes) {
                const ImportedEvent& e = events[p.end];
                std::string what = "event " + std::to_string(p.end + 1) + " (" + e.stream + " version " +
                                   std::to_string(e.version) + ")";
                estoria::Result<void> added =
                    p.batch.Add(e.type, e.data, e.content_type).Id(e.id).Timestamp(e.timestamp_ns);
                for (size_t m = 0; added.ok() && m < e.metadata.size(); ++m) {
                  added = p.batch.AddMetadata(e.metadata[m].first, e.metadata[m].second);
                }
                Must(added, "importing " + what);
                bytes += e.data.size() + 64;
                ++p.end;
              }
              const ImportedEvent& first = events[i];
              p.options = (tips.count(first.stream) ? estoria::AppendOptions::ExpectVersion(first.version - 1)
                                                    : estoria::AppendOptions::ExpectNoStream())
                              .Restoring(first.version);
              tips[first.stream] = events[p.end - 1].version;
              i = p.end;
              planned.push_back(std::move(p));
            }

            estoria::Store store = OpenStore(uri, {.must_exist = false, .sync_mode = SyncModeNamed(o->sync)});
            Progress progress("importing");
            // Batches go in transactions of up to kTxnEvents events: one
            // commit (one sync) for many small streams. A transaction that
            // fails wrote nothing, so its batches are then appended one by
            // one, which says which stream conflicts and how far the import
            // got, as for a backend without transactions.
            constexpr size_t kTxnEvents = 10000;
            bool use_transactions = true;
            for (size_t g = 0; g < planned.size();) {
              size_t h = g;
              size_t group_events = 0;
              while (h < planned.size() && (h == g || group_events + planned[h].batch.size() <= kTxnEvents)) {
                group_events += planned[h].batch.size();
                ++h;
              }
              Committed committed = Committed::kConflict;
              if (use_transactions && h - g > 1) {
                committed = CommitInOneTransaction(store, events, planned, g, h);
                use_transactions = committed != Committed::kUnsupported;
              }
              if (committed == Committed::kYes) {
                g = h;
              } else {
                for (; g < h; ++g) AppendOne(store, events, planned[g]);
              }
              progress.Update(planned[g - 1].end, events.size());
            }
            progress.Finish();
            Must(store.Sync(), "syncing");
            std::printf("imported %zu events into %zu streams\n", events.size(), tips.size());
            return kExitOk;
          }};
}

}  // namespace est
