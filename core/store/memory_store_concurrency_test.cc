// Concurrency tests of the memory store, also run under TSan: optimistic
// appends racing on one stream, global reads racing appends (stable prefix),
// deletions racing reads, and Close racing everything.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/memory_store.h"
#include "core/store/writable_batch.h"
#include "core/util/status.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"
#include "tests/common/soak.h"

namespace estoria::core {
namespace {

Id NewId(std::string type = "account") {
  Id id;
  id.type = std::move(type);
  id.uuid = *NewUuidV4();
  return id;
}

WritableBatch Batch(const std::vector<std::string>& data) {
  BatchBuilder builder;
  for (const std::string& d : data) {
    EXPECT_TRUE(builder.Add("e", absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(d.data()), d.size()), "").ok());
  }
  return *builder.Build();
}

struct Seen {
  Uuid stream;
  int64_t version;
  int64_t position;
  std::string data;
};

// Drains an iterator, reading every field of every view (so that TSan sees
// the reads of records other threads published).
absl::StatusOr<std::vector<Seen>> Drain(EventIterator& it) {
  std::vector<Seen> out;
  EventView views[16];
  for (;;) {
    absl::StatusOr<size_t> n = it.Next(absl::MakeSpan(views));
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    for (size_t i = 0; i < *n; ++i) {
      const EventView& e = views[i];
      out.push_back(Seen{e.stream_uuid(), e.version(), e.position(), std::string(e.data().begin(), e.data().end())});
    }
  }
}

TEST(MemoryStoreConcurrency, OptimisticWritersOnOneStreamLoseAndDuplicateNothing) {
  for (test::Soak soak; soak.NextRound();) {
    MemoryStore store;
    const Id stream = NewId();
    constexpr int kThreads = 4;
    constexpr int kPerThread = 150;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        int64_t expected = 0;
        for (int k = 0; k < kPerThread;) {
          AppendOptions options;
          options.expect = Expect::kVersion;
          options.expected_version = expected;
          absl::StatusOr<AppendResult> result = store.Append(
              stream, Batch({absl::StrCat("t", t, "-", k)}), options, nullptr);
          if (result.ok()) {
            EXPECT_EQ(result->first_version, expected + 1);
            expected = result->last_version;
            ++k;
            continue;
          }
          std::optional<VersionMismatch> mismatch = GetVersionMismatch(result.status());
          ASSERT_TRUE(mismatch.has_value()) << result.status();
          EXPECT_EQ(mismatch->expected, expected);
          EXPECT_GT(mismatch->actual, expected);
          expected = mismatch->actual;
          mismatches.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (std::thread& t : threads) t.join();

    std::unique_ptr<EventIterator> it = *store.ReadStream(stream, {});
    std::vector<Seen> events = *Drain(*it);
    ASSERT_EQ(events.size(), static_cast<size_t>(kThreads * kPerThread));
    std::set<std::string> data;
    std::vector<int> next_of_thread(kThreads, 0);
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].version, static_cast<int64_t>(i) + 1);  // gapless
      if (i > 0) {
        EXPECT_GT(events[i].position, events[i - 1].position);
      }
      EXPECT_TRUE(data.insert(events[i].data).second) << "duplicate " << events[i].data;
      // Each thread's events appear in the order it appended them.
      int t = events[i].data[1] - '0';
      EXPECT_EQ(events[i].data, "t" + std::to_string(t) + "-" + std::to_string(next_of_thread[t]++));
    }
  }
}

TEST(MemoryStoreConcurrency, GlobalReadsSeeAStablePrefixWhileStreamsGrow) {
  for (test::Soak soak; soak.NextRound();) {
    MemoryStore store;
    constexpr int kWriters = 3;
    constexpr int kReaders = 2;
    constexpr int kBatches = 150;
    std::atomic<int> writers_left{kWriters};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&] {
        const Id stream = NewId();
        for (int b = 0; b < kBatches; ++b) {
          std::vector<std::string> data(1 + b % 3, absl::StrCat("x", b));
          ASSERT_TRUE(store.Append(stream, Batch(data), {}, nullptr).ok());
        }
        writers_left.fetch_sub(1);
      });
    }
    for (int r = 0; r < kReaders; ++r) {
      threads.emplace_back([&] {
        std::vector<int64_t> previous;
        bool last_round = false;
        while (!last_round) {
          last_round = writers_left.load() == 0;
          std::unique_ptr<EventIterator> it = *store.ReadAll({});
          std::vector<Seen> events = *Drain(*it);
          std::vector<int64_t> positions;
          std::map<Uuid, int64_t> last_version;
          for (const Seen& e : events) {
            if (!positions.empty()) {
              ASSERT_GT(e.position, positions.back());
            }
            positions.push_back(e.position);
            // Within each stream the global order is the version order, gapless.
            int64_t& v = last_version[e.stream];
            ASSERT_EQ(e.version, v + 1);
            v = e.version;
          }
          // Stable prefix: what was visible before is exactly the start of now.
          ASSERT_GE(positions.size(), previous.size());
          ASSERT_TRUE(std::equal(previous.begin(), previous.end(), positions.begin()));
          previous = std::move(positions);
        }
        // The final read saw everything.
        size_t total = 0;
        for (int b = 0; b < kBatches; ++b) total += 1 + b % 3;
        EXPECT_EQ(previous.size(), total * kWriters);
      });
    }
    for (std::thread& t : threads) t.join();
  }
}

TEST(MemoryStoreConcurrency, DeletionsRaceReadsWithoutTearingIterators) {
  for (test::Soak soak; soak.NextRound();) {
    MemoryStore store;
    constexpr int kStreams = 3;
    std::vector<Id> streams;
    for (int i = 0; i < kStreams; ++i) streams.push_back(NewId());
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    // Writer: keeps appending to every stream.
    threads.emplace_back([&] {
      for (int round = 0; round < 300; ++round) {
        for (const Id& id : streams) {
          ASSERT_TRUE(store.Append(id, Batch({"a", "b"}), {}, nullptr).ok());
        }
      }
      stop.store(true);
    });
    // Deleter: truncates and wholly deletes while reads run.
    threads.emplace_back([&] {
      int round = 0;
      while (!stop.load()) {
        const Id& id = streams[round % kStreams];
        absl::Status status = store.DeleteStream(id, round % 4 == 0 ? 0 : 3 * round);
        ASSERT_TRUE(status.ok() || status.code() == absl::StatusCode::kNotFound) << status;
        ++round;
        std::this_thread::yield();
      }
    });
    // Readers: every iterator is internally consistent, whatever was deleted
    // after it was made.
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&, r] {
        while (!stop.load()) {
          if (r == 0) {
            for (const Id& id : streams) {
              ReadOptions options;
              options.direction = Direction::kReverse;
              absl::StatusOr<std::unique_ptr<EventIterator>> it = store.ReadStream(id, options);
              if (!it.ok()) {
                ASSERT_EQ(it.status().code(), absl::StatusCode::kNotFound);
                continue;
              }
              std::this_thread::yield();  // let deletions happen under the iterator
              std::vector<Seen> events = *Drain(**it);
              for (size_t i = 1; i < events.size(); ++i) ASSERT_EQ(events[i].version, events[i - 1].version - 1);
            }
          } else {
            std::unique_ptr<EventIterator> it = *store.ReadAll({});
            std::this_thread::yield();
            std::vector<Seen> events = *Drain(*it);
            for (size_t i = 1; i < events.size(); ++i) ASSERT_GT(events[i].position, events[i - 1].position);
            for (const Seen& e : events) ASSERT_TRUE(e.data == "a" || e.data == "b");
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
}

TEST(MemoryStoreConcurrency, CloseRacingCallsGivesOkOrClosedOnly) {
  for (test::Soak soak; soak.NextRound();) {
    auto store = std::make_unique<MemoryStore>();
    const Id id = NewId();
    ASSERT_TRUE(store->Append(id, Batch({"seed"}), {}, nullptr).ok());
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    auto ok_or_closed = [](const absl::Status& s) {
      return s.ok() || s.code() == absl::StatusCode::kFailedPrecondition;
    };
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 300; ++i) {
          if (t == 0) {
            ASSERT_TRUE(ok_or_closed(store->Append(id, Batch({"x"}), {}, nullptr).status()));
          } else if (t == 1) {
            absl::StatusOr<std::unique_ptr<EventIterator>> it = store->ReadAll({});
            ASSERT_TRUE(ok_or_closed(it.status()));
            if (it.ok()) {
              ASSERT_TRUE(ok_or_closed(Drain(**it).status()));
            }
          } else {
            ASSERT_TRUE(ok_or_closed(store->WriteSnapshot(id, 1 + i, {}, "", 0)));
          }
        }
      });
    }
    go.store(true);
    std::this_thread::yield();
    store->Close();
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(store->ReadAll({}).status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace estoria::core
