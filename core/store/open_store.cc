// OpenStore: picks a backend by URI.
//   "memory:"                      a fresh, private MemoryStore (exactly this
//                                  text: no path, no query; options are checked
//                                  but have no effect, and read_only is refused
//                                  because a new memory store is empty)
//   "file:PATH", a bare path       the file store      (kUnimplemented for now)
//   "postgresql://", "postgres://" the PostgreSQL store (kUnimplemented for now)
// A "scheme:" prefix is an RFC 3986 scheme (a letter, then letters, digits,
// '+', '-' or '.'); any other scheme, and an empty URI, is kInvalidArgument.
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/store/event_store.h"
#include "core/store/memory_store.h"
#include "core/util/status.h"

namespace estoria::core {
namespace {

// The scheme of `uri` without its ':', or "" when `uri` is a bare path.
std::string_view Scheme(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view scheme = uri.substr(0, colon);
  if (!absl::ascii_isalpha(static_cast<unsigned char>(scheme[0]))) return {};
  for (char c : scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
  }
  return scheme;
}

absl::Status CheckOptions(const StoreOptions& options) {
  switch (options.sync_mode) {
    case SyncMode::kAlways:
    case SyncMode::kInterval:
    case SyncMode::kNone:
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown sync mode ", static_cast<int>(options.sync_mode)));
  }
  if (options.sync_interval_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync_interval_ms must be >= 0, got ", options.sync_interval_ms));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<EventStore>> OpenStore(std::string_view uri, const StoreOptions& options) {
  if (uri.empty()) return absl::InvalidArgumentError("the store URI is empty");
  if (uri.find('\0') != std::string_view::npos) return absl::InvalidArgumentError("the store URI contains NUL");
  RETURN_IF_ERROR(CheckOptions(options));
  std::string_view scheme = Scheme(uri);
  if (scheme.empty() || scheme == "file") {
    return absl::UnimplementedError(absl::StrCat("the file store is not in this build yet (\"", ToAbsl(uri), "\")"));
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    return absl::UnimplementedError("the PostgreSQL store is not in this build yet");
  }
  if (scheme == "memory") {
    if (uri != "memory:") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"memory:\" takes no path or options, got \"", ToAbsl(uri), "\""));
    }
    if (options.read_only) {
      return absl::InvalidArgumentError("a memory store cannot be opened read-only (it starts empty)");
    }
    return std::shared_ptr<EventStore>(std::make_shared<MemoryStore>());
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown URI scheme \"", ToAbsl(scheme), ":\""));
}

}  // namespace estoria::core
