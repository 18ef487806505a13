// A view of one stored event, owned by whoever handed it out (an iterator):
// either a FlatBuffers estoria.fb.Event (the file store and PostgreSQL keep
// those) or a compact record (core/store/compact_record.h; the memory store).
// The accessors read either, inline: they are the hot path of every fold.
#ifndef ESTORIA_CORE_STORE_EVENT_VIEW_H_
#define ESTORIA_CORE_STORE_EVENT_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/types/span.h"
#include "core/id/uuid.h"
#include "core/store/compact_record.h"
#include "schema/estoria_generated.h"

namespace estoria::core {

enum class RecordFormat : uint8_t {
  kFlatbuffers,  // a FlatBuffers estoria.fb.Event, 8-byte aligned, verified when stored
  kCompact,      // a compact record, 8-byte aligned, checked when stored
};

struct EventView {
  const uint8_t* bytes = nullptr;
  size_t size = 0;  // the record's bytes
  RecordFormat format = RecordFormat::kFlatbuffers;

  bool compact() const { return format == RecordFormat::kCompact; }

  // The FlatBuffers root table. REQUIRES: !compact(). Inline, without the
  // verifier: the root offset is little-endian, as this library's hosts are.
  const fb::Event* event() const {
    uint32_t root;
    std::memcpy(&root, bytes, sizeof(root));
    return reinterpret_cast<const fb::Event*>(bytes + root);
  }

  int64_t version() const { return compact() ? compact::Version(bytes) : event()->stream_version(); }
  int64_t position() const { return compact() ? compact::Position(bytes) : event()->global_position(); }
  int64_t timestamp_ns() const { return compact() ? compact::Timestamp(bytes) : event()->timestamp_ns(); }
  Uuid id() const {
    Uuid out;
    if (compact()) {
      std::memcpy(out.bytes.data(), compact::IdBytes(bytes), out.bytes.size());
    } else if (const fb::Uuid* id = event()->id(); id != nullptr) {
      out = Uuid::FromHiLo(id->hi(), id->lo());
    }
    return out;
  }
  // The strings are NUL-terminated where they lie.
  std::string_view type() const {
    if (compact()) return {compact::Type(bytes), compact::TypeSize(bytes)};
    return Text(event()->type());
  }
  std::string_view stream_type() const {
    if (compact()) return {compact::StreamType(bytes), compact::StreamTypeSize(bytes)};
    return Text(event()->stream_type());
  }
  Uuid stream_uuid() const {
    Uuid out;
    if (compact()) {
      std::memcpy(out.bytes.data(), compact::StreamUuid(bytes), out.bytes.size());
    } else if (const fb::Uuid* id = event()->stream_uuid(); id != nullptr) {
      out = Uuid::FromHiLo(id->hi(), id->lo());
    }
    return out;
  }
  absl::Span<const uint8_t> data() const {
    if (compact()) return {compact::Data(bytes), compact::DataSize(bytes)};
    const auto* d = event()->data();
    return d != nullptr ? absl::Span<const uint8_t>(d->data(), d->size()) : absl::Span<const uint8_t>();
  }
  std::string_view content_type() const {
    return compact() ? std::string_view(compact::ContentType(bytes), compact::ContentTypeSize(bytes))
                     : Text(event()->content_type());
  }
  size_t metadata_count() const {
    if (compact()) return compact::MetadataCount(bytes);
    const auto* m = event()->metadata();
    return m != nullptr ? m->size() : 0;
  }
  // Calls fn(key, value) (NUL-terminated) for each metadata pair, in key order.
  template <typename Fn>
  void ForEachMetadata(Fn&& fn) const {
    if (compact()) return compact::ForEachMetadata(bytes, fn);
    const auto* m = event()->metadata();
    if (m == nullptr) return;
    for (const fb::KeyValue* kv : *m) {
      fn(kv->key() != nullptr ? kv->key()->c_str() : "", kv->value() != nullptr ? kv->value()->c_str() : "");
    }
  }

 private:
  static std::string_view Text(const flatbuffers::String* s) {
    return s != nullptr ? std::string_view(s->c_str(), s->size()) : std::string_view("", 0);
  }
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_EVENT_VIEW_H_
