// cmd_io.cc: est append, read, read-all, tail and streams: writing events
// and looking at them, as a table or as JSON lines. Every command here but
// append opens the store read-only, so it works beside a running writer;
// tail -f follows through a live subscription (estoria/subscription.hpp).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "cli.h"
#include "estoria/subscription.hpp"

namespace est {
namespace {

struct PendingEvent {
  std::string type;
  std::string data;
  std::string content_type;
  std::map<std::string, std::string> metadata;
};

void CheckMetadataKey(const std::string& key) {
  if (key.empty()) UsageError("a metadata key is empty");
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

std::string FormatEventRow(const estoria::EventView& e, bool with_stream) {
  std::string data = DataPreview(e.data_string(), 60);
  std::string type(e.type());
  char buf[1024];
  if (with_stream) {
    std::snprintf(buf, sizeof buf, "%8" PRId64 "  %-45s %6" PRId64 "  %-24s %-16s ", e.global_position(),
                  e.stream_id().c_str(), e.stream_version(), FormatTime(e.timestamp_ns()).c_str(), type.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%7" PRId64 " %9" PRId64 "  %-24s %-16s ", e.stream_version(),
                  e.global_position(), FormatTime(e.timestamp_ns()).c_str(), type.c_str());
  }
  return buf + data + "\n";
}

// One line per event: the JSON-lines form (with its position) or a table row.
std::string FormatEvent(const estoria::EventView& e, bool json, bool with_stream) {
  return json ? EventToJson(e, true).dump() + "\n" : FormatEventRow(e, with_stream);
}

void PrintHeader(bool with_stream) {
  if (with_stream) {
    std::printf("%8s  %-45s %6s  %-24s %-16s %s\n", "POSITION", "STREAM", "VER", "TIME (UTC)", "TYPE", "DATA");
  } else {
    std::printf("%7s %9s  %-24s %-16s %s\n", "VERSION", "POSITION", "TIME (UTC)", "TYPE", "DATA");
  }
}

// Prints every event of `events`; `last_position` (if given) receives the
// position of the last one printed. A failed read ends the command.
void PrintAll(estoria::StreamIterator& events, bool json, bool with_stream, const std::string& doing,
              int64_t* last_position = nullptr) {
  for (const estoria::EventView& e : events) {
    std::fputs(FormatEvent(e, json, with_stream).c_str(), stdout);
    if (last_position) *last_position = e.global_position();
  }
  Must(events.status(), doing);
}

volatile sig_atomic_t g_interrupted = 0;

// est tail -f's subscription, woken by Ctrl-C. The handler calls the C ABI's
// wake itself: it only writes to the subscription's eventfd (signal-safe),
// where Subscription::Wake could build an Error, allocating, on a failure.
std::atomic<est_subscription*> g_tail_subscription{nullptr};
void OnSigintWake(int) {
  g_interrupted = 1;
  if (est_subscription* sub = g_tail_subscription.load()) static_cast<void>(est_subscription_wake(sub));
}

}  // namespace

Command AddAppend(CLI::App& est) {
  struct Options {
    std::string store;
    std::string stream;
    std::optional<std::string> type;
    std::optional<std::string> data;
    std::string content_type;
    std::vector<std::string> meta;
    std::optional<int64_t> expect_version;
    std::optional<std::string> expect;
    std::vector<std::string> ids;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "append", "append events (from arguments or JSON lines on stdin)",
      "STREAM is an ID (TYPE_UUID) or a bare type name (a new stream of that type).\n"
      "With TYPE, appends one event whose data is DATA (default empty). Without it,\n"
      "reads one JSON object per line from stdin: {\"type\": T, \"data\": JSON or\n"
      "string, or \"data_base64\": B64, \"content_type\": CT, \"metadata\": {K: V}};\n"
      "all lines are appended as one atomic batch.\n"
      "  est append STORE STREAM < events.jsonl");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_option("STREAM", o->stream, "a stream ID, or a type name for a new stream")->required();
  cmd->add_option("TYPE", o->type, "the event's type (else JSON lines on stdin)");
  cmd->add_option("DATA", o->data, "the event's data (default empty)");
  cmd->add_option("--content-type", o->content_type, "content type of the event given by arguments")
      ->type_name("CT");
  cmd->add_option("--meta", o->meta, "metadata of that event (repeatable)")->type_name("KEY=VALUE");
  CLI::Option* expect_version =
      cmd->add_option("--expect-version", o->expect_version, "fail with exit code 6 unless the stream is at N")
          ->check(WholeNumber(0));
  cmd->add_option("--expect", o->expect, "exists: fail with exit code 6 unless the stream exists")
      ->check(CLI::IsMember({"any", "exists", "no-stream"}))
      ->excludes(expect_version)
      ->type_name("MODE");
  cmd->add_option("--id", o->ids,
                  "the ID of each event, in order (repeat once per event): a retry-safe append. Run again "
                  "after a failure whose outcome is unknown, it finds its events already there, writes "
                  "nothing and says \"already appended\"")
      ->type_name("UUID");
  cmd->add_flag("--json", o->json, "print the result as JSON");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            // A bare type name means a new stream of that type.
            std::string stream = o->stream;
            bool new_stream = false;
            if (!estoria::Id::Parse(stream).ok()) {
              CheckType(stream);
              stream = Must(estoria::Id::NewV7(stream), "making a stream ID").str();
              new_stream = true;
            }
            std::vector<PendingEvent> events;
            if (o->type) {
              PendingEvent e;
              e.type = *o->type;
              CheckType(e.type);
              e.data = o->data.value_or("");
              e.content_type = o->content_type;
              for (const std::string& kv : o->meta) {
                size_t eq = kv.find('=');
                if (eq == std::string::npos) UsageError("--meta takes KEY=VALUE, not \"" + kv + "\"");
                CheckMetadataKey(kv.substr(0, eq));
                if (!e.metadata.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second) {
                  UsageError("metadata key given twice: " + kv.substr(0, eq));
                }
              }
              events.push_back(std::move(e));
            } else {
              if (!o->content_type.empty() || !o->meta.empty()) {
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
            // --id UUID, one per event in order: a retry-safe append (the
            // same command run again finds its events there and writes nothing).
            if (!o->ids.empty() && o->ids.size() != events.size()) {
              UsageError("--id is given " + std::to_string(o->ids.size()) + " times for " +
                         std::to_string(events.size()) + " events: give one per event, or none");
            }
            std::vector<estoria::Uuid> uuids;
            for (const std::string& id : o->ids) {
              estoria::Result<estoria::Uuid> uuid = estoria::Uuid::Parse(id);
              if (!uuid.ok()) UsageError("--id takes a UUID (canonical lower-case form), not \"" + id + "\"");
              uuids.push_back(*uuid);
            }
            if (new_stream && !uuids.empty()) {
              UsageError("--id needs a stream ID (TYPE_UUID): a retry of a bare type name would make a new stream");
            }
            estoria::AppendOptions options;
            if (o->expect_version) {
              options = estoria::AppendOptions::ExpectVersion(*o->expect_version);
            } else if (o->expect == "exists") {
              options = estoria::AppendOptions::ExpectStreamExists();
            } else if (o->expect == "no-stream") {
              options = estoria::AppendOptions::ExpectNoStream();
            } else if (o->expect == "any") {
              options = estoria::AppendOptions::Any();
            } else if (new_stream) {
              options = estoria::AppendOptions::ExpectNoStream();
            }

            estoria::Batch batch;
            for (size_t i = 0; i < events.size(); ++i) {
              const PendingEvent& e = events[i];
              Must(batch.Add(e.type, e.data, e.content_type), "adding an event of type " + e.type);
              if (!uuids.empty()) Must(batch.SetId(uuids[i]), "setting an ID");
              for (const auto& [k, v] : e.metadata) Must(batch.AddMetadata(k, v), "adding metadata " + k);
            }

            estoria::Store store = OpenStore(uri, {.must_exist = false});
            estoria::Result<estoria::AppendResult> appended = store.Append(stream, batch, options);
            if (!appended.ok() && appended.error().is_version_mismatch()) {
              // The library's message says what was expected and where the stream is.
              Fail(kExitConflict, "appending to " + stream + ": " + appended.error().message());
            }
            estoria::AppendResult result = Must(std::move(appended), "appending to " + stream);
            if (o->json) {
              nlohmann::ordered_json j;
              j["stream"] = stream;
              j["first_version"] = result.first_version;
              j["last_version"] = result.last_version;
              j["first_position"] = result.first_position;
              j["last_position"] = result.last_position;
              j["duplicate"] = result.duplicate;
              std::printf("%s\n", j.dump().c_str());
            } else if (result.duplicate) {
              std::printf("already appended: %zu event%s in %s at versions %" PRId64 "..%" PRId64
                          ", positions %" PRId64 "..%" PRId64 " (nothing written)\n",
                          events.size(), events.size() == 1 ? "" : "s", stream.c_str(), result.first_version,
                          result.last_version, result.first_position, result.last_position);
            } else {
              std::printf("appended %zu event%s to %s: versions %" PRId64 "..%" PRId64 ", positions %" PRId64
                          "..%" PRId64 "\n",
                          events.size(), events.size() == 1 ? "" : "s", stream.c_str(), result.first_version,
                          result.last_version, result.first_position, result.last_position);
            }
            return kExitOk;
          }};
}

Command AddRead(CLI::App& est) {
  struct Options {
    std::string store;
    std::string stream;
    int64_t after = 0;
    int64_t count = 0;
    bool reverse = false;
    bool json = false;
    std::string as_of;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(est, "read", "read one stream",
                             "Opens the store read-only: works beside a writer in another process.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_option("STREAM", o->stream, "the stream's ID (TYPE_UUID)")->required();
  cmd->add_flag("--reverse", o->reverse, "newest first");
  cmd->add_option("--after", o->after, "forward: after version N; reverse: from version N down")
      ->check(WholeNumber(0));
  cmd->add_option("--count", o->count, "at most N events (0: all)")->check(WholeNumber(0));
  cmd->add_option("--as-of", o->as_of,
                  "the stream as of TIME (unix ns or RFC 3339): its events up to the first stamped later")
      ->type_name("TIME");
  cmd->add_flag("--json", o->json, "one JSON object per line (the export format, with position)");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Id stream = ParseStreamId(o->stream);
            estoria::ReadOptions options = o->reverse ? estoria::ReadOptions::Reverse(o->after, o->count)
                                                      : estoria::ReadOptions::Forward(o->after, o->count);
            if (!o->as_of.empty()) options.until_timestamp_ns = ParseAsOf(o->as_of);
            estoria::Store store = OpenStore(uri, kReadOnly);
            estoria::StreamIterator events = Must(store.ReadStream(stream, options), "reading " + stream.str());
            if (!o->json) PrintHeader(false);
            PrintAll(events, o->json, false, "reading " + stream.str());
            return kExitOk;
          }};
}

Command AddReadAll(CLI::App& est) {
  struct Options {
    std::string store;
    int64_t after = 0;
    int64_t count = 0;
    bool json = false;
    std::string as_of;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(est, "read-all", "read every stream in global order",
                             "Opens the store read-only: works beside a writer in another process.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_option("--after", o->after, "after global position N")->check(WholeNumber(0))->type_name("POSITION");
  cmd->add_option("--count", o->count, "at most N events (0: all)")->check(WholeNumber(0));
  cmd->add_option("--as-of", o->as_of,
                  "as of TIME (unix ns or RFC 3339): end before the first event stamped later")
      ->type_name("TIME");
  cmd->add_flag("--json", o->json, "one JSON object per line (the export format, with position)");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            const int64_t until = o->as_of.empty() ? 0 : ParseAsOf(o->as_of);
            estoria::Store store = OpenStore(uri, kReadOnly);
            estoria::StreamIterator events = Must(
                store.ReadAll({.after_position = o->after, .count = o->count, .until_timestamp_ns = until}),
                "reading all");
            if (!o->json) PrintHeader(true);
            PrintAll(events, o->json, true, "reading all");
            return kExitOk;
          }};
}

Command AddTail(CLI::App& est) {
  struct Options {
    std::string store;
    int64_t last_n = 10;
    int64_t interval_ms = 200;
    bool follow = false;
    bool json = false;
    bool from_end = false;
    std::string stream_prefix;
    std::vector<std::string> types;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "tail", "show the latest events; -f follows new ones",
      "Shows the last N events in global order; with -f then follows new ones\n"
      "as they commit until Ctrl-C (a live subscription: no polling; a writer in\n"
      "another process wakes it when it publishes). The store is opened once,\n"
      "read-only: a writer in another process (an application, est append, est\n"
      "import) works on meanwhile, and tail shows the whole batches it publishes.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_option("-n", o->last_n, "the last N events (default 10)")->check(WholeNumber(0));
  cmd->add_flag("-f,--follow", o->follow, "follow: print new events as they commit");
  cmd->add_flag("--from-end", o->from_end, "show nothing of the past: only what commits later");
  cmd->add_option("--stream-prefix", o->stream_prefix, "only streams whose ID (type_uuid) starts with P")
      ->type_name("P");
  cmd->add_option("--type", o->types, "only events of type T (repeatable: any of them)")->type_name("T");
  cmd->add_option("--interval", o->interval_ms, "accepted for older scripts; ignored (commits wake tail -f)")
      ->check(WholeNumber(1))
      ->type_name("MS");
  cmd->add_flag("--json", o->json, "one JSON object per line (the export format, with position)");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            for (const std::string& type : o->types) CheckType(type);
            // One read-only open for the whole run: it takes no lock, so
            // writers in other processes carry on; the subscription is woken
            // when they publish.
            estoria::Store store = OpenStore(uri, kReadOnly);
            estoria::SubscribeOptions options;
            options.after_position = o->from_end ? estoria::SubscribeOptions::kEnd : 0;
            options.stream_prefix = o->stream_prefix;
            options.event_types = o->types;
            options.batch_size = 256;
            estoria::Subscription sub = Must(estoria::Subscribe(store, options), "subscribing");

            // The last N matching events: catch up without waiting, keeping a window.
            {
              std::deque<std::string> window;
              for (;;) {
                std::span<const estoria::EventView> events = Must(sub.Poll(), "reading all");
                if (events.empty()) break;
                for (const estoria::EventView& e : events) {
                  if (o->last_n == 0) break;
                  window.push_back(FormatEvent(e, o->json, true));
                  if (static_cast<int64_t>(window.size()) > o->last_n) window.pop_front();
                }
              }
              if (!o->json) PrintHeader(true);
              for (const std::string& line : window) std::fputs(line.c_str(), stdout);
              std::fflush(stdout);
            }
            if (!o->follow) return kExitOk;

            // Ctrl-C wakes the waiting poll.
            g_tail_subscription.store(sub.get());
            struct sigaction sa = {};
            sa.sa_handler = OnSigintWake;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGINT, &sa, nullptr);
            sigaction(SIGTERM, &sa, nullptr);
            // The subscription delivers each event once, in position order:
            // it reads from its own position whenever a commit wakes it.
            while (!g_interrupted) {
              std::span<const estoria::EventView> events =
                  Must(sub.Poll(std::chrono::microseconds(-1)), "following");
              for (const estoria::EventView& e : events) std::fputs(FormatEvent(e, o->json, true).c_str(), stdout);
              std::fflush(stdout);
            }
            g_tail_subscription.store(nullptr);
            return kExitOk;
          }};
}

Command AddStreams(CLI::App& est) {
  struct Options {
    std::string store;
    std::string after;
    int64_t count = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(est, "streams", "list the streams with their versions",
                             "Opens the store read-only: works beside a writer in another process.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_option("--after", o->after, "the streams after this ID (in byte order)")->type_name("ID");
  cmd->add_option("--count", o->count, "at most N streams (0: all)")->check(WholeNumber(0));
  cmd->add_flag("--json", o->json, "one JSON object per line: stream, version, events");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Store store = OpenStore(uri, kReadOnly);
            if (!o->json) std::printf("%-50s %9s %9s\n", "STREAM", "VERSION", "EVENTS");
            int64_t listed = 0;
            ForEachStream(store, o->after, [&](const estoria::StreamInfo& s) {
              if (o->count != 0 && listed >= o->count) return false;
              ++listed;
              if (o->json) {
                nlohmann::ordered_json j;
                j["stream"] = s.id;
                j["version"] = s.version;
                j["events"] = s.events;
                std::printf("%s\n", j.dump().c_str());
              } else {
                std::printf("%-50s %9" PRId64 " %9" PRId64 "\n", s.id.c_str(), s.version, s.events);
              }
              return true;
            });
            return kExitOk;
          }};
}

}  // namespace est
