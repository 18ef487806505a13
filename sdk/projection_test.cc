// Tests of the SDK's Projection (estoria/projection.hpp) against the real
// library on a "memory:" store: a callable handler over spans of views, the
// report, a handler's Error and a thrown exception both coming back as
// errors (never crossing the C boundary), exactly-once appends through
// ProjectionTxn, Wake from another thread, rebuild and cutover.
#define EST_EXPERIMENTAL
#include "estoria/projection.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "estoria/estoria.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

class ProjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Store> s = Store::Open("memory:");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
    stream_ = Id::NewV7("account").value();
  }
  void AppendN(int n) {
    Batch batch;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(batch.Add("deposited", "d" + std::to_string(i)).ok());
    ASSERT_TRUE(store_.Append(stream_, batch).ok());
  }
  Store store_;
  Id stream_;
};

TEST_F(ProjectionTest, ACallableHandlerGetsEveryEventAndTheReportSaysSo) {
  AppendN(5);
  std::vector<std::string> seen;
  Result<Projection> p = Projection::Create(store_, "seen", 1, [&](std::span<const EventView> events) -> Result<void> {
    for (const EventView& e : events) seen.emplace_back(e.data_string());
    return {};
  });
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  Result<ProjectionReport> r = p->Run(std::chrono::microseconds(0));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"d0", "d1", "d2", "d3", "d4"}));
  EXPECT_EQ(r->handled, 5);
  EXPECT_TRUE(r->caught_up);
  EXPECT_EQ(r->position, r->head);
}

TEST_F(ProjectionTest, AHandlersErrorAndAThrownExceptionComeBackAsErrors) {
  AppendN(2);
  Result<Projection> failing = Projection::Create(store_, "failing", 1, [](std::span<const EventView>) -> Result<void> {
    return Error(EST_ERR_IO, "the read model is down");
  });
  ASSERT_TRUE(failing.ok());
  ProjectionReport at{};
  Result<ProjectionReport> r = failing->Run(std::chrono::microseconds(0), &at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status(), EST_ERR_IO);
  EXPECT_NE(r.error().message().find("the read model is down"), std::string::npos) << r.error().message();
  EXPECT_EQ(at.position, 0);

  Result<Projection> throwing = Projection::Create(store_, "throwing", 1, [](std::span<const EventView>) -> Result<void> {
    throw std::runtime_error("boom");
  });
  ASSERT_TRUE(throwing.ok());
  r = throwing->Run(std::chrono::microseconds(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status(), EST_ERR_INTERNAL);
  EXPECT_NE(r.error().message().find("boom"), std::string::npos) << r.error().message();
}

TEST_F(ProjectionTest, ExactlyOnceHandlersAppendThroughTheirTransaction) {
  AppendN(3);
  const Id out = Id::NewV7("copy").value();
  ProjectionOptions o;
  o.exactly_once = true;
  o.stream_prefix = "account_";
  Result<Projection> p = Projection::Create(
      store_, "copies", 1,
      [&](std::span<const EventView> events, ProjectionTxn* tx) -> Result<void> {
        if (tx == nullptr) return Error(EST_ERR_INTERNAL, "no transaction");
        Batch b;
        for (const EventView& e : events) {
          Result<void> added = b.Add("copied", std::string(e.data_string()));
          if (!added.ok()) return added;
        }
        return tx->Append(out, b);
      },
      o);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  ASSERT_TRUE(p->Run(std::chrono::microseconds(0)).ok());
  Result<StreamIterator> copies = store_.ReadStream(out);
  ASSERT_TRUE(copies.ok());
  std::vector<std::string> got;
  for (const EventView& e : *copies) got.emplace_back(e.data_string());
  EXPECT_EQ(got, (std::vector<std::string>{"d0", "d1", "d2"}));
}

TEST_F(ProjectionTest, WakeEndsARunFromAnotherThread) {
  std::atomic<int> seen{0};
  Result<Projection> p = Projection::Create(store_, "waker", 1, [&](std::span<const EventView> events) -> Result<void> {
    seen += static_cast<int>(events.size());
    return {};
  });
  ASSERT_TRUE(p.ok());
  Result<ProjectionReport> r = Error(EST_ERR_INTERNAL, "not run");
  std::thread runner([&] { r = p->Run(); });
  AppendN(2);
  while (seen.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(p->Wake().ok());
  runner.join();
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->handled, 2);
}

TEST_F(ProjectionTest, RebuildAndCutoverMakeTheNextVersionActive) {
  AppendN(2);
  auto noop = [](std::span<const EventView>) -> Result<void> { return {}; };
  Result<Projection> v1 = Projection::Create(store_, "model", 1, noop);
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(v1->Run(std::chrono::microseconds(0)).ok());
  EXPECT_EQ(ActiveVersion(store_, "model").value_or(-1), 1);
  ASSERT_TRUE(RequestRebuild(store_, "model", 2, "new shape").ok());
  Result<Projection> v2 = Projection::Create(store_, "model", 2, noop);
  ASSERT_TRUE(v2.ok());
  ASSERT_TRUE(v2->Run(std::chrono::microseconds(0)).ok());
  ASSERT_TRUE(Cutover(store_, "model", 2).ok());
  EXPECT_EQ(ActiveVersion(store_, "model").value_or(-1), 2);
  EXPECT_EQ(ActiveVersion(store_, "never").error().status(), EST_ERR_NOT_FOUND);
}

TEST_F(ProjectionTest, BadNamesAreRefused) {
  Result<Projection> p = Projection::Create(store_, "Bad", 1, [](std::span<const EventView>) -> Result<void> { return {}; });
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().status(), EST_ERR_INVALID_ARGUMENT);
  Projection empty;
  EXPECT_EQ(empty.Run().error().status(), EST_ERR_CLOSED);
}

}  // namespace
}  // namespace estoria
