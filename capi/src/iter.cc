// Reads: est_read_stream, est_read_all and the est_iter calls. An iterator
// fetches views from its core iterator in chunks (est_iter::kChunk) so that
// est_iter_next is a few loads and stores per event; est_iter_next_batch
// fetches straight into the caller's capacity. est_event views point into
// the store's own memory (the FlatBuffers Event records): nothing is copied.
// An iterator is used from one thread at a time.
#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capi/src/event_fill.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/store/event_store.h"
#include "core/store/event_view.h"
#include "schema/estoria_generated.h"
#include "estoria/estoria.h"

namespace estoria::capi {
namespace {

// Most views one est_iter_next_batch fetches from the core at once.
constexpr size_t kMaxBatchViews = 1024;

inline const char* CStr(const flatbuffers::String* s) { return s != nullptr ? s->c_str() : ""; }

est_status CheckIter(const char* fn, const est_iter* iter) {
  if (iter == nullptr) return FailArg(fn, "iter", "is NULL");
  if (UsedAcrossFork(iter->fork_generation)) return FailFork(fn);
  return EST_OK;
}

// Fetches up to `want` views into iter->views. EST_END (and ended) when the
// core has no more.
est_status Refill(const char* fn, est_iter* iter, size_t want) {
  if (iter->views.size() < want) iter->views.resize(want);
  absl::StatusOr<size_t> n = iter->core->Next(absl::MakeSpan(iter->views.data(), want));
  if (!n.ok()) return FailStatus(fn, n.status());
  iter->pos = 0;
  iter->count = std::min(*n, want);
  if (iter->count == 0) {
    iter->ended = true;
    return EST_END;
  }
  return EST_OK;
}

// The common start of est_iter_next and est_iter_next_batch once the
// arguments are checked: EST_OK when a view is buffered, else why not.
inline est_status Ready(const char* fn, est_iter* iter, size_t want) {
  if (iter->ended) return EST_END;
  // Buffered views stay readable after a close; the contract says CLOSED.
  if (iter->life != nullptr && iter->life->closed.load(std::memory_order_acquire)) {
    return Fail(EST_ERR_CLOSED, fn, "the store is closed");
  }
  if (iter->pos < iter->count) return EST_OK;
  return Refill(fn, iter, want);
}

}  // namespace

est_iter* NewIter(std::unique_ptr<core::EventIterator> it, std::shared_ptr<const StoreLife> life) {
  auto iter = std::make_unique<est_iter>();
  iter->ended = it == nullptr;
  iter->core = std::move(it);
  iter->life = std::move(life);
  return iter.release();
}

}  // namespace estoria::capi

using estoria::capi::CheckIter;
using estoria::capi::FailArg;
using estoria::capi::FailStatus;
using estoria::capi::Guarded;
namespace core = estoria::core;

extern "C" {

EST_API est_status est_read_stream(est_store* store, const char* stream_id, const est_read_options* options,
                                   est_iter** out) {
  static constexpr char kFn[] = "est_read_stream";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "stream_id", stream_id, &id); s != EST_OK) return s;
    est_read_options o = EST_READ_OPTIONS_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "options", options, &o); s != EST_OK) return s;
    core::ReadOptions read;
    switch (o.direction) {
      case EST_FORWARD:
        read.direction = core::Direction::kForward;
        break;
      case EST_REVERSE:
        read.direction = core::Direction::kReverse;
        break;
      default:
        return FailArg(kFn, "options.direction", absl::StrCat(o.direction, " is neither EST_FORWARD nor EST_REVERSE"));
    }
    if (o.after_version < 0) {
      return FailArg(kFn, "options.after_version", absl::StrCat(o.after_version, " is negative"));
    }
    if (o.count < 0) return FailArg(kFn, "options.count", absl::StrCat(o.count, " is negative"));
    if (o.until_timestamp_ns < 0) {
      return FailArg(kFn, "options.until_timestamp_ns", absl::StrCat(o.until_timestamp_ns, " is negative"));
    }
    read.after_version = o.after_version;
    read.count = o.count;
    read.until_timestamp_ns = o.until_timestamp_ns;
    absl::StatusOr<std::unique_ptr<core::EventIterator>> it = store->core->ReadStream(id, read);
    if (!it.ok()) return FailStatus(kFn, it.status());
    *out = estoria::capi::NewIter(*std::move(it), store->life);
    return EST_OK;
  });
}

EST_API est_status est_read_all(est_store* store, const est_read_all_options* options, est_iter** out) {
  static constexpr char kFn[] = "est_read_all";
  return Guarded(kFn, [&]() -> est_status {
    if (out == nullptr) return FailArg(kFn, "out", "is NULL");
    *out = nullptr;
    if (est_status s = estoria::capi::CheckStore(kFn, store); s != EST_OK) return s;
    est_read_all_options o = EST_READ_ALL_OPTIONS_INIT;
    if (est_status s = estoria::capi::ReadOptions(kFn, "options", options, &o); s != EST_OK) return s;
    if (o.after_position < 0) {
      return FailArg(kFn, "options.after_position", absl::StrCat(o.after_position, " is negative"));
    }
    if (o.count < 0) return FailArg(kFn, "options.count", absl::StrCat(o.count, " is negative"));
    if (o.until_timestamp_ns < 0) {
      return FailArg(kFn, "options.until_timestamp_ns", absl::StrCat(o.until_timestamp_ns, " is negative"));
    }
    core::ReadAllOptions read;
    read.after_position = o.after_position;
    read.count = o.count;
    read.until_timestamp_ns = o.until_timestamp_ns;
    absl::StatusOr<std::unique_ptr<core::EventIterator>> it = store->core->ReadAll(read);
    if (!it.ok()) return FailStatus(kFn, it.status());
    *out = estoria::capi::NewIter(*std::move(it), store->life);
    return EST_OK;
  });
}

EST_API est_status est_iter_next(est_iter* iter, est_event* event) {
  static constexpr char kFn[] = "est_iter_next";
  return Guarded(kFn, [&]() -> est_status {
    if (est_status s = CheckIter(kFn, iter); s != EST_OK) return s;
    if (event == nullptr) return FailArg(kFn, "event", "is NULL");
    if (est_status s = estoria::capi::CheckOutput(kFn, "event", event); s != EST_OK) return s;
    if (est_status s = estoria::capi::Ready(kFn, iter, est_iter::kChunk); s != EST_OK) return s;
    const core::EventView* view = &iter->views[iter->pos++];
    estoria::capi::FillEvents(view, 1, event, &iter->scratch);
    return EST_OK;
  });
}

EST_API est_status est_iter_next_batch(est_iter* iter, est_event* events, size_t capacity, size_t* count) {
  static constexpr char kFn[] = "est_iter_next_batch";
  return Guarded(kFn, [&]() -> est_status {
    if (count == nullptr) return FailArg(kFn, "count", "is NULL");
    *count = 0;
    if (est_status s = CheckIter(kFn, iter); s != EST_OK) return s;
    if (events == nullptr) return FailArg(kFn, "events", "is NULL");
    if (capacity == 0) return FailArg(kFn, "capacity", "is 0");
    // events[0].struct_size is the caller's sizeof(est_event): the stride of
    // the array, which a newer caller's larger struct makes wider than ours.
    if (est_status s = estoria::capi::CheckOutput(kFn, "events[0]", events); s != EST_OK) return s;
    const size_t stride = events->struct_size;
    if (stride % alignof(est_event) != 0) {
      return FailArg(kFn, "events[0].struct_size",
                     absl::StrCat(stride, " is not a multiple of ", alignof(est_event), " (the array's stride)"));
    }
    if (est_status s = estoria::capi::Ready(kFn, iter, std::min(capacity, estoria::capi::kMaxBatchViews));
        s != EST_OK) {
      return s;
    }
    const size_t n = std::min(capacity, iter->count - iter->pos);
    estoria::capi::FillEvents(iter->views.data() + iter->pos, n, events, &iter->scratch);
    iter->pos += n;
    *count = n;
    return EST_OK;
  });
}

EST_API est_status est_event_metadata(const est_event* event, size_t index, const char** key, const char** value) {
  static constexpr char kFn[] = "est_event_metadata";
  return Guarded(kFn, [&]() -> est_status {
    if (key == nullptr) return FailArg(kFn, "key", "is NULL");
    if (value == nullptr) return FailArg(kFn, "value", "is NULL");
    *key = nullptr;
    *value = nullptr;
    if (event == nullptr) return FailArg(kFn, "event", "is NULL");
    if (est_status s = estoria::capi::CheckOutput(kFn, "event", event); s != EST_OK) return s;
    if (index >= event->metadata_count) {
      return FailArg(kFn, "index", absl::StrCat(index, " is past the event's ", event->metadata_count, " metadata pairs"));
    }
    // The pairs the library filled (ABI 1.1), else the FlatBuffers record.
    if (estoria::capi::HasMetadataField(event) && event->metadata != nullptr) {
      *key = event->metadata[index].key;
      *value = event->metadata[index].value;
      return EST_OK;
    }
    if (event->fb == nullptr) return FailArg(kFn, "event", "is not a view the library filled (no metadata, fb NULL)");
    const estoria::fb::Event* ev = flatbuffers::GetRoot<estoria::fb::Event>(event->fb);
    const auto* metadata = ev->metadata();
    const size_t n = metadata != nullptr ? metadata->size() : 0;
    if (index >= n) return FailArg(kFn, "index", absl::StrCat(index, " is past the event's ", n, " metadata pairs"));
    const estoria::fb::KeyValue* kv = metadata->Get(static_cast<flatbuffers::uoffset_t>(index));
    *key = estoria::capi::CStr(kv->key());
    *value = estoria::capi::CStr(kv->value());
    return EST_OK;
  });
}

EST_API est_status est_event_flatbuffer(const est_event* event, uint8_t* buf, size_t buf_len, size_t* fb_len) {
  static constexpr char kFn[] = "est_event_flatbuffer";
  return Guarded(kFn, [&]() -> est_status {
    if (fb_len == nullptr) return FailArg(kFn, "fb_len", "is NULL");
    *fb_len = 0;
    if (event == nullptr) return FailArg(kFn, "event", "is NULL");
    if (est_status s = estoria::capi::CheckOutput(kFn, "event", event); s != EST_OK) return s;
    if (buf == nullptr && buf_len != 0) return FailArg(kFn, "buf", "is NULL with a buf_len");
    if (reinterpret_cast<uintptr_t>(buf) % 8 != 0) return FailArg(kFn, "buf", "is not 8-byte aligned");
    if (event->type == nullptr || event->stream_type == nullptr || event->content_type == nullptr ||
        event->data == nullptr) {
      return FailArg(kFn, "event", "is not a view the library filled (a string or the data is NULL)");
    }
    const uint8_t* bytes = event->fb;
    size_t size = event->fb_len;
    flatbuffers::FlatBufferBuilder fbb(256, core::HostFlatbuffersAllocator());
    if (bytes == nullptr) {
      const bool has_pairs = estoria::capi::HasMetadataField(event) && event->metadata != nullptr;
      if (event->metadata_count > 0 && !has_pairs) {
        return FailArg(kFn, "event", "is not a view the library filled (metadata_count without metadata)");
      }
      estoria::capi::EventFields e;
      e.type = event->type;
      e.id = event->id.bytes;
      e.stream_type = event->stream_type;
      e.stream_uuid = event->stream_uuid.bytes;
      e.stream_version = event->stream_version;
      e.global_position = event->global_position;
      e.timestamp_ns = event->timestamp_ns;
      e.data = event->data;
      e.data_len = event->data_len;
      e.content_type = event->content_type;
      estoria::capi::BuildEventFlatbuffer(
          e,
          [&](auto&& fn) {
            for (size_t i = 0; i < event->metadata_count; ++i) fn(event->metadata[i].key, event->metadata[i].value);
          },
          &fbb);
      bytes = fbb.GetBufferPointer();
      size = fbb.GetSize();
    }
    *fb_len = size;
    if (buf == nullptr) return EST_OK;
    if (buf_len < size) return FailArg(kFn, "buf_len", absl::StrCat(buf_len, " is smaller than the ", size, " bytes needed"));
    std::memcpy(buf, bytes, size);
    return EST_OK;
  });
}

EST_API void est_iter_close(est_iter* iter) {
  estoria::capi::GuardedVoid("est_iter_close", [&] {
    if (iter == nullptr) return;
    std::unique_ptr<est_iter> handle(iter);
    if (estoria::capi::UsedAcrossFork(handle->fork_generation)) {
      // See est_store_close: a forked child leaks what its parent owns.
      (void)handle->core.release();
    }
  });
}

}  // extern "C"
