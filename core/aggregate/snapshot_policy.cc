// SnapshotPolicy; see snapshot_policy.h.
#include "core/aggregate/snapshot_policy.h"

#include "absl/strings/str_cat.h"

namespace estoria::core {

absl::Status SnapshotPolicy::Validate() const {
  if (every < 0) return absl::InvalidArgumentError(absl::StrCat("snapshot_every ", every, " is negative"));
  if (keep_last < 0) return absl::InvalidArgumentError(absl::StrCat("snapshot_keep_last ", keep_last, " is negative"));
  if (keep_min_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot_keep_min_version ", keep_min_version, " is negative"));
  }
  return absl::OkStatus();
}

}  // namespace estoria::core
