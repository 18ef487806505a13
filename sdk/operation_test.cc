// Tests of the SDK's operator calls (estoria/operation.hpp and Store's Sync,
// Stats, Verify, Compact, ListStreams, PruneSnapshots, AppendBytes) against
// the real library, on memory: and on a file store in a temporary directory.
#include "estoria/operation.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "estoria/estoria.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

Id NewId(std::string_view type) { return Id::NewV7(type).value(); }

void AppendNumbered(const Store& store, const Id& stream, int n) {
  Batch batch;
  for (int i = 1; i <= n; ++i) ASSERT_TRUE(batch.Add("noted", "e" + std::to_string(i)).ok());
  Result<AppendResult> r = store.Append(stream, batch);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
}

// A fresh directory, removed with what is in it.
class TempStoreDir {
 public:
  TempStoreDir()
      : path_(std::filesystem::temp_directory_path() /
              ("estoria-sdk-" + std::to_string(::getpid()) + "-" + std::to_string(next_++))) {
    std::filesystem::remove_all(path_);
  }
  ~TempStoreDir() { std::filesystem::remove_all(path_); }
  std::string uri(std::string_view query = "") const { return "file:" + path_.string() + std::string(query); }

 private:
  static inline int next_ = 0;
  std::filesystem::path path_;
};

TEST(StoreOperations, StatsAndListStreamsDescribeTheStore) {
  Store store = Store::Open("memory:").value();
  std::vector<Id> ids = {NewId("account"), NewId("account"), NewId("order")};
  for (size_t i = 0; i < ids.size(); ++i) AppendNumbered(store, ids[i], static_cast<int>(i) + 1);
  ASSERT_TRUE(store.DeleteStream(ids[2], 1).ok());  // truncation keeps the tip

  StoreStats stats = store.Stats().value();
  EXPECT_EQ(stats.events, 1 + 2 + 2);
  EXPECT_EQ(stats.streams, 3);
  EXPECT_EQ(stats.last_position, 6);
  EXPECT_TRUE(store.Sync().ok());

  // Paged by two: three streams in the byte order of their IDs.
  std::vector<StreamInfo> all = store.ListStreams("", 2).value();
  ASSERT_EQ(all.size(), 2u);
  std::vector<StreamInfo> rest = store.ListStreams(all.back().id, 2).value();
  ASSERT_EQ(rest.size(), 1u);
  all.insert(all.end(), rest.begin(), rest.end());
  EXPECT_LT(all[0].id, all[1].id);
  EXPECT_LT(all[1].id, all[2].id);
  for (const StreamInfo& info : all) {
    if (info.id == ids[2].str()) {
      EXPECT_EQ(info.version, 3);
      EXPECT_EQ(info.events, 2);
    }
  }
  EXPECT_EQ(store.ListStreams("", 0).error().status(), EST_ERR_INVALID_ARGUMENT);
}

TEST(StoreOperations, PruneSnapshotsKeepsTheNewest) {
  Store store = Store::Open("memory:").value();
  const Id id = NewId("account");
  for (int v = 1; v <= 4; ++v) ASSERT_TRUE(store.WriteSnapshot(id, v, "s" + std::to_string(v)).ok());
  ASSERT_TRUE(store.PruneSnapshots(id, 2).ok());
  EXPECT_EQ(store.Stats().value().snapshots, 2);
  EXPECT_EQ(store.ReadSnapshot(id, 2).error().status(), EST_ERR_NOT_FOUND) << "versions 1 and 2 are gone";
  EXPECT_EQ(store.ReadSnapshot(id).value().version(), 4);
}

TEST(StoreOperations, AppendBytesTakesAFlatBuffersBatch) {
  Store store = Store::Open("memory:").value();
  const Id id = NewId("account");
  Batch batch;
  ASSERT_TRUE(batch.Add("opened", "x").ok());
  std::span<const uint8_t> bytes = batch.Bytes().value();
  Result<AppendResult> r = store.AppendBytes(id, bytes, AppendOptions::ExpectNoStream());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->last_version, 1);
  Result<AppendResult> again = store.AppendBytes(id, bytes, AppendOptions::ExpectNoStream());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().actual_version(), 1);
  const std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_EQ(store.AppendBytes(id, junk).error().status(), EST_ERR_INVALID_ARGUMENT);
}

TEST(StoreOperations, VerifyAndCompactReportTheirWorkWithProgress) {
  TempStoreDir dir;
  Store store = Store::Open(dir.uri("?segment_bytes=4096")).value();
  const Id kept = NewId("account"), dropped = NewId("account");
  for (int i = 0; i < 40; ++i) {  // enough to fill and seal several small segments
    AppendNumbered(store, kept, 2);
    AppendNumbered(store, dropped, 2);
  }
  ASSERT_TRUE(store.DeleteStream(dropped).ok());

  uint64_t last_done = 0, last_total = 0;
  int calls = 0;
  VerifyReport verified = store.Verify([&](uint64_t done, uint64_t total) {
                                 ++calls;
                                 last_done = done;
                                 last_total = total;
                               }).value();
  EXPECT_EQ(verified.events, 160);
  EXPECT_GT(verified.segments, 1);
  EXPECT_GT(calls, 0);
  EXPECT_EQ(last_done, last_total);

  CompactReport compacted = store.Compact().value();
  EXPECT_GT(compacted.events_dropped, 0);
  EXPECT_LT(compacted.bytes_after, compacted.bytes_before);
  EXPECT_EQ(store.Stats().value().events, 80);
}

TEST(StoreOperations, VerifyOfADamagedStoreSaysHowMuchWasSound) {
  TempStoreDir dir;
  {
    Store store = Store::Open(dir.uri()).value();
    for (int i = 0; i < 20; ++i) AppendNumbered(store, NewId("account"), 3);
  }
  VerifyReport whole;
  {
    Store store = Store::Open(dir.uri()).value();
    ASSERT_TRUE(store.Verify({}, &whole).ok());
    ASSERT_GT(whole.records, 2);
  }
  {
    // One flipped byte inside the first records of the first segment.
    const std::string segment = dir.uri().substr(5) + "/0000000001.log";
    std::FILE* f = std::fopen(segment.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    const long offset = static_cast<long>(std::min<int64_t>(100, whole.bytes / 2));
    std::fseek(f, offset, SEEK_SET);
    const int byte = std::fgetc(f);
    std::fseek(f, offset, SEEK_SET);
    std::fputc(byte ^ 0xff, f);
    std::fclose(f);
  }
  Store store = Store::Open(dir.uri()).value();
  VerifyReport sound;
  sound.records = -1;
  Result<VerifyReport> damaged = store.Verify({}, &sound);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().status(), EST_ERR_CORRUPTION) << damaged.error().ToString();
  EXPECT_GE(sound.records, 0);
  EXPECT_LT(sound.records, whole.records);
}

TEST(StoreOperations, TheLogHandlerHearsTheLibrary) {
  TempStoreDir dir;
  {
    Store store = Store::Open(dir.uri()).value();
    AppendNumbered(store, NewId("account"), 3);
  }  // the close writes the index checkpoint
  std::mutex mu;
  std::vector<std::string> heard;
  SetLogHandler([&](LogLevel, std::string_view message) {
    std::lock_guard<std::mutex> lock(mu);
    heard.emplace_back(message);
  });
  { Store reopened = Store::Open(dir.uri()).value(); }
  SetLogHandler({});
  { Store again = Store::Open(dir.uri()).value(); }  // discarded: nothing more is heard
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_NE(heard[0].find("index checkpoint"), std::string::npos) << heard[0];
}

TEST(StoreOperations, AClosedStoreAnswersClosed) {
  Store store;
  EXPECT_EQ(store.Sync().error().status(), EST_ERR_CLOSED);
  EXPECT_EQ(store.Stats().error().status(), EST_ERR_CLOSED);
  EXPECT_EQ(store.Verify().error().status(), EST_ERR_CLOSED);
  EXPECT_EQ(store.Compact().error().status(), EST_ERR_CLOSED);
  EXPECT_EQ(store.ListStreams().error().status(), EST_ERR_CLOSED);
  EXPECT_EQ(AbiVersion() >> 16, static_cast<uint32_t>(EST_ABI_VERSION_MAJOR));
}

}  // namespace
}  // namespace estoria
