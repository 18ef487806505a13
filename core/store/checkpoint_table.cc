// CheckpointTable: see checkpoint_table.h.
#include "core/store/checkpoint_table.h"

#include <algorithm>

namespace estoria::core {

int64_t CheckpointTable::Stamp(int64_t now_ns) {
  last_stamp_ = std::max(now_ns, last_stamp_ + 1);
  return last_stamp_;
}

void CheckpointTable::Put(std::string_view projection_id, int64_t position, int64_t updated_at_ns) {
  last_stamp_ = std::max(last_stamp_, updated_at_ns);
  auto it = by_id_.find(projection_id);
  if (it == by_id_.end()) it = by_id_.emplace(std::string(projection_id), Checkpoint{}).first;
  it->second = Checkpoint{it->first, position, updated_at_ns};
}

bool CheckpointTable::Erase(std::string_view projection_id) {
  auto it = by_id_.find(projection_id);
  if (it == by_id_.end()) return false;
  by_id_.erase(it);
  return true;
}

const Checkpoint* CheckpointTable::Find(std::string_view projection_id) const {
  auto it = by_id_.find(projection_id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::vector<Checkpoint> CheckpointTable::List() const {
  std::vector<Checkpoint> all;
  all.reserve(by_id_.size());
  for (const auto& [id, checkpoint] : by_id_) all.push_back(checkpoint);
  return all;
}

}  // namespace estoria::core
