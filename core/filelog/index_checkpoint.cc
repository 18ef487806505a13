// The index checkpoint codec (format in index_checkpoint.h and FORMAT.md).
//
// Both directions stream: the writer sends the Location arrays to the file
// straight from the image's memory, and the reader reads them straight into
// arrays of their final size, checksumming and bounds-checking each chunk
// while it is in cache. The reader trusts no size before checking it against
// what is left of the file, and hands out nothing before the whole-file
// checksum has matched.
#include "core/filelog/index_checkpoint.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/filelog/frame_content.h"
#include "core/store/store_checks.h"
#include "core/util/crc32c.h"
#include "core/util/little_endian.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// Locations go to the file as the host lays them out in memory, which is the
// format's layout only on a little-endian host.
static_assert(std::endian::native == std::endian::little, "the checkpoint format is little-endian");
static_assert(std::is_trivially_copyable_v<Location> && offsetof(Location, segment) == 0 &&
              offsetof(Location, offset) == 4 && sizeof(Location) == 8);

// Header layout: see index_checkpoint.h.
constexpr size_t kPreambleSize = 16;
constexpr size_t kVersionAt = 8, kPreambleCrcAt = 12, kFileSizeAt = 16, kGenerationAt = 24, kLastPositionAt = 32,
                 kReservedAt = 40, kSegmentCountAt = 48, kStreamCountAt = 52, kGlobalCountAt = 56,
                 kSnapshotCountAt = 64, kCheckpointCountAt = 68, kReclaimableAt = 72;
constexpr size_t kHeaderSize = 80;
constexpr size_t kTrailerSize = 8;

// The fixed part of each entry; also the least bytes an entry can take,
// which bounds a count before anything is reserved for it.
constexpr size_t kSegmentFixedSize = 24;
constexpr size_t kStreamFixedSize = 24;
constexpr size_t kSnapshotFixedSize = 8;

constexpr size_t kMaxSegmentNameLen = 255;

// Locations are checksummed and bounds-checked this many at a time (1 MiB),
// so that each chunk is still in cache for the second look.
constexpr size_t kChunkLocations = (size_t{1} << 20) / sizeof(Location);

constexpr uint8_t kZeros[8] = {};

size_t Pad8(size_t n) { return (n + 7) & ~size_t{7}; }

using little_endian::Get;
using little_endian::Put;

// The preamble's own checksum: a flipped version byte must read as damage,
// not as a newer format.
uint32_t PreambleCrc(const uint8_t* bytes) { return Crc32cMask(Crc32c(bytes, kPreambleCrcAt)); }

// True when no Location in at[0, n) names a segment at or past
// `segment_count`. A max-reduction without branches, so that it vectorises.
bool SegmentsWithin(const Location* at, size_t n, uint32_t segment_count) {
  uint32_t highest = 0;
  for (size_t i = 0; i < n; ++i) highest = std::max(highest, at[i].segment);
  return n == 0 || highest < segment_count;
}

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// What the writer refuses: a checkpoint the reader would reject at every
// open would silently turn each open into a full scan. Returns a bare
// description; the caller names the file.
std::string CheckSegmentName(std::string_view name) {
  if (name.empty() || name.size() > kMaxSegmentNameLen) return "a segment name is empty or longer than 255 bytes";
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return "a segment name contains '/' or NUL";
  }
  return "";
}

// ------------------------------------------------------------------ writing

// Buffers small fields; large runs of bytes go to the file directly from
// the caller's memory. The checksum covers every byte in file order. Errors
// are sticky: the first one stops all later writes and Finish returns it.
class CheckpointWriter {
 public:
  explicit CheckpointWriter(WritableFile* file) : file_(file) { buffer_.reserve(kWriteBufferSize); }

  void PutBytes(const void* data, size_t n) {
    if (!status_.ok() || n == 0) return;
    if (n >= kDirectSize) {
      Flush();  // keeps the bytes, and the checksum, in file order
      crc_ = Crc32cExtend(crc_, data, n);
      Append(data, n);
      return;
    }
    if (buffer_.size() + n > kWriteBufferSize) Flush();
    buffer_.append(static_cast<const char*>(data), n);
  }
  template <typename T>
  void PutInt(T v) {
    PutBytes(&v, sizeof(v));
  }
  void PutPadded(std::string_view bytes) {
    PutBytes(bytes.data(), bytes.size());
    PutBytes(kZeros, Pad8(bytes.size()) - bytes.size());
  }

  // Writes at[0, n), checking each chunk against `segment_count` just
  // before it is checksummed.
  void PutLocations(const Location* at, size_t n, uint32_t segment_count) {
    for (size_t done = 0; done < n && status_.ok();) {
      const size_t chunk = std::min(n - done, kChunkLocations);
      if (!SegmentsWithin(at + done, chunk, segment_count)) {
        status_ = absl::InternalError(absl::StrCat("a Location names a segment at or past segment ", segment_count));
        return;
      }
      PutBytes(at + done, chunk * sizeof(Location));
      done += chunk;
    }
  }

  // Flushes and appends the trailer (the checksum of everything before it).
  absl::Status Finish() {
    Flush();
    uint8_t trailer[kTrailerSize] = {};
    Put<uint32_t>(trailer, 0, Crc32cMask(crc_));
    if (status_.ok()) Append(trailer, sizeof(trailer));
    return status_;
  }

  uint64_t written() const { return written_; }

 private:
  static constexpr size_t kWriteBufferSize = 256 * 1024;
  static constexpr size_t kDirectSize = 64 * 1024;

  void Flush() {
    if (!status_.ok() || buffer_.empty()) return;
    crc_ = Crc32cExtend(crc_, buffer_.data(), buffer_.size());
    Append(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  void Append(const void* data, size_t n) {
    if (!status_.ok()) return;
    status_ = file_->Append(absl::MakeConstSpan(static_cast<const uint8_t*>(data), n));
    written_ += n;
  }

  WritableFile* const file_;
  std::string buffer_;
  uint32_t crc_ = 0;
  uint64_t written_ = 0;
  absl::Status status_;
};

// The image's parts that need preparing before the file's size is known.
struct PreparedImage {
  std::vector<std::string> stream_ids;  // text form, in image order
  std::vector<std::string> snapshots;   // EncodeSnapshot bytes, in image order
  std::string checkpoints;              // EncodeCheckpointSection of every checkpoint (format 2), or empty
  uint64_t file_size = 0;
};

// Checks what the reader will check (but the per-Location bounds, which
// PutLocations checks as it writes), and sizes the file. A bare description
// on failure.
absl::StatusOr<PreparedImage> PrepareImage(const IndexImage& image) {
  constexpr uint64_t kMaxCount = std::numeric_limits<uint32_t>::max();
  if (image.segments.size() > kMaxCount || image.streams.size() > kMaxCount || image.snapshots.size() > kMaxCount) {
    return absl::InternalError("more than 2^32 - 1 segments, streams or snapshots");
  }
  if (image.last_position < 0 || image.reserved_upto < 0 || image.reclaimable < 0) {
    return absl::InternalError("a negative last position, reservation or reclaimable count");
  }
  PreparedImage out;
  uint64_t size = kHeaderSize;
  for (const SegmentCover& segment : image.segments) {
    if (std::string what = CheckSegmentName(segment.name); !what.empty()) return absl::InternalError(what);
    size += kSegmentFixedSize + Pad8(segment.name.size());
  }
  out.stream_ids.reserve(image.streams.size());
  absl::flat_hash_set<Id> seen;
  seen.reserve(image.streams.size());
  uint64_t events = 0;
  for (const StreamImage& stream : image.streams) {
    std::string id = stream.id.ToString();
    const size_t capacity = stream.events.array == nullptr ? 0 : stream.events.array->capacity();
    if (stream.events.count > capacity) {
      return absl::InternalError(absl::StrCat("stream ", id, " counts more events than its array holds"));
    }
    if (stream.tip <= 0 || static_cast<uint64_t>(stream.tip) < stream.events.count) {
      return absl::InternalError(absl::StrCat("stream ", id, " has tip ", stream.tip, " and ", stream.events.count,
                                              " events"));
    }
    if (absl::StatusOr<Id> parsed = Id::Parse(id); !parsed.ok() || !(*parsed == stream.id)) {
      return absl::InternalError(absl::StrCat("stream ", id, " has an ID that does not survive its text form"));
    }
    if (!seen.insert(stream.id).second) return absl::InternalError(absl::StrCat("stream ", id, " is listed twice"));
    size += kStreamFixedSize + Pad8(id.size()) + uint64_t{sizeof(Location)} * stream.events.count;
    events += stream.events.count;
    out.stream_ids.push_back(std::move(id));
  }
  const size_t global_capacity = image.global.array == nullptr ? 0 : image.global.array->capacity();
  if (image.global.count > global_capacity) {
    return absl::InternalError("the global list counts more events than its array holds");
  }
  if (events != image.global.count) {
    return absl::InternalError(
        absl::StrCat("the streams hold ", events, " events but the global list ", image.global.count));
  }
  size += uint64_t{sizeof(Location)} * image.global.count;
  out.snapshots.reserve(image.snapshots.size());
  for (const std::shared_ptr<const Snapshot>& snapshot : image.snapshots) {
    if (snapshot == nullptr) return absl::InternalError("a snapshot is null");
    std::string encoded = EncodeSnapshot(*snapshot);
    if (encoded.size() > kMaxCount) return absl::InternalError("a snapshot encodes to 4 GiB or more");
    size += kSnapshotFixedSize + Pad8(encoded.size());
    out.snapshots.push_back(std::move(encoded));
  }
  if (image.checkpoints.size() > kMaxCount) return absl::InternalError("more than 2^32 - 1 checkpoints");
  if (!image.checkpoints.empty()) {
    std::vector<CheckpointOp> ops;
    ops.reserve(image.checkpoints.size());
    for (const Checkpoint& c : image.checkpoints) {
      if (!ops.empty() && ops.back().projection_id >= c.projection_id) {
        return absl::InternalError("checkpoints are not in ascending ID order");
      }
      if (!CheckProjectionId(c.projection_id).ok() || c.position < 0 || c.updated_at_ns < 0) {
        return absl::InternalError(absl::StrCat("checkpoint ", c.projection_id, " would not read back"));
      }
      ops.push_back(CheckpointOp{false, c.projection_id, c.position, c.updated_at_ns});
    }
    out.checkpoints = EncodeCheckpointSection(ops);
    size += 8 + out.checkpoints.size();
  }
  out.file_size = size + kTrailerSize;
  return out;
}

void WriteHeader(const IndexImage& image, const PreparedImage& prepared, CheckpointWriter* writer) {
  uint8_t header[kHeaderSize] = {};
  std::memcpy(header, kIndexCheckpointMagic, sizeof(kIndexCheckpointMagic));
  Put<uint32_t>(header, kVersionAt, kIndexCheckpointVersion);
  Put<uint32_t>(header, kPreambleCrcAt, PreambleCrc(header));
  Put<uint64_t>(header, kFileSizeAt, prepared.file_size);
  Put<uint64_t>(header, kGenerationAt, image.generation);
  Put<int64_t>(header, kLastPositionAt, image.last_position);
  Put<int64_t>(header, kReservedAt, image.reserved_upto);
  Put<uint32_t>(header, kSegmentCountAt, static_cast<uint32_t>(image.segments.size()));
  Put<uint32_t>(header, kStreamCountAt, static_cast<uint32_t>(image.streams.size()));
  Put<uint64_t>(header, kGlobalCountAt, image.global.count);
  Put<uint32_t>(header, kSnapshotCountAt, static_cast<uint32_t>(image.snapshots.size()));
  Put<uint32_t>(header, kCheckpointCountAt, static_cast<uint32_t>(image.checkpoints.size()));
  Put<int64_t>(header, kReclaimableAt, image.reclaimable);
  writer->PutBytes(header, sizeof(header));
}

absl::Status WriteBody(WritableFile* file, const IndexImage& image, const PreparedImage& prepared) {
  CheckpointWriter writer(file);
  WriteHeader(image, prepared, &writer);
  const uint32_t segment_count = static_cast<uint32_t>(image.segments.size());
  for (const SegmentCover& segment : image.segments) {
    writer.PutInt<uint64_t>(segment.end);
    writer.PutInt<uint64_t>(segment.last_frame);
    writer.PutInt<uint32_t>(static_cast<uint32_t>(segment.name.size()));
    writer.PutInt<uint32_t>(0);
    writer.PutPadded(segment.name);
  }
  for (size_t i = 0; i < image.streams.size(); ++i) {
    const StreamImage& stream = image.streams[i];
    writer.PutInt<int64_t>(stream.tip);
    writer.PutInt<uint64_t>(stream.events.count);
    writer.PutInt<uint32_t>(static_cast<uint32_t>(prepared.stream_ids[i].size()));
    writer.PutInt<uint32_t>(0);
    writer.PutPadded(prepared.stream_ids[i]);
    if (stream.events.count > 0) writer.PutLocations(stream.events.array->data(), stream.events.count, segment_count);
  }
  if (image.global.count > 0) writer.PutLocations(image.global.array->data(), image.global.count, segment_count);
  for (const std::string& snapshot : prepared.snapshots) {
    writer.PutInt<uint32_t>(static_cast<uint32_t>(snapshot.size()));
    writer.PutInt<uint32_t>(0);
    writer.PutPadded(snapshot);
  }
  if (!prepared.checkpoints.empty()) {
    writer.PutInt<uint64_t>(prepared.checkpoints.size());
    writer.PutPadded(prepared.checkpoints);  // a multiple of 8 already
  }
  RETURN_IF_ERROR(writer.Finish());
  if (writer.written() != prepared.file_size) {
    return absl::InternalError(absl::StrCat("wrote ", writer.written(), " bytes, expected ", prepared.file_size));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------ reading

// A bare description of damage; ReadIndexCheckpoint names the file.
absl::Status Damage(std::string_view what) { return absl::DataLossError(ToAbsl(what)); }

// Reads `n` bytes at `offset` into dst, which the Env may fill itself or
// answer from memory of its own.
absl::Status ReadExactly(const RandomAccessFile& file, uint64_t offset, size_t n, uint8_t* dst) {
  ASSIGN_OR_RETURN(absl::Span<const uint8_t> got, file.Read(offset, n, dst));
  if (got.size() != n) return Damage("the file ends early (it shrank while read)");
  if (got.data() != dst && n > 0) std::memcpy(dst, got.data(), n);
  return absl::OkStatus();
}

// Reads the file's body [start, end) in order, extending the checksum over
// every byte handed out. Small reads are served from a buffer; the rest of a
// large one goes straight into the caller's memory.
class CheckpointReader {
 public:
  CheckpointReader(const RandomAccessFile* file, uint64_t start, uint64_t end, uint32_t crc)
      : file_(file), next_(start), end_(end), crc_(crc), buffer_(new uint8_t[kReadBufferSize]) {}

  // Bytes not yet handed out.
  uint64_t remaining() const { return end_ - next_ + (buffer_end_ - buffer_at_); }
  uint32_t crc() const { return crc_; }

  // Callers check sizes against remaining() before they allocate for them;
  // this check catches the rest (an entry's fixed part past the end).
  absl::Status Read(void* out, size_t n) {
    if (n > remaining()) return Damage("an entry runs past the end of the file");
    auto* dst = static_cast<uint8_t*>(out);
    size_t done = std::min(n, buffer_end_ - buffer_at_);
    if (done > 0) std::memcpy(dst, buffer_.get() + buffer_at_, done);
    buffer_at_ += done;
    if (done < n) {
      const size_t rest = n - done;
      if (rest >= kReadBufferSize) {
        RETURN_IF_ERROR(ReadExactly(*file_, next_, rest, dst + done));
        next_ += rest;
      } else {
        const size_t fill = static_cast<size_t>(std::min<uint64_t>(kReadBufferSize, end_ - next_));
        RETURN_IF_ERROR(ReadExactly(*file_, next_, fill, buffer_.get()));
        next_ += fill;
        buffer_at_ = 0;
        buffer_end_ = fill;
        std::memcpy(dst + done, buffer_.get(), rest);
        buffer_at_ = rest;
      }
    }
    crc_ = Crc32cExtend(crc_, dst, n);
    return absl::OkStatus();
  }

 private:
  static constexpr size_t kReadBufferSize = 64 * 1024;

  const RandomAccessFile* const file_;
  uint64_t next_;  // file offset of the first byte not in the buffer
  const uint64_t end_;
  uint32_t crc_;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t buffer_at_ = 0, buffer_end_ = 0;
};

// Reads `count` Locations into a new array of exactly that capacity,
// checking each chunk against `segment_count` while it is in cache.
absl::Status ReadLocations(CheckpointReader* reader, uint64_t count, uint32_t segment_count, std::string_view what,
                           EntryList<Location>* list) {
  if (count > reader->remaining() / sizeof(Location)) {
    return Damage(absl::StrCat(ToAbsl(what), " counts ", count, " events, more than the file holds"));
  }
  const size_t n = static_cast<size_t>(count);
  auto array = std::make_shared<EntryArray<Location>>(n);
  for (size_t done = 0; done < n;) {
    const size_t chunk = std::min(n - done, kChunkLocations);
    Location* at = &(*array)[done];
    RETURN_IF_ERROR(reader->Read(at, chunk * sizeof(Location)));
    if (!SegmentsWithin(at, chunk, segment_count)) {
      return Damage(absl::StrCat(ToAbsl(what), " has a Location naming a segment beyond the ", segment_count,
                                 " the checkpoint lists"));
    }
    done += chunk;
  }
  list->array = std::move(array);
  list->count = n;
  return absl::OkStatus();
}

// Reads `size` bytes and their padding to 8 into out (resized to `size`);
// the padding must be zeros.
absl::Status ReadPadded(CheckpointReader* reader, size_t size, std::string* out) {
  const size_t padded = Pad8(size);
  out->resize(padded);
  RETURN_IF_ERROR(reader->Read(out->data(), padded));
  if (!AllZero(reinterpret_cast<const uint8_t*>(out->data()) + size, padded - size)) {
    return Damage("padding bytes are not zero");
  }
  out->resize(size);
  return absl::OkStatus();
}

absl::StatusOr<IndexImage> ReadBody(CheckpointReader* reader, const uint8_t* header) {
  IndexImage image;
  image.generation = Get<uint64_t>(header, kGenerationAt);
  image.last_position = Get<int64_t>(header, kLastPositionAt);
  image.reserved_upto = Get<int64_t>(header, kReservedAt);
  image.reclaimable = Get<int64_t>(header, kReclaimableAt);
  if (image.last_position < 0 || image.reserved_upto < 0 || image.reclaimable < 0) {
    return Damage("the header has a negative last position, reservation or reclaimable count");
  }
  // Version 1 had a reserved zero where version 2 counts checkpoints.
  const uint32_t checkpoint_count = Get<uint32_t>(header, kCheckpointCountAt);
  if (Get<uint32_t>(header, kVersionAt) < 2 && checkpoint_count != 0) {
    return Damage("the header has a non-zero reserved field");
  }
  const uint32_t segment_count = Get<uint32_t>(header, kSegmentCountAt);
  const uint32_t stream_count = Get<uint32_t>(header, kStreamCountAt);
  const uint64_t global_count = Get<uint64_t>(header, kGlobalCountAt);
  const uint32_t snapshot_count = Get<uint32_t>(header, kSnapshotCountAt);

  if (segment_count > reader->remaining() / kSegmentFixedSize) {
    return Damage(absl::StrCat("the header counts ", segment_count, " segments, more than the file holds"));
  }
  image.segments.reserve(segment_count);
  std::string text;
  for (uint32_t i = 0; i < segment_count; ++i) {
    uint8_t fixed[kSegmentFixedSize];
    RETURN_IF_ERROR(reader->Read(fixed, sizeof(fixed)));
    const uint32_t name_size = Get<uint32_t>(fixed, 16);
    if (Get<uint32_t>(fixed, 20) != 0) return Damage("a segment entry has a non-zero reserved field");
    if (name_size == 0 || name_size > kMaxSegmentNameLen || Pad8(name_size) > reader->remaining()) {
      return Damage(absl::StrCat("segment ", i, " has a name size of ", name_size));
    }
    RETURN_IF_ERROR(ReadPadded(reader, name_size, &text));
    if (std::string what = CheckSegmentName(text); !what.empty()) return Damage(what);
    image.segments.push_back(SegmentCover{text, Get<uint64_t>(fixed, 0), Get<uint64_t>(fixed, 8)});
  }

  if (stream_count > reader->remaining() / kStreamFixedSize) {
    return Damage(absl::StrCat("the header counts ", stream_count, " streams, more than the file holds"));
  }
  image.streams.resize(stream_count);
  absl::flat_hash_set<Id> seen;
  seen.reserve(stream_count);
  uint64_t events = 0;
  for (uint32_t i = 0; i < stream_count; ++i) {
    StreamImage& stream = image.streams[i];
    uint8_t fixed[kStreamFixedSize];
    RETURN_IF_ERROR(reader->Read(fixed, sizeof(fixed)));
    stream.tip = Get<int64_t>(fixed, 0);
    const uint64_t count = Get<uint64_t>(fixed, 8);
    const uint32_t id_size = Get<uint32_t>(fixed, 16);
    if (Get<uint32_t>(fixed, 20) != 0) return Damage("a stream entry has a non-zero reserved field");
    if (id_size == 0 || id_size > kMaxIdTextLen || Pad8(id_size) > reader->remaining()) {
      return Damage(absl::StrCat("stream ", i, " has an ID size of ", id_size));
    }
    RETURN_IF_ERROR(ReadPadded(reader, id_size, &text));
    absl::StatusOr<Id> id = Id::Parse(text);
    if (!id.ok()) return Damage(absl::StrCat("stream ", i, " has a bad ID: ", id.status().message()));
    stream.id = *std::move(id);
    if (stream.tip <= 0 || count > static_cast<uint64_t>(stream.tip)) {
      return Damage(absl::StrCat("stream ", text, " has tip ", stream.tip, " and ", count, " events"));
    }
    if (!seen.insert(stream.id).second) return Damage(absl::StrCat("stream ", text, " is listed twice"));
    RETURN_IF_ERROR(ReadLocations(reader, count, segment_count, absl::StrCat("stream ", text), &stream.events));
    events += count;  // no overflow: each count was bounded by the file's size
  }
  if (events != global_count) {
    return Damage(absl::StrCat("the streams hold ", events, " events but the global list ", global_count));
  }
  RETURN_IF_ERROR(ReadLocations(reader, global_count, segment_count, "the global list", &image.global));

  if (snapshot_count > reader->remaining() / kSnapshotFixedSize) {
    return Damage(absl::StrCat("the header counts ", snapshot_count, " snapshots, more than the file holds"));
  }
  image.snapshots.reserve(snapshot_count);
  std::vector<uint64_t> aligned;  // DecodeSnapshot wants 8-aligned bytes
  for (uint32_t i = 0; i < snapshot_count; ++i) {
    uint8_t fixed[kSnapshotFixedSize];
    RETURN_IF_ERROR(reader->Read(fixed, sizeof(fixed)));
    const uint32_t size = Get<uint32_t>(fixed, 0);
    if (Get<uint32_t>(fixed, 4) != 0) return Damage("a snapshot entry has a non-zero reserved field");
    if (size == 0 || Pad8(size) > reader->remaining()) {
      return Damage(absl::StrCat("snapshot ", i, " has a size of ", size));
    }
    aligned.assign(Pad8(size) / 8, 0);
    auto* bytes = reinterpret_cast<uint8_t*>(aligned.data());
    RETURN_IF_ERROR(reader->Read(bytes, Pad8(size)));
    if (!AllZero(bytes + size, Pad8(size) - size)) return Damage("padding bytes are not zero");
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = DecodeSnapshot(absl::MakeConstSpan(bytes, size));
    if (!snapshot.ok()) return Damage(absl::StrCat("snapshot ", i, ": ", snapshot.status().message()));
    image.snapshots.push_back(*std::move(snapshot));
  }
  if (checkpoint_count > 0) {
    uint8_t fixed[8];
    RETURN_IF_ERROR(reader->Read(fixed, sizeof(fixed)));
    const uint64_t size = Get<uint64_t>(fixed, 0);
    if (size < 8 || size % 8 != 0 || size > reader->remaining()) {
      return Damage(absl::StrCat("the checkpoints have a size of ", size));
    }
    std::string section(size, '\0');
    RETURN_IF_ERROR(reader->Read(reinterpret_cast<uint8_t*>(section.data()), size));
    size_t used = 0;
    absl::StatusOr<std::vector<CheckpointOp>> ops = DecodeCheckpointSection(AsBytes(section), &used);
    if (!ops.ok()) return Damage(ToStd(ops.status().message()));
    if (used != size || ops->size() != checkpoint_count) return Damage("the checkpoints do not match their count");
    image.checkpoints.reserve(ops->size());
    for (const CheckpointOp& op : *ops) {
      if (op.remove) return Damage("a checkpoint entry is a delete");
      if (!image.checkpoints.empty() && image.checkpoints.back().projection_id >= op.projection_id) {
        return Damage("checkpoints are not in ascending ID order");
      }
      image.checkpoints.push_back(Checkpoint{op.projection_id, op.position, op.updated_at_ns});
    }
  }
  if (reader->remaining() != 0) {
    return Damage(absl::StrCat(reader->remaining(), " bytes follow the last entry"));
  }
  return image;
}

// The masked checksum of file[0, end), for telling damage from a writer's
// inconsistency once parsing has failed.
absl::StatusOr<uint32_t> ChecksumFile(const RandomAccessFile& file, uint64_t end) {
  std::vector<uint8_t> buffer(size_t{1} << 20);
  uint32_t crc = 0;
  for (uint64_t at = 0; at < end;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - at));
    RETURN_IF_ERROR(ReadExactly(file, at, n, buffer.data()));
    crc = Crc32cExtend(crc, buffer.data(), n);
    at += n;
  }
  return Crc32cMask(crc);
}

}  // namespace

absl::Status WriteIndexCheckpoint(Env* env, const std::string& path, const IndexImage& image) {
  absl::StatusOr<PreparedImage> prepared = PrepareImage(image);
  if (!prepared.ok()) {
    return absl::InternalError(
        absl::StrCat("index checkpoint ", path, ": the image is inconsistent: ", prepared.status().message()));
  }
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env->NewWritableFile(tmp));
    absl::Status status = WriteBody(file.get(), image, *prepared);
    if (status.code() == absl::StatusCode::kInternal) {
      status = absl::InternalError(
          absl::StrCat("index checkpoint ", path, ": the image is inconsistent: ", status.message()));
    }
    if (status.ok()) status = file->Sync();
    absl::Status closed = file->Close();
    if (status.ok()) status = closed;
    if (!status.ok()) {
      env->DeleteFile(tmp).IgnoreError();
      return status;
    }
  }
  RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(DirName(path));
}

absl::StatusOr<IndexImage> ReadIndexCheckpoint(Env* env, const std::string& path) {
  auto damaged = [&path](std::string_view what) {
    return absl::DataLossError(absl::StrCat("index checkpoint ", path, ": ", ToAbsl(what)));
  };
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, env->NewRandomAccessFile(path));
  ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  if (size < kPreambleSize) return damaged(absl::StrCat("the file is too short (", size, " bytes)"));

  uint8_t header[kHeaderSize] = {};
  const size_t header_bytes = static_cast<size_t>(std::min<uint64_t>(size, kHeaderSize));
  if (absl::Status s = ReadExactly(*file, 0, header_bytes, header); !s.ok()) {
    return s.code() == absl::StatusCode::kDataLoss ? damaged(ToStd(s.message())) : s;
  }
  if (std::memcmp(header, kIndexCheckpointMagic, sizeof(kIndexCheckpointMagic)) != 0) {
    return damaged("the file has no checkpoint magic");
  }
  if (Get<uint32_t>(header, kPreambleCrcAt) != PreambleCrc(header)) {
    return damaged("the preamble's checksum does not match");
  }
  const uint32_t version = Get<uint32_t>(header, kVersionAt);
  if (version > kIndexCheckpointVersion) {
    return absl::UnimplementedError(absl::StrCat("index checkpoint ", path, ": format version ", version,
                                                 " is newer than this library's (", kIndexCheckpointVersion, ")"));
  }
  if (version == 0) return damaged("format version 0");
  if (size < kHeaderSize + kTrailerSize) return damaged(absl::StrCat("the file is too short (", size, " bytes)"));
  const uint64_t declared = Get<uint64_t>(header, kFileSizeAt);
  if (declared != size) {
    return damaged(absl::StrCat("the file holds ", size, " bytes but its header says ", declared,
                                " (truncated or extended)"));
  }

  const uint64_t body_end = size - kTrailerSize;
  uint8_t trailer[kTrailerSize];
  if (absl::Status s = ReadExactly(*file, body_end, kTrailerSize, trailer); !s.ok()) {
    return s.code() == absl::StatusCode::kDataLoss ? damaged(ToStd(s.message())) : s;
  }
  const uint32_t stored_crc = Get<uint32_t>(trailer, 0);
  if (Get<uint32_t>(trailer, 4) != 0) return damaged("the trailer has a non-zero reserved field");

  CheckpointReader reader(file.get(), kHeaderSize, body_end, Crc32c(header, kHeaderSize));
  absl::StatusOr<IndexImage> image = ReadBody(&reader, header);
  if (!image.ok()) {
    if (image.status().code() != absl::StatusCode::kDataLoss) return image.status();
    // Damage usually shows first as a nonsensical field; say which it is
    // when the checksum still matches (a writer's bug, or a crafted file).
    absl::StatusOr<uint32_t> crc = ChecksumFile(*file, body_end);
    if (!crc.ok()) {
      return crc.status().code() == absl::StatusCode::kDataLoss ? damaged(ToStd(crc.status().message())) : crc.status();
    }
    if (*crc != stored_crc) return damaged("the checksum does not match");
    return damaged(ToStd(image.status().message()));
  }
  if (Crc32cMask(reader.crc()) != stored_crc) return damaged("the checksum does not match");
  return image;
}

}  // namespace estoria::core::filelog
