#include "core/util/log.h"

#include <cstdint>
#include <string>

#include "core/util/mutex.h"
#include "core/util/no_destructor.h"
#include "core/util/redact.h"

namespace estoria::core {
namespace {

// The handler and its user change together under a lock; Log holds it only
// to copy them and to count itself in, so a slow handler never blocks other
// Logs. Calls are counted by the epoch of the registration they copied: a
// replacement starts a new epoch and waits until the old one has no call in
// progress (doc/abi.md "The log handler"). Replacements are serialized, so
// at most two epochs are ever live: the one being drained and the new one,
// told apart by their parity.
//
// The state lives in static storage, never destroyed (background threads
// may log during exit) and never on the heap, so a copy of the library in a
// plugin that is unloaded leaves nothing behind (doc/architecture.md
// "Plugins").
struct LogState {
  Mutex mu;
  CondVar drained;
  LogHandler handler ABSL_GUARDED_BY(mu) = nullptr;
  void* user ABSL_GUARDED_BY(mu) = nullptr;
  uint64_t epoch ABSL_GUARDED_BY(mu) = 0;
  int64_t in_progress[2] ABSL_GUARDED_BY(mu) = {0, 0};
  Mutex replacing;  // held by SetLogHandler across its wait
};

LogState& State() {
  static NoDestructor<LogState> state;
  return *state;
}

// This thread's handler call in progress, if any: a handler that replaces
// the handler (the header forbids calling back, but a deadlock is no answer)
// must not wait for its own call.
thread_local bool in_handler = false;

}  // namespace

void SetLogHandler(LogHandler handler, void* user) {
  LogState& s = State();
  if (in_handler) {
    MutexLock lock(&s.mu);
    s.handler = handler;
    s.user = user;
    return;
  }
  MutexLock serialize(&s.replacing);
  MutexLock lock(&s.mu);
  const uint64_t old_epoch = s.epoch;
  s.handler = handler;
  s.user = user;
  ++s.epoch;
  while (s.in_progress[old_epoch & 1] > 0) s.drained.Wait(&s.mu);
}

void Log(LogLevel level, std::string_view message) {
  LogState& s = State();
  {
    MutexLock lock(&s.mu);
    if (s.handler == nullptr) return;
  }
  // A log line may quote a connection URI; its password never leaves.
  const std::string text = RedactSecrets(message);
  // Counted in from copying the registration until the handler returns (or
  // throws: the guard counts out either way).
  struct Call {
    LogState& s;
    LogHandler handler = nullptr;
    void* user = nullptr;
    uint64_t epoch = 0;
    const bool outer_in_handler = in_handler;
    explicit Call(LogState& state) : s(state) {
      MutexLock lock(&s.mu);
      handler = s.handler;
      user = s.user;
      epoch = s.epoch;
      if (handler != nullptr) ++s.in_progress[epoch & 1];
    }
    ~Call() {
      in_handler = outer_in_handler;
      if (handler == nullptr) return;
      MutexLock lock(&s.mu);
      if (--s.in_progress[epoch & 1] == 0) s.drained.SignalAll();
    }
  } call(s);
  if (call.handler == nullptr) return;
  in_handler = true;
  call.handler(call.user, static_cast<int>(level), text.c_str());
}

}  // namespace estoria::core
