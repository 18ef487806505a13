// tests/acceptance/projection_test.cc: the projection engine through the C
// ABI on every backend (doc/data-model.md "Projections"): every event in
// position order in batches of at most batch_max, the report, resuming from
// the checkpoint (also after the store is closed and reopened), filters, a
// handler error stopping at the last call that succeeded or (continue on
// error) logged and skipped, budgeted runs, wake, exactly-once outputs
// committed with the checkpoint, and bad input.
#include "tests/acceptance/projection_support.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace estoria::acceptance {
namespace {

class ProjectionTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (!HasGlobalOrder()) GTEST_SKIP() << "projections follow the global order";
  }
};
ESTORIA_ACCEPTANCE_SUITE(ProjectionTest);

// Log lines the library reports, kept while the object lives.
class LogLines {
 public:
  LogLines() { est_set_log_handler(&LogLines::Handler, this); }
  ~LogLines() { est_set_log_handler(nullptr, nullptr); }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  static void Handler(void* user, int32_t level, const char* message) {
    auto* self = static_cast<LogLines*>(user);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->lines_.push_back(std::to_string(level) + " " + message);
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
};

bool DataIs(const est_event& e, const std::string& data) {
  return e.data_len == data.size() && std::memcmp(e.data, data.data(), data.size()) == 0;
}

TEST_P(ProjectionTest, HandsEveryEventInPositionOrderAndReportsTheRun) {
  for (int i = 0; i < 4; ++i) AppendN(store_, NewStreamId(i % 2 == 0 ? "account" : "order"), 3);
  TestProjection p;
  ASSERT_EST_OK(p.Open(store_, "balances", 1));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(p.Run(0, &report));
  const std::vector<Event> all = ReadAll(store_).events;
  EXPECT_EQ(p.Seen(), all);
  EXPECT_EQ(report.handled, 12);
  EXPECT_EQ(report.position, all.back().global_position);
  EXPECT_EQ(report.head, all.back().global_position);
  EXPECT_EQ(report.caught_up, 1);
  EXPECT_EQ(report.skipped, 0);

  // Nothing new: nothing handed, still caught up.
  ASSERT_EST_OK(p.Run(0, &report));
  EXPECT_EQ(report.handled, 0);
  EXPECT_EQ(report.position, all.back().global_position);
  EXPECT_EQ(report.caught_up, 1);
}

TEST_P(ProjectionTest, CallsHoldAtMostBatchMaxEvents) {
  AppendN(store_, NewStreamId(), 10);
  TestProjection p;
  ASSERT_EST_OK(p.Open(store_, "batches", 1, ProjectionArgs().Batch(3)));
  ASSERT_EST_OK(p.Run(0));
  const std::vector<size_t> calls = p.CallSizes();
  ASSERT_FALSE(calls.empty());
  for (size_t n : calls) {
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, 3u);
  }
  EXPECT_EQ(p.Seen(), ReadAll(store_).events);
}

TEST_P(ProjectionTest, ANewProjectionOfTheSameVersionResumesFromTheCheckpoint) {
  AppendN(store_, NewStreamId(), 5);
  {
    TestProjection p;
    ASSERT_EST_OK(p.Open(store_, "resume", 1));
    ASSERT_EST_OK(p.Run(0));
    EXPECT_EQ(p.Seen().size(), 5u);
  }
  const std::vector<Event> more = AppendN(store_, NewStreamId(), 4);
  TestProjection again;
  ASSERT_EST_OK(again.Open(store_, "resume", 1));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(again.Run(0, &report));
  EXPECT_EQ(again.Seen(), more) << "only what followed the checkpoint";
  EXPECT_EQ(report.handled, 4);

  // Another version is another projection: it starts at the first event.
  TestProjection v2;
  ASSERT_EST_OK(v2.Open(store_, "resume", 2));
  ASSERT_EST_OK(v2.Run(0));
  EXPECT_EQ(v2.Seen().size(), 9u);
}

TEST_P(ProjectionTest, ResumesAfterTheStoreIsClosedAndReopened) {
  if (!GetParam().persistent) GTEST_SKIP() << "the backend keeps nothing across opens";
  AppendN(store_, NewStreamId(), 6);
  {
    TestProjection p;
    ASSERT_EST_OK(p.Open(store_, "reopened", 3, ProjectionArgs().Every(1000)));
    ASSERT_EST_OK(p.Run(0));
    EXPECT_EQ(p.Seen().size(), 6u);
  }
  ReopenStore();
  const std::vector<Event> more = AppendN(store_, NewStreamId(), 2);
  TestProjection p;
  ASSERT_EST_OK(p.Open(store_, "reopened", 3));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(p.Run(0, &report));
  EXPECT_EQ(p.Seen(), more);
  EXPECT_EQ(report.position, more.back().global_position);
}

TEST_P(ProjectionTest, FiltersByStreamPrefixAndEventTypes) {
  const std::string account = NewStreamId("account"), order = NewStreamId("order");
  for (int i = 0; i < 3; ++i) {
    Batch a;
    a.Add("opened", "a").Add("deposited", "b");
    ASSERT_EQ(Append(store_, account, a.Bytes()).status, EST_OK);
    Batch o;
    o.Add("placed", "c").Add("deposited", "d");
    ASSERT_EQ(Append(store_, order, o.Bytes()).status, EST_OK);
  }
  const std::vector<Event> all = ReadAll(store_).events;
  auto keep = [&](auto pred) {
    std::vector<Event> out;
    for (const Event& e : all) {
      if (pred(e)) out.push_back(e);
    }
    return out;
  };
  TestProjection accounts;
  ASSERT_EST_OK(accounts.Open(store_, "accounts", 1, ProjectionArgs().Prefix("account_")));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(accounts.Run(0, &report));
  EXPECT_EQ(accounts.Seen(), keep([](const Event& e) { return e.stream_type == "account"; }));
  // The filtered-out tail counts as passed: the projection is caught up.
  EXPECT_EQ(report.position, all.back().global_position);
  EXPECT_EQ(report.caught_up, 1);

  TestProjection deposits;
  ASSERT_EST_OK(deposits.Open(store_, "deposits", 1, ProjectionArgs().Types({"deposited", "placed"})));
  ASSERT_EST_OK(deposits.Run(0));
  EXPECT_EQ(deposits.Seen(), keep([](const Event& e) { return e.type == "deposited" || e.type == "placed"; }));

  TestProjection both;
  ASSERT_EST_OK(both.Open(store_, "both", 1, ProjectionArgs().Prefix(order.c_str()).Types({"deposited"})));
  ASSERT_EST_OK(both.Run(0));
  EXPECT_EQ(both.Seen(), keep([](const Event& e) { return e.stream_type == "order" && e.type == "deposited"; }));
}

TEST_P(ProjectionTest, CheckpointsFollowTheCadenceAndNeverPassWhatTheHandlerFinished) {
  const std::vector<Event> events = AppendN(store_, NewStreamId(), 10);
  std::vector<int64_t> seen_checkpoints;  // what the store held when each event was handed over
  TestProjection p;
  p.on_event = [&](const est_event& e, est_txn*) -> est_status {
    int64_t position = -1;
    const est_status s = est_checkpoint_load(store_, "cadence_v1", &position, nullptr);
    if (s == EST_ERR_NOT_FOUND) position = 0;
    else if (s != EST_OK) return s;
    EXPECT_LT(position, e.global_position) << "a checkpoint at or past an event not yet handled";
    seen_checkpoints.push_back(position);
    return EST_OK;
  };
  ASSERT_EST_OK(p.Open(store_, "cadence", 1, ProjectionArgs().Batch(1).Every(4)));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(p.Run(0, &report));
  const int64_t p4 = events[3].global_position, p8 = events[7].global_position;
  EXPECT_EQ(seen_checkpoints, (std::vector<int64_t>{0, 0, 0, 0, p4, p4, p4, p4, p8, p8}));
  int64_t saved = 0;
  ASSERT_EST_OK(est_checkpoint_load(store_, "cadence_v1", &saved, nullptr));
  EXPECT_EQ(saved, events.back().global_position) << "the run ends with the checkpoint saved";
  EXPECT_EQ(report.position, saved);
}

TEST_P(ProjectionTest, AHandlerErrorStopsTheRunWithTheCheckpointAtTheLastSuccessfulCall) {
  const std::vector<Event> events = AppendN(store_, NewStreamId(), 6, "e");
  TestProjection p;
  p.on_event = [](const est_event& e, est_txn*) -> est_status {
    if (DataIs(e, "e5")) {
      est_set_error("cannot project e5");
      return EST_ERR_IO;
    }
    return EST_OK;
  };
  ASSERT_EST_OK(p.Open(store_, "stops", 1, ProjectionArgs().Batch(2)));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  EXPECT_EST(EST_ERR_IO, p.Run(0, &report));
  EXPECT_NE(std::string(est_last_error()).find("cannot project e5"), std::string::npos) << est_last_error();
  // Calls [e1 e2] [e3 e4] succeeded, [e5 e6] failed.
  EXPECT_EQ(report.position, events[3].global_position);
  EXPECT_EQ(report.caught_up, 0);

  // The same projection's next run, and a new one, start at e5 again.
  EXPECT_EST(EST_ERR_IO, p.Run(0, &report));
  EXPECT_EQ(report.position, events[3].global_position);
  TestProjection fixed;
  ASSERT_EST_OK(fixed.Open(store_, "stops", 1));
  ASSERT_EST_OK(fixed.Run(0, &report));
  EXPECT_EQ(fixed.Seen(), std::vector<Event>(events.begin() + 4, events.end()));
  EXPECT_EQ(report.position, events.back().global_position);
}

TEST_P(ProjectionTest, ContinueOnErrorLogsAndSkipsOnlyTheFailingEvents) {
  LogLines log;
  const std::vector<Event> events = AppendN(store_, NewStreamId(), 8, "e");
  TestProjection p;
  p.on_event = [](const est_event& e, est_txn*) -> est_status {
    if (DataIs(e, "e3") || DataIs(e, "e6")) {
      est_set_error("bad event");
      return EST_ERR_INVALID_ARGUMENT;
    }
    return EST_OK;
  };
  ASSERT_EST_OK(p.Open(store_, "skips", 1, ProjectionArgs().Batch(4).Flags(EST_PROJECTION_CONTINUE_ON_ERROR)));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  ASSERT_EST_OK(p.Run(0, &report));
  EXPECT_EQ(report.skipped, 2);
  EXPECT_EQ(report.position, events.back().global_position);
  EXPECT_EQ(report.caught_up, 1);
  // Every event but the two was handled (some twice: at least once).
  std::vector<int64_t> handled = PositionsOf(p.Seen());
  std::sort(handled.begin(), handled.end());
  handled.erase(std::unique(handled.begin(), handled.end()), handled.end());
  std::vector<int64_t> want;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i != 2 && i != 5) want.push_back(events[i].global_position);
  }
  EXPECT_EQ(handled, want);
  // Each skip is logged with its position and the handler's message.
  int logged = 0;
  for (const std::string& line : log.lines()) {
    if (line.find("skipped") == std::string::npos) continue;
    ++logged;
    EXPECT_NE(line.find("bad event"), std::string::npos) << line;
    EXPECT_TRUE(MentionsNumber(line, events[2].global_position) || MentionsNumber(line, events[5].global_position))
        << line;
  }
  EXPECT_EQ(logged, 2);
}

TEST_P(ProjectionTest, ABudgetedRunReturnsWithinItsBudget) {
  TestProjection idle;
  ASSERT_EST_OK(idle.Open(store_, "idle", 1));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  auto start = std::chrono::steady_clock::now();
  ASSERT_EST_OK(idle.Run(100000, &report));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(95)) << "an idle run waits for commits until its budget ends";
  EXPECT_LT(took, std::chrono::milliseconds(100 + 400));
  EXPECT_EQ(report.handled, 0);
  EXPECT_EQ(report.caught_up, 1);

  // A slow handler: the run stops starting calls once the budget is spent.
  const std::vector<Event> events = AppendN(store_, NewStreamId(), 40);
  TestProjection slow;
  slow.delay = std::chrono::milliseconds(10);
  ASSERT_EST_OK(slow.Open(store_, "slow", 1, ProjectionArgs().Batch(1)));
  start = std::chrono::steady_clock::now();
  ASSERT_EST_OK(slow.Run(50000, &report));
  took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(50 + 10 + 400));
  EXPECT_GT(report.handled, 0);
  EXPECT_LT(report.handled, 40);
  EXPECT_EQ(report.caught_up, 0);
  EXPECT_EQ(report.position, events[static_cast<size_t>(report.handled) - 1].global_position)
      << "the checkpoint is where the handler got to";
  EXPECT_EQ(report.head, events.back().global_position);
  // Later runs finish the job; together they handed every event once.
  for (int i = 0; i < 100 && report.caught_up == 0; ++i) ASSERT_EST_OK(slow.Run(50000, &report));
  EXPECT_EQ(report.caught_up, 1);
  EXPECT_EQ(slow.Seen(), events);
}

TEST_P(ProjectionTest, WakeEndsARunWithoutBudget) {
  TestProjection p;
  ASSERT_EST_OK(p.Open(store_, "woken", 1));
  est_status run_status = EST_ERR_INTERNAL;
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  std::thread runner([&] { run_status = p.Run(-1, &report); });
  const std::vector<Event> events = AppendN(store_, NewStreamId(), 5);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (p.seen_count() < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EST_OK(p.Wake());
  runner.join();
  EXPECT_EST_OK(run_status);
  EXPECT_EQ(p.Seen(), events) << "followed the commits made while it ran";
  EXPECT_EQ(report.position, events.back().global_position);
  EXPECT_EQ(report.handled, 5);
  // A wake before a run makes that run return at once.
  ASSERT_EST_OK(p.Wake());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EST_OK(p.Run(-1, &report));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Exactly once: one output per input, appended through the engine's
// transaction; a failed call leaves none of its outputs.
est_status AppendOutput(const est_event& e, est_txn* tx, const std::string& out_stream) {
  if (tx == nullptr) {
    est_set_error("no transaction in exactly-once mode");
    return EST_ERR_INTERNAL;
  }
  est_batch* batch = nullptr;
  if (est_status s = est_batch_new(&batch); s != EST_OK) return s;
  const std::string data = std::to_string(e.global_position);
  est_status s = est_batch_add(batch, "projected", data.data(), data.size(), "text/plain");
  if (s == EST_OK) s = est_txn_append(tx, out_stream.c_str(), batch, nullptr);
  est_batch_free(batch);
  return s;
}

TEST_P(ProjectionTest, ExactlyOnceCommitsEachCallsOutputsWithTheCheckpoint) {
  const std::string out = NewStreamId("output");
  const std::vector<Event> events = AppendN(store_, NewStreamId("input"), 7, "e");
  bool fail_e6 = true;
  TestProjection p;
  p.on_event = [&](const est_event& e, est_txn* tx) -> est_status {
    if (fail_e6 && DataIs(e, "e6")) return EST_ERR_IO;  // after e5's output was added
    return AppendOutput(e, tx, out);
  };
  ASSERT_EST_OK(p.Open(store_, "outputs", 1,
                       ProjectionArgs().Prefix("input_").Batch(2).Flags(EST_PROJECTION_EXACTLY_ONCE)));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  EXPECT_EST(EST_ERR_IO, p.Run(0, &report));
  EXPECT_EQ(report.position, events[3].global_position);
  std::vector<std::string> outputs;
  for (const Event& e : ReadStream(store_, out).events) outputs.push_back(e.data);
  std::vector<std::string> want;
  for (size_t i = 0; i < 4; ++i) want.push_back(std::to_string(events[i].global_position));
  EXPECT_EQ(outputs, want) << "the failed call [e5 e6] wrote nothing";

  fail_e6 = false;
  ASSERT_EST_OK(p.Run(0, &report));
  EXPECT_EQ(report.caught_up, 1);
  outputs.clear();
  for (const Event& e : ReadStream(store_, out).events) outputs.push_back(e.data);
  want.clear();
  for (const Event& e : events) want.push_back(std::to_string(e.global_position));
  EXPECT_EQ(outputs, want) << "one output per input, none lost or repeated";
}

// With a cadence, outputs wait in the transaction for the checkpoint: none
// is visible before it, a failed call drops only its own, and what the
// calls before it added commits with the checkpoint at the last success.
TEST_P(ProjectionTest, ExactlyOnceOutputsWaitForTheCheckpointsCadence) {
  const std::string out = NewStreamId("output");
  const std::vector<Event> events = AppendN(store_, NewStreamId("input"), 9, "e");
  auto outputs = [&] {
    std::vector<std::string> got;
    for (const Event& e : ReadStream(store_, out).events) got.push_back(e.data);
    return got;
  };
  auto outputs_of = [&](size_t first, size_t end) {
    std::vector<std::string> want;
    for (size_t i = first; i < end; ++i) want.push_back(std::to_string(events[i].global_position));
    return want;
  };
  std::vector<size_t> visible_at;  // outputs in the store when each input was handed over
  bool fail_e8 = true;
  TestProjection p;
  p.on_event = [&](const est_event& e, est_txn* tx) -> est_status {
    visible_at.push_back(outputs().size());
    if (fail_e8 && DataIs(e, "e8")) return EST_ERR_IO;  // after e7's output was added in the same call
    return AppendOutput(e, tx, out);
  };
  ASSERT_EST_OK(p.Open(store_, "cadenced", 1,
                       ProjectionArgs().Prefix("input_").Batch(2).Every(4).Flags(EST_PROJECTION_EXACTLY_ONCE)));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  EXPECT_EST(EST_ERR_IO, p.Run(0, &report));
  // Calls [e1 e2] [e3 e4] commit at e4; [e5 e6] waits; [e7 e8] fails: the
  // stop commits e5 and e6's outputs with the checkpoint at e6.
  EXPECT_EQ(visible_at, (std::vector<size_t>{0, 0, 0, 0, 4, 4, 4, 4}));
  EXPECT_EQ(report.position, events[5].global_position);
  EXPECT_EQ(outputs(), outputs_of(0, 6)) << "e7's output went with its failed call";

  fail_e8 = false;
  ASSERT_EST_OK(p.Run(0, &report));
  EXPECT_GE(report.position, events.back().global_position) << "(and past the outputs it passed over)";
  EXPECT_EQ(outputs(), outputs_of(0, 9)) << "one output per input, none lost or repeated";
}

TEST_P(ProjectionTest, ExactlyOnceHandlersMayNotCommitOrFreeTheEnginesTransaction) {
  AppendN(store_, NewStreamId(), 1);
  TestProjection p;
  est_status commit = EST_OK;
  p.on_event = [&](const est_event&, est_txn* tx) -> est_status {
    est_txn_free(tx);  // ignored: the projection owns it
    commit = est_txn_commit(tx, nullptr, 0);
    return EST_OK;
  };
  ASSERT_EST_OK(p.Open(store_, "owned", 1, ProjectionArgs().Flags(EST_PROJECTION_EXACTLY_ONCE)));
  ASSERT_EST_OK(p.Run(0));
  EXPECT_EQ(commit, EST_ERR_INVALID_ARGUMENT);
}

TEST_P(ProjectionTest, AtLeastOnceHandlersGetNoTransaction) {
  AppendN(store_, NewStreamId(), 2);
  TestProjection p;
  int with_tx = 0;
  p.on_event = [&](const est_event&, est_txn* tx) -> est_status {
    if (tx != nullptr) ++with_tx;
    return EST_OK;
  };
  ASSERT_EST_OK(p.Open(store_, "plain", 1));
  ASSERT_EST_OK(p.Run(0));
  EXPECT_EQ(with_tx, 0);
  EXPECT_EQ(p.Seen().size(), 2u);
}

est_status NoopHandle(void*, const est_event*, size_t, est_txn*) { return EST_OK; }

TEST_P(ProjectionTest, BadInputIsRefusedWithAMessage) {
  est_projection* p = reinterpret_cast<est_projection*>(0x1);
  est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
  h.name = "good";
  h.version = 1;
  h.handle = &NoopHandle;
  EXPECT_INVALID(est_projection_new(store_, nullptr, nullptr, &p));
  EXPECT_EQ(p, nullptr);
  EXPECT_INVALID(est_projection_new(nullptr, &h, nullptr, &p));
  EXPECT_INVALID(est_projection_new(store_, &h, nullptr, nullptr));
  est_projection_handler no_fn = h;
  no_fn.handle = nullptr;
  EXPECT_INVALID(est_projection_new(store_, &no_fn, nullptr, &p));
  for (const char* name : {"", "Orders", "1orders", "orders_", "or-ders", "_orders",
                           "a234567890123456789012345678901234567890x"}) {
    est_projection_handler bad = h;
    bad.name = name;
    EXPECT_INVALID(est_projection_new(store_, &bad, nullptr, &p)) << name;
  }
  est_projection_handler null_name = h;
  null_name.name = nullptr;
  EXPECT_INVALID(est_projection_new(store_, &null_name, nullptr, &p));
  for (int32_t version : {0, -1}) {
    est_projection_handler bad = h;
    bad.version = version;
    EXPECT_INVALID(est_projection_new(store_, &bad, nullptr, &p)) << version;
  }
  est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
  o.flags = 8;
  EXPECT_INVALID(est_projection_new(store_, &h, &o, &p));
  o = est_projection_options EST_PROJECTION_OPTIONS_INIT;
  o.event_types_len = 2;
  EXPECT_INVALID(est_projection_new(store_, &h, &o, &p));
  const char* bad_types[] = {"_x"};
  o.event_types = bad_types;
  o.event_types_len = 1;
  EXPECT_INVALID(est_projection_new(store_, &h, &o, &p));
  est_projection_handler small = h;
  small.struct_size = 4;
  EXPECT_INVALID(est_projection_new(store_, &small, nullptr, &p));
  EXPECT_EQ(p, nullptr);

  EXPECT_INVALID(est_projection_run(nullptr, 0, nullptr));
  EXPECT_INVALID(est_projection_wake(nullptr));
  est_projection_free(nullptr);

  // A 40-byte name is the longest allowed.
  est_projection_handler longest = h;
  longest.name = "a234567890123456789012345678901234567890";
  ASSERT_EST_OK(est_projection_new(store_, &longest, nullptr, &p));
  est_projection_report report = EST_PROJECTION_REPORT_INIT;
  report.struct_size = 4;
  EXPECT_INVALID(est_projection_run(p, 0, &report));
  EXPECT_EST_OK(est_projection_run(p, 0, nullptr));
  est_projection_free(p);
}

TEST_P(ProjectionTest, AClosedStoreMakesProjectionsClosed) {
  AppendN(store_, NewStreamId(), 2);
  est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
  h.name = "closing";
  h.handle = &NoopHandle;
  est_projection* p = nullptr;
  ASSERT_EST_OK(est_projection_new(store_, &h, nullptr, &p));
  CloseStore();
  EXPECT_REJECTED(EST_ERR_CLOSED, est_projection_run(p, 0, nullptr));
  EXPECT_REJECTED(EST_ERR_CLOSED, est_projection_run(p, -1, nullptr));
  EXPECT_EST_OK(est_projection_wake(p));
  est_projection_free(p);
}

}  // namespace
}  // namespace estoria::acceptance
