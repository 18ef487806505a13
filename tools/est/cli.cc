// cli.cc: the helpers every command of `est` shares (see cli.h).
#include "cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

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

void FailStatus(est_status status, const std::string& doing) {
  std::string message = est_last_error();
  std::string text = doing + ": " + est_status_name(status);
  if (!message.empty()) text += ": " + message;
  Fail(ExitCodeFor(status), text);
}

// ------------------------------------------------------------------ Args

Args::Args(const std::vector<std::string>& argv, std::vector<std::string> with_value, std::vector<std::string> flags,
           std::vector<std::string> repeated) {
  auto in = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> inline_value;
    if (size_t eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      name = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    bool is_repeated = in(repeated, name);
    if (in(with_value, name) || is_repeated) {
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        UsageError("option " + name + " needs a value");
      }
      if (is_repeated) {
        repeated_[name].push_back(value);
        values_[name] = value;
      } else {
        if (values_.count(name)) UsageError("option " + name + " given twice");
        values_[name] = value;
      }
    } else if (in(flags, name)) {
      if (inline_value) UsageError("option " + name + " takes no value");
      values_[name] = "";
    } else {
      UsageError("unknown option " + name);
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

const std::vector<std::string>& Args::all(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = repeated_.find(name);
  return it == repeated_.end() ? kNone : it->second;
}

int64_t ParseInt(const std::string& text, const std::string& what, int64_t min) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || text[0] == '-' || text[0] == '+' || ec != std::errc() || end != text.data() + text.size()) {
    UsageError(what + " must be a whole number, not \"" + text + "\"");
  }
  if (v < min) UsageError(what + " must be at least " + std::to_string(min));
  return v;
}

int64_t Args::GetInt(const std::string& name, int64_t def, int64_t min) const {
  std::optional<std::string> v = get(name);
  if (!v) return def;
  return ParseInt(*v, name, min);
}

void Args::ExpectPositional(size_t min, size_t max) const {
  if (positional_.size() < min) UsageError("missing argument");
  if (positional_.size() > max) UsageError("unexpected argument \"" + positional_[max] + "\"");
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
    if (rest.empty() || rest[0] != '/') UsageError("a file:// URI needs an absolute path: " + uri);
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
  size_t len = 0;
  if (est_uri_redact(uri.c_str(), nullptr, 0, &len) != EST_ERR_INVALID_ARGUMENT || len == 0) return "(a URI)";
  std::string out(len + 1, '\0');
  if (est_uri_redact(uri.c_str(), out.data(), out.size(), &len) != EST_OK) return "(a URI)";
  out.resize(len);
  return out;
}

est_store* OpenStore(const StoreUri& uri, const OpenOptions& options) {
  if (uri.is_file && options.must_exist) {
    struct stat st;
    if (::stat(uri.path.c_str(), &st) != 0) Fail(kExitNotFound, "no store at " + uri.path);
    if (!S_ISDIR(st.st_mode)) Fail(kExitNotFound, uri.path + " is not a store directory");
  }
  est_store_options o = EST_STORE_OPTIONS_INIT;
  o.sync_mode = options.sync_mode;
  // Through the options rather than "?mode=ro" in the URI: a bare path has
  // no query (a '?' in it is part of the file name).
  o.read_only = options.read_only && !uri.is_memory ? 1 : 0;
  int64_t deadline = NowNs() + int64_t{options.busy_wait_ms} * 1000000;
  for (;;) {
    est_store* store = nullptr;
    est_status st = est_store_open(uri.uri.c_str(), &o, &store);
    if (st == EST_OK) return store;
    if (st != EST_ERR_BUSY || NowNs() >= deadline) FailStatus(st, "opening " + RedactedUri(uri.uri));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void CheckStreamId(const std::string& id) {
  char type[EST_TYPE_MAX_LEN + 1];
  est_uuid u;
  if (est_id_parse(id.c_str(), type, sizeof type, &u) != EST_OK) {
    UsageError("\"" + id + "\" is not a stream ID (TYPE_UUID, e.g. account_0190a1b2-...)");
  }
}

// ------------------------------------------------------------ text forms

std::string UuidText(const est_uuid& u) {
  char buf[EST_ID_MAX_LEN];
  if (est_id_format("u", &u, buf, sizeof buf) != EST_OK) return "";
  return std::string(buf + 2);
}

bool ParseUuid(const std::string& text, est_uuid* out) {
  char type[4];
  std::string id = "u_" + text;
  return est_id_parse(id.c_str(), type, sizeof type, out) == EST_OK;
}

std::string StreamIdOf(const est_event& e) {
  char buf[EST_ID_MAX_LEN];
  if (est_id_format(e.stream_type, &e.stream_uuid, buf, sizeof buf) != EST_OK) return "";
  return buf;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string Base64Encode(const uint8_t* data, size_t len) {
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < len) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (i + 1 < len) v |= uint32_t{data[i + 1]} << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += (i + 1 < len) ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  out->clear();
  out->reserve(text.size() / 4 * 3);
  auto value = [](char c) -> int {
    const char* p = std::strchr(kB64, c);
    return (c != 0 && p) ? static_cast<int>(p - kB64) : -1;
  };
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=') {
        if (i + 4 != text.size() || j < 2) return false;
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad) return false;
      int d = value(c);
      if (d < 0) return false;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>(v >> 16));
    if (pad < 2) out->push_back(static_cast<char>((v >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(v & 0xff));
  }
  return true;
}

nlohmann::ordered_json EventToJson(const est_event& e, bool with_position) {
  nlohmann::ordered_json j;
  j["stream"] = StreamIdOf(e);
  j["version"] = e.stream_version;
  if (with_position) j["position"] = e.global_position;
  j["id"] = UuidText(e.id);
  j["type"] = e.type;
  j["timestamp_ns"] = e.timestamp_ns;
  j["content_type"] = e.content_type;
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (size_t i = 0; i < e.metadata_count; ++i) {
    const char* k = nullptr;
    const char* v = nullptr;
    if (est_event_metadata(&e, i, &k, &v) == EST_OK) meta[k] = v;
  }
  j["metadata"] = std::move(meta);
  j["data_base64"] = Base64Encode(e.data, e.data_len);
  return j;
}

std::string DataPreview(const uint8_t* data, size_t len, size_t width) {
  std::string_view text(reinterpret_cast<const char*>(data), len);
  bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;  // ASCII printable or UTF-8 bytes
  });
  if (!printable) return "<" + std::to_string(len) + " bytes>";
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

void Progress::Callback(void* user, uint64_t done, uint64_t total) {
  static_cast<Progress*>(user)->Update(done, total);
}

}  // namespace est
