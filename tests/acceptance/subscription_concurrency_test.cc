// tests/acceptance/subscription_concurrency_test.cc: the threaded clauses of
// live subscriptions (doc/data-model.md "Subscriptions") through the C ABI on every
// backend: catch-up then follow while writers race, checked against the log
// itself as the model (same events, same order: no gap, no duplicate, only
// the stable prefix); wake and close while a poll waits in another thread;
// the store closed under a waiting poll. Also built in the TSan tree. Each
// test repeats its round on a fresh store for ESTORIA_SOAK_SECONDS
// (tests/common/soak.h); the round is a lambda so that an ASSERT ends it.
#include "tests/acceptance/subscription_support.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/soak.h"

namespace estoria::acceptance {
namespace {

class SubscriptionConcurrencyTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (!HasGlobalOrder()) GTEST_SKIP() << "subscriptions follow the global order";
  }
};
ESTORIA_ACCEPTANCE_SUITE(SubscriptionConcurrencyTest);

TEST_P(SubscriptionConcurrencyTest, CatchUpThenFollowWhileWritersRaceMatchesTheLog) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    [&] {
      constexpr int kWriters = 4;
      constexpr int kAppends = 40;
      constexpr int kBatch = 3;
      for (int i = 0; i < 10; ++i) AppendN(store_, NewStreamId("seed"), 2);
      std::atomic<int> appended{0};
      std::vector<std::thread> writers;
      for (int w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
          const std::string stream = NewStreamId("w" + std::to_string(w));
          for (int i = 0; i < kAppends; ++i) {
            const AppendOutcome out = Append(store_, stream, SimpleBatch(kBatch, "w" + std::to_string(w) + "-"));
            EXPECT_EQ(out.status, EST_OK) << est_last_error();
            appended.fetch_add(1);
          }
        });
      }
      // Subscribe while the writers run: part is caught up, part followed.
      while (appended.load() < kWriters * kAppends / 4) std::this_thread::yield();
      Subscription sub;
      ASSERT_EST_OK(sub.Open(store_));
      const size_t total = 20 + kWriters * kAppends * kBatch;
      std::vector<Event> got;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (got.size() < total && std::chrono::steady_clock::now() < deadline) {
        ASSERT_EST_OK(sub.Poll(&got, 7, 100000));
        // Every delivery is part of the stable prefix: what a read sees now
        // holds it, in the same place.
        if (!got.empty() && got.size() % 97 == 0) {
          const std::vector<Event> now = ReadAll(store_, 0, static_cast<int64_t>(got.size())).events;
          ASSERT_EQ(now, got) << "a delivered prefix must be what the log holds";
        }
      }
      for (std::thread& t : writers) t.join();
      EXPECT_EQ(got.size(), total);
      EXPECT_EQ(got, ReadAll(store_).events) << "no gap, no duplicate, log order";
      std::vector<Event> extra;
      ASSERT_EST_OK(sub.Poll(&extra, 8, 0));
      EXPECT_TRUE(extra.empty());
    }();
  }
}

TEST_P(SubscriptionConcurrencyTest, TwoFilteredSubscribersSplitTheLogBetweenThem) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    [&] {
      constexpr int kAppends = 30;
      Subscription accounts, orders;
      ASSERT_EST_OK(accounts.Open(store_, SubscribeArgs().Prefix("account_")));
      ASSERT_EST_OK(orders.Open(store_, SubscribeArgs().Prefix("order_")));
      std::thread writer([&] {
        const std::string a = NewStreamId("account"), o = NewStreamId("order");
        for (int i = 0; i < kAppends; ++i) {
          EXPECT_EQ(Append(store_, i % 2 == 0 ? a : o, SimpleBatch(2)).status, EST_OK);
        }
      });
      std::vector<Event> got_accounts, got_orders;
      std::thread other([&] { got_orders = orders.Collect(kAppends); });
      got_accounts = accounts.Collect(kAppends);
      writer.join();
      other.join();
      std::vector<Event> want_accounts, want_orders;
      for (const Event& e : ReadAll(store_).events) {
        (e.stream_type == "account" ? want_accounts : want_orders).push_back(e);
      }
      EXPECT_EQ(got_accounts, want_accounts);
      EXPECT_EQ(got_orders, want_orders);
    }();
  }
}

TEST_P(SubscriptionConcurrencyTest, WakeFromAnotherThreadEndsAWaitingPoll) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    [&] {
      Subscription sub;
      ASSERT_EST_OK(sub.Open(store_));
      std::atomic<bool> returned{false};
      est_status status = EST_ERR_INTERNAL;
      std::vector<Event> got;
      std::thread poller([&] {
        status = sub.Poll(&got, 8, -1);
        returned.store(true);
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      // Keep waking until it returns (a wake before the poll waits counts too).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!returned.load() && std::chrono::steady_clock::now() < deadline) {
        ASSERT_EST_OK(est_subscription_wake(sub.get()));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      poller.join();
      EXPECT_EQ(status, EST_OK);
      EXPECT_TRUE(got.empty());
    }();
  }
}

TEST_P(SubscriptionConcurrencyTest, StoreClosedUnderAWaitingPollReturnsClosed) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    [&] {
      AppendN(store_, NewStreamId(), 1);
      Subscription sub;
      ASSERT_EST_OK(sub.Open(store_));
      ASSERT_EQ(sub.DrainNow().size(), 1u);
      std::atomic<bool> waiting{false};
      est_status status = EST_OK;
      std::thread poller([&] {
        std::vector<Event> got;
        waiting.store(true);
        status = sub.Poll(&got, 8, -1);
      });
      while (!waiting.load()) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      CloseStore();
      poller.join();  // hangs here if the close did not wake it
      EXPECT_EQ(status, EST_ERR_CLOSED);
    }();
  }
}

TEST_P(SubscriptionConcurrencyTest, WakeRacingClosesOfOtherSubscriptionsNeverCrashes) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    [&] {
      // Subscriptions come and go on one store while a writer commits and a
      // waker wakes the long-lived one: listeners are added and removed under
      // the notifier's lock while commits notify.
      Subscription stay;
      ASSERT_EST_OK(stay.Open(store_));
      std::atomic<bool> stop{false};
      std::thread writer([&] {
        const std::string s = NewStreamId();
        while (!stop.load()) EXPECT_EQ(Append(store_, s, SimpleBatch(1)).status, EST_OK);
      });
      std::thread waker([&] {
        while (!stop.load()) {
          EXPECT_EQ(est_subscription_wake(stay.get()), EST_OK);
          std::this_thread::yield();
        }
      });
      for (int i = 0; i < 50; ++i) {
        Subscription brief;
        ASSERT_EST_OK(brief.Open(store_, SubscribeArgs().After(EST_POSITION_END)));
        std::vector<Event> got;
        ASSERT_EST_OK(brief.Poll(&got, 4, 1000));
        ASSERT_EST_OK(stay.Poll(&got, 4, 1000));
      }
      stop.store(true);
      writer.join();
      waker.join();
    }();
  }
}

TEST_P(SubscriptionConcurrencyTest, ReadOnlyHandleBesideAWriterIsWokenByItsPublications) {
  if (GetParam().name != "file") GTEST_SKIP() << "read-only opens are the file store's";
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.read_only = 1;
  est_store* ro = nullptr;
  ASSERT_EST_OK(est_store_open(uri_.c_str(), &options, &ro));
  {
    // The handle's watch thread starts with this subscription and wakes it
    // when the writer (the fixture's handle, in this process) publishes.
    Subscription sub;
    ASSERT_EST_OK(sub.Open(ro));
    constexpr int kEvents = 30;
    std::thread writer([&] {
      const std::string stream = NewStreamId();
      for (int i = 0; i < kEvents; ++i) {
        EXPECT_EQ(Append(store_, stream, SimpleBatch(1)).status, EST_OK);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    std::vector<Event> got;
    while (got.size() < kEvents) {
      const size_t before = got.size();
      ASSERT_EST_OK(sub.Poll(&got, 8, 10'000'000));
      ASSERT_GT(got.size(), before) << "a poll waited 10 s without being woken";
    }
    writer.join();
    EXPECT_EQ(got, ReadAll(store_).events);
  }
  est_store_close(ro);
}

}  // namespace
}  // namespace estoria::acceptance
