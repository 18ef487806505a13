// cli.h: what every command of `est` shares: exit codes, argument parsing,
// opening a store from its URI, one-line errors, progress bars, and the
// JSON-lines form of an event (read --json, export, import).
//
// `est` is a user of the C ABI like any other: it includes estoria/estoria.h,
// the SDK and the aggregates headers, never core/. Single-threaded.
#ifndef ESTORIA_TOOLS_EST_CLI_H_
#define ESTORIA_TOOLS_EST_CLI_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "estoria/estoria.h"

namespace est {

// Documented exit codes (est --help prints them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // any other failure (I/O, internal, ...)
inline constexpr int kExitUsage = 2;        // bad arguments: nothing was opened
inline constexpr int kExitNotFound = 3;     // no such store or stream
inline constexpr int kExitCorruption = 4;   // verify (or a read) found damage
inline constexpr int kExitBusy = 5;         // the store is held by another writer
inline constexpr int kExitConflict = 6;     // an expected version did not match
inline constexpr int kExitUnsupported = 7;  // the backend or this release lacks it

// Thrown by commands to stop with a message and an exit code; main() prints
// "est CMD: MESSAGE" on stderr and exits with the code. (The tool is not
// engine code: exceptions keep the commands short.)
struct Failure {
  int code;
  std::string message;
};

[[noreturn]] void Fail(int code, std::string message);
[[noreturn]] void UsageError(std::string message);
// Fails with the exit code that matches `status` and the library's message.
[[noreturn]] void FailStatus(est_status status, const std::string& doing);
int ExitCodeFor(est_status status);

// A parsed command line: options by name ("--count" -> "5"; flags -> "")
// and positional arguments in order. Parsing never touches a store.
class Args {
 public:
  // `with_value`: options taking a value; `flags`: options without one;
  // `repeated`: options (taking a value) that may be given many times.
  // Any other "-x" / "--x" is a usage error. "--help"/"-h" sets help().
  Args(const std::vector<std::string>& argv, std::vector<std::string> with_value, std::vector<std::string> flags,
       std::vector<std::string> repeated = {});

  bool help() const { return help_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  const std::vector<std::string>& all(const std::string& name) const;
  // A non-negative integer option (usage error when malformed); `def` when absent.
  int64_t GetInt(const std::string& name, int64_t def, int64_t min = 0) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Exactly between min and max positional arguments, else a usage error.
  void ExpectPositional(size_t min, size_t max) const;

 private:
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> repeated_;
  std::vector<std::string> positional_;
};

int64_t ParseInt(const std::string& text, const std::string& what, int64_t min = 0);

// Store URIs: "memory:", "file:PATH", "file:///PATH", "postgresql://...",
// or a bare path.
struct StoreUri {
  std::string uri;
  bool is_file = false;
  bool is_memory = false;
  std::string path;  // for file stores
};
// Checks the form of a URI (usage error when it cannot be a store URI).
StoreUri ParseStoreUri(const std::string& uri);
// The URI as est prints it: any password replaced by "***".
std::string RedactedUri(const std::string& uri);

// Opens the store. `must_exist`: a file store whose directory is absent is
// kExitNotFound, and nothing is created. A store held by another process
// (EST_ERR_BUSY) is retried for `busy_wait_ms` before failing.
// `read_only`: for commands that only read. Such an open takes no lock, so
// it works beside a writer in another process and sees what that writer has
// published. A memory: store is private and starts empty, and the library
// refuses to open one read-only: it is opened as usual.
struct OpenOptions {
  bool must_exist = true;
  int32_t sync_mode = EST_SYNC_ALWAYS;
  int busy_wait_ms = 3000;
  bool read_only = false;
};
// The options of a command that only reads.
inline constexpr OpenOptions kReadOnly = {.must_exist = true, .sync_mode = EST_SYNC_ALWAYS, .busy_wait_ms = 3000,
                                          .read_only = true};
est_store* OpenStore(const StoreUri& uri, const OpenOptions& options);

// Owns an est_store* / est_iter* (closes on scope exit).
struct StoreCloser {
  void operator()(est_store* s) const { est_store_close(s); }
};
struct IterCloser {
  void operator()(est_iter* i) const { est_iter_close(i); }
};

// Validates a stream ID ("type_uuid"); a usage error when malformed.
void CheckStreamId(const std::string& id);

// UUIDs and IDs in text.
std::string UuidText(const est_uuid& u);
bool ParseUuid(const std::string& text, est_uuid* out);
std::string StreamIdOf(const est_event& e);

// Base64 (RFC 4648, padded): exact for any bytes.
std::string Base64Encode(const uint8_t* data, size_t len);
bool Base64Decode(std::string_view text, std::string* out);

// The JSON-lines form of an event (keys in a fixed order so that exports
// compare byte for byte): stream, version, id, type, timestamp_ns,
// content_type, metadata, data_base64, and position when asked.
nlohmann::ordered_json EventToJson(const est_event& e, bool with_position);

// A one-line summary of an event's data for tables: the text when it is
// printable UTF-8 (shortened), else "<N bytes>".
std::string DataPreview(const uint8_t* data, size_t len, size_t width);
std::string FormatTime(int64_t timestamp_ns);

// A progress bar on stderr, drawn only when stderr is a terminal; silent
// (draws nothing at all) when piped. Redraws at most ten times a second.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void Update(uint64_t done, uint64_t total);
  void Finish();
  // An est_progress_fn that forwards to a Progress* in `user`.
  static void Callback(void* user, uint64_t done, uint64_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  int64_t last_draw_ns_ = 0;
};

int64_t NowNs();  // monotonic
std::string HumanBytes(int64_t bytes);

// The commands: each takes its arguments after the command name and
// returns the exit code (or throws Failure).
int CmdDemo(const std::vector<std::string>& args);
int CmdAppend(const std::vector<std::string>& args);
int CmdRead(const std::vector<std::string>& args);
int CmdReadAll(const std::vector<std::string>& args);
int CmdTail(const std::vector<std::string>& args);
int CmdStreams(const std::vector<std::string>& args);
int CmdStats(const std::vector<std::string>& args);
int CmdVerify(const std::vector<std::string>& args);
int CmdCompact(const std::vector<std::string>& args);
int CmdDelete(const std::vector<std::string>& args);
int CmdExport(const std::vector<std::string>& args);
int CmdImport(const std::vector<std::string>& args);
int CmdBench(const std::vector<std::string>& args);

}  // namespace est

#endif  // ESTORIA_TOOLS_EST_CLI_H_
