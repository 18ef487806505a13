// EntryList<E>: the append-only, snapshot-friendly arrays behind the stores'
// indexes (a stream's events, the global order). An iterator keeps a
// shared_ptr to the array it was created on and a range in it; appends only
// write past every range handed out (or into a new, bigger array) and
// filtering builds a new array, so an iterator is a snapshot that needs no
// lock to read.
//
// Thread safety: the list itself is guarded by its owner's lock; a published
// array's entries below the list's count are immutable.
#ifndef ESTORIA_CORE_STORE_ENTRY_LIST_H_
#define ESTORIA_CORE_STORE_ENTRY_LIST_H_

#include <algorithm>
#include <cstddef>
#include <memory>

#include "absl/types/span.h"

namespace estoria::core {

// A fixed-capacity array of entries; how many are in use is kept by its
// owner. Never reallocated: growth makes a new one.
template <typename E>
class EntryArray {
 public:
  explicit EntryArray(size_t capacity) : capacity_(capacity), entries_(new E[capacity]) {}

  size_t capacity() const { return capacity_; }
  E& operator[](size_t i) { return entries_[i]; }
  const E& operator[](size_t i) const { return entries_[i]; }
  const E* data() const { return entries_.get(); }

 private:
  const size_t capacity_;
  std::unique_ptr<E[]> entries_;
};

template <typename E>
struct EntryList {
  static constexpr size_t kMinCapacity = 8;

  std::shared_ptr<EntryArray<E>> array;
  size_t count = 0;

  // Appends `entries`, growing by doubling into a new array so that readers
  // of the old one are never disturbed.
  void Append(absl::Span<const E> entries) {
    size_t needed = count + entries.size();
    if (array == nullptr || needed > array->capacity()) {
      size_t capacity = std::max({kMinCapacity, needed, array == nullptr ? 0 : 2 * array->capacity()});
      auto grown = std::make_shared<EntryArray<E>>(capacity);
      for (size_t i = 0; i < count; ++i) (*grown)[i] = (*array)[i];
      array = std::move(grown);
    }
    for (size_t i = 0; i < entries.size(); ++i) (*array)[count + i] = entries[i];
    count = needed;
  }

  // Replaces the list with a new array holding the entries that `keep` accepts.
  template <typename Keep>
  void Filter(Keep keep) {
    auto kept = std::make_shared<EntryArray<E>>(std::max(kMinCapacity, count));
    size_t n = 0;
    for (size_t i = 0; i < count; ++i) {
      if (keep((*array)[i])) (*kept)[n++] = (*array)[i];
    }
    array = std::move(kept);
    count = n;
  }

  // Drops entries [0, k).
  void DropFront(size_t k) {
    size_t index = 0;
    Filter([&](const E&) { return index++ >= k; });
  }
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_ENTRY_LIST_H_
