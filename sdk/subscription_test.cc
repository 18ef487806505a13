// Tests of the SDK's Subscription (estoria/subscription.hpp) against the real
// library on a "memory:" store: Poll, the waiting range-for ended by Wake
// from another thread, Position to resume from, Fd, filters, errors.
#define EST_EXPERIMENTAL
#include "estoria/subscription.hpp"

#include <poll.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "estoria/estoria.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

class SubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Store> s = Store::Open("memory:");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
    stream_ = Id::NewV7("account").value();
  }
  void AppendTyped(const std::string& type, int n) {
    Batch batch;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(batch.Add(type, "d" + std::to_string(i)).ok());
    ASSERT_TRUE(store_.Append(stream_, batch).ok());
  }
  Store store_;
  Id stream_;
};

TEST_F(SubscriptionTest, PollCatchesUpThenFollows) {
  AppendTyped("opened", 3);
  Result<Subscription> sub = Subscribe(store_);
  ASSERT_TRUE(sub.ok()) << sub.error().ToString();
  Result<std::span<const EventView>> got = sub->Poll();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[2].stream_version(), 3);
  EXPECT_EQ(sub->Position(), (*got)[2].global_position());
  EXPECT_TRUE(sub->Poll()->empty());
  AppendTyped("deposited", 1);
  got = sub->Poll(std::chrono::seconds(5));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].type(), "deposited");
}

TEST_F(SubscriptionTest, RangeForWaitsForCommitsAndEndsOnWake) {
  Result<Subscription> sub = Subscribe(store_);
  ASSERT_TRUE(sub.ok());
  std::thread writer([&] {
    for (int i = 0; i < 5; ++i) AppendTyped("tick", 1);
  });
  std::vector<int64_t> versions;
  for (const EventView& e : *sub) {
    versions.push_back(e.stream_version());
    if (versions.size() == 5) {
      ASSERT_TRUE(sub->Wake().ok());  // ends the loop once caught up
    }
  }
  writer.join();
  EXPECT_TRUE(sub->status().ok());
  EXPECT_EQ(versions, (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_F(SubscriptionTest, FiltersAndResumingFromAPosition) {
  AppendTyped("opened", 1);
  AppendTyped("deposited", 2);
  SubscribeOptions options;
  options.event_types = {"deposited"};
  options.stream_prefix = "account_";
  Result<Subscription> sub = Subscribe(store_, options);
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->Poll()->size(), 2u);
  AppendTyped("deposited", 1);
  options.after_position = sub->Position();
  Result<Subscription> resumed = Subscribe(store_, options);
  ASSERT_TRUE(resumed.ok());
  Result<std::span<const EventView>> got = resumed->Poll();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].stream_version(), 4);
}

TEST_F(SubscriptionTest, FdIsReadableAfterACommit) {
  SubscribeOptions options;
  options.after_position = SubscribeOptions::kEnd;
  Result<Subscription> sub = Subscribe(store_, options);
  ASSERT_TRUE(sub.ok());
  EXPECT_TRUE(sub->Poll()->empty());
  pollfd p{sub->Fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  AppendTyped("x", 1);
  EXPECT_EQ(poll(&p, 1, 1000), 1);
  EXPECT_EQ(sub->Poll()->size(), 1u);
}

TEST_F(SubscriptionTest, ErrorsComeBackAsResults) {
  SubscribeOptions bad;
  bad.event_types = {""};
  Result<Subscription> refused = Subscribe(store_, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status(), EST_ERR_INVALID_ARGUMENT);
  Result<Subscription> sub = Subscribe(store_);
  ASSERT_TRUE(sub.ok());
  store_.Close();
  Result<std::span<const EventView>> got = sub->Poll(std::chrono::microseconds(-1));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().status(), EST_ERR_CLOSED);
  EXPECT_FALSE(Subscribe(store_).ok());
  Subscription empty;
  EXPECT_FALSE(empty.Poll().ok());
  EXPECT_FALSE(empty.Wake().ok());
  EXPECT_EQ(empty.Fd(), -1);
}

}  // namespace
}  // namespace estoria
