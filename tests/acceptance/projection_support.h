// tests/acceptance/projection_support.h: what the projection suites
// (projection_test.cc, projection_concurrency_test.cc) share: an RAII
// projection over a recording handler whose behaviour a test sets (fail on
// some events, append outputs in exactly-once mode, sleep), and options as
// a test spells them. Include it first: it defines EST_EXPERIMENTAL.
// Thread safety: a TestProjection belongs to the thread that runs it,
// except Wake() and the recorded counters (atomics) and Seen() (locked).
#ifndef ESTORIA_TESTS_ACCEPTANCE_PROJECTION_SUPPORT_H_
#define ESTORIA_TESTS_ACCEPTANCE_PROJECTION_SUPPORT_H_

#ifndef EST_EXPERIMENTAL
#define EST_EXPERIMENTAL
#endif

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "estoria/estoria.h"
#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {

// est_projection_options as a test spells them.
struct ProjectionArgs {
  const char* stream_prefix = nullptr;
  std::vector<const char*> event_types;
  uint32_t batch_max = 0;
  uint32_t checkpoint_every = 0;
  uint32_t flags = 0;

  ProjectionArgs& Prefix(const char* p) {
    stream_prefix = p;
    return *this;
  }
  ProjectionArgs& Types(std::vector<const char*> t) {
    event_types = std::move(t);
    return *this;
  }
  ProjectionArgs& Batch(uint32_t n) {
    batch_max = n;
    return *this;
  }
  ProjectionArgs& Every(uint32_t n) {
    checkpoint_every = n;
    return *this;
  }
  ProjectionArgs& Flags(uint32_t f) {
    flags = f;
    return *this;
  }
};

// A projection whose handler records every event it is handed (copied) and
// every call's size, and does what the test asks of it.
class TestProjection {
 public:
  // Returning an error status fails the call (message set with est_set_error).
  // Called for each event of a call, in order, before it is recorded.
  std::function<est_status(const est_event& e, est_txn* tx)> on_event;
  // Sleeps this long in each call (a slow handler).
  std::chrono::microseconds delay{0};

  TestProjection() = default;
  ~TestProjection() { est_projection_free(p_); }
  TestProjection(const TestProjection&) = delete;
  TestProjection& operator=(const TestProjection&) = delete;

  est_status Open(est_store* store, const char* name, int32_t version, const ProjectionArgs& args = {}) {
    est_projection_free(p_);
    p_ = nullptr;
    est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
    h.name = name;
    h.version = version;
    h.user = this;
    h.handle = &TestProjection::Handle;
    est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
    o.stream_prefix = args.stream_prefix;
    o.event_types = args.event_types.empty() ? nullptr : args.event_types.data();
    o.event_types_len = args.event_types.size();
    o.batch_max = args.batch_max;
    o.checkpoint_every = args.checkpoint_every;
    o.flags = args.flags;
    return est_projection_new(store, &h, &o, &p_);
  }

  est_status Run(int64_t budget_us, est_projection_report* report = nullptr) {
    est_projection_report local = EST_PROJECTION_REPORT_INIT;
    return est_projection_run(p_, budget_us, report != nullptr ? report : &local);
  }
  est_status Wake() { return est_projection_wake(p_); }
  void Free() {
    est_projection_free(p_);
    p_ = nullptr;
  }

  // What the handler recorded (events of successful and failed calls alike,
  // up to the failing event).
  std::vector<Event> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<size_t> CallSizes() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.clear();
    calls_.clear();
  }
  size_t seen_count() const { return seen_count_.load(); }
  est_projection* get() { return p_; }

 private:
  static est_status Handle(void* user, const est_event* events, size_t count, est_txn* tx) {
    auto* self = static_cast<TestProjection*>(user);
    if (self->delay.count() > 0) std::this_thread::sleep_for(self->delay);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->calls_.push_back(count);
    for (size_t i = 0; i < count; ++i) {
      if (self->on_event) {
        const est_status s = self->on_event(events[i], tx);
        if (s != EST_OK) return s;
      }
      self->seen_.push_back(CopyEvent(events[i]));
      self->seen_count_.fetch_add(1);
    }
    return EST_OK;
  }

  est_projection* p_ = nullptr;
  std::mutex mu_;
  std::vector<Event> seen_;
  std::vector<size_t> calls_;
  std::atomic<size_t> seen_count_{0};
};

// The global positions of a list of events, in order.
inline std::vector<int64_t> PositionsOf(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const Event& e : events) out.push_back(e.global_position);
  return out;
}

}  // namespace estoria::acceptance

#endif  // ESTORIA_TESTS_ACCEPTANCE_PROJECTION_SUPPORT_H_
