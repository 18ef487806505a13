#include "core/store/store_host.h"

#include <string>
#include <utility>

#include "core/util/redact.h"

namespace estoria::core {

StoreHost::StoreHost(ClockFn clock, RandomFn random, LogFn log)
    : clock_(std::move(clock)),
      log_(std::move(log)),
      generator_(clock_ || random ? std::make_unique<UuidGenerator>(std::move(random)) : nullptr) {}

int64_t StoreHost::NowNanos(Env* env) const { return clock_ ? clock_() : env->NowNanos(); }

absl::Status StoreHost::NewUuidsV7(absl::Span<Uuid> out, int64_t now_ns) const {
  return generator_ != nullptr ? generator_->NewV7(out, now_ns) : core::NewUuidsV7(out, now_ns);
}

absl::StatusOr<Uuid> StoreHost::NewUuidV7() const {
  Uuid uuid;
  if (absl::Status status = NewUuidsV7(absl::MakeSpan(&uuid, 1), NowNanos()); !status.ok()) return status;
  return uuid;
}

void StoreHost::Log(LogLevel level, std::string_view message) const {
  if (!log_) {
    core::Log(level, message);
    return;
  }
  // As the process-wide handler: a connection URI's password never leaves.
  log_(level, RedactSecrets(message));
}

const std::shared_ptr<const StoreHost>& StoreHost::Default() {
  static const auto* host = new std::shared_ptr<const StoreHost>(std::make_shared<StoreHost>(nullptr, nullptr, nullptr));
  return *host;
}

}  // namespace estoria::core
