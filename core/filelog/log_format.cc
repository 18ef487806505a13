#include "core/filelog/log_format.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/store/store_checks.h"
#include "core/util/crc32c.h"
#include "core/util/little_endian.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

using little_endian::Get;
using little_endian::Put;

// Segment header layout: magic[8] | u32 format_version | u32 crc | u64 sequence | zeros to 64.
constexpr size_t kSegVersionAt = 8, kSegCrcAt = 12, kSegSequenceAt = 16;
// Frame header layout: u32 magic | u32 header_crc | u32 kind | u32 payload_size | u64 offset |
// u64 synced_upto | i64 reserved_upto | u32 payload_crc | u32 event_count.
constexpr size_t kMagicAt = 0, kHeaderCrcAt = 4, kKindAt = 8, kPayloadSizeAt = 12, kOffsetAt = 16,
                 kSyncedAt = 24, kReservedAt = 32, kPayloadCrcAt = 40, kCountAt = 44;

uint32_t SegmentHeaderCrc(const uint8_t* bytes) {
  uint8_t copy[kSegmentHeaderSize];
  std::memcpy(copy, bytes, kSegmentHeaderSize);
  Put<uint32_t>(copy, kSegCrcAt, 0);
  return Crc32cMask(Crc32c(copy, kSegmentHeaderSize));
}

// The frame header's checksum covers everything after its own field.
uint32_t FrameHeaderCrc(const uint8_t* bytes) {
  return Crc32cMask(Crc32c(bytes + kKindAt, kFrameHeaderSize - kKindAt));
}

bool KnownKind(uint32_t kind) { return kind >= 1 && kind <= 8; }

// Payloads of deletions and prunes: u64 uuid hi | u64 uuid lo | i64 a | i64 b | u32 type size | type.
std::string EncodeIdAndTwo(const Id& id, int64_t a, int64_t b) {
  std::string out(36 + id.type.size(), '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  Put<uint64_t>(p, 0, id.uuid.Hi());
  Put<uint64_t>(p, 8, id.uuid.Lo());
  Put<int64_t>(p, 16, a);
  Put<int64_t>(p, 24, b);
  Put<uint32_t>(p, 32, static_cast<uint32_t>(id.type.size()));
  std::memcpy(p + 36, id.type.data(), id.type.size());
  return out;
}

absl::Status DecodeIdAndTwo(absl::Span<const uint8_t> payload, Id* id, int64_t* a, int64_t* b) {
  if (payload.size() < 36) return absl::DataLossError("a deletion or prune record is too short");
  const uint8_t* p = payload.data();
  const uint32_t type_size = Get<uint32_t>(p, 32);
  if (type_size != payload.size() - 36) return absl::DataLossError("a deletion or prune record has a bad size");
  id->type.assign(reinterpret_cast<const char*>(p + 36), type_size);
  id->uuid = Uuid::FromHiLo(Get<uint64_t>(p, 0), Get<uint64_t>(p, 8));
  *a = Get<int64_t>(p, 16);
  *b = Get<int64_t>(p, 24);
  if (absl::Status s = ValidateTypeName(id->type, "stream type"); !s.ok()) {
    return absl::DataLossError(absl::StrCat("a deletion or prune record names a bad stream: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string SegmentFileName(uint64_t sequence) { return absl::StrFormat("%010u.log", sequence); }

bool ParseSegmentFileName(std::string_view name, uint64_t* sequence) {
  if (name.size() != 14 || name.substr(10) != ".log") return false;
  uint64_t n = 0;
  for (char c : name.substr(0, 10)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0) return false;
  *sequence = n;
  return true;
}

void EncodeSegmentHeader(const SegmentHeader& header, uint8_t out[kSegmentHeaderSize]) {
  std::memset(out, 0, kSegmentHeaderSize);
  std::memcpy(out, kSegmentMagic, sizeof(kSegmentMagic));
  Put<uint32_t>(out, kSegVersionAt, header.format_version);
  Put<uint64_t>(out, kSegSequenceAt, header.sequence);
  Put<uint32_t>(out, kSegCrcAt, SegmentHeaderCrc(out));
}

RecordFormat SegmentRecordFormat(absl::Span<const uint8_t> segment) {
  if (segment.size() < kSegmentHeaderSize) return RecordFormat::kCompact;
  return RecordFormatOf(Get<uint32_t>(segment.data(), kSegVersionAt));
}

absl::StatusOr<SegmentHeader> DecodeSegmentHeader(absl::Span<const uint8_t> bytes) {
  if (bytes.size() < kSegmentHeaderSize) return absl::DataLossError("the segment header is cut short");
  if (std::memcmp(bytes.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return absl::DataLossError("the segment header has no estoria magic");
  }
  SegmentHeader header;
  header.format_version = Get<uint32_t>(bytes.data(), kSegVersionAt);
  header.sequence = Get<uint64_t>(bytes.data(), kSegSequenceAt);
  // The version is read before the checksum: a newer format may checksum its
  // header differently, and must be reported as newer, not as damaged.
  if (header.format_version > kFormatVersion) {
    return absl::UnimplementedError(absl::StrCat("format version ", header.format_version,
                                                 " is newer than this library's (", kFormatVersion, ")"));
  }
  if (Get<uint32_t>(bytes.data(), kSegCrcAt) != SegmentHeaderCrc(bytes.data())) {
    return absl::DataLossError("the segment header's checksum does not match");
  }
  if (header.format_version == 0) return absl::DataLossError("the segment header has format version 0");
  return header;
}

void EncodeFrameHeader(const FrameHeader& header, uint8_t out[kFrameHeaderSize]) {
  Put<uint32_t>(out, kMagicAt, kFrameMagic);
  Put<uint32_t>(out, kKindAt, static_cast<uint32_t>(header.kind));
  Put<uint32_t>(out, kPayloadSizeAt, header.payload_size);
  Put<uint64_t>(out, kOffsetAt, header.offset);
  Put<uint64_t>(out, kSyncedAt, header.synced_upto);
  Put<int64_t>(out, kReservedAt, header.reserved_upto);
  Put<uint32_t>(out, kPayloadCrcAt, header.payload_crc);
  Put<uint32_t>(out, kCountAt, header.event_count);
  Put<uint32_t>(out, kHeaderCrcAt, FrameHeaderCrc(out));
}

HeaderCheck DecodeFrameHeader(absl::Span<const uint8_t> bytes, uint64_t offset, FrameHeader* header) {
  const uint8_t* p = bytes.data();
  bool zero = true;
  for (size_t i = 0; i < kFrameHeaderSize; ++i) zero &= p[i] == 0;
  if (zero) return HeaderCheck::kZero;
  if (Get<uint32_t>(p, kMagicAt) != kFrameMagic) return HeaderCheck::kBad;
  if (Get<uint32_t>(p, kHeaderCrcAt) != FrameHeaderCrc(p)) return HeaderCheck::kBad;
  const uint32_t kind = Get<uint32_t>(p, kKindAt);
  if (!KnownKind(kind) || Get<uint64_t>(p, kOffsetAt) != offset) return HeaderCheck::kBad;
  header->kind = static_cast<FrameKind>(kind);
  header->payload_size = Get<uint32_t>(p, kPayloadSizeAt);
  header->offset = offset;
  header->synced_upto = Get<uint64_t>(p, kSyncedAt);
  header->reserved_upto = Get<int64_t>(p, kReservedAt);
  header->payload_crc = Get<uint32_t>(p, kPayloadCrcAt);
  header->event_count = Get<uint32_t>(p, kCountAt);
  return HeaderCheck::kOk;
}

uint32_t PayloadCrc(absl::Span<const uint8_t> payload) {
  return Crc32cMask(Crc32c(payload.data(), payload.size()));
}

std::string EncodeDelete(const DeletePayload& d) { return EncodeIdAndTwo(d.stream, d.to_version, 0); }

absl::StatusOr<DeletePayload> DecodeDelete(absl::Span<const uint8_t> payload) {
  DeletePayload d;
  int64_t unused = 0;
  RETURN_IF_ERROR(DecodeIdAndTwo(payload, &d.stream, &d.to_version, &unused));
  if (d.to_version < 0) return absl::DataLossError("a deletion record has a negative version");
  return d;
}

std::string EncodePrune(const PrunePayload& p) { return EncodeIdAndTwo(p.aggregate, p.keep_last, p.min_version); }

absl::StatusOr<PrunePayload> DecodePrune(absl::Span<const uint8_t> payload) {
  PrunePayload p;
  RETURN_IF_ERROR(DecodeIdAndTwo(payload, &p.aggregate, &p.keep_last, &p.min_version));
  if (p.keep_last < 0 || p.min_version < 0) return absl::DataLossError("a prune record has a negative bound");
  return p;
}

namespace {
constexpr size_t kCheckpointOpFixed = 24;
size_t CheckpointOpSize(size_t id_size) { return kCheckpointOpFixed + ((id_size + 7) & ~size_t{7}); }
}  // namespace

std::string EncodeCheckpointSection(absl::Span<const CheckpointOp> ops) {
  size_t size = 8;
  for (const CheckpointOp& op : ops) size += CheckpointOpSize(op.projection_id.size());
  std::string out(size, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  Put<uint32_t>(p, 0, static_cast<uint32_t>(ops.size()));
  size_t at = 8;
  for (const CheckpointOp& op : ops) {
    Put<uint32_t>(p, at, op.remove ? 2 : 1);
    Put<uint32_t>(p, at + 4, static_cast<uint32_t>(op.projection_id.size()));
    Put<int64_t>(p, at + 8, op.position);
    Put<int64_t>(p, at + 16, op.updated_at_ns);
    std::memcpy(p + at + kCheckpointOpFixed, op.projection_id.data(), op.projection_id.size());
    at += CheckpointOpSize(op.projection_id.size());
  }
  return out;
}

size_t CheckpointStampOffset(absl::Span<const CheckpointOp> ops, size_t index) {
  size_t at = 8;
  for (size_t i = 0; i < index; ++i) at += CheckpointOpSize(ops[i].projection_id.size());
  return at + 16;
}

absl::StatusOr<std::vector<CheckpointOp>> DecodeCheckpointSection(absl::Span<const uint8_t> payload, size_t* size) {
  auto bad = [](std::string_view what) {
    return absl::DataLossError(absl::StrCat("a checkpoint record: ", ToAbsl(what)));
  };
  if (payload.size() < 8) return bad("shorter than its count");
  const uint8_t* p = payload.data();
  const uint32_t count = Get<uint32_t>(p, 0);
  if (Get<uint32_t>(p, 4) != 0) return bad("a non-zero reserved field");
  if (count > (payload.size() - 8) / kCheckpointOpFixed) return bad("more ops than the payload holds");
  std::vector<CheckpointOp> ops(count);
  size_t at = 8;
  for (CheckpointOp& op : ops) {
    if (payload.size() - at < kCheckpointOpFixed) return bad("an op runs past the payload");
    const uint32_t kind = Get<uint32_t>(p, at);
    const uint32_t id_size = Get<uint32_t>(p, at + 4);
    if (kind != 1 && kind != 2) return bad(absl::StrCat("unknown op kind ", kind));
    if (id_size == 0 || id_size > kMaxCheckpointIdLen) return bad("an ID size out of range");
    if (payload.size() - at < CheckpointOpSize(id_size)) return bad("an ID runs past the payload");
    op.remove = kind == 2;
    op.position = Get<int64_t>(p, at + 8);
    op.updated_at_ns = Get<int64_t>(p, at + 16);
    op.projection_id.assign(reinterpret_cast<const char*>(p + at + kCheckpointOpFixed), id_size);
    for (size_t k = at + kCheckpointOpFixed + id_size; k < at + CheckpointOpSize(id_size); ++k) {
      if (p[k] != 0) return bad("non-zero padding");
    }
    if (!CheckProjectionId(op.projection_id).ok()) return bad("an invalid projection ID");
    if (op.position < 0 || op.updated_at_ns < 0 || (op.remove && (op.position != 0 || op.updated_at_ns != 0))) {
      return bad("a bad position or stamp");
    }
    at += CheckpointOpSize(id_size);
  }
  *size = at;
  return ops;
}

absl::Status RecordLayoutError(std::string_view what) {
  return absl::DataLossError(absl::StrCat("event records: ", ToAbsl(what)));
}

}  // namespace estoria::core::filelog
