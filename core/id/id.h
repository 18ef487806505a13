// IDs: a type name plus a UUID, text form "type_uuid". Streams, aggregates
// and event IDs all use it. Parsing is the exact inverse of formatting.
#ifndef ESTORIA_CORE_ID_ID_H_
#define ESTORIA_CORE_ID_ID_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/id/uuid.h"

namespace estoria::core {

inline constexpr size_t kMaxTypeNameLen = 255;
// "type" + "_" + UUID, without a terminator.
inline constexpr size_t kMaxIdTextLen = kMaxTypeNameLen + 1 + kUuidTextLen;

// OK when `type` is a valid type name: 1 to 255 bytes of valid UTF-8 without
// NUL or control characters (C0, DEL, C1), not starting or ending with '_'.
// Otherwise kInvalidArgument naming `what` ("stream type", "event type", ...).
absl::Status ValidateTypeName(std::string_view type, std::string_view what = "type name");

struct Id {
  std::string type;
  Uuid uuid;

  std::string ToString() const;
  // Splits at the last '_': the type may itself contain '_'.
  static absl::StatusOr<Id> Parse(std::string_view text);

  friend bool operator==(const Id&, const Id&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Id& id) {
    return H::combine(std::move(h), id.type, id.uuid);
  }
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_ID_ID_H_
