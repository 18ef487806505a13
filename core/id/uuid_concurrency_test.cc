// Concurrency tests for the UUID generators (also run under TSan): v7 values
// are unique and strictly increasing across threads, v4 values are unique
// across threads (each thread has its own random buffer).
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/id/uuid.h"
#include "core/util/mutex.h"
#include "gtest/gtest.h"
#include "tests/common/soak.h"

namespace estoria::core {
namespace {

constexpr int kThreads = 4;

// Runs `body(thread_index)` on kThreads threads released together.
template <typename Body>
void RunThreads(Body body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& thread : threads) thread.join();
}

TEST(UuidV7Concurrency, UniqueAndIncreasingInEachThread) {
  for (test::Soak soak; soak.NextRound();) {
    constexpr int kEach = 20000;
    std::vector<std::vector<Uuid>> made(kThreads);
    std::vector<int> failures(kThreads, 0);
    RunThreads([&](int t) {
      made[t].reserve(kEach);
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<Uuid> u = NewUuidV7();
        if (!u.ok()) {
          ++failures[t];
          continue;
        }
        made[t].push_back(*u);
      }
    });
    std::vector<Uuid> all;
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_EQ(failures[t], 0);
      ASSERT_EQ(made[t].size(), static_cast<size_t>(kEach));
      for (size_t i = 1; i < made[t].size(); ++i) {
        ASSERT_LT(made[t][i - 1], made[t][i]) << "thread " << t << " call " << i;
      }
      all.insert(all.end(), made[t].begin(), made[t].end());
    }
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a v7 UUID was handed out twice";
  }
}

TEST(UuidV7Concurrency, IncreasingAcrossThreadsInCallOrder) {
  for (test::Soak soak; soak.NextRound();) {
    // Calls ordered by a lock (happens-before across threads) must return
    // increasing values whichever thread makes them.
    constexpr int kEach = 5000;
    Mutex mu;
    Uuid last;  // guarded by mu
    int out_of_order = 0;
    int failures = 0;
    RunThreads([&](int) {
      for (int i = 0; i < kEach; ++i) {
        MutexLock lock(&mu);
        absl::StatusOr<Uuid> u = NewUuidV7();
        if (!u.ok()) {
          ++failures;
          continue;
        }
        if (!(last < *u)) ++out_of_order;
        last = *u;
      }
    });
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(out_of_order, 0);
  }
}

TEST(UuidV4Concurrency, UniqueAcrossThreads) {
  for (test::Soak soak; soak.NextRound();) {
    constexpr int kEach = 20000;
    std::vector<std::vector<Uuid>> made(kThreads);
    std::vector<int> bad(kThreads, 0);
    RunThreads([&](int t) {
      made[t].reserve(kEach);
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<Uuid> u = NewUuidV4();
        if (!u.ok() || (u->bytes[6] >> 4) != 4 || (u->bytes[8] & 0xC0) != 0x80) {
          ++bad[t];
          continue;
        }
        made[t].push_back(*u);
      }
    });
    std::vector<Uuid> all;
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_EQ(bad[t], 0) << "thread " << t;
      all.insert(all.end(), made[t].begin(), made[t].end());
    }
    ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a v4 UUID was handed out twice";
  }
}

}  // namespace
}  // namespace estoria::core
