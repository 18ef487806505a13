// estoria/event.hpp: EventView, a read-only view of one stored event, and
// StreamIterator, which yields them from a stream read, a global read or an
// append's written events (RAII over est_iter).
//
// Lifetimes: an EventView and every string_view or span it returns point
// into memory owned by the StreamIterator that produced it, valid until that
// iterator advances past the view's batch (the next est_iter_next_batch
// call), is moved from, or is destroyed. Copy what must live longer
// (std::string(view.type()), Id, Uuid and integers are values).
//
// Thread safety: a StreamIterator is used by one thread at a time.
#ifndef ESTORIA_EVENT_HPP_
#define ESTORIA_EVENT_HPP_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "estoria/estoria.h"
#include "estoria/id.hpp"
#include "estoria/result.hpp"

namespace estoria {

// A view of one event as the library filled it. Cheap to copy; every
// string_view and span it returns lives exactly as long as the view itself
// (see the lifetime rules at the top of this file). id() and stream_id()
// return owning values.
class EventView {
 public:
  EventView() = default;
  // Wraps a view the library filled; `e` must stay valid while this is used.
  explicit EventView(const est_event* e) : e_(e) {}

  // The event type; the type of the event's ID.
  std::string_view type() const { return e_->type; }
  Uuid uuid() const { return Uuid::FromC(e_->id); }
  // The event's ID ("type_uuid"); formats, so it allocates.
  Id id() const { return Id::Make(e_->type, Uuid::FromC(e_->id)).value_or(Id()); }

  std::string_view stream_type() const { return e_->stream_type; }
  Uuid stream_uuid() const { return Uuid::FromC(e_->stream_uuid); }
  // The stream's ID; formats, so it allocates.
  Id stream_id() const { return Id::Make(e_->stream_type, Uuid::FromC(e_->stream_uuid)).value_or(Id()); }

  int64_t stream_version() const { return e_->stream_version; }
  // Strictly increasing across the store; 0 where the backend has none.
  int64_t global_position() const { return e_->global_position; }
  int64_t timestamp_ns() const { return e_->timestamp_ns; }

  std::span<const uint8_t> data() const { return {e_->data, e_->data_len}; }
  // The data as characters, for text payloads (JSON, ...).
  std::string_view data_string() const {
    return {reinterpret_cast<const char*>(e_->data), e_->data_len};
  }
  // "" when undeclared.
  std::string_view content_type() const { return e_->content_type; }

  // Metadata pairs, sorted by key.
  size_t metadata_count() const { return e_->metadata_count; }
  // The index-th pair; {"", ""} past metadata_count().
  std::pair<std::string_view, std::string_view> metadata(size_t index) const {
    const char* key = nullptr;
    const char* value = nullptr;
    if (est_event_metadata(e_, index, &key, &value) != EST_OK) return {};
    return {key, value};
  }
  // The value for `key`, if the event has it.
  std::optional<std::string_view> metadata(std::string_view key) const {
    // Keys are sorted: binary search.
    size_t lo = 0;
    size_t hi = metadata_count();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      auto [k, v] = metadata(mid);
      int c = k.compare(key);
      if (c == 0) return v;
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return std::nullopt;
  }

  // The event as a FlatBuffers estoria.fb.Event (see schema/estoria.fbs),
  // a copy (operator new's alignment, which the Event's 8-byte aligned data
  // asks for); a store that keeps compact records builds it on this call.
  Result<std::vector<uint8_t>> flatbuffer() const {
    size_t len = 0;
    if (est_status s = est_event_flatbuffer(e_, nullptr, 0, &len); s != EST_OK) return Error::Last(s);
    std::vector<uint8_t> out(len);
    if (est_status s = est_event_flatbuffer(e_, out.data(), out.size(), &len); s != EST_OK) return Error::Last(s);
    return out;
  }

  // The C view, for calls the SDK does not wrap.
  const est_event* get() const { return e_; }

 private:
  const est_event* e_ = nullptr;
};

// A finite sequence of events fixed when the read was made (events deleted
// later are still yielded). Use it in a range-for, then check status():
//
//   for (const EventView& e : iter) { ... }
//   if (!iter.status().ok()) { ... iter.status().error() ... }
//
// Views are pulled from the library in batches of batch_size() through
// est_iter_next_batch. A failure ends the iteration and is kept in status().
// One pass only: a second range-for (or Next()) continues where the first
// stopped.
// Movable, not copyable; a moved-from iterator is empty with an OK status.
class StreamIterator {
 public:
  static constexpr size_t kDefaultBatchSize = 64;

  StreamIterator() = default;
  // Takes ownership of `iter` (NULL makes an empty iterator).
  explicit StreamIterator(est_iter* iter, size_t batch_size = kDefaultBatchSize) : iter_(iter) {
    set_batch_size(batch_size);
  }

  StreamIterator(StreamIterator&& o) noexcept { *this = std::move(o); }
  StreamIterator& operator=(StreamIterator&& o) noexcept {
    if (this != &o) {
      iter_ = std::move(o.iter_);
      // Moving the vector keeps its heap block, so views already handed
      // out stay valid: they belong to the iterator's state, not its address.
      buf_ = std::move(o.buf_);
      batch_size_ = o.batch_size_;
      count_ = std::exchange(o.count_, 0);
      pos_ = std::exchange(o.pos_, 0);
      started_ = std::exchange(o.started_, false);
      handed_out_ = std::exchange(o.handed_out_, false);
      done_ = std::exchange(o.done_, false);
      status_ = std::exchange(o.status_, Result<void>());
      current_ = std::exchange(o.current_, EventView());
      o.buf_.clear();
    }
    return *this;
  }

  // Views fetched per call into the library (at least 1). Takes effect at
  // the next fetch.
  void set_batch_size(size_t n) { batch_size_ = n == 0 ? 1 : n; }
  size_t batch_size() const { return batch_size_; }

  // The next event, or nullptr at the end or on an error (see status()).
  // The view lives until the iterator fetches its next batch.
  const EventView* Next() {
    Start();
    if (handed_out_) Advance();
    handed_out_ = true;
    return done_ ? nullptr : &current_;
  }

  // OK, or the error that ended the iteration (EST_ERR_CLOSED once the store
  // was closed, ...).
  const Result<void>& status() const { return status_; }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = EventView;
    using difference_type = std::ptrdiff_t;
    using pointer = const EventView*;
    using reference = const EventView&;

    iterator() = default;
    const EventView& operator*() const { return parent_->current_; }
    const EventView* operator->() const { return &parent_->current_; }
    iterator& operator++() {
      parent_->Advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

   private:
    friend class StreamIterator;
    explicit iterator(StreamIterator* parent) : parent_(parent) {}
    bool at_end() const { return parent_->done_; }
    StreamIterator* parent_ = nullptr;
  };

  // Fetches the first batch on the first call; later calls resume at the
  // first event not yet returned by Next() (after a `break`, at the event
  // the loop stopped on).
  iterator begin() {
    Start();
    if (handed_out_) {
      Advance();
      handed_out_ = false;
    }
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

  // The underlying handle, owned by this object (NULL when empty).
  est_iter* get() const { return iter_.get(); }

 private:
  struct Close {
    void operator()(est_iter* i) const { est_iter_close(i); }
  };

  void Start() {
    if (!started_) {
      started_ = true;
      Fetch();
    }
  }

  void Advance() {
    if (done_) return;
    if (++pos_ < count_) {
      current_ = EventView(&buf_[pos_]);
    } else {
      Fetch();
    }
  }

  void Fetch() {
    pos_ = 0;
    count_ = 0;
    if (!iter_) {
      done_ = true;
      return;
    }
    if (buf_.size() != batch_size_) {
      buf_.resize(batch_size_);
      for (est_event& e : buf_) est_event_init(&e);
    }
    size_t n = 0;
    est_status st = est_iter_next_batch(iter_.get(), buf_.data(), buf_.size(), &n);
    if (st == EST_OK && n > 0) {
      count_ = n;
      current_ = EventView(&buf_[0]);
      return;
    }
    done_ = true;
    current_ = EventView();
    if (st != EST_OK && st != EST_END) status_ = Error::Last(st);
  }

  std::unique_ptr<est_iter, Close> iter_;
  std::vector<est_event> buf_;
  size_t batch_size_ = kDefaultBatchSize;
  size_t count_ = 0;
  size_t pos_ = 0;
  bool started_ = false;
  bool handed_out_ = false;  // Next() returned current_: the next read moves past it
  bool done_ = false;
  Result<void> status_;
  EventView current_;
};

static_assert(std::input_iterator<StreamIterator::iterator>);
static_assert(std::sentinel_for<std::default_sentinel_t, StreamIterator::iterator>);

}  // namespace estoria

#endif  // ESTORIA_EVENT_HPP_
