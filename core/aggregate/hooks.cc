// Aggregate hooks; see hooks.h.
#include "core/aggregate/hooks.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/store/writable_batch.h"
#include "core/util/log.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

const char* StageName(HookStage stage) {
  switch (stage) {
    case HookStage::kBeforeLoad:
      return "before-load";
    case HookStage::kAfterLoad:
      return "after-load";
    case HookStage::kBeforeSave:
      return "before-save";
    case HookStage::kAfterSave:
      return "after-save";
  }
  return "unknown";
}

}  // namespace

absl::Status HookContext::AddMetadata(std::string_view key, std::string_view value) {
  if (stage_ != HookStage::kBeforeSave) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata can be added from a before-save hook only, not from a ", StageName(stage_), " hook"));
  }
  if (key.empty()) return absl::InvalidArgumentError("a metadata key is empty");
  if (key.substr(0, kReservedMetadataPrefix.size()) == kReservedMetadataPrefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata key \"", ToAbsl(key),
                     "\" is reserved for the toolkit's own components (\"estoria.\" prefix) and may not be "
                     "added by a hook"));
  }
  if (metadata_.size() >= kMaxMetadataPerEvent) {
    return absl::InvalidArgumentError(absl::StrCat("hooks may add at most ", kMaxMetadataPerEvent, " keys"));
  }
  auto it = metadata_.find(key);
  if (it != metadata_.end()) {
    it->second.assign(value);
  } else {
    metadata_.emplace(std::string(key), std::string(value));
  }
  return absl::OkStatus();
}

void Hooks::Add(HookStage stage, Hook hook) { hooks_[static_cast<int>(stage)].push_back(std::move(hook)); }

absl::Status Hooks::RunBefore(HookStage stage, HookContext* ctx, std::string_view aggregate_id,
                              int64_t version) const {
  for (const Hook& hook : hooks_[static_cast<int>(stage)]) {
    absl::Status status = hook(stage, ctx, aggregate_id, version);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("a ", StageName(stage), " hook of ", ToAbsl(aggregate_id),
                                                      " failed: ", status.message()));
    }
  }
  return absl::OkStatus();
}

void Hooks::RunAfter(HookStage stage, std::string_view aggregate_id, int64_t version) const {
  const std::vector<Hook>& hooks = hooks_[static_cast<int>(stage)];
  if (hooks.empty()) return;
  HookContext ctx(stage);
  for (const Hook& hook : hooks) {
    absl::Status status = hook(stage, &ctx, aggregate_id, version);
    if (!status.ok()) {
      Log(LogLevel::kError, absl::StrCat("an ", StageName(stage), " hook of ", ToAbsl(aggregate_id),
                                         " at version ", version, " failed: ", status.ToString()));
    }
  }
}

}  // namespace estoria::core
