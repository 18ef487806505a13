// Fork detection without a syscall per call: a generation counter that a
// pthread_atfork child handler bumps. Handles remember the generation they
// were made in; a call from a forked child sees a different one.
#ifndef ESTORIA_CORE_UTIL_FORK_H_
#define ESTORIA_CORE_UTIL_FORK_H_

#include <cstdint>

namespace estoria::core {

// The number of forks this process is removed from its first ancestor that
// loaded the library (0 in the original process).
uint64_t ForkGeneration();

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_FORK_H_
