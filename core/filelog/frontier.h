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
// Waking: FrontierWatch lets a reader in another process sleep until the
// next Publish without reading the disk: a futex on the sequence lock word,
// which Publish wakes only when the waiter count beside it is not zero (so a
// writer nobody watches makes no system call for it). See FORMAT.md,
// "Readers".
//
// Thread safety: Publish is called by one thread at a time (under the
// store's lock); Read from any thread, in any process. A FrontierWatch's
// Wait from one thread at a time, WakeAll and Sequence from any.
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

// A reader's wait for the writer's next Publish.
class FrontierWatch {
 public:
  // kNotFound when the store has no frontier yet; kUnimplemented where the
  // Env cannot map. Maps the file writable to count itself among the
  // waiters; where it may not write (permissions) it maps read-only and
  // Wait sleeps in short steps instead (reading the mapped word only).
  static absl::StatusOr<std::unique_ptr<FrontierWatch>> Open(Env* env, const std::string& dir);

  // Changes at every Publish (the sequence lock word).
  uint64_t Sequence() const;
  // Returns once Sequence() differs from `seen`, after WakeAll, or after
  // about `timeout_ms` (the safety net for writers of older libraries,
  // which never wake anyone), whichever comes first; spurious returns too.
  void Wait(uint64_t seen, int64_t timeout_ms);
  // Wakes every waiter on this store's frontier (in every process: theirs
  // return spuriously and wait again).
  void WakeAll();

 private:
  FrontierWatch(std::unique_ptr<MappedFile> map, bool counted) : map_(std::move(map)), counted_(counted) {}
  std::unique_ptr<MappedFile> map_;
  const bool counted_;  // the map is writable: the waiter count is kept
};

}  // namespace estoria::core::filelog

#endif  // ESTORIA_CORE_FILELOG_FRONTIER_H_
