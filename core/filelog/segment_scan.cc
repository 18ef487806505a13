#include "core/filelog/segment_scan.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core::filelog {
namespace {

// What is at `offset`: a whole frame (kOk), zeros, or damage (with why).
enum class At { kFrame, kZero, kBad };

At FrameAt(absl::Span<const uint8_t> bytes, uint64_t offset, Frame* frame, std::string* why) {
  if (bytes.size() - offset < kFrameHeaderSize) {
    bool zero = true;
    for (uint64_t i = offset; i < bytes.size(); ++i) zero &= bytes[i] == 0;
    if (zero) return At::kZero;
    *why = "a frame header is cut short by the end of the file";
    return At::kBad;
  }
  switch (DecodeFrameHeader(bytes.subspan(offset, kFrameHeaderSize), offset, &frame->header)) {
    case HeaderCheck::kZero:
      return At::kZero;
    case HeaderCheck::kBad:
      *why = "a frame header is damaged";
      return At::kBad;
    case HeaderCheck::kOk:
      break;
  }
  const uint64_t size = FrameSize(frame->header.payload_size);
  if (size > bytes.size() - offset) {
    *why = "a frame runs past the end of the file";
    return At::kBad;
  }
  frame->payload = bytes.subspan(offset + kFrameHeaderSize, frame->header.payload_size);
  frame->format = SegmentRecordFormat(bytes);
  if (PayloadCrc(frame->payload) != frame->header.payload_crc) {
    *why = "a frame's payload checksum does not match";
    return At::kBad;
  }
  return At::kFrame;
}

// The first 8-aligned offset past `from` holding a whole frame that claims
// `damaged` was durable before it was written; 0 when there is none.
uint64_t LaterWitness(absl::Span<const uint8_t> bytes, uint64_t from, uint64_t damaged) {
  for (uint64_t at = (from + 8) & ~uint64_t{7}; at + kFrameHeaderSize <= bytes.size(); at += 8) {
    uint32_t magic;
    std::memcpy(&magic, bytes.data() + at, sizeof(magic));
    if (magic != kFrameMagic) continue;
    Frame frame;
    std::string why;
    if (FrameAt(bytes, at, &frame, &why) == At::kFrame && frame.header.synced_upto > damaged) return at;
  }
  return 0;
}

uint64_t DirtyEnd(absl::Span<const uint8_t> bytes, uint64_t from) {
  uint64_t end = bytes.size();
  while (end > from && bytes[end - 1] == 0) --end;
  return end;
}

}  // namespace

absl::Status CorruptionAt(std::string_view name, uint64_t offset, std::string_view what) {
  return absl::DataLossError(absl::StrCat("segment ", ToAbsl(name), " offset ", offset, ": ", ToAbsl(what)));
}

bool IsScanStop(const absl::Status& status) {
  return absl::IsCancelled(status) || absl::IsDeadlineExceeded(status);
}

absl::StatusOr<uint64_t> ScanFramesFrom(absl::Span<const uint8_t> bytes, std::string_view name, uint64_t start,
                                        const std::function<absl::Status(const Frame&)>& on_frame) {
  uint64_t offset = std::max<uint64_t>(start, kSegmentHeaderSize);
  while (offset < bytes.size()) {
    Frame frame;
    std::string why;
    if (FrameAt(bytes, offset, &frame, &why) != At::kFrame) break;
    if (absl::Status s = on_frame(frame); !s.ok()) return CorruptionAt(name, offset, ToStd(s.message()));
    offset += FrameSize(frame.header.payload_size);
  }
  return offset;
}

absl::Status ScanSegment(absl::Span<const uint8_t> bytes, std::string_view name, bool is_last,
                         const std::function<absl::Status(const Frame&)>& on_frame, ScanResult* result,
                         uint64_t start) {
  *result = ScanResult{};
  uint64_t offset = std::max<uint64_t>(start, kSegmentHeaderSize);
  while (offset < bytes.size()) {
    Frame frame;
    std::string why;
    At at = FrameAt(bytes, offset, &frame, &why);
    if (at == At::kFrame) {
      if (absl::Status s = on_frame(frame); !s.ok()) {
        return IsScanStop(s) ? s : CorruptionAt(name, offset, ToStd(s.message()));
      }
      offset += FrameSize(frame.header.payload_size);
      continue;
    }
    // The end of the frames. Zeros all the way is the clean end of a
    // preallocated (or exactly filled) segment; anything else is damage,
    // torn or not.
    const uint64_t dirty_end = DirtyEnd(bytes, offset);
    if (at == At::kZero && dirty_end <= offset) break;
    if (at == At::kZero) why = "zeros are followed by non-zero bytes";
    if (!is_last) return CorruptionAt(name, offset, why);
    if (uint64_t witness = LaterWitness(bytes, offset, offset); witness != 0) {
      return CorruptionAt(name, offset,
                          absl::StrCat(why, ", and the frame at offset ", witness, " was written after it was durable"));
    }
    result->torn = true;
    result->dirty_end = dirty_end;
    result->torn_reason = why;
    break;
  }
  result->end = std::min<uint64_t>(offset, bytes.size());
  if (!result->torn) result->dirty_end = result->end;
  return absl::OkStatus();
}

}  // namespace estoria::core::filelog
