// IDs ("type_uuid"): type-name validation, formatting and parsing. Parse is
// the exact inverse of ToString for every valid ID, and every rejection names
// what is wrong. Stateless and thread-safe.
#include "core/id/id.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

// Longest prefix of a rejected value quoted in an error message.
constexpr size_t kQuoteLimit = 64;

// The value as it appears in a message: C-escaped (so NUL, controls and
// bytes >= 0x80 show as escapes) and cut after kQuoteLimit bytes.
std::string Quote(std::string_view value) {
  std::string quoted = absl::StrCat(
      "\"", absl::CHexEscape(ToAbsl(value.substr(0, kQuoteLimit))), "\"");
  if (value.size() > kQuoteLimit) absl::StrAppend(&quoted, "...");
  return quoted;
}

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Why `type` is not a valid type name, or "" when it is one. Checks the
// length, the '_' rule, then decodes UTF-8 strictly (RFC 3629: no overlongs,
// no surrogates, nothing above U+10FFFF) and rejects NUL and the C0, DEL and
// C1 control characters.
std::string TypeNameProblem(std::string_view type) {
  if (type.empty()) return "is empty";
  if (type.size() > kMaxTypeNameLen) {
    return absl::StrCat("is ", type.size(), " bytes long; the limit is ", kMaxTypeNameLen);
  }
  if (type.front() == '_') return "starts with '_'";
  if (type.back() == '_') return "ends with '_'";

  const auto* bytes = reinterpret_cast<const uint8_t*>(type.data());
  const size_t size = type.size();
  size_t i = 0;
  // Printable ASCII, the common case, 8 bytes at a time; the first word that
  // may hold anything else is decoded byte by byte below.
  for (; i + 8 <= size; i += 8) {
    uint64_t v;
    std::memcpy(&v, bytes + i, sizeof(v));
    constexpr uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
    const uint64_t below_space = (v - 0x20 * kOnes) & ~v & kHigh;  // set for some byte < 0x20, if any
    const uint64_t del_or_high = (v + kOnes) | v;                    // high bit for a byte >= 0x7F
    if (((below_space | del_or_high) & kHigh) != 0) break;
  }
  while (i < size) {
    const uint8_t lead = bytes[i];
    if (lead == 0) return absl::StrCat("contains NUL at byte ", i);
    if (lead < 0x20) return absl::StrFormat("contains control character U+%04X at byte %d", lead, i);
    if (lead == 0x7F) return absl::StrCat("contains DEL (U+007F) at byte ", i);
    if (lead < 0x80) {
      ++i;
      continue;
    }

    size_t len;
    uint32_t code_point;
    uint32_t min_code_point;
    if (lead < 0xC0) {
      return absl::StrFormat("is not valid UTF-8: stray continuation byte 0x%02X at byte %d", lead, i);
    } else if (lead < 0xE0) {
      len = 2, code_point = lead & 0x1F, min_code_point = 0x80;
    } else if (lead < 0xF0) {
      len = 3, code_point = lead & 0x0F, min_code_point = 0x800;
    } else if (lead < 0xF8) {
      len = 4, code_point = lead & 0x07, min_code_point = 0x10000;
    } else {
      return absl::StrFormat("is not valid UTF-8: byte 0x%02X at byte %d never occurs in UTF-8", lead, i);
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= size || !IsContinuation(bytes[i + k])) {
        return absl::StrFormat("is not valid UTF-8: truncated %d-byte sequence at byte %d", len, i);
      }
      code_point = (code_point << 6) | (bytes[i + k] & 0x3F);
    }
    if (code_point < min_code_point) {
      return absl::StrFormat("is not valid UTF-8: overlong encoding of U+%04X at byte %d", code_point, i);
    }
    if (code_point >= 0xD800 && code_point <= 0xDFFF) {
      return absl::StrFormat("is not valid UTF-8: encoded surrogate U+%04X at byte %d", code_point, i);
    }
    if (code_point > 0x10FFFF) {
      return absl::StrFormat("is not valid UTF-8: code point U+%X above U+10FFFF at byte %d", code_point, i);
    }
    if (code_point <= 0x9F) {
      return absl::StrFormat("contains C1 control character U+%04X at byte %d", code_point, i);
    }
    i += len;
  }
  return std::string();
}

// A character as shown in a message: itself when printable, else escaped.
std::string ShowChar(char c) {
  if (c > 0x20 && c < 0x7F) return std::string{'\'', c, '\''};
  return absl::StrFormat("byte 0x%02X", static_cast<uint8_t>(c));
}

// Why `text` is not a canonical UUID, or "" when it is one. Agrees with
// ParseUuid, which only answers yes or no.
std::string UuidTextProblem(std::string_view text) {
  if (text.size() != kUuidTextLen) {
    if (!text.empty() && text.front() == '{') return "has braces; the canonical form has none";
    if (text.size() == 32 && text.find('-') == std::string_view::npos) {
      return "has no hyphens; the canonical form is 8-4-4-4-12";
    }
    return absl::StrCat("is ", text.size(), " characters long; the canonical form has ", kUuidTextLen);
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return absl::StrCat("has ", ShowChar(c), " at character ", i, " where '-' belongs");
      continue;
    }
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) continue;
    if (c >= 'A' && c <= 'F') {
      return absl::StrCat("has upper-case hex digit ", ShowChar(c), " at character ", i,
                          "; the canonical form is lower-case");
    }
    return absl::StrCat("has ", ShowChar(c), " at character ", i, ", which is not a hex digit");
  }
  return std::string();
}

}  // namespace

absl::Status ValidateTypeName(std::string_view type, std::string_view what) {
  std::string problem = TypeNameProblem(type);
  if (problem.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid ", ToAbsl(what), " ", Quote(type), ": ", problem));
}

std::string Id::ToString() const {
  std::string text;
  text.reserve(type.size() + 1 + kUuidTextLen);
  text.append(type);
  text.push_back('_');
  text.resize(text.size() + kUuidTextLen);
  FormatUuidTo(uuid, text.data() + text.size() - kUuidTextLen);
  return text;
}

absl::StatusOr<Id> Id::Parse(std::string_view text) {
  const size_t sep = text.rfind('_');
  if (sep == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ID ", Quote(text), ": no '_' between the type and the UUID"));
  }
  const std::string_view type = text.substr(0, sep);
  const std::string_view uuid_text = text.substr(sep + 1);

  std::string problem = UuidTextProblem(uuid_text);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ID ", Quote(text), ": the UUID part ", Quote(uuid_text), " ", problem));
  }
  problem = TypeNameProblem(type);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ID ", Quote(text), ": the type ", problem));
  }

  Id id;
  if (!ParseUuid(uuid_text, &id.uuid)) {
    return absl::InternalError(absl::StrCat("UUID check and parser disagree on ", Quote(uuid_text)));
  }
  id.type.assign(type);
  return id;
}

}  // namespace estoria::core
