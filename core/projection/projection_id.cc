// ProjectionId: see projection_id.h.
#include "core/projection/projection_id.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "core/store/store_checks.h"
#include "core/util/status.h"

namespace estoria::core {

absl::Status ProjectionId::Validate() const { return MakeProjectionId(name, version).status(); }

std::string ProjectionId::ToString() const { return absl::StrCat(name, "_v", version); }

absl::StatusOr<ProjectionId> ProjectionId::Parse(std::string_view text) {
  RETURN_IF_ERROR(CheckProjectionId(text));
  const size_t v = text.rfind("_v");
  ProjectionId id;
  id.name = std::string(text.substr(0, v));
  const std::string_view digits = text.substr(v + 2);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id.version);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("projection ID \"", ToAbsl(text), "\": version ", ToAbsl(digits), " is out of range"));
  }
  return id;
}

}  // namespace estoria::core
