// Tests for FaultEnv: power loss keeps exactly what was synced (contents and
// directory entries), and injected failures change nothing.
#include "core/env/fault_env.h"

#include <memory>
#include <string>

#include "core/env/mem_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FaultEnvTest : public ::testing::Test {
 protected:
  FaultEnvTest() {
    EXPECT_TRUE(env_.CreateDir("/db").ok());
  }

  std::unique_ptr<WritableFile> Open(const std::string& path, bool append = false) {
    auto file = append ? env_.NewAppendableFile(path) : env_.NewWritableFile(path);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }
  // Creates `path` with `contents`, synced, with its directory entry synced.
  void Durable(const std::string& path, std::string_view contents) {
    auto file = Open(path);
    ASSERT_TRUE(file->Append(AsBytes(contents)).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Close().ok());
    ASSERT_TRUE(env_.SyncDir(DirName(path)).ok());
  }
  std::string Read(const std::string& path) {
    auto contents = mem_->ReadFileToString(path);
    return contents.ok() ? *contents : std::string(contents.status().ToString());
  }
  void Crash() { ASSERT_TRUE(env_.DropUnsyncedData().ok()); }

  std::unique_ptr<Env> mem_ = NewMemEnv();
  FaultEnv env_{mem_.get()};
};

TEST_F(FaultEnvTest, PowerLossDropsExactlyTheUnsyncedSuffix) {
  auto file = Open("/db/log");
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(file->Append(AsBytes("synced;")).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append(AsBytes("lost")).ok());
  EXPECT_EQ(Read("/db/log"), "synced;lost");
  Crash();
  EXPECT_EQ(Read("/db/log"), "synced;");
}

TEST_F(FaultEnvTest, PowerLossRestoresSyncedBytesOverwrittenLater) {
  Durable("/db/seg", std::string(16, '\0'));  // a preallocated segment
  auto file = Open("/db/seg", /*append=*/true);
  ASSERT_TRUE(file->WriteAt(0, AsBytes("rec1")).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->WriteAt(4, AsBytes("rec2")).ok());
  ASSERT_TRUE(file->WriteAt(2, AsBytes("XX")).ok());
  std::vector<absl::Span<const uint8_t>> pieces = {AsBytes("ab"), AsBytes("cd")};
  ASSERT_TRUE(file->WriteAtV(14, pieces).ok());
  Crash();
  EXPECT_EQ(Read("/db/seg"), std::string("rec1", 4) + std::string(12, '\0'));
}

TEST_F(FaultEnvTest, PowerLossUndoesAnUnsyncedTruncation) {
  Durable("/db/a", "abcdef");
  ASSERT_TRUE(env_.Truncate("/db/a", 2).ok());
  ASSERT_TRUE(env_.Truncate("/db/a", 4).ok());
  EXPECT_EQ(Read("/db/a"), std::string("ab\0\0", 4));
  Durable("/db/b", "123456");
  Open("/db/b");  // NewWritableFile truncates
  EXPECT_EQ(Read("/db/b"), "");
  Crash();
  EXPECT_EQ(Read("/db/a"), "abcdef");
  EXPECT_EQ(Read("/db/b"), "123456");
}

TEST_F(FaultEnvTest, AFileNeverDirSyncedVanishes) {
  auto file = Open("/db/new");
  ASSERT_TRUE(file->Append(AsBytes("data")).ok());
  ASSERT_TRUE(file->Sync().ok());
  Crash();
  EXPECT_FALSE(mem_->FileExists("/db/new"));
}

TEST_F(FaultEnvTest, AFileNeverDirSyncedSurvivesWhenDirEntriesAreKept) {
  env_.SetDropUnsyncedDirEntries(false);
  auto file = Open("/db/new");
  ASSERT_TRUE(file->Append(AsBytes("data")).ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append(AsBytes("more")).ok());
  Crash();
  EXPECT_EQ(Read("/db/new"), "data");
}

TEST_F(FaultEnvTest, SyncDirMakesOnlyThatDirectorysEntriesDurable) {
  ASSERT_TRUE(env_.CreateDir("/other").ok());
  Open("/db/a");
  Open("/other/b");
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  Crash();
  EXPECT_TRUE(mem_->FileExists("/db/a"));
  EXPECT_FALSE(mem_->FileExists("/other/b"));
}

TEST_F(FaultEnvTest, AnUnsyncedRenameLeavesTheOldFileInPlace) {
  Durable("/db/MANIFEST", "old");
  auto tmp = Open("/db/MANIFEST.tmp");
  ASSERT_TRUE(tmp->Append(AsBytes("new")).ok());
  ASSERT_TRUE(tmp->Sync().ok());
  ASSERT_TRUE(tmp->Close().ok());
  ASSERT_TRUE(env_.Rename("/db/MANIFEST.tmp", "/db/MANIFEST").ok());
  EXPECT_EQ(Read("/db/MANIFEST"), "new");
  Crash();
  EXPECT_EQ(Read("/db/MANIFEST"), "old");
  EXPECT_THAT(*mem_->ListDir("/db"), ElementsAre("MANIFEST"));
}

TEST_F(FaultEnvTest, ASyncedRenameSurvives) {
  Durable("/db/MANIFEST", "old");
  ASSERT_TRUE(env_.WriteFileAtomically("/db/MANIFEST", "new").ok());
  Crash();
  EXPECT_EQ(Read("/db/MANIFEST"), "new");
  EXPECT_THAT(*mem_->ListDir("/db"), ElementsAre("MANIFEST"));
}

TEST_F(FaultEnvTest, AnUnsyncedDeleteIsUndoneWithTheDurableContents) {
  Durable("/db/old_segment", "synced");
  auto file = Open("/db/old_segment", /*append=*/true);
  ASSERT_TRUE(file->Append(AsBytes("+unsynced")).ok());
  ASSERT_TRUE(env_.DeleteFile("/db/old_segment").ok());
  EXPECT_FALSE(mem_->FileExists("/db/old_segment"));
  Crash();
  EXPECT_EQ(Read("/db/old_segment"), "synced");
}

TEST_F(FaultEnvTest, ADeleteMadeDurableStaysDeleted) {
  Durable("/db/f", "x");
  ASSERT_TRUE(env_.DeleteFile("/db/f").ok());
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  Crash();
  EXPECT_FALSE(mem_->FileExists("/db/f"));
}

TEST_F(FaultEnvTest, FilesWrittenBeforeWrappingCountAsDurable) {
  auto base_file = mem_->NewWritableFile("/db/pre");
  ASSERT_TRUE(base_file.ok());
  ASSERT_TRUE((*base_file)->Append(AsBytes("before")).ok());
  auto file = Open("/db/pre", /*append=*/true);
  ASSERT_TRUE(file->Append(AsBytes("after")).ok());
  Crash();
  EXPECT_EQ(Read("/db/pre"), "before");
}

TEST_F(FaultEnvTest, HandlesOpenAcrossAPowerLossAreDead) {
  auto file = Open("/db/f");
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  Crash();
  EXPECT_EQ(file->Append(AsBytes("x")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(file->Sync().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(file->Close().ok());
  EXPECT_EQ(Read("/db/f"), "");
}

TEST_F(FaultEnvTest, FailSyncReportsUnavailableAndMakesNothingDurable) {
  auto file = Open("/db/f");
  ASSERT_TRUE(env_.SyncDir("/db").ok());
  ASSERT_TRUE(file->Append(AsBytes("data")).ok());
  env_.SetFailSync(true);
  absl::Status status = file->Sync();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("/db/f"));
  EXPECT_EQ(env_.SyncDir("/db").code(), absl::StatusCode::kUnavailable);
  env_.SetFailSync(false);
  Crash();
  EXPECT_EQ(Read("/db/f"), "");
}

TEST_F(FaultEnvTest, FailWriteReportsUnavailableAndChangesNothing) {
  Durable("/db/f", "abc");
  auto file = Open("/db/f", /*append=*/true);
  env_.SetFailWrite(true);
  EXPECT_EQ(file->Append(AsBytes("x")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(file->WriteAt(0, AsBytes("x")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(env_.NewWritableFile("/db/g").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(env_.Rename("/db/f", "/db/h").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(env_.DeleteFile("/db/f").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(env_.Truncate("/db/f", 0).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(file->Sync().ok());  // syncs still work
  EXPECT_EQ(Read("/db/f"), "abc");
  EXPECT_THAT(*mem_->ListDir("/db"), ElementsAre("f"));
  env_.SetFailWrite(false);
  EXPECT_TRUE(file->Append(AsBytes("d")).ok());
  EXPECT_EQ(Read("/db/f"), "abcd");
}

TEST_F(FaultEnvTest, FailAfterLetsExactlyNOperationsThrough) {
  auto file = Open("/db/f");
  const int64_t start = env_.operation_count();
  env_.FailAfter(3);
  EXPECT_TRUE(file->Append(AsBytes("a")).ok());
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_TRUE(file->Append(AsBytes("b")).ok());
  EXPECT_EQ(file->Append(AsBytes("c")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(file->Sync().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(env_.operation_count(), start + 3);
  EXPECT_EQ(Read("/db/f"), "ab");
  env_.FailAfter(-1);
  EXPECT_TRUE(file->Append(AsBytes("c")).ok());
  EXPECT_EQ(Read("/db/f"), "abc");
}

}  // namespace
}  // namespace estoria::core
