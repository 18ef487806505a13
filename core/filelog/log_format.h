// The on-disk format of the file log: segment headers and record frames.
// FORMAT.md (beside this file) describes it in prose, with the recovery
// rules; this header is its executable form. Little-endian, as written by
// x86-64 and arm64 hosts.
//
// Pure functions over byte spans: no I/O, no state, usable from any thread.
#ifndef ESTORIA_CORE_FILELOG_LOG_FORMAT_H_
#define ESTORIA_CORE_FILELOG_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/id.h"
#include "core/store/event_view.h"

namespace estoria::core::filelog {

// 2: compaction (MANIFEST, compacted segments, kStreamTip frames).
// 3: compact event records (core/store/compact_record.h) in runs, in place
// of size-prefixed FlatBuffers Events. Stores of versions 1 and 2 open and
// read as they are; new segments are written as version 3, and compaction
// rewrites old ones into it. A segment holds records of one kind only.
inline constexpr uint32_t kFormatVersion = 3;
inline constexpr uint32_t kFirstCompactRecordVersion = 3;

// ---------------------------------------------------------------- segments

inline constexpr size_t kSegmentHeaderSize = 64;
inline constexpr char kSegmentMagic[8] = {'E', 'S', 'T', 'O', 'R', 'I', 'A', 'S'};

struct SegmentHeader {
  uint32_t format_version = kFormatVersion;
  uint64_t sequence = 0;  // 1, 2, 3, ... in log order; also in the file name
};

// The file name of segment `sequence` ("0000000001.log") and its inverse
// (nullopt-like: false when `name` is not a segment's).
std::string SegmentFileName(uint64_t sequence);
bool ParseSegmentFileName(std::string_view name, uint64_t* sequence);

void EncodeSegmentHeader(const SegmentHeader& header, uint8_t out[kSegmentHeaderSize]);
// kDataLoss for a damaged header; kUnimplemented for a newer format version.
absl::StatusOr<SegmentHeader> DecodeSegmentHeader(absl::Span<const uint8_t> bytes);

// The kind of event records a segment of this format version holds.
inline RecordFormat RecordFormatOf(uint32_t format_version) {
  return format_version >= kFirstCompactRecordVersion ? RecordFormat::kCompact : RecordFormat::kFlatbuffers;
}
// The same, from a segment's bytes whose header was checked already.
RecordFormat SegmentRecordFormat(absl::Span<const uint8_t> segment);

// ------------------------------------------------------------------ frames

inline constexpr size_t kFrameHeaderSize = 48;
inline constexpr uint32_t kFrameMagic = 0x4d524645;  // "EFRM"

enum class FrameKind : uint32_t {
  kEvents = 1,         // one append: the batch's Event records
  kDelete = 2,         // a stream deleted or truncated
  kSnapshot = 3,       // a snapshot (a FlatBuffers estoria.fb.Snapshot)
  kPruneSnapshots = 4, // snapshot retention applied
  kReservation = 5,    // no payload: only the header's reserved_upto counts
  // Written by compaction only (format 2): the stream is at version
  // to_version with nothing live up to it (a DeletePayload); it stands for
  // the truncations whose events compaction reclaimed.
  kStreamTip = 6,
  // One transaction: the Event records of appends to several streams, in
  // the transaction's order (format 2 readers of this version on).
  kTransaction = 7,
  // Projection checkpoint saves and deletes (a CheckpointSection), then the
  // Event records of the appends they commit with, laid out as kTransaction
  // (event_count of them; 0 for standalone saves and deletes).
  kCheckpoints = 8,
};

struct FrameHeader {
  FrameKind kind = FrameKind::kEvents;
  uint32_t payload_size = 0;  // bytes, before padding to 8
  uint64_t offset = 0;        // of this frame in its segment
  // Bytes of this segment known durable when the frame was written: damage
  // below it cannot be a torn write.
  uint64_t synced_upto = 0;
  // Global positions up to this one may have been handed out; the next
  // session starts above it.
  int64_t reserved_upto = 0;
  uint32_t payload_crc = 0;   // masked CRC32C of the payload (padding excluded)
  uint32_t event_count = 0;   // kEvents, kTransaction, kCheckpoints: records in the payload
};

// Bytes a frame with `payload_size` bytes of payload takes in the segment.
inline uint64_t FrameSize(uint64_t payload_size) { return kFrameHeaderSize + ((payload_size + 7) & ~uint64_t{7}); }

void EncodeFrameHeader(const FrameHeader& header, uint8_t out[kFrameHeaderSize]);

enum class HeaderCheck { kOk, kZero, kBad };
// Decodes the header at `bytes` (at least kFrameHeaderSize) found at segment
// offset `offset`: kZero for all-zero bytes (unwritten or preallocated),
// kBad for anything else that is not a whole, checksummed header claiming
// that offset and a known kind.
HeaderCheck DecodeFrameHeader(absl::Span<const uint8_t> bytes, uint64_t offset, FrameHeader* header);

uint32_t PayloadCrc(absl::Span<const uint8_t> payload);

// ---------------------------------------------------------------- payloads

// kEvents in format versions 1 and 2: `count` records, each an 8-byte
// prefix (u32 size, u32 0) then a FlatBuffers estoria.fb.Event of that
// size, padded to 8 (so the payload size is a multiple of 8). (Version 3:
// runs of compact records, frame_content.h.) Calls
// fn(record_offset_in_payload, size) for each; kDataLoss when the layout is
// inconsistent (the records themselves are not verified here).
template <typename Fn>
absl::Status ForEachRecord(absl::Span<const uint8_t> payload, uint32_t count, Fn fn);

struct DeletePayload {
  Id stream;
  int64_t to_version = 0;
};
std::string EncodeDelete(const DeletePayload& d);
absl::StatusOr<DeletePayload> DecodeDelete(absl::Span<const uint8_t> payload);

struct PrunePayload {
  Id aggregate;
  int64_t keep_last = 0;
  int64_t min_version = 0;
};
std::string EncodePrune(const PrunePayload& p);
absl::StatusOr<PrunePayload> DecodePrune(absl::Span<const uint8_t> payload);

// kCheckpoints: the section that begins the payload: u32 op count, u32 0,
// then each op: u32 kind (1 save, 2 delete) | u32 ID size (1..kMaxCheckpointIdLen)
// | i64 position | i64 updated_at_ns | ID bytes, zeros to a multiple of 8.
// A delete's position and updated_at_ns are 0.
inline constexpr size_t kMaxCheckpointIdLen = 255;
struct CheckpointOp {
  bool remove = false;
  std::string projection_id;
  int64_t position = 0;
  int64_t updated_at_ns = 0;
};
std::string EncodeCheckpointSection(absl::Span<const CheckpointOp> ops);
// Where op `index`'s updated_at_ns sits in an encoded section (the writer
// stamps saves once their order is known).
size_t CheckpointStampOffset(absl::Span<const CheckpointOp> ops, size_t index);
// Decodes the section at the start of `payload`; *size receives its bytes.
// kDataLoss for a bad layout, op kind, ID (CheckProjectionId) or value.
absl::StatusOr<std::vector<CheckpointOp>> DecodeCheckpointSection(absl::Span<const uint8_t> payload, size_t* size);

// ------------------------------------------------------------- inline code

absl::Status RecordLayoutError(std::string_view what);

template <typename Fn>
absl::Status ForEachRecord(absl::Span<const uint8_t> payload, uint32_t count, Fn fn) {
  size_t at = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (payload.size() - at < 8) return RecordLayoutError("a record prefix runs past the payload");
    uint32_t words[2];
    __builtin_memcpy(words, payload.data() + at, sizeof(words));
    const size_t size = words[0];
    if (words[1] != 0 || size == 0 || size > payload.size() - at - 8) {
      return RecordLayoutError("a record's size does not fit the payload");
    }
    fn(at + 8, size);
    at = (at + 8 + size + 7) & ~size_t{7};
    if (at > payload.size()) return RecordLayoutError("a record's padding runs past the payload");
  }
  if (at != payload.size()) return RecordLayoutError("the payload has bytes after its records");
  return absl::OkStatus();
}

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_LOG_FORMAT_H_
