// tests/acceptance/projection_concurrency_test.cc: the threaded clauses of
// projections (doc/data-model.md "Projections") through the C ABI on every
// backend: catch-up then follow while writers race (at least once and
// exactly once), checked against the log itself as the model; wake from
// another thread; the store closed under a waiting run. Rounds repeat for
// ESTORIA_SOAK_SECONDS (tests/common/soak.h). Also built in the TSan tree.
#include "tests/acceptance/projection_support.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/soak.h"

namespace estoria::acceptance {
namespace {

class ProjectionConcurrencyTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (!HasGlobalOrder()) GTEST_SKIP() << "projections follow the global order";
  }

  // Writers append kAppends batches of kBatch events each to streams
  // "in<w>_..." while `p` runs (until woken) in its own thread; the
  // projection is opened after a quarter of the appends, so that part is
  // caught up and part followed. Returns the run's status.
  est_status RaceWriters(TestProjection& p, const char* name, const ProjectionArgs& args, size_t* inputs) {
    constexpr int kWriters = 4;
    constexpr int kAppends = 30;
    constexpr int kBatch = 3;
    std::atomic<int> appended{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        const std::string stream = NewStreamId("in" + std::to_string(w));
        for (int i = 0; i < kAppends; ++i) {
          EXPECT_EQ(Append(store_, stream, SimpleBatch(kBatch)).status, EST_OK) << est_last_error();
          appended.fetch_add(1);
        }
      });
    }
    while (appended.load() < kWriters * kAppends / 4) std::this_thread::yield();
    EXPECT_EST_OK(p.Open(store_, name, 1, args));
    est_status run_status = EST_ERR_INTERNAL;
    est_projection_report report = EST_PROJECTION_REPORT_INIT;
    std::thread runner([&] { run_status = p.Run(-1, &report); });
    for (std::thread& t : writers) t.join();
    *inputs = static_cast<size_t>(kWriters * kAppends * kBatch);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (p.seen_count() < *inputs && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EST_OK(p.Wake());
    runner.join();
    // An exactly-once run's own outputs come after its checkpoint: a run
    // that passes them (filtered out) ends caught up.
    if (run_status == EST_OK) run_status = p.Run(0, &report);
    EXPECT_EQ(report.caught_up, 1) << "every input was handled";
    return run_status;
  }
};
ESTORIA_ACCEPTANCE_SUITE(ProjectionConcurrencyTest);

TEST_P(ProjectionConcurrencyTest, CatchUpThenFollowWhileWritersRaceHandsTheLogInOrder) {
  test::Soak soak;
  while (soak.NextRound()) {
    if (soak.round() > 1) FreshStore();
    TestProjection p;
    size_t inputs = 0;
    EXPECT_EST_OK(RaceWriters(p, "followers", ProjectionArgs().Batch(7), &inputs));
    const std::vector<Event> all = ReadAll(store_).events;
    EXPECT_EQ(all.size(), inputs);
    EXPECT_EQ(p.Seen(), all) << "no gap, no duplicate, log order";
    // The checkpoint is at the head: a new projection has nothing to do.
    TestProjection again;
    ASSERT_EST_OK(again.Open(store_, "followers", 1));
    ASSERT_EST_OK(again.Run(0));
    EXPECT_TRUE(again.Seen().empty());
  }
}

TEST_P(ProjectionConcurrencyTest, ExactlyOnceWhileWritersRaceWritesOneOutputPerInput) {
  test::Soak soak;
  while (soak.NextRound()) {
    if (soak.round() > 1) FreshStore();
    const std::string out = NewStreamId("output");
    TestProjection p;
    p.on_event = [&](const est_event& e, est_txn* tx) -> est_status {
      est_batch* batch = nullptr;
      if (est_status s = est_batch_new(&batch); s != EST_OK) return s;
      const std::string data = std::to_string(e.global_position);
      est_status s = est_batch_add(batch, "projected", data.data(), data.size(), nullptr);
      if (s == EST_OK) s = est_txn_append(tx, out.c_str(), batch, nullptr);
      est_batch_free(batch);
      return s;
    };
    size_t inputs = 0;
    EXPECT_EST_OK(RaceWriters(p, "outputs", ProjectionArgs().Prefix("in").Batch(5).Flags(EST_PROJECTION_EXACTLY_ONCE),
                              &inputs));
    std::vector<std::string> want;
    for (const Event& e : ReadAll(store_).events) {
      if (e.stream_type.rfind("in", 0) == 0) want.push_back(std::to_string(e.global_position));
    }
    ASSERT_EQ(want.size(), inputs);
    std::vector<std::string> got;
    for (const Event& e : ReadStream(store_, out).events) got.push_back(e.data);
    EXPECT_EQ(got, want) << "one output per input, in input order";
  }
}

TEST_P(ProjectionConcurrencyTest, ClosingTheStoreEndsAWaitingRunWithClosed) {
  TestProjection p;
  ASSERT_EST_OK(p.Open(store_, "closing", 1));
  est_status run_status = EST_OK;
  std::thread runner([&] { run_status = p.Run(-1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CloseStore();
  runner.join();
  EXPECT_EQ(run_status, EST_ERR_CLOSED);
}

TEST_P(ProjectionConcurrencyTest, RebuildAndCutoverWhileWritersRun) {
  test::Soak soak;
  while (soak.NextRound()) {
    if (soak.round() > 1) FreshStore();
    std::atomic<bool> writing{true};
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        const std::string stream = NewStreamId("in" + std::to_string(w));
        for (int i = 0; i < 40; ++i) {
          EXPECT_EQ(Append(store_, stream, SimpleBatch(2)).status, EST_OK) << est_last_error();
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
    }
    // The live version follows in its own thread until it is retired.
    TestProjection v1;
    ASSERT_EST_OK(v1.Open(store_, "live", 1, ProjectionArgs().Prefix("in")));
    est_status v1_status = EST_OK;
    std::thread live([&] {
      for (;;) {
        v1_status = v1.Run(20000);
        if (v1_status != EST_OK) return;
        if (!writing.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EST_OK(est_projection_rebuild(store_, "live", 2, "racing writers"));
    TestProjection v2;
    ASSERT_EST_OK(v2.Open(store_, "live", 2, ProjectionArgs().Prefix("in").Batch(3)));
    est_projection_report report = EST_PROJECTION_REPORT_INIT;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      ASSERT_EST_OK(v2.Run(5000, &report));
    } while (report.caught_up == 0 && std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(report.caught_up, 1);
    ASSERT_EST_OK(est_projection_cutover(store_, "live", 2));
    int32_t active = 0;
    ASSERT_EST_OK(est_projection_active_version(store_, "live", &active));
    EXPECT_EQ(active, 2);
    for (std::thread& t : writers) t.join();
    writing = false;
    live.join();  // the live version notices its retirement within a second
    EXPECT_EQ(v1_status, EST_ERR_NOT_FOUND) << est_status_name(v1_status);
    // v2 finishes; it saw every input once, in order.
    std::vector<Event> want;
    for (const Event& e : ReadAll(store_).events) {
      if (e.stream_type.rfind("in", 0) == 0) want.push_back(e);
    }
    do {
      ASSERT_EST_OK(v2.Run(0, &report));
    } while (v2.seen_count() < want.size() && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(v2.Seen(), want);
  }
}

}  // namespace
}  // namespace estoria::acceptance
