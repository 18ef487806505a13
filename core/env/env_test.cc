// Tests for the Env contract: every behaviour runs on the POSIX Env (in a
// temporary directory), on MemEnv, and on a FaultEnv over a MemEnv (which
// must not change anything while no fault is injected). Then the POSIX-only
// parts: O_CLOEXEC descriptors and locks across processes.
#include "core/env/env.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "core/env/fault_env.h"
#include "core/env/mem_env.h"
#include "core/util/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "estoria_env_XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr) << "mkdtemp " << tmpl;
  return tmpl;
}

struct PosixKind {
  static constexpr const char* kName = "Posix";
  PosixKind() : root(MakeTempDir()) {}
  ~PosixKind() { std::filesystem::remove_all(root); }
  Env* env = Env::Default();
  std::string root;
};

struct MemKind {
  static constexpr const char* kName = "Mem";
  MemKind() { EXPECT_TRUE(env->CreateDir(root).ok()); }
  std::unique_ptr<Env> owned = NewMemEnv();
  Env* env = owned.get();
  std::string root = "/test";
};

struct FaultOverMemKind {
  static constexpr const char* kName = "FaultOverMem";
  FaultOverMemKind() { EXPECT_TRUE(env->CreateDir(root).ok()); }
  std::unique_ptr<Env> mem = NewMemEnv();
  FaultEnv fault{mem.get()};
  Env* env = &fault;
  std::string root = "/test";
};

template <typename Kind>
class EnvTest : public ::testing::Test {
 protected:
  Env* env() { return kind_.env; }
  std::string Path(std::string_view name) { return absl::StrCat(kind_.root, "/", ToAbsl(name)); }

  void Write(std::string_view name, std::string_view contents) {
    auto file = env()->NewWritableFile(Path(name));
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append(AsBytes(contents)).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }
  std::string Read(std::string_view name) {
    auto contents = env()->ReadFileToString(Path(name));
    EXPECT_TRUE(contents.ok()) << contents.status();
    return contents.ok() ? *contents : "<error>";
  }

  Kind kind_;
};

struct KindNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Kinds = ::testing::Types<PosixKind, MemKind, FaultOverMemKind>;
TYPED_TEST_SUITE(EnvTest, Kinds, KindNames);

TYPED_TEST(EnvTest, AppendedBytesAreReadBack) {
  auto file = this->env()->NewWritableFile(this->Path("f"));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Append(AsBytes("hello ")).ok());
  ASSERT_TRUE((*file)->Append(AsBytes("world")).ok());
  ASSERT_TRUE((*file)->Append({}).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(this->Read("f"), "hello world");
  EXPECT_EQ(*this->env()->GetFileSize(this->Path("f")), 11u);
}

TYPED_TEST(EnvTest, WritesAreVisibleToReadersBeforeSyncAndClose) {
  auto file = this->env()->NewWritableFile(this->Path("f"));
  ASSERT_TRUE(file.ok());
  auto reader = this->env()->NewRandomAccessFile(this->Path("f"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*file)->Append(AsBytes("abc")).ok());
  uint8_t scratch[8];
  auto got = (*reader)->Read(0, sizeof(scratch), scratch);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(AsChars(*got), "abc");
  EXPECT_EQ(*(*reader)->Size(), 3u);
}

TYPED_TEST(EnvTest, NewWritableFileTruncatesAnExistingFile) {
  this->Write("f", "old contents");
  this->Write("f", "new");
  EXPECT_EQ(this->Read("f"), "new");
}

TYPED_TEST(EnvTest, AppendableFileContinuesAtTheEnd) {
  this->Write("f", "abc");
  auto file = this->env()->NewAppendableFile(this->Path("f"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(AsBytes("def")).ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(this->Read("f"), "abcdef");

  auto fresh = this->env()->NewAppendableFile(this->Path("g"));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ASSERT_TRUE((*fresh)->Append(AsBytes("x")).ok());
  EXPECT_EQ(this->Read("g"), "x");
}

TYPED_TEST(EnvTest, WriteAtOverwritesAndExtendsWithAZeroGap) {
  this->Write("f", "abcdef");
  auto file = this->env()->NewAppendableFile(this->Path("f"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->WriteAt(1, AsBytes("XY")).ok());
  ASSERT_TRUE((*file)->WriteAt(8, AsBytes("Z")).ok());
  // WriteAt leaves the append position where it was (the end at open).
  ASSERT_TRUE((*file)->Append(AsBytes("!")).ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(this->Read("f"), std::string("aXYdef!\0Z", 9));
}

TYPED_TEST(EnvTest, WriteAtVWritesThePiecesBackToBack) {
  auto file = this->env()->NewWritableFile(this->Path("f"));
  ASSERT_TRUE(file.ok());
  std::string big(100000, 'b');
  std::vector<absl::Span<const uint8_t>> pieces = {AsBytes("head:"), AsBytes(""), AsBytes(big), AsBytes(":tail")};
  ASSERT_TRUE((*file)->WriteAtV(2, pieces).ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(this->Read("f"), absl::StrCat(std::string(2, '\0'), "head:", big, ":tail"));
}

TYPED_TEST(EnvTest, ReadIsShortAtTheEndOfTheFileAndEmptyPastIt) {
  this->Write("f", "0123456789");
  auto reader = this->env()->NewRandomAccessFile(this->Path("f"));
  ASSERT_TRUE(reader.ok());
  uint8_t scratch[16];
  auto middle = (*reader)->Read(2, 3, scratch);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(AsChars(*middle), "234");
  auto tail = (*reader)->Read(7, 16, scratch);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(AsChars(*tail), "789");
  auto past = (*reader)->Read(100, 16, scratch);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->empty());
}

TYPED_TEST(EnvTest, ReadFileToStringReadsLargeFiles) {
  std::string big;
  for (int i = 0; i < 50000; ++i) absl::StrAppend(&big, i, ",");
  this->Write("big", big);
  EXPECT_EQ(this->Read("big"), big);
  this->Write("empty", "");
  EXPECT_EQ(this->Read("empty"), "");
}

TYPED_TEST(EnvTest, MissingFilesAreNotFoundNamingThePath) {
  const std::string missing = this->Path("missing");
  auto reader = this->env()->NewRandomAccessFile(missing);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(reader.status().message()), HasSubstr(missing));
  EXPECT_THAT(std::string(reader.status().message()), HasSubstr("No such file or directory"));
  EXPECT_EQ(this->env()->GetFileSize(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->ReadFileToString(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->DeleteFile(missing).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->Rename(missing, this->Path("x")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->Truncate(missing, 0).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(this->env()->FileExists(missing));
}

TYPED_TEST(EnvTest, CreatingAFileInAMissingDirectoryIsNotFound) {
  const std::string path = this->Path("no_such_dir/f");
  EXPECT_EQ(this->env()->NewWritableFile(path).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->NewAppendableFile(path).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->CreateDir(this->Path("no_such_dir/sub")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->LockFile(path).status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(EnvTest, CreateDirIsIdempotentAndListDirNamesDirectChildrenSorted) {
  ASSERT_TRUE(this->env()->CreateDir(this->Path("d")).ok());
  ASSERT_TRUE(this->env()->CreateDir(this->Path("d")).ok());
  ASSERT_TRUE(this->env()->CreateDir(this->Path("d/sub")).ok());
  this->Write("d/b", "1");
  this->Write("d/a", "2");
  this->Write("d/sub/deep", "3");
  auto names = this->env()->ListDir(this->Path("d"));
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, ElementsAre("a", "b", "sub"));
  ASSERT_TRUE(this->env()->CreateDir(this->Path("e")).ok());
  auto none = this->env()->ListDir(this->Path("e"));
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
  EXPECT_TRUE(this->env()->FileExists(this->Path("d")));
  EXPECT_TRUE(this->env()->FileExists(this->Path("d/sub/deep")));
}

TYPED_TEST(EnvTest, CreateDirOverAFileFails) {
  this->Write("f", "x");
  absl::Status status = this->env()->CreateDir(this->Path("f"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TYPED_TEST(EnvTest, ListDirOfAMissingDirectoryIsNotFound) {
  EXPECT_EQ(this->env()->ListDir(this->Path("nope")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->env()->SyncDir(this->Path("nope")).code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(EnvTest, DeleteDirRemovesOnlyEmptyDirectories) {
  ASSERT_TRUE(this->env()->CreateDir(this->Path("d")).ok());
  this->Write("d/f", "x");
  EXPECT_EQ(this->env()->DeleteDir(this->Path("d")).code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(this->env()->DeleteFile(this->Path("d/f")).ok());
  ASSERT_TRUE(this->env()->DeleteDir(this->Path("d")).ok());
  EXPECT_FALSE(this->env()->FileExists(this->Path("d")));
  EXPECT_EQ(this->env()->DeleteDir(this->Path("d")).code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(EnvTest, RenameReplacesTheTargetAndRemovesTheSource) {
  this->Write("MANIFEST", "old");
  this->Write("MANIFEST.tmp", "new");
  ASSERT_TRUE(this->env()->Rename(this->Path("MANIFEST.tmp"), this->Path("MANIFEST")).ok());
  EXPECT_EQ(this->Read("MANIFEST"), "new");
  EXPECT_FALSE(this->env()->FileExists(this->Path("MANIFEST.tmp")));
  auto names = this->env()->ListDir(this->Path(""));
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("MANIFEST"));
}

TYPED_TEST(EnvTest, OpenHandlesFollowTheFileAcrossRenameAndDelete) {
  this->Write("a", "abc");
  auto reader = this->env()->NewRandomAccessFile(this->Path("a"));
  ASSERT_TRUE(reader.ok());
  auto writer = this->env()->NewAppendableFile(this->Path("a"));
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(this->env()->Rename(this->Path("a"), this->Path("b")).ok());
  ASSERT_TRUE((*writer)->Append(AsBytes("def")).ok());
  EXPECT_EQ(this->Read("b"), "abcdef");
  ASSERT_TRUE(this->env()->DeleteFile(this->Path("b")).ok());
  uint8_t scratch[16];
  auto got = (*reader)->Read(0, sizeof(scratch), scratch);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(AsChars(*got), "abcdef");
  EXPECT_FALSE(this->env()->FileExists(this->Path("b")));
}

TYPED_TEST(EnvTest, RenameMovesADirectoryWithItsFiles) {
  ASSERT_TRUE(this->env()->CreateDir(this->Path("d")).ok());
  this->Write("d/f", "x");
  ASSERT_TRUE(this->env()->Rename(this->Path("d"), this->Path("e")).ok());
  EXPECT_EQ(this->Read("e/f"), "x");
  EXPECT_FALSE(this->env()->FileExists(this->Path("d")));
}

TYPED_TEST(EnvTest, DeleteFileRemovesIt) {
  this->Write("f", "x");
  EXPECT_TRUE(this->env()->FileExists(this->Path("f")));
  ASSERT_TRUE(this->env()->DeleteFile(this->Path("f")).ok());
  EXPECT_FALSE(this->env()->FileExists(this->Path("f")));
}

TYPED_TEST(EnvTest, TruncateShrinksAndExtendsWithZeros) {
  this->Write("f", "abcdef");
  ASSERT_TRUE(this->env()->Truncate(this->Path("f"), 2).ok());
  EXPECT_EQ(this->Read("f"), "ab");
  ASSERT_TRUE(this->env()->Truncate(this->Path("f"), 4).ok());
  EXPECT_EQ(this->Read("f"), std::string("ab\0\0", 4));
}

TYPED_TEST(EnvTest, PathsWithRedundantPartsNameTheSameFile) {
  this->Write("f", "x");
  EXPECT_EQ(*this->env()->ReadFileToString(absl::StrCat(this->Path(""), "/./f")), "x");
  EXPECT_TRUE(this->env()->FileExists(absl::StrCat(this->Path(""), "//f")));
}

TYPED_TEST(EnvTest, SyncAndSyncDirSucceed) {
  auto file = this->env()->NewWritableFile(this->Path("f"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append(AsBytes("x")).ok());
  EXPECT_TRUE((*file)->Sync().ok());
  EXPECT_TRUE(this->env()->SyncDir(this->Path("")).ok());
}

TYPED_TEST(EnvTest, AClosedFileRefusesWritesAndClosesTwice) {
  auto file = this->env()->NewWritableFile(this->Path("f"));
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_TRUE((*file)->Close().ok());
  EXPECT_EQ((*file)->Append(AsBytes("x")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*file)->WriteAt(0, AsBytes("x")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*file)->Sync().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->Read("f"), "");
}

TYPED_TEST(EnvTest, WriteFileAtomicallyReplacesTheContents) {
  ASSERT_TRUE(this->env()->WriteFileAtomically(this->Path("CURRENT"), "one").ok());
  ASSERT_TRUE(this->env()->WriteFileAtomically(this->Path("CURRENT"), "two").ok());
  EXPECT_EQ(this->Read("CURRENT"), "two");
  EXPECT_FALSE(this->env()->FileExists(this->Path("CURRENT.tmp")));
}

TYPED_TEST(EnvTest, LockConflictsWithinTheProcessAndNamesThisPid) {
  const std::string path = this->Path("LOCK");
  auto lock = this->env()->LockFile(path);
  ASSERT_TRUE(lock.ok()) << lock.status();
  EXPECT_EQ((*lock)->path(), path);
  EXPECT_EQ(this->Read("LOCK"), absl::StrCat(::getpid(), "\n"));

  auto second = this->env()->LockFile(path);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(absl::StrCat("process ", ::getpid())));

  ASSERT_TRUE(this->env()->UnlockFile(std::move(*lock)).ok());
  auto again = this->env()->LockFile(path);
  ASSERT_TRUE(again.ok()) << again.status();
  again->reset();  // destruction releases too
  auto third = this->env()->LockFile(path);
  EXPECT_TRUE(third.ok()) << third.status();
}

TYPED_TEST(EnvTest, LocksOnDifferentFilesAreIndependent) {
  auto a = this->env()->LockFile(this->Path("LOCK_A"));
  auto b = this->env()->LockFile(this->Path("LOCK_B"));
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
}

TYPED_TEST(EnvTest, ClocksTellUnixTimeAndNeverGoBack) {
  const int64_t now = this->env()->NowNanos();
  const int64_t system_now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_LT(std::abs(now - system_now), int64_t{60} * 1000000000);
  const int64_t before = this->env()->NowMicrosMonotonic();
  this->env()->SleepForMicros(2000);
  const int64_t after = this->env()->NowMicrosMonotonic();
  EXPECT_GE(after - before, 2000);
}

// ---- POSIX only ----

class PosixEnvTest : public ::testing::Test {
 protected:
  ~PosixEnvTest() override { std::filesystem::remove_all(root_); }
  std::string Path(std::string_view name) { return absl::StrCat(root_, "/", ToAbsl(name)); }
  Env* env_ = Env::Default();
  std::string root_ = MakeTempDir();
};

// Every descriptor of this process open on `path`, with its FD_CLOEXEC flag.
std::vector<bool> CloexecFlagsOfDescriptorsOn(const std::string& path) {
  std::vector<bool> flags;
  const std::string target = std::filesystem::canonical(path).string();
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::filesystem::path link = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || link.string() != target) continue;
    int fd = std::stoi(entry.path().filename().string());
    int fd_flags = ::fcntl(fd, F_GETFD);
    if (fd_flags >= 0) flags.push_back((fd_flags & FD_CLOEXEC) != 0);
  }
  return flags;
}

TEST_F(PosixEnvTest, EveryDescriptorIsCloseOnExec) {
  auto writer = env_->NewWritableFile(Path("f"));
  ASSERT_TRUE(writer.ok());
  auto appender = env_->NewAppendableFile(Path("f"));
  ASSERT_TRUE(appender.ok());
  auto reader = env_->NewRandomAccessFile(Path("f"));
  ASSERT_TRUE(reader.ok());
  EXPECT_THAT(CloexecFlagsOfDescriptorsOn(Path("f")), ElementsAre(true, true, true));
  auto lock = env_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok());
  EXPECT_THAT(CloexecFlagsOfDescriptorsOn(Path("LOCK")), ElementsAre(true));
}

TEST_F(PosixEnvTest, IoErrorsAreUnavailableWithTheReason) {
  // Opening a directory for writing fails with EISDIR.
  auto file = env_->NewWritableFile(root_);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(root_));
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("Is a directory"));
}

TEST_F(PosixEnvTest, LockConflictsWithAForkedChildAndNamesTheParent) {
  auto lock = env_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok());
  const pid_t parent = ::getpid();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto other = Env::Default()->LockFile(Path("LOCK"));
    bool ok = other.status().code() == absl::StatusCode::kAlreadyExists &&
              absl::StrContains(other.status().message(), absl::StrCat("process ", parent));
    // Dropping the inherited lock object in the child must not unlock the parent.
    lock->reset();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Still held here after the child dropped its copy.
  EXPECT_EQ(env_->LockFile(Path("LOCK")).status().code(), absl::StatusCode::kAlreadyExists);
}

// Runs this test binary again (fork + exec) as EnvLockHelper.TryLock,
// which expects `expect`: "busy:PID" or "free". Returns the exit code.
int RunLockHelper(const std::string& path, const std::string& expect) {
  pid_t child = ::fork();
  if (child == 0) {
    ::setenv("ESTORIA_LOCK_HELPER_PATH", path.c_str(), 1);
    ::setenv("ESTORIA_LOCK_HELPER_EXPECT", expect.c_str(), 1);
    ::execl("/proc/self/exe", "/proc/self/exe", "--gtest_filter=EnvLockHelper.TryLock", nullptr);
    ::_exit(127);
  }
  if (child < 0) return -1;
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_F(PosixEnvTest, LockConflictsWithAnotherProgramAndNamesTheHolder) {
  auto lock = env_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(RunLockHelper(Path("LOCK"), absl::StrCat("busy:", ::getpid())), 0);
  ASSERT_TRUE(env_->UnlockFile(std::move(*lock)).ok());
  EXPECT_EQ(RunLockHelper(Path("LOCK"), "free"), 0);
}

// The other side of the test above; skipped unless run by RunLockHelper.
TEST(EnvLockHelper, TryLock) {
  const char* path = std::getenv("ESTORIA_LOCK_HELPER_PATH");
  const char* expect = std::getenv("ESTORIA_LOCK_HELPER_EXPECT");
  if (path == nullptr || expect == nullptr) GTEST_SKIP() << "run only as a helper process";
  auto lock = Env::Default()->LockFile(path);
  std::string_view want(expect);
  if (want == "free") {
    ASSERT_TRUE(lock.ok()) << lock.status();
    EXPECT_EQ(*Env::Default()->ReadFileToString(path), absl::StrCat(::getpid(), "\n"));
  } else {
    ASSERT_EQ(lock.status().code(), absl::StatusCode::kAlreadyExists) << lock.status();
    EXPECT_THAT(std::string(lock.status().message()), HasSubstr(absl::StrCat("process ", ToAbsl(want.substr(5)))));
  }
}

TEST(CleanPath, RemovesRedundantSeparatorsAndDots) {
  EXPECT_EQ(CleanPath("a//b/./c/"), "a/b/c");
  EXPECT_EQ(CleanPath("/x"), "/x");
  EXPECT_EQ(CleanPath("//"), "/");
  EXPECT_EQ(CleanPath(""), ".");
  EXPECT_EQ(CleanPath("./"), ".");
  EXPECT_EQ(CleanPath("a/../b"), "a/../b");
}

TEST(DirName, IsTheParentDirectory) {
  EXPECT_EQ(DirName("/db/MANIFEST"), "/db");
  EXPECT_EQ(DirName("/db"), "/");
  EXPECT_EQ(DirName("db"), ".");
  EXPECT_EQ(DirName("a//b/"), "a");
}

}  // namespace
}  // namespace estoria::core
