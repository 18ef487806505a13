// MemoryStore: see memory_store.h for the layout and its reasons.
//
// Invariants (all under State::mu):
//  - a stream's live events sit in entries [0, count) of its array, with
//    consecutive versions ending at its tip (tip - count + 1 .. tip), so a
//    version bound maps to an index by arithmetic;
//  - the global array holds every live event in ascending position;
//  - an array's entries below the count of any iterator's range are never
//    written again: appends write past the count (or into a new, bigger
//    array), deletions build new arrays.
#include "core/store/memory_store.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/store/event_record.h"
#include "core/util/mutex.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

// One stored event as the arrays hold it.
struct Entry {
  const uint8_t* fb = nullptr;
  size_t size = 0;
  int64_t version = 0;
  int64_t position = 0;
  std::shared_ptr<const EventBlock> block;  // keeps fb alive
};

// A fixed-capacity array of entries; how many are in use is kept by its
// owner under the store lock. Never reallocated: growth makes a new one.
class EntryArray {
 public:
  explicit EntryArray(size_t capacity) : capacity_(capacity), entries_(new Entry[capacity]) {}

  size_t capacity() const { return capacity_; }
  Entry& operator[](size_t i) { return entries_[i]; }
  const Entry& operator[](size_t i) const { return entries_[i]; }
  const Entry* data() const { return entries_.get(); }

 private:
  const size_t capacity_;
  std::unique_ptr<Entry[]> entries_;
};

constexpr size_t kMinArrayCapacity = 8;

// An append-only sequence of entries: `array` with `count` in use.
struct EntryList {
  std::shared_ptr<EntryArray> array;
  size_t count = 0;

  // Appends `entries`, growing by doubling into a new array so that readers
  // of the old one are never disturbed.
  void Append(absl::Span<const Entry> entries) {
    size_t needed = count + entries.size();
    if (array == nullptr || needed > array->capacity()) {
      size_t capacity = std::max({kMinArrayCapacity, needed, array == nullptr ? 0 : 2 * array->capacity()});
      auto grown = std::make_shared<EntryArray>(capacity);
      for (size_t i = 0; i < count; ++i) (*grown)[i] = (*array)[i];
      array = std::move(grown);
    }
    for (size_t i = 0; i < entries.size(); ++i) (*array)[count + i] = entries[i];
    count = needed;
  }

  // Replaces the list with a new array holding the entries that `keep` accepts.
  template <typename Keep>
  void Filter(Keep keep) {
    auto kept = std::make_shared<EntryArray>(std::max(kMinArrayCapacity, count));
    size_t n = 0;
    for (size_t i = 0; i < count; ++i) {
      if (keep((*array)[i])) (*kept)[n++] = (*array)[i];
    }
    array = std::move(kept);
    count = n;
  }
};

struct Stream {
  EntryList events;  // the live events, versions tip - count + 1 .. tip
  int64_t tip = 0;   // kept by truncation

  int64_t first_live_version() const { return tip - static_cast<int64_t>(events.count) + 1; }
};

// Iterates entries [begin, end) of an array, forward or backward.
class MemoryIterator final : public EventIterator {
 public:
  MemoryIterator(std::shared_ptr<const EntryArray> array, size_t begin, size_t end, bool reverse,
                 std::shared_ptr<const std::atomic<bool>> closed)
      : array_(std::move(array)),
        begin_(begin),
        end_(end),
        reverse_(reverse),
        closed_(std::move(closed)) {}

  absl::StatusOr<size_t> Next(absl::Span<EventView> out) override {
    if (closed_->load(std::memory_order_acquire)) return ClosedError();
    if (out.empty()) return absl::InvalidArgumentError("Next needs room for at least one event");
    size_t n = std::min(out.size(), end_ - begin_);
    for (size_t i = 0; i < n; ++i) {
      const Entry& e = reverse_ ? (*array_)[--end_] : (*array_)[begin_++];
      out[i] = EventView{e.fb, e.size};
    }
    return n;
  }

 private:
  std::shared_ptr<const EntryArray> array_;  // null when empty
  size_t begin_;
  size_t end_;
  const bool reverse_;
  std::shared_ptr<const std::atomic<bool>> closed_;
};

std::unique_ptr<EventIterator> MakeIterator(const std::shared_ptr<EntryArray>& array, size_t begin, size_t end,
                                            bool reverse, const std::shared_ptr<std::atomic<bool>>& closed) {
  if (begin >= end) return std::make_unique<MemoryIterator>(nullptr, 0, 0, false, closed);
  return std::make_unique<MemoryIterator>(array, begin, end, reverse, closed);
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// A non-negative int64 count or bound as a size_t limit (0 = unlimited).
size_t Limit(int64_t count) {
  return count == 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(count);
}

absl::Status CheckStreamId(const Id& id, std::string_view what) { return ValidateTypeName(id.type, what); }

}  // namespace

struct MemoryStore::State {
  // Shared with every iterator; set once by Close.
  const std::shared_ptr<std::atomic<bool>> closed = std::make_shared<std::atomic<bool>>(false);

  Mutex mu;
  absl::flat_hash_map<Id, Stream> streams ABSL_GUARDED_BY(mu);
  EntryList global ABSL_GUARDED_BY(mu);  // every live event, ascending position
  int64_t next_position ABSL_GUARDED_BY(mu) = 1;
  // Per aggregate, ascending version; equal versions in write order, so the
  // newest of a version is the last of its run.
  absl::flat_hash_map<Id, std::vector<std::shared_ptr<const Snapshot>>> snapshots ABSL_GUARDED_BY(mu);

  bool is_closed() const { return closed->load(std::memory_order_acquire); }

  // Drops entries [0, k) of `stream` from the stream and the global order.
  void DropOldest(Stream& stream, size_t k) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (k == 0) return;
    // The stream's positions ascend, so one merge pass over the global order
    // finds them all.
    std::vector<int64_t> gone;
    gone.reserve(k);
    for (size_t i = 0; i < k; ++i) gone.push_back((*stream.events.array)[i].position);
    size_t next = 0;
    global.Filter([&](const Entry& e) {
      if (next < gone.size() && e.position == gone[next]) {
        ++next;
        return false;
      }
      return true;
    });
    size_t index = 0;
    stream.events.Filter([&](const Entry&) { return index++ >= k; });
  }
};

MemoryStore::MemoryStore() : state_(std::make_unique<State>()) {}

MemoryStore::~MemoryStore() { Close(); }

void MemoryStore::Close() {
  State& s = *state_;
  s.closed->store(true, std::memory_order_release);
  MutexLock lock(&s.mu);
  s.streams.clear();
  s.global = EntryList();
  s.snapshots.clear();
}

absl::Status MemoryStore::Sync() {
  if (state_->is_closed()) return ClosedError();
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> MemoryStore::Append(const Id& stream, const WritableBatch& batch,
                                                 const AppendOptions& options,
                                                 std::unique_ptr<EventIterator>* written) {
  if (written != nullptr) written->reset();
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(stream, "stream type"));
  switch (options.expect) {
    case Expect::kAny:
    case Expect::kNoStream:
      break;
    case Expect::kVersion:
      if (options.expected_version < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("expected_version must be >= 0, got ", options.expected_version));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown expectation ", static_cast<int>(options.expect)));
  }
  if (options.first_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("first_version must be >= 0, got ", options.first_version));
  }
  if (!options.restore && options.first_version != 0) {
    return absl::InvalidArgumentError("first_version is only honoured with restore");
  }

  // The expensive part, outside the lock: ids, timestamps and records.
  std::shared_ptr<EventBlock> block;
  ASSIGN_OR_RETURN(block, EventBlock::Build(stream, batch, {options.restore, UnixNowNanos()}));
  const size_t n = block->size();

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.streams.find(stream);
  const int64_t current = it == s.streams.end() ? 0 : it->second.tip;
  if (options.expect == Expect::kNoStream && current != 0) return VersionMismatchError(0, current);
  if (options.expect == Expect::kVersion && options.expected_version != current) {
    return VersionMismatchError(options.expected_version, current);
  }
  int64_t first_version = current + 1;
  if (options.restore && options.first_version != 0) {
    if (it == s.streams.end()) {
      first_version = options.first_version;
    } else if (options.first_version != current + 1) {
      return absl::InvalidArgumentError(absl::StrCat("first_version ", options.first_version,
                                                     " does not continue the stream (its version is ", current,
                                                     ")"));
    }
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (first_version > kMax - static_cast<int64_t>(n) || s.next_position > kMax - static_cast<int64_t>(n)) {
    return absl::InvalidArgumentError("the append would overflow versions or positions");
  }

  std::vector<Entry> entries(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t version = first_version + static_cast<int64_t>(i);
    const int64_t position = s.next_position + static_cast<int64_t>(i);
    block->Patch(i, version, position);
    EventView view = block->view(i);
    entries[i] = Entry{view.fb, view.size, version, position, block};
  }
  s.next_position += static_cast<int64_t>(n);

  if (it == s.streams.end()) it = s.streams.try_emplace(stream).first;
  Stream& target = it->second;
  const size_t begin = target.events.count;
  target.events.Append(entries);
  target.tip = first_version + static_cast<int64_t>(n) - 1;
  s.global.Append(entries);

  AppendResult result;
  result.first_version = first_version;
  result.last_version = target.tip;
  result.first_position = entries.front().position;
  result.last_position = entries.back().position;
  result.actual_version = target.tip;
  if (written != nullptr) {
    *written = MakeIterator(target.events.array, begin, target.events.count, false, s.closed);
  }
  return result;
}

absl::StatusOr<std::unique_ptr<EventIterator>> MemoryStore::ReadStream(const Id& stream,
                                                                       const ReadOptions& options) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(stream, "stream type"));
  if (options.direction != Direction::kForward && options.direction != Direction::kReverse) {
    return absl::InvalidArgumentError(absl::StrCat("unknown direction ", static_cast<int>(options.direction)));
  }
  if (options.after_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("after_version must be >= 0, got ", options.after_version));
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", options.count));
  }
  const size_t limit = Limit(options.count);

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.streams.find(stream);
  if (it == s.streams.end()) {
    return absl::NotFoundError(absl::StrCat("stream ", stream.ToString(), " not found"));
  }
  const Stream& target = it->second;
  const size_t count = target.events.count;
  const int64_t lo = target.first_live_version();  // index 0 holds version lo
  if (options.direction == Direction::kForward) {
    // Versions after `after_version`: from index after_version + 1 - lo.
    size_t begin = options.after_version < lo ? 0
                                              : static_cast<size_t>(std::min<int64_t>(
                                                    options.after_version - lo + 1, static_cast<int64_t>(count)));
    size_t end = begin + std::min(limit, count - begin);
    return MakeIterator(target.events.array, begin, end, false, s.closed);
  }
  // Reverse: from `after_version` (inclusive; 0 or above the tip = the tip) down.
  const int64_t upper =
      options.after_version == 0 || options.after_version > target.tip ? target.tip : options.after_version;
  if (upper < lo) return MakeIterator(nullptr, 0, 0, true, s.closed);
  const size_t end = static_cast<size_t>(upper - lo + 1);
  const size_t begin = end - std::min(limit, end);
  return MakeIterator(target.events.array, begin, end, true, s.closed);
}

absl::StatusOr<std::unique_ptr<EventIterator>> MemoryStore::ReadAll(const ReadAllOptions& options) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  if (options.after_position < 0) {
    return absl::InvalidArgumentError(absl::StrCat("after_position must be >= 0, got ", options.after_position));
  }
  if (options.count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("count must be >= 0, got ", options.count));
  }
  const size_t limit = Limit(options.count);

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  const size_t count = s.global.count;
  if (count == 0) return MakeIterator(nullptr, 0, 0, false, s.closed);
  const Entry* first = s.global.array->data();
  const Entry* found = std::upper_bound(first, first + count, options.after_position,
                                        [](int64_t position, const Entry& e) { return position < e.position; });
  const size_t begin = static_cast<size_t>(found - first);
  const size_t end = begin + std::min(limit, count - begin);
  return MakeIterator(s.global.array, begin, end, false, s.closed);
}

absl::Status MemoryStore::DeleteStream(const Id& stream, int64_t to_version) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(stream, "stream type"));
  if (to_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("to_version must be >= 0, got ", to_version));
  }

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.streams.find(stream);
  if (it == s.streams.end()) {
    return absl::NotFoundError(absl::StrCat("stream ", stream.ToString(), " not found"));
  }
  Stream& target = it->second;
  if (to_version == 0) {
    // The whole stream: it then behaves as never written, snapshots included.
    s.DropOldest(target, target.events.count);
    s.streams.erase(it);
    s.snapshots.erase(stream);
    return absl::OkStatus();
  }
  // Truncation: snapshots below to_version go whatever the events do.
  if (auto snap = s.snapshots.find(stream); snap != s.snapshots.end()) {
    auto& list = snap->second;
    list.erase(list.begin(), std::lower_bound(list.begin(), list.end(), to_version,
                                              [](const std::shared_ptr<const Snapshot>& a, int64_t v) {
                                                return a->version < v;
                                              }));
    if (list.empty()) s.snapshots.erase(snap);
  }
  const int64_t lo = target.first_live_version();
  if (to_version < lo) return absl::OkStatus();  // already gone
  const size_t k = static_cast<size_t>(std::min<int64_t>(to_version - lo + 1, target.events.count));
  s.DropOldest(target, k);  // the tip stays
  return absl::OkStatus();
}

absl::Status MemoryStore::WriteSnapshot(const Id& aggregate, int64_t version, absl::Span<const uint8_t> data,
                                        std::string_view content_type, int64_t timestamp_ns) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  if (version <= 0) return absl::InvalidArgumentError(absl::StrCat("snapshot version must be > 0, got ", version));
  if (timestamp_ns < 0) {
    return absl::InvalidArgumentError(absl::StrCat("timestamp_ns must be >= 0, got ", timestamp_ns));
  }
  if (HasNul(content_type)) return absl::InvalidArgumentError("the content type contains NUL");

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->aggregate_id = aggregate;
  snapshot->version = version;
  snapshot->timestamp_ns = timestamp_ns == 0 ? UnixNowNanos() : timestamp_ns;
  snapshot->data.assign(reinterpret_cast<const char*>(data.data()), data.size());
  snapshot->content_type.assign(content_type);

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto& list = s.snapshots[aggregate];
  // After every snapshot of the same version: the latest written wins ties.
  auto at = std::upper_bound(list.begin(), list.end(), version,
                             [](int64_t v, const std::shared_ptr<const Snapshot>& a) { return v < a->version; });
  list.insert(at, std::move(snapshot));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Snapshot>> MemoryStore::ReadSnapshot(const Id& aggregate,
                                                                          int64_t max_version) {
  State& s = *state_;
  if (s.is_closed()) return ClosedError();
  RETURN_IF_ERROR(CheckStreamId(aggregate, "aggregate type"));
  if (max_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_version must be >= 0, got ", max_version));
  }

  MutexLock lock(&s.mu);
  if (s.is_closed()) return ClosedError();
  auto it = s.snapshots.find(aggregate);
  if (it != s.snapshots.end()) {
    const auto& list = it->second;
    if (max_version == 0) return list.back();
    auto after = std::upper_bound(list.begin(), list.end(), max_version,
                                  [](int64_t v, const std::shared_ptr<const Snapshot>& a) { return v < a->version; });
    if (after != list.begin()) return *std::prev(after);
  }
  return absl::NotFoundError(max_version == 0
                                 ? absl::StrCat("no snapshot of ", aggregate.ToString())
                                 : absl::StrCat("no snapshot of ", aggregate.ToString(), " at or below version ",
                                                max_version));
}

}  // namespace estoria::core
