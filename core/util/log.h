// The process-wide log handler (est_set_log_handler): where the library
// reports what it cannot return to a caller, such as a failed background
// flush or a torn tail cut at recovery. The library never prints; without a
// handler, messages are dropped.
//
// Thread-safe: Log may be called from any thread; SetLogHandler may race
// with it (a message goes to the old or the new handler, whole), and returns
// only once no call of the handler it replaced is in progress, so the old
// handler's code and `user` may go away right after (doc/abi.md "The log
// handler"). Called from inside a handler, it cannot wait for that very
// call: it replaces the handler and returns at once.
#ifndef ESTORIA_CORE_UTIL_LOG_H_
#define ESTORIA_CORE_UTIL_LOG_H_

#include <string_view>

namespace estoria::core {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2 };

// `message` is NUL-terminated and valid during the call only.
using LogHandler = void (*)(void* user, int level, const char* message);

// Blocks while calls of the replaced handler are in progress.
void SetLogHandler(LogHandler handler, void* user);
void Log(LogLevel level, std::string_view message);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_UTIL_LOG_H_
