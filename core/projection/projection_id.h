// ProjectionId: one version of a named projection (Estoria's projection.ID)
// as a name and a version; its text form "name_vN" keys its checkpoint, its
// rebuild history and its log lines. The rules are the checkpoint store's
// (core/store/store_checks.h: CheckProjectionName, CheckProjectionId).
#ifndef ESTORIA_CORE_PROJECTION_PROJECTION_ID_H_
#define ESTORIA_CORE_PROJECTION_PROJECTION_ID_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace estoria::core {

struct ProjectionId {
  std::string name;
  int32_t version = 1;

  // kInvalidArgument for a bad name or a version below 1.
  absl::Status Validate() const;
  // "name_vN".
  std::string ToString() const;
  // The inverse of ToString; kInvalidArgument for text that is not a
  // projection ID.
  static absl::StatusOr<ProjectionId> Parse(std::string_view text);

  friend bool operator==(const ProjectionId&, const ProjectionId&) = default;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_PROJECTION_PROJECTION_ID_H_
