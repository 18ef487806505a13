// cli.cc: the helpers every command of `est` shares (see cli.h).
#include "cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace est {

void Fail(int code, std::string message) { throw Failure{code, std::move(message)}; }
void UsageError(std::string message) { Fail(kExitUsage, std::move(message) + " (see --help)"); }

int ExitCodeFor(est_status status) {
  switch (status) {
    case EST_OK:
      return kExitOk;
    case EST_ERR_INVALID_ARGUMENT:
      return kExitUsage;
    case EST_ERR_NOT_FOUND:
      return kExitNotFound;
    case EST_ERR_CORRUPTION:
      return kExitCorruption;
    case EST_ERR_BUSY:
      return kExitBusy;
    case EST_ERR_VERSION_MISMATCH:
      return kExitConflict;
    case EST_ERR_UNSUPPORTED:
      return kExitUnsupported;
    default:
      return kExitFailure;
  }
}

void FailOn(const estoria::Error& error, const std::string& doing) {
  Fail(ExitCodeFor(error.status()), doing + ": " + error.ToString());
}

// ------------------------------------------------------- the command tree

CLI::App* AddCommand(CLI::App& est, const std::string& name, const std::string& summary, const std::string& prose) {
  CLI::App* cmd = est.add_subcommand(name, summary);
  cmd->footer(prose);
  return cmd;
}

CLI::Validator WholeNumber(int64_t min, int64_t max) {
  std::string what = max == INT64_MAX ? "a whole number >= " + std::to_string(min)
                                      : "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [min, max, what](std::string& text) -> std::string {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() ||
            end != text.data() + text.size() || v < min || v > max) {
          return "must be " + what + ", not \"" + text + "\"";
        }
        return std::string();
      },
      "", "WholeNumber");
}

CLI::Option* AddSyncOption(CLI::App* cmd, std::string* name) {
  return cmd->add_option("--sync", *name, "when appends become durable: always (each batch), interval, none")
      ->check(CLI::IsMember({"always", "interval", "none"}))
      ->type_name("MODE");
}

estoria::SyncMode SyncModeNamed(const std::string& name) {
  if (name == "interval") return estoria::SyncMode::kInterval;
  if (name == "none") return estoria::SyncMode::kNone;
  return estoria::SyncMode::kAlways;
}

// ----------------------------------------------------------------- stores

StoreUri ParseStoreUri(const std::string& uri) {
  StoreUri u;
  u.uri = uri;
  if (uri.empty()) UsageError("the store URI is empty");
  if (uri == "memory:") {
    u.is_memory = true;
    return u;
  }
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0) return u;
  std::string rest;
  if (uri.rfind("file://", 0) == 0) {
    rest = uri.substr(7);
    if (rest.empty() || rest[0] != '/') UsageError("a file:// URI needs an absolute path: " + RedactedUri(uri));
  } else if (uri.rfind("file:", 0) == 0) {
    rest = uri.substr(5);
  } else {
    // "scheme:..." with no '/' before the colon is another scheme.
    size_t colon = uri.find(':');
    size_t slash = uri.find('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon < slash)) {
      bool scheme = colon > 0 && std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
                    });
      if (scheme) UsageError("unknown store URI scheme in \"" + RedactedUri(uri) + "\" (memory:, file:PATH or a path)");
    }
    rest = uri;
  }
  if (size_t q = rest.find('?'); q != std::string::npos && uri.rfind("file:", 0) == 0) rest = rest.substr(0, q);
  if (rest.empty()) UsageError("the store path is empty");
  u.is_file = true;
  u.path = rest;
  return u;
}

std::string RedactedUri(const std::string& uri) {
  estoria::Result<std::string> redacted = estoria::RedactSecrets(uri);
  return redacted.ok() ? *redacted : "(a URI)";
}

estoria::Store OpenStore(const StoreUri& uri, const OpenOptions& options) {
  if (uri.is_file && options.must_exist) {
    struct stat st;
    if (::stat(uri.path.c_str(), &st) != 0) Fail(kExitNotFound, "no store at " + uri.path);
    if (!S_ISDIR(st.st_mode)) Fail(kExitNotFound, uri.path + " is not a store directory");
  }
  estoria::StoreOptions o;
  o.sync_mode = options.sync_mode;
  // Through the options rather than "?mode=ro" in the URI: a bare path has
  // no query (a '?' in it is part of the file name).
  o.read_only = options.read_only && !uri.is_memory;
  int64_t deadline = NowNs() + int64_t{options.busy_wait_ms} * 1000000;
  for (;;) {
    estoria::Result<estoria::Store> store = estoria::Store::Open(uri.uri, o);
    if (store.ok()) return std::move(store).value();
    if (store.error().status() != EST_ERR_BUSY || NowNs() >= deadline) {
      FailOn(store.error(), "opening " + RedactedUri(uri.uri));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ForEachStream(const estoria::Store& store, std::string after,
                   const std::function<bool(const estoria::StreamInfo&)>& each) {
  constexpr size_t kPage = 256;
  for (;;) {
    std::vector<estoria::StreamInfo> page = Must(store.ListStreams(after, kPage), "listing streams");
    for (const estoria::StreamInfo& s : page) {
      if (!each(s)) return;
    }
    if (page.size() < kPage) return;
    after = page.back().id;
  }
}

estoria::Id ParseStreamId(const std::string& text) {
  estoria::Result<estoria::Id> id = estoria::Id::Parse(text);
  if (!id.ok()) UsageError("\"" + text + "\" is not a stream ID (TYPE_UUID, e.g. account_0190a1b2-...)");
  return std::move(id).value();
}

void CheckType(const std::string& type) {
  if (!estoria::Id::Make(type, estoria::Uuid()).ok()) {
    UsageError("\"" + type + "\" is not a type name (1 to 255 bytes, no control characters, no leading or trailing _)");
  }
}

// ------------------------------------------------------------ text forms

// Debian's Abseil has its own absl::string_view (not std::string_view's
// alias, doc/traps.md): the views are handed over as pointer and length.
std::string Base64Encode(std::string_view bytes) {
  return absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()));
}

bool Base64Decode(std::string_view text, std::string* out) {
  // Abseil also takes unpadded text; the export format writes it padded.
  return absl::Base64Unescape(absl::string_view(text.data(), text.size()), out);
}

nlohmann::ordered_json EventToJson(const estoria::EventView& e, bool with_position) {
  nlohmann::ordered_json j;
  j["stream"] = e.stream_id().str();
  j["version"] = e.stream_version();
  if (with_position) j["position"] = e.global_position();
  j["id"] = e.uuid().ToString();
  j["type"] = e.type();
  j["timestamp_ns"] = e.timestamp_ns();
  j["content_type"] = e.content_type();
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (size_t i = 0; i < e.metadata_count(); ++i) {
    auto [key, value] = e.metadata(i);
    meta[std::string(key)] = value;
  }
  j["metadata"] = std::move(meta);
  j["data_base64"] = Base64Encode(e.data_string());
  return j;
}

std::string DataPreview(std::string_view text, size_t width) {
  bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;  // ASCII printable or UTF-8 bytes
  });
  if (!printable) return "<" + std::to_string(text.size()) + " bytes>";
  if (text.size() <= width) return std::string(text);
  return std::string(text.substr(0, width - 3)) + "...";
}

std::string FormatTime(int64_t timestamp_ns) {
  time_t secs = static_cast<time_t>(timestamp_ns / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((timestamp_ns / 1000000) % 1000));
  return buf;
}

int64_t ParseAsOf(const std::string& text) {
  int64_t ns = 0;
  if (absl::SimpleAtoi(text, &ns)) {
    if (ns <= 0) UsageError("--as-of " + text + ": a time in unix nanoseconds must be > 0");
    return ns;
  }
  absl::Time time;
  std::string why;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &why)) {
    UsageError("--as-of " + text + ": neither unix nanoseconds nor an RFC 3339 time (" + why + ")");
  }
  ns = absl::ToUnixNanos(time);
  if (ns <= 0) UsageError("--as-of " + text + ": before 1970");
  return ns;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string HumanBytes(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%" PRId64 " B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else if (bytes < int64_t{1024} * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  }
  return buf;
}

// --------------------------------------------------------------- progress

Progress::Progress(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  int64_t now = NowNs();
  if (drawn_ && now - last_draw_ns_ < 100000000 && done < total) return;
  last_draw_ns_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  double frac = total == 0 ? 0.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), ' ');
  std::fprintf(stderr, "\r%s [%s] %3d%%", label_.c_str(), bar.c_str(), static_cast<int>(frac * 100));
  std::fflush(stderr);
}

void Progress::Finish() {
  if (!enabled_ || !drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace est
