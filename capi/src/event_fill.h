// FillEvent: an est_event view of a stored record (compact, or a FlatBuffers
// Event), shared by the iterators (iter.cc), subscriptions, projections and
// the aggregate engine's apply callback (aggregate.cc). Header-only and
// inline: it is the hot path of every read and every fold. Nothing is
// copied; the view points into the record. The FlatBuffers form of a
// compact record (est_event.fb) is built only for a caller whose est_event
// predates ABI 1.3, which always had it (event_flatbuffer.h).
#ifndef ESTORIA_CAPI_SRC_EVENT_FILL_H_
#define ESTORIA_CAPI_SRC_EVENT_FILL_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "capi/src/event_flatbuffer.h"
#include "core/store/compact_record.h"
#include "core/store/event_view.h"
#include "core/util/host_allocator.h"
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
//
// FlatBuffers trims a vtable after its last present field, so a record
// without metadata (an aggregate's events, typically) has a shorter one. Such
// a vtable is copied, zero-padded to every field this library knows, so that
// no field lookup needs a bound check: one path for every record.
class EventReader {
 public:
  explicit EventReader(const uint8_t* buf)
      : table_(buf + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf)),
        vtable_(table_ - flatbuffers::ReadScalar<flatbuffers::soffset_t>(table_)) {
    const flatbuffers::voffset_t size = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable_);
    if (size < sizeof(padded_)) {
      std::memset(padded_, 0, sizeof(padded_));
      std::memcpy(padded_, vtable_, size);
      vtable_ = padded_;
    }
  }
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // The field's bytes in the table, or nullptr when it is absent.
  const uint8_t* Field(flatbuffers::voffset_t vt) const {
    const flatbuffers::voffset_t offset = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable_ + vt);
    return offset != 0 ? table_ + offset : nullptr;
  }
  // A scalar field; every scalar of Event defaults to 0.
  int64_t Long(flatbuffers::voffset_t vt) const {
    const uint8_t* p = Field(vt);
    return p != nullptr ? flatbuffers::ReadScalar<int64_t>(p) : 0;
  }
  // A string or vector field: its length prefix, or nullptr when absent.
  const uint8_t* Indirect(flatbuffers::voffset_t vt) const {
    const uint8_t* p = Field(vt);
    return p != nullptr ? p + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(p) : nullptr;
  }
  static const char* String(const uint8_t* indirect) {
    return indirect != nullptr ? reinterpret_cast<const char*>(indirect + sizeof(flatbuffers::uoffset_t)) : "";
  }
  static flatbuffers::uoffset_t Length(const uint8_t* indirect) {
    return indirect != nullptr ? flatbuffers::ReadScalar<flatbuffers::uoffset_t>(indirect) : 0;
  }
  // A Uuid struct field (two big-endian halves) as est_uuid bytes.
  void Uuid(flatbuffers::voffset_t vt, est_uuid* out) const {
    const uint8_t* p = Field(vt);
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
  const uint8_t* vtable_;  // the record's, or padded_
  // A slot for every field up to the last one known (metadata), 2-aligned
  // like a vtable.
  alignas(flatbuffers::voffset_t) uint8_t padded_[fb::Event::VT_METADATA + sizeof(flatbuffers::voffset_t)];
};

// Whether the caller's est_event has record and record_len (ABI 1.3): an
// older caller's ends before them and expects fb to be set.
inline bool HasRecordField(const est_event* e) {
  return e->struct_size >= offsetof(est_event, record_len) + sizeof(e->record_len);
}

inline void FillEventFrom(const EventReader& ev, const core::EventView& view, est_event* out) {
  using E = fb::Event;
  const uint8_t* type = ev.Indirect(E::VT_TYPE);
  const uint8_t* stream_type = ev.Indirect(E::VT_STREAM_TYPE);
  const uint8_t* data = ev.Indirect(E::VT_DATA);
  const uint8_t* content_type = ev.Indirect(E::VT_CONTENT_TYPE);
  const uint8_t* metadata = ev.Indirect(E::VT_METADATA);
  out->type = EventReader::String(type);
  ev.Uuid(E::VT_ID, &out->id);
  out->stream_type = EventReader::String(stream_type);
  ev.Uuid(E::VT_STREAM_UUID, &out->stream_uuid);
  out->stream_version = ev.Long(E::VT_STREAM_VERSION);
  out->global_position = ev.Long(E::VT_GLOBAL_POSITION);
  out->timestamp_ns = ev.Long(E::VT_TIMESTAMP_NS);
  out->data = data != nullptr ? data + sizeof(flatbuffers::uoffset_t) : kNoData;
  out->data_len = EventReader::Length(data);
  out->content_type = EventReader::String(content_type);
  out->metadata_count = EventReader::Length(metadata);
  out->fb = view.bytes;
  out->fb_len = view.size;
}

// Every field of a compact record's view but metadata and record; the
// stream's (from the run header) only kWithStream. The run header is found
// before any store: to the compiler a store to *out may alias the record,
// and a later load would wait behind it.
template <bool kWithStream>
inline void FillCompactFields(const core::EventView& view, est_event* out) {
  namespace c = core::compact;
  const uint8_t* r = view.bytes;
  const uint8_t* run = kWithStream ? c::RunHeader(r) : nullptr;
  out->type = c::Type(r);
  std::memcpy(out->id.bytes, c::IdBytes(r), sizeof(out->id.bytes));
  if constexpr (kWithStream) {
    out->stream_type = reinterpret_cast<const char*>(run + c::kRunHeaderFixed);
    std::memcpy(out->stream_uuid.bytes, run, sizeof(out->stream_uuid.bytes));
  }
  out->stream_version = c::Version(r);
  out->global_position = c::Position(r);
  out->timestamp_ns = c::Timestamp(r);
  out->data = c::Data(r);
  out->data_len = c::DataSize(r);
  out->content_type = c::ContentType(r);
  out->metadata_count = c::MetadataCount(r);
  out->fb = nullptr;
  out->fb_len = 0;
}

inline void SetRecord(const core::EventView& view, est_event* out) {
  if (HasRecordField(out)) {
    out->record = view.bytes;
    out->record_len = view.size;
  }
}

}  // namespace internal

// What the views handed out by one call keep beside the records: their
// metadata arrays, and the FlatBuffers form of compact records for callers
// older than ABI 1.3. From the host's allocator (est_set_allocator).
struct EventScratch {
  core::HostVector<est_metadata_pair> pairs;
  core::HostVector<uint64_t> fb_words;  // 8-byte aligned FlatBuffers Events, back to back
  struct Span {
    size_t word;   // where one begins in fb_words
    size_t bytes;  // its size
  };
  core::HostVector<Span> fb_spans;
  flatbuffers::FlatBufferBuilder fbb{256, core::HostFlatbuffersAllocator()};
};

namespace internal {

// Every field but metadata (and fb, for an older caller of a compact
// record); a compact record's stream fields only kWithStream.
template <bool kWithStream>
inline void FillViewFields(const core::EventView& view, est_event* out) {
  if (view.compact()) {
    FillCompactFields<kWithStream>(view, out);
  } else {
    const EventReader ev(view.bytes);
    FillEventFrom(ev, view, out);
  }
  SetRecord(view, out);
}

}  // namespace internal

// Fills *out (whose struct_size was checked) from a stored record, but for
// out->metadata (FillMetadata) and, for an older caller of a compact record,
// out->fb (FillFlatbuffers).
inline void FillEvent(const core::EventView& view, est_event* out) { internal::FillViewFields<true>(view, out); }

// For a run of views of one stream, as the aggregate engine hands them to an
// apply callback: FillEvent for the run's first view, then FillEventOfStream
// for each view into the same *out, whose stream fields that first fill set.
// A compact record finds its stream through its run header: two dependent
// loads per event that a fold, whose events are all its aggregate's, skips.
// A FlatBuffers record is filled whole.
inline void FillEventOfStream(const core::EventView& view, est_event* out) {
  internal::FillViewFields<false>(view, out);
}

// Whether the caller's est_event has the metadata pointer (ABI 1.1): an
// older caller's struct ends before it and must not be written there.
inline bool HasMetadataField(const est_event* e) {
  return e->struct_size >= offsetof(est_event, metadata) + sizeof(e->metadata);
}

namespace internal {

// The pairs of an event with metadata, into pairs[0, count).
inline void FillMetadataPairs(const core::EventView& view, est_metadata_pair* pairs) {
  if (view.compact()) {
    // A pair is its key's pointer then its value's, as the strings come.
    static_assert(sizeof(est_metadata_pair) == 2 * sizeof(const char*) &&
                  offsetof(est_metadata_pair, value) == sizeof(const char*));
    auto* strings = reinterpret_cast<unsigned char*>(pairs);
    core::compact::ForEachMetadataString(view.bytes, [strings](size_t k, const char* s) {
      std::memcpy(strings + k * sizeof(const char*), &s, sizeof(s));
    });
  } else {
    est_metadata_pair* next = pairs;
    view.ForEachMetadata([&](const char* key, const char* value) { *next++ = {key, value}; });
  }
}

}  // namespace internal

// Points out->metadata (REQUIRES: HasMetadataField(out), and out filled by
// FillEvent) at pairs[0, out->metadata_count), which it fills from the
// record; NULL when the event has no metadata. `pairs` must stay put as long
// as the view is valid.
// Inline where it is called: most events of a fold have no metadata, and a
// call per event only to find that out was a tenth of a fold's time.
[[gnu::always_inline]] inline void FillMetadata(const core::EventView& view, est_event* out,
                                                est_metadata_pair* pairs) {
  if (out->metadata_count == 0) {
    out->metadata = nullptr;
    return;
  }
  internal::FillMetadataPairs(view, pairs);
  out->metadata = pairs;
}

// For callers older than ABI 1.3 (REQUIRES: !HasRecordField(events[i])):
// builds the FlatBuffers form of the compact records among views[0, n) into
// scratch and points their events' fb at it; FlatBuffers records already
// have it. `events` strides by events[0].struct_size.
inline void FillFlatbuffers(const core::EventView* views, size_t n, est_event* events, EventScratch* scratch) {
  const uint32_t stride = events->struct_size;
  scratch->fb_words.clear();
  scratch->fb_spans.clear();
  for (size_t i = 0; i < n; ++i) {
    if (!views[i].compact()) continue;
    BuildEventFlatbuffer(views[i], &scratch->fbb);
    const size_t at = scratch->fb_words.size();
    scratch->fb_spans.push_back({at, scratch->fbb.GetSize()});
    scratch->fb_words.resize(at + (scratch->fbb.GetSize() + 7) / 8);  // zero-filled padding
    std::memcpy(scratch->fb_words.data() + at, scratch->fbb.GetBufferPointer(), scratch->fbb.GetSize());
  }
  // Pointers taken once every buffer is in place (the vector has stopped growing).
  size_t k = 0;
  unsigned char* slot = reinterpret_cast<unsigned char*>(events);
  for (size_t i = 0; i < n; ++i, slot += stride) {
    if (!views[i].compact()) continue;
    auto* event = reinterpret_cast<est_event*>(slot);
    const EventScratch::Span& span = scratch->fb_spans[k++];
    event->fb = reinterpret_cast<const uint8_t*>(scratch->fb_words.data() + span.word);
    event->fb_len = span.bytes;
  }
}

namespace internal {

// Moves the pairs to a larger array (at least `need`), pointing the
// metadata of the events already filled, events[0, filled), at their new
// place. Rare: the array is kept from call to call.
inline void GrowPairs(size_t need, est_event* events, size_t filled, core::HostVector<est_metadata_pair>* pairs) {
  const est_metadata_pair* old = pairs->data();
  pairs->resize(std::max(need, 2 * pairs->size()));
  const uint32_t stride = events->struct_size;
  unsigned char* slot = reinterpret_cast<unsigned char*>(events);
  for (size_t i = 0; i < filled; ++i, slot += stride) {
    auto* event = reinterpret_cast<est_event*>(slot);
    if (event->metadata != nullptr) event->metadata = pairs->data() + (event->metadata - old);
  }
}

}  // namespace internal

// Fills the caller's array `events`, whose stride is events[0].struct_size
// (checked by the caller), with views[0, n): each element gets that
// struct_size (so that it can be passed back as one the library filled)
// and, where the caller's struct has the field, its metadata array, all
// kept in scratch->pairs, which must stay put until the views expire. One
// pass: a batch of est_event is bigger than the L2 cache, and a second pass
// for the metadata read it back from further away.
inline void FillEvents(const core::EventView* views, size_t n, est_event* events, EventScratch* scratch) {
  if (n == 0) return;
  const uint32_t stride = events->struct_size;
  const bool with_metadata = HasMetadataField(events);
  core::HostVector<est_metadata_pair>* pairs = &scratch->pairs;
  size_t used = 0;
  unsigned char* slot = reinterpret_cast<unsigned char*>(events);
  for (size_t i = 0; i < n; ++i, slot += stride) {
    std::memcpy(slot, &stride, sizeof(uint32_t));
    auto* event = reinterpret_cast<est_event*>(slot);
    FillEvent(views[i], event);
    if (!with_metadata) continue;
    const size_t count = event->metadata_count;
    if (used + count > pairs->size()) internal::GrowPairs(used + count, events, i, pairs);
    FillMetadata(views[i], event, pairs->data() + used);
    used += count;
  }
  if (!internal::HasRecordField(events)) FillFlatbuffers(views, n, events, scratch);
}

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_EVENT_FILL_H_
