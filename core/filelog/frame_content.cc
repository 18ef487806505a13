#include "core/filelog/frame_content.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/store/compact_record.h"
#include "core/util/status.h"
#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::core::filelog {
namespace {

// Limits for the verifier: a record is one event of at most one batch.
constexpr flatbuffers::uoffset_t kMaxDepth = 16;
constexpr flatbuffers::uoffset_t kMaxTables = 4 * 1024 + 16;

absl::Status CheckId(std::string_view type, const char* what) {
  if (absl::Status s = ValidateTypeName(type, what); !s.ok()) {
    return absl::DataLossError(absl::StrCat("a record has a bad ", what, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecordInfo> CheckEventRecord(absl::Span<const uint8_t> record) {
  if (reinterpret_cast<uintptr_t>(record.data()) % 8 != 0) return absl::InternalError("unaligned event record");
  flatbuffers::Verifier verifier(record.data(), record.size(), kMaxDepth, kMaxTables);
  if (!verifier.VerifyBuffer<fb::Event>(nullptr)) {
    return absl::DataLossError("an event record is not a valid estoria Event");
  }
  const fb::Event* event = flatbuffers::GetRoot<fb::Event>(record.data());
  RecordInfo info;
  info.stream.type = event->stream_type()->str();
  RETURN_IF_ERROR(CheckId(info.stream.type, "stream type"));
  RETURN_IF_ERROR(CheckId(event->type()->string_view(), "event type"));
  if (event->stream_uuid() != nullptr) {
    info.stream.uuid = Uuid::FromHiLo(event->stream_uuid()->hi(), event->stream_uuid()->lo());
  }
  info.version = event->stream_version();
  info.position = event->global_position();
  if (info.version < 1 || info.position < 1) {
    return absl::DataLossError("an event record has a version or position below 1");
  }
  return info;
}

absl::StatusOr<RecordInfo> CompactRecordInfo(const uint8_t* record) {
  RecordInfo info;
  info.stream.type.assign(compact::StreamType(record), compact::StreamTypeSize(record));
  std::memcpy(info.stream.uuid.bytes.data(), compact::StreamUuid(record), info.stream.uuid.bytes.size());
  info.version = compact::Version(record);
  info.position = compact::Position(record);
  if (info.version < 1 || info.position < 1) {
    return absl::DataLossError("an event record has a version or position below 1");
  }
  return info;
}

namespace {

// The records of a format 3 frame: runs of compact records, `count` in all,
// filling `records` (the payload past any checkpoint section, which begins
// `section` bytes into the payload) exactly.
absl::Status DecodeCompactRuns(absl::Span<const uint8_t> records, size_t section, uint32_t count,
                               std::vector<DecodedRecord>* out) {
  if (reinterpret_cast<uintptr_t>(records.data()) % 8 != 0) return absl::InternalError("unaligned event records");
  size_t at = 0;
  while (out->size() < count) {
    size_t size = 0;
    uint32_t n = 0;
    if (absl::Status st = compact::CheckRun(records.subspan(at), &size, &n); !st.ok()) {
      return absl::DataLossError(st.message());
    }
    if (n > count - out->size()) return absl::DataLossError("a frame's runs hold more records than its count");
    const uint8_t* r = records.data() + at + compact::FirstRecordOffset(records.data() + at);
    for (uint32_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(RecordInfo info, CompactRecordInfo(r));
      out->push_back(DecodedRecord{section + static_cast<size_t>(r - records.data()),
                                   static_cast<uint32_t>(compact::Size(r)), std::move(info)});
      r += compact::RecordSpan(r);
    }
    at += size;
  }
  if (at != records.size()) return absl::DataLossError("the payload has bytes after its records");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DecodedFrame> DecodeFrame(const Frame& frame) {
  DecodedFrame out;
  switch (frame.header.kind) {
    case FrameKind::kEvents:
    case FrameKind::kTransaction:
    case FrameKind::kCheckpoints: {
      const bool transaction = frame.header.kind != FrameKind::kEvents;
      size_t section = 0;
      if (frame.header.kind == FrameKind::kCheckpoints) {
        ASSIGN_OR_RETURN(out.checkpoints, DecodeCheckpointSection(frame.payload, &section));
        if (out.checkpoints.empty()) return absl::DataLossError("a checkpoint record holds no ops");
        if (frame.header.event_count == 0 && section != frame.payload.size()) {
          return absl::DataLossError("a checkpoint record has bytes after its ops");
        }
      } else if (frame.header.event_count == 0) {
        return absl::DataLossError("an append record holds no events");
      }
      const absl::Span<const uint8_t> records = frame.payload.subspan(section);
      out.records.reserve(frame.header.event_count);
      const bool compact_records = frame.format == RecordFormat::kCompact;
      if (frame.header.event_count > 0) {
        if (compact_records) {
          RETURN_IF_ERROR(DecodeCompactRuns(records, section, frame.header.event_count, &out.records));
        } else {
          RETURN_IF_ERROR(ForEachRecord(records, frame.header.event_count, [&](size_t offset, size_t size) {
            out.records.push_back(DecodedRecord{section + offset, static_cast<uint32_t>(size), {}});
          }));
        }
      }
      for (size_t i = 0; i < out.records.size(); ++i) {
        DecodedRecord& r = out.records[i];
        if (!compact_records) {
          ASSIGN_OR_RETURN(r.info, CheckEventRecord(frame.payload.subspan(r.payload_offset, r.size)));
        }
        if (i == 0) continue;
        const RecordInfo& prev = out.records[i - 1].info;
        if (r.info.position <= prev.position) {
          return absl::DataLossError("an append record's positions do not ascend");
        }
        // A transaction's next append (another stream, or the same one
        // again) starts a new run, checked against the stream at replay.
        if (transaction) continue;
        if (!(r.info.stream == prev.stream)) return absl::DataLossError("an append record mixes streams");
        if (r.info.version != prev.version + 1) return absl::DataLossError("an append record's versions have a gap");
      }
      return out;
    }
    case FrameKind::kDelete:
    case FrameKind::kStreamTip: {
      ASSIGN_OR_RETURN(out.deletion, DecodeDelete(frame.payload));
      if (frame.header.kind == FrameKind::kStreamTip && out.deletion.to_version <= 0) {
        return absl::DataLossError("a stream tip record without a version");
      }
      return out;
    }
    case FrameKind::kSnapshot: {
      ASSIGN_OR_RETURN(out.snapshot, DecodeSnapshot(frame.payload));
      return out;
    }
    case FrameKind::kPruneSnapshots: {
      ASSIGN_OR_RETURN(out.prune, DecodePrune(frame.payload));
      return out;
    }
    case FrameKind::kReservation:
      if (!frame.payload.empty()) return absl::DataLossError("a reservation record has a payload");
      return out;
  }
  return absl::DataLossError("a record of unknown kind");
}

std::string EncodeSnapshot(const Snapshot& snapshot) {
  flatbuffers::FlatBufferBuilder fbb(256 + snapshot.data.size() + snapshot.content_type.size());
  auto type = fbb.CreateString(snapshot.aggregate_id.type);
  fbb.ForceVectorAlignment(snapshot.data.size(), sizeof(uint8_t), 8);
  auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>(snapshot.data.data()), snapshot.data.size());
  auto content_type = fbb.CreateString(snapshot.content_type);
  const fb::Uuid uuid(snapshot.aggregate_id.uuid.Hi(), snapshot.aggregate_id.uuid.Lo());
  fb::SnapshotBuilder b(fbb);
  b.add_aggregate_type(type);
  b.add_aggregate_uuid(&uuid);
  b.add_version(snapshot.version);
  b.add_timestamp_ns(snapshot.timestamp_ns);
  b.add_data(data);
  b.add_content_type(content_type);
  fbb.Finish(b.Finish());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

absl::StatusOr<std::shared_ptr<const Snapshot>> DecodeSnapshot(absl::Span<const uint8_t> payload) {
  // The payload sits 8-aligned in the segment buffer; copy anyway if not.
  std::vector<uint64_t> aligned;
  const uint8_t* bytes = payload.data();
  if (reinterpret_cast<uintptr_t>(bytes) % 8 != 0) {
    aligned.resize((payload.size() + 7) / 8);
    std::memcpy(aligned.data(), payload.data(), payload.size());
    bytes = reinterpret_cast<const uint8_t*>(aligned.data());
  }
  flatbuffers::Verifier verifier(bytes, payload.size(), kMaxDepth, 16);
  if (!verifier.VerifyBuffer<fb::Snapshot>(nullptr)) {
    return absl::DataLossError("a snapshot record is not a valid estoria Snapshot");
  }
  const fb::Snapshot* in = flatbuffers::GetRoot<fb::Snapshot>(bytes);
  auto out = std::make_shared<Snapshot>();
  if (in->aggregate_type() == nullptr) return absl::DataLossError("a snapshot record has no aggregate type");
  out->aggregate_id.type = in->aggregate_type()->str();
  RETURN_IF_ERROR(CheckId(out->aggregate_id.type, "aggregate type"));
  if (in->aggregate_uuid() != nullptr) {
    out->aggregate_id.uuid = Uuid::FromHiLo(in->aggregate_uuid()->hi(), in->aggregate_uuid()->lo());
  }
  out->version = in->version();
  out->timestamp_ns = in->timestamp_ns();
  if (out->version < 1) return absl::DataLossError("a snapshot record has a version below 1");
  if (in->data() != nullptr) out->data.assign(reinterpret_cast<const char*>(in->data()->data()), in->data()->size());
  if (in->content_type() != nullptr) out->content_type = in->content_type()->str();
  if (out->content_type.find('\0') != std::string::npos) {
    return absl::DataLossError("a snapshot record's content type contains NUL");
  }
  return std::shared_ptr<const Snapshot>(std::move(out));
}

}  // namespace estoria::core::filelog
