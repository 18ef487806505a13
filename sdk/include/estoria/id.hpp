// estoria/id.hpp: Uuid (16 bytes) and Id (a type name plus a UUID, text form
// "type_uuid"). Formatting, parsing and validation all go through the C ABI,
// so the SDK agrees with the library on every rule.
//
// Both are plain values, safe to copy and to share between threads when not
// being modified.
#ifndef ESTORIA_ID_HPP_
#define ESTORIA_ID_HPP_

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "estoria/estoria.h"
#include "estoria/result.hpp"
#include "estoria/string_arg.hpp"

namespace estoria {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // A random (version 4) UUID.
  static Result<Uuid> NewV4() {
    est_uuid u;
    est_status st = est_uuid_v4(&u);
    if (st != EST_OK) return Error::Last(st);
    return FromC(u);
  }
  // A time-ordered (version 7) UUID, strictly increasing within a process.
  static Result<Uuid> NewV7() {
    est_uuid u;
    est_status st = est_uuid_v7(&u);
    if (st != EST_OK) return Error::Last(st);
    return FromC(u);
  }

  // Accepts exactly the canonical form: 36 characters, lower-case, hyphenated.
  static Result<Uuid> Parse(std::string_view text) {
    // The ABI parses IDs only; a one-letter type in front makes one.
    std::string id = "u_";
    id += text;
    if (id.find('\0') != std::string::npos) return Error(EST_ERR_INVALID_ARGUMENT, "a UUID holds no NUL");
    char type[EST_TYPE_MAX_LEN + 1];
    est_uuid u;
    est_status st = est_id_parse(id.c_str(), type, sizeof type, &u);
    if (st != EST_OK) return Error::Last(st);
    if (std::strcmp(type, "u") != 0) {
      return Error(EST_ERR_INVALID_ARGUMENT, "not a canonical UUID: " + std::string(text));
    }
    return FromC(u);
  }

  // Canonical lower-case 8-4-4-4-12 form.
  std::string ToString() const {
    char buf[EST_ID_MAX_LEN];
    est_uuid u = ToC();
    if (est_id_format("u", &u, buf, sizeof buf) != EST_OK) return std::string();
    return std::string(buf + 2);  // drop "u_"
  }

  bool IsNil() const { return *this == Uuid(); }

  est_uuid ToC() const {
    est_uuid u;
    std::memcpy(u.bytes, bytes.data(), 16);
    return u;
  }
  static Uuid FromC(const est_uuid& u) {
    Uuid out;
    std::memcpy(out.bytes.data(), u.bytes, 16);
    return out;
  }

  friend auto operator<=>(const Uuid&, const Uuid&) = default;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// A valid ID, or empty when default-constructed. Keeps its text form, so
// passing an Id to a Store call costs no formatting or copying.
class Id {
 public:
  Id() = default;

  // Checks `type` (1 to 255 bytes of UTF-8 without NUL or control
  // characters, not starting or ending with '_').
  static Result<Id> Make(const StringArg& type, const Uuid& uuid) {
    if (!type.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "a type name holds no NUL");
    char buf[EST_ID_MAX_LEN];
    est_uuid u = uuid.ToC();
    est_status st = est_id_format(type.c_str(), &u, buf, sizeof buf);
    if (st != EST_OK) return Error::Last(st);
    Id id;
    id.text_ = buf;
    id.type_len_ = id.text_.size() - 37;  // "_" and 36 UUID characters
    id.uuid_ = uuid;
    return id;
  }
  // A fresh ID of `type` with a v4 or v7 UUID.
  static Result<Id> NewV4(const StringArg& type) {
    Result<Uuid> u = Uuid::NewV4();
    if (!u.ok()) return u.error();
    return Make(type, *u);
  }
  static Result<Id> NewV7(const StringArg& type) {
    Result<Uuid> u = Uuid::NewV7();
    if (!u.ok()) return u.error();
    return Make(type, *u);
  }

  // The exact inverse of str(): "type_uuid", split at the last '_'.
  static Result<Id> Parse(const StringArg& text) {
    if (!text.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "an ID holds no NUL");
    char type[EST_TYPE_MAX_LEN + 1];
    est_uuid u;
    est_status st = est_id_parse(text.c_str(), type, sizeof type, &u);
    if (st != EST_OK) return Error::Last(st);
    Id id;
    id.text_ = text.c_str();
    id.type_len_ = std::strlen(type);
    id.uuid_ = Uuid::FromC(u);
    return id;
  }

  bool empty() const { return text_.empty(); }
  // "type_uuid"; "" when empty.
  const std::string& str() const { return text_; }
  const char* c_str() const { return text_.c_str(); }
  std::string_view type() const { return std::string_view(text_).substr(0, type_len_); }
  const Uuid& uuid() const { return uuid_; }

  friend bool operator==(const Id& a, const Id& b) { return a.text_ == b.text_; }
  friend auto operator<=>(const Id& a, const Id& b) { return a.text_ <=> b.text_; }

 private:
  std::string text_;
  size_t type_len_ = 0;
  Uuid uuid_;
};

// Defined here, where Id is complete: an Id is borrowed as its text form.
inline StringArg::StringArg(const Id& id) : p_(id.c_str()) {}

}  // namespace estoria

#endif  // ESTORIA_ID_HPP_
