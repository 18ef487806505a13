// The file store's index entries and its iterator. A Location names one
// event record in a segment (8 bytes: the index keeps two per event, one in
// its stream's list and one in the global order). An iterator holds a
// snapshot of an entry array (core/store/entry_list.h) and the segments it
// needs. Where the segments are memory-mapped (the POSIX Env) the views it
// hands out point into the mappings, with no copy; otherwise (MemEnv,
// FaultEnv) it reads records with pread into a buffer of its own,
// coalescing neighbours into one read.
//
// A record's size is in the record (a compact record's header; the u32 of a
// FlatBuffers record's 8-byte prefix, just before it: log_format.h), so the
// index does not keep it.
//
// Thread safety: an iterator is used by one thread at a time; it shares only
// immutable things (entry arrays, segment tables, mappings) with the store.
#ifndef ESTORIA_CORE_FILELOG_FILE_ITERATOR_H_
#define ESTORIA_CORE_FILELOG_FILE_ITERATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env/env.h"
#include "core/store/entry_list.h"
#include "core/store/event_store.h"
#include "core/util/host_allocator.h"

namespace estoria::core::filelog {

struct Location {
  uint32_t segment = 0;  // index into the store's SegmentTable (log order)
  uint32_t offset = 0;   // of the record (a FlatBuffers one: past its prefix) in the segment

  friend bool operator==(const Location& a, const Location& b) {
    return a.segment == b.segment && a.offset == b.offset;
  }
  // Log order.
  friend bool operator<(const Location& a, const Location& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  }
};
static_assert(sizeof(Location) == 8);

// One segment as readers reach it: mapped, or (where the Env cannot map)
// through a reader.
struct SegmentView {
  std::shared_ptr<const MappedFile> map;  // covers every published byte when set
  std::shared_ptr<const RandomAccessFile> file;
  // map->data() and map->size(), kept here so reads make no virtual call.
  const uint8_t* mapped = nullptr;
  size_t mapped_size = 0;
  RecordFormat format = RecordFormat::kCompact;  // of its event records, from its header
};

// Every segment, in log order; replaced (never changed) when a segment is
// added, remapped or compacted away, so an iterator keeps the one it was
// created with, and with it the mappings its views point into.
using SegmentTable = std::vector<SegmentView>;

// 8-byte aligned storage for bytes read with pread (records of segments that
// are not mapped, whole segments read by recovery and verify), from the
// host's allocator.
using ReadBuffer = HostVector<uint64_t>;

// A view of the segment file at `path` covering at least `bytes` (which may
// run past its end: see MappedFile): mapped where the Env can, through a
// reader otherwise. Its header says the format of its records: a file too
// short for one (a segment being created) is taken as this version's.
absl::StatusOr<SegmentView> ViewSegment(Env* env, const std::string& path, uint64_t bytes);

// Bytes [0, n) of `file`, read in large chunks into `buffer` (8-byte
// aligned storage); shorter only where the file ends first.
absl::StatusOr<absl::Span<const uint8_t>> ReadFileBytes(const RandomAccessFile& file, uint64_t n,
                                                        ReadBuffer* buffer);
// Bytes [0, n) of `segment`: its mapping itself (which must cover them), or
// as ReadFileBytes through its reader.
absl::StatusOr<absl::Span<const uint8_t>> SegmentBytes(const SegmentView& segment, uint64_t n,
                                                       ReadBuffer* buffer);

// The record at `at` (a location the index holds): a view into the mapping,
// or read into `scratch` where the segment is not mapped.
absl::StatusOr<EventView> ReadRecord(const SegmentTable& table, Location at, ReadBuffer* scratch);

// How the entries of an iterator lie in the log: in its order (the global
// order, whose records lie back to back), or in any (a stream's), which
// decides how the records ahead are fetched into the cache.
enum class RecordOrder { kAny, kLog };

// An iterator over entries [begin, end) of `array`, forward or reverse.
// `closed` turns every later Next into ClosedError.
std::unique_ptr<EventIterator> MakeFileIterator(std::shared_ptr<const EntryArray<Location>> array, size_t begin,
                                                size_t end, bool reverse,
                                                std::shared_ptr<const SegmentTable> segments,
                                                std::shared_ptr<const std::atomic<bool>> closed,
                                                RecordOrder order = RecordOrder::kAny);

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_FILE_ITERATOR_H_
