// The index checkpoint: the file store's in-memory index (an IndexImage)
// saved in one file, so that a store opens by loading it instead of scanning
// every segment, then scans only the log past what it covers. Written on
// close and periodically; a missing or damaged checkpoint only costs a scan.
//
// Format (format version 1; FORMAT.md beside this file, "The index checkpoint", says the same in
// prose). Little-endian; every field's offset is a multiple of 8 where it
// starts an array, so the Location arrays are 8-aligned in the file.
//
//   preamble, kept by every format version:
//   0   magic "ESTORIAI" (8 bytes)
//   8   u32  format version (1)
//   12  u32  masked CRC32C of bytes 0..12 (so a damaged version field is
//            damage, and a genuine newer version is reported as newer)
//   version 1:
//   16  u64  file size in bytes, trailer included
//   24  u64  generation
//   32  i64  last_position
//   40  i64  reserved_upto
//   48  u32  segment count      52  u32 stream count
//   56  u64  global event count
//   64  u32  snapshot count     68  u32 0
//   72  i64  reclaimable
//   80  segments, each:  u64 end | u64 last_frame | u32 name size | u32 0 |
//                        name, zero-padded to 8
//       streams, each:   i64 tip | u64 event count | u32 id size | u32 0 |
//                        id text ("type_uuid"), zero-padded to 8 |
//                        event count Locations (u32 segment, u32 offset)
//       global:          global event count Locations
//       snapshots, each: u32 size | u32 0 | EncodeSnapshot bytes, zero-padded to 8
//   trailer (last 8 bytes): u32 masked CRC32C of every byte before it | u32 0
//
// Thread safety: both functions are safe to call from any thread; the image
// written is only read (its arrays may be shared with a live index, whose
// entries below each list's count are immutable).
#ifndef ESTORIA_CORE_FILELOG_INDEX_CHECKPOINT_H_
#define ESTORIA_CORE_FILELOG_INDEX_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env/env.h"
#include "core/filelog/index_image.h"

namespace estoria::core::filelog {

// 2: projection checkpoints (FORMAT.md); version 1 files are read as ones without.
inline constexpr uint32_t kIndexCheckpointVersion = 2;
inline constexpr char kIndexCheckpointMagic[8] = {'E', 'S', 'T', 'O', 'R', 'I', 'A', 'I'};

// Writes `image` to `path` atomically and durably: `path`.tmp is written
// (large arrays straight from the image, without an intermediate copy),
// synced, renamed over `path`, and the directory synced. A crash leaves the
// old checkpoint or the new one. An image the reader would refuse (a list
// longer than its array, counts that do not add up, a stream twice, a
// Location naming a segment the image does not list) is kInternal and
// nothing is written; I/O failures are kUnavailable.
absl::Status WriteIndexCheckpoint(Env* env, const std::string& path, const IndexImage& image);

// Reads the checkpoint at `path`. kNotFound when absent; kDataLoss
// ("index checkpoint PATH: <what>") when damaged, truncated or inconsistent;
// kUnimplemented for a newer format version; kUnavailable for I/O failures.
// Every event list comes back in an array of exactly its count's capacity;
// an empty list has a zero-capacity array (never null).
absl::StatusOr<IndexImage> ReadIndexCheckpoint(Env* env, const std::string& path);

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_INDEX_CHECKPOINT_H_
