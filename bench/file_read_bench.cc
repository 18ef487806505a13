// file_read_bench: reading the file store ("file:DIR" through the C ABI)
// against the same two peers as file_store_bench, in one run: SQLite used the
// way Estoria's Go SQLite event store uses it (bench/peers/sqlite_events.h)
// and an LMDB event store (bench/peers/lmdb_events.h); plus the time a big
// store takes to open and what its index costs in memory.
// bench/file_read_ratios.py reads the JSON output and prints the figures, the
// ratios and the file store's read targets.
//
// Names are WORKLOAD/TARGET; Google Benchmark adds /iterations, /real_time,
// /manual_time:
//   read_stream/{estoria,sqlite,lmdb}
//       one whole 10,000-event stream, forward, from a warm store. items/s =
//       events/s. estoria: est_read_stream + est_iter_next_batch; SQLite: the
//       Go store's SELECT ... ORDER BY stream_offset, columns read in place;
//       LMDB: a read transaction, a cursor over its stream index and a
//       lookup per event, values decoded in the map.
//   read_all/{estoria,sqlite,lmdb}
//       every event in global order, READ_ALL events (see below), warm.
//       estoria: est_read_all; SQLite: SELECT ... ORDER BY id; LMDB: one
//       cursor over its events.
//       Every read touches each event's data where it lies (its length and
//       first byte go into a checksum, checked against the expected one).
//   open/estoria        est_store_open + the first est_store_stats of the big
//                       store, its files in the page cache (manual time; the
//                       close is not timed). Counters: events, and
//                       index_bytes_per_event = RssAnon grown by the open
//                       (the heap; mapped file pages are not in it; free
//                       heap given back by malloc_trim before and after)
//                       over the store's events, the largest of the
//                       iterations.
//   open/estoria_cold   the same with the store's files evicted from the page
//                       cache (posix_fadvise DONTNEED) before each open.
//
// The stores: N events (ESTORIA_BENCH_READ_EVENTS, default 10,000,000, a
// multiple of 10,000) in N/10,000 streams of 10,000 events, appended in
// 1,000-event batches going round the streams (so one stream lies in ten
// runs spread over the log), each event of the shape of bench/event_shape.h.
// Built once under $ESTORIA_BENCH_DIR (else $TMPDIR, else /tmp) in
// file_read_bench/{estoria,sqlite,lmdb}-N and kept for later runs: a BUILT
// file marks a finished store. estoria is built with EST_SYNC_NONE and
// closed cleanly. The peers (append code of file_store_bench: durable
// transactions of 1,000 events) may be built smaller when that takes too
// long: ESTORIA_BENCH_READ_PEER_EVENTS (default N). read_all then reads
// READ_ALL = min(N, peer events) events from every store, so the three read
// the same events; the open rows always use the estoria store of N.
//
// Building 10 million events takes minutes (each store's time is printed
// on stderr); ESTORIA_BENCH_READ_EVENTS=1000000 makes a quick run. Each
// benchmark reads its store once before it is timed (warm), and the run
// wants the three stores' files to fit in memory together.
#include <fcntl.h>
#include <malloc.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <system_error>

#include "bench/bench_common.h"
#include "bench/event_shape.h"
#include "bench/peers/lmdb_events.h"
#include "bench/peers/peer_read.h"
#include "bench/peers/sqlite_events.h"
#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace estoria::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kEventsPerStream = 10000;
constexpr int64_t kDefaultEvents = 10000000;
constexpr int64_t kBuildBatchEvents = 1000;  // <= kMaxPeerEvents
constexpr size_t kReadBatch = 256;           // est_event views per est_iter_next_batch
constexpr uint64_t kLmdbMapBytes = uint64_t{16} << 30;
constexpr int kSqliteBusyTimeoutMs = 10000;
constexpr int kOpenIterations = 5;
constexpr double kMinTimeSeconds = 0.5;
constexpr char kMarkerFile[] = "BUILT";

static_assert(kEventsPerStream % kBuildBatchEvents == 0);
static_assert(kBuildBatchEvents <= kMaxPeerEvents);

// ---------------------------------------------------------------- configuration

struct Config {
  std::string root;         // the stores' parent directory
  int64_t events = 0;       // in the estoria store
  int64_t peer_events = 0;  // in each peer's store
  // The stream every read_stream row reads: present in all three stores.
  int read_stream = 0;

  int64_t read_all_events() const { return std::min(events, peer_events); }
};

Config& Cfg() {
  static Config config;
  return config;
}

enum class Target { kEstoria, kSqlite, kLmdb };

const char* TargetName(Target t) {
  switch (t) {
    case Target::kEstoria:
      return "estoria";
    case Target::kSqlite:
      return "sqlite";
    case Target::kLmdb:
      return "lmdb";
  }
  return "?";
}

int64_t EventsOf(Target t) { return t == Target::kEstoria ? Cfg().events : Cfg().peer_events; }

std::string StoreDir(Target t) { return Cfg().root + "/" + TargetName(t) + "-" + std::to_string(EventsOf(t)); }

// What BUILT holds: enough to tell a store of another size or shape.
std::string MarkerText(Target t) {
  std::ostringstream out;
  out << "events=" << EventsOf(t) << "\nevents_per_stream=" << kEventsPerStream
      << "\nbatch_events=" << kBuildBatchEvents << "\nshape=" << kEventShape << "\n";
  return out.str();
}

bool MarkerMatches(Target t) {
  std::ifstream in(StoreDir(t) + "/" + kMarkerFile);
  std::stringstream text;
  text << in.rdbuf();
  return in.is_open() && text.str() == MarkerText(t);
}

bool WriteMarker(Target t) {
  std::ofstream out(StoreDir(t) + "/" + kMarkerFile, std::ios::trunc);
  out << MarkerText(t);
  out.close();
  return out.good();
}

std::string EstError(const char* what, est_status st) {
  return std::string(what) + ": " + est_status_name(st) + ": " + est_last_error();
}

std::string FileUri(const std::string& dir) { return "file:" + dir; }

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---------------------------------------------------------------- building

// Appends the store's events in the shared order: 1,000-event batches,
// stream after stream, round and round until every stream holds
// kEventsPerStream. `append(stream)` appends one batch to stream `stream`.
template <typename AppendFn>
std::string AppendAll(Target t, AppendFn append) {
  const int streams = static_cast<int>(EventsOf(t) / kEventsPerStream);
  const int64_t rounds = kEventsPerStream / kBuildBatchEvents;
  const Clock::time_point start = Clock::now();
  for (int64_t round = 0; round < rounds; ++round) {
    for (int s = 0; s < streams; ++s) {
      std::string error = append(s);
      if (!error.empty()) return error;
    }
    std::fprintf(stderr, "file_read_bench:   %s: %" PRId64 " of %" PRId64 " events (%.0f s)\n", TargetName(t),
                 (round + 1) * streams * kBuildBatchEvents, EventsOf(t), Seconds(Clock::now() - start));
  }
  return "";
}

std::string BuildEstoria() {
  const std::string dir = StoreDir(Target::kEstoria);
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.sync_mode = EST_SYNC_NONE;
  est_store* store = nullptr;
  est_status st = est_store_open(FileUri(dir).c_str(), &options, &store);
  if (st != EST_OK) return EstError("est_store_open", st);
  // One batch, appended again and again (est_append_batch leaves it as is).
  est_batch* batch = nullptr;
  st = est_batch_new(&batch);
  if (st == EST_OK) st = AddEvents(batch, kBuildBatchEvents);
  std::string error = st != EST_OK ? EstError("building the batch", st) : "";
  if (error.empty()) {
    error = AppendAll(Target::kEstoria, [&](int s) -> std::string {
      const std::string id = StreamId(s);
      est_status a = est_append_batch(store, id.c_str(), batch, nullptr, nullptr, nullptr);
      return a == EST_OK ? "" : EstError("est_append_batch", a);
    });
  }
  est_batch_free(batch);
  if (error.empty() && (st = est_store_sync(store)) != EST_OK) error = EstError("est_store_sync", st);
  est_store_close(store);  // clean: writes the index checkpoint
  return error;
}

std::string BuildSqlite() {
  std::string error;
  std::unique_ptr<SqliteEvents> db =
      SqliteEvents::Open(StoreDir(Target::kSqlite) + "/events.db", kSqliteBusyTimeoutMs, &error);
  if (db == nullptr) return error;
  error = AppendAll(Target::kSqlite, [&](int s) -> std::string {
    std::string e;
    return db->Append(PeerStreamOf(s), PeerEvents(kBuildBatchEvents), &e) ? "" : e;
  });
  // Everything into the database file: reads then do not go through the WAL.
  if (error.empty()) db->Checkpoint(&error);
  return error;
}

std::string BuildLmdb() {
  std::string error;
  std::unique_ptr<LmdbEvents> env = LmdbEvents::Open(StoreDir(Target::kLmdb), kLmdbMapBytes, &error);
  if (env == nullptr) return error;
  return AppendAll(Target::kLmdb, [&](int s) -> std::string {
    std::string e;
    return env->Append(PeerStreamOf(s), PeerEvents(kBuildBatchEvents), &e) ? "" : e;
  });
}

// Builds target t's store from nothing unless a finished one is there.
std::string EnsureBuilt(Target t, bool force = false) {
  if (!force && MarkerMatches(t)) return "";
  const std::string dir = StoreDir(t);
  std::fprintf(stderr, "file_read_bench: building the %s store (%" PRId64 " events) in %s\n", TargetName(t),
               EventsOf(t), dir.c_str());
  RemoveDir(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "creating " + dir + ": " + ec.message();
  const Clock::time_point start = Clock::now();
  std::string error = t == Target::kEstoria ? BuildEstoria() : t == Target::kSqlite ? BuildSqlite() : BuildLmdb();
  if (error.empty() && !WriteMarker(t)) error = "writing " + dir + "/" + kMarkerFile;
  if (!error.empty()) return "building the " + std::string(TargetName(t)) + " store: " + error;
  std::fprintf(stderr, "file_read_bench: built the %s store in %.1f s\n", TargetName(t),
               Seconds(Clock::now() - start));
  return "";
}

// ---------------------------------------------------------------- open stores

// The stores the read benchmarks share, opened on first use and kept open
// between benchmarks (Google Benchmark calls a benchmark function several
// times while it settles the iteration count). Only the main thread runs
// benchmarks here, so no locking.
struct Stores {
  est_store* estoria = nullptr;
  std::unique_ptr<SqliteEvents> sqlite;
  std::unique_ptr<LmdbEvents> lmdb;
  std::set<std::string> warmed;  // "workload/target" read once already

  ~Stores() { CloseEstoria(); }
  void CloseEstoria() {
    est_store_close(estoria);
    estoria = nullptr;
  }
};

Stores& Open() {
  static Stores stores;
  return stores;
}

// Opens estoria's store for reading; a store that will not open or holds
// other than N events (built by an older engine, say) is rebuilt once.
std::string OpenEstoria() {
  Stores& s = Open();
  if (s.estoria != nullptr) return "";
  for (int attempt = 0;; ++attempt) {
    std::string error = EnsureBuilt(Target::kEstoria, attempt > 0);
    if (!error.empty()) return error;
    est_stats stats = EST_STATS_INIT;
    est_status st = est_store_open(FileUri(StoreDir(Target::kEstoria)).c_str(), nullptr, &s.estoria);
    if (st == EST_OK) st = est_store_stats(s.estoria, &stats);
    if (st == EST_OK && stats.events == Cfg().events) return "";
    error = st != EST_OK ? EstError("opening the estoria store", st)
                         : "the estoria store holds " + std::to_string(stats.events) + " events";
    s.CloseEstoria();
    if (attempt > 0) return error;
    std::fprintf(stderr, "file_read_bench: %s; rebuilding it\n", error.c_str());
  }
}

std::string OpenTarget(Target t) {
  Stores& s = Open();
  switch (t) {
    case Target::kEstoria:
      return OpenEstoria();
    case Target::kSqlite: {
      if (s.sqlite != nullptr) return "";
      std::string error = EnsureBuilt(t);
      if (error.empty()) s.sqlite = SqliteEvents::Open(StoreDir(t) + "/events.db", kSqliteBusyTimeoutMs, &error);
      return error;
    }
    case Target::kLmdb: {
      if (s.lmdb != nullptr) return "";
      std::string error = EnsureBuilt(t);
      if (error.empty()) s.lmdb = LmdbEvents::Open(StoreDir(t), kLmdbMapBytes, &error);
      return error;
    }
  }
  return "unknown target";
}

// ---------------------------------------------------------------- reading

enum class Workload { kStream, kAll };

const char* WorkloadName(Workload w) { return w == Workload::kStream ? "read_stream" : "read_all"; }

int64_t ExpectedEvents(Workload w) { return w == Workload::kStream ? kEventsPerStream : Cfg().read_all_events(); }

// Drains an estoria iterator in batches of views, touching each event's
// data where it lies; closes the iterator.
std::string DrainEstoria(est_iter* iter, PeerReadTally* tally) {
  std::array<est_event, kReadBatch> events;
  events[0] = EST_EVENT_INIT;
  est_status st;
  size_t n = 0;
  while ((st = est_iter_next_batch(iter, events.data(), events.size(), &n)) == EST_OK) {
    for (size_t i = 0; i < n; ++i) tally->Add(events[i].data, events[i].data_len);
  }
  est_iter_close(iter);
  return st == EST_END ? "" : EstError("est_iter_next_batch", st);
}

std::string ReadOnce(Target t, Workload w, PeerReadTally* tally) {
  Stores& s = Open();
  const int64_t limit = ExpectedEvents(w);
  std::string error;
  switch (t) {
    case Target::kEstoria: {
      est_iter* iter = nullptr;
      est_status st;
      if (w == Workload::kStream) {
        st = est_read_stream(s.estoria, StreamId(Cfg().read_stream).c_str(), nullptr, &iter);
      } else {
        est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
        options.count = limit;
        st = est_read_all(s.estoria, &options, &iter);
      }
      return st == EST_OK ? DrainEstoria(iter, tally) : EstError("opening the read", st);
    }
    case Target::kSqlite:
      if (w == Workload::kStream ? s.sqlite->ReadStream(PeerStreamOf(Cfg().read_stream), 0, 0, tally, &error)
                                 : s.sqlite->ReadAll(0, limit, tally, &error)) {
        return "";
      }
      return error;
    case Target::kLmdb:
      if (w == Workload::kStream ? s.lmdb->ReadStream(PeerStreamOf(Cfg().read_stream), 0, 0, tally, &error)
                                 : s.lmdb->ReadAll(0, limit, tally, &error)) {
        return "";
      }
      return error;
  }
  return "unknown target";
}

// One read, checked: the expected number of events, every one with the
// common payload.
std::string CheckedRead(Target t, Workload w, PeerReadTally* tally) {
  std::string error = ReadOnce(t, w, tally);
  if (!error.empty()) return error;
  const int64_t expected = ExpectedEvents(w);
  const uint64_t expected_sum = static_cast<uint64_t>(expected) * (kPayloadBytes + Payload()[0]);
  if (tally->events != expected || tally->checksum != expected_sum) {
    return "read " + std::to_string(tally->events) + " events (checksum " + std::to_string(tally->checksum) +
           "), expected " + std::to_string(expected) + " (" + std::to_string(expected_sum) + ")";
  }
  return "";
}

void ReadBenchmark(benchmark::State& state, Target t, Workload w) {
  std::string error = OpenTarget(t);
  const std::string key = std::string(WorkloadName(w)) + "/" + TargetName(t);
  if (error.empty() && Open().warmed.insert(key).second) {
    PeerReadTally warm;  // untimed: brings the store into memory
    error = CheckedRead(t, w, &warm);
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  int64_t events = 0;
  for (auto _ : state) {
    PeerReadTally tally;
    error = CheckedRead(t, w, &tally);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
    benchmark::DoNotOptimize(tally.checksum);
    events += tally.events;
  }
  state.SetItemsProcessed(events);
  state.counters["events_per_read"] = static_cast<double>(ExpectedEvents(w));
  state.counters["store_events"] = static_cast<double>(EventsOf(t));
}

// ---------------------------------------------------------------- opening

// This process's RssAnon (anonymous resident memory) in bytes, or -1.
int64_t RssAnonBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::strtoll(line.c_str() + 8, nullptr, 10) * 1024;
  }
  return -1;
}

// Drops the files under `dir` from the page cache (synced first: dirty
// pages would stay).
void EvictFromCache(const std::string& dir) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

void OpenBenchmark(benchmark::State& state, bool cold) {
  // The read benchmarks' handle holds the writer lock: close it (they open
  // it again when they next run), and build or check the store through it.
  std::string error = OpenEstoria();
  Open().CloseEstoria();
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const std::string dir = StoreDir(Target::kEstoria);
  const std::string uri = FileUri(dir);
  if (cold) {
    // The reads will want warming again.
    Open().warmed.erase(std::string("read_stream/estoria"));
    Open().warmed.erase(std::string("read_all/estoria"));
  } else {
    est_store* store = nullptr;  // untimed: bring the files into the cache
    if (est_store_open(uri.c_str(), nullptr, &store) == EST_OK) est_store_close(store);
  }
  int64_t events = 0, max_grown = 0;
  for (auto _ : state) {
    if (cold) EvictFromCache(dir);
    ::malloc_trim(0);  // what earlier closes freed is not counted as the open's
    const int64_t before = RssAnonBytes();
    const Clock::time_point start = Clock::now();
    est_store* store = nullptr;
    est_stats stats = EST_STATS_INIT;
    est_status st = est_store_open(uri.c_str(), nullptr, &store);
    if (st == EST_OK) st = est_store_stats(store, &stats);
    const double seconds = Seconds(Clock::now() - start);
    ::malloc_trim(0);  // untimed: heap the open freed again is not the index
    const int64_t after = RssAnonBytes();
    state.SetIterationTime(seconds);
    est_store_close(store);
    if (st != EST_OK) {
      state.SkipWithError(EstError("est_store_open + est_store_stats", st).c_str());
      break;
    }
    events = stats.events;
    max_grown = std::max(max_grown, after - before);
  }
  state.counters["events"] = static_cast<double>(events);
  if (events > 0) {
    state.counters["index_bytes_per_event"] = static_cast<double>(max_grown) / static_cast<double>(events);
  }
  state.counters["rss_anon_grown_MiB"] = static_cast<double>(max_grown) / (1024.0 * 1024.0);
}

// ---------------------------------------------------------------- setup

// Reads a count from the environment: `fallback` when unset; rounded down to
// whole streams; at least one stream.
int64_t EventsFromEnv(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  int64_t n = fallback;
  if (text != nullptr && *text != '\0') n = std::strtoll(text, nullptr, 10);
  const int64_t rounded = std::max<int64_t>(kEventsPerStream, n / kEventsPerStream * kEventsPerStream);
  if (rounded != n) {
    std::fprintf(stderr, "file_read_bench: %s=%" PRId64 " taken as %" PRId64 " (whole streams of %" PRId64 ")\n",
                 name, n, rounded, kEventsPerStream);
  }
  return rounded;
}

bool SetUp() {
  Config& c = Cfg();
  c.events = EventsFromEnv("ESTORIA_BENCH_READ_EVENTS", kDefaultEvents);
  c.peer_events = std::min(c.events, EventsFromEnv("ESTORIA_BENCH_READ_PEER_EVENTS", c.events));
  c.read_stream = static_cast<int>(c.read_all_events() / kEventsPerStream / 2);
  c.root = BenchBaseDir() + "/file_read_bench";
  std::error_code ec;
  fs::create_directories(c.root, ec);
  const long magic = FsMagic(c.root);
  if (ec || magic == -1) {
    std::fprintf(stderr, "file_read_bench: cannot use %s\n", c.root.c_str());
    return false;
  }
  if (magic == kTmpfsMagic) {
    std::fprintf(stderr, "file_read_bench: warning: %s is on tmpfs: the cold open reads memory\n", c.root.c_str());
  }
  if (c.peer_events < c.events) {
    std::fprintf(stderr,
                 "file_read_bench: the peers hold %" PRId64 " events, estoria %" PRId64
                 " (ESTORIA_BENCH_READ_PEER_EVENTS); read_all reads %" PRId64 " from each\n",
                 c.peer_events, c.events, c.read_all_events());
  }
  AddSetupContext(c.root, magic);
  benchmark::AddCustomContext("estoria_events", std::to_string(c.events));
  benchmark::AddCustomContext("peer_events", std::to_string(c.peer_events));
  benchmark::AddCustomContext("read_all_events", std::to_string(c.read_all_events()));
  benchmark::AddCustomContext("events_per_stream", std::to_string(kEventsPerStream));
  benchmark::AddCustomContext("layout", "streams of " + std::to_string(kEventsPerStream) + " events, appended in " +
                                            std::to_string(kBuildBatchEvents) +
                                            "-event batches round the streams");
  return true;
}

void RegisterAll() {
  benchmark::RegisterBenchmark("open/estoria_cold", OpenBenchmark, true)
      ->UseManualTime()
      ->Iterations(kOpenIterations)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("open/estoria", OpenBenchmark, false)
      ->UseManualTime()
      ->Iterations(kOpenIterations)
      ->Unit(benchmark::kMillisecond);
  for (Workload w : {Workload::kStream, Workload::kAll}) {
    for (Target t : {Target::kEstoria, Target::kSqlite, Target::kLmdb}) {
      std::string name = std::string(WorkloadName(w)) + "/" + TargetName(t);
      benchmark::RegisterBenchmark(name.c_str(), ReadBenchmark, t, w)
          ->UseRealTime()
          ->MinTime(kMinTimeSeconds)
          ->Unit(w == Workload::kStream ? benchmark::kMicrosecond : benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace estoria::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!estoria::bench::SetUp()) return 1;
  estoria::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  estoria::bench::Open().CloseEstoria();
  return 0;
}
