// cmd_admin.cc: est stats, verify, compact and delete: the operator's view
// of a store and its maintenance.
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
  StorePtr store(OpenStore(uri, {}));
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
  std::printf("store           %s\n", uri.uri.c_str());
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
  if (st != EST_OK) FailStatus(st, "verifying " + uri.uri);
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
  Args args(argv, {}, {});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  // The ABI has no compaction call in this release (DESIGN.md lists
  // est_store_compact as arriving with the file store's compaction). The
  // store is not opened: there is nothing to do with it.
  (void)uri;
  Fail(kExitUnsupported, std::string(est_status_name(EST_ERR_UNSUPPORTED)) +
                             ": this release of the library has no compaction (est_store_compact is not in the ABI "
                             "yet); the store was not touched");
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
