// ProjectionId: see projection_id.h.
#include "core/projection/projection_id.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"

namespace estoria::core {

absl::Status ValidateProjectionName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("a projection name is required");
  if (name.size() > kMaxProjectionNameLen) {
    return absl::InvalidArgumentError(absl::StrCat("a projection name is at most ", kMaxProjectionNameLen,
                                                   " bytes (this one is ", name.size(), ")"));
  }
  if (name.front() < 'a' || name.front() > 'z') {
    return absl::InvalidArgumentError(
        absl::StrCat("projection name \"", ToAbsl(name), "\" must start with a lower-case letter"));
  }
  if (name.back() == '_') {
    return absl::InvalidArgumentError(absl::StrCat("projection name \"", ToAbsl(name), "\" must not end with '_'"));
  }
  for (char c : name) {
    if ((c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_') {
      return absl::InvalidArgumentError(absl::StrCat(
          "projection name \"", ToAbsl(name), "\" may hold only a-z, 0-9 and '_' (it holds byte ",
          static_cast<int>(static_cast<unsigned char>(c)), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ProjectionId::Validate() const {
  RETURN_IF_ERROR(ValidateProjectionName(name));
  if (version < 1) {
    return absl::InvalidArgumentError(absl::StrCat("projection version ", version, " is not positive"));
  }
  return absl::OkStatus();
}

std::string ProjectionId::ToString() const { return absl::StrCat(name, "_v", version); }

absl::StatusOr<ProjectionId> ProjectionId::Parse(std::string_view text) {
  const size_t v = text.rfind("_v");
  if (v == std::string_view::npos || v + 2 >= text.size()) {
    return absl::InvalidArgumentError(absl::StrCat("projection ID \"", ToAbsl(text), "\" is not name_vN"));
  }
  ProjectionId id;
  id.name = std::string(text.substr(0, v));
  const std::string_view digits = text.substr(v + 2);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id.version);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.front() == '0') {
    return absl::InvalidArgumentError(
        absl::StrCat("projection ID \"", ToAbsl(text), "\": \"", ToAbsl(digits), "\" is not a version"));
  }
  RETURN_IF_ERROR(id.Validate());
  return id;
}

}  // namespace estoria::core
