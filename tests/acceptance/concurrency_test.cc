// tests/acceptance/concurrency_test.cc: the threaded clauses of the
// acceptance suite (doc/data-model.md "Appends", "Global reads"; doc/abi.md
// "Threads"), run through the C ABI with one store handle shared by
// every thread. Also built in the TSan tree, so iteration counts stay
// moderate; nothing here measures time.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/acceptance/acceptance.h"
#include "tests/common/soak.h"

namespace estoria::acceptance {
namespace {

// Counts a writer out however its thread ends: a failed ASSERT returns early,
// and the threads that run "while writers are left" must still stop.
struct WriterDone {
  std::atomic<int>& left;
  ~WriterDone() { left.fetch_sub(1); }
};

class ConcurrencyTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(ConcurrencyTest);

// A batch whose every event's data names its writer, its append and its size,
// so that a reader can tell whole batches from torn ones.
std::vector<uint8_t> TaggedBatch(int writer, int append, int n) {
  Batch batch;
  for (int k = 0; k < n; ++k) {
    batch.Add("tagged",
              "w" + std::to_string(writer) + "-" + std::to_string(append) + "-" + std::to_string(k) + "/" +
                  std::to_string(n));
  }
  return batch.Bytes();
}

// The "w<writer>-<append>" part of a tagged event's data, and its batch size.
std::pair<std::string, int> BatchOf(const Event& e) {
  size_t dash = e.data.rfind('-');
  size_t slash = e.data.rfind('/');
  if (dash == std::string::npos || slash == std::string::npos) return {e.data, 0};
  return {e.data.substr(0, dash), std::stoi(e.data.substr(slash + 1))};
}

// Checks one global read: strictly increasing positions, gapless versions
// per stream (contiguous: truncation removes a prefix) and, unless deletions
// may have cut one, whole batches.
void CheckGlobalRead(const std::vector<Event>& events, bool has_global_order, bool whole_batches = true) {
  std::map<std::string, int64_t> last_version;  // stream -> last version seen
  std::map<std::string, int> batch_seen;
  std::map<std::string, int> batch_size;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (has_global_order && i > 0) {
      ASSERT_GT(e.global_position, events[i - 1].global_position) << "positions must strictly increase";
    }
    const std::string stream = e.stream_type + "_" + UuidText(e.stream_uuid);
    auto it = last_version.find(stream);
    if (it != last_version.end()) {
      ASSERT_EQ(e.stream_version, it->second + 1) << "a gap in " << stream;
    }
    last_version[stream] = e.stream_version;
    auto [tag, n] = BatchOf(e);
    ++batch_seen[stream + tag];
    batch_size[stream + tag] = n;
  }
  if (!whole_batches) return;
  for (const auto& [tag, seen] : batch_seen) {
    ASSERT_EQ(seen, batch_size[tag]) << "a torn batch: " << tag;
  }
}

TEST_P(ConcurrencyTest, OptimisticAppendersToOneStreamLoseAndDuplicateNothing) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    constexpr int kThreads = 4;
    constexpr int kAppendsPerThread = 50;
    constexpr int kEventsPerAppend = 2;
    const std::string stream = NewStreamId();

    struct Success {
      est_append_result result;
      std::vector<Event> written;
    };
    std::vector<std::vector<Success>> successes(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        int64_t expected = 0;
        int retries = 0;
        for (int j = 0; j < kAppendsPerThread; ++j) {
          const std::vector<uint8_t> bytes = TaggedBatch(t, j, kEventsPerAppend);
          for (;;) {
            est_append_options o = ExpectVersion(expected);
            est_append_result result = EST_APPEND_RESULT_INIT;
            est_iter* written = nullptr;
            est_status status =
                est_append(store_, stream.c_str(), bytes.data(), bytes.size(), &o, &result, &written);
            if (status == EST_OK) {
              successes[t].push_back({result, Drain(written)});
              expected = result.last_version;
              break;
            }
            ASSERT_EQ(status, EST_ERR_VERSION_MISMATCH) << est_status_name(status) << ": " << est_last_error();
            ASSERT_EQ(written, nullptr);
            ASSERT_GT(result.actual_version, expected) << "a mismatch reports where the stream really is";
            expected = result.actual_version;
            ASSERT_LT(++retries, 100000) << "no progress";
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();

    const std::vector<Event> read = ReadStream(store_, stream).events;
    constexpr int kTotal = kThreads * kAppendsPerThread * kEventsPerAppend;
    ASSERT_EQ(Versions(read), Range(1, kTotal)) << "versions are gapless";
    std::set<std::string> data;
    for (const Event& e : read) EXPECT_TRUE(data.insert(e.data).second) << "duplicated: " << e.data;
    EXPECT_EQ(data.size(), static_cast<size_t>(kTotal)) << "nothing lost";
    CheckGlobalRead(read, HasGlobalOrder());

    for (int t = 0; t < kThreads; ++t) {
      ASSERT_EQ(successes[t].size(), static_cast<size_t>(kAppendsPerThread));
      for (const Success& s : successes[t]) {
        ASSERT_EQ(s.result.last_version - s.result.first_version + 1, kEventsPerAppend);
        ASSERT_EQ(s.result.actual_version, s.result.last_version);
        const std::vector<Event> slice(read.begin() + (s.result.first_version - 1), read.begin() + s.result.last_version);
        EXPECT_EQ(s.written, slice) << "the written events are what a later read returns";
        EXPECT_EQ(s.result.first_position, slice.front().global_position);
        EXPECT_EQ(s.result.last_position, slice.back().global_position);
      }
    }
  }
}

TEST_P(ConcurrencyTest, GlobalReadersSeeAStablePrefixWhileWritersAppend) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    constexpr int kWriters = 3;
    constexpr int kAppendsPerWriter = 60;
    constexpr int kReaders = 2;
    std::atomic<int> writers_left{kWriters};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        WriterDone done{writers_left};
        const std::string stream = NewStreamId("writer" + std::to_string(w));
        for (int j = 0; j < kAppendsPerWriter; ++j) {
          std::vector<uint8_t> bytes = TaggedBatch(w, j, 1 + j % 3);
          ASSERT_EST_OK(est_append(store_, stream.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr));
        }
      });
    }
    std::vector<std::vector<Event>> last_reads(kReaders);
    for (int r = 0; r < kReaders; ++r) {
      threads.emplace_back([&, r] {
        std::vector<Event> previous;
        bool final_round = false;
        int rounds = 0;
        while (!final_round) {
          final_round = writers_left.load() == 0;
          std::vector<Event> current;
          est_iter* iter = nullptr;
          ASSERT_EST_OK(est_read_all(store_, nullptr, &iter));
          if (r == 0) {
            // Drain slowly, one view per call, while the writers go on: the
            // frontier was fixed when est_read_all returned.
            est_event view = EST_EVENT_INIT;
            size_t count = 0;
            est_status status;
            while ((status = est_iter_next_batch(iter, &view, 1, &count)) == EST_OK) {
              current.push_back(CopyEvent(view));
              std::this_thread::yield();
            }
            ASSERT_EQ(status, EST_END);
            est_iter_close(iter);
          } else {
            current = Drain(iter);
          }
          CheckGlobalRead(current, HasGlobalOrder());
          if (HasFatalFailure()) return;
          // Each read is a prefix of every later one (up to its frontier).
          ASSERT_GE(current.size(), previous.size());
          for (size_t i = 0; i < previous.size(); ++i) {
            ASSERT_EQ(current[i], previous[i]) << "read " << rounds << " changed what an earlier read saw at " << i;
          }
          previous = std::move(current);
          ++rounds;
        }
        last_reads[r] = std::move(previous);
      });
    }
    for (std::thread& t : threads) t.join();

    const std::vector<Event> everything = Everything();
    size_t expected = 0;
    for (int j = 0; j < kAppendsPerWriter; ++j) expected += static_cast<size_t>(kWriters * (1 + j % 3));
    EXPECT_EQ(everything.size(), expected);
    for (const auto& last : last_reads) EXPECT_EQ(last, everything) << "the readers' final reads saw everything";
  }
}

TEST_P(ConcurrencyTest, DeletesRacingReadersKeepEveryReadConsistent) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    constexpr int kStreams = 4;
    constexpr int kWriters = 2;
    constexpr int kAppendsPerWriter = 80;
    std::vector<std::string> streams;
    for (int s = 0; s < kStreams; ++s) streams.push_back(NewStreamId());
    std::atomic<int> writers_left{kWriters};
    std::vector<std::thread> threads;

    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        WriterDone done{writers_left};
        for (int j = 0; j < kAppendsPerWriter; ++j) {
          const std::string& stream = streams[static_cast<size_t>(j + w) % kStreams];
          std::vector<uint8_t> bytes = TaggedBatch(w, j, 1 + j % 2);
          ASSERT_EST_OK(est_append(store_, stream.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr));
        }
      });
    }
    // The deleter truncates to just below the tip, or deletes wholly.
    threads.emplace_back([&] {
      int round = 0;
      while (writers_left.load() > 0 || round < 8) {
        const std::string& stream = streams[static_cast<size_t>(round) % kStreams];
        int64_t to_version = 0;
        if (round % 3 != 0) {
          ReadResult tip = ReadStream(store_, stream, EST_REVERSE, 0, 1);
          if (tip.status == EST_OK && !tip.events.empty()) to_version = tip.events[0].stream_version - 1;
          if (tip.status == EST_OK && tip.events.empty()) to_version = 1;
        }
        est_status status = est_delete_stream(store_, stream.c_str(), to_version);
        ASSERT_TRUE(status == EST_OK || status == EST_ERR_NOT_FOUND) << est_status_name(status) << ": "
                                                                     << est_last_error();
        ++round;
        std::this_thread::yield();
      }
    });
    for (int r = 0; r < 2; ++r) {
      threads.emplace_back([&, r] {
        int round = 0;
        while (writers_left.load() > 0 || round < 8) {
          if (r == 0) {
            CheckGlobalRead(ReadAll(store_).events, HasGlobalOrder(), false);
          } else {
            const std::string& stream = streams[static_cast<size_t>(round) % kStreams];
            est_iter* iter = nullptr;
            est_status status = est_read_stream(store_, stream.c_str(), nullptr, &iter);
            ASSERT_TRUE(status == EST_OK || status == EST_ERR_NOT_FOUND) << est_status_name(status);
            if (status == EST_OK) {
              std::this_thread::yield();  // let a deletion land under the open iterator
              std::vector<Event> events = Drain(iter);
              for (size_t i = 1; i < events.size(); ++i) {
                ASSERT_EQ(events[i].stream_version, events[i - 1].stream_version + 1) << "a gap in a stream read";
              }
              CheckGlobalRead(events, HasGlobalOrder(), false);
            }
          }
          if (HasFatalFailure()) return;
          ++round;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    CheckGlobalRead(Everything(), HasGlobalOrder(), false);
  }
}

TEST_P(ConcurrencyTest, EachThreadKeepsItsOwnLastError) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    constexpr int kThreads = 4;
    const std::string stream = NewStreamId();
    AppendN(store_, stream, 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const int64_t mine = 1000 + t;
        std::vector<uint8_t> bytes = SimpleBatch(1);
        for (int i = 0; i < 50; ++i) {
          est_append_options o = ExpectVersion(mine);
          est_status status = est_append(store_, stream.c_str(), bytes.data(), bytes.size(), &o, nullptr, nullptr);
          ASSERT_EQ(status, EST_ERR_VERSION_MISMATCH);
          std::this_thread::yield();
          const std::string message = est_last_error();
          ASSERT_TRUE(MentionsNumber(message, mine)) << "thread " << t << " read another's message: " << message;
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
}

}  // namespace
}  // namespace estoria::acceptance
