// The file store under concurrent writers (also run under TSan): group
// commit shares fdatasyncs between appenders without losing or reordering
// anything; readers racing writers only ever see whole, durable batches in
// position order; the interval mode's background flush runs beside appends;
// compaction and a read-only reader run beside appends and deletions.
#include <atomic>
#include <filesystem>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/env/env.h"
#include "core/env/mem_env.h"
#include "core/filelog/file_store.h"
#include "core/store/writable_batch.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"
#include "tests/common/soak.h"

namespace estoria::core {
namespace {

// Counts the Syncs of the files it opens for writing, each made to take as
// long as a disk's fdatasync (a MemEnv's is instant, which would leave
// nothing for appenders to share).
class CountingEnv final : public EnvWrapper {
 public:
  explicit CountingEnv(Env* base) : EnvWrapper(base) {}
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(std::string_view path) override {
    return Wrap(target()->NewWritableFile(path));
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(std::string_view path) override {
    return Wrap(target()->NewAppendableFile(path));
  }
  int64_t syncs() const { return syncs_.load(); }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> base, std::atomic<int64_t>* syncs) : base_(std::move(base)), syncs_(syncs) {}
    absl::Status Append(absl::Span<const uint8_t> data) override { return base_->Append(data); }
    absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> data) override {
      return base_->WriteAt(offset, data);
    }
    absl::Status WriteAtV(uint64_t offset, absl::Span<const absl::Span<const uint8_t>> pieces) override {
      return base_->WriteAtV(offset, pieces);
    }
    absl::Status Sync() override {
      syncs_->fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      return base_->Sync();
    }
    absl::Status Close() override { return base_->Close(); }

   private:
    std::unique_ptr<WritableFile> base_;
    std::atomic<int64_t>* syncs_;
  };
  absl::StatusOr<std::unique_ptr<WritableFile>> Wrap(absl::StatusOr<std::unique_ptr<WritableFile>> file) {
    if (!file.ok()) return file;
    return std::unique_ptr<WritableFile>(new File(*std::move(file), &syncs_));
  }
  std::atomic<int64_t> syncs_{0};
};

WritableBatch Batch(int n) {
  BatchBuilder builder;
  for (int i = 0; i < n; ++i) EXPECT_TRUE(builder.Add("happened", AsBytes("0123456789"), "").ok());
  return *builder.Build();
}

Id Stream(uint64_t n) { return Id{"account", Uuid::FromHiLo(7, n)}; }

// Reads everything and checks global order, versions gapless per stream
// (from 1 unless streams were truncated) and whole batches (every batch
// here has `batch` events: versions 1..batch, batch+1..2*batch, ...).
void CheckConsistent(EventStore& store, int batch, bool truncated = false) {
  auto iter = store.ReadAll({});
  ASSERT_TRUE(iter.ok()) << iter.status();
  EventView views[64];
  int64_t last_position = 0;
  std::map<std::pair<uint64_t, uint64_t>, int64_t> tips;
  while (true) {
    absl::StatusOr<size_t> n = (*iter)->Next(absl::MakeSpan(views));
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      const EventView& e = views[i];
      ASSERT_GT(e.position(), last_position);
      last_position = e.position();
      auto [it, first] = tips.try_emplace({e.stream_uuid().Hi(), e.stream_uuid().Lo()}, 0);
      int64_t& tip = it->second;
      if (!(first && truncated)) {
        ASSERT_EQ(e.version(), tip + 1) << "a gap in a stream";
      }
      tip = e.version();
    }
  }
  for (const auto& [stream, tip] : tips) ASSERT_EQ(tip % batch, 0) << "a partial batch is visible";
}

TEST(FileStoreConcurrency, GroupCommitSharesSyncsAndKeepsEveryAppend) {
  for (test::Soak soak; soak.NextRound();) {
    auto mem = NewMemEnv();
    CountingEnv env(mem.get());
    FileStoreOptions options;
    options.preallocate_bytes = 0;  // count only the appends' syncs
    auto store = OpenFileStore(&env, "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    constexpr int kThreads = 8, kAppends = 60, kBatch = 2;
    const int64_t syncs_before = env.syncs();
    std::atomic<bool> stop_reader{false};
    std::thread reader([&] {
      while (!stop_reader.load()) CheckConsistent(**store, kBatch);
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kAppends; ++i) {
          AppendOptions expect;
          expect.expect = Expect::kVersion;
          expect.expected_version = int64_t{i} * kBatch;
          auto result = (*store)->Append(Stream(t), Batch(kBatch), expect, nullptr);
          ASSERT_TRUE(result.ok()) << result.status();
        }
      });
    }
    for (auto& w : writers) w.join();
    stop_reader.store(true);
    reader.join();
    const int64_t syncs = env.syncs() - syncs_before;
    EXPECT_LE(syncs, kThreads * kAppends) << "at most one sync per append";
    EXPECT_GT(syncs, 0);
    // With 8 writers some appends must have shared a sync (each waits for
    // the one in flight, then goes out with the others that queued).
    EXPECT_LT(syncs, kThreads * kAppends);
    CheckConsistent(**store, kBatch);
    absl::StatusOr<StoreStats> stats = (*store)->Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->events, kThreads * kAppends * kBatch);
    (*store)->Close();

    auto reopened = OpenFileStore(&env, "/db", options);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    CheckConsistent(**reopened, kBatch);
    EXPECT_EQ((*reopened)->Stats()->events, kThreads * kAppends * kBatch);
  }
}

TEST(FileStoreConcurrency, IntervalFlushesRunBesideAppendsAndDeletions) {
  for (test::Soak soak; soak.NextRound();) {
    auto env = NewMemEnv();
    FileStoreOptions options;
    options.store.sync_mode = SyncMode::kInterval;
    options.store.sync_interval_ms = 1;
    options.preallocate_bytes = 64 << 10;
    auto store = OpenFileStore(env.get(), "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 100; ++i) {
          ASSERT_TRUE((*store)->Append(Stream(t), Batch(1), {}, nullptr).ok());
          if (i % 25 == 24) {
            ASSERT_TRUE((*store)->DeleteStream(Stream(t), i - 5).ok());
          }
          if (i % 10 == 0) {
            ASSERT_TRUE((*store)->Sync().ok());
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    CheckConsistent(**store, 1, /*truncated=*/true);
    (*store)->Close();
  }
}

TEST(FileStoreConcurrency, CompactionAndAReaderRunBesideAppendsAndTruncations) {
  for (test::Soak soak; soak.NextRound();) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("estoria-compact-race-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    FileStoreOptions options;
    options.segment_bytes = 8 << 10;  // many sealed segments for compaction to rewrite
    options.preallocate_bytes = 0;
    options.store.sync_mode = SyncMode::kNone;
    auto store = OpenFileStore(Env::Default(), dir.string(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    FileStoreOptions read_only = options;
    read_only.store.read_only = true;
    auto reader = OpenFileStore(Env::Default(), dir.string(), read_only);
    ASSERT_TRUE(reader.ok()) << reader.status();

    constexpr int kThreads = 3, kAppends = 60, kBatch = 2;
    std::atomic<bool> stop{false};
    std::atomic<int> compactions{0};
    std::thread compactor([&] {
      while (!stop.load()) {
        CompactReport report;
        absl::Status status = (*store)->Compact(nullptr, &report);
        ASSERT_TRUE(status.ok()) << status;
        compactions.fetch_add(1);
      }
    });
    std::thread follower([&] {
      while (!stop.load()) CheckConsistent(**reader, kBatch, /*truncated=*/true);
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 1; i <= kAppends; ++i) {
          ASSERT_TRUE((*store)->Append(Stream(t), Batch(kBatch), {}, nullptr).ok());
          // Keep the last few events: truncations at batch boundaries.
          if (i % 10 == 0) {
            ASSERT_TRUE((*store)->DeleteStream(Stream(t), int64_t{i - 3} * kBatch).ok());
          }
        }
      });
    }
    for (std::thread& w : writers) w.join();
    stop.store(true);
    compactor.join();
    follower.join();
    EXPECT_GT(compactions.load(), 0);
    ASSERT_TRUE((*store)->Compact(nullptr, nullptr).ok());

    // Each stream keeps its last 3 batches (versions 115..120).
    constexpr int64_t kLive = kThreads * 3 * kBatch;
    CheckConsistent(**store, kBatch, /*truncated=*/true);
    EXPECT_EQ((*store)->Stats()->events, kLive);
    CheckConsistent(**reader, kBatch, /*truncated=*/true);
    EXPECT_EQ((*reader)->Stats()->events, kLive) << "the reader caught up through the compactions";
    (*reader)->Close();
    (*store)->Close();
    auto reopened = OpenFileStore(Env::Default(), dir.string(), options);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    CheckConsistent(**reopened, kBatch, /*truncated=*/true);
    EXPECT_EQ((*reopened)->Stats()->events, kLive);
    for (int t = 0; t < kThreads; ++t) {
      auto iter = (*reopened)->ReadStream(Stream(t), {});
      ASSERT_TRUE(iter.ok());
      EventView views[16];
      absl::StatusOr<size_t> n = (*iter)->Next(absl::MakeSpan(views));
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(*n, 6u);
      EXPECT_EQ(views[0].version(), kAppends * kBatch - 5);
    }
    (*reopened)->Close();
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace estoria::core
