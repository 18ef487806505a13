// Aggregate hooks: host functions run before and after each load and save.
// A before-hook's error fails the operation; an after-hook's error goes to
// the log handler (core/util/log.h), since the operation has happened. A
// before-save hook may add metadata to every event of the save (correlation
// and causation IDs).
//
// Thread safety: hooks are added before the aggregate store is shared
// (Hooks::Add is not synchronized); running them is thread-safe as far as the
// hooks themselves are. No engine lock is held while a hook runs.
#ifndef ESTORIA_CORE_AGGREGATE_HOOKS_H_
#define ESTORIA_CORE_AGGREGATE_HOOKS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace estoria::core {

enum class HookStage { kBeforeLoad = 0, kAfterLoad = 1, kBeforeSave = 2, kAfterSave = 3 };
inline constexpr int kHookStages = 4;

// What a hook may act on; valid during the hook call only.
class HookContext {
 public:
  explicit HookContext(HookStage stage) : stage_(stage) {}

  HookStage stage() const { return stage_; }
  // Before-save only: adds key=value to every event of the save. Empty and
  // reserved ("estoria.") keys are kInvalidArgument; a key added twice keeps
  // the later value; an event's own value for the key wins over the hook's.
  absl::Status AddMetadata(std::string_view key, std::string_view value);
  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }

 private:
  HookStage stage_;
  std::map<std::string, std::string, std::less<>> metadata_;
};

// `version`: the requested to_version before a load (0 = latest), the
// aggregate's version otherwise (after a save: the new version).
using Hook = std::function<absl::Status(HookStage stage, HookContext* ctx, std::string_view aggregate_id,
                                        int64_t version)>;

class Hooks {
 public:
  void Add(HookStage stage, Hook hook);
  bool empty(HookStage stage) const { return hooks_[static_cast<int>(stage)].empty(); }

  // Runs the stage's hooks in the order added; the first error stops them
  // and is returned.
  absl::Status RunBefore(HookStage stage, HookContext* ctx, std::string_view aggregate_id, int64_t version) const;
  // Runs every hook of the stage; errors are logged, never returned.
  void RunAfter(HookStage stage, std::string_view aggregate_id, int64_t version) const;

 private:
  std::array<std::vector<Hook>, kHookStages> hooks_;
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_AGGREGATE_HOOKS_H_
