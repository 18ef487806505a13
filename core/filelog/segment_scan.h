// Reading a segment's frames back, for recovery at open and for Verify:
// finds every whole frame in order and, at the first bad one, decides
// whether it is a torn tail (cut it) or corruption (report it). FORMAT.md
// gives the rule; in short, damage at offset X is corruption when the segment
// is not the last one, or when a later whole frame says that X was already
// durable when it was written (its synced_upto is above X).
//
// Pure functions over bytes already read: no I/O, usable from any thread.
#ifndef ESTORIA_CORE_FILELOG_SEGMENT_SCAN_H_
#define ESTORIA_CORE_FILELOG_SEGMENT_SCAN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/filelog/log_format.h"

namespace estoria::core::filelog {

struct Frame {
  FrameHeader header;
  absl::Span<const uint8_t> payload;  // payload_size bytes, 8-byte aligned when the segment buffer is
  RecordFormat format = RecordFormat::kCompact;  // of the event records, its segment's (log_format.h)
};

struct ScanResult {
  uint64_t end = 0;  // offset just past the last whole frame (kSegmentHeaderSize when none)
  // Set when bytes past `end` are not zeros: a torn tail, [end, dirty_end)
  // to be zeroed before the writer continues at `end`.
  bool torn = false;
  uint64_t dirty_end = 0;
  std::string torn_reason;  // what was found at `end`
};

// Scans segment bytes `bytes` (the whole file, header included, already
// checked) of the segment called `name`. Calls on_frame for each whole frame
// in order; a non-OK status from it stops the scan and is returned as
// kDataLoss naming the segment and the frame's offset, except a stop
// (IsScanStop: kCancelled, kDeadlineExceeded), returned as it is. `is_last`: the
// newest segment, where a torn tail is possible. `start`: the offset of the
// first frame to read (past what an index checkpoint covers).
absl::Status ScanSegment(absl::Span<const uint8_t> bytes, std::string_view name, bool is_last,
                         const std::function<absl::Status(const Frame&)>& on_frame, ScanResult* result,
                         uint64_t start = kSegmentHeaderSize);

// For readers beside a writer: calls on_frame for each whole frame of
// `bytes` from offset `start` on, and stops quietly at the first offset
// without one (bytes the writer has not published are not a reader's to
// judge). Returns the offset past the last whole frame; a non-OK status from
// on_frame is kDataLoss naming the segment and the frame's offset.
absl::StatusOr<uint64_t> ScanFramesFrom(absl::Span<const uint8_t> bytes, std::string_view name, uint64_t start,
                                        const std::function<absl::Status(const Frame&)>& on_frame);

// True for the statuses with which on_frame stops a scan without damage:
// kCancelled (est_store_cancel) and kDeadlineExceeded (a step's budget).
bool IsScanStop(const absl::Status& status);

// kDataLoss "segment NAME offset N: what".
absl::Status CorruptionAt(std::string_view name, uint64_t offset, std::string_view what);

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_SEGMENT_SCAN_H_
