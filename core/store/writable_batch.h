// WritableBatch: a checked FlatBuffers WritableEventBatch in aligned memory,
// the one input every backend's Append takes. BatchBuilder makes one event by
// event (est_batch sits on it); FromBytes checks a caller's buffer.
#ifndef ESTORIA_CORE_STORE_WRITABLE_BATCH_H_
#define ESTORIA_CORE_STORE_WRITABLE_BATCH_H_

#include <cstdint>
#include <memory>
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
inline constexpr std::string_view kReservedMetadataPrefix = "estoria.";

// Immutable after construction; cheap to move.
class WritableBatch {
 public:
  // Copies `bytes` to aligned memory and checks everything: size limits,
  // the "ESTB" identifier, the FlatBuffers verifier, at least one event,
  // valid event type names, no NUL inside strings, metadata keys non-empty,
  // sorted, unique and not reserved. kInvalidArgument says what is wrong.
  static absl::StatusOr<WritableBatch> FromBytes(absl::Span<const uint8_t> bytes);

  const fb::WritableEventBatch& root() const;
  size_t event_count() const { return event_count_; }
  absl::Span<const uint8_t> bytes() const { return {data_.get(), size_}; }

 private:
  friend class BatchBuilder;
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  WritableBatch(std::unique_ptr<uint8_t, AlignedFree> data, size_t size, size_t event_count)
      : data_(std::move(data)), size_(size), event_count_(event_count) {}

  std::unique_ptr<uint8_t, AlignedFree> data_;
  size_t size_ = 0;
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
  void Clear();

 private:
  struct Pending;
  std::unique_ptr<Pending> pending_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_WRITABLE_BATCH_H_
