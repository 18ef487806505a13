// cmd_io.cc: est append, read, read-all, tail and streams: writing events
// and looking at them, as a table or as JSON lines. Every command here but
// append opens the store read-only, so it works beside a running writer.
// est tail follows through a live subscription (the header's experimental section).
#define EST_EXPERIMENTAL
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <thread>

#include "cli.h"

namespace est {
namespace {

using StorePtr = std::unique_ptr<est_store, StoreCloser>;
using IterPtr = std::unique_ptr<est_iter, IterCloser>;

struct PendingEvent {
  std::string type;
  std::string data;
  std::string content_type;
  std::map<std::string, std::string> metadata;
};

void CheckType(const std::string& type) {
  est_uuid zero{};
  char buf[EST_ID_MAX_LEN];
  if (est_id_format(type.c_str(), &zero, buf, sizeof buf) != EST_OK) {
    UsageError("\"" + type + "\" is not a type name (1 to 255 bytes, no control characters, no leading or trailing _)");
  }
}

void CheckMetadataKey(const std::string& key) {
  if (key.empty()) UsageError("a metadata key is empty");
  if (key.rfind("estoria.", 0) == 0) UsageError("metadata keys starting \"estoria.\" are reserved: " + key);
}

PendingEvent EventFromJsonLine(const std::string& line, size_t line_no) {
  std::string where = "stdin line " + std::to_string(line_no);
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) UsageError(where + ": not a JSON object");
  PendingEvent e;
  if (!j.contains("type") || !j["type"].is_string()) UsageError(where + ": \"type\" (a string) is missing");
  e.type = j["type"].get<std::string>();
  CheckType(e.type);
  if (j.contains("data_base64")) {
    if (!j["data_base64"].is_string() || !Base64Decode(j["data_base64"].get<std::string>(), &e.data)) {
      UsageError(where + ": \"data_base64\" is not base64");
    }
  } else if (j.contains("data")) {
    if (j["data"].is_string()) {
      e.data = j["data"].get<std::string>();
    } else {
      e.data = j["data"].dump();
      e.content_type = "application/json";
    }
  }
  if (j.contains("content_type")) {
    if (!j["content_type"].is_string()) UsageError(where + ": \"content_type\" is not a string");
    e.content_type = j["content_type"].get<std::string>();
  }
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object()) UsageError(where + ": \"metadata\" is not an object");
    for (auto& [k, v] : j["metadata"].items()) {
      if (!v.is_string()) UsageError(where + ": metadata value of \"" + k + "\" is not a string");
      CheckMetadataKey(k);
      e.metadata[k] = v.get<std::string>();
    }
  }
  return e;
}

std::string FormatEventRow(const est_event& e, bool with_stream) {
  std::string data = DataPreview(e.data, e.data_len, 60);
  char buf[1024];
  if (with_stream) {
    std::snprintf(buf, sizeof buf, "%8" PRId64 "  %-45s %6" PRId64 "  %-24s %-16s ", e.global_position,
                  StreamIdOf(e).c_str(), e.stream_version, FormatTime(e.timestamp_ns).c_str(), e.type);
  } else {
    std::snprintf(buf, sizeof buf, "%7" PRId64 " %9" PRId64 "  %-24s %-16s ", e.stream_version, e.global_position,
                  FormatTime(e.timestamp_ns).c_str(), e.type);
  }
  return buf + data + "\n";
}

void PrintEventRow(const est_event& e, bool with_stream) { std::fputs(FormatEventRow(e, with_stream).c_str(), stdout); }

void PrintHeader(bool with_stream) {
  if (with_stream) {
    std::printf("%8s  %-45s %6s  %-24s %-16s %s\n", "POSITION", "STREAM", "VER", "TIME (UTC)", "TYPE", "DATA");
  } else {
    std::printf("%7s %9s  %-24s %-16s %s\n", "VERSION", "POSITION", "TIME (UTC)", "TYPE", "DATA");
  }
}

// Prints every event of `iter`; returns how many, and the last position.
int64_t PrintAll(est_iter* iter, bool json, bool with_stream, int64_t* last_position) {
  int64_t n = 0;
  for (;;) {
    est_event e = EST_EVENT_INIT;
    est_status st = est_iter_next(iter, &e);
    if (st == EST_END) break;
    if (st != EST_OK) FailStatus(st, "reading");
    if (json) {
      std::printf("%s\n", EventToJson(e, true).dump().c_str());
    } else {
      PrintEventRow(e, with_stream);
    }
    if (last_position) *last_position = e.global_position;
    ++n;
  }
  return n;
}

volatile sig_atomic_t g_interrupted = 0;

// est tail -f's subscription, woken by Ctrl-C.
struct SubscriptionCloser {
  void operator()(est_subscription* s) const { est_subscription_close(s); }
};
std::atomic<est_subscription*> g_tail_subscription{nullptr};
void OnSigintWake(int) {
  g_interrupted = 1;
  if (est_subscription* sub = g_tail_subscription.load()) (void)est_subscription_wake(sub);
}

}  // namespace

int CmdAppend(const std::vector<std::string>& argv) {
  Args args(argv, {"--content-type", "--expect-version", "--expect"}, {"--json"}, {"--meta", "--id"});
  args.ExpectPositional(2, 4);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  std::string stream = args.positional()[1];
  // A bare type name means a new stream of that type.
  char type_buf[EST_TYPE_MAX_LEN + 1];
  est_uuid stream_uuid;
  bool new_stream = false;
  if (est_id_parse(stream.c_str(), type_buf, sizeof type_buf, &stream_uuid) != EST_OK) {
    CheckType(stream);
    if (est_uuid_v7(&stream_uuid) != EST_OK) FailStatus(EST_ERR_INTERNAL, "making a stream ID");
    char buf[EST_ID_MAX_LEN];
    est_id_format(stream.c_str(), &stream_uuid, buf, sizeof buf);
    stream = buf;
    new_stream = true;
  }
  std::vector<PendingEvent> events;
  if (args.positional().size() >= 3) {
    PendingEvent e;
    e.type = args.positional()[2];
    CheckType(e.type);
    if (args.positional().size() == 4) e.data = args.positional()[3];
    e.content_type = args.get("--content-type").value_or("");
    for (const std::string& kv : args.all("--meta")) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos) UsageError("--meta takes KEY=VALUE, not \"" + kv + "\"");
      CheckMetadataKey(kv.substr(0, eq));
      if (!e.metadata.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second) {
        UsageError("metadata key given twice: " + kv.substr(0, eq));
      }
    }
    events.push_back(std::move(e));
  } else {
    if (args.has("--content-type") || args.has("--meta")) {
      UsageError("--content-type and --meta go with TYPE; on stdin, put them in each line");
    }
    std::string line;
    size_t line_no = 0;
    while (std::getline(std::cin, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      events.push_back(EventFromJsonLine(line, line_no));
    }
    if (events.empty()) UsageError("no events: give TYPE [DATA], or JSON lines on stdin");
  }
  // --id UUID, one per event in order: a retry-safe append (the same
  // command run again finds its events there and writes nothing).
  const std::vector<std::string> ids = args.all("--id");
  if (!ids.empty() && ids.size() != events.size()) {
    UsageError("--id is given " + std::to_string(ids.size()) + " times for " + std::to_string(events.size()) +
               " events: give one per event, or none");
  }
  std::vector<est_uuid> uuids(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    char type_buf[8];
    // The UUID alone: parse "x_UUID" through the ABI's own parser.
    if (est_id_parse(("x_" + ids[i]).c_str(), type_buf, sizeof type_buf, &uuids[i]) != EST_OK) {
      UsageError("--id takes a UUID (canonical lower-case form), not \"" + ids[i] + "\"");
    }
  }
  if (new_stream && !ids.empty()) {
    UsageError("--id needs a stream ID (TYPE_UUID): a retry of a bare type name would make a new stream");
  }
  est_append_options options = EST_APPEND_OPTIONS_INIT;
  if (args.has("--expect-version") && args.has("--expect")) UsageError("give --expect or --expect-version, not both");
  if (args.has("--expect-version")) {
    options.expect = EST_EXPECT_VERSION;
    options.expected_version = args.GetInt("--expect-version", 0);
  } else if (std::optional<std::string> expect = args.get("--expect")) {
    if (*expect == "any") {
      options.expect = EST_EXPECT_ANY;
    } else if (*expect == "exists") {
      options.expect = EST_EXPECT_STREAM_EXISTS;
    } else if (*expect == "no-stream") {
      options.expect = EST_EXPECT_NO_STREAM;
    } else {
      UsageError("--expect takes any, exists or no-stream, not \"" + *expect + "\"");
    }
  } else if (new_stream) {
    options.expect = EST_EXPECT_NO_STREAM;
  }

  est_batch* raw_batch = nullptr;
  if (est_status st = est_batch_new(&raw_batch); st != EST_OK) FailStatus(st, "making a batch");
  std::unique_ptr<est_batch, void (*)(est_batch*)> batch(raw_batch, est_batch_free);
  for (size_t i = 0; i < events.size(); ++i) {
    const PendingEvent& e = events[i];
    if (est_status st = est_batch_add(batch.get(), e.type.c_str(), e.data.data(), e.data.size(), e.content_type.c_str());
        st != EST_OK) {
      FailStatus(st, "adding an event of type " + e.type);
    }
    if (!uuids.empty()) {
      if (est_status st = est_batch_set_id(batch.get(), &uuids[i]); st != EST_OK) FailStatus(st, "setting an ID");
    }
    for (const auto& [k, v] : e.metadata) {
      if (est_status st = est_batch_add_metadata(batch.get(), k.c_str(), v.c_str()); st != EST_OK) {
        FailStatus(st, "adding metadata " + k);
      }
    }
  }

  StorePtr store(OpenStore(uri, {.must_exist = false}));
  est_append_result result = EST_APPEND_RESULT_INIT;
  est_status st = est_append_batch(store.get(), stream.c_str(), batch.get(), &options, &result, nullptr);
  if (st == EST_ERR_VERSION_MISMATCH) {
    Fail(kExitConflict, "appending to " + stream + ": " + est_last_error());
  }
  if (st != EST_OK) FailStatus(st, "appending to " + stream);
  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["stream"] = stream;
    j["first_version"] = result.first_version;
    j["last_version"] = result.last_version;
    j["first_position"] = result.first_position;
    j["last_position"] = result.last_position;
    j["duplicate"] = (result.flags & EST_APPEND_DUPLICATE) != 0;
    std::printf("%s\n", j.dump().c_str());
  } else if ((result.flags & EST_APPEND_DUPLICATE) != 0) {
    std::printf("already appended: %zu event%s in %s at versions %" PRId64 "..%" PRId64 ", positions %" PRId64
                "..%" PRId64 " (nothing written)\n",
                events.size(), events.size() == 1 ? "" : "s", stream.c_str(), result.first_version,
                result.last_version, result.first_position, result.last_position);
  } else {
    std::printf("appended %zu event%s to %s: versions %" PRId64 "..%" PRId64 ", positions %" PRId64 "..%" PRId64 "\n",
                events.size(), events.size() == 1 ? "" : "s", stream.c_str(), result.first_version,
                result.last_version, result.first_position, result.last_position);
  }
  return kExitOk;
}

int CmdRead(const std::vector<std::string>& argv) {
  Args args(argv, {"--after", "--count"}, {"--reverse", "--json"});
  args.ExpectPositional(2, 2);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  const std::string& stream = args.positional()[1];
  CheckStreamId(stream);
  est_read_options options = EST_READ_OPTIONS_INIT;
  options.direction = args.has("--reverse") ? EST_REVERSE : EST_FORWARD;
  options.after_version = args.GetInt("--after", 0);
  options.count = args.GetInt("--count", 0);
  bool json = args.has("--json");

  StorePtr store(OpenStore(uri, kReadOnly));
  est_iter* raw = nullptr;
  if (est_status st = est_read_stream(store.get(), stream.c_str(), &options, &raw); st != EST_OK) {
    FailStatus(st, "reading " + stream);
  }
  IterPtr iter(raw);
  if (!json) PrintHeader(false);
  PrintAll(iter.get(), json, false, nullptr);
  return kExitOk;
}

int CmdReadAll(const std::vector<std::string>& argv) {
  Args args(argv, {"--after", "--count"}, {"--json"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
  options.after_position = args.GetInt("--after", 0);
  options.count = args.GetInt("--count", 0);
  bool json = args.has("--json");

  StorePtr store(OpenStore(uri, kReadOnly));
  est_iter* raw = nullptr;
  if (est_status st = est_read_all(store.get(), &options, &raw); st != EST_OK) FailStatus(st, "reading all");
  IterPtr iter(raw);
  if (!json) PrintHeader(true);
  PrintAll(iter.get(), json, true, nullptr);
  return kExitOk;
}

int CmdTail(const std::vector<std::string>& argv) {
  Args args(argv, {"-n", "--interval", "--stream-prefix"}, {"-f", "--follow", "--json", "--from-end"}, {"--type"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  int64_t last_n = args.GetInt("-n", 10);
  // Accepted for older scripts: -f no longer polls, commits wake it.
  (void)args.GetInt("--interval", 200, 1);
  bool follow = args.has("-f") || args.has("--follow");
  bool json = args.has("--json");
  bool from_end = args.has("--from-end");
  std::string prefix = args.get("--stream-prefix").value_or("");
  std::vector<std::string> types = args.all("--type");
  for (const std::string& type : types) CheckType(type);

  // One read-only open for the whole run: it takes no lock, so writers in
  // other processes carry on; the subscription is woken when they publish.
  StorePtr store(OpenStore(uri, kReadOnly));
  std::vector<const char*> type_ptrs;
  for (const std::string& type : types) type_ptrs.push_back(type.c_str());
  est_subscribe_options options = EST_SUBSCRIBE_OPTIONS_INIT;
  options.after_position = from_end ? EST_POSITION_END : 0;
  options.stream_prefix = prefix.c_str();
  options.event_types = type_ptrs.empty() ? nullptr : type_ptrs.data();
  options.event_types_len = type_ptrs.size();
  est_subscription* raw = nullptr;
  if (est_status st = est_subscribe(store.get(), &options, &raw); st != EST_OK) FailStatus(st, "subscribing");
  std::unique_ptr<est_subscription, SubscriptionCloser> sub(raw);
  std::vector<est_event> events(256);
  auto poll = [&](int64_t timeout_us) -> size_t {
    events[0] = EST_EVENT_INIT;
    size_t count = 0;
    est_status st = est_subscription_poll(sub.get(), events.data(), events.size(), &count, timeout_us);
    if (st != EST_OK) FailStatus(st, "following");
    return count;
  };

  // The last N matching events: catch up without waiting, keeping a window.
  {
    std::deque<std::string> window;
    for (size_t n; (n = poll(0)) > 0;) {
      for (size_t i = 0; i < n && last_n > 0; ++i) {
        window.push_back(json ? EventToJson(events[i], true).dump() + "\n" : FormatEventRow(events[i], true));
        if (static_cast<int64_t>(window.size()) > last_n) window.pop_front();
      }
    }
    if (!json) PrintHeader(true);
    for (const std::string& line : window) std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }
  if (!follow) return kExitOk;

  // Ctrl-C wakes the waiting poll (a write to its eventfd: signal-safe).
  g_tail_subscription.store(sub.get());
  struct sigaction sa = {};
  sa.sa_handler = OnSigintWake;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // The subscription delivers each event once, in position order: it reads
  // from its own position whenever a commit wakes it.
  while (!g_interrupted) {
    const size_t n = poll(-1);
    for (size_t i = 0; i < n; ++i) {
      if (json) {
        std::fputs((EventToJson(events[i], true).dump() + "\n").c_str(), stdout);
      } else {
        PrintEventRow(events[i], true);
      }
    }
    std::fflush(stdout);
  }
  g_tail_subscription.store(nullptr);
  return kExitOk;
}

int CmdStreams(const std::vector<std::string>& argv) {
  Args args(argv, {"--after", "--count"}, {"--json"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  std::string after = args.get("--after").value_or("");
  int64_t limit = args.GetInt("--count", 0);
  bool json = args.has("--json");

  StorePtr store(OpenStore(uri, kReadOnly));
  if (!json) std::printf("%-50s %9s %9s\n", "STREAM", "VERSION", "EVENTS");
  int64_t listed = 0;
  std::vector<est_stream_info> page(256);
  for (;;) {
    page[0] = EST_STREAM_INFO_INIT;
    size_t count = 0;
    est_status st = est_list_streams(store.get(), after.c_str(), page.data(), page.size(), &count);
    if (st != EST_OK) FailStatus(st, "listing streams");
    for (size_t i = 0; i < count && (limit == 0 || listed < limit); ++i, ++listed) {
      const est_stream_info& s = page[i];
      if (json) {
        nlohmann::ordered_json j;
        j["stream"] = s.id;
        j["version"] = s.version;
        j["events"] = s.events;
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("%-50s %9" PRId64 " %9" PRId64 "\n", s.id, s.version, s.events);
      }
    }
    if (count < page.size() || (limit != 0 && listed >= limit)) break;
    after = page[count - 1].id;
  }
  return kExitOk;
}

}  // namespace est
