// Tests of core::Subscription beside it, on the memory store: the engine's
// own contracts that the C ABI does not show (arming, the frame scan budget,
// the uuid part of a stream prefix, where "the end" starts); the behaviour as
// users see it is in tests/acceptance/subscription_*test.cc.
#include "core/subscription/subscription.h"

#include <poll.h>

#include <memory>
#include <string>
#include <vector>

#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

Id NewId(std::string type = "account") {
  Id id;
  id.type = std::move(type);
  id.uuid = *NewUuidV4();
  return id;
}

WritableBatch Events(int n, std::string_view type = "e") {
  BatchBuilder builder;
  for (int i = 0; i < n; ++i) EXPECT_TRUE(builder.Add(type, {}, "").ok());
  return *builder.Build();
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

class SubscriptionEngine : public ::testing::Test {
 protected:
  void SetUp() override { store_ = *OpenStore("memory:", StoreOptions{}); }
  AppendResult Append(const Id& id, int n, std::string_view type = "e") {
    return *store_->Append(id, Events(n, type), AppendOptions{}, nullptr);
  }
  std::shared_ptr<EventStore> store_;
};

TEST_F(SubscriptionEngine, AnUnarmedSubscriptionIsNotSignalledByCommits) {
  SubscriptionOptions options;
  auto sub = *Subscription::Create(store_, options);
  // Created readable (events may be there); a poll drains and arms it.
  EXPECT_TRUE(Readable(sub->fd()));
  std::vector<EventView> views(8);
  EXPECT_EQ(*sub->Poll(absl::MakeSpan(views), 0), 0u);
  EXPECT_FALSE(Readable(sub->fd()));
  const Id id = NewId();
  Append(id, 1);
  EXPECT_TRUE(Readable(sub->fd())) << "armed: the first commit signals";
  // The signal disarmed it: further commits leave it alone until the next
  // poll.
  Append(id, 1);
  EXPECT_EQ(*sub->Poll(absl::MakeSpan(views), 0), 2u);
  EXPECT_EQ(*sub->Poll(absl::MakeSpan(views), 0), 0u);
  EXPECT_FALSE(Readable(sub->fd()));
}

TEST_F(SubscriptionEngine, AFrameScansABoundedNumberOfFilteredEvents) {
  const Id id = NewId();
  for (int i = 0; i < 80; ++i) Append(id, 1000, "noise");
  Append(id, 1, "wanted");
  SubscriptionOptions options;
  options.event_types = {"wanted"};
  auto sub = *Subscription::Create(store_, options);
  std::vector<EventView> views(4);
  // 80000 filtered events: the first frame stops at its budget, returns
  // nothing and leaves the fd readable; a later one finds the event.
  EXPECT_EQ(*sub->Poll(absl::MakeSpan(views), 0), 0u);
  EXPECT_TRUE(Readable(sub->fd()));
  EXPECT_GT(sub->position(), 0);
  EXPECT_EQ(*sub->Poll(absl::MakeSpan(views), 0), 1u);
  EXPECT_EQ(views[0].type(), "wanted");
}

TEST_F(SubscriptionEngine, APrefixIntoTheUuidComparesItsTextForm) {
  const Id a = NewId(), b = NewId();
  Append(a, 1);
  Append(b, 1);
  SubscriptionOptions options;
  options.stream_prefix = b.ToString().substr(0, b.type.size() + 1 + 13);
  auto sub = *Subscription::Create(store_, options);
  std::vector<EventView> views(4);
  ASSERT_EQ(*sub->Poll(absl::MakeSpan(views), 0), 1u);
  EXPECT_EQ(views[0].position(), 2);
  // The whole ID as prefix, and one byte more, which nothing matches.
  options.stream_prefix = a.ToString();
  auto whole = *Subscription::Create(store_, options);
  EXPECT_EQ(*whole->Poll(absl::MakeSpan(views), 0), 1u);
  options.stream_prefix = a.ToString() + "0";
  auto longer = *Subscription::Create(store_, options);
  EXPECT_EQ(*longer->Poll(absl::MakeSpan(views), 0), 0u);
}

TEST_F(SubscriptionEngine, TheEndIsTheLastVisiblePosition) {
  Append(NewId(), 3);
  SubscriptionOptions options;
  options.after_position = kPositionEnd;
  auto sub = *Subscription::Create(store_, options);
  EXPECT_EQ(sub->position(), 3);
}

TEST_F(SubscriptionEngine, BadOptionsAndAnEmptySpanAreInvalid) {
  SubscriptionOptions options;
  options.after_position = -2;
  EXPECT_EQ(Subscription::Create(store_, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.after_position = 0;
  options.event_types = {"_bad"};
  EXPECT_EQ(Subscription::Create(store_, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.event_types.clear();
  auto sub = *Subscription::Create(store_, options);
  EXPECT_EQ(sub->Poll({}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Subscription::Create(nullptr, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SubscriptionEngine, SubscriptionsOfAStoreShareOneListenerThatLeavesWithTheLast) {
  {
    auto a = *Subscription::Create(store_, SubscriptionOptions{});
    auto b = *Subscription::Create(store_, SubscriptionOptions{});
    EXPECT_EQ(store_->commit_notifier().listener_count(), 1u);
    auto other_store = *OpenStore("memory:", StoreOptions{});
    auto c = *Subscription::Create(other_store, SubscriptionOptions{});
    EXPECT_EQ(other_store->commit_notifier().listener_count(), 1u);
  }
  EXPECT_EQ(store_->commit_notifier().listener_count(), 0u);
  Append(NewId(), 1);  // notifies nobody, touches nothing freed
}

TEST_F(SubscriptionEngine, ACommitSignalsOnlyTheArmedSubscriptions) {
  auto polled = *Subscription::Create(store_, SubscriptionOptions{});
  auto idle = *Subscription::Create(store_, SubscriptionOptions{});
  std::vector<EventView> views(4);
  ASSERT_EQ(*polled->Poll(absl::MakeSpan(views), 0), 0u);  // armed
  ASSERT_EQ(*idle->Poll(absl::MakeSpan(views), 0), 0u);
  Append(NewId(), 1);  // signals and disarms both
  ASSERT_EQ(*polled->Poll(absl::MakeSpan(views), 0), 1u);  // armed again
  ASSERT_EQ(*polled->Poll(absl::MakeSpan(views), 0), 0u);
  Append(NewId(), 1);
  EXPECT_TRUE(Readable(polled->fd()));
  // idle was signalled by the first commit and stays readable; it was not
  // armed for the second, which left its counter alone.
  EXPECT_TRUE(Readable(idle->fd()));
  EXPECT_EQ(*idle->Poll(absl::MakeSpan(views), 0), 2u);
}

}  // namespace
}  // namespace estoria::core
