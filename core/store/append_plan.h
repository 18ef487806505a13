// The append plan: what every backend decides for an append, written once.
// Given each stream's current state (through a StreamLookup the backend
// implements under its own lock) and the batches, PlanAppends checks each
// expectation, finds duplicates (idempotent appends), assigns versions and
// positions, checks overflow and fills the results. A backend then only
// stores what the plan says (or nothing) and recovers it.
//
// Idempotent appends (doc/data-model.md "Idempotent appends"). A batch whose events all carry
// caller-set IDs is compared with the stream at its expected place: the
// versions after the expected one (kVersion), the first ones (kNoStream),
// the last ones (kAny, kStreamExists). All IDs there, pairwise in order:
// a duplicate, nothing written, the original versions and positions
// returned with `duplicate` set. Some but not all of them there (pairwise,
// or the batch's first ID in that window, or the window's first ID in the
// batch: a retry that overlaps the original by a shift): a version
// mismatch. None: an ordinary append. IDs are compared, not payloads. The
// cost is two comparisons of 16 bytes per event of a window that exists;
// an append expecting the stream's current version has no window at all.
//
// Thread safety: a pure function of its inputs; the lookup is called on the
// caller's thread only.
#ifndef ESTORIA_CORE_STORE_APPEND_PLAN_H_
#define ESTORIA_CORE_STORE_APPEND_PLAN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_record.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"

namespace estoria::core {

// What a plan reads of the store, under the backend's lock.
class StreamLookup {
 public:
  struct State {
    int64_t tip = 0;         // 0: never written or wholly deleted
    int64_t first_live = 1;  // the lowest live version (tip + 1 when none is live)
  };
  struct Stored {
    Uuid id;
    int64_t position = 0;
  };
  virtual ~StreamLookup() = default;
  virtual State StateOf(const Id& stream) = 0;
  // The live event `version` of `stream`. REQUIRES first_live <= version <= tip.
  virtual absl::StatusOr<Stored> EventAt(const Id& stream, int64_t version) = 0;
};

// One append to plan.
struct PlanInput {
  const Id* stream = nullptr;
  const AppendOptions* options = nullptr;
  // The IDs the events will be stored with (one per event).
  absl::Span<const Uuid> ids;
  // Every event's ID was set by the caller: the duplicate check applies.
  bool caller_ids = false;
};

// The highest version and position any plan hands out.
struct PlanLimits {
  int64_t max_version = 0;
  int64_t max_position = 0;
};

// Plans `inputs` in order, as one transaction: an input sees the earlier
// ones of its stream. Positions of the appends that write are contiguous
// from `next_position` in input order. On OK `results` has one entry per
// input (duplicates flagged). On a failed expectation or a partial
// duplicate returns VersionMismatchError (prefixed "append I to stream S: "
// when there are several inputs) and `results` holds every input's stream
// version as actual_version, nothing else. kInvalidArgument for a restore's
// first_version that does not fit or an overflow.
absl::Status PlanAppends(absl::Span<const PlanInput> inputs, StreamLookup& lookup, int64_t next_position,
                         const PlanLimits& limits, std::vector<AppendResult>* results);

// Whether every event of `batch` carries a caller-set ID (PlanInput::caller_ids).
bool BatchHasCallerIds(const WritableBatch& batch);

// What every backend's commit does with `appends` before it plans them: the
// parts its EventBlock is built from, one per append (restores keep their
// timestamps) ...
std::vector<EventBlock::Part> BlockParts(absl::Span<const StreamAppend> appends);
// ... and the plan's inputs, each append with its slice of `ids` (the
// block's IDs, one per event, the appends' events one after the other).
std::vector<PlanInput> PlanInputsFor(absl::Span<const StreamAppend> appends, absl::Span<const Uuid> ids);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_APPEND_PLAN_H_
