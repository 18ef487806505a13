#include "core/util/status.h"

#include <charconv>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace estoria::core {
namespace {
constexpr absl::string_view kVersionPayload = "estoria/version_mismatch";
constexpr absl::string_view kAppliedPartiallyPayload = "estoria/applied_partially";

// Parses the payload "a b" of two decimal integers.
bool ParsePair(const absl::Cord& payload, int64_t* a, int64_t* b) {
  std::string text(payload);
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto first = std::from_chars(begin, end, *a);
  if (first.ec != std::errc() || first.ptr == end) return false;
  auto second = std::from_chars(first.ptr + 1, end, *b);
  return second.ec == std::errc();
}
}  // namespace

absl::Status ClosedError(std::string_view what) { return absl::FailedPreconditionError(ToAbsl(what)); }

absl::Status VersionMismatchError(int64_t expected, int64_t actual) {
  absl::Status status = absl::AbortedError(
      absl::StrCat("version mismatch: expected version ", expected, ", the stream is at version ", actual));
  status.SetPayload(kVersionPayload, absl::Cord(absl::StrCat(expected, " ", actual)));
  return status;
}

absl::Status StreamMustExistError() {
  absl::Status status = absl::AbortedError("version mismatch: the stream must exist and does not");
  status.SetPayload(kVersionPayload, absl::Cord("0 0"));
  return status;
}

absl::Status Annotate(const absl::Status& status, std::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(ToAbsl(prefix), status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

std::optional<VersionMismatch> GetVersionMismatch(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kVersionPayload);
  if (!payload) return std::nullopt;
  VersionMismatch out{};
  if (!ParsePair(*payload, &out.expected, &out.actual)) return std::nullopt;
  return out;
}

absl::Status AppliedPartiallyError(std::string_view message, int64_t first_version, int64_t last_version) {
  absl::Status status = absl::InternalError(ToAbsl(message));
  status.SetPayload(kAppliedPartiallyPayload, absl::Cord(absl::StrCat(first_version, " ", last_version)));
  return status;
}

std::optional<AppliedPartially> GetAppliedPartially(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInternal) return std::nullopt;
  absl::optional<absl::Cord> payload = status.GetPayload(kAppliedPartiallyPayload);
  if (!payload) return std::nullopt;
  AppliedPartially out{};
  if (!ParsePair(*payload, &out.first_version, &out.last_version)) return std::nullopt;
  return out;
}

}  // namespace estoria::core
