#include "core/store/as_of.h"

#include <utility>

#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

class StampBoundIterator final : public EventIterator {
 public:
  StampBoundIterator(std::unique_ptr<EventIterator> inner, int64_t until_ns)
      : inner_(std::move(inner)), until_ns_(until_ns) {}

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override {
    if (ended_) return 0;
    absl::StatusOr<size_t> n = inner_->Next(out);
    if (!n.ok()) return n.status();
    for (size_t i = 0; i < *n; ++i) {
      if (StampOf(out[i]) > until_ns_) {
        ended_ = true;
        inner_.reset();  // releases what the rest of the read holds
        return i;
      }
    }
    if (*n == 0) ended_ = true;
    return *n;
  }

 private:
  std::unique_ptr<EventIterator> inner_;
  const int64_t until_ns_;
  bool ended_ = false;
};

}  // namespace

int64_t StampOf(const EventView& view) { return view.timestamp_ns(); }

std::unique_ptr<EventIterator> EndBeforeStampedAfter(std::unique_ptr<EventIterator> inner, int64_t until_ns) {
  if (until_ns == 0) return inner;
  return std::make_unique<StampBoundIterator>(std::move(inner), until_ns);
}

}  // namespace estoria::core
