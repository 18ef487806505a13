// AggregateType: what the aggregate engine needs from the host about one
// kind of aggregate (new state, apply one event, free, and optionally encode
// and decode a state), as a C++ interface. capi/src/aggregate.cc implements it
// over the est_aggregate_type vtable; tests implement it directly.
//
// States are opaque (void*) and owned by the engine between NewState/Decode
// and FreeState. Thread safety: the engine calls a type from many threads at
// once (never on the same state concurrently), and never while holding one of
// its locks.
#ifndef ESTORIA_CORE_AGGREGATE_AGGREGATE_TYPE_H_
#define ESTORIA_CORE_AGGREGATE_AGGREGATE_TYPE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/uuid.h"
#include "core/store/event_view.h"

namespace estoria::core {

class AggregateType {
 public:
  virtual ~AggregateType() = default;

  // The aggregate type name: its streams are "type_uuid".
  virtual const std::string& name() const = 0;
  // A new, empty state for aggregate `id`; never null on OK.
  virtual absl::StatusOr<void*> NewState(const Uuid& id) = 0;
  // Applies one event (a view valid during the call) to `state`.
  virtual absl::Status Apply(void* state, const EventView& event) = 0;
  // Applies `events` in order, stopping at the first failure; *applied is
  // how many were applied. A load hands over a run of events at a time, so a
  // type can pay its per-call costs once a run (the C ABI's type does). The
  // events of a run are all of one stream, the aggregate's.
  virtual absl::Status ApplyEach(void* state, absl::Span<const EventView> events, size_t* applied) {
    for (*applied = 0; *applied < events.size(); ++*applied) {
      absl::Status status = Apply(state, events[*applied]);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }
  // Frees a state from NewState or Decode.
  virtual void FreeState(void* state) = 0;

  // Encode and Decode exist together or not at all; without them there are
  // no snapshots and no cache.
  virtual bool HasCodec() const = 0;
  // Appends the encoded `state` to *out.
  virtual absl::Status Encode(const void* state, std::string* out) = 0;
  // A state from bytes that Encode wrote; never null on OK.
  virtual absl::StatusOr<void*> Decode(absl::Span<const uint8_t> data) = 0;
  // The content type recorded with snapshots ("" when undeclared). A
  // snapshot of another content type is not used.
  virtual const std::string& snapshot_content_type() const = 0;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_AGGREGATE_AGGREGATE_TYPE_H_
