// file_store_bench: the file store ("file:DIR" through the C ABI) against
// two peers on the same disk in one run: SQLite used the way Estoria's Go
// SQLite event store uses it (bench/peers/sqlite_events.h) and an LMDB event
// store (bench/peers/lmdb_events.h); plus what the disk itself does
// (fdatasync of a 4 KiB append, durable sequential writes) so that every
// figure can also be stated against the hardware. bench/file_ratios.py reads
// the JSON output and prints the figures and the ratios.
//
// Names are WORKLOAD/TARGET[/...]; Google Benchmark adds /min_time, /real_time
// and /threads:N:
//   durable_append/{estoria,sqlite,lmdb}/.../threads:{1,4,16}
//       one event per call, durable before the call returns; every thread its
//       own stream, all sharing one store (SQLite: one connection per thread
//       with busy_timeout). items/s = events/s; p50_us/p99_us = latency of
//       one call (the threads:1 rows are "a single durable append").
//   bulk_append_1000/{estoria,estoria_sync_none,sqlite,lmdb}/.../threads:{1,2,4}
//       1,000-event batches, one append (transaction) per batch. items/s =
//       events/s; bytes/s (threads:1) and bytes_per_event from the store's
//       growth on disk (estoria: est_store_stats().bytes; SQLite: the
//       database file after a WAL checkpoint; LMDB: pages in use). One
//       thread's call returns only once its batch is durable, so it cannot
//       build its next batch while the disk writes this one; with more, some
//       build while a group syncs, and groups of several batches share one
//       fdatasync.
//   baseline/fdatasync_4KiB      pwrite 4 KiB into a zero-filled, synced
//                                file, then fdatasync (ops/s, p50/p99); run
//                                first and again last (fdatasync_4KiB_again)
//   baseline/seq_write_{256KiB,1MiB}  append a chunk, then fdatasync (bytes/s)
//
// Every event: a 100-byte payload, type "deposited", content type
// "application/octet-stream", two metadata pairs (correlation_id, user); the
// same shape as estoria_bench. Every benchmark run gets a fresh directory
// under $ESTORIA_BENCH_DIR (default $TMPDIR, else /tmp), never on tmpfs.
// All timings are wall-clock (UseRealTime): the work is waiting on the disk.
//
// A run takes about 30 s (each benchmark runs >= 0.5 s). The disk is noisy
// (a virtual disk on a shared host): use --benchmark_repetitions=3 and read
// the medians. On a machine busy with other work, a thread woken by a
// finished fdatasync waits for a CPU (4 ms ticks here) and every figure
// becomes the scheduler's; as root, `chrt -f 5 file_store_bench ...` takes
// that out. The fdatasync_4KiB rows (first and last) show which case a run
// was: tens of microseconds, or milliseconds.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "bench/bench_common.h"
#include "bench/event_shape.h"
#include "bench/peers/lmdb_events.h"
#include "bench/peers/peer_event.h"
#include "bench/peers/sqlite_events.h"
#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace estoria::bench {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBulkEvents = 1000;
constexpr double kMinTimeSeconds = 0.5;
constexpr int kSqliteBusyTimeoutMs = 10000;
constexpr uint64_t kLmdbMapBytes = uint64_t{8} << 30;
constexpr off_t kBaselineFileBytes = off_t{64} << 20;
constexpr size_t kBaselineWriteBytes = 4096;
// Latency samples reserved up front (they grow past it if need be), so that
// the timed loop does not reallocate in the common case.
constexpr int64_t kMaxReserve = int64_t{1} << 20;

// A peer appends its batches from PeerEvents (bench/bench_common.h).
static_assert(kBulkEvents <= kMaxPeerEvents);

// ---------------------------------------------------------------- directories

// The root under which every run makes its directory; set by main.
std::string& Root() {
  static std::string root;
  return root;
}

// A new, empty directory for one benchmark run.
std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string dir = Root() + "/" + name + "-" + std::to_string(counter++);
  RemoveDir(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir;
}

// ---------------------------------------------------------------- targets

// A store under test, shared by all threads of a run. Open runs on one
// thread before the others start; Append from every thread at once (thread
// t writes its own stream); StoredBytes when no append runs.
class Target {
 public:
  virtual ~Target() = default;
  // Returns "" or what went wrong.
  virtual std::string Open(const std::string& dir, int threads) = 0;
  virtual bool Append(int thread, int64_t events, std::string* error) = 0;
  virtual int64_t StoredBytes() = 0;
};

// Thread t writes stream t.
std::vector<PeerStream> PeerStreams(int threads) {
  std::vector<PeerStream> streams;
  for (int t = 0; t < threads; ++t) streams.push_back(PeerStreamOf(t));
  return streams;
}

class EstoriaTarget : public Target {
 public:
  explicit EstoriaTarget(int32_t sync_mode) : sync_mode_(sync_mode) {}
  ~EstoriaTarget() override { est_store_close(store_); }

  std::string Open(const std::string& dir, int threads) override {
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.sync_mode = sync_mode_;
    // ESTORIA_BENCH_FILE_SETTINGS: file store settings to try, e.g.
    // "preallocate_bytes=0" (see core/store/open_store.cc).
    const char* settings = std::getenv("ESTORIA_BENCH_FILE_SETTINGS");
    std::string uri = "file:" + dir;
    if (settings != nullptr && *settings != '\0') uri.append("?").append(settings);
    est_status st = est_store_open(uri.c_str(), &options, &store_);
    if (st != EST_OK) return Error("est_store_open", st);
    for (int t = 0; t < threads; ++t) streams_.push_back(StreamId(t));
    return "";
  }

  // Builds the batch and appends it: the whole cost a C caller pays, as in
  // estoria_bench (the peers encode their rows inside Append too).
  bool Append(int thread, int64_t events, std::string* error) override {
    est_batch* batch = nullptr;
    est_status st = est_batch_new(&batch);
    if (st == EST_OK) st = AddEvents(batch, events);
    if (st == EST_OK) st = est_append_batch(store_, streams_[static_cast<size_t>(thread)].c_str(), batch, nullptr,
                                            nullptr, nullptr);
    est_batch_free(batch);
    if (st == EST_OK) return true;
    *error = Error("est_append_batch", st);
    return false;
  }

  int64_t StoredBytes() override {
    est_stats stats = EST_STATS_INIT;
    return est_store_stats(store_, &stats) == EST_OK ? stats.bytes : 0;
  }

 private:
  static std::string Error(const char* what, est_status st) {
    return std::string(what) + ": " + est_status_name(st) + ": " + est_last_error();
  }

  const int32_t sync_mode_;
  est_store* store_ = nullptr;
  std::vector<std::string> streams_;
};

class SqliteTarget : public Target {
 public:
  std::string Open(const std::string& dir, int threads) override {
    path_ = dir + "/events.db";
    std::string error;
    for (int t = 0; t < threads; ++t) {
      std::unique_ptr<SqliteEvents> conn = SqliteEvents::Open(path_, kSqliteBusyTimeoutMs, &error);
      if (conn == nullptr) return error;
      connections_.push_back(std::move(conn));
    }
    streams_ = PeerStreams(threads);
    return "";
  }

  bool Append(int thread, int64_t events, std::string* error) override {
    const size_t t = static_cast<size_t>(thread);
    return connections_[t]->Append(streams_[t], PeerEvents(events), error);
  }

  int64_t StoredBytes() override {
    std::string error;
    connections_[0]->Checkpoint(&error);
    return FileSize(path_) + FileSize(path_ + "-wal");
  }

 private:
  std::string path_;
  std::vector<std::unique_ptr<SqliteEvents>> connections_;
  std::vector<PeerStream> streams_;
};

class LmdbTarget : public Target {
 public:
  std::string Open(const std::string& dir, int threads) override {
    std::string error;
    env_ = LmdbEvents::Open(dir, kLmdbMapBytes, &error);
    if (env_ == nullptr) return error;
    streams_ = PeerStreams(threads);
    return "";
  }

  bool Append(int thread, int64_t events, std::string* error) override {
    return env_->Append(streams_[static_cast<size_t>(thread)], PeerEvents(events), error);
  }

  int64_t StoredBytes() override { return env_->BytesInUse(); }

 private:
  std::unique_ptr<LmdbEvents> env_;
  std::vector<PeerStream> streams_;
};

using TargetFactory = std::function<std::unique_ptr<Target>()>;

// ---------------------------------------------------------------- measuring

using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The q-quantile (0..1) of `v` by the nearest-rank method; sorts `v`.
double Quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void SetLatencyCounters(benchmark::State& state, std::vector<double>& micros) {
  state.counters["p50_us"] = Quantile(micros, 0.50);
  state.counters["p99_us"] = Quantile(micros, 0.99);
}

// What the threads of one run share. Benchmarks run one at a time, so one
// instance serves them all; thread 0 fills it before the threads' loops
// start (Google Benchmark holds them at a barrier until then) and reads it
// after they end (another barrier).
struct Run {
  std::string dir;
  std::unique_ptr<Target> target;
  std::vector<std::vector<double>> latencies;  // per thread, microseconds
  int64_t bytes_before = 0;
};

Run& Shared() {
  static Run run;
  return run;
}

// Appends `events_per_call` events per iteration from every thread.
void AppendBenchmark(benchmark::State& state, const std::string& name, const TargetFactory& make,
                     int64_t events_per_call) {
  Run& run = Shared();
  const int thread = state.thread_index();
  if (thread == 0) {
    run = Run();
    run.dir = FreshDir(name);
    run.target = make();
    std::string error = run.target->Open(run.dir, state.threads());
    if (!error.empty()) {
      run.target.reset();
      state.SkipWithError(error.c_str());
    } else {
      run.latencies.resize(static_cast<size_t>(state.threads()));
      const int64_t reserve = std::min<int64_t>(state.max_iterations, kMaxReserve);
      for (auto& v : run.latencies) v.reserve(static_cast<size_t>(reserve));
      run.bytes_before = run.target->StoredBytes();
    }
  }
  std::string error;
  for (auto _ : state) {
    if (run.target == nullptr) {
      state.SkipWithError("the store did not open");
      break;
    }
    Clock::time_point start = Clock::now();
    bool ok = run.target->Append(thread, events_per_call, &error);
    run.latencies[static_cast<size_t>(thread)].push_back(Micros(Clock::now() - start));
    if (!ok) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  const int64_t events = static_cast<int64_t>(state.iterations()) * events_per_call;
  state.SetItemsProcessed(events);
  if (thread != 0 || run.target == nullptr) return;

  // Thread 0 alone, after every thread's loop: counters set here are not
  // summed with other threads' (they set none).
  std::vector<double> all;
  for (const auto& v : run.latencies) all.insert(all.end(), v.begin(), v.end());
  SetLatencyCounters(state, all);
  const int64_t total_events = static_cast<int64_t>(all.size()) * events_per_call;
  const int64_t grown = run.target->StoredBytes() - run.bytes_before;
  if (total_events > 0) {
    state.counters["bytes_per_event"] = static_cast<double>(grown) / static_cast<double>(total_events);
  }
  if (state.threads() == 1) state.SetBytesProcessed(grown);
  run.target.reset();
  RemoveDir(run.dir);
}

// ---------------------------------------------------------------- baseline

// An fd closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool WriteAll(int fd, const void* buf, size_t len, off_t offset) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

bool SyncDir(const std::string& dir) {
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  return d.fd >= 0 && ::fsync(d.fd) == 0;
}

void SkipWithErrno(benchmark::State& state, const char* what) {
  std::string msg = std::string(what) + ": " + std::strerror(errno);
  state.SkipWithError(msg.c_str());
}

// The cost of durability on this disk, as a store that preallocates sees it:
// 4 KiB written into a file already zero-filled and synced, then fdatasync.
void BaselineFdatasync(benchmark::State& state) {
  const std::string dir = FreshDir("baseline_fdatasync");
  const std::string path = dir + "/prealloc";
  Fd f{::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (f.fd < 0) return SkipWithErrno(state, "open");
  std::vector<char> zeros(size_t{1} << 20, 0);
  for (off_t off = 0; off < kBaselineFileBytes; off += static_cast<off_t>(zeros.size())) {
    if (!WriteAll(f.fd, zeros.data(), zeros.size(), off)) return SkipWithErrno(state, "preallocating");
  }
  if (::fsync(f.fd) != 0 || !SyncDir(dir)) return SkipWithErrno(state, "fsync");

  std::vector<char> block(kBaselineWriteBytes, 'x');
  std::vector<double> micros;
  micros.reserve(static_cast<size_t>(std::min<int64_t>(state.max_iterations, kMaxReserve)));
  off_t offset = 0;
  for (auto _ : state) {
    Clock::time_point start = Clock::now();
    if (!WriteAll(f.fd, block.data(), block.size(), offset) || ::fdatasync(f.fd) != 0) {
      SkipWithErrno(state, "pwrite+fdatasync");
      break;
    }
    micros.push_back(Micros(Clock::now() - start));
    // Past the preallocated end, start over: still overwrites of written blocks.
    offset = (offset + static_cast<off_t>(block.size())) % kBaselineFileBytes;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  SetLatencyCounters(state, micros);
  RemoveDir(dir);
}

// Durable sequential write bandwidth: append `chunk` bytes to a growing
// file, fdatasync, repeat.
void BaselineSequentialWrite(benchmark::State& state, size_t chunk) {
  const std::string dir = FreshDir("baseline_seq");
  const std::string path = dir + "/sequential";
  Fd f{::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  if (f.fd < 0) return SkipWithErrno(state, "open");
  if (!SyncDir(dir)) return SkipWithErrno(state, "fsync");
  std::vector<char> data(chunk, 'x');
  off_t offset = 0;
  for (auto _ : state) {
    if (!WriteAll(f.fd, data.data(), data.size(), offset) || ::fdatasync(f.fd) != 0) {
      SkipWithErrno(state, "pwrite+fdatasync");
      break;
    }
    offset += static_cast<off_t>(chunk);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(chunk));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  RemoveDir(dir);
}

// ---------------------------------------------------------------- registration

void RegisterAll() {
  benchmark::RegisterBenchmark("baseline/fdatasync_4KiB", BaselineFdatasync)
      ->UseRealTime()
      ->MinTime(kMinTimeSeconds)
      ->Unit(benchmark::kMicrosecond);
  for (size_t chunk : {size_t{256} << 10, size_t{1} << 20}) {
    std::string name = "baseline/seq_write_" + (chunk >= (size_t{1} << 20) ? std::to_string(chunk >> 20) + "MiB"
                                                                          : std::to_string(chunk >> 10) + "KiB");
    benchmark::RegisterBenchmark(name.c_str(), BaselineSequentialWrite, chunk)
        ->UseRealTime()
        ->MinTime(kMinTimeSeconds)
        ->Unit(benchmark::kMicrosecond);
  }

  struct Named {
    const char* name;
    TargetFactory make;
  };
  const Named durable[] = {
      {"sqlite", [] { return std::make_unique<SqliteTarget>(); }},
      {"lmdb", [] { return std::make_unique<LmdbTarget>(); }},
      {"estoria", [] { return std::make_unique<EstoriaTarget>(EST_SYNC_ALWAYS); }},
  };
  for (const Named& t : durable) {
    std::string name = std::string("durable_append/") + t.name;
    benchmark::RegisterBenchmark(name.c_str(), AppendBenchmark, "durable_" + std::string(t.name), t.make, 1)
        ->Threads(1)
        ->Threads(4)
        ->Threads(16)
        ->UseRealTime()
        ->MinTime(kMinTimeSeconds)
        ->Unit(benchmark::kMicrosecond);
  }
  const Named bulk[] = {
      durable[0],
      durable[1],
      durable[2],
      {"estoria_sync_none", [] { return std::make_unique<EstoriaTarget>(EST_SYNC_NONE); }},
  };
  for (const Named& t : bulk) {
    std::string name = "bulk_append_" + std::to_string(kBulkEvents) + "/" + t.name;
    benchmark::RegisterBenchmark(name.c_str(), AppendBenchmark, "bulk_" + std::string(t.name), t.make, kBulkEvents)
        ->Threads(1)
        ->Threads(2)
        ->Threads(4)
        ->UseRealTime()
        ->MinTime(kMinTimeSeconds)
        ->Unit(benchmark::kMillisecond);
  }
  // The disk again, last: other work on the machine shows as a difference
  // between the two.
  benchmark::RegisterBenchmark("baseline/fdatasync_4KiB_again", BaselineFdatasync)
      ->UseRealTime()
      ->MinTime(kMinTimeSeconds)
      ->Unit(benchmark::kMicrosecond);
}

// Picks the root directory and refuses tmpfs, where fdatasync costs nothing.
bool SetUpRoot() {
  Root() = BenchBaseDir() + "/file_store_bench." + std::to_string(::getpid());
  std::error_code ec;
  fs::create_directories(Root(), ec);
  const long magic = FsMagic(Root());
  if (ec || magic == -1) {
    std::fprintf(stderr, "file_store_bench: cannot use %s\n", Root().c_str());
    return false;
  }
  if (magic == kTmpfsMagic) {
    std::fprintf(stderr, "file_store_bench: %s is on tmpfs; set ESTORIA_BENCH_DIR to a directory on a real disk\n",
                 Root().c_str());
    RemoveDir(Root());
    return false;
  }
  AddSetupContext(Root(), magic);
  return true;
}

}  // namespace
}  // namespace estoria::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!estoria::bench::SetUpRoot()) return 1;
  estoria::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  estoria::bench::RemoveDir(estoria::bench::Root());
  return 0;
}
