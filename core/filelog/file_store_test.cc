// The file store's own behaviour beyond the acceptance suite (which runs on
// it through the ABI): segments, identity, damage found by open and Verify,
// reservations, preallocation, the log handler and the URI forms. Power
// loss, torn tails and failed syncs are in power_loss_test.cc; crashes of a
// real process in tests/crash.
#include "core/filelog/file_store.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env/fault_env.h"
#include "core/env/mem_env.h"
#include "core/filelog/log_format.h"
#include "core/store/writable_batch.h"
#include "core/util/log.h"
#include "core/util/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

using ::testing::HasSubstr;

constexpr char kDir[] = "/store";

WritableBatch Batch(int n, const std::string& data = "payload") {
  BatchBuilder builder;
  for (int i = 0; i < n; ++i) EXPECT_TRUE(builder.Add("happened", AsBytes(data), "text/plain").ok());
  absl::StatusOr<WritableBatch> batch = builder.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *std::move(batch);
}

Id Stream(uint64_t n) { return Id{"account", Uuid::FromHiLo(0, n)}; }

// Every event of a read: (version, position, data).
struct Seen {
  int64_t version, position;
  std::string data;
  bool operator==(const Seen&) const = default;
};
std::vector<Seen> Drain(absl::StatusOr<std::unique_ptr<EventIterator>> iter) {
  std::vector<Seen> out;
  EXPECT_TRUE(iter.ok()) << iter.status();
  if (!iter.ok()) return out;
  EventView views[7];
  while (true) {
    absl::StatusOr<size_t> n = (*iter)->Next(absl::MakeSpan(views));
    EXPECT_TRUE(n.ok()) << n.status();
    if (!n.ok() || *n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      const EventView& e = views[i];
      out.push_back({e.version(), e.position(), std::string(e.data().begin(), e.data().end())});
    }
  }
  return out;
}

class FileStoreTest : public ::testing::Test {
 protected:
  FileStoreTest() : env_(NewMemEnv()) {}

  std::shared_ptr<EventStore> Open(FileStoreOptions options = {}) {
    options.preallocate_bytes = preallocate_;
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(env_.get(), kDir, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }
  absl::Status OpenStatus(FileStoreOptions options = {}) {
    options.preallocate_bytes = preallocate_;
    return OpenFileStore(env_.get(), kDir, options).status();
  }
  std::string Segment(uint64_t n) { return std::string(kDir) + "/" + filelog::SegmentFileName(n); }
  void Overwrite(const std::string& path, uint64_t offset, std::string_view bytes) {
    auto file = env_->NewAppendableFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->WriteAt(offset, AsBytes(bytes)).ok());
    ASSERT_TRUE((*file)->Close().ok());
  }

  std::unique_ptr<Env> env_;
  uint64_t preallocate_ = 0;  // deterministic files unless a test wants it
};

TEST_F(FileStoreTest, RollsOverSegmentsAndReadsAcrossThemAfterReopen) {
  FileStoreOptions small;
  small.segment_bytes = 4096;
  std::vector<Seen> written;
  {
    auto store = Open(small);
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(store->Append(Stream(i % 3), Batch(1 + i % 4, std::string(40, 'a' + i % 26)), {}, nullptr).ok());
    }
    written = Drain(store->ReadAll({}));
    absl::StatusOr<StoreStats> stats = store->Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_GT(stats->segments, 3);
    EXPECT_EQ(stats->events, static_cast<int64_t>(written.size()));
  }
  auto store = Open(small);
  EXPECT_EQ(Drain(store->ReadAll({})), written);
  ReadOptions reverse;
  reverse.direction = Direction::kReverse;
  std::vector<Seen> stream0 = Drain(store->ReadStream(Stream(0), reverse));
  ASSERT_FALSE(stream0.empty());
  EXPECT_EQ(stream0.front().version, static_cast<int64_t>(stream0.size()));
  VerifyReport report;
  ASSERT_TRUE(store->Verify(nullptr, &report).ok());
  EXPECT_EQ(report.events, static_cast<int64_t>(written.size()));
  EXPECT_GT(report.segments, 3);
}

// All clock access goes through the Env: a store on an Env with a fixed
// clock stamps its events and snapshots with that time, and its new event
// IDs carry that time's milliseconds.
TEST(FileStoreClock, EventsSnapshotsAndIdsTakeTheirTimeFromTheEnv) {
  class FixedClockEnv final : public EnvWrapper {
   public:
    FixedClockEnv(Env* target, int64_t now) : EnvWrapper(target), now_(now) {}
    int64_t NowNanos() override { return now_; }

   private:
    const int64_t now_;
  };
  // Two seconds ahead of the system clock: v7 IDs never go back, so a time
  // behind the IDs this process made already would not show in the new ones
  // (and one far ahead would push every later ID ahead with it).
  std::unique_ptr<Env> mem = NewMemEnv();
  const int64_t kNowMs = mem->NowNanos() / 1'000'000 + 2000;
  const int64_t kNow = kNowMs * 1'000'000 + 456;
  FixedClockEnv env(mem.get(), kNow);
  absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(&env, kDir, {});
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Append(Stream(1), Batch(3), {}, nullptr).ok());
  ASSERT_TRUE((*store)->WriteSnapshot(Stream(1), 3, AsBytes("state"), "", 0).ok());
  absl::StatusOr<std::unique_ptr<EventIterator>> iter = (*store)->ReadStream(Stream(1), {});
  ASSERT_TRUE(iter.ok()) << iter.status();
  EventView views[3];
  absl::StatusOr<size_t> n = (*iter)->Next(absl::MakeSpan(views));
  ASSERT_TRUE(n.ok() && *n == 3u);
  for (const EventView& view : views) {
    EXPECT_EQ(view.timestamp_ns(), kNow);
    const Uuid id = view.id();
    EXPECT_EQ(static_cast<int64_t>(id.Hi() >> 16), kNowMs) << "the v7 ID's 48-bit time";
  }
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = (*store)->ReadSnapshot(Stream(1), 0);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->timestamp_ns, kNow);
  (*store)->Close();
}

TEST_F(FileStoreTest, ASecondOpenInThisProcessIsBusyNamingThePid) {
  auto store = Open();
  absl::Status second = OpenStatus();
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(second.message()), HasSubstr(std::to_string(::getpid())));
  store->Close();
  EXPECT_TRUE(OpenStatus().ok()) << "the lock goes with Close";
}

TEST_F(FileStoreTest, AForeignDirectoryIsRefusedAndLeftUntouched) {
  ASSERT_TRUE(env_->CreateDir(kDir).ok());
  ASSERT_TRUE(env_->WriteFileAtomically(std::string(kDir) + "/notes.txt", "mine").ok());
  absl::Status status = OpenStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("not an estoria store"));
  auto names = env_->ListDir(kDir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"notes.txt"});
}

TEST_F(FileStoreTest, ANewerFormatIsUnsupportedAndNamed) {
  Open()->Close();
  ASSERT_TRUE(env_->WriteFileAtomically(std::string(kDir) + "/ESTORIA", "estoria file store\nformat 9\n").ok());
  absl::Status status = OpenStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(status.message()), HasSubstr("format version 9"));

  ASSERT_TRUE(env_->WriteFileAtomically(std::string(kDir) + "/ESTORIA", "estoria file store\nformat 1\n").ok());
  uint8_t header[filelog::kSegmentHeaderSize];
  filelog::EncodeSegmentHeader(filelog::SegmentHeader{filelog::kFormatVersion + 1, 1}, header);
  Overwrite(Segment(1), 0, AsChars(header));
  status = OpenStatus();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(status.message()), HasSubstr("0000000001.log"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("format version ", filelog::kFormatVersion + 1)));
}

TEST_F(FileStoreTest, AMissingSegmentIsCorruption) {
  FileStoreOptions small;
  small.segment_bytes = 1024;
  {
    auto store = Open(small);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Append(Stream(1), Batch(2), {}, nullptr).ok());
  }
  ASSERT_TRUE(env_->DeleteFile(Segment(2)).ok());
  absl::Status status = OpenStatus(small);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("0000000002.log"));
}

TEST_F(FileStoreTest, VerifyFindsAFlippedByteNamingSegmentAndOffset) {
  auto store = Open();
  ASSERT_TRUE(store->Append(Stream(1), Batch(3), {}, nullptr).ok());
  ASSERT_TRUE(store->Append(Stream(2), Batch(3), {}, nullptr).ok());
  ASSERT_TRUE(store->Verify(nullptr, nullptr).ok());
  // Inside the first frame's payload (frames start right after the header).
  const uint64_t first_frame = filelog::kSegmentHeaderSize;
  auto reader = env_->NewRandomAccessFile(Segment(1));
  ASSERT_TRUE(reader.ok());
  uint8_t byte;
  auto got = (*reader)->Read(first_frame + 100, 1, &byte);
  ASSERT_TRUE(got.ok());
  Overwrite(Segment(1), first_frame + 100, std::string(1, static_cast<char>((*got)[0] ^ 0x20)));
  VerifyReport report;
  absl::Status status = store->Verify(nullptr, &report);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("segment 0000000001.log offset " + std::to_string(first_frame)));
  store->Close();
  // The index checkpoint written at close covers the damaged frame: the open
  // trusts it and reads no record (est_store_verify is what reads them all).
  EXPECT_TRUE(env_->FileExists(std::string(kDir) + "/INDEX"));
  {
    auto reopened = Open();
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->Verify(nullptr, nullptr).code(), absl::StatusCode::kDataLoss);
    reopened->Close();
  }
  // Without it the open scans: the damage is followed by a frame written
  // after it was durable, so open refuses rather than dropping an
  // acknowledged batch.
  ASSERT_TRUE(env_->DeleteFile(std::string(kDir) + "/INDEX").ok());
  EXPECT_EQ(OpenStatus().code(), absl::StatusCode::kDataLoss);
}

// Collects what the log handler hears.
struct Heard {
  Mutex mu;
  std::vector<std::string> messages;
};
void Collect(void* user, int, const char* message) {
  auto* heard = static_cast<Heard*>(user);
  MutexLock lock(&heard->mu);
  heard->messages.emplace_back(message);
}

TEST_F(FileStoreTest, ACutTornTailIsReportedToTheLogHandlerAndZeroed) {
  uint64_t end = 0;
  {
    auto store = Open();
    ASSERT_TRUE(store->Append(Stream(1), Batch(2), {}, nullptr).ok());
    end = static_cast<uint64_t>(store->Stats()->bytes);
  }
  Overwrite(Segment(1), end + 16, "garbage from a torn write");
  Heard heard;
  SetLogHandler(&Collect, &heard);
  auto store = Open();
  SetLogHandler(nullptr, nullptr);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Drain(store->ReadStream(Stream(1), {})).size(), 2u);
  {
    MutexLock lock(&heard.mu);
    // The garbage lands on the frame the close wrote after the checkpoint's
    // end, so the checkpoint is refused too, and the whole log scanned.
    ASSERT_EQ(heard.messages.size(), 2u);
    EXPECT_THAT(heard.messages[0], HasSubstr("index checkpoint does not match the log"));
    EXPECT_THAT(heard.messages[1], HasSubstr("torn tail of segment 0000000001.log"));
  }
  // Appends continue where the whole frames ended, and survive a reopen.
  ASSERT_TRUE(store->Append(Stream(1), Batch(1), {}, nullptr).ok());
  store->Close();
  store = Open();
  EXPECT_EQ(Drain(store->ReadStream(Stream(1), {})).size(), 3u);
}

TEST_F(FileStoreTest, EveryCleanReopenLoadsTheIndexCheckpoint) {
  {
    auto store = Open();
    ASSERT_TRUE(store->Append(Stream(1), Batch(3), {}, nullptr).ok());
    ASSERT_TRUE(store->Append(Stream(2), Batch(2), {}, nullptr).ok());
    ASSERT_TRUE(store->DeleteStream(Stream(1), 1).ok());
  }
  for (int round = 0; round < 3; ++round) {
    Heard heard;
    SetLogHandler(&Collect, &heard);
    auto store = Open();
    SetLogHandler(nullptr, nullptr);
    ASSERT_NE(store, nullptr);
    {
      MutexLock lock(&heard.mu);
      ASSERT_EQ(heard.messages.size(), 1u) << "round " << round;
      // What a clean close adds after the checkpoint's end: its reservation frame.
      EXPECT_THAT(heard.messages[0], HasSubstr("opened from the index checkpoint (4 events); scanned 48 bytes"))
          << "round " << round;
    }
    EXPECT_EQ(Drain(store->ReadStream(Stream(1), {})).size(), 2u);
    EXPECT_EQ(Drain(store->ReadAll({})).size(), 4u);
    ASSERT_TRUE(store->Append(Stream(2), Batch(1), {}, nullptr).ok());
    ASSERT_TRUE(store->DeleteStream(Stream(2), 0).ok());
    ASSERT_TRUE(store->Append(Stream(2), Batch(2), {}, nullptr).ok());
    store->Close();
  }
}

// A log full of truncations and deletions replays to the same index, with
// more events removed than the point at which the global order is filtered at
// once (4096): removals from the global order are gathered, not applied one
// deletion at a time.
TEST_F(FileStoreTest, AReplayOfManyTruncationsAndDeletionsRebuildsTheSameIndex) {
  std::vector<Seen> live;
  int64_t events = 0;
  {
    auto store = Open();
    for (int round = 0; round < 10; ++round) {
      for (uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE(store->Append(Stream(s), Batch(10), {}, nullptr).ok());
    }
    for (uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE(store->DeleteStream(Stream(s), 40).ok());
    for (uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE(store->DeleteStream(Stream(s), s % 5 == 0 ? 0 : 95).ok());
    ASSERT_TRUE(store->Append(Stream(5), Batch(2), {}, nullptr).ok());
    live = Drain(store->ReadAll({}));
    absl::StatusOr<StoreStats> stats = store->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    events = stats->events;
    store->Close();
  }
  ASSERT_EQ(live.size(), 40u * 5 + 2);
  EXPECT_EQ(events, 40 * 5 + 2);
  ASSERT_TRUE(env_->DeleteFile(std::string(kDir) + "/INDEX").ok());  // replay the whole log
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Drain(store->ReadAll({})), live);
  EXPECT_EQ(Drain(store->ReadStream(Stream(5), {})).size(), 2u) << "deleted wholly, then written again";
  EXPECT_EQ(Drain(store->ReadStream(Stream(7), {})).size(), 5u);
  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, events);
  EXPECT_EQ(stats->first_position, live.front().position);
}

TEST_F(FileStoreTest, ABackgroundCheckpointBoundsWhatAnOpenAfterACrashScans) {
  FileStoreOptions options;
  options.segment_bytes = 4096;
  options.preallocate_bytes = 0;
  options.checkpoint_bytes = 16 << 10;
  auto store = Open(options);
  // Enough log for several checkpoints' worth of growth: 250 appends of two
  // compact records are about the 70 KiB that 150 took as FlatBuffers
  // records, so the last checkpoint covers most of it however late its
  // thread runs on a busy machine.
  for (int i = 0; i < 250; ++i) ASSERT_TRUE(store->Append(Stream(i % 4), Batch(2), {}, nullptr).ok());
  const std::string index = std::string(kDir) + "/INDEX";
  for (int waited = 0; !env_->FileExists(index) && waited < 10000; waited += 10) env_->SleepForMicros(10000);
  ASSERT_TRUE(env_->FileExists(index)) << "no background checkpoint after the log grew past checkpoint_bytes";
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Append(Stream(i % 4), Batch(2), {}, nullptr).ok());
  const int64_t log_bytes = store->Stats()->bytes;
  // What a crash now would leave: the files as they are, the store still open.
  constexpr char kCopy[] = "/crashed";
  ASSERT_TRUE(env_->CreateDir(kCopy).ok());
  auto names = env_->ListDir(kDir);
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) {
    auto bytes = env_->ReadFileToString(std::string(kDir) + "/" + name);
    // The checkpoint thread may be writing a newer INDEX.tmp and renaming it.
    if (absl::IsNotFound(bytes.status()) && name == "INDEX.tmp") continue;
    ASSERT_TRUE(bytes.ok()) << name << ": " << bytes.status();
    ASSERT_TRUE(env_->WriteFileAtomically(std::string(kCopy) + "/" + name, *bytes).ok());
  }
  Heard heard;
  SetLogHandler(&Collect, &heard);
  auto crashed = OpenFileStore(env_.get(), kCopy, options);
  SetLogHandler(nullptr, nullptr);
  ASSERT_TRUE(crashed.ok()) << crashed.status();
  EXPECT_EQ(Drain((*crashed)->ReadAll({})).size(), 520u) << "every acknowledged event";
  MutexLock lock(&heard.mu);
  ASSERT_FALSE(heard.messages.empty());
  int64_t scanned = -1;
  for (const std::string& m : heard.messages) {
    const size_t at = m.find("; scanned ");
    if (m.find("opened from the index checkpoint") != std::string::npos && at != std::string::npos) {
      scanned = std::stoll(m.substr(at + 10));
    }
  }
  ASSERT_GE(scanned, 0) << heard.messages[0];
  EXPECT_LT(scanned, log_bytes / 2) << "the open scanned only what the checkpoint did not cover";
  (*crashed)->Close();
  store->Close();
}

// Copies the files of `from` whose names `pick` accepts into `to`.
template <typename Pick>
void CopyFiles(Env& env, const std::string& from, const std::string& to, Pick pick) {
  ASSERT_TRUE(env.CreateDir(to).ok());
  auto names = env.ListDir(from);
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) {
    if (!pick(name)) continue;
    auto bytes = env.ReadFileToString(from + "/" + name);
    ASSERT_TRUE(bytes.ok()) << name;
    ASSERT_TRUE(env.WriteFileAtomically(to + "/" + name, *bytes).ok());
  }
}

TEST_F(FileStoreTest, ACrashAnywhereInACompactionLeavesOneWholeLog) {
  FileStoreOptions options;
  options.segment_bytes = 4096;
  options.preallocate_bytes = 0;
  {
    auto store = Open(options);
    for (int i = 0; i < 60; ++i) ASSERT_TRUE(store->Append(Stream(i % 3), Batch(2), {}, nullptr).ok());
    ASSERT_TRUE(store->DeleteStream(Stream(0), 0).ok());
    ASSERT_TRUE(store->DeleteStream(Stream(1), 20).ok());
  }
  auto read_back = [&](const std::string& dir) {
    auto store = OpenFileStore(env_.get(), dir, options);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return std::vector<Seen>{};
    std::vector<Seen> all = Drain((*store)->ReadAll({}));
    for (const Seen& s : Drain((*store)->ReadStream(Stream(1), {}))) all.push_back(s);
    EXPECT_EQ((*store)->ReadStream(Stream(0), {}).status().code(), absl::StatusCode::kNotFound) << dir;
    (*store)->Close();
    return all;
  };
  auto any = [](const std::string&) { return true; };
  CopyFiles(*env_, kDir, "/before", any);
  const std::vector<Seen> expected = read_back("/before");
  // Read all: stream 2's 40 and stream 1's 20 left after truncation; then stream 1's again.
  ASSERT_EQ(expected.size(), 40u + 20 + 20);
  {
    auto store = Open(options);
    CompactReport report;
    ASSERT_TRUE(store->Compact(nullptr, &report).ok());
    EXPECT_EQ(report.events_dropped, 40 + 20) << "stream 0's 40 and the 20 truncated from stream 1";
  }
  EXPECT_EQ(read_back(kDir), expected);
  CopyFiles(*env_, kDir, "/after", any);
  auto is_compacted = [](const std::string& name) { return name.rfind("c-", 0) == 0; };
  auto is_plain = [](const std::string& name) {
    uint64_t sequence;
    return filelog::ParseSegmentFileName(name, &sequence);
  };

  // Crashed after writing the new files, before the manifest: they are leftovers.
  CopyFiles(*env_, "/before", "/crash1", any);
  CopyFiles(*env_, "/after", "/crash1", is_compacted);
  EXPECT_EQ(read_back("/crash1"), expected);
  auto crash1 = env_->ListDir("/crash1");
  ASSERT_TRUE(crash1.ok());
  for (const std::string& name : *crash1) EXPECT_FALSE(is_compacted(name)) << name;

  // Crashed after the manifest, before the old files went: they are leftovers.
  CopyFiles(*env_, "/after", "/crash2", any);
  CopyFiles(*env_, "/before", "/crash2", [&](const std::string& name) {
    return is_plain(name) && !env_->FileExists("/after/" + name);
  });
  EXPECT_EQ(read_back("/crash2"), expected);
  auto after = env_->ListDir("/after");
  auto crash2 = env_->ListDir("/crash2");
  ASSERT_TRUE(after.ok() && crash2.ok());
  EXPECT_EQ(*crash2, *after) << "exactly the compacted store's files remain";
}

TEST_F(FileStoreTest, PositionsAfterACrashSkipTheReservedBlock) {
  FaultEnv fault(env_.get());
  FileStoreOptions options;
  options.preallocate_bytes = 0;
  int64_t last = 0;
  {
    auto store = OpenFileStore(&fault, kDir, options);
    ASSERT_TRUE(store.ok()) << store.status();
    auto result = (*store)->Append(Stream(1), Batch(2), {}, nullptr);
    ASSERT_TRUE(result.ok());
    last = result->last_position;
    ASSERT_TRUE(fault.DropUnsyncedData().ok());  // power loss: no clean close
  }
  auto store = OpenFileStore(&fault, kDir, options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto result = (*store)->Append(Stream(1), Batch(1), {}, nullptr);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->first_version, 3);
  EXPECT_GT(result->first_position, last + 1) << "positions that may have been seen are never handed out again";
}

TEST_F(FileStoreTest, PreallocationWritesZerosAheadOfTheWriter) {
  preallocate_ = 256 << 10;
  auto store = Open();
  ASSERT_TRUE(store->Append(Stream(1), Batch(1), {}, nullptr).ok());
  const uint64_t end = static_cast<uint64_t>(store->Stats()->bytes);
  uint64_t size = 0;
  for (int i = 0; i < 500 && size < end + preallocate_ / 2; ++i) {
    size = *env_->GetFileSize(Segment(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GE(size, end + preallocate_ / 2);
  store->Close();
  store = Open();  // the zeros read as the clean end of the log
  EXPECT_EQ(Drain(store->ReadStream(Stream(1), {})).size(), 1u);
}

TEST(FileStoreUri, FileUrisAndBarePathsOpenTheFileStore) {
  const std::filesystem::path root = std::filesystem::temp_directory_path() / ("estoria-uri-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  for (const std::string& uri : {"file:" + (root / "a").string(), (root / "b").string(),
                                 "file://" + (root / "c").string()}) {
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenStore(uri, {});
    ASSERT_TRUE(store.ok()) << uri << ": " << store.status();
    ASSERT_TRUE((*store)->Append(Stream(1), Batch(1), {}, nullptr).ok()) << uri;
    (*store)->Close();
  }
  EXPECT_TRUE(std::filesystem::exists(root / "a" / "ESTORIA"));
  EXPECT_TRUE(std::filesystem::exists(root / "b" / "0000000001.log"));
  EXPECT_TRUE(std::filesystem::exists(root / "c" / "LOCK"));
  {
    absl::StatusOr<std::shared_ptr<EventStore>> reader = OpenStore("file:" + (root / "a").string() + "?mode=ro", {});
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->Stats()->events, 1) << "mode=ro opens the store read-only";
    EXPECT_EQ((*reader)->Append(Stream(1), Batch(1), {}, nullptr).status().code(), absl::StatusCode::kUnimplemented);
    (*reader)->Close();
  }
  EXPECT_EQ(OpenStore("file:" + (root / "nothing").string() + "?mode=ro", {}).status().code(),
            absl::StatusCode::kNotFound)
      << "a read-only open creates nothing";
  EXPECT_FALSE(std::filesystem::exists(root / "nothing"));
  absl::StatusOr<std::shared_ptr<EventStore>> tuned =
      OpenStore("file:" + (root / "d").string() + "?segment_bytes=4096&preallocate_bytes=0&mode=rw", {});
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*tuned)->Append(Stream(1), Batch(4), {}, nullptr).ok());
  EXPECT_GT((*tuned)->Stats()->segments, 1) << "segment_bytes is honoured";
  (*tuned)->Close();
  for (const std::string& uri : {"file:" + (root / "a").string() + "?cache=1", std::string("file:"),
                                 std::string("file://host/x"), "file:" + (root / "a").string() + "?segment_bytes=10",
                                 "file:" + (root / "a").string() + "?preallocate_bytes=x",
                                 "file:" + (root / "a").string() + "?segment_bytes=1073741825",
                                 "file:" + (root / "a").string() + "?checkpoint_bytes=x",
                                 "file:" + (root / "a").string() + "?mode=readonly"}) {
    EXPECT_EQ(OpenStore(uri, {}).status().code(), absl::StatusCode::kInvalidArgument) << uri;
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace estoria::core
