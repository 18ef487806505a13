#include "core/util/status.h"

#include <charconv>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace estoria::core {
namespace {
constexpr absl::string_view kVersionPayload = "estoria/version_mismatch";
}  // namespace

absl::Status ClosedError(std::string_view what) { return absl::FailedPreconditionError(ToAbsl(what)); }

absl::Status VersionMismatchError(int64_t expected, int64_t actual) {
  absl::Status status = absl::AbortedError(
      absl::StrCat("version mismatch: expected version ", expected, ", the stream is at version ", actual));
  status.SetPayload(kVersionPayload, absl::Cord(absl::StrCat(expected, " ", actual)));
  return status;
}

std::optional<VersionMismatch> GetVersionMismatch(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kVersionPayload);
  if (!payload) return std::nullopt;
  std::string text(*payload);
  VersionMismatch out{};
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto first = std::from_chars(begin, end, out.expected);
  if (first.ec != std::errc() || first.ptr == end) return std::nullopt;
  auto second = std::from_chars(first.ptr + 1, end, out.actual);
  if (second.ec != std::errc()) return std::nullopt;
  return out;
}

}  // namespace estoria::core
