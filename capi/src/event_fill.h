// FillEvent: an est_event view of a stored FlatBuffers Event record, shared
// by the iterators (iter.cc) and the aggregate engine's apply callback
// (aggregate.cc). Header-only and inline: it is the hot path of every read
// and every fold. Nothing is copied; the view points into the record.
#ifndef ESTORIA_CAPI_SRC_EVENT_FILL_H_
#define ESTORIA_CAPI_SRC_EVENT_FILL_H_

#include <bit>
#include <cstdint>
#include <cstring>

#include "core/store/event_view.h"
#include "estoria/estoria.h"
#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::capi {
namespace internal {

// What `data` points at for an event without data: never NULL.
inline constexpr uint8_t kNoData[1] = {0};

// Reads one stored Event record with its vtable looked up once. The generic
// accessors re-read the vtable for every field, and with the stores into the
// caller's est_event in between the compiler cannot share those loads: this
// is the hot path of every read (see bench/), so the fields are decoded here
// by their generated VT_* offsets. The record was verified when stored.
class EventReader {
 public:
  explicit EventReader(const uint8_t* buf)
      : table_(buf + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf)),
        vtable_(table_ - flatbuffers::ReadScalar<flatbuffers::soffset_t>(table_)),
        vtable_size_(flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable_)) {}

  // True when the vtable has a slot for every field this library knows (a
  // record written by this version): Field<true> then skips the bound check.
  bool Complete() const { return vtable_size_ > fb::Event::VT_METADATA; }

  // The field's bytes in the table, or nullptr when it is absent.
  template <bool kComplete>
  const uint8_t* Field(flatbuffers::voffset_t vt) const {
    if (!kComplete && vt >= vtable_size_) return nullptr;
    const flatbuffers::voffset_t offset = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable_ + vt);
    return offset != 0 ? table_ + offset : nullptr;
  }
  // A scalar field; every scalar of Event defaults to 0.
  template <bool kComplete>
  int64_t Long(flatbuffers::voffset_t vt) const {
    const uint8_t* p = Field<kComplete>(vt);
    return p != nullptr ? flatbuffers::ReadScalar<int64_t>(p) : 0;
  }
  // A string or vector field: its length prefix, or nullptr when absent.
  template <bool kComplete>
  const uint8_t* Indirect(flatbuffers::voffset_t vt) const {
    const uint8_t* p = Field<kComplete>(vt);
    return p != nullptr ? p + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(p) : nullptr;
  }
  static const char* String(const uint8_t* indirect) {
    return indirect != nullptr ? reinterpret_cast<const char*>(indirect + sizeof(flatbuffers::uoffset_t)) : "";
  }
  static flatbuffers::uoffset_t Length(const uint8_t* indirect) {
    return indirect != nullptr ? flatbuffers::ReadScalar<flatbuffers::uoffset_t>(indirect) : 0;
  }
  // A Uuid struct field (two big-endian halves) as est_uuid bytes.
  template <bool kComplete>
  void Uuid(flatbuffers::voffset_t vt, est_uuid* out) const {
    const uint8_t* p = Field<kComplete>(vt);
    uint64_t halves[2] = {0, 0};
    if (p != nullptr) {
      halves[0] = ToBigEndian(flatbuffers::ReadScalar<uint64_t>(p));
      halves[1] = ToBigEndian(flatbuffers::ReadScalar<uint64_t>(p + sizeof(uint64_t)));
    }
    std::memcpy(out->bytes, halves, sizeof(halves));
  }

 private:
  static uint64_t ToBigEndian(uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
    return v;
  }

  const uint8_t* table_;
  const uint8_t* vtable_;
  flatbuffers::voffset_t vtable_size_;
};

template <bool kComplete>
inline void FillEventFrom(const EventReader& ev, const core::EventView& view, est_event* out) {
  using E = fb::Event;
  const uint8_t* type = ev.Indirect<kComplete>(E::VT_TYPE);
  const uint8_t* stream_type = ev.Indirect<kComplete>(E::VT_STREAM_TYPE);
  const uint8_t* data = ev.Indirect<kComplete>(E::VT_DATA);
  const uint8_t* content_type = ev.Indirect<kComplete>(E::VT_CONTENT_TYPE);
  const uint8_t* metadata = ev.Indirect<kComplete>(E::VT_METADATA);
  out->type = EventReader::String(type);
  ev.Uuid<kComplete>(E::VT_ID, &out->id);
  out->stream_type = EventReader::String(stream_type);
  ev.Uuid<kComplete>(E::VT_STREAM_UUID, &out->stream_uuid);
  out->stream_version = ev.Long<kComplete>(E::VT_STREAM_VERSION);
  out->global_position = ev.Long<kComplete>(E::VT_GLOBAL_POSITION);
  out->timestamp_ns = ev.Long<kComplete>(E::VT_TIMESTAMP_NS);
  out->data = data != nullptr ? data + sizeof(flatbuffers::uoffset_t) : kNoData;
  out->data_len = EventReader::Length(data);
  out->content_type = EventReader::String(content_type);
  out->metadata_count = EventReader::Length(metadata);
  out->fb = view.fb;
  out->fb_len = view.size;
}

}  // namespace internal

// Fills *out (whose struct_size was checked) from a stored Event record.
inline void FillEvent(const core::EventView& view, est_event* out) {
  const internal::EventReader ev(view.fb);
  if (ev.Complete()) {
    internal::FillEventFrom<true>(ev, view, out);
  } else {
    internal::FillEventFrom<false>(ev, view, out);
  }
}

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_EVENT_FILL_H_
