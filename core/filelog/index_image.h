// IndexImage: the file store's in-memory index as one value, for the index
// checkpoint (index_checkpoint.h) that lets a store open without scanning
// every segment. Its event lists share their arrays with the live index
// when written (see core/store/entry_list.h), so taking an image costs a
// few pointer copies per stream, not a copy of the entries.
#ifndef ESTORIA_CORE_FILELOG_INDEX_IMAGE_H_
#define ESTORIA_CORE_FILELOG_INDEX_IMAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/filelog/file_iterator.h"
#include "core/id/id.h"
#include "core/store/entry_list.h"
#include "core/store/event_store.h"

namespace estoria::core::filelog {

// A segment the image covers, in log order: its file name and the bytes of
// it that the image accounts for (the segment's published end when the
// image was taken). Location::segment indexes this list.
struct SegmentCover {
  std::string name;
  uint64_t end = 0;
  // The offset of the last frame below `end` (0: none): an open checks that
  // this frame is still whole and ends at `end` before trusting the image.
  uint64_t last_frame = 0;
};

struct StreamImage {
  Id id;
  int64_t tip = 0;             // > 0: wholly deleted streams are left out
  EntryList<Location> events;  // live events, versions tip - count + 1 .. tip
};

struct IndexImage {
  uint64_t generation = 0;  // the manifest generation the segments belong to
  std::vector<SegmentCover> segments;
  int64_t last_position = 0;  // highest position of an event in the covered log (0: none)
  int64_t reserved_upto = 0;  // highest reservation in the covered log
  int64_t reclaimable = 0;    // removed events and snapshots compaction has yet to reclaim
  std::vector<StreamImage> streams;
  EntryList<Location> global;  // every live event, ascending position
  std::vector<std::shared_ptr<const Snapshot>> snapshots;  // every live snapshot
  std::vector<Checkpoint> checkpoints;  // every projection checkpoint, ascending ID
};

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_INDEX_IMAGE_H_
