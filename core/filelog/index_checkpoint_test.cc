// The index checkpoint codec: images round-trip (in memory and on disk, with
// arrays of exactly their count), damage of any byte and any truncation is
// kDataLoss, inconsistencies in a well-checksummed file are named, a newer
// version is kUnimplemented, and the writer refuses images the reader would
// reject.
#include "core/filelog/index_checkpoint.h"

#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/env/mem_env.h"
#include "core/util/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core::filelog {
namespace {

using ::testing::HasSubstr;

constexpr char kPath[] = "/index.ckpt";

Id StreamId(const char* type, uint64_t lo) { return Id{type, Uuid::FromHiLo(0x0123456789abcdefULL, lo)}; }

EntryList<Location> List(const std::vector<Location>& locations) {
  EntryList<Location> list;
  list.Append(locations);
  return list;
}

std::shared_ptr<const Snapshot> MakeSnapshot(Id id, int64_t version, std::string data, std::string content_type) {
  auto s = std::make_shared<Snapshot>();
  s->aggregate_id = std::move(id);
  s->version = version;
  s->timestamp_ns = 1700000000123456789 + version;
  s->data = std::move(data);
  s->content_type = std::move(content_type);
  return s;
}

// Three streams (one truncated, one with no live events left), the global
// order, two snapshots with binary data, two segments. One Location,
// {1, 0xC0FFEE11}, is easy to find in the file's bytes.
IndexImage SampleImage() {
  IndexImage image;
  image.generation = 7;
  image.segments = {{"0000000001.log", 67108864}, {"0000000002.log", 4096}};
  image.last_position = 9;
  image.reserved_upto = 12;
  image.reclaimable = 2;
  StreamImage truncated{StreamId("order", 1), 5, List({{0, 64}, {0, 200}, {1, 0xC0FFEE11}})};
  StreamImage emptied{StreamId("cart", 2), 4, {}};
  StreamImage whole{StreamId("order", 3), 2, List({{0, 128}, {1, 64}})};
  image.streams = {truncated, emptied, whole};
  image.global = List({{0, 64}, {0, 128}, {0, 200}, {1, 64}, {1, 0xC0FFEE11}});
  image.snapshots = {MakeSnapshot(StreamId("order", 1), 3, std::string("\0\xff\x01binary\0", 10), "application/x-thing"),
                     MakeSnapshot(StreamId("cart", 2), 4, "", "")};
  image.checkpoints = {{"orders_v1", 42, 1700000000000000001}, {"orders_v2", 0, 1700000000000000002}};
  return image;
}

void ExpectSameLocations(const EntryList<Location>& got, const EntryList<Location>& want, const std::string& what) {
  ASSERT_EQ(got.count, want.count) << what;
  ASSERT_NE(got.array, nullptr) << what;
  EXPECT_EQ(got.array->capacity(), got.count) << what;
  for (size_t i = 0; i < want.count; ++i) {
    EXPECT_EQ((*got.array)[i], (*want.array)[i]) << what << " entry " << i;
  }
}

void ExpectSameImage(const IndexImage& got, const IndexImage& want) {
  ASSERT_EQ(got.checkpoints.size(), want.checkpoints.size());
  for (size_t i = 0; i < want.checkpoints.size(); ++i) {
    EXPECT_EQ(got.checkpoints[i].projection_id, want.checkpoints[i].projection_id);
    EXPECT_EQ(got.checkpoints[i].position, want.checkpoints[i].position);
    EXPECT_EQ(got.checkpoints[i].updated_at_ns, want.checkpoints[i].updated_at_ns);
  }
  EXPECT_EQ(got.generation, want.generation);
  EXPECT_EQ(got.last_position, want.last_position);
  EXPECT_EQ(got.reserved_upto, want.reserved_upto);
  EXPECT_EQ(got.reclaimable, want.reclaimable);
  ASSERT_EQ(got.segments.size(), want.segments.size());
  for (size_t i = 0; i < want.segments.size(); ++i) {
    EXPECT_EQ(got.segments[i].name, want.segments[i].name);
    EXPECT_EQ(got.segments[i].end, want.segments[i].end);
  }
  ASSERT_EQ(got.streams.size(), want.streams.size());
  for (size_t i = 0; i < want.streams.size(); ++i) {
    EXPECT_EQ(got.streams[i].id, want.streams[i].id);
    EXPECT_EQ(got.streams[i].tip, want.streams[i].tip);
    ExpectSameLocations(got.streams[i].events, want.streams[i].events, want.streams[i].id.ToString());
  }
  ExpectSameLocations(got.global, want.global, "global");
  ASSERT_EQ(got.snapshots.size(), want.snapshots.size());
  for (size_t i = 0; i < want.snapshots.size(); ++i) {
    EXPECT_EQ(got.snapshots[i]->aggregate_id, want.snapshots[i]->aggregate_id);
    EXPECT_EQ(got.snapshots[i]->version, want.snapshots[i]->version);
    EXPECT_EQ(got.snapshots[i]->timestamp_ns, want.snapshots[i]->timestamp_ns);
    EXPECT_EQ(got.snapshots[i]->data, want.snapshots[i]->data);
    EXPECT_EQ(got.snapshots[i]->content_type, want.snapshots[i]->content_type);
  }
}

std::string ReadBytes(Env* env, const std::string& path) {
  absl::StatusOr<std::string> bytes = env->ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

void WriteBytes(Env* env, const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(env->WriteFileAtomically(path, bytes).ok());
}

// Recomputes the trailer's checksum, as a writer with a bug would have.
void Reseal(std::string* bytes) {
  const uint32_t crc = Crc32cMask(Crc32c(bytes->data(), bytes->size() - 8));
  std::memcpy(bytes->data() + bytes->size() - 8, &crc, sizeof(crc));
}

// The sample's bytes, for tests that damage or patch them.
std::string SampleBytes(Env* env) {
  absl::Status status = WriteIndexCheckpoint(env, kPath, SampleImage());
  EXPECT_TRUE(status.ok()) << status;
  return ReadBytes(env, kPath);
}

absl::Status ReadBack(Env* env, const std::string& bytes) {
  WriteBytes(env, kPath, bytes);
  return ReadIndexCheckpoint(env, kPath).status();
}

// Patched content under a fresh checksum: the reader must find the
// inconsistency itself, as DATA_LOSS naming `what`.
void ExpectResealedIsDataLoss(Env* env, std::string bytes, std::string_view what) {
  Reseal(&bytes);
  absl::Status status = ReadBack(env, bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(what))) << status;
}

TEST(IndexCheckpoint, RoundTripsStreamsGlobalListSnapshotsAndSegments) {
  std::unique_ptr<Env> env = NewMemEnv();
  const IndexImage image = SampleImage();
  ASSERT_TRUE(WriteIndexCheckpoint(env.get(), kPath, image).ok());
  EXPECT_FALSE(env->FileExists(absl::StrCat(kPath, ".tmp")));
  absl::StatusOr<IndexImage> read = ReadIndexCheckpoint(env.get(), kPath);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameImage(*read, image);
}

TEST(IndexCheckpoint, AnEmptyImageRoundTripsWithNonNullEmptyArrays) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(WriteIndexCheckpoint(env.get(), kPath, IndexImage{}).ok());
  absl::StatusOr<IndexImage> read = ReadIndexCheckpoint(env.get(), kPath);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameImage(*read, IndexImage{});
  ASSERT_NE(read->global.array, nullptr);
  EXPECT_EQ(read->global.array->capacity(), 0u);
}

TEST(IndexCheckpoint, AStreamWithNoLiveEventsComesBackWithAnEmptyArray) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(WriteIndexCheckpoint(env.get(), kPath, SampleImage()).ok());
  absl::StatusOr<IndexImage> read = ReadIndexCheckpoint(env.get(), kPath);
  ASSERT_TRUE(read.ok()) << read.status();
  const StreamImage& emptied = read->streams[1];
  EXPECT_EQ(emptied.tip, 4);
  EXPECT_EQ(emptied.events.count, 0u);
  ASSERT_NE(emptied.events.array, nullptr);
  EXPECT_EQ(emptied.events.array->capacity(), 0u);
}

TEST(IndexCheckpoint, LargeArraysRoundTripOnDiskWithExactCapacity) {
  std::string dir = ::testing::TempDir() + "estoria_ckpt_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/INDEX";
  Env* env = Env::Default();

  // Bigger than the writer's and reader's buffers and than one 1 MiB chunk,
  // with lengths that are not multiples of any of them.
  IndexImage image;
  image.segments = {{"0000000001.log", 1}, {"0000000002.log", 2}, {"0000000003.log", 3}};
  const size_t big = 300001, small = 7;
  std::vector<Location> all;
  for (size_t i = 0; i < big + small; ++i) all.push_back(Location{static_cast<uint32_t>(i % 3), static_cast<uint32_t>(i * 8)});
  image.streams.push_back({StreamId("big", 1), static_cast<int64_t>(big),
                           List(std::vector<Location>(all.begin(), all.begin() + big))});
  image.streams.push_back({StreamId("small", 2), static_cast<int64_t>(small + 3),
                           List(std::vector<Location>(all.begin() + big, all.end()))});
  image.global = List(all);
  image.last_position = static_cast<int64_t>(all.size());
  image.reserved_upto = image.last_position;

  ASSERT_TRUE(WriteIndexCheckpoint(env, path, image).ok());
  absl::StatusOr<IndexImage> read = ReadIndexCheckpoint(env, path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameImage(*read, image);
  EXPECT_EQ(read->streams[0].events.array->capacity(), big);
  EXPECT_EQ(read->global.array->capacity(), big + small);

  EXPECT_EQ(ReadIndexCheckpoint(env, dir + "/ABSENT").status().code(), absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(IndexCheckpoint, AnAbsentFileIsNotFound) {
  std::unique_ptr<Env> env = NewMemEnv();
  EXPECT_EQ(ReadIndexCheckpoint(env.get(), kPath).status().code(), absl::StatusCode::kNotFound);
}

TEST(IndexCheckpoint, ANewCheckpointReplacesTheOldOne) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(WriteIndexCheckpoint(env.get(), kPath, SampleImage()).ok());
  ASSERT_TRUE(WriteIndexCheckpoint(env.get(), kPath, IndexImage{}).ok());
  absl::StatusOr<IndexImage> read = ReadIndexCheckpoint(env.get(), kPath);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->streams.empty());
  EXPECT_TRUE(read->segments.empty());
}

TEST(IndexCheckpoint, EverySingleByteFlipIsDataLoss) {
  std::unique_ptr<Env> env = NewMemEnv();
  const std::string good = SampleBytes(env.get());
  ASSERT_GT(good.size(), 200u);
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      EXPECT_EQ(ReadBack(env.get(), bad).code(), absl::StatusCode::kDataLoss) << "byte " << i << " ^ " << int{mask};
    }
  }
}

TEST(IndexCheckpoint, EveryTruncationIsDataLoss) {
  std::unique_ptr<Env> env = NewMemEnv();
  const std::string good = SampleBytes(env.get());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(ReadBack(env.get(), good.substr(0, n)).code(), absl::StatusCode::kDataLoss) << n << " bytes";
  }
  EXPECT_EQ(ReadBack(env.get(), good + std::string(8, '\0')).code(), absl::StatusCode::kDataLoss);
}

TEST(IndexCheckpoint, DamageIsReportedAsAChecksumMismatchNamingTheFile) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bad = SampleBytes(env.get());
  bad[bad.size() / 2] ^= 0x10;
  absl::Status status = ReadBack(env.get(), bad);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("index checkpoint ", kPath, ": ")));
  EXPECT_THAT(std::string(status.message()), HasSubstr("checksum"));
}

TEST(IndexCheckpoint, ANewerFormatVersionIsUnimplementedAndNamed) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bytes = SampleBytes(env.get());
  // A newer writer keeps the preamble's layout: magic, version, its checksum.
  const uint32_t version = kIndexCheckpointVersion + 1;
  std::memcpy(bytes.data() + 8, &version, sizeof(version));
  const uint32_t crc = Crc32cMask(Crc32c(bytes.data(), 12));
  std::memcpy(bytes.data() + 12, &crc, sizeof(crc));
  absl::Status status = ReadBack(env.get(), bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("format version ", version)));
}

TEST(IndexCheckpoint, AVersionOneFileCountingCheckpointsIsDataLoss) {
  // Version 1 had a reserved zero where version 2 counts checkpoints.
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bytes = SampleBytes(env.get());
  const uint32_t version = 1;
  std::memcpy(bytes.data() + 8, &version, sizeof(version));
  const uint32_t crc = Crc32cMask(Crc32c(bytes.data(), 12));
  std::memcpy(bytes.data() + 12, &crc, sizeof(crc));
  ExpectResealedIsDataLoss(env.get(), bytes, "reserved");
}

TEST(IndexCheckpoint, CheckpointsOutOfIdOrderAreRefusedByTheWriter) {
  std::unique_ptr<Env> env = NewMemEnv();
  IndexImage image = SampleImage();
  std::swap(image.checkpoints[0], image.checkpoints[1]);
  EXPECT_EQ(WriteIndexCheckpoint(env.get(), kPath, image).code(), absl::StatusCode::kInternal);
  image.checkpoints[0].projection_id = "Bad_v1";
  EXPECT_EQ(WriteIndexCheckpoint(env.get(), kPath, image).code(), absl::StatusCode::kInternal);
}

// Where the sample's {1, 0xC0FFEE11} first appears: in the first stream.
size_t FindMarkedLocation(const std::string& bytes) {
  const char marked[8] = {1, 0, 0, 0, 0x11, static_cast<char>(0xEE), static_cast<char>(0xFF), static_cast<char>(0xC0)};
  size_t at = bytes.find(std::string(marked, sizeof(marked)));
  EXPECT_NE(at, std::string::npos);
  EXPECT_EQ(at % 8, 0u) << "Locations are 8-aligned in the file";
  return at;
}

TEST(IndexCheckpoint, ALocationNamingAnUnknownSegmentIsDataLoss) {
  std::unique_ptr<Env> env = NewMemEnv();
  const std::string good = SampleBytes(env.get());
  const size_t first = FindMarkedLocation(good);
  const size_t second = good.find(good.substr(first, 8), first + 8);  // in the global list
  ASSERT_NE(second, std::string::npos);
  for (size_t at : {first, second}) {
    std::string bad = good;
    bad[at] = 2;  // the sample lists segments 0 and 1
    ExpectResealedIsDataLoss(env.get(), bad, "segment");
  }
}

TEST(IndexCheckpoint, CountsThatDoNotAddUpAreDataLoss) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bad = SampleBytes(env.get());
  // The header's global event count (byte 56): one fewer than the streams hold.
  const uint64_t fewer = 4;
  std::memcpy(bad.data() + 56, &fewer, sizeof(fewer));
  ExpectResealedIsDataLoss(env.get(), bad, "the streams hold 5 events but the global list 4");
}

TEST(IndexCheckpoint, AStreamListedTwiceIsDataLoss) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bad = SampleBytes(env.get());
  const std::string third = StreamId("order", 3).ToString();
  const size_t at = bad.find(third);
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, third.size(), StreamId("order", 1).ToString());
  ExpectResealedIsDataLoss(env.get(), bad, "listed twice");
}

TEST(IndexCheckpoint, BadIdTextIsDataLoss) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bad = SampleBytes(env.get());
  const std::string id = StreamId("cart", 2).ToString();
  const size_t at = bad.find(id);
  ASSERT_NE(at, std::string::npos);
  bad[at + id.size() - 1] = 'G';  // not a hex digit
  ExpectResealedIsDataLoss(env.get(), bad, "bad ID");
}

TEST(IndexCheckpoint, AHugeCountIsDataLossWithoutAllocatingIt) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::string bad = SampleBytes(env.get());
  // The first stream's event count, just before its ID size: 2^61 events
  // would be 16 EiB; the reader must refuse it against the file's size.
  const size_t stream = bad.find(StreamId("order", 1).ToString()) - 24;
  const uint64_t huge = uint64_t{1} << 61;
  std::memcpy(bad.data() + stream + 8, &huge, sizeof(huge));
  const int64_t tip = INT64_MAX;
  std::memcpy(bad.data() + stream, &tip, sizeof(tip));
  ExpectResealedIsDataLoss(env.get(), bad, "more than the file holds");
}

TEST(IndexCheckpoint, TheWriterRefusesImagesTheReaderWouldReject) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::vector<std::pair<std::string, IndexImage>> cases;
  {
    IndexImage image = SampleImage();
    (*image.global.array)[0].segment = 2;
    cases.emplace_back("a Location beyond the segments", std::move(image));
  }
  {
    IndexImage image = SampleImage();
    image.global.count = 4;
    cases.emplace_back("counts that do not add up", std::move(image));
  }
  {
    IndexImage image = SampleImage();
    image.streams[2].id = image.streams[0].id;
    cases.emplace_back("a stream listed twice", std::move(image));
  }
  {
    IndexImage image = SampleImage();
    image.streams[2].tip = 1;  // it holds two events
    cases.emplace_back("more events than the tip", std::move(image));
  }
  {
    IndexImage image = SampleImage();
    image.streams[1].events.count = 1;  // its array is null
    image.global.count = 6;
    cases.emplace_back("a count beyond the array", std::move(image));
  }
  {
    IndexImage image = SampleImage();
    image.segments[0].name = "dir/0000000001.log";
    cases.emplace_back("a segment name with a slash", std::move(image));
  }
  {
    IndexImage image = SampleImage();
    image.reclaimable = -1;
    cases.emplace_back("a negative reclaimable count", std::move(image));
  }
  for (const auto& [what, image] : cases) {
    absl::Status status = WriteIndexCheckpoint(env.get(), kPath, image);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << what << ": " << status;
    EXPECT_FALSE(env->FileExists(kPath)) << what;
    EXPECT_FALSE(env->FileExists(absl::StrCat(kPath, ".tmp"))) << what;
  }
}

}  // namespace
}  // namespace estoria::core::filelog
