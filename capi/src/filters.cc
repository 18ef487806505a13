// ReadFilters: see filters.h.
#include "capi/src/filters.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "capi/src/guard.h"
#include "capi/src/handles.h"
#include "core/id/id.h"
#include "core/util/status.h"

namespace estoria::capi {

est_status ReadFilters(const char* fn, const char* stream_prefix, const char* const* event_types,
                       size_t event_types_len, std::string* prefix, std::vector<std::string>* types) {
  std::string_view text;
  if (est_status s = ReadCString(fn, "options.stream_prefix", stream_prefix, core::kMaxIdTextLen, true, &text);
      s != EST_OK) {
    return s;
  }
  prefix->assign(text);
  if (event_types == nullptr && event_types_len != 0) {
    return FailArg(fn, "options.event_types", absl::StrCat("is NULL with event_types_len ", event_types_len));
  }
  if (event_types_len > kMaxEventTypes) {
    return FailArg(fn, "options.event_types_len", absl::StrCat(event_types_len, " is above ", kMaxEventTypes));
  }
  for (size_t i = 0; i < event_types_len; ++i) {
    const std::string field = absl::StrCat("options.event_types[", i, "]");
    std::string_view type;
    if (est_status s = ReadCString(fn, field, event_types[i], core::kMaxTypeNameLen + 1, false, &type); s != EST_OK) {
      return s;
    }
    if (absl::Status valid = core::ValidateTypeName(type, "event type"); !valid.ok()) {
      return FailStatus(fn, valid, field);
    }
    types->emplace_back(type);
  }
  return EST_OK;
}

}  // namespace estoria::capi
