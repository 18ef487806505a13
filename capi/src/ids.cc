// est_uuid_*, est_id_format, est_id_parse, and the input checks (IDs, byte
// ranges, C strings) every other call shares. Stateless; thread-safe.
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/util/status.h"
#include "estoria/estoria.h"

namespace estoria::capi {
namespace {

static_assert(sizeof(est_uuid) == sizeof(core::Uuid::bytes));
static_assert(EST_TYPE_MAX_LEN == core::kMaxTypeNameLen);
static_assert(EST_ID_MAX_LEN == core::kMaxIdTextLen + 1);

est_status NewUuid(const char* fn, absl::StatusOr<core::Uuid> (*gen)(), est_uuid* out) {
  if (out == nullptr) return FailArg(fn, "out", "is NULL");
  absl::StatusOr<core::Uuid> uuid = gen();
  if (!uuid.ok()) return FailStatus(fn, uuid.status());
  std::memcpy(out->bytes, uuid->bytes.data(), sizeof(out->bytes));
  return EST_OK;
}

}  // namespace

est_status ParseId(const char* fn, std::string_view field, const char* text, core::Id* id) {
  if (text == nullptr) return FailArg(fn, field, "is NULL");
  // Bounded scan: a caller's unterminated garbage stops here.
  const size_t len = strnlen(text, core::kMaxIdTextLen + 1);
  if (len > core::kMaxIdTextLen) {
    return FailArg(fn, field, absl::StrCat("longer than ", core::kMaxIdTextLen, " bytes"));
  }
  absl::StatusOr<core::Id> parsed = core::Id::Parse(std::string_view(text, len));
  if (!parsed.ok()) return FailArg(fn, field, core::ToStd(parsed.status().message()));
  *id = *std::move(parsed);
  return EST_OK;
}

est_status CheckBytes(const char* fn, std::string_view field, const void* data, size_t len, size_t max_len) {
  if (data == nullptr && len != 0) return FailArg(fn, field, absl::StrCat("is NULL with a length of ", len));
  if (len > max_len) return FailArg(fn, field, absl::StrCat("length ", len, " is over the limit of ", max_len));
  return EST_OK;
}

est_status ReadCString(const char* fn, std::string_view field, const char* s, size_t max_len, bool null_ok,
                       std::string_view* out) {
  if (s == nullptr) {
    if (!null_ok) return FailArg(fn, field, "is NULL");
    *out = {};
    return EST_OK;
  }
  const size_t len = strnlen(s, max_len + 1);
  if (len > max_len) return FailArg(fn, field, absl::StrCat("is longer than ", max_len, " bytes"));
  *out = std::string_view(s, len);
  return EST_OK;
}

est_status ReadMetadataPair(const char* fn, const char* key, const char* value, std::string_view* key_out,
                            std::string_view* value_out) {
  if (est_status s = ReadCString(fn, "key", key, kMaxMetadataString, false, key_out); s != EST_OK) return s;
  return ReadCString(fn, "value", value, kMaxMetadataString, false, value_out);
}

}  // namespace estoria::capi

using estoria::capi::FailArg;
using estoria::capi::Guarded;
namespace core = estoria::core;

extern "C" {

EST_API est_status est_uuid_v4(est_uuid* out) {
  return Guarded("est_uuid_v4", [&] { return estoria::capi::NewUuid("est_uuid_v4", &core::NewUuidV4, out); });
}

EST_API est_status est_uuid_v7(est_uuid* out) {
  return Guarded("est_uuid_v7", [&] { return estoria::capi::NewUuid("est_uuid_v7", &core::NewUuidV7, out); });
}

EST_API est_status est_id_format(const char* type, const est_uuid* uuid, char* buf, size_t buf_len) {
  static constexpr char kFn[] = "est_id_format";
  return Guarded(kFn, [&]() -> est_status {
    if (type == nullptr) return FailArg(kFn, "type", "is NULL");
    if (uuid == nullptr) return FailArg(kFn, "uuid", "is NULL");
    if (buf == nullptr) return FailArg(kFn, "buf", "is NULL");
    const size_t type_len = strnlen(type, core::kMaxTypeNameLen + 1);
    std::string_view type_view(type, type_len);
    absl::Status valid = core::ValidateTypeName(type_view, "type");
    if (!valid.ok()) return estoria::capi::FailStatus(kFn, valid);
    const size_t needed = type_len + 1 + core::kUuidTextLen + 1;
    if (buf_len < needed) {
      return FailArg(kFn, "buf_len", absl::StrCat(buf_len, " is too small: the ID needs ", needed, " bytes"));
    }
    core::Uuid value;
    std::memcpy(value.bytes.data(), uuid->bytes, sizeof(uuid->bytes));
    std::memcpy(buf, type, type_len);
    buf[type_len] = '_';
    core::FormatUuidTo(value, buf + type_len + 1);
    buf[needed - 1] = '\0';
    return EST_OK;
  });
}

EST_API est_status est_id_parse(const char* text, char* type_buf, size_t type_buf_len, est_uuid* uuid) {
  static constexpr char kFn[] = "est_id_parse";
  return Guarded(kFn, [&]() -> est_status {
    if (type_buf == nullptr) return FailArg(kFn, "type_buf", "is NULL");
    if (uuid == nullptr) return FailArg(kFn, "uuid", "is NULL");
    core::Id id;
    if (est_status s = estoria::capi::ParseId(kFn, "text", text, &id); s != EST_OK) return s;
    if (type_buf_len < id.type.size() + 1) {
      return FailArg(kFn, "type_buf_len",
                     absl::StrCat(type_buf_len, " is too small: the type needs ", id.type.size() + 1, " bytes"));
    }
    std::memcpy(type_buf, id.type.data(), id.type.size());
    type_buf[id.type.size()] = '\0';
    std::memcpy(uuid->bytes, id.uuid.bytes.data(), sizeof(uuid->bytes));
    return EST_OK;
  });
}

}  // extern "C"
