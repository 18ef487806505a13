// Copying stored records into compact runs, for code that moves events
// between files (the file log's compaction, which also rewrites the
// FlatBuffers records of older segments this way).
#ifndef ESTORIA_CORE_STORE_RECORD_COPY_H_
#define ESTORIA_CORE_STORE_RECORD_COPY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/id/id.h"
#include "core/store/compact_record.h"
#include "core/store/event_view.h"

namespace estoria::core {

// Appends a run header for `stream` to *out (whose size is a multiple of
// 8) with a count of 0; returns where it begins. SetRunCount it once the
// run's records are appended.
inline size_t AppendRunHeader(const Id& stream, std::string* out) {
  const size_t at = out->size();
  out->resize(at + compact::RunHeaderSize(stream.type.size()));
  compact::WriteRunHeader(reinterpret_cast<uint8_t*>(out->data() + at), stream.uuid.bytes.data(), stream.type, 0);
  return at;
}

// Appends `view`'s event as a compact record of the run that begins at
// (*out)[run_start]: a compact record byte for byte, but for where its run
// header is; a FlatBuffers one rewritten. Versions, positions, IDs and
// stamps are kept.
inline void AppendCompactRecord(const EventView& view, size_t run_start, std::string* out) {
  const size_t at = out->size();
  const auto run_offset = static_cast<uint32_t>(at - run_start);
  if (view.compact()) {
    out->append(reinterpret_cast<const char*>(view.bytes), compact::RecordSpan(view.bytes));
    compact::SetRunOffset(reinterpret_cast<uint8_t*>(out->data() + at), run_offset);
    return;
  }
  const Uuid id = view.id();
  const absl::Span<const uint8_t> data = view.data();
  compact::RecordFields f;
  f.version = view.version();
  f.position = view.position();
  f.timestamp_ns = view.timestamp_ns();
  f.id = id.bytes.data();
  f.data = data.data();
  f.data_size = data.size();
  f.type = view.type();
  f.content_type = view.content_type();
  view.ForEachMetadata([&](const char* key, const char* value) {
    ++f.metadata_count;
    f.metadata_bytes += std::strlen(key) + std::strlen(value);
  });
  out->resize(at + compact::RecordSpanOf(f));
  compact::WriteRecord(reinterpret_cast<uint8_t*>(out->data() + at), run_offset, f, [&](auto&& fn) {
    view.ForEachMetadata([&](const char* key, const char* value) { fn(std::string_view(key), std::string_view(value)); });
  });
}

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_RECORD_COPY_H_
