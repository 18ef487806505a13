// estoria/subscription.hpp: Subscription, a live follower of a store (RAII
// over est_subscription, from the header's experimental section: define
// EST_EXPERIMENTAL before including any estoria header). Made from a Store
// by estoria::Subscribe (a free function, not a member: Store's definition
// stays the same in every translation unit, experimental or not).
//
//   estoria::SubscribeOptions options;
//   options.stream_prefix = "account_";
//   auto sub = estoria::Subscribe(store, options).value();
//   for (const estoria::EventView& e : sub) { ... }   // waits for commits;
//   // ends after Wake() (any thread) or on an error: see status().
//
// Or pump it from a host's loop without a thread: wait on Fd() (readable
// when events may be ready), then Poll() (never waits by default).
//
// Lifetimes: views from Poll or the loop are valid until the next Poll or
// fetch, a move, or the destruction. Thread safety: one thread at a time,
// except Wake().
#ifndef ESTORIA_SUBSCRIPTION_HPP_
#define ESTORIA_SUBSCRIPTION_HPP_

#ifndef EST_EXPERIMENTAL
#error "estoria/subscription.hpp needs EST_EXPERIMENTAL defined before any estoria header"
#endif

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "estoria/estoria.h"
#include "estoria/event.hpp"
#include "estoria/result.hpp"
#include "estoria/store.hpp"

namespace estoria {

struct SubscribeOptions {
  // Start after this position: 0 = from the first event; kEnd = only what
  // commits later; a saved Position() = resume there.
  static constexpr int64_t kEnd = EST_POSITION_END;
  int64_t after_position = 0;
  std::string stream_prefix;             // of the stream ID's text "type_uuid"; "" = every stream
  std::vector<std::string> event_types;  // exact names; empty = every type
  size_t batch_size = 64;                // views fetched per poll (SDK only)
};

class Subscription {
 public:
  Subscription() = default;
  // Takes ownership of `sub`.
  explicit Subscription(est_subscription* sub, size_t batch_size = 64) : sub_(sub) {
    batch_size_ = batch_size == 0 ? 1 : batch_size;
  }
  Subscription(Subscription&&) noexcept = default;
  Subscription& operator=(Subscription&&) noexcept = default;

  // Subscribes through the C ABI (estoria::Subscribe calls this).
  static Result<Subscription> Open(est_store* store, const SubscribeOptions& options = {}) {
    std::vector<const char*> types;
    types.reserve(options.event_types.size());
    for (const std::string& t : options.event_types) types.push_back(t.c_str());
    est_subscribe_options o = EST_SUBSCRIBE_OPTIONS_INIT;
    o.after_position = options.after_position;
    o.stream_prefix = options.stream_prefix.c_str();
    o.event_types = types.empty() ? nullptr : types.data();
    o.event_types_len = types.size();
    est_subscription* sub = nullptr;
    est_status st = est_subscribe(store, &o, &sub);
    if (st != EST_OK) return Error::Last(st);
    return Subscription(sub, options.batch_size);
  }

  // The next events (up to the batch size), waiting up to `timeout` for the
  // first (0 = not at all; negative = until events, Wake() or the store's
  // close). Empty on timeout or wake. Views valid until the next Poll.
  Result<std::span<const EventView>> Poll(std::chrono::microseconds timeout = std::chrono::microseconds(0)) {
    if (!sub_) return Error(EST_ERR_CLOSED, "the Subscription is empty or was moved from");
    if (events_.size() < batch_size_) {
      events_.resize(batch_size_);
      views_.resize(batch_size_);
    }
    for (est_event& e : events_) est_event_init(&e);
    size_t count = 0;
    est_status st = est_subscription_poll(sub_.get(), events_.data(), events_.size(), &count,
                                          static_cast<int64_t>(timeout.count()));
    if (st != EST_OK) return Error::Last(st);
    for (size_t i = 0; i < count; ++i) views_[i] = EventView(&events_[i]);
    return std::span<const EventView>(views_.data(), count);
  }

  // Every event at or below it was delivered or filtered out: save it to
  // resume from (SubscribeOptions::after_position).
  int64_t Position() const { return est_subscription_position(sub_.get()); }
  // Readable when events may be ready; owned by the subscription.
  int Fd() const {
    int fd = -1;
    if (sub_) (void)est_subscription_fd(sub_.get(), &fd);
    return fd;
  }
  // Makes a waiting Poll or loop (or the next one) return. Any thread.
  Result<void> Wake() const {
    if (!sub_) return Error(EST_ERR_CLOSED, "the Subscription is empty or was moved from");
    return internal::Check(est_subscription_wake(sub_.get()));
  }

  // OK, or the error that ended the last range-for.
  const Result<void>& status() const { return status_; }

  // A range-for that waits for commits; it ends on Wake() or an error.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = EventView;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    const EventView& operator*() const { return parent_->batch_[pos_]; }
    const EventView* operator->() const { return &parent_->batch_[pos_]; }
    iterator& operator++() {
      if (++pos_ >= parent_->batch_.size()) Fetch();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.done_; }

   private:
    friend class Subscription;
    explicit iterator(Subscription* parent) : parent_(parent) { Fetch(); }
    void Fetch() {
      pos_ = 0;
      Result<std::span<const EventView>> got = parent_->Poll(std::chrono::microseconds(-1));
      if (!got.ok()) {
        parent_->status_ = got.error();
        done_ = true;
        return;
      }
      parent_->batch_ = *got;
      done_ = got->empty();  // a wake
    }
    Subscription* parent_ = nullptr;
    size_t pos_ = 0;
    bool done_ = false;
  };
  iterator begin() {
    status_ = Result<void>();
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

  // The underlying handle, owned by this object.
  est_subscription* get() const { return sub_.get(); }

 private:
  struct Closer {
    void operator()(est_subscription* s) const { est_subscription_close(s); }
  };
  std::unique_ptr<est_subscription, Closer> sub_;
  size_t batch_size_ = 64;
  std::vector<est_event> events_;
  std::vector<EventView> views_;
  std::span<const EventView> batch_;
  Result<void> status_;
};

// A live subscription to `store`: catches up from options.after_position,
// then follows commits. The subscription may outlive the Store object (its
// calls then fail with EST_ERR_CLOSED).
inline Result<Subscription> Subscribe(const Store& store, const SubscribeOptions& options = {}) {
  if (store.get() == nullptr) return Error(EST_ERR_CLOSED, "the Store is closed or was moved from");
  return Subscription::Open(store.get(), options);
}

}  // namespace estoria

#endif  // ESTORIA_SUBSCRIPTION_HPP_
