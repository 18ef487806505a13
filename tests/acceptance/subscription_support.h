// tests/acceptance/subscription_support.h: what the subscription suites
// (subscription_test.cc, subscription_concurrency_test.cc) share: an RAII
// subscription and a collector with a deadline, so that no test can hang.
// Include it first: it defines EST_EXPERIMENTAL before estoria.h is seen.
// Thread safety: a Subscription object belongs to one thread, except Wake.
#ifndef ESTORIA_TESTS_ACCEPTANCE_SUBSCRIPTION_SUPPORT_H_
#define ESTORIA_TESTS_ACCEPTANCE_SUBSCRIPTION_SUPPORT_H_

#ifndef EST_EXPERIMENTAL
#define EST_EXPERIMENTAL
#endif

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "estoria/estoria.h"
#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {

// est_subscribe_options as a test spells them: SubscribeArgs().After(5).Types({"a"}).
struct SubscribeArgs {
  int64_t after_position = 0;
  const char* stream_prefix = nullptr;
  std::vector<const char*> event_types;

  SubscribeArgs& After(int64_t position) {
    after_position = position;
    return *this;
  }
  SubscribeArgs& Prefix(const char* prefix) {
    stream_prefix = prefix;
    return *this;
  }
  SubscribeArgs& Types(std::vector<const char*> types) {
    event_types = std::move(types);
    return *this;
  }
};

// RAII over est_subscription; Open asserts success.
class Subscription {
 public:
  Subscription() = default;
  ~Subscription() { est_subscription_close(sub_); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  est_status Open(est_store* store, const SubscribeArgs& args = SubscribeArgs()) {
    est_subscribe_options options = EST_SUBSCRIBE_OPTIONS_INIT;
    options.after_position = args.after_position;
    options.stream_prefix = args.stream_prefix;
    options.event_types = args.event_types.empty() ? nullptr : args.event_types.data();
    options.event_types_len = args.event_types.size();
    return est_subscribe(store, &options, &sub_);
  }

  // One poll of up to `capacity` events, copied (CopyEvent verifies each).
  est_status Poll(std::vector<Event>* out, size_t capacity, int64_t timeout_us) {
    std::vector<est_event> views(capacity);
    for (est_event& v : views) est_event_init(&v);
    size_t count = 0;
    const est_status s = est_subscription_poll(sub_, views.data(), capacity, &count, timeout_us);
    if (s == EST_OK) {
      for (size_t i = 0; i < count; ++i) out->push_back(CopyEvent(views[i]));
    }
    return s;
  }

  // Polls (each waiting up to 50 ms) until `want` events were delivered in
  // all, or `deadline_ms` passed, or a poll failed; returns what it got.
  std::vector<Event> Collect(size_t want, int deadline_ms = 20000, size_t capacity = 64) {
    std::vector<Event> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      const est_status s = Poll(&got, capacity, 50000);
      EXPECT_EQ(EST_OK, s) << est_last_error();
      if (s != EST_OK) break;
    }
    return got;
  }

  // Polls with timeout 0 until a poll returns nothing.
  std::vector<Event> DrainNow(size_t capacity = 64) {
    std::vector<Event> got;
    for (;;) {
      const size_t before = got.size();
      const est_status s = Poll(&got, capacity, 0);
      EXPECT_EQ(EST_OK, s) << est_last_error();
      if (s != EST_OK || got.size() == before) return got;
    }
  }

  int64_t Position() const { return est_subscription_position(sub_); }
  est_subscription* get() { return sub_; }

 private:
  est_subscription* sub_ = nullptr;
};

// The global positions of a list of events, in order.
inline std::vector<int64_t> Positions(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const Event& e : events) out.push_back(e.global_position);
  return out;
}

}  // namespace estoria::acceptance

#endif  // ESTORIA_TESTS_ACCEPTANCE_SUBSCRIPTION_SUPPORT_H_
