// ProjectionId: one version of a named projection (Estoria's projection.ID).
// Its text form "name_vN" keys its checkpoint, its rebuild history and its
// log lines. Names follow Estoria's rules: [a-z][a-z0-9_]*, not ending in
// '_', at most 40 bytes; versions are >= 1.
#ifndef ESTORIA_CORE_PROJECTION_PROJECTION_ID_H_
#define ESTORIA_CORE_PROJECTION_PROJECTION_ID_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace estoria::core {

inline constexpr size_t kMaxProjectionNameLen = 40;

// OK for a valid projection name; else kInvalidArgument saying why.
absl::Status ValidateProjectionName(std::string_view name);

struct ProjectionId {
  std::string name;
  int32_t version = 1;

  // kInvalidArgument for a bad name or a version below 1.
  absl::Status Validate() const;
  // "name_vN".
  std::string ToString() const;
  // The inverse of ToString (and Validate's rules); kInvalidArgument else.
  static absl::StatusOr<ProjectionId> Parse(std::string_view text);

  friend bool operator==(const ProjectionId&, const ProjectionId&) = default;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_PROJECTION_PROJECTION_ID_H_
