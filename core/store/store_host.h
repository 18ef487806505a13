// StoreHost: what the host that embeds a store supplies to it (the host
// fields of est_store_options, doc/abi.md "Hosts"): its clock, its
// randomness and its log handler. A store takes every time it stores
// (event and snapshot timestamps, UUIDv7 times), every random bit of the IDs
// it makes, and every message it logs from its StoreHost, so that a host
// that supplies a deterministic clock and randomness gets byte-identical
// stores from identical sessions.
//
// Thread safety: const methods may be called from many threads at once;
// the host's callbacks are then called concurrently too (doc/abi.md says so).
#ifndef ESTORIA_CORE_STORE_STORE_HOST_H_
#define ESTORIA_CORE_STORE_STORE_HOST_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/env/env.h"
#include "core/id/uuid.h"
#include "core/util/log.h"

namespace estoria::core {

// Whether the library may start threads for a store (est_store_options.threads).
enum class Threads {
  kLibrary = 0,  // the threads it needs: preallocation, interval flush, index checkpoints
  kNone = 1,     // none: the host calls Maintain (est_store_maintain) from its own loop
};

class StoreHost {
 public:
  using ClockFn = std::function<int64_t()>;  // unix nanoseconds
  using RandomFn = UuidGenerator::RandomFn;
  using LogFn = std::function<void(LogLevel level, std::string_view message)>;

  // Each may be empty: the Env's clock, the library's generator (ChaCha20
  // keyed from getrandom(2)) with the process-wide v7 ordering, the
  // process-wide log handler.
  StoreHost(ClockFn clock, RandomFn random, LogFn log);
  StoreHost(const StoreHost&) = delete;
  StoreHost& operator=(const StoreHost&) = delete;

  // The host's clock, or env->NowNanos() without one.
  int64_t NowNanos(Env* env) const;
  int64_t NowNanos() const { return NowNanos(Env::Default()); }
  // v7 UUIDs stamped `now_ns`: from the store's own generator when the host
  // supplies a clock or randomness (so that nothing else in the process
  // shifts them), else from the process-wide one.
  absl::Status NewUuidsV7(absl::Span<Uuid> out, int64_t now_ns) const;
  absl::StatusOr<Uuid> NewUuidV7() const;
  // The host's handler, or the process-wide one (core/util/log.h).
  void Log(LogLevel level, std::string_view message) const;

  bool has_clock() const { return static_cast<bool>(clock_); }

  // The host of a store opened without one: the system's everything.
  static const std::shared_ptr<const StoreHost>& Default();

 private:
  const ClockFn clock_;
  const LogFn log_;
  const std::unique_ptr<UuidGenerator> generator_;  // null: the process-wide one
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_STORE_HOST_H_
