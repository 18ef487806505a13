// tests/acceptance/host_concurrency_test.cc: est_store_cancel from another
// thread while a compaction or a verify runs (also in the TSan tree). The
// cancelled call returns EST_ERR_CANCELLED and the store reads as before, or
// it finished first and returns EST_OK; either way the store stays whole.
#define EST_EXPERIMENTAL 1
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

std::string FreshDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "estoria-hostc-XXXXXX").string();
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

TEST(HostConcurrency, CancelFromAnotherThreadStopsCompactionAndVerifyCleanly) {
  const std::string dir = FreshDir();
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(("file:" + dir + "?segment_bytes=8192").c_str(), nullptr, &store));
  std::vector<std::string> streams;
  for (int s = 0; s < 8; ++s) streams.push_back(NewStreamId());
  int cancelled = 0, finished = 0;
  for (int round = 0; round < 6; ++round) {
    for (int b = 0; b < 10; ++b) {
      for (const std::string& id : streams) ASSERT_EQ(Append(store, id, SimpleBatch(2, std::string(100, 'r'))).status, EST_OK);
    }
    ASSERT_EST_OK(est_delete_stream(store, streams[round % streams.size()].c_str(), 0));
    const std::vector<Event> before = ReadAll(store).events;
    std::atomic<bool> stop{false};
    std::thread canceller([&] {
      while (!stop.load()) {
        EXPECT_EQ(est_store_cancel(store), EST_OK);
        std::this_thread::yield();
      }
    });
    const est_status compacted = est_store_compact(store, nullptr, nullptr, nullptr);
    const est_status verified = est_store_verify(store, nullptr, nullptr, nullptr);
    stop.store(true);
    canceller.join();
    for (est_status s : {compacted, verified}) {
      EXPECT_TRUE(s == EST_OK || s == EST_ERR_CANCELLED) << est_status_name(s);
      (s == EST_OK ? finished : cancelled) += 1;
    }
    EXPECT_EQ(ReadAll(store).events, before);
    EXPECT_EST_OK(est_store_verify(store, nullptr, nullptr, nullptr));
  }
  EXPECT_GT(cancelled, 0) << "a cancel loop beside them cancels some";
  est_store_close(store);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace estoria::acceptance
