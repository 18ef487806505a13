// StateCache; see state_cache.h.
#include "core/aggregate/state_cache.h"

namespace estoria::core {

StateCache::StateCache(size_t capacity) : capacity_(capacity) {}

std::shared_ptr<const StateCache::Entry> StateCache::Get(const Id& id) {
  MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void StateCache::Put(const Id& id, std::shared_ptr<const Entry> entry) {
  // Evicted entries are released after the lock (their bytes may be large).
  std::shared_ptr<const Entry> released;
  MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    if (it->second->second->version > entry->version) return;
    released = std::move(it->second->second);
    it->second->second = std::move(entry);
    return;
  }
  lru_.emplace_front(id, std::move(entry));
  index_.emplace(id, lru_.begin());
  if (lru_.size() > capacity_) {
    released = std::move(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void StateCache::Erase(const Id& id, const Entry* expected) {
  std::shared_ptr<const Entry> released;
  MutexLock lock(&mu_);
  auto it = index_.find(id);
  if (it == index_.end() || it->second->second.get() != expected) return;
  released = std::move(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

size_t StateCache::size() const {
  MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace estoria::core
