// projection_bench (Google Benchmark): the projection engine through the C
// ABI, with a C handler, on the file store (doc/data-model.md "Projections").
//
//   catchup/<mode>/cadence:<c>  a fresh projection catching up over
//                      1,000,000 events of the common shape (bench/event_shape.h)
//                      already in a file store (sync always): events/s
//                      through the handler until the report says caught_up.
//                      mode = at_least_once | exactly_once; cadence = call
//                      (a checkpoint per handler call of 4096 events) or end
//                      (checkpoint_every 1,000,000: one at the end of the run).
//                      The exactly-once handler appends one output event per
//                      call (a running count and byte sum) that commits with
//                      the checkpoint; the at-least-once one computes the same
//                      and writes nothing.
//   follow_16_writers/<mode>  a projection following 16 threads appending
//                      durably (sync always) for 2 s: appended/s, handled/s,
//                      max and final lag in positions.
//
// The 1,000,000-event store is built once per run under $ESTORIA_BENCH_DIR
// (bench_common.h). The same event shape is what the Go binding's
// comparison with Estoria's processor writes: build the store with
// AppendCommonShape and run catchup there.
#define EST_EXPERIMENTAL
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace {

using estoria::bench::AddEvents;

constexpr int64_t kCatchUpEvents = 1'000'000;
constexpr uint32_t kBatch = 4096;

[[noreturn]] void Die(const char* what, est_status st) {
  std::fprintf(stderr, "%s: %s: %s\n", what, est_status_name(st), est_last_error());
  std::exit(1);
}

std::string TempDir(const char* tag) {
  std::string tmpl = estoria::bench::BenchBaseDir() + "/est-projbench-" + tag + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return tmpl;
}

// This process's CPU time (user + system) in seconds, minus `since`.
double CpuSeconds(double since) {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9 - since;
}

est_store* Open(const std::string& uri, int32_t sync_mode) {
  est_store_options o = EST_STORE_OPTIONS_INIT;
  o.sync_mode = sync_mode;
  est_store* store = nullptr;
  if (est_status st = est_store_open(uri.c_str(), &o, &store); st != EST_OK) Die("est_store_open", st);
  return store;
}

// Appends `n` events of the common shape in batches of 1000 over 100 streams.
void AppendCommonShape(est_store* store, int64_t n) {
  est_batch* batch = nullptr;
  est_batch_new(&batch);
  if (est_status st = AddEvents(batch, 1000); st != EST_OK) Die("est_batch_add", st);
  for (int64_t i = 0; i < n / 1000; ++i) {
    const std::string stream = estoria::bench::StreamId(static_cast<int>(i % 100));
    if (est_status st = est_append_batch(store, stream.c_str(), batch, nullptr, nullptr, nullptr); st != EST_OK) {
      Die("est_append_batch", st);
    }
  }
  est_batch_free(batch);
}

// The store of kCatchUpEvents events, built on first use, removed at exit.
// The path is never destroyed: a static string, constructed after the
// atexit call, would be destroyed before it ran, and the store was left
// behind (232 MB a run).
const std::string& CatchUpStore() {
  static const std::string* const dir = [] {
    std::string d = TempDir("catchup");
    est_store* store = Open("file:" + d, EST_SYNC_NONE);
    AppendCommonShape(store, kCatchUpEvents);
    if (est_status st = est_store_sync(store); st != EST_OK) Die("est_store_sync", st);
    est_store_close(store);
    estoria::bench::AddSetupContext(d, estoria::bench::FsMagic(d));
    std::atexit([] { estoria::bench::RemoveDir(*dir); });
    return new std::string(std::move(d));
  }();
  return *dir;
}

// The handler's work: a count and a byte sum of the inputs; in exactly-once
// mode one output event per call carrying them (no filter: the handler
// passes over its own outputs, so both modes read the same log unfiltered).
struct Totals {
  int64_t events = 0;
  int64_t bytes = 0;
  int64_t last_position = 0;
  std::atomic<int64_t> handled_position{0};
  const char* output_stream = "totals_0190f3c4-8d1e-7c3a-9b2f-00000000ffff";
};

est_status Handle(void* user, const est_event* events, size_t count, est_txn* tx) {
  auto* t = static_cast<Totals*>(user);
  const int64_t before = t->events;
  for (size_t i = 0; i < count; ++i) {
    // Its own outputs (exactly once) come back through the global order.
    if (events[i].type[0] == 't' && std::strcmp(events[i].type, "totals") == 0) continue;
    t->bytes += static_cast<int64_t>(events[i].data_len);
    ++t->events;
  }
  t->last_position = events[count - 1].global_position;
  if (tx != nullptr && t->events > before) {
    int64_t out[2] = {t->events, t->bytes};
    est_batch* batch = nullptr;
    if (est_batch_new(&batch) != EST_OK) return EST_ERR_NO_MEMORY;
    est_status s = est_batch_add(batch, "totals", out, sizeof out, nullptr);
    if (s == EST_OK) s = est_txn_append(tx, t->output_stream, batch, nullptr);
    est_batch_free(batch);
    if (s != EST_OK) return s;
  }
  t->handled_position.store(t->last_position, std::memory_order_relaxed);
  return EST_OK;
}

est_projection* NewProjection(est_store* store, Totals* totals, int32_t version, bool exactly_once,
                              uint32_t checkpoint_every) {
  est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
  h.name = "bench_totals";
  h.version = version;
  h.user = totals;
  h.handle = &Handle;
  est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
  o.batch_max = kBatch;
  o.checkpoint_every = checkpoint_every;
  o.flags = exactly_once ? EST_PROJECTION_EXACTLY_ONCE : 0;
  est_projection* p = nullptr;
  if (est_status st = est_projection_new(store, &h, &o, &p); st != EST_OK) Die("est_projection_new", st);
  return p;
}

void CatchUp(benchmark::State& state, bool exactly_once, uint32_t checkpoint_every) {
  const std::string& dir = CatchUpStore();
  est_store* store = Open("file:" + dir, EST_SYNC_ALWAYS);
  static int32_t version = 0;
  int64_t handled = 0;
  const double cpu_start = CpuSeconds(0);
  for (auto _ : state) {
    Totals totals;
    est_projection* p = NewProjection(store, &totals, ++version, exactly_once, checkpoint_every);
    est_projection_report r = EST_PROJECTION_REPORT_INIT;
    // Budget 0: everything ready, never waiting for a commit.
    do {
      if (est_status st = est_projection_run(p, 0, &r); st != EST_OK) Die("est_projection_run", st);
    } while (r.caught_up == 0);
    if (totals.events != kCatchUpEvents) {
      std::fprintf(stderr, "handled %lld events, not %lld\n", static_cast<long long>(totals.events),
                   static_cast<long long>(kCatchUpEvents));
      std::exit(1);
    }
    handled += totals.events;
    est_projection_free(p);
  }
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(handled), benchmark::Counter::kIsRate);
  // The engine's own cost, apart from the machine's other load.
  state.counters["events_per_cpu_s"] = static_cast<double>(handled) / CpuSeconds(cpu_start);
  est_store_close(store);
}

void Follow16Writers(benchmark::State& state, bool exactly_once) {
  constexpr int kWriters = 16;
  const auto kRun = std::chrono::seconds(2);
  for (auto _ : state) {
    const std::string dir = TempDir("follow");
    est_store* store = Open("file:" + dir, EST_SYNC_ALWAYS);
    Totals totals;
    est_projection* p = NewProjection(store, &totals, 1, exactly_once, 0);
    std::atomic<bool> stop{false};
    std::atomic<int64_t> appended{0}, last_position{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        const std::string stream = estoria::bench::StreamId(w);
        est_batch* batch = nullptr;
        est_batch_new(&batch);
        AddEvents(batch, 1);
        while (!stop.load(std::memory_order_relaxed)) {
          est_append_result r = EST_APPEND_RESULT_INIT;
          if (est_status st = est_append_batch(store, stream.c_str(), batch, nullptr, &r, nullptr); st != EST_OK) {
            Die("append", st);
          }
          appended.fetch_add(1, std::memory_order_relaxed);
          int64_t seen = last_position.load(std::memory_order_relaxed);
          while (r.last_position > seen && !last_position.compare_exchange_weak(seen, r.last_position)) {
          }
        }
        est_batch_free(batch);
      });
    }
    int64_t max_lag = 0;
    const auto begin = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - begin < kRun) {
      est_projection_report r = EST_PROJECTION_REPORT_INIT;
      if (est_status st = est_projection_run(p, 10'000, &r); st != EST_OK) Die("est_projection_run", st);
      max_lag = std::max(max_lag, last_position.load() - totals.handled_position.load());
    }
    stop.store(true);
    for (std::thread& t : writers) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const int64_t final_lag = last_position.load() - totals.handled_position.load();
    state.counters["appended_per_s"] = static_cast<double>(appended.load()) / seconds;
    state.counters["handled_per_s"] = static_cast<double>(totals.events) / seconds;
    state.counters["max_lag_positions"] = static_cast<double>(max_lag);
    state.counters["lag_at_stop_positions"] = static_cast<double>(final_lag);
    est_projection_free(p);
    est_store_close(store);
    estoria::bench::RemoveDir(dir);
  }
}

void Register() {
  for (bool exactly_once : {false, true}) {
    const std::string mode = exactly_once ? "exactly_once" : "at_least_once";
    benchmark::RegisterBenchmark(("catchup/" + mode + "/cadence:call").c_str(), CatchUp, exactly_once, 0u)
        ->Iterations(3)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("catchup/" + mode + "/cadence:end").c_str(), CatchUp, exactly_once,
                                 static_cast<uint32_t>(kCatchUpEvents))
        ->Iterations(3)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (bool exactly_once : {false, true}) {
    benchmark::RegisterBenchmark(exactly_once ? "follow_16_writers/exactly_once" : "follow_16_writers/at_least_once",
                                 Follow16Writers, exactly_once)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
