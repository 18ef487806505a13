// EntryList<E>: the append-only, snapshot-friendly arrays behind the stores'
// indexes (a stream's events, the global order). An iterator keeps a
// shared_ptr to the array it was created on and a range in it; appends only
// write past every range handed out (or into a new, bigger array) and
// filtering builds a new array, so an iterator is a snapshot that needs no
// lock to read.
//
// The arrays come from the host's allocator (core/util/host_allocator.h):
// they are the bulk of an index.
//
// Thread safety: the list itself is guarded by its owner's lock; a published
// array's entries below the list's count are immutable.
#ifndef ESTORIA_CORE_STORE_ENTRY_LIST_H_
#define ESTORIA_CORE_STORE_ENTRY_LIST_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "absl/types/span.h"
#include "core/util/host_allocator.h"

namespace estoria::core {

// For entries that own nothing.
struct NoOwner {};

// A fixed-capacity array of entries; how many are in use is kept by its
// owner. Never reallocated: growth makes a new one. Entries that point into
// memory owned elsewhere (the memory store's record blocks) keep it alive
// through the array's owners: one per block, not one per entry, so that an
// append costs no reference count per event. Readers never touch owners();
// the list's owner adds and prunes them under its lock.
template <typename E, typename Owner = NoOwner>
class EntryArray {
 public:
  explicit EntryArray(size_t capacity) : capacity_(capacity), entries_(HostAllocator<E>().allocate(capacity)) {
    std::uninitialized_default_construct_n(entries_, capacity_);  // as new E[capacity]
  }
  ~EntryArray() {
    std::destroy_n(entries_, capacity_);
    HostAllocator<E>().deallocate(entries_, capacity_);
  }
  EntryArray(const EntryArray&) = delete;
  EntryArray& operator=(const EntryArray&) = delete;

  size_t capacity() const { return capacity_; }
  E& operator[](size_t i) { return entries_[i]; }
  const E& operator[](size_t i) const { return entries_[i]; }
  const E* data() const { return entries_; }

  static constexpr bool kOwns = !std::is_same_v<Owner, NoOwner>;
  using Owners = std::conditional_t<kOwns, std::vector<Owner>, NoOwner>;
  Owners& owners() { return owners_; }

 private:
  const size_t capacity_;
  E* const entries_;
  [[no_unique_address]] Owners owners_;
};

template <typename E, typename Owner = NoOwner>
struct EntryList {
  static constexpr size_t kMinCapacity = 8;
  using Array = EntryArray<E, Owner>;

  std::shared_ptr<Array> array;
  size_t count = 0;

  // Appends `entries`, growing by doubling into a new array so that readers
  // of the old one are never disturbed.
  void Append(absl::Span<const E> entries) {
    size_t needed = count + entries.size();
    if (array == nullptr || needed > array->capacity()) {
      size_t capacity = std::max({kMinCapacity, needed, array == nullptr ? 0 : 2 * array->capacity()});
      auto grown = std::make_shared<Array>(capacity);
      for (size_t i = 0; i < count; ++i) (*grown)[i] = (*array)[i];
      if constexpr (Array::kOwns) {
        if (array != nullptr) grown->owners() = array->owners();
      }
      array = std::move(grown);
    }
    for (size_t i = 0; i < entries.size(); ++i) (*array)[count + i] = entries[i];
    count = needed;
  }

  // Replaces the list with a new array holding the entries that `keep` accepts.
  template <typename Keep>
  void Filter(Keep keep) {
    auto kept = std::make_shared<Array>(std::max(kMinCapacity, count));
    size_t n = 0;
    for (size_t i = 0; i < count; ++i) {
      if (keep((*array)[i])) (*kept)[n++] = (*array)[i];
    }
    if constexpr (Array::kOwns) kept->owners() = array->owners();
    array = std::move(kept);
    count = n;
  }

  // Drops entries [0, k).
  void DropFront(size_t k) {
    size_t index = 0;
    Filter([&](const E&) { return index++ >= k; });
  }

  // Replaces the list with a new array without the entries at `indices`
  // (ascending, each < count), copying the runs between them whole. As in
  // Filter, what was removed is left as room to grow.
  void RemoveAt(const std::vector<size_t>& indices) {
    auto kept = std::make_shared<Array>(std::max(kMinCapacity, count));
    if constexpr (Array::kOwns) kept->owners() = array->owners();
    const E* from = array->data();
    E* to = &(*kept)[0];
    size_t start = 0;
    for (size_t index : indices) {
      to = std::copy(from + start, from + index, to);
      start = index + 1;
    }
    std::copy(from + start, from + count, to);
    array = std::move(kept);
    count -= indices.size();
  }
};

// Entries to remove from an EntryList, gathered so that many removals cost
// one pass over the list rather than one pass each: a deletion or truncation
// of a stream removes its events from the global order, and filtering that
// order once per deletion made k deletions O(k * events), a replay full of
// truncations quadratic. The owner adds the keys of removed entries, applies
// them before anything reads the list, and applies them at once when they
// are Due, which bounds the memory they take and keeps the cost O(log k) per
// removed entry, amortized. K is the key entries ascend by along the list.
template <typename K>
class PendingRemovals {
 public:
  void Add(const K& key) { keys_.push_back(key); }
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // Whether so much of a list of `count` entries is pending removal (a
  // quarter) that the list should be filtered now.
  bool Due(size_t count) const { return keys_.size() >= std::max<size_t>(kMinDue, count / 4); }

  // Removes the pending keys' entries from `list`, which ascends by key_of(e):
  // a binary search finds each, and the runs between them are copied whole.
  template <typename E, typename Owner, typename KeyOf>
  void ApplyTo(EntryList<E, Owner>& list, KeyOf key_of) {
    if (keys_.empty()) return;
    std::sort(keys_.begin(), keys_.end());
    std::vector<size_t> indices;
    indices.reserve(keys_.size());
    if (list.count > 0) {
      const E* first = list.array->data();
      const E* last = first + list.count;
      const E* at = first;
      for (const K& key : keys_) {
        at = std::lower_bound(at, last, key, [&](const E& e, const K& k) { return key_of(e) < k; });
        if (at == last) break;
        if (key_of(*at) == key) indices.push_back(static_cast<size_t>(at++ - first));
      }
    }
    if (!indices.empty()) list.RemoveAt(indices);
    keys_ = std::vector<K>();
  }

 private:
  static constexpr size_t kMinDue = 4096;
  std::vector<K> keys_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_ENTRY_LIST_H_
