// Subscription: see subscription.h. Each Poll takes fresh ReadAll pages from
// the subscription's position (never an iterator kept from an earlier poll:
// an iterator is a snapshot and could still yield events deleted since), and
// calls Next once per page, because a core iterator's views are valid only
// until its next call; the pages whose views were handed out are kept until
// the next Poll.
#include "core/subscription/subscription.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/util/status.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

// Events one ReadAll page fetches when filters may drop some of them.
constexpr size_t kFilteredPage = 256;
// Events a never-waiting Poll (a host's frame) examines at most before it
// returns, so that a filter matching nothing in a long log cannot stall a
// frame; the fd stays readable and the next Poll continues.
constexpr size_t kFrameScanBudget = size_t{1} << 16;

}  // namespace

absl::StatusOr<std::unique_ptr<Subscription>> Subscription::Create(std::shared_ptr<EventStore> store,
                                                                   SubscriptionOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("the subscription has no store");
  if (options.after_position < kPositionEnd) {
    return absl::InvalidArgumentError(
        absl::StrCat("after_position ", options.after_position, " is negative (and not the end, -1)"));
  }
  if (options.stream_prefix.size() > kMaxIdTextLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream_prefix is ", options.stream_prefix.size(), " bytes, longer than any stream ID (",
                     kMaxIdTextLen, ")"));
  }
  for (size_t i = 0; i < options.event_types.size(); ++i) {
    absl::Status valid = ValidateTypeName(options.event_types[i], absl::StrCat("event_types[", i, "]"));
    if (!valid.ok()) return valid;
  }
  int64_t start = options.after_position;
  if (start == kPositionEnd) {
    ASSIGN_OR_RETURN(start, store->LastVisiblePosition());
  }
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("eventfd: ", std::strerror(errno)));
  std::unique_ptr<Subscription> sub(new Subscription(std::move(store), std::move(options), fd));
  sub->position_.store(start, std::memory_order_release);
  ASSIGN_OR_RETURN(sub->hub_, WakeHub::For(sub->store_));
  // Events may already be there: the fd starts readable.
  sub->Signal();
  return sub;
}

Subscription::Subscription(std::shared_ptr<EventStore> store, SubscriptionOptions options, int event_fd)
    : store_(std::move(store)), options_(std::move(options)), event_fd_(event_fd) {
  waiter_.event_fd = event_fd;
}

Subscription::~Subscription() {
  // Once disarmed, the hub never signals the fd again: it may go.
  if (hub_ != nullptr) hub_->Disarm(&waiter_);
  hub_.reset();
  held_.clear();
  close(event_fd_);
}

void Subscription::Signal() { SignalEventFd(event_fd_); }

void Subscription::Drain() {
  uint64_t value;
  ssize_t got = read(event_fd_, &value, sizeof(value));
  (void)got;
}

absl::Status Subscription::Wake() {
  wake_requested_.store(true, std::memory_order_release);
  Signal();
  return absl::OkStatus();
}

bool Subscription::Matches(const EventView& view) const {
  if (options_.stream_prefix.empty() && options_.event_types.empty()) return true;
  if (!options_.event_types.empty()) {
    const std::string_view type = view.type();
    if (std::find(options_.event_types.begin(), options_.event_types.end(), type) == options_.event_types.end()) {
      return false;
    }
  }
  const std::string_view prefix = options_.stream_prefix;
  if (prefix.empty()) return true;
  const std::string_view stream_type = view.stream_type();
  if (prefix.size() <= stream_type.size()) return stream_type.substr(0, prefix.size()) == prefix;
  // The prefix reaches into "_uuid": compare with the whole text form.
  if (stream_type != prefix.substr(0, stream_type.size()) || prefix[stream_type.size()] != '_') return false;
  char text[kUuidTextLen];
  FormatUuidTo(view.stream_uuid(), text);
  const std::string_view rest = prefix.substr(stream_type.size() + 1);
  return rest.size() <= kUuidTextLen && std::string_view(text, rest.size()) == rest;
}

absl::StatusOr<size_t> Subscription::ReadMatching(absl::Span<EventView> out, size_t scan_budget, bool* more) {
  const bool filtered = !options_.stream_prefix.empty() || !options_.event_types.empty();
  std::vector<EventView> scratch;
  size_t n = 0;
  size_t scanned = 0;
  *more = false;
  while (n < out.size()) {
    if (scanned >= scan_budget) {
      *more = true;
      break;
    }
    const size_t want = out.size() - n;
    const size_t page = filtered ? std::max(want, kFilteredPage) : want;
    ReadAllOptions read;
    read.after_position = position_.load(std::memory_order_relaxed);
    read.count = static_cast<int64_t>(std::min<size_t>(page, std::numeric_limits<int32_t>::max()));
    ASSIGN_OR_RETURN(std::unique_ptr<EventIterator> it, store_->ReadAll(read));
    absl::Span<EventView> into = out.subspan(n, want);
    if (filtered) {
      scratch.resize(page);
      into = absl::MakeSpan(scratch);
    }
    ASSIGN_OR_RETURN(size_t got, it->Next(into));
    if (got == 0) return n;  // the end of what is visible
    if (!filtered) {
      // Every view read is handed out, where Next put it.
      position_.store(into[got - 1].position(), std::memory_order_release);
      scanned += got;
      n += got;
      held_.push_back(std::move(it));
      continue;
    }
    size_t used = 0;
    for (size_t i = 0; i < got; ++i) {
      const EventView view = into[i];
      const bool match = Matches(view);
      if (match && n == out.size()) {
        // No room: this one waits for the next Poll.
        *more = true;
        break;
      }
      position_.store(view.position(), std::memory_order_release);
      ++scanned;
      if (match) {
        out[n++] = view;
        ++used;
      }
    }
    if (used > 0) held_.push_back(std::move(it));
  }
  if (n == out.size()) *more = true;
  return n;
}

absl::StatusOr<size_t> Subscription::Poll(absl::Span<EventView> out, int64_t timeout_us) {
  if (out.empty()) return absl::InvalidArgumentError("Poll needs room for at least one event");
  held_.clear();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      timeout_us > 0 ? Clock::now() + std::chrono::microseconds(timeout_us) : Clock::time_point::max();
  const size_t budget = timeout_us == 0 ? kFrameScanBudget : std::numeric_limits<size_t>::max();
  for (;;) {
    Drain();
    // Armed before reading: a commit that lands after this read signals.
    hub_->Arm(&waiter_);
    bool more = false;
    ASSIGN_OR_RETURN(size_t n, ReadMatching(out, budget, &more));
    if (more) Signal();  // the fd stays readable: events remain
    if (n > 0 || more) return n;
    if (wake_requested_.exchange(false, std::memory_order_acq_rel)) return size_t{0};
    if (timeout_us == 0) return size_t{0};
    int wait_ms = -1;
    if (timeout_us > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
      if (left <= 0) return size_t{0};
      timespec ts{static_cast<time_t>(left / 1000000), static_cast<long>((left % 1000000) * 1000)};
      pollfd p{event_fd_, POLLIN, 0};
      const int r = ppoll(&p, 1, &ts, nullptr);
      if (r < 0 && errno != EINTR) return absl::UnavailableError(absl::StrCat("ppoll: ", std::strerror(errno)));
      continue;
    }
    pollfd p{event_fd_, POLLIN, 0};
    const int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno != EINTR) return absl::UnavailableError(absl::StrCat("poll: ", std::strerror(errno)));
  }
}

}  // namespace estoria::core
