// A counter aggregate type for the engine's own tests: events carry a decimal
// amount that apply adds to the state; an event of type "poisoned" fails the
// apply. Counts the states it made and freed. Thread-safe (atomic counters).
#ifndef ESTORIA_CORE_AGGREGATE_TEST_TYPE_FOR_TEST_H_
#define ESTORIA_CORE_AGGREGATE_TEST_TYPE_FOR_TEST_H_

#include <atomic>
#include <charconv>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/aggregate/aggregate_type.h"
#include "schema/estoria_generated.h"

namespace estoria::core::testing {

struct Counter {
  int64_t total = 0;
  int64_t version = 0;
  bool gap = false;  // an event arrived whose version was not version + 1
};

struct CounterStats {
  std::atomic<int64_t> live{0};
  std::atomic<int64_t> applies{0};
};

class CounterType final : public AggregateType {
 public:
  CounterType(std::shared_ptr<CounterStats> stats, bool codec) : stats_(std::move(stats)), codec_(codec) {}

  const std::string& name() const override { return name_; }
  absl::StatusOr<void*> NewState(const Uuid&) override {
    stats_->live.fetch_add(1);
    return new Counter();
  }
  absl::Status Apply(void* state, const EventView& view) override {
    stats_->applies.fetch_add(1);
    if (view.type() == "poisoned") return absl::InvalidArgumentError("poisoned event");
    auto* counter = static_cast<Counter*>(state);
    if (view.version() != counter->version + 1) counter->gap = true;
    int64_t amount = 0;
    const char* data = reinterpret_cast<const char*>(view.data().data());
    std::from_chars(data, data + view.data().size(), amount);
    counter->total += amount;
    counter->version = view.version();
    return absl::OkStatus();
  }
  void FreeState(void* state) override {
    stats_->live.fetch_sub(1);
    delete static_cast<Counter*>(state);
  }
  bool HasCodec() const override { return codec_; }
  absl::Status Encode(const void* state, std::string* out) override {
    const auto* counter = static_cast<const Counter*>(state);
    absl::StrAppend(out, counter->total, " ", counter->version);
    return absl::OkStatus();
  }
  absl::StatusOr<void*> Decode(absl::Span<const uint8_t> data) override {
    const char* p = reinterpret_cast<const char*>(data.data());
    const char* end = p + data.size();
    auto* counter = new Counter();
    auto first = std::from_chars(p, end, counter->total);
    if (first.ptr != end) std::from_chars(first.ptr + 1, end, counter->version);
    stats_->live.fetch_add(1);
    return counter;
  }
  const std::string& snapshot_content_type() const override { return content_type_; }

 private:
  std::shared_ptr<CounterStats> stats_;
  bool codec_;
  std::string name_ = "counter";
  std::string content_type_ = "text/counter";
};

}  // namespace estoria::core::testing

#endif  // ESTORIA_CORE_AGGREGATE_TEST_TYPE_FOR_TEST_H_
