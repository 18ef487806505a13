// IdMap<V>: the stores' maps keyed by stream or aggregate ID (the streams of
// an index, their snapshots), with their slots from the host's allocator
// (core/util/host_allocator.h): a store of many streams holds much of its
// index in them. Thread safety: as absl::flat_hash_map.
#ifndef ESTORIA_CORE_STORE_ID_MAP_H_
#define ESTORIA_CORE_STORE_ID_MAP_H_

#include <functional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "core/id/id.h"
#include "core/util/host_allocator.h"

namespace estoria::core {

template <typename V>
using IdMap = absl::flat_hash_map<Id, V, absl::Hash<Id>, std::equal_to<Id>, HostAllocator<std::pair<const Id, V>>>;

}  // namespace estoria::core

#endif  // ESTORIA_CORE_STORE_ID_MAP_H_
