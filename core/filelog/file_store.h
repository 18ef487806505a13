// FileStore: the embedded default backend ("file:PATH" or a bare path): a
// directory of append-only segment files of checksummed records, with an
// in-memory index rebuilt at open. The on-disk format, the recovery rules and
// what each sync mode promises are in core/filelog/FORMAT.md.
//
// Thread safety: every method may be called from many threads at once.
// Appends from concurrent threads share fdatasyncs (group commit).
#ifndef ESTORIA_CORE_FILELOG_FILE_STORE_H_
#define ESTORIA_CORE_FILELOG_FILE_STORE_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/env/env.h"
#include "core/store/event_store.h"

namespace estoria::core {

inline constexpr uint64_t kMaxSegmentBytes = uint64_t{1} << 30;

struct FileStoreOptions {
  StoreOptions store;
  // A segment is closed and a new one begun once it holds this many bytes
  // (a batch larger than that gets a segment of its own size). At most
  // kMaxSegmentBytes, so that offsets fit the index's 32 bits.
  uint64_t segment_bytes = uint64_t{64} << 20;
  // Zeros are written this far ahead of the writer, so that appends land in
  // blocks the file system has already allocated.
  uint64_t preallocate_bytes = uint64_t{4} << 20;
  // An index checkpoint is written in the background once the log has grown
  // by this much since the last one (or by four times the last checkpoint's
  // size, if more), bounding what an open after a crash scans. 0: only at
  // close and after compaction.
  uint64_t checkpoint_bytes = uint64_t{256} << 20;
};

// Opens (creating if absent, or if `dir` is an empty directory) the store in
// `dir` through `env`, which must outlive the store. Errors: kAlreadyExists
// (BUSY) when another writer holds the store, naming its PID; kDataLoss
// (CORRUPTION) naming the segment and offset of damage before the tail;
// kUnimplemented (UNSUPPORTED) for a newer format version; kInvalidArgument
// for a non-empty directory that is not a store.
absl::StatusOr<std::shared_ptr<EventStore>> OpenFileStore(Env* env, std::string_view dir,
                                                          const FileStoreOptions& options);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_FILELOG_FILE_STORE_H_
