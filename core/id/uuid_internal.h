// Internals of uuid.cc exposed for its tests: the pure steps of NewUuidV7.
#ifndef ESTORIA_CORE_ID_UUID_INTERNAL_H_
#define ESTORIA_CORE_ID_UUID_INTERNAL_H_

#include <cstdint>

#include "core/id/uuid.h"

namespace estoria::core::internal {

// The v7 state after `last` ((unix_ms << 12) | counter) at clock `now_ms`.
uint64_t NextV7State(uint64_t last, uint64_t now_ms, uint16_t fresh_counter);
// The v7 UUID for a state and 62+ random bits.
Uuid MakeV7(uint64_t state, uint64_t rand_b);

}  // namespace estoria::core::internal

#endif  // ESTORIA_CORE_ID_UUID_INTERNAL_H_
