// MemEnv: an Env whose files and directories live in memory, for fast tests.
// Same semantics as the POSIX Env where the core can tell: open handles keep
// a file's data across Rename and DeleteFile (like inodes), missing parents
// are kNotFound, locks conflict within the process and name this PID, the
// clocks are the real ones. Nothing is ever lost: Sync and SyncDir only
// check their argument (wrap it in a FaultEnv to simulate power loss).
// Thread-safe. The MemEnv must outlive every handle and lock it made.
#ifndef ESTORIA_CORE_ENV_MEM_ENV_H_
#define ESTORIA_CORE_ENV_MEM_ENV_H_

#include <memory>

#include "core/env/env.h"

namespace estoria::core {

// A new, empty in-memory Env; "/" and "." exist, nothing else does.
std::unique_ptr<Env> NewMemEnv();

}  // namespace estoria::core

#endif  // ESTORIA_CORE_ENV_MEM_ENV_H_
