// The event filters of subscriptions and projections (a stream prefix and a
// list of event types, as est_subscribe_options and est_projection_options
// spell them), checked and copied in one place.
#ifndef ESTORIA_CAPI_SRC_FILTERS_H_
#define ESTORIA_CAPI_SRC_FILTERS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "estoria/estoria.h"

namespace estoria::capi {

// Most event types one filter names.
inline constexpr size_t kMaxEventTypes = 4096;

// Copies the filters into *prefix and *types; EST_ERR_INVALID_ARGUMENT
// (naming "options.<field>") for a prefix longer than any stream ID, a NULL
// list with a length, too many types, or an invalid type name.
est_status ReadFilters(const char* fn, const char* stream_prefix, const char* const* event_types,
                       size_t event_types_len, std::string* prefix, std::vector<std::string>* types);

}  // namespace estoria::capi

#endif  // ESTORIA_CAPI_SRC_FILTERS_H_
