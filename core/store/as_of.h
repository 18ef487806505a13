// Reads as of a time (doc/data-model.md, "Reads as of a time"), the part
// every backend shares. The store stamps each event when it is appended,
// and stamps need not ascend with versions or positions (concurrent
// appends, restores), so "as of T" is a prefix, never a filter:
//  - a stream as of T is its live events, in version order, up to but not
//    including the first one stamped later than T;
//  - a global read as of T ends before the first event after its
//    after_position stamped later than T.
// The memory and file stores cut their index with these helpers; the
// PostgreSQL store says the same in SQL (core/pgstore/pg_store.cc).
//
// Pure functions and a single-threaded iterator decorator.
#ifndef ESTORIA_CORE_STORE_AS_OF_H_
#define ESTORIA_CORE_STORE_AS_OF_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/store/event_store.h"
#include "core/store/snapshot_list.h"

namespace estoria::core {

// The stamp of a stored event (unix ns).
int64_t StampOf(const EventView& view);

// How many of the entries [0, n) come before the first one that `stamp_at`
// (index -> unix ns) says is stamped later than until_ns.
template <typename StampAt>
size_t StampedPrefix(size_t n, int64_t until_ns, StampAt&& stamp_at) {
  for (size_t i = 0; i < n; ++i) {
    if (stamp_at(i) > until_ns) return i;
  }
  return n;
}

// StreamReadRange over the stream as of options.until_timestamp_ns (0 = no
// bound: StreamReadRange itself). A forward read looks at the stamps up to
// its range's end, a reverse one at those up to its upper bound.
template <typename StampAt>
StreamRange StreamReadRangeAsOf(int64_t tip, size_t count, const ReadOptions& options, StampAt&& stamp_at) {
  const StreamRange whole = StreamReadRange(tip, count, options);
  if (options.until_timestamp_ns == 0) return whole;
  // Reverse reads end at their upper bound whatever the count: look there.
  const size_t look = options.direction == Direction::kForward
                          ? whole.end
                          : StreamReadRange(tip, count, ReadOptions{options.direction, options.after_version, 0}).end;
  const size_t kept = StampedPrefix(look, options.until_timestamp_ns, stamp_at);
  if (kept == look) return whole;
  // The stream as of the bound: the first `kept` live events.
  const int64_t tip_as_of = tip - static_cast<int64_t>(count) + static_cast<int64_t>(kept);
  return StreamReadRange(tip_as_of, kept, options);
}

// Ends `inner` (a global read) before its first event stamped later than
// until_ns; `inner` itself when until_ns is 0.
std::unique_ptr<EventIterator> EndBeforeStampedAfter(std::unique_ptr<EventIterator> inner, int64_t until_ns);

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_AS_OF_H_
