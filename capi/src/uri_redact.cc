// est_uri_redact: the core's redaction of secrets, for text a program prints
// itself. Stateless; thread-safe.
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "core/util/redact.h"
#include "estoria/estoria.h"

namespace estoria::capi {
namespace {
// As long as a store URI may be (est_store_open's limit).
constexpr size_t kMaxTextLen = 64 * 1024;
}  // namespace
}  // namespace estoria::capi

extern "C" {

EST_API est_status est_uri_redact(const char* text, char* buf, size_t buf_len, size_t* len) {
  static constexpr char kFn[] = "est_uri_redact";
  using estoria::capi::FailArg;
  return estoria::capi::Guarded(kFn, [&]() -> est_status {
    if (text == nullptr) return FailArg(kFn, "text", "is NULL");
    const size_t text_len = strnlen(text, estoria::capi::kMaxTextLen + 1);
    if (text_len > estoria::capi::kMaxTextLen) {
      return FailArg(kFn, "text", absl::StrCat("is longer than ", estoria::capi::kMaxTextLen, " bytes"));
    }
    const std::string redacted = estoria::core::RedactSecrets(std::string_view(text, text_len));
    if (len != nullptr) *len = redacted.size();
    if (buf_len < redacted.size() + 1) {
      return FailArg(kFn, "buf_len", absl::StrCat(buf_len, " is too small: the text needs ", redacted.size() + 1, " bytes"));
    }
    if (buf == nullptr) return FailArg(kFn, "buf", "is NULL");
    std::memcpy(buf, redacted.c_str(), redacted.size() + 1);
    return EST_OK;
  });
}

}  // extern "C"
