// Argument checks shared by every EventStore backend, so that each call
// refuses the same bad input with the same message whatever the backend.
// Each returns kInvalidArgument naming the bad value, or OK.
#ifndef ESTORIA_CORE_STORE_STORE_CHECKS_H_
#define ESTORIA_CORE_STORE_STORE_CHECKS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/id/id.h"
#include "core/store/event_store.h"

namespace estoria::core {

absl::Status CheckStreamId(const Id& id, std::string_view what = "stream type");
absl::Status CheckAppendOptions(const AppendOptions& options);
absl::Status CheckReadOptions(const ReadOptions& options);
absl::Status CheckReadAllOptions(const ReadAllOptions& options);
// A read's until_timestamp_ns: >= 0, 0 = no bound.
absl::Status CheckUntilTimestamp(int64_t until_timestamp_ns);
absl::Status CheckDeleteVersion(int64_t to_version);
absl::Status CheckSnapshotWrite(int64_t version, int64_t timestamp_ns, std::string_view content_type);
absl::Status CheckSnapshotMaxVersion(int64_t max_version);
absl::Status CheckPruneBounds(int64_t keep_last, int64_t min_version);

// Estoria's projection IDs (projection.ID): "name_vN", the name
// [a-z][a-z0-9_]* of at most kMaxProjectionNameLen bytes, not ending with
// '_', and N a decimal version >= 1 without leading zeros (as Go's
// strconv.Itoa writes it), so that an ID has one text form.
inline constexpr size_t kMaxProjectionNameLen = 40;
absl::Status CheckProjectionName(std::string_view name);
absl::Status CheckProjectionId(std::string_view projection_id);
// The ID of version `version` of projection `name`; kInvalidArgument as above.
absl::StatusOr<std::string> MakeProjectionId(std::string_view name, int64_t version);
// A checkpoint position: a global position handled through, >= 0.
absl::Status CheckCheckpointPosition(int64_t position);

// Every stream ID, append option, projection ID and position of a commit
// (EventStore::CommitWrites), and `written` only with exactly one append.
absl::Status CheckCommitRequest(const CommitRequest& request);

// A non-negative count (0 = all) as a size_t limit.
size_t CountLimit(int64_t count);

// The first version of an append to a stream at version `current`
// (`exists`: the stream has been written and not wholly deleted), after the
// expectation has been checked: current + 1, or the restore's first_version.
// kInvalidArgument when a restore's first_version does not fit.
absl::Status FirstVersionForAppend(const AppendOptions& options, bool exists, int64_t current,
                                   int64_t* first_version);

// VersionMismatchError when `options` expects something other than
// `current`; OK otherwise.
absl::Status CheckExpectation(const AppendOptions& options, int64_t current);

absl::Status StreamNotFound(const Id& stream);
absl::Status SnapshotNotFound(const Id& aggregate, int64_t max_version);
absl::Status CheckpointNotFound(std::string_view projection_id);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_STORE_CHECKS_H_
