// cmd_admin.cc: est stats, verify, compact and delete: the operator's view
// of a store and its maintenance. stats opens the store read-only (it works
// beside a running writer); verify, compact and delete open it as the writer.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "cli.h"

namespace est {
namespace {
using StorePtr = std::unique_ptr<est_store, StoreCloser>;
}  // namespace

int CmdStats(const std::vector<std::string>& argv) {
  Args args(argv, {}, {"--json"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  StorePtr store(OpenStore(uri, kReadOnly));
  est_stats s = EST_STATS_INIT;
  if (est_status st = est_store_stats(store.get(), &s); st != EST_OK) FailStatus(st, "reading the statistics");
  if (args.has("--json")) {
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
}

int CmdVerify(const std::vector<std::string>& argv) {
  Args args(argv, {}, {"--json"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  StorePtr store(OpenStore(uri, {}));
  est_verify_report report = EST_VERIFY_REPORT_INIT;
  est_status st;
  {
    Progress progress("verifying");
    st = est_store_verify(store.get(), Progress::Callback, &progress, &report);
  }
  if (st == EST_ERR_CORRUPTION) {
    Fail(kExitCorruption, std::string("the store is damaged: ") + est_last_error() + " (" +
                              std::to_string(report.records) + " records were sound before it)");
  }
  if (st != EST_OK) FailStatus(st, "verifying " + RedactedUri(uri.uri));
  if (args.has("--json")) {
    nlohmann::ordered_json j;
    j["ok"] = true;
    j["segments"] = report.segments;
    j["records"] = report.records;
    j["events"] = report.events;
    j["bytes"] = report.bytes;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("ok: %" PRId64 " segments, %" PRId64 " records, %" PRId64 " events, %s checked\n", report.segments,
                report.records, report.events, HumanBytes(report.bytes).c_str());
  }
  return kExitOk;
}

int CmdCompact(const std::vector<std::string>& argv) {
  Args args(argv, {}, {"--json"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  bool json = args.has("--json");
  // Compaction rewrites segments, so it needs the writer's open: a store
  // another process holds is BUSY (exit 5) once OpenStore's wait runs out.
  StorePtr store(OpenStore(uri, {}));
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  est_status st;
  {
    Progress progress("compacting");
    st = est_store_compact(store.get(), Progress::Callback, &progress, &report);
  }
  if (st != EST_OK) FailStatus(st, "compacting " + RedactedUri(uri.uri));
  if (json) {
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
    std::printf("nothing to reclaim in %s: no sealed segment holds deleted or truncated events\n", RedactedUri(uri.uri).c_str());
    return kExitOk;
  }
  auto plural = [](int64_t n, const char* one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
  };
  std::printf("compacted %s\n", RedactedUri(uri.uri).c_str());
  std::printf("  segments  %s rewritten into %" PRId64 "\n", plural(report.segments_before, "segment").c_str(),
              report.segments_after);
  std::printf("  bytes     %s -> %s (%s reclaimed)\n", HumanBytes(report.bytes_before).c_str(),
              HumanBytes(report.bytes_after).c_str(),
              HumanBytes(std::max<int64_t>(0, report.bytes_before - report.bytes_after)).c_str());
  std::printf("  events    %s kept, %s dropped (deleted or truncated)\n", plural(report.events_kept, "event").c_str(),
              std::to_string(report.events_dropped).c_str());
  return kExitOk;
}

int CmdDelete(const std::vector<std::string>& argv) {
  Args args(argv, {"--to-version"}, {});
  args.ExpectPositional(2, 2);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  const std::string& stream = args.positional()[1];
  CheckStreamId(stream);
  int64_t to_version = args.GetInt("--to-version", 0, 1);
  StorePtr store(OpenStore(uri, {}));
  if (est_status st = est_delete_stream(store.get(), stream.c_str(), to_version); st != EST_OK) {
    FailStatus(st, "deleting " + stream);
  }
  if (to_version == 0) {
    std::printf("deleted %s\n", stream.c_str());
  } else {
    std::printf("deleted the events of %s up to version %" PRId64 "\n", stream.c_str(), to_version);
  }
  return kExitOk;
}

}  // namespace est
