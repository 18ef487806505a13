// cli.h: what every command of `est` shares: exit codes, the command tree
// (CLI11) and the checks of its options, opening a store from its URI,
// one-line errors, progress bars, and the JSON-lines form of an event (read
// --json, export, import).
//
// `est` is a user of the C++ SDK like any other program: it includes the
// SDK and the aggregates headers (and the demo's domain), never core/ nor
// examples/. Its own third-party libraries are CLI11 (arguments), Abseil's
// strings (Base64) and nlohmann-json. Single-threaded.
#ifndef ESTORIA_TOOLS_EST_CLI_H_
#define ESTORIA_TOOLS_EST_CLI_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "estoria/estoria.hpp"

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
// engine code: exceptions keep the commands short, and CLI11 reports bad
// arguments by throwing too.)
struct Failure {
  int code;
  std::string message;
};

[[noreturn]] void Fail(int code, std::string message);
[[noreturn]] void UsageError(std::string message);
// Fails with the exit code that matches the error: "DOING: EST_ERR_X: message".
[[noreturn]] void FailOn(const estoria::Error& error, const std::string& doing);
int ExitCodeFor(est_status status);

// The value of a Result, or FailOn its error.
template <typename T>
T Must(estoria::Result<T> result, const std::string& doing) {
  if (!result.ok()) FailOn(result.error(), doing);
  return std::move(result).value();
}
inline void Must(const estoria::Result<void>& result, const std::string& doing) {
  if (!result.ok()) FailOn(result.error(), doing);
}

// ------------------------------------------------------- the command tree

// A command of est: its subcommand in the CLI11 tree and what runs when it
// is the one chosen (after parsing, with its options in place). `run`
// returns the exit code or throws Failure.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Adds a subcommand `name` to `est` with its summary (the line of est --help)
// and its prose (the end of est NAME --help).
CLI::App* AddCommand(CLI::App& est, const std::string& name, const std::string& summary, const std::string& prose);

// Checks of option values, reported by CLI11 as usage errors (exit 2):
// a whole number (no sign, fits in 64 bits) of at least `min`, and at most
// `max`.
CLI::Validator WholeNumber(int64_t min, int64_t max = INT64_MAX);
// The --sync option of a command that writes: always (default), interval, none.
CLI::Option* AddSyncOption(CLI::App* cmd, std::string* name);
estoria::SyncMode SyncModeNamed(const std::string& name);

// One per command group (cmd_*.cc).
Command AddDemo(CLI::App& est);
Command AddAppend(CLI::App& est);
Command AddRead(CLI::App& est);
Command AddReadAll(CLI::App& est);
Command AddTail(CLI::App& est);
Command AddStreams(CLI::App& est);
Command AddStats(CLI::App& est);
Command AddVerify(CLI::App& est);
Command AddCompact(CLI::App& est);
Command AddDelete(CLI::App& est);
Command AddExport(CLI::App& est);
Command AddImport(CLI::App& est);
Command AddBench(CLI::App& est);
Command AddProjections(CLI::App& est);
Command AddProjection(CLI::App& est);

// ------------------------------------------------------------------ stores

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

// How OpenStore opens. `must_exist`: a file store whose directory is absent
// is kExitNotFound, and nothing is created. A store held by another process
// (EST_ERR_BUSY) is retried for `busy_wait_ms` before failing.
// `read_only`: for commands that only read. Such an open takes no lock, so
// it works beside a writer in another process and sees what that writer has
// published. A memory: store is private and starts empty, and the library
// refuses to open one read-only: it is opened as usual.
struct OpenOptions {
  bool must_exist = true;
  estoria::SyncMode sync_mode = estoria::SyncMode::kAlways;
  int busy_wait_ms = 3000;
  bool read_only = false;
};
// The options of a command that only reads.
inline constexpr OpenOptions kReadOnly = {.must_exist = true, .sync_mode = estoria::SyncMode::kAlways,
                                          .busy_wait_ms = 3000, .read_only = true};
estoria::Store OpenStore(const StoreUri& uri, const OpenOptions& options);

// Every live stream, page after page, in the byte order of their IDs after
// `after` ("" = from the first); `each` returns false to stop.
void ForEachStream(const estoria::Store& store, std::string after,
                   const std::function<bool(const estoria::StreamInfo&)>& each);

// ------------------------------------------------------------ text forms

// A stream ID ("type_uuid"); a usage error when malformed.
estoria::Id ParseStreamId(const std::string& text);
// A type name (of an event or a stream); a usage error when invalid.
void CheckType(const std::string& type);

// Base64 (RFC 4648, padded; Abseil's): exact for any bytes.
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string* out);

// The JSON-lines form of an event (keys in a fixed order so that exports
// compare byte for byte): stream, version, id, type, timestamp_ns,
// content_type, metadata, data_base64, and position when asked.
nlohmann::ordered_json EventToJson(const estoria::EventView& e, bool with_position);

// A one-line summary of an event's data for tables: the text when it is
// printable UTF-8 (shortened), else "<N bytes>".
std::string DataPreview(std::string_view data, size_t width);
std::string FormatTime(int64_t timestamp_ns);
// The value of an --as-of option: unix nanoseconds (digits, > 0) or an RFC
// 3339 time (2026-12-07T02:00:00Z, 2026-12-07T03:00:00.5+01:00); a
// UsageError otherwise.
int64_t ParseAsOf(const std::string& text);

// A progress bar on stderr, drawn only when stderr is a terminal; silent
// (draws nothing at all) when piped. Redraws at most ten times a second.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void Update(uint64_t done, uint64_t total);
  void Finish();
  // The SDK's progress callback (Store::Verify, Compact), forwarding here;
  // valid while this Progress lives.
  estoria::Progress Callback() {
    return [this](uint64_t done, uint64_t total) { Update(done, total); };
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  int64_t last_draw_ns_ = 0;
};

int64_t NowNs();  // monotonic
std::string HumanBytes(int64_t bytes);

}  // namespace est

#endif  // ESTORIA_TOOLS_EST_CLI_H_
