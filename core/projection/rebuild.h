// Versioned rebuilds of projections (Estoria's projection/rebuild): the next
// version of a projection runs from the first event beside the live one,
// under its own checkpoint; once it has caught up, a cutover makes it the
// active version and retires the old one (its checkpoint is deleted). Every
// decision and durable fact is an event of the projection's history stream,
// so the history is in the store itself and the active version of a name
// can be asked for. doc/data-model.md "Rebuilds" is the contract.
//
// The history stream of projection NAME is "estoria.projection_<uuid>",
// where <uuid> is derived from NAME alone (HistoryStream): one stream per
// name, found without an index. Its events, with JSON data (Estoria's
// event type names):
//   rebuildcreated   {"name","version" (the next),"previous","reason"}   requested
//   caughtup         {"name","version","position"}                       caught up
//   promoted         {"name","version" (the next),"previous"}            activated
//   previousretired  {"name","version" (the retired one)}                retired
// Each is appended expecting the stream's version, so racing decisions
// (two cutovers, a cutover and a new request) cannot interleave: the loser
// gets VersionMismatchError and may reload.
//
// Thread safety: free functions over a thread-safe EventStore.
#ifndef ESTORIA_CORE_PROJECTION_REBUILD_H_
#define ESTORIA_CORE_PROJECTION_REBUILD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/id/id.h"
#include "core/store/event_store.h"

namespace estoria::core {

inline constexpr std::string_view kHistoryStreamType = "estoria.projection";

// The history stream of projection `name` (a valid name).
Id HistoryStream(std::string_view name);

struct HistoryEvent {
  std::string type;       // rebuildcreated, caughtup, promoted, previousretired
  int32_t version = 0;    // the version the event is about
  int32_t previous = 0;   // rebuildcreated, promoted: the version active then (0 = none)
  int64_t position = 0;   // caughtup: where it first reached the head
  int64_t timestamp_ns = 0;
  std::string reason;     // rebuildcreated
};

// The fold of a history stream.
struct ProjectionHistory {
  int32_t promoted = 0;         // the last cutover's version (0 = never cut over)
  int32_t requested = 0;        // a rebuild requested and not yet promoted (0 = none)
  bool requested_caught_up = false;
  std::vector<int32_t> retired;
  int64_t stream_version = 0;   // for the next append's expectation
  std::vector<HistoryEvent> events;

  bool IsRetired(int32_t version) const;
};

// The history of `name` (empty when it has none).
absl::StatusOr<ProjectionHistory> LoadHistory(EventStore& store, std::string_view name);

// The active version of `name`: the last cutover's; for a projection never
// cut over, the lowest version with a checkpoint that is not retired.
// kNotFound when neither exists.
absl::StatusOr<int32_t> ActiveVersion(EventStore& store, std::string_view name);

// Records the request to build `next_version` beside the active version.
// kInvalidArgument when next_version is not above the active version and
// every requested or retired one; OK (nothing written) when that very
// rebuild is already requested.
absl::Status RequestRebuild(EventStore& store, std::string_view name, int32_t next_version, std::string_view reason);

// Records that the requested version first reached the head at `position`;
// nothing when `version` is not the pending request or it was recorded.
absl::Status RecordCaughtUp(EventStore& store, std::string_view name, int32_t version, int64_t position);

// Makes `version` the active version: records the promotion, deletes the
// previous version's checkpoint, then records its retirement. Aborted
// (EST_ERR_VERSION_MISMATCH) when `version` is not a requested rebuild that
// has caught up. OK when it is active already (a retirement left undone by
// a crash is finished).
absl::Status Cutover(EventStore& store, std::string_view name, int32_t version);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_PROJECTION_REBUILD_H_
