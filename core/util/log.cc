#include "core/util/log.h"

#include <string>

#include "core/util/mutex.h"
#include "core/util/redact.h"

namespace estoria::core {
namespace {

// The handler and its user change together under a lock; Log holds it only
// to copy them, so a slow handler never blocks SetLogHandler or other Logs.
struct Registration {
  LogHandler handler = nullptr;
  void* user = nullptr;
};

Mutex& RegistrationMutex() {
  static Mutex* mu = new Mutex();
  return *mu;
}
Registration& Current() ABSL_EXCLUSIVE_LOCKS_REQUIRED(RegistrationMutex()) {
  static Registration* r = new Registration();
  return *r;
}

}  // namespace

void SetLogHandler(LogHandler handler, void* user) {
  MutexLock lock(&RegistrationMutex());
  Current() = Registration{handler, user};
}

void Log(LogLevel level, std::string_view message) {
  Registration r;
  {
    MutexLock lock(&RegistrationMutex());
    r = Current();
  }
  if (r.handler == nullptr) return;
  // A log line may quote a connection URI; its password never leaves.
  std::string text = RedactSecrets(message);
  r.handler(r.user, static_cast<int>(level), text.c_str());
}

}  // namespace estoria::core
