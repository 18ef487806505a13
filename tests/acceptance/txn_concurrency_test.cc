// tests/acceptance/txn_concurrency_test.cc: transactions racing each other
// and plain appends on overlapping streams (doc/data-model.md "Transactions"), checked
// against a model: no deadlock (the test ends), every committed
// transaction whole with contiguous positions, every failed one absent, and
// each stream exactly the model's sequence. Also built in the TSan tree:
// iteration counts stay moderate, nothing measures time. The round repeats
// on a fresh store for ESTORIA_SOAK_SECONDS (tests/common/soak.h); it is a
// lambda so that an ASSERT ends it.
#define EST_EXPERIMENTAL 1
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/acceptance/acceptance.h"
#include "tests/common/soak.h"

namespace estoria::acceptance {
namespace {

class TxnConcurrencyTest : public Acceptance {};
ESTORIA_ACCEPTANCE_SUITE(TxnConcurrencyTest);

constexpr int kThreads = 4;
constexpr int kRounds = 40;
constexpr int kStreams = 5;

struct Committed {
  std::string tag;                  // "t<thread>-<round>"
  std::vector<std::string> events;  // data of each event, in transaction order
  int64_t first_position = 0;
  int64_t last_position = 0;
};

TEST_P(TxnConcurrencyTest, RacingTransactionsAndAppendsNeverInterleavePartially) {
  for (test::Soak soak; soak.NextRound();) {
    if (soak.round() > 1) FreshStore();
    [&] {
      std::vector<std::string> streams;
      for (int i = 0; i < kStreams; ++i) streams.push_back(NewStreamId());
      std::mutex mu;
      std::vector<Committed> committed;
      std::set<std::string> failed;
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          std::mt19937 rng(static_cast<unsigned>(t * 7919 + 1));
          for (int round = 0; round < kRounds; ++round) {
            const std::string tag = "t" + std::to_string(t) + "-" + std::to_string(round);
            // Every third round a plain append; otherwise a transaction of 2-4
            // appends to random streams (repeats allowed), some expecting the
            // version just read (may lose the race) and some any.
            if (round % 3 == 2) {
              Batch b;
              b.Add("plain", tag + "/0");
              const std::string& s = streams[rng() % kStreams];
              AppendOutcome out = Append(store_, s, b.Bytes());
              ASSERT_EQ(out.status, EST_OK) << est_last_error();
              std::lock_guard<std::mutex> lock(mu);
              committed.push_back(Committed{tag, {tag + "/0"}, out.result.first_position, out.result.last_position});
              continue;
            }
            est_txn* txn = nullptr;
            ASSERT_EQ(est_txn_new(store_, &txn), EST_OK);
            const int appends = 2 + static_cast<int>(rng() % 3);
            std::vector<std::string> datas;
            for (int a = 0; a < appends; ++a) {
              const std::string& s = streams[rng() % kStreams];
              Batch b;
              const int n = 1 + static_cast<int>(rng() % 2);
              for (int k = 0; k < n; ++k) {
                datas.push_back(tag + "/" + std::to_string(datas.size()));
                b.Add("txn", datas.back());
              }
              est_append_options o = EST_APPEND_OPTIONS_INIT;
              if (rng() % 2 == 0) {
                ReadResult r = ReadStream(store_, s, EST_REVERSE, 0, 1);
                o = ExpectVersion(r.status == EST_OK && !r.events.empty() ? r.events[0].stream_version : 0);
              }
              ASSERT_EQ(est_txn_append(txn, s.c_str(), b.get(), &o), EST_OK) << est_last_error();
            }
            std::vector<est_append_result> results(static_cast<size_t>(appends));
            for (auto& r : results) est_append_result_init(&r);
            const est_status st = est_txn_commit(txn, results.data(), results.size());
            est_txn_free(txn);
            ASSERT_TRUE(st == EST_OK || st == EST_ERR_VERSION_MISMATCH) << est_status_name(st) << est_last_error();
            std::lock_guard<std::mutex> lock(mu);
            if (st == EST_OK) {
              committed.push_back(Committed{tag, datas, results.front().first_position, results.back().last_position});
            } else {
              failed.insert(tag);
            }
          }
        });
      }
      for (auto& th : threads) th.join();

      // Every event read belongs to a committed transaction, which is whole.
      std::map<std::string, const Committed*> by_tag;
      for (const Committed& c : committed) by_tag[c.tag] = &c;
      std::map<std::string, std::vector<std::pair<int64_t, std::string>>> seen;  // tag -> (position, data)
      size_t total = 0;
      for (const std::string& s : streams) {
        ReadResult r = ReadStream(store_, s);
        if (r.status == EST_ERR_NOT_FOUND) continue;
        ASSERT_EQ(r.status, EST_OK);
        for (size_t i = 0; i < r.events.size(); ++i) {
          EXPECT_EQ(r.events[i].stream_version, static_cast<int64_t>(i + 1)) << "gapless versions";
          const std::string& data = r.events[i].data;
          const std::string tag = data.substr(0, data.find('/'));
          EXPECT_EQ(failed.count(tag), 0u) << "an event of a failed transaction: " << data;
          seen[tag].emplace_back(r.events[i].global_position, data);
          ++total;
        }
      }
      size_t expected_total = 0;
      for (const Committed& c : committed) {
        expected_total += c.events.size();
        auto it = seen.find(c.tag);
        ASSERT_NE(it, seen.end()) << c.tag << " committed but absent";
        EXPECT_EQ(it->second.size(), c.events.size()) << c.tag << " is not whole";
        if (HasGlobalOrder()) {
          std::vector<std::pair<int64_t, std::string>> events = it->second;
          std::sort(events.begin(), events.end());
          EXPECT_EQ(events.front().first, c.first_position);
          EXPECT_EQ(events.back().first, c.last_position);
          for (size_t k = 0; k < events.size(); ++k) {
            EXPECT_EQ(events[k].second, c.events[k]) << "a transaction's events in its order";
            if (k > 0) {
              EXPECT_EQ(events[k].first, events[k - 1].first + 1) << "positions contiguous: " << c.tag;
            }
          }
        }
      }
      EXPECT_EQ(total, expected_total);
      EXPECT_GT(committed.size(), static_cast<size_t>(kThreads * kRounds / 3));
    }();
  }
}

}  // namespace
}  // namespace estoria::acceptance
