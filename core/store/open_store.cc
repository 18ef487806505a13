// OpenStore: picks a backend by URI.
//   "memory:"                      a fresh, private MemoryStore (exactly this
//                                  text: no path, no query; options are checked
//                                  but have no effect, and read_only is refused
//                                  because a new memory store is empty)
//   "file:PATH", a bare path       the file store (core/filelog); "file:///abs" is
//                                  accepted for an absolute path; settings in the
//                                  query (see ApplyFileSettings)
//   "postgresql://", "postgres://" the PostgreSQL store (core/pgstore); the
//                                  URI goes to libpq, less our settings
//                                  pool_size=N and schema=NAME (see ParsePgUri);
//                                  kUnimplemented in a library built with
//                                  -DESTORIA_WITH_POSTGRES=OFF
// A "scheme:" prefix is an RFC 3986 scheme (a letter, then letters, digits,
// '+', '-' or '.'); any other scheme, and an empty URI, is kInvalidArgument.
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/env/env.h"
#include "core/filelog/file_store.h"
#ifndef ESTORIA_WITH_POSTGRES
#error "core/CMakeLists.txt defines ESTORIA_WITH_POSTGRES (1 or 0) for this file"
#endif
#if ESTORIA_WITH_POSTGRES
#include "core/pgstore/pg_store.h"
#endif
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
  if (options.threads != Threads::kLibrary && options.threads != Threads::kNone) {
    return absl::InvalidArgumentError(absl::StrCat("unknown threads mode ", static_cast<int>(options.threads)));
  }
  if (options.sync_interval_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync_interval_ms must be >= 0, got ", options.sync_interval_ms));
  }
  return absl::OkStatus();
}

// The query of a file URI: "&"-separated settings.
//   mode=ro|rw            a read-only open (also est_store_options.read_only)
//   segment_bytes=N       segment size (4096 .. 1 GiB; default 64 MiB)
//   preallocate_bytes=N   zeros kept written ahead of the writer (0 = none; default 4 MiB)
//   checkpoint_bytes=N    log growth between background index checkpoints (0 = none; default 256 MiB)
absl::Status ApplyFileSettings(std::string_view query, FileStoreOptions* out) {
  for (absl::string_view setting : absl::StrSplit(ToAbsl(query), '&', absl::SkipEmpty())) {
    const size_t eq = setting.find('=');
    const absl::string_view key = setting.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? absl::string_view() : setting.substr(eq + 1);
    uint64_t n = 0;
    if (key == "mode" && (value == "ro" || value == "rw")) {
      out->store.read_only = out->store.read_only || value == "ro";
    } else if (key == "segment_bytes" && absl::SimpleAtoi(value, &n) && n >= 4096 && n <= (uint64_t{1} << 30)) {
      out->segment_bytes = n;
    } else if (key == "preallocate_bytes" && absl::SimpleAtoi(value, &n)) {
      out->preallocate_bytes = n;
    } else if (key == "checkpoint_bytes" && absl::SimpleAtoi(value, &n)) {
      out->checkpoint_bytes = n;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown or bad file store setting \"", setting,
          "\" (known: mode=ro|rw, segment_bytes=N (4096 .. 1073741824), preallocate_bytes=N, checkpoint_bytes=N)"));
    }
  }
  return absl::OkStatus();
}

// "file:PATH[?SETTINGS]" or a bare path.
absl::StatusOr<std::shared_ptr<EventStore>> OpenFileUri(std::string_view uri, bool bare,
                                                        const StoreOptions& options) {
  std::string_view path = bare ? uri : uri.substr(5);
  FileStoreOptions file_options;
  file_options.store = options;
  if (!bare) {
    if (size_t q = path.find('?'); q != std::string_view::npos) {
      std::string_view query = path.substr(q + 1);
      path = path.substr(0, q);
      RETURN_IF_ERROR(ApplyFileSettings(query, &file_options));
    }
    if (path.substr(0, 2) == "//") {  // file:///abs/path: an empty authority
      path.remove_prefix(2);
      if (path.empty() || path[0] != '/') {
        return absl::InvalidArgumentError(
            absl::StrCat("a file URI with a host is not supported: \"", ToAbsl(uri), "\""));
      }
    }
  }
  if (path.empty()) return absl::InvalidArgumentError("the file store URI has no path");
  return OpenFileStore(Env::Default(), path, file_options);
}

}  // namespace

absl::StatusOr<std::shared_ptr<EventStore>> OpenStore(std::string_view uri, const StoreOptions& options) {
  if (uri.empty()) return absl::InvalidArgumentError("the store URI is empty");
  if (uri.find('\0') != std::string_view::npos) return absl::InvalidArgumentError("the store URI contains NUL");
  RETURN_IF_ERROR(CheckOptions(options));
  std::string_view scheme = Scheme(uri);
  if (scheme.empty() || scheme == "file") return OpenFileUri(uri, scheme.empty(), options);
  if (scheme == "postgresql" || scheme == "postgres") {
#if ESTORIA_WITH_POSTGRES
    PgStoreOptions pg_options;
    ASSIGN_OR_RETURN(pg_options, ParsePgUri(uri));
    pg_options.store = options;
    return OpenPgStore(pg_options);
#else
    // The URI is quoted for the reader; est_last_error() and the log hide
    // its password.
    return absl::UnimplementedError(absl::StrCat(
        "this library was built without the PostgreSQL store (-DESTORIA_WITH_POSTGRES=OFF); "
        "build it with -DESTORIA_WITH_POSTGRES=ON to open \"", ToAbsl(uri), "\""));
#endif
  }
  if (scheme == "memory") {
    if (uri != "memory:") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"memory:\" takes no path or options, got \"", ToAbsl(uri), "\""));
    }
    if (options.read_only) {
      return absl::InvalidArgumentError("a memory store cannot be opened read-only (it starts empty)");
    }
    return std::shared_ptr<EventStore>(std::make_shared<MemoryStore>(options));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown URI scheme \"", ToAbsl(scheme), ":\""));
}

}  // namespace estoria::core
