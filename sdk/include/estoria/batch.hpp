// estoria/batch.hpp: Batch, the events of one append, built event by event
// (RAII over est_batch). Every input is copied into the batch, so nothing
// passed to Add or its setters needs to outlive the call.
//
// Not thread-safe: one thread at a time, like est_batch. Movable, not
// copyable; a moved-from Batch is empty and may be reused.
#ifndef ESTORIA_BATCH_HPP_
#define ESTORIA_BATCH_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "estoria/estoria.h"
#include "estoria/id.hpp"
#include "estoria/result.hpp"
#include "estoria/string_arg.hpp"

namespace estoria {

class Batch;

// What Batch::Add returns: success or the first error, with setters for the
// event just added that chain and stop at the first failure:
//
//   Result<void> r = batch.Add("deposited", payload, "application/json")
//                        .Metadata("user", "ana")
//                        .Metadata("correlation", "c-17");
//
// Borrows the Batch, which must outlive it; use it within the expression.
class [[nodiscard]] BatchEvent : public Result<void> {
 public:
  BatchEvent Metadata(const StringArg& key, const StringArg& value) &&;
  // Kept only by an append with AppendOptions::Restore (import).
  BatchEvent Id(const Uuid& id) &&;
  BatchEvent Timestamp(int64_t timestamp_ns) &&;

 private:
  friend class Batch;
  BatchEvent(Batch* batch, Result<void> result) : Result<void>(std::move(result)), batch_(batch) {}
  Batch* batch_;
};

class Batch {
 public:
  // No est_batch is made until the first Add, so construction cannot fail.
  Batch() = default;
  Batch(Batch&& other) noexcept : batch_(std::move(other.batch_)), size_(std::exchange(other.size_, 0)) {}
  Batch& operator=(Batch&& other) noexcept {
    batch_ = std::move(other.batch_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  // Adds an event of `type` (a type name) with a copy of `data`.
  // content_type may be empty ("", undeclared) and is kept verbatim.
  BatchEvent Add(const StringArg& type, std::span<const uint8_t> data, const StringArg& content_type = "") {
    return BatchEvent(this, AddRaw(type, data.data(), data.size(), content_type));
  }
  BatchEvent Add(const StringArg& type, std::span<const std::byte> data, const StringArg& content_type = "") {
    return BatchEvent(this, AddRaw(type, data.data(), data.size(), content_type));
  }
  BatchEvent Add(const StringArg& type, std::string_view data, const StringArg& content_type = "") {
    return BatchEvent(this, AddRaw(type, data.data(), data.size(), content_type));
  }

  // On the last added event. Keys are non-empty and unique per event. Keys
  // starting "estoria." are the toolkit's own (Estoria's event-stream snapshot
  // store writes them): a store accepts them; aggregates refuse them.
  Result<void> AddMetadata(const StringArg& key, const StringArg& value) {
    if (!batch_) return NoEventYet();
    if (!key.valid() || !value.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "metadata holds no NUL");
    return internal::Check(est_batch_add_metadata(batch_.get(), key.c_str(), value.c_str()));
  }
  // On the last added event; kept only by an append with Restore.
  Result<void> SetId(const Uuid& id) {
    if (!batch_) return NoEventYet();
    est_uuid u = id.ToC();
    return internal::Check(est_batch_set_id(batch_.get(), &u));
  }
  Result<void> SetTimestamp(int64_t timestamp_ns) {
    if (!batch_) return NoEventYet();
    return internal::Check(est_batch_set_timestamp(batch_.get(), timestamp_ns));
  }

  // Events added so far.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The batch as a FlatBuffers WritableEventBatch, owned by the Batch and
  // valid until the next Add or setter call, or its destruction.
  // EST_ERR_INVALID_ARGUMENT when the batch holds no event.
  Result<std::span<const uint8_t>> Bytes() const {
    if (!batch_) return Error(EST_ERR_INVALID_ARGUMENT, "the batch holds no event");
    const uint8_t* bytes = nullptr;
    size_t len = 0;
    est_status st = est_batch_bytes(batch_.get(), &bytes, &len);
    if (st != EST_OK) return Error::Last(st);
    return std::span<const uint8_t>(bytes, len);
  }

  // Drops every event; the Batch can be filled again.
  void Clear() {
    batch_.reset();
    size_ = 0;
  }

  // The underlying handle (NULL before the first Add), owned by the Batch.
  est_batch* get() const { return batch_.get(); }

 private:
  struct Free {
    void operator()(est_batch* b) const { est_batch_free(b); }
  };

  // Setters act on the last added event; before the first Add there is no
  // handle to ask, so the SDK answers as the ABI would.
  static Result<void> NoEventYet() {
    return Error(EST_ERR_INVALID_ARGUMENT, "no event in the batch yet: call Add first");
  }

  Result<void> AddRaw(const StringArg& type, const void* data, size_t len, const StringArg& content_type) {
    if (!type.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "an event type holds no NUL");
    if (!content_type.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "a content type holds no NUL");
    if (!batch_) {
      est_batch* b = nullptr;
      est_status st = est_batch_new(&b);
      if (st != EST_OK) return Error::Last(st);
      batch_.reset(b);
    }
    est_status st = est_batch_add(batch_.get(), type.c_str(), data, len, content_type.c_str());
    if (st != EST_OK) return Error::Last(st);
    ++size_;
    return {};
  }

  std::unique_ptr<est_batch, Free> batch_;
  size_t size_ = 0;
};

inline BatchEvent BatchEvent::Metadata(const StringArg& key, const StringArg& value) && {
  if (!ok()) return std::move(*this);
  return BatchEvent(batch_, batch_->AddMetadata(key, value));
}

inline BatchEvent BatchEvent::Id(const Uuid& id) && {
  if (!ok()) return std::move(*this);
  return BatchEvent(batch_, batch_->SetId(id));
}

inline BatchEvent BatchEvent::Timestamp(int64_t timestamp_ns) && {
  if (!ok()) return std::move(*this);
  return BatchEvent(batch_, batch_->SetTimestamp(timestamp_ns));
}

}  // namespace estoria

#endif  // ESTORIA_BATCH_HPP_
