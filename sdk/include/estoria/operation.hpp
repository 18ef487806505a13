// estoria/operation.hpp: what an operator asks of a store, as C++ values:
// StoreStats, VerifyReport, CompactReport, StreamInfo, a Progress callback
// for long operations, and the process-wide log handler (SetLogHandler).
// Store's Sync, Stats, Verify, Compact and ListStreams return these. With
// EST_EXPERIMENTAL defined, RedactSecrets (over est_uri_redact) and
// SetAllocator (over est_set_allocator) too.
//
// Thread safety: values are plain data. SetLogHandler may be called from any
// thread; the handler itself is called from any thread, possibly at once.
#ifndef ESTORIA_OPERATION_HPP_
#define ESTORIA_OPERATION_HPP_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "estoria/estoria.h"
#include "estoria/result.hpp"

namespace estoria {

struct StoreStats {
  int64_t events = 0;          // live events
  int64_t streams = 0;         // live streams
  int64_t bytes = 0;           // of the store's files (0 in memory)
  int64_t segments = 0;        // log segment files (0 in memory)
  int64_t first_position = 0;  // lowest live position, 0 when empty
  int64_t last_position = 0;   // highest handed out, 0 when none
  int64_t snapshots = 0;
};

struct VerifyReport {
  int64_t segments = 0;  // files checked
  int64_t records = 0;   // log records checked
  int64_t events = 0;    // event records checked
  int64_t bytes = 0;     // read
};

struct CompactReport {
  int64_t segments_before = 0;
  int64_t segments_after = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  int64_t events_kept = 0;
  int64_t events_dropped = 0;
};

struct StreamInfo {
  std::string id;        // "type_uuid"
  int64_t version = 0;   // the tip
  int64_t events = 0;    // live events (fewer than version after truncation)
};

// Progress of a long operation: `done` of `total` units, on the calling
// thread. May be empty.
using Progress = std::function<void(uint64_t done, uint64_t total)>;

enum class LogLevel : int32_t {
  kError = EST_LOG_ERROR,
  kWarning = EST_LOG_WARNING,
  kInfo = EST_LOG_INFO,
};

// What the library cannot return to a caller (a failed background flush, a
// torn tail cut at recovery), with secrets already redacted. Called from any
// thread, possibly at once; must not call back into the library.
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

namespace internal {

inline void ProgressTrampoline(void* user, uint64_t done, uint64_t total) {
  (*static_cast<const Progress*>(user))(done, total);
}

// The handler lives here, shared, so that a call in flight keeps the one it
// started with while SetLogHandler replaces it.
struct LogSlot {
  std::mutex mu;
  std::shared_ptr<const LogHandler> handler;
};
inline LogSlot& TheLogSlot() {
  static LogSlot* slot = new LogSlot();  // never destroyed: log calls may come late
  return *slot;
}
inline void LogTrampoline(void*, int32_t level, const char* message) {
  std::shared_ptr<const LogHandler> handler;
  {
    std::lock_guard<std::mutex> lock(TheLogSlot().mu);
    handler = TheLogSlot().handler;
  }
  if (handler && *handler) (*handler)(static_cast<LogLevel>(level), message);
}

}  // namespace internal

// Sets the process-wide log handler (an empty one discards, the default).
// Returns once no call of the handler it replaces is in progress, so what
// that handler captured may go right after (doc/abi.md "The log handler").
inline void SetLogHandler(LogHandler handler) {
  internal::LogSlot& slot = internal::TheLogSlot();
  const bool set = static_cast<bool>(handler);
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    slot.handler = set ? std::make_shared<const LogHandler>(std::move(handler)) : nullptr;
  }
  est_set_log_handler(set ? &internal::LogTrampoline : nullptr, nullptr);
}

// The ABI version of the library actually loaded (major << 16 | minor).
inline uint32_t AbiVersion() { return est_abi_version(); }

#ifdef EST_EXPERIMENTAL
// `text` with every password in it replaced by "***": a URI's userinfo
// password (postgresql://alice:***@host/db) and the value of every
// password= setting. For text a program prints itself, such as a store URI
// it was given; Error messages and log lines are redacted already.
// EST_ERR_INVALID_ARGUMENT when text holds a NUL. Experimental, as
// est_uri_redact.
inline Result<std::string> RedactSecrets(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return Error(EST_ERR_INVALID_ARGUMENT, "the text holds a NUL");
  const std::string in(text);
  size_t len = 0;
  // Asked with no room, the call says how much it needs.
  est_status st = est_uri_redact(in.c_str(), nullptr, 0, &len);
  if (st != EST_OK && st != EST_ERR_INVALID_ARGUMENT) return Error::Last(st);
  std::string out(len + 1, '\0');
  st = est_uri_redact(in.c_str(), out.data(), out.size(), &len);
  if (st != EST_OK) return Error::Last(st);
  out.resize(len);
  return out;
}

// Routes the library's own large buffers (stored events, indexes, batches,
// snapshots, iterator buffers: the list is at est_set_allocator in
// estoria.h) through `allocator`, for the rest of the process. Call it
// before any Store::Open or Batch: afterwards, or a second time, it is
// EST_ERR_INVALID_ARGUMENT and nothing changes. The functions must be
// thread-safe and must not call into the library. Experimental, as
// est_set_allocator.
inline Result<void> SetAllocator(const est_allocator& allocator) {
  return internal::Check(est_set_allocator(&allocator));
}
#endif  // EST_EXPERIMENTAL

}  // namespace estoria

#endif  // ESTORIA_OPERATION_HPP_
