// SegmentWriter: the append side of one segment file. Writes frames at the
// segment's end with positioned writes (never through a mapping, never
// truncating), makes them durable with Sync, and keeps zeros written ahead
// of the end on a background thread, so that an append lands in blocks the
// file system has already allocated and its fdatasync does not also have to
// journal the file's growth (doc/traps.md "Preallocation": about 155 us
// instead of 200-240 us).
//
// Without a thread of its own (EST_THREADS_NONE), the host zeroes ahead in
// steps: PreallocateStep, called from est_store_maintain.
//
// Thread safety: Write, Sync and Close are called by one thread at a time
// (the store's group-commit leader); the preallocation thread is internal;
// PreallocateStep may be called from any thread, beside them.
#ifndef ESTORIA_CORE_FILELOG_SEGMENT_WRITER_H_
#define ESTORIA_CORE_FILELOG_SEGMENT_WRITER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/env/env.h"
#include "core/store/store_host.h"
#include "core/util/mutex.h"

namespace estoria::core::filelog {

class SegmentWriter {
 public:
  // Creates segment `sequence` in `dir`: writes its header, syncs the file
  // and the directory, so that the segment exists durably before any frame
  // is acknowledged in it. preallocate_bytes 0 = no preallocation.
  // `background`: preallocate on a thread of its own (else PreallocateStep).
  // `host` (may be null: the process-wide log) hears why preallocation stopped.
  static absl::StatusOr<std::unique_ptr<SegmentWriter>> Create(Env* env, std::string_view dir, uint64_t sequence,
                                                               uint64_t preallocate_bytes, bool background = true,
                                                               const StoreHost* host = nullptr);
  // Continues an existing segment whose frames end at `end` (after recovery).
  static absl::StatusOr<std::unique_ptr<SegmentWriter>> Reopen(Env* env, std::string_view dir, uint64_t sequence,
                                                               uint64_t end, uint64_t preallocate_bytes,
                                                               bool background = true,
                                                               const StoreHost* host = nullptr);
  ~SegmentWriter();  // Close(), errors dropped
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  uint64_t sequence() const { return sequence_; }
  const std::string& path() const { return path_; }
  uint64_t end() const { return end_; }                  // where the next frame goes
  uint64_t synced_upto() const { return synced_upto_; }  // bytes known durable

  // Writes `pieces` back to back at end() and advances it.
  absl::Status Write(absl::Span<const absl::Span<const uint8_t>> pieces);
  // fdatasync: everything written so far becomes durable.
  absl::Status Sync();
  // Stops preallocation and closes the file. Idempotent.
  absl::Status Close();

  // Without a background thread: zeroes chunks ahead of the writer while
  // `more()` says so (asked after each chunk). Returns true when the writer
  // is still short of its zeroed head start afterwards.
  bool PreallocateStep(const std::function<bool()>& more);
  // True when a PreallocateStep would zero something now.
  bool PreallocationPending();

 private:
  SegmentWriter(Env* env, std::string path, uint64_t sequence, uint64_t end, uint64_t preallocate_bytes,
                std::unique_ptr<WritableFile> file, bool background, const StoreHost* host);
  void PreallocateLoop();
  enum class Zeroing { kAhead, kZeroed, kFailed };
  // Zeroes one chunk of at most zeros.size() bytes where the writer needs
  // it (kZeroed), or says it is far enough ahead (kAhead). Releases mu_
  // while it writes.
  Zeroing ZeroChunkLocked(const std::vector<uint8_t>& zeros) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool AheadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env* const env_;
  const std::string path_;
  const uint64_t sequence_;
  const uint64_t preallocate_bytes_;
  const StoreHost* const host_;
  std::unique_ptr<WritableFile> file_;
  uint64_t end_;
  uint64_t synced_upto_;

  // Preallocation: the thread zeroes [zeroed_, claimed_) while `zeroing_`;
  // the writer never writes into a range being zeroed, and the thread never
  // zeroes below the writer's end.
  Mutex mu_;
  CondVar cv_;
  uint64_t writer_end_ ABSL_GUARDED_BY(mu_);
  uint64_t last_write_ ABSL_GUARDED_BY(mu_) = 0;  // bytes of the writer's latest Write
  uint64_t zeroed_ ABSL_GUARDED_BY(mu_);
  uint64_t claimed_ ABSL_GUARDED_BY(mu_);
  bool zeroing_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;  // preallocation gave up
  std::vector<uint8_t> step_zeros_ ABSL_GUARDED_BY(mu_);  // PreallocateStep's chunk
  std::thread thread_;
};

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_SEGMENT_WRITER_H_
