// tests/acceptance/subscription_test.cc: live subscriptions through the C ABI
// (doc/data-model.md "Subscriptions"), on every
// backend, single-threaded: catch-up equals est_read_all, the start points
// (0, a position, the end), following later commits, both filters and the
// position past filtered events, deletions before and after delivery, view
// lifetimes, the descriptor, bad arguments, the store's close and fork.
// The threaded clauses are in subscription_concurrency_test.cc.
#include "tests/acceptance/subscription_support.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace estoria::acceptance {
namespace {

class SubscriptionTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (!HasGlobalOrder()) GTEST_SKIP() << "subscriptions follow the global order";
  }
};
ESTORIA_ACCEPTANCE_SUITE(SubscriptionTest);

// True when the descriptor polls readable within `ms`.
bool Readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST_P(SubscriptionTest, CatchUpDeliversExactlyWhatReadAllReturns) {
  const std::string a = NewStreamId("account"), b = NewStreamId("order");
  AppendN(store_, a, 5);
  AppendN(store_, b, 3);
  AppendN(store_, a, 4);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  // A small capacity makes the catch-up cross several polls.
  const std::vector<Event> got = sub.DrainNow(/*capacity=*/3);
  const std::vector<Event> want = ReadAll(store_).events;
  ASSERT_EQ(want.size(), 12u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(sub.Position(), want.back().global_position);
}

TEST_P(SubscriptionTest, StartsAfterTheGivenPosition) {
  const std::string a = NewStreamId();
  const std::vector<Event> written = AppendN(store_, a, 6);
  const int64_t after = written[2].global_position;
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().After(after)));
  EXPECT_EQ(sub.Position(), after);
  EXPECT_EQ(sub.DrainNow(), ReadAll(store_, after).events);
}

TEST_P(SubscriptionTest, FromTheEndDeliversOnlyLaterCommits) {
  const std::string a = NewStreamId();
  AppendN(store_, a, 4);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().After(EST_POSITION_END)));
  EXPECT_TRUE(sub.DrainNow().empty());
  const std::vector<Event> later = AppendN(store_, a, 2, "later");
  const std::vector<Event> got = sub.Collect(2);
  EXPECT_EQ(got, later);
  EXPECT_TRUE(sub.DrainNow().empty()) << "nothing delivered twice";
}

TEST_P(SubscriptionTest, FollowsCommitsAfterCatchingUpWithoutGapOrDuplicate) {
  const std::string a = NewStreamId(), b = NewStreamId("order");
  AppendN(store_, a, 3);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  std::vector<Event> got = sub.DrainNow();
  ASSERT_EQ(got.size(), 3u);
  for (int round = 0; round < 5; ++round) {
    AppendN(store_, round % 2 == 0 ? a : b, 2, "r" + std::to_string(round));
    std::vector<Event> more = sub.Collect(2);
    got.insert(got.end(), more.begin(), more.end());
  }
  EXPECT_EQ(got, ReadAll(store_).events);
  EXPECT_TRUE(sub.DrainNow().empty());
}

TEST_P(SubscriptionTest, StreamPrefixFilterMatchesTheIdsTextForm) {
  const std::string acc1 = NewStreamId("account"), acc2 = NewStreamId("account");
  const std::string order = NewStreamId("order"), accounting = NewStreamId("accounting");
  AppendN(store_, acc1, 2);
  AppendN(store_, order, 2);
  AppendN(store_, accounting, 2);
  AppendN(store_, acc2, 2);
  std::vector<Event> want_accounts;
  for (const Event& e : ReadAll(store_).events) {
    if (e.stream_type == "account") want_accounts.push_back(e);
  }
  {
    Subscription sub;
    ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().Prefix("account_")));
    EXPECT_EQ(sub.DrainNow(), want_accounts);
  }
  {
    // A prefix reaching into the UUID: one stream only.
    const std::string one = acc2.substr(0, acc2.size() - 5);
    Subscription sub;
    ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().Prefix(one.c_str())));
    const std::vector<Event> got = sub.DrainNow();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].stream_uuid, UuidOf(acc2));
  }
  {
    Subscription sub;
    ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().Prefix("acc")));
    EXPECT_EQ(sub.DrainNow().size(), 6u) << "account and accounting";
  }
}

TEST_P(SubscriptionTest, EventTypeFilterIsExactAndThePositionPassesFilteredEvents) {
  const std::string a = NewStreamId();
  Batch batch;
  batch.Add("opened").Add("deposited").Add("withdrawn").Add("deposited_twice").Add("closed");
  ASSERT_EST_OK(Append(store_, a, batch.Bytes()).status);
  const std::vector<Event> all = ReadAll(store_).events;
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().Types({"deposited", "closed"})));
  const std::vector<Event> got = sub.DrainNow();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, "deposited");
  EXPECT_EQ(got[1].type, "closed");
  // Filtered events at the end are passed too: a checkpoint never re-reads them.
  Batch tail;
  tail.Add("withdrawn").Add("opened");
  const AppendOutcome appended = Append(store_, a, tail.Bytes());
  ASSERT_EST_OK(appended.status);
  EXPECT_TRUE(sub.DrainNow().empty());
  EXPECT_EQ(sub.Position(), appended.result.last_position);
  Subscription again;
  ASSERT_EST_OK(again.Open(store_, SubscribeArgs().After(sub.Position()).Types({"deposited", "closed"})));
  EXPECT_TRUE(again.DrainNow().empty());
}

TEST_P(SubscriptionTest, BothFiltersTogether) {
  const std::string acc = NewStreamId("account"), order = NewStreamId("order");
  Batch x;
  x.Add("opened").Add("deposited");
  ASSERT_EST_OK(Append(store_, acc, x.Bytes()).status);
  ASSERT_EST_OK(Append(store_, order, x.Bytes()).status);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_, SubscribeArgs().Prefix("order").Types({"deposited"})));
  const std::vector<Event> got = sub.DrainNow();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].stream_type, "order");
  EXPECT_EQ(got[0].type, "deposited");
}

TEST_P(SubscriptionTest, EventsDeletedBeforeDeliveryAreNotDelivered) {
  const std::string gone = NewStreamId(), truncated = NewStreamId(), kept = NewStreamId();
  AppendN(store_, gone, 3);
  AppendN(store_, truncated, 4);
  AppendN(store_, kept, 2);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  ASSERT_EST_OK(est_delete_stream(store_, gone.c_str(), 0));
  ASSERT_EST_OK(est_delete_stream(store_, truncated.c_str(), 2));
  const std::vector<Event> got = sub.DrainNow();
  EXPECT_EQ(got, ReadAll(store_).events);
  EXPECT_EQ(got.size(), 4u);
}

TEST_P(SubscriptionTest, DeletionAfterDeliveryChangesNothingDelivered) {
  const std::string a = NewStreamId();
  AppendN(store_, a, 3);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  const std::vector<Event> first = sub.DrainNow();
  ASSERT_EQ(first.size(), 3u);
  const int64_t position = sub.Position();
  ASSERT_EST_OK(est_delete_stream(store_, a.c_str(), 0));
  EXPECT_TRUE(sub.DrainNow().empty());
  EXPECT_EQ(sub.Position(), position);
  // The stream starts again (a new stream of the same ID): delivered once.
  const std::vector<Event> again = AppendN(store_, a, 2, "again");
  EXPECT_EQ(sub.Collect(2), again);
}

TEST_P(SubscriptionTest, ViewsStayValidUntilTheNextPoll) {
  const std::string a = NewStreamId();
  AppendN(store_, a, 4, "payload-");
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  std::vector<est_event> views(4);
  for (est_event& v : views) est_event_init(&v);
  size_t count = 0;
  ASSERT_EST_OK(est_subscription_poll(sub.get(), views.data(), 4, &count, 0));
  ASSERT_EQ(count, 4u);
  // Commits and deletions in between do not move what the views show.
  AppendN(store_, a, 3, "more-");
  ASSERT_EST_OK(est_delete_stream(store_, a.c_str(), 0));
  for (size_t i = 0; i < count; ++i) {
    const Event e = CopyEvent(views[i]);
    EXPECT_EQ(e.data, "payload-" + std::to_string(i + 1));
    EXPECT_EQ(e.stream_version, static_cast<int64_t>(i + 1));
  }
}

TEST_P(SubscriptionTest, DescriptorIsReadableWhenEventsMayBeReady) {
  const std::string a = NewStreamId();
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  int fd = -1;
  ASSERT_EST_OK(est_subscription_fd(sub.get(), &fd));
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(sub.DrainNow().empty());
  EXPECT_FALSE(Readable(fd, 0)) << "caught up, nothing new";
  AppendN(store_, a, 1);
  // In process at once; a backend that learns of commits by watching may
  // take a moment.
  EXPECT_TRUE(Readable(fd, 5000));
  EXPECT_EQ(sub.DrainNow().size(), 1u);
  EXPECT_FALSE(Readable(fd, 0));
  // A full poll leaves it readable: more may be there.
  AppendN(store_, a, 3);
  std::vector<Event> got;
  ASSERT_TRUE(Readable(fd, 5000));
  ASSERT_EST_OK(sub.Poll(&got, 1, 0));
  EXPECT_EQ(got.size(), 1u);
  EXPECT_TRUE(Readable(fd, 0));
}

TEST_P(SubscriptionTest, WakeBeforeAWaitingPollMakesItReturnAtOnce) {
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  ASSERT_EST_OK(est_subscription_wake(sub.get()));
  std::vector<Event> got;
  ASSERT_EST_OK(sub.Poll(&got, 8, -1));  // would wait forever without the wake
  EXPECT_TRUE(got.empty());
}

TEST_P(SubscriptionTest, TimeoutReturnsOkWithNothing) {
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  std::vector<Event> got;
  ASSERT_EST_OK(sub.Poll(&got, 8, 20000));
  EXPECT_TRUE(got.empty());
}

TEST_P(SubscriptionTest, ClosingTheStoreMakesItClosedAndEitherMayBeFreedFirst) {
  AppendN(store_, NewStreamId(), 2);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  CloseStore();
  std::vector<Event> got;
  EXPECT_REJECTED(EST_ERR_CLOSED, sub.Poll(&got, 8, -1));
  EXPECT_TRUE(got.empty());
  EXPECT_EST_OK(est_subscription_wake(sub.get()));
}

TEST_P(SubscriptionTest, BadArgumentsAreRefusedWithAMessage) {
  est_subscription* out = reinterpret_cast<est_subscription*>(1);
  EXPECT_INVALID(est_subscribe(nullptr, nullptr, &out));
  EXPECT_EQ(out, nullptr);
  EXPECT_INVALID(est_subscribe(store_, nullptr, nullptr));
  est_subscribe_options o = EST_SUBSCRIBE_OPTIONS_INIT;
  o.after_position = -2;
  EXPECT_INVALID(est_subscribe(store_, &o, &out));
  o = est_subscribe_options EST_SUBSCRIBE_OPTIONS_INIT;
  o.event_types_len = 2;
  EXPECT_INVALID(est_subscribe(store_, &o, &out));
  const char* bad_types[] = {"ok", ""};
  o.event_types = bad_types;
  EXPECT_INVALID(est_subscribe(store_, &o, &out));
  const char* null_type[] = {nullptr};
  o.event_types = null_type;
  o.event_types_len = 1;
  EXPECT_INVALID(est_subscribe(store_, &o, &out));
  o = est_subscribe_options EST_SUBSCRIBE_OPTIONS_INIT;
  const std::string long_prefix(400, 'a');
  o.stream_prefix = long_prefix.c_str();
  EXPECT_INVALID(est_subscribe(store_, &o, &out));
  o = est_subscribe_options EST_SUBSCRIBE_OPTIONS_INIT;
  o.struct_size = 4;
  EXPECT_INVALID(est_subscribe(store_, &o, &out));
  EXPECT_EQ(out, nullptr);

  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  est_event events[2];
  est_event_init(&events[0]);
  est_event_init(&events[1]);
  size_t count = 7;
  EXPECT_INVALID(est_subscription_poll(nullptr, events, 2, &count, 0));
  EXPECT_EQ(count, 0u);
  EXPECT_INVALID(est_subscription_poll(sub.get(), nullptr, 2, &count, 0));
  EXPECT_INVALID(est_subscription_poll(sub.get(), events, 0, &count, 0));
  EXPECT_INVALID(est_subscription_poll(sub.get(), events, 2, nullptr, 0));
  events[0].struct_size = 3;
  EXPECT_INVALID(est_subscription_poll(sub.get(), events, 2, &count, 0));
  int fd = 0;
  EXPECT_INVALID(est_subscription_fd(nullptr, &fd));
  EXPECT_EQ(fd, -1);
  EXPECT_INVALID(est_subscription_fd(sub.get(), nullptr));
  EXPECT_INVALID(est_subscription_wake(nullptr));
  EXPECT_EQ(est_subscription_position(nullptr), -1);
  est_subscription_close(nullptr);
  // Nothing was consumed by the refused calls.
  AppendN(store_, NewStreamId(), 1);
  EXPECT_EQ(sub.DrainNow().size(), 1u);
}

TEST_P(SubscriptionTest, ForkedChildGetsAClearErrorAndTheParentFollowsOn) {
  AppendN(store_, NewStreamId(), 2);
  Subscription sub;
  ASSERT_EST_OK(sub.Open(store_));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child reports through its exit code only: bit i = check i failed.
    int failed = 0;
    est_event event = EST_EVENT_INIT;
    size_t count = 0;
    if (est_subscription_poll(sub.get(), &event, 1, &count, -1) != EST_ERR_INVALID_ARGUMENT) failed |= 1;
    if (std::string(est_last_error()).find("fork") == std::string::npos) failed |= 2;
    if (est_subscription_wake(sub.get()) != EST_ERR_INVALID_ARGUMENT) failed |= 4;
    int fd = 0;
    if (est_subscription_fd(sub.get(), &fd) != EST_ERR_INVALID_ARGUMENT) failed |= 8;
    est_subscription* other = nullptr;
    if (est_subscribe(store_, nullptr, &other) != EST_ERR_INVALID_ARGUMENT || other != nullptr) failed |= 16;
    est_subscription_close(sub.get());  // must not crash
    _exit(failed);
  }
  int wstatus = 0;
  ASSERT_EQ(pid, waitpid(pid, &wstatus, 0));
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(0, WEXITSTATUS(wstatus));
  EXPECT_EQ(sub.DrainNow().size(), 2u);
}

TEST_P(SubscriptionTest, OptionsInitMatchesTheMacro) {
  est_subscribe_options a = EST_SUBSCRIBE_OPTIONS_INIT;
  est_subscribe_options b;
  std::memset(&b, 0xff, sizeof(b));
  est_subscribe_options_init(&b);
  EXPECT_EQ(a.struct_size, b.struct_size);
  EXPECT_EQ(a.after_position, b.after_position);
  EXPECT_EQ(b.stream_prefix, nullptr);
  EXPECT_EQ(b.event_types, nullptr);
  EXPECT_EQ(b.event_types_len, 0u);
}

}  // namespace
}  // namespace estoria::acceptance
