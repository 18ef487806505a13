// The file store's index entries and its iterator. An entry locates one
// event record in a segment; an iterator holds a snapshot of an entry array
// (see core/store/entry_list.h) and the segment readers it needs, and reads
// records with pread into a buffer of its own, coalescing neighbours into
// one read. Views it hands out point into that buffer.
//
// Thread safety: an iterator is used by one thread at a time; it shares only
// immutable things (entry arrays, readers) with the store.
#ifndef ESTORIA_CORE_FILELOG_FILE_ITERATOR_H_
#define ESTORIA_CORE_FILELOG_FILE_ITERATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/env/env.h"
#include "core/store/entry_list.h"
#include "core/store/event_store.h"

namespace estoria::core::filelog {

struct LogEntry {
  int64_t position = 0;
  uint64_t offset = 0;   // of the record (past its prefix) in the segment
  uint32_t segment = 0;  // index into the store's SegmentTable
  uint32_t size = 0;     // of the record
};

// Readers of every segment, by index; replaced (never changed) when a
// segment is added, so an iterator can keep the one it was created with.
using SegmentTable = std::vector<std::shared_ptr<const RandomAccessFile>>;

// An iterator over entries [begin, end) of `array`, forward or reverse.
// `closed` turns every later Next into ClosedError.
std::unique_ptr<EventIterator> MakeFileIterator(std::shared_ptr<const EntryArray<LogEntry>> array, size_t begin,
                                                size_t end, bool reverse,
                                                std::shared_ptr<const SegmentTable> segments,
                                                std::shared_ptr<const std::atomic<bool>> closed);

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_FILE_ITERATOR_H_
