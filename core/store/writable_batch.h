// WritableBatch: the one input every backend's Append takes, checked: either
// a FlatBuffers WritableEventBatch in aligned memory (FromBytes checks a
// caller's buffer; BatchBuilder::Build makes one), or a view of a
// BatchBuilder's events as they were added (BatchBuilder::View: no
// FlatBuffers built, nothing copied). Backends read it event by event
// (event(), metadata()), the same for both.
#ifndef ESTORIA_CORE_STORE_WRITABLE_BATCH_H_
#define ESTORIA_CORE_STORE_WRITABLE_BATCH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/id/uuid.h"

namespace estoria::fb {
struct WritableEventBatch;
}

namespace estoria::core {

// Limits checked before FlatBuffers sees a buffer (its verifier asserts at
// 2 GiB and stops at a million tables).
inline constexpr size_t kMaxBatchBytes = size_t{1} << 30;  // 1 GiB
inline constexpr size_t kMaxBatchEvents = 100000;
inline constexpr size_t kMaxMetadataPerEvent = 1024;
// Metadata keys with this prefix belong to the toolkit's own components
// (Estoria's event-stream snapshot store, its rebuild records), which write
// them through the event store: the store accepts them, and the aggregate
// layer (core/aggregate) refuses them in what user code adds.
inline constexpr std::string_view kReservedMetadataPrefix = "estoria.";

// One event of a batch: views into the batch, valid as long as it is.
struct BatchEvent {
  std::string_view type;
  absl::Span<const uint8_t> data;
  std::string_view content_type;
  size_t metadata_count = 0;  // pairs, sorted by key: WritableBatch::metadata
  std::optional<Uuid> id;     // set and not nil
  int64_t timestamp_ns = 0;   // 0: not set
};

class BatchBuilder;

// Immutable after construction; cheap to move. A view borrows its builder,
// which must outlive it unchanged.
class WritableBatch {
 public:
  // Copies `bytes` to aligned memory and checks everything: size limits,
  // the "ESTB" identifier, the FlatBuffers verifier, at least one event,
  // valid event type names, no NUL inside strings, metadata keys non-empty,
  // sorted, unique and not reserved. kInvalidArgument says what is wrong.
  static absl::StatusOr<WritableBatch> FromBytes(absl::Span<const uint8_t> bytes);

  size_t event_count() const { return event_count_; }
  BatchEvent event(size_t i) const;
  // The j-th metadata pair (key, value) of event i, in key order.
  std::pair<std::string_view, std::string_view> metadata(size_t i, size_t j) const;
  // Every metadata pair of event i, in key order, to out[0, metadata_count):
  // one call where metadata(i, j) per pair made a record builder wait on each
  // returned pair.
  void CopyMetadata(size_t i, std::pair<std::string_view, std::string_view>* out) const;

  // The FlatBuffers form. REQUIRES: not a view.
  const fb::WritableEventBatch& root() const;
  absl::Span<const uint8_t> bytes() const { return {data_.get(), size_}; }
  bool is_view() const { return builder_ != nullptr; }

  // Releases a batch's copy (from the host's allocator) of `size` bytes.
  struct AlignedFree {
    size_t size;  // no default initializer: the enclosing class uses the type before it is complete
    void operator()(uint8_t* p) const;
  };

 private:
  friend class BatchBuilder;
  WritableBatch(std::unique_ptr<uint8_t, AlignedFree> data, size_t size, size_t event_count)
      : data_(std::move(data)), size_(size), event_count_(event_count) {}
  WritableBatch(const BatchBuilder* builder, size_t event_count) : builder_(builder), event_count_(event_count) {}

  std::unique_ptr<uint8_t, AlignedFree> data_;
  size_t size_ = 0;
  const BatchBuilder* builder_ = nullptr;  // a view's
  size_t event_count_ = 0;
};

// Builds a batch event by event, checking each input as it comes.
// Not thread-safe.
class BatchBuilder {
 public:
  BatchBuilder();
  ~BatchBuilder();
  BatchBuilder(BatchBuilder&&) noexcept;
  BatchBuilder& operator=(BatchBuilder&&) noexcept;

  absl::Status Add(std::string_view type, absl::Span<const uint8_t> data, std::string_view content_type);
  // On the last added event; reserved, empty or duplicate keys are refused.
  absl::Status AddMetadata(std::string_view key, std::string_view value);
  absl::Status SetId(const Uuid& id);                // on the last added event
  absl::Status SetTimestamp(int64_t timestamp_ns);  // on the last added event; > 0

  size_t event_count() const;
  // The finished WritableEventBatch; valid until the next Add*/Set* or
  // destruction. kInvalidArgument when empty.
  absl::StatusOr<absl::Span<const uint8_t>> Bytes();
  // A batch with the same bytes, owned by the caller.
  absl::StatusOr<WritableBatch> Build();
  // A batch of the events added so far that borrows this builder: no bytes
  // are built or copied. Valid until the builder changes or is destroyed.
  // kInvalidArgument when empty.
  absl::StatusOr<WritableBatch> View() const;
  void Clear();

 private:
  friend class WritableBatch;
  struct Pending;
  std::unique_ptr<Pending> pending_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_WRITABLE_BATCH_H_
