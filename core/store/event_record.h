// EventBlock: the stored form of one append (or of a transaction's appends):
// the records of all its events in one 8-byte aligned allocation (one
// allocation per commit, not per event), either compact records
// (core/store/compact_record.h: one run per append) or FlatBuffers
// estoria.fb.Event records. FlatBuffers records are built with
// ForceDefaults, so their stream_version and global_position fields exist;
// both kinds are patched in place once the store has assigned versions and
// positions under its lock.
//
// Thread safety: built and patched by one thread; immutable once published,
// after which any number of threads may read it (share it by shared_ptr).
#ifndef ESTORIA_CORE_STORE_EVENT_RECORD_H_
#define ESTORIA_CORE_STORE_EVENT_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/uuid.h"
#include "core/id/id.h"
#include "core/store/event_view.h"
#include "core/store/record_arena.h"
#include "core/store/store_host.h"
#include "core/store/writable_batch.h"
#include "core/util/host_allocator.h"

namespace estoria::core {

class EventBlock {
 public:
  struct BuildOptions {
    // Each event keeps the ID the batch sets (idempotent appends: every
    // append keeps them); others get a new UUIDv7. Timestamps the batch
    // sets are kept only with keep_timestamps (restores); others are `now_ns`.
    bool keep_timestamps = false;  // Build(stream, batch) only: parts say their own
    int64_t now_ns = 0;
    RecordFormat format = RecordFormat::kFlatbuffers;
    // Compact records only: where their bytes come from (the memory store's
    // chunks); null = an allocation of the block's own.
    RecordArena* arena = nullptr;
    // Where new IDs come from (the store's host); null = the process-wide generator.
    const StoreHost* host = nullptr;
    // For the file log, which writes the block as one frame: bytes left
    // free before the first record (for the frame header; a multiple of 8),
    // so that the block is the frame as it is.
    size_t header_room = 0;
  };

  // Builds the records of every event of `batch` for `stream`, versions and
  // positions left at 0. REQUIRES: stream.type is a valid type name.
  static absl::StatusOr<std::shared_ptr<EventBlock>> Build(const Id& stream, const WritableBatch& batch,
                                                           const BuildOptions& options);
  // One part of a block of several streams (a transaction): its records
  // follow the previous part's.
  struct Part {
    const Id* stream = nullptr;
    const WritableBatch* batch = nullptr;
    bool keep_timestamps = false;  // as BuildOptions::keep_timestamps, for this part
  };
  static absl::StatusOr<std::shared_ptr<EventBlock>> Build(absl::Span<const Part> parts,
                                                           const BuildOptions& options);

  // Only Build makes blocks (the token is its own); public for allocate_shared.
  struct Token {
   private:
    friend class EventBlock;
    Token() = default;
  };
  explicit EventBlock(Token) {}
  ~EventBlock();
  EventBlock(const EventBlock&) = delete;
  EventBlock& operator=(const EventBlock&) = delete;

  size_t size() const { return records_.size(); }
  EventView view(size_t i) const { return {bytes_ + records_[i].offset, records_[i].size, format_}; }
  RecordFormat format() const { return format_; }
  // The ID record i is stored with.
  const Uuid& id(size_t i) const { return ids_[i]; }
  absl::Span<const Uuid> ids() const { return ids_; }
  // The arena chunk holding the records (BuildOptions::arena), else null.
  const std::shared_ptr<RecordArena::Chunk>& chunk() const { return chunk_; }
  // Bytes held by the block's allocation (for tests and accounting).
  size_t allocated_bytes() const { return capacity_; }
  // The whole block: header room, then the records (each 8-byte aligned,
  // behind their run headers when compact), padded to a multiple of 8.
  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }
  size_t used_bytes() const { return used_; }
  // Where record i starts in data().
  size_t record_offset(size_t i) const { return records_[i].offset; }

  // Sets record i's stream_version and global_position.
  // REQUIRES: the block is not yet visible to any reader.
  void Patch(size_t i, int64_t stream_version, int64_t global_position);

 private:
  struct Record {
    size_t offset;
    size_t size;
  };
  // The block, its bytes and its arrays come from the host's allocator
  // (core/util/host_allocator.h): a memory store keeps them for its life.
  uint8_t* bytes_ = nullptr;  // 8-byte aligned; owned (HostAllocate(capacity_, 8)) unless in chunk_
  std::shared_ptr<RecordArena::Chunk> chunk_;
  size_t capacity_ = 0;
  size_t used_ = 0;
  HostVector<Record> records_;
  HostVector<Uuid> ids_;
  RecordFormat format_ = RecordFormat::kFlatbuffers;

  absl::Status BuildFlatbuffers(absl::Span<const Part> parts, const BuildOptions& options);
  absl::Status BuildCompact(absl::Span<const Part> parts, const BuildOptions& options);
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_EVENT_RECORD_H_
