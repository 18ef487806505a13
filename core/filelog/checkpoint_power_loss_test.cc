// Power loss with projection checkpoints on the file store (FaultEnv over a
// MemEnv, dropping every byte not yet synced). Each writer alternates a
// transaction (one event "W v" in its stream and its checkpoint saved at v,
// v even) and a standalone save (v odd): after each loss the store reopens
// as a prefix of every writer's operations, so its checkpoint is at least
// the last acknowledged v, and the transaction's event is there exactly
// when its checkpoint is (all or nothing). Rounds compact first, so the
// recovered log also holds compaction's checkpoint record, and reopen from
// the index checkpoint or by scanning.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env/fault_env.h"
#include "core/env/mem_env.h"
#include "core/filelog/file_store.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/transaction.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr char kDir[] = "/store";
constexpr int kWriters = 2;

Id StreamOf(int writer) { return Id{"proj", Uuid::FromHiLo(0x0000000000004000ull, 0x8000000000000001ull + writer)}; }
std::string CheckpointOf(int writer) { return absl::StrCat("writer", writer, "_v1"); }

class CheckpointPowerLossTest : public ::testing::Test {
 protected:
  CheckpointPowerLossTest() : mem_(NewMemEnv()), env_(mem_.get()) {}

  std::shared_ptr<EventStore> Open() {
    FileStoreOptions options;
    options.segment_bytes = 8 << 10;
    options.preallocate_bytes = 0;
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(&env_, kDir, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }

  // Runs writer `w` from v = next[w] until an operation fails.
  void Write(EventStore& store, int w) {
    for (int64_t v = next_[w];; ++v) {
      if (v % 2 == 0) {
        Transaction txn;
        BatchBuilder b;
        const std::string data = absl::StrCat(w, " ", v);
        if (!b.Add("handled", {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, "").ok()) return;
        if (!txn.Add(StreamOf(w), *b.Build(), AppendOptions{}).ok()) return;
        if (!txn.AddCheckpoint(CheckpointOf(w), v).ok()) return;
        std::vector<AppendResult> results;
        if (!txn.Commit(store, &results).ok()) return;
      } else if (!store.SaveCheckpoint(CheckpointOf(w), v).ok()) {
        return;
      }
      acked_[w].store(v);
      if (v - next_[w] > 400) return;  // enough for one round
    }
  }

  // The store is a prefix of each writer's operations, covering what was acknowledged.
  void Check(EventStore& store) {
    for (int w = 0; w < kWriters; ++w) {
      SCOPED_TRACE(absl::StrCat("writer ", w));
      absl::StatusOr<Checkpoint> c = store.LoadCheckpoint(CheckpointOf(w));
      const int64_t position = c.ok() ? c->position : 1;  // v starts at 2
      if (!c.ok()) {
        ASSERT_TRUE(absl::IsNotFound(c.status())) << c.status();
      }
      ASSERT_GE(position, acked_[w].load()) << "an acknowledged save was lost";
      int64_t events = 0, last = 0;
      absl::StatusOr<std::unique_ptr<EventIterator>> it = store.ReadStream(StreamOf(w), {});
      if (it.ok()) {
        EventView views[64];
        for (;;) {
          absl::StatusOr<size_t> n = (*it)->Next(absl::MakeSpan(views));
          ASSERT_TRUE(n.ok()) << n.status();
          if (*n == 0) break;
          for (size_t i = 0; i < *n; ++i) {
            const std::string data(views[i].data().begin(), views[i].data().end());
            last = std::atoll(data.c_str() + 2);
            ++events;
          }
        }
      } else {
        ASSERT_TRUE(absl::IsNotFound(it.status())) << it.status();
      }
      // Transactions 2, 4, ..., last are there, and the checkpoint is the
      // last one's or the standalone save right after it.
      EXPECT_EQ(events, last / 2);
      EXPECT_TRUE(position == last || position == last + 1 || (last == 0 && position == 1))
          << "checkpoint " << position << " with events through " << last;
      next_[w] = position + 1;
    }
    EXPECT_TRUE(store.Verify(nullptr, nullptr).ok());
  }

  std::unique_ptr<Env> mem_;
  FaultEnv env_;
  std::atomic<int64_t> acked_[kWriters] = {};
  int64_t next_[kWriters] = {2, 2};
};

TEST_F(CheckpointPowerLossTest, RecoveryKeepsAcknowledgedCheckpointsAndTransactionsWhole) {
  const char* v = std::getenv("ESTORIA_POWER_LOSS_SEED");
  const uint64_t seed = v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (ESTORIA_POWER_LOSS_SEED)"));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> ks = {0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144};
  for (int i = 0; i < 8; ++i) ks.push_back(static_cast<int64_t>(rng() % 1500));
  int64_t compacted = 0;
  for (int64_t k : ks) {
    SCOPED_TRACE(absl::StrCat("FailAfter(", k, ")"));
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    Check(*store);
    ASSERT_FALSE(HasFailure());
    CompactReport report;
    ASSERT_TRUE(store->Compact(nullptr, &report).ok());
    compacted += report.segments_before;
    Check(*store);  // compaction kept the latest of each
    env_.FailAfter(k);
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) writers.emplace_back([&, w] { Write(*store, w); });
    for (std::thread& t : writers) t.join();
    ASSERT_TRUE(env_.DropUnsyncedData().ok());
    env_.FailAfter(-1);
    store->Close();
  }
  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  Check(*store);
  EXPECT_GT(acked_[0].load() + acked_[1].load(), 200) << "the writers hardly ran: the sweep proved little";
  EXPECT_GT(compacted, 0) << "no round compacted anything";
}

}  // namespace
}  // namespace estoria::core
