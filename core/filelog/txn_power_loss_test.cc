// Power loss during transactions on the file store (FaultEnv over a MemEnv,
// dropping every byte not yet synced): after each loss the store reopens
// with every acknowledged transaction whole at its acknowledged positions,
// and no other transaction in part. Transactions of 2 to 10 streams, one and
// two writers, failures injected after k file operations (a sweep) and
// pulled at random moments.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env/fault_env.h"
#include "core/env/mem_env.h"
#include "core/filelog/file_store.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr char kDir[] = "/store";
constexpr int kStreams = 12;

Id StreamAt(int i) {
  return Id{"acct", Uuid::FromHiLo(0x0000000000004000ull, 0x8000000000000000ull | static_cast<uint64_t>(i + 1))};
}

FileStoreOptions SmallSegments() {
  FileStoreOptions options;
  options.segment_bytes = 16 << 10;  // roll-overs happen within a round
  options.preallocate_bytes = 0;
  return options;
}

struct Acked {
  int events = 0;
  int64_t first_position = 0;
  int64_t last_position = 0;
};

// The transactions acknowledged so far, by tag ("T<n>").
class Model {
 public:
  void Ack(const std::string& tag, Acked a) {
    std::lock_guard<std::mutex> lock(mu_);
    acked_[tag] = a;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_.size();
  }
  // Reads the store back: every acknowledged transaction whole where it was
  // acknowledged, every transaction there whole and contiguous.
  void Check(EventStore& store) {
    std::map<std::string, std::vector<std::pair<int64_t, int>>> found;  // tag -> (position, claimed events)
    absl::StatusOr<std::unique_ptr<EventIterator>> it = store.ReadAll({});
    ASSERT_TRUE(it.ok()) << it.status();
    EventView views[64];
    for (;;) {
      absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(views));
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        const std::string data(views[i].data().begin(), views[i].data().end());
        const size_t space = data.find(' ');
        found[data.substr(0, space)].emplace_back(views[i].position(), std::atoi(data.c_str() + space + 1));
      }
    }
    for (const auto& [tag, events] : found) {
      ASSERT_EQ(static_cast<int>(events.size()), events.front().second) << tag << " is there in part";
      for (size_t k = 1; k < events.size(); ++k) {
        ASSERT_EQ(events[k].first, events[k - 1].first + 1) << tag << " is not contiguous";
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [tag, a] : acked_) {
      auto f = found.find(tag);
      ASSERT_NE(f, found.end()) << "acknowledged " << tag << " lost";
      ASSERT_EQ(static_cast<int>(f->second.size()), a.events);
      ASSERT_EQ(f->second.front().first, a.first_position);
      ASSERT_EQ(f->second.back().first, a.last_position);
    }
    EXPECT_TRUE(store.Verify(nullptr, nullptr).ok());
  }

 private:
  std::mutex mu_;
  std::map<std::string, Acked> acked_;
};

// Commits transactions until one fails (the disk died) or `count` are done.
void Writer(EventStore& store, Model& model, std::atomic<int>& next_tag, uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  for (int done = 0; done < count; ++done) {
    const std::string tag = absl::StrCat("T", next_tag.fetch_add(1));
    std::vector<int> streams;
    for (int s = 0; s < kStreams; ++s) streams.push_back(s);
    std::shuffle(streams.begin(), streams.end(), rng);
    streams.resize(2 + rng() % 9);
    std::vector<int> sizes;
    int total = 0;
    for (size_t k = 0; k < streams.size(); ++k) total += sizes.emplace_back(1 + static_cast<int>(rng() % 3));
    std::vector<WritableBatch> batches;
    for (int n : sizes) {
      BatchBuilder b;
      const std::string data = absl::StrCat(tag, " ", total, " ", std::string(rng() % 200, 'p'));
      for (int i = 0; i < n; ++i) {
        if (!b.Add("moved", {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, "").ok()) return;
      }
      batches.push_back(*b.Build());
    }
    std::vector<StreamAppend> appends;
    for (size_t k = 0; k < streams.size(); ++k) appends.push_back(StreamAppend{StreamAt(streams[k]), &batches[k], {}});
    std::vector<AppendResult> results;
    if (!store.AppendMany(appends, &results).ok()) return;  // the disk died: stop
    model.Ack(tag, Acked{total, results.front().first_position, results.back().last_position});
  }
}

uint64_t Seed() {
  const char* v = std::getenv("ESTORIA_POWER_LOSS_SEED");
  uint64_t seed = v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : std::random_device{}();
  std::printf("power loss seed %llu (ESTORIA_POWER_LOSS_SEED)\n", static_cast<unsigned long long>(seed));
  return seed;
}

class TxnPowerLossTest : public ::testing::Test {
 protected:
  TxnPowerLossTest() : mem_(NewMemEnv()), env_(mem_.get()) {}
  std::shared_ptr<EventStore> Open() {
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(&env_, kDir, SmallSegments());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }
  std::unique_ptr<Env> mem_;
  FaultEnv env_;
};

TEST_F(TxnPowerLossTest, FailAfterSweepKeepsAcknowledgedTransactionsWholeAndNoOtherInPart) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  Model model;
  std::atomic<int> next_tag{0};
  std::vector<int64_t> ks = {0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 64, 80, 100};
  for (int i = 0; i < 8; ++i) ks.push_back(static_cast<int64_t>(rng() % 600));
  for (int64_t k : ks) {
    SCOPED_TRACE(absl::StrCat("FailAfter(", k, ")"));
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    model.Check(*store);
    ASSERT_FALSE(HasFailure());
    env_.FailAfter(k);
    const uint64_t seed_a = rng(), seed_b = rng();
    std::thread a([&] { Writer(*store, model, next_tag, seed_a, 60); });
    std::thread b([&] { Writer(*store, model, next_tag, seed_b, 60); });
    a.join();
    b.join();
    ASSERT_TRUE(env_.DropUnsyncedData().ok());
    env_.FailAfter(-1);
    store->Close();
  }
  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  model.Check(*store);
  std::printf("txn power loss: %zu rounds, %zu acknowledged transactions kept whole\n", ks.size(), model.size());
  EXPECT_GT(model.size(), 50u) << "the writers hardly ran: the sweep proved little";
}

TEST_F(TxnPowerLossTest, PowerLossAtRandomMomentsKeepsAcknowledgedTransactionsWhole) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  Model model;
  std::atomic<int> next_tag{0};
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    model.Check(*store);
    ASSERT_FALSE(HasFailure());
    const uint64_t seed_a = rng(), seed_b = rng();
    std::thread a([&] { Writer(*store, model, next_tag, seed_a, 200); });
    std::thread b([&] { Writer(*store, model, next_tag, seed_b, 200); });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    // The plug is pulled while the writers run: later writes fail.
    env_.FailAfter(0);
    a.join();
    b.join();
    ASSERT_TRUE(env_.DropUnsyncedData().ok());
    env_.FailAfter(-1);
    store->Close();
  }
  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  model.Check(*store);
  std::printf("txn power loss: %d random rounds, %zu acknowledged transactions kept whole\n", kRounds, model.size());
  EXPECT_GT(model.size(), 20u);
}

}  // namespace
}  // namespace estoria::core
