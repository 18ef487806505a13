// cmd_admin.cc: est stats, verify, compact and delete: the operator's view
// of a store and its maintenance. stats opens the store read-only (it works
// beside a running writer); verify, compact and delete open it as the writer.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "cli.h"

namespace est {

Command AddStats(CLI::App& est) {
  struct Options {
    std::string store;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(est, "stats", "events, streams, bytes, segments, positions",
                             "Opens the store read-only: works beside a writer in another process.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_flag("--json", o->json, "one JSON object: events, streams, bytes, segments, first_position, "
                                   "last_position, snapshots");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Store store = OpenStore(uri, kReadOnly);
            estoria::StoreStats s = Must(store.Stats(), "reading the statistics");
            if (o->json) {
              nlohmann::ordered_json j;
              j["events"] = s.events;
              j["streams"] = s.streams;
              j["bytes"] = s.bytes;
              j["segments"] = s.segments;
              j["first_position"] = s.first_position;
              j["last_position"] = s.last_position;
              j["snapshots"] = s.snapshots;
              std::printf("%s\n", j.dump().c_str());
              return kExitOk;
            }
            std::printf("store           %s\n", RedactedUri(uri.uri).c_str());
            std::printf("events          %" PRId64 "\n", s.events);
            std::printf("streams         %" PRId64 "\n", s.streams);
            std::printf("snapshots       %" PRId64 "\n", s.snapshots);
            std::printf("bytes on disk   %" PRId64 " (%s)\n", s.bytes, HumanBytes(s.bytes).c_str());
            std::printf("segments        %" PRId64 "\n", s.segments);
            std::printf("first position  %" PRId64 "\n", s.first_position);
            std::printf("last position   %" PRId64 "\n", s.last_position);
            return kExitOk;
          }};
}

Command AddVerify(CLI::App& est) {
  struct Options {
    std::string store;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "verify", "check every record of the store (exit 4 on damage)",
      "Reads every record and checks its checksum and structure. Exit 0 when the\n"
      "store is sound; 4 when it is damaged, naming the segment and offset.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_flag("--json", o->json, "the report as one JSON object: ok, segments, records, events, bytes");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Store store = OpenStore(uri, {});
            estoria::VerifyReport sound;
            estoria::Result<estoria::VerifyReport> verified = [&] {
              Progress progress("verifying");
              return store.Verify(progress.Callback(), &sound);
            }();
            if (!verified.ok() && verified.error().status() == EST_ERR_CORRUPTION) {
              Fail(kExitCorruption, "the store is damaged: " + verified.error().message() + " (" +
                                        std::to_string(sound.records) + " records were sound before it)");
            }
            estoria::VerifyReport report = Must(std::move(verified), "verifying " + RedactedUri(uri.uri));
            if (o->json) {
              nlohmann::ordered_json j;
              j["ok"] = true;
              j["segments"] = report.segments;
              j["records"] = report.records;
              j["events"] = report.events;
              j["bytes"] = report.bytes;
              std::printf("%s\n", j.dump().c_str());
            } else {
              std::printf("ok: %" PRId64 " segments, %" PRId64 " records, %" PRId64 " events, %s checked\n",
                          report.segments, report.records, report.events, HumanBytes(report.bytes).c_str());
            }
            return kExitOk;
          }};
}

Command AddCompact(CLI::App& est) {
  struct Options {
    std::string store;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "compact", "reclaim the space of deleted and truncated events",
      "Rewrites the store's sealed segments without the events that deleted or\n"
      "truncated streams left behind. Every other event keeps its stream version\n"
      "and global position; readers see the same events before and after. Needs\n"
      "the store to itself: exit 5 (busy) when another process has it open for\n"
      "writing (read-only readers, such as est tail -f, do not count). Draws a\n"
      "progress bar on a terminal, then prints segments, bytes before -> after\n"
      "and events kept and dropped.\n"
      "memory: has nothing to reclaim (all 0); PostgreSQL reclaims with VACUUM:\n"
      "exit 7 (unsupported). Exit codes as for every command (est --help).");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_flag("--json", o->json,
                "the report as one JSON object: segments_before, segments_after, bytes_before, bytes_after, "
                "events_kept, events_dropped (all 0 when there was nothing to reclaim)");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            // Compaction rewrites segments, so it needs the writer's open: a
            // store another process holds is BUSY (exit 5) once OpenStore's
            // wait runs out.
            estoria::Store store = OpenStore(uri, {});
            estoria::CompactReport report = [&] {
              Progress progress("compacting");
              return Must(store.Compact(progress.Callback()), "compacting " + RedactedUri(uri.uri));
            }();
            if (o->json) {
              nlohmann::ordered_json j;
              j["segments_before"] = report.segments_before;
              j["segments_after"] = report.segments_after;
              j["bytes_before"] = report.bytes_before;
              j["bytes_after"] = report.bytes_after;
              j["events_kept"] = report.events_kept;
              j["events_dropped"] = report.events_dropped;
              std::printf("%s\n", j.dump().c_str());
              return kExitOk;
            }
            if (report.segments_before == 0 && report.events_dropped == 0) {
              std::printf("nothing to reclaim in %s: no sealed segment holds deleted or truncated events\n",
                          RedactedUri(uri.uri).c_str());
              return kExitOk;
            }
            auto plural = [](int64_t n, const char* one) {
              return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
            };
            std::printf("compacted %s\n", RedactedUri(uri.uri).c_str());
            std::printf("  segments  %s rewritten into %" PRId64 "\n",
                        plural(report.segments_before, "segment").c_str(), report.segments_after);
            std::printf("  bytes     %s -> %s (%s reclaimed)\n", HumanBytes(report.bytes_before).c_str(),
                        HumanBytes(report.bytes_after).c_str(),
                        HumanBytes(std::max<int64_t>(0, report.bytes_before - report.bytes_after)).c_str());
            std::printf("  events    %s kept, %s dropped (deleted or truncated)\n",
                        plural(report.events_kept, "event").c_str(), std::to_string(report.events_dropped).c_str());
            return kExitOk;
          }};
}

Command AddDelete(CLI::App& est) {
  struct Options {
    std::string store;
    std::string stream;
    int64_t to_version = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(est, "delete", "delete a stream, or its events up to a version",
                             "Without --to-version the stream goes wholly; with it, events <= N go and\n"
                             "later events keep their versions.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_option("STREAM", o->stream, "the stream's ID (TYPE_UUID)")->required();
  cmd->add_option("--to-version", o->to_version, "delete the events up to version N only")->check(WholeNumber(1));

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Id stream = ParseStreamId(o->stream);
            estoria::Store store = OpenStore(uri, {});
            Must(store.DeleteStream(stream, o->to_version), "deleting " + stream.str());
            if (o->to_version == 0) {
              std::printf("deleted %s\n", stream.c_str());
            } else {
              std::printf("deleted the events of %s up to version %" PRId64 "\n", stream.c_str(), o->to_version);
            }
            return kExitOk;
          }};
}

}  // namespace est
