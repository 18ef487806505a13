// The frontier: how far the writer has published, for readers in other
// processes (read-only opens). A 4 KiB file FRONTIER in the store's
// directory, mapped shared by the writer (read-write) and by readers (read
// only). The writer updates it after every group it publishes, with a
// sequence lock, so a reader never acts on a half-written state. What it
// names was durable when written under EST_SYNC_ALWAYS, and written to the
// OS under the other modes: readers read no further.
//
// The file's blocks are written (zeros, synced) before it is first mapped,
// so stores into the mapping never need space (doc/traps.md "Mappings": no
// writes through a mapping that could meet ENOSPC).
//
// Thread safety: Publish is called by one thread at a time (under the
// store's lock); Read from any thread, in any process.
#ifndef ESTORIA_CORE_FILELOG_FRONTIER_H_
#define ESTORIA_CORE_FILELOG_FRONTIER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/env/env.h"

namespace estoria::core::filelog {

inline constexpr char kFrontierName[] = "FRONTIER";

struct FrontierState {
  uint64_t generation = 0;  // the manifest generation of the log
  uint64_t sequence = 0;    // the plain segment the writer writes
  uint64_t end = 0;         // bytes of it published
};

class Frontier {
 public:
  // The writer's: creates the file when missing. kUnimplemented where the
  // Env cannot map files (then there is no frontier: readers read whatever
  // whole frames they find).
  static absl::StatusOr<std::unique_ptr<Frontier>> OpenForWriter(Env* env, const std::string& dir);
  // A reader's: kNotFound when the store has none (no writer has published
  // one), kUnimplemented where the Env cannot map.
  static absl::StatusOr<std::unique_ptr<Frontier>> OpenForReader(Env* env, const std::string& dir);

  void Publish(const FrontierState& state);
  // False when no consistent state can be read: never published, or a
  // writer died in the middle of an update (the next writer rewrites it).
  bool Read(FrontierState* state) const;

 private:
  explicit Frontier(std::unique_ptr<MappedFile> map) : map_(std::move(map)) {}
  std::unique_ptr<MappedFile> map_;
};

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_FRONTIER_H_
