// BuildEventFlatbuffer: the FlatBuffers estoria.fb.Event of one event, for
// callers that ask for it (est_event_flatbuffer) and for callers older than
// ABI 1.3, whose est_event.fb was always set. Stores that keep compact
// records build it only then; a FlatBuffers record is its own.
#ifndef ESTORIA_CAPI_SRC_EVENT_FLATBUFFER_H_
#define ESTORIA_CAPI_SRC_EVENT_FLATBUFFER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/store/event_view.h"
#include "estoria/estoria.h"
#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::capi {

// The event's fields as FlatBuffers takes them.
struct EventFields {
  std::string_view type;
  const uint8_t* id = nullptr;  // 16 bytes, UUID order
  std::string_view stream_type;
  const uint8_t* stream_uuid = nullptr;
  int64_t stream_version = 0;
  int64_t global_position = 0;
  int64_t timestamp_ns = 0;
  const uint8_t* data = nullptr;
  size_t data_len = 0;
  std::string_view content_type;
};

inline fb::Uuid FlatbufferUuid(const uint8_t* b) {
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (int i = 0; i < 8; ++i) {
    hi = (hi << 8) | b[i];
    lo = (lo << 8) | b[8 + i];
  }
  return fb::Uuid(hi, lo);
}

// Builds the Event into *fbb (cleared first); for_each_metadata(fn) calls
// fn(key, value) for each pair, in key order. Every scalar is written, as a
// stored FlatBuffers record has it (ForceDefaults).
template <typename ForEachMetadata>
void BuildEventFlatbuffer(const EventFields& e, ForEachMetadata&& for_each_metadata,
                          flatbuffers::FlatBufferBuilder* fbb) {
  fbb->Clear();
  fbb->ForceDefaults(true);
  auto type = fbb->CreateString(e.type.data(), e.type.size());
  auto stream_type = fbb->CreateString(e.stream_type.data(), e.stream_type.size());
  fbb->ForceVectorAlignment(e.data_len, sizeof(uint8_t), 8);  // data is force_align: 8
  auto data = fbb->CreateVector(e.data, e.data_len);
  auto content_type = fbb->CreateString(e.content_type.data(), e.content_type.size());
  std::vector<flatbuffers::Offset<fb::KeyValue>> entries;
  for_each_metadata([&](const char* key, const char* value) {
    auto k = fbb->CreateString(key);
    auto v = fbb->CreateString(value);
    entries.push_back(fb::CreateKeyValue(*fbb, k, v));
  });
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>> metadata;
  if (!entries.empty()) metadata = fbb->CreateVector(entries);
  const fb::Uuid id = FlatbufferUuid(e.id);
  const fb::Uuid stream_uuid = FlatbufferUuid(e.stream_uuid);
  fb::EventBuilder out(*fbb);
  out.add_id(&id);
  out.add_type(type);
  out.add_stream_type(stream_type);
  out.add_stream_uuid(&stream_uuid);
  out.add_stream_version(e.stream_version);
  out.add_global_position(e.global_position);
  out.add_timestamp_ns(e.timestamp_ns);
  out.add_data(data);
  out.add_content_type(content_type);
  if (!metadata.IsNull()) out.add_metadata(metadata);
  fbb->Finish(out.Finish());
}

// A stored record's Event.
inline void BuildEventFlatbuffer(const core::EventView& view, flatbuffers::FlatBufferBuilder* fbb) {
  const core::Uuid id = view.id();
  const core::Uuid stream_uuid = view.stream_uuid();
  const absl::Span<const uint8_t> data = view.data();
  EventFields e;
  e.type = view.type();
  e.id = id.bytes.data();
  e.stream_type = view.stream_type();
  e.stream_uuid = stream_uuid.bytes.data();
  e.stream_version = view.version();
  e.global_position = view.position();
  e.timestamp_ns = view.timestamp_ns();
  e.data = data.data();
  e.data_len = data.size();
  e.content_type = view.content_type();
  BuildEventFlatbuffer(e, [&](auto&& fn) { view.ForEachMetadata(fn); }, fbb);
}

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_EVENT_FLATBUFFER_H_
