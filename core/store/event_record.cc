// EventBlock: builds the stored records of one commit. Compact records are
// written straight into the block, sized exactly beforehand, in one pass.
// FlatBuffers records are each built in a thread-local FlatBufferBuilder (its buffer is
// reused from append to append) and copied into the block at an 8-byte
// aligned offset; the block is sized from a bound on every record's size, so
// it is allocated once, and shrunk with one more copy when the bound proves
// much too generous (small events). The block comes from the host's
// allocator (core/util/host_allocator.h), and so does the builder's buffer,
// which is then released after each Build rather than kept with the thread.
#include "core/store/event_record.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/util/status.h"
#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr size_t kBlockAlign = 8;
// The builder's buffer is kept between appends unless a big event grew it.
constexpr size_t kMaxRetainedBuilderBytes = size_t{1} << 20;

// Bounds on what FlatBuffers adds around an Event's strings and data: the
// table with its vtable and padding, the root offset, string and vector
// headers with alignment (generous; checked after each build); and per
// metadata entry its KeyValue table, two string headers and vector slot.
constexpr size_t kRecordFixedBound = 256;
constexpr size_t kMetadataEntryBound = 64;

size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

size_t RecordBound(const WritableBatch& batch, size_t i, const BatchEvent& event, size_t stream_type_size) {
  size_t bound = kRecordFixedBound + event.type.size() + stream_type_size + event.content_type.size() +
                 event.data.size();
  for (size_t j = 0; j < event.metadata_count; ++j) {
    const auto [key, value] = batch.metadata(i, j);
    bound += kMetadataEntryBound + key.size() + value.size();
  }
  return Align8(bound);
}

struct AlignedBytes {
  uint8_t* p = nullptr;
  size_t size = 0;
  AlignedBytes(uint8_t* bytes, size_t n) : p(bytes), size(n) {}
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  ~AlignedBytes() { HostDeallocate(p, size, kBlockAlign); }
};

// One builder per thread, reused across appends. Reached through a call the
// compiler cannot see into: in a shared library every access to a
// thread_local by name is a call to __tls_get_addr, and GCC would rather
// recompute the address at each use in Build (rematerialize it) than keep it
// in a register (measured: 10% of a bulk append).
__attribute__((noinline)) flatbuffers::FlatBufferBuilder* ThreadBuilder() {
  thread_local flatbuffers::FlatBufferBuilder builder(1024, HostFlatbuffersAllocator());
  return &builder;
}

// Leaves the thread's builder empty at the end of a Build: its buffer kept
// for the next one unless a big event grew it, or released when the host's
// allocator serves it (the host then sees nothing outstanding once its
// stores are closed, rather than a buffer per thread freed at thread exit).
struct BuilderRelease {
  flatbuffers::FlatBufferBuilder& fbb;
  size_t largest = 0;
  ~BuilderRelease() {
    if (largest > kMaxRetainedBuilderBytes || HostAllocatorHooked()) {
      fbb.Reset();
    } else {
      fbb.Clear();
    }
  }
};

}  // namespace

EventBlock::~EventBlock() {
  if (chunk_ == nullptr) HostDeallocate(bytes_, capacity_, kBlockAlign);
}

absl::StatusOr<std::shared_ptr<EventBlock>> EventBlock::Build(const Id& stream, const WritableBatch& batch,
                                                              const BuildOptions& options) {
  const Part part{&stream, &batch, options.keep_timestamps};
  return Build(absl::MakeConstSpan(&part, 1), options);
}

absl::StatusOr<std::shared_ptr<EventBlock>> EventBlock::Build(absl::Span<const Part> parts,
                                                              const BuildOptions& options) {
  if (options.header_room % 8 != 0) return absl::InternalError("header_room must be a multiple of 8");
  std::shared_ptr<EventBlock> block = std::allocate_shared<EventBlock>(HostAllocator<EventBlock>(), Token());
  size_t count = 0;
  for (const Part& part : parts) count += part.batch->event_count();
  block->records_.reserve(count);
  block->ids_.resize(count);
  // Every event's new ID at once (one atomic update), with the time the
  // events are stamped with (the store's clock); an event with its own ID
  // leaves its fresh one unused.
  RETURN_IF_ERROR(options.host != nullptr ? options.host->NewUuidsV7(absl::MakeSpan(block->ids_), options.now_ns)
                                         : NewUuidsV7(absl::MakeSpan(block->ids_), options.now_ns));
  block->format_ = options.format;
  if (options.format == RecordFormat::kCompact) {
    RETURN_IF_ERROR(block->BuildCompact(parts, options));
  } else {
    RETURN_IF_ERROR(block->BuildFlatbuffers(parts, options));
  }
  return block;
}

absl::Status EventBlock::BuildCompact(absl::Span<const Part> parts, const BuildOptions& options) {
  // Each event's fields once, sized exactly, so that the block is allocated
  // once and each record written once, in place.
  HostVector<compact::RecordFields> fields;
  fields.reserve(ids_.size());
  HostVector<size_t> first_pair;
  first_pair.reserve(ids_.size());
  HostVector<std::pair<std::string_view, std::string_view>> pairs;  // every event's, in order
  pairs.reserve(4 * ids_.size());
  size_t capacity = options.header_room;
  size_t record = 0;
  for (const Part& part : parts) {
    capacity += compact::RunHeaderSize(part.stream->type.size());
    for (size_t i = 0; i < part.batch->event_count(); ++i, ++record) {
      const BatchEvent in = part.batch->event(i);
      if (in.id.has_value()) ids_[record] = *in.id;
      const size_t first = pairs.size();
      first_pair.push_back(first);
      pairs.resize(first + in.metadata_count);
      part.batch->CopyMetadata(i, pairs.data() + first);
      size_t metadata_bytes = 0;
      for (size_t j = first; j < pairs.size(); ++j) metadata_bytes += pairs[j].first.size() + pairs[j].second.size();
      // Each field written once (an emplace_back() zeroed the whole struct first).
      fields.push_back({
          .timestamp_ns = part.keep_timestamps && in.timestamp_ns > 0 ? in.timestamp_ns : options.now_ns,
          .id = ids_[record].bytes.data(),
          .data = in.data.data(),
          .data_size = in.data.size(),
          .type = in.type,
          .content_type = in.content_type,
          .metadata_count = in.metadata_count,
          .metadata_bytes = metadata_bytes,
      });
      capacity += compact::RecordSpanOf(fields.back());
    }
  }
  const bool own = options.arena == nullptr;
  AlignedBytes owned{own ? static_cast<uint8_t*>(HostAllocate(capacity, kBlockAlign)) : nullptr, own ? capacity : 0};
  uint8_t* base = owned.p;
  if (!own) {
    RecordArena::Allocation a = options.arena->Allocate(capacity);
    base = a.bytes;
    chunk_ = std::move(a.chunk);
  }
  if (base == nullptr) return absl::ResourceExhaustedError("out of memory building event records");
  std::memset(base, 0, options.header_room);

  size_t offset = options.header_room;
  record = 0;
  for (const Part& part : parts) {
    const WritableBatch& batch = *part.batch;
    uint8_t* const run = base + offset;
    compact::WriteRunHeader(run, part.stream->uuid.bytes.data(), part.stream->type,
                            static_cast<uint32_t>(batch.event_count()));
    offset += compact::RunHeaderSize(part.stream->type.size());
    for (size_t i = 0; i < batch.event_count(); ++i, ++record) {
      uint8_t* const r = base + offset;
      const compact::RecordFields& f = fields[record];
      const size_t size = compact::WriteRecord(r, static_cast<uint32_t>(r - run), f, [&](auto&& fn) {
        for (size_t j = first_pair[record]; j < first_pair[record] + f.metadata_count; ++j) {
          fn(pairs[j].first, pairs[j].second);
        }
      });
      records_.push_back({offset, size});
      offset += compact::Align8(size);
    }
  }
  if (offset != capacity) return absl::InternalError("compact records did not fill their block exactly");
  bytes_ = base;
  capacity_ = capacity;
  used_ = offset;
  owned.p = nullptr;
  return absl::OkStatus();
}

absl::Status EventBlock::BuildFlatbuffers(absl::Span<const Part> parts, const BuildOptions& options) {
  size_t capacity = options.header_room;
  for (const Part& part : parts) {
    const WritableBatch& batch = *part.batch;
    for (size_t i = 0; i < batch.event_count(); ++i) {
      capacity += RecordBound(batch, i, batch.event(i), part.stream->type.size());
    }
  }

  AlignedBytes bytes{static_cast<uint8_t*>(HostAllocate(capacity, kBlockAlign)), capacity};
  if (bytes.p == nullptr) return absl::ResourceExhaustedError("out of memory building event records");

  flatbuffers::FlatBufferBuilder& fbb = *ThreadBuilder();
  BuilderRelease release{fbb};
  // Every scalar is written, so that stream_version and global_position can
  // be patched in place (absent fields cannot be mutated).
  fbb.ForceDefaults(true);
  HostVector<Uuid>& ids = ids_;
  std::memset(bytes.p, 0, options.header_room);
  std::vector<flatbuffers::Offset<fb::KeyValue>> entries;  // one event's metadata, reused
  size_t offset = options.header_room;
  size_t record = 0;
  for (const Part& part : parts) {
    const Id& stream = *part.stream;
    const WritableBatch& batch = *part.batch;
    const fb::Uuid stream_uuid(stream.uuid.Hi(), stream.uuid.Lo());
    for (size_t i = 0; i < batch.event_count(); ++i, ++record) {
      const BatchEvent in = batch.event(i);
      if (in.id.has_value()) ids[record] = *in.id;
      const fb::Uuid id(ids[record].Hi(), ids[record].Lo());
      int64_t timestamp_ns = part.keep_timestamps && in.timestamp_ns > 0 ? in.timestamp_ns : options.now_ns;

      fbb.Clear();
      auto type = fbb.CreateString(in.type.data(), in.type.size());
      auto stream_type = fbb.CreateString(stream.type);
      fbb.ForceVectorAlignment(in.data.size(), sizeof(uint8_t), 8);  // data is force_align: 8
      auto data = fbb.CreateVector(in.data.data(), in.data.size());
      auto content_type = fbb.CreateString(in.content_type.data(), in.content_type.size());
      flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>> metadata;
      if (in.metadata_count > 0) {
        // Sorted and unique already (checked or built so); copied in order.
        entries.clear();
        for (size_t j = 0; j < in.metadata_count; ++j) {
          const auto [k, v] = batch.metadata(i, j);
          auto key = fbb.CreateString(k.data(), k.size());
          auto value = fbb.CreateString(v.data(), v.size());
          entries.push_back(fb::CreateKeyValue(fbb, key, value));
        }
        metadata = fbb.CreateVector(entries);
      }
      fb::EventBuilder out(fbb);
      out.add_id(&id);
      out.add_type(type);
      out.add_stream_type(stream_type);
      out.add_stream_uuid(&stream_uuid);
      out.add_stream_version(0);   // patched under the store lock
      out.add_global_position(0);  // patched under the store lock
      out.add_timestamp_ns(timestamp_ns);
      out.add_data(data);
      out.add_content_type(content_type);
      if (!metadata.IsNull()) out.add_metadata(metadata);
      fbb.Finish(out.Finish());

      size_t size = fbb.GetSize();
      if (size > capacity - offset) {
        return absl::InternalError(absl::StrCat("event record ", i, " (", size, " bytes) exceeds its bound"));
      }
      std::memcpy(bytes.p + offset, fbb.GetBufferPointer(), size);
      records_.push_back({offset, size});
      release.largest = std::max(release.largest, size);
      // Padding is zeroed so that the block's bytes (and a checksum of them)
      // are fully determined.
      const size_t next = Align8(offset + size);
      std::memset(bytes.p + offset + size, 0, next - offset - size);
      offset = next;
    }
  }
  // Small events leave much of the bound unused: give it back.
  if (offset > 0 && capacity - offset > capacity / 4) {
    AlignedBytes exact{static_cast<uint8_t*>(HostAllocate(offset, kBlockAlign)), offset};
    if (exact.p != nullptr) {
      std::memcpy(exact.p, bytes.p, offset);
      std::swap(exact.p, bytes.p);
      std::swap(exact.size, bytes.size);
      capacity = offset;
    }
  }
  bytes_ = bytes.p;
  capacity_ = capacity;
  used_ = offset;
  bytes.p = nullptr;
  return absl::OkStatus();
}

void EventBlock::Patch(size_t i, int64_t stream_version, int64_t global_position) {
  if (format_ == RecordFormat::kCompact) {
    compact::Patch(bytes_ + records_[i].offset, stream_version, global_position);
    return;
  }
  fb::Event* event = flatbuffers::GetMutableRoot<fb::Event>(bytes_ + records_[i].offset);
  // Both fields exist (ForceDefaults), so the mutations cannot fail.
  event->mutate_stream_version(stream_version);
  event->mutate_global_position(global_position);
}

}  // namespace estoria::core
