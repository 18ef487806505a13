// The contents of the file log's frames as the store sees them: event
// records checked and summarised, snapshots encoded and decoded. Recovery
// and Verify run every stored byte through these checks, so that a damaged
// or crafted segment whose checksums happen to match still cannot make the
// store read out of bounds.
#ifndef ESTORIA_CORE_FILELOG_FRAME_CONTENT_H_
#define ESTORIA_CORE_FILELOG_FRAME_CONTENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/filelog/segment_scan.h"
#include "core/id/id.h"
#include "core/store/event_store.h"

namespace estoria::core::filelog {

struct RecordInfo {
  Id stream;
  int64_t version = 0;
  int64_t position = 0;
};

// Verifies `record` (8-byte aligned) as a FlatBuffers estoria.fb.Event with
// a valid stream ID, version >= 1 and position >= 1; kDataLoss otherwise.
absl::StatusOr<RecordInfo> CheckEventRecord(absl::Span<const uint8_t> record);

// What a checked compact record (core/store/compact_record.h) says;
// kDataLoss for a version or position below 1.
absl::StatusOr<RecordInfo> CompactRecordInfo(const uint8_t* record);

// A frame's payload decoded and checked (its records as its segment's
// format has them: Frame::format): event records (kEvents: one
// stream, at least one, consecutive versions, ascending positions;
// kTransaction: runs of one stream each, consecutive versions within a
// run, positions ascending across the frame), or a deletion, a snapshot or
// a prune, or checkpoint ops (kCheckpoints: then records as kTransaction,
// possibly none). kDataLoss when anything does not hold.
struct DecodedRecord {
  uint64_t payload_offset = 0;  // of the record itself (a FlatBuffers one: past its prefix)
  uint32_t size = 0;
  RecordInfo info;
};
struct DecodedFrame {
  std::vector<DecodedRecord> records;  // kEvents, kTransaction, kCheckpoints (offsets past the section)
  std::vector<CheckpointOp> checkpoints;  // kCheckpoints
  DeletePayload deletion;              // kDelete
  PrunePayload prune;                  // kPruneSnapshots
  std::shared_ptr<const Snapshot> snapshot;
};
absl::StatusOr<DecodedFrame> DecodeFrame(const Frame& frame);

// Calls fn(span of records) for each run of one stream of `records` (the
// whole of a kEvents frame; each append of a kTransaction frame).
template <typename Fn>
absl::Status ForEachRun(absl::Span<const DecodedRecord> records, Fn fn) {
  size_t begin = 0;
  for (size_t i = 1; i <= records.size(); ++i) {
    if (i == records.size() || !(records[i].info.stream == records[begin].info.stream) ||
        records[i].info.version != records[i - 1].info.version + 1) {
      if (absl::Status s = fn(records.subspan(begin, i - begin)); !s.ok()) return s;
      begin = i;
    }
  }
  return absl::OkStatus();
}

// A snapshot as a FlatBuffers estoria.fb.Snapshot, and back (verified).
std::string EncodeSnapshot(const Snapshot& snapshot);
absl::StatusOr<std::shared_ptr<const Snapshot>> DecodeSnapshot(absl::Span<const uint8_t> payload);

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_FRAME_CONTENT_H_
