// maintain_bench (Google Benchmark): a host that owns its threads
// (EST_THREADS_NONE, doc/abi.md "Hosts"), on the file store, in one run:
//   maintain_beside_writer/BUDGET_US: a writer appends durably (one event of
//     the common shape per append) and calls est_store_maintain(BUDGET_US)
//     after each, in the same thread; the counters are the p50, p99 and max
//     duration of the maintain calls, and by how much the p99 and max
//     exceed the budget. Aim: p99 within budget + 1 ms.
//   compact_stepped / compact_whole: the same store (built once, copied),
//     half of its streams deleted, compacted by est_store_compact_schedule
//     and est_store_maintain(2 ms) until done (total time, steps, worst and
//     p99 step) beside one est_store_compact call. The store's size is
//     $ESTORIA_MAINTAIN_BENCH_MIB (default 1024).
//   durable_appends/threads:{library,none}: durable appends per second,
//     the default mode against no threads with a maintain call (100 us) after
//     each append. Aim: within 10%.
//
//   build/release/bench/maintain_bench --benchmark_counters_tabular=true
#define EST_EXPERIMENTAL 1
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/event_shape.h"
#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace estoria::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

est_store* Open(benchmark::State& state, const std::string& dir, int32_t threads, int32_t sync_mode,
                const std::string& query = "") {
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = threads;
  options.sync_mode = sync_mode;
  est_store* store = nullptr;
  if (est_store_open(("file:" + dir + query).c_str(), &options, &store) != EST_OK) {
    state.SkipWithError(est_last_error());
    return nullptr;
  }
  return store;
}

bool Append(benchmark::State& state, est_store* store, const std::string& stream, int64_t n) {
  est_batch* batch = nullptr;
  est_status st = est_batch_new(&batch);
  if (st == EST_OK) st = AddEvents(batch, n);
  if (st == EST_OK) st = est_append_batch(store, stream.c_str(), batch, nullptr, nullptr, nullptr);
  est_batch_free(batch);
  if (st != EST_OK) state.SkipWithError(est_last_error());
  return st == EST_OK;
}

// --------------------------------------------------------------- maintain

void MaintainBesideWriter(benchmark::State& state) {
  const int64_t budget_us = state.range(0);
  const std::string dir = BenchBaseDir() + "/maintain_bench_writer";
  RemoveDir(dir);
  AddSetupContext(BenchBaseDir(), FsMagic(BenchBaseDir()));
  // Small segments and checkpoints, so that rollovers and index
  // checkpoints happen within the run, beside preallocation.
  est_store* store = Open(state, dir, EST_THREADS_NONE, EST_SYNC_ALWAYS, "?segment_bytes=4194304&checkpoint_bytes=262144");
  if (store == nullptr) return;
  std::vector<double> durations;
  int64_t n = 0;
  for (auto _ : state) {
    if (!Append(state, store, StreamId(static_cast<int>(n++ % 64)), 1)) break;
    est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
    const Clock::time_point start = Clock::now();
    const est_status st = est_store_maintain(store, budget_us, &report);
    durations.push_back(Micros(Clock::now() - start));
    if (st != EST_OK) {
      state.SkipWithError(est_last_error());
      break;
    }
  }
  const double p99 = Percentile(durations, 0.99);
  const double max = durations.empty() ? 0 : *std::max_element(durations.begin(), durations.end());
  state.counters["p50_us"] = Percentile(durations, 0.50);
  state.counters["p99_us"] = p99;
  state.counters["max_us"] = max;
  state.counters["p99_over_budget_us"] = std::max(0.0, p99 - static_cast<double>(budget_us));
  state.counters["max_over_budget_us"] = std::max(0.0, max - static_cast<double>(budget_us));
  est_store_close(store);
  RemoveDir(dir);
}
BENCHMARK(MaintainBesideWriter)->Name("maintain_beside_writer")->Arg(100)->Arg(1000)->Arg(5000)
    ->Iterations(4000)->Unit(benchmark::kMicrosecond);

// ------------------------------------------------------------- compaction

constexpr int kCompactStreams = 64;
constexpr int64_t kEventsPerAppend = 100;

int64_t StoreMiB() {
  const char* mib = std::getenv("ESTORIA_MAINTAIN_BENCH_MIB");
  return mib != nullptr && *mib != '\0' ? std::atoll(mib) : 1024;
}

std::string CompactSource() { return BenchBaseDir() + "/maintain_bench_compact_source"; }

// Builds (once per run) a store of about StoreMiB() MiB whose even streams
// are wholly deleted; the copies each compaction works on are made from it.
bool BuildCompactSource(benchmark::State& state) {
  static bool built = false;
  if (built) return true;
  const std::string dir = CompactSource();
  RemoveDir(dir);
  est_store* store = Open(state, dir, EST_THREADS_LIBRARY, EST_SYNC_NONE);
  if (store == nullptr) return false;
  const int64_t target = StoreMiB() << 20;
  for (int64_t i = 0;; ++i) {
    if (!Append(state, store, StreamId(static_cast<int>(i % kCompactStreams)), kEventsPerAppend)) return false;
    if (i % 256 == 0) {
      est_stats stats = EST_STATS_INIT;
      if (est_store_stats(store, &stats) != EST_OK || stats.bytes >= target) break;
    }
  }
  for (int s = 0; s < kCompactStreams; s += 2) est_delete_stream(store, StreamId(s).c_str(), 0);
  est_store_close(store);
  built = true;
  return true;
}

std::string CopyOfSource(const std::string& name) {
  const std::string dir = BenchBaseDir() + "/maintain_bench_" + name;
  RemoveDir(dir);
  std::filesystem::copy(CompactSource(), dir, std::filesystem::copy_options::recursive);
  // The copy's gigabyte of dirty pages would otherwise be written back
  // during the compaction, and ext4 makes its fdatasyncs wait for them.
  ::sync();
  return dir;
}

void CompactStepped(benchmark::State& state) {
  if (!BuildCompactSource(state)) return;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = CopyOfSource("stepped");
    est_store* store = Open(state, dir, EST_THREADS_NONE, EST_SYNC_ALWAYS);
    if (store == nullptr) return;
    // Preallocation and the like first: only the compaction's steps count.
    est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
    do est_store_maintain(store, 1'000'000, &report); while (report.pending == 1);
    est_stats before = EST_STATS_INIT;
    est_store_stats(store, &before);
    state.ResumeTiming();
    std::vector<double> steps;
    const Clock::time_point start = Clock::now();
    if (est_store_compact_schedule(store) != EST_OK) state.SkipWithError(est_last_error());
    do {
      const Clock::time_point step = Clock::now();
      if (est_store_maintain(store, 2000, &report) != EST_OK) {
        state.SkipWithError(est_last_error());
        break;
      }
      steps.push_back(Micros(Clock::now() - step));
    } while (report.compacting == 1);
    const double total = Micros(Clock::now() - start);
    state.PauseTiming();
    est_stats after = EST_STATS_INIT;
    est_store_stats(store, &after);
    state.counters["store_mib"] = static_cast<double>(before.bytes) / (1 << 20);
    state.counters["after_mib"] = static_cast<double>(after.bytes) / (1 << 20);
    state.counters["total_ms"] = total / 1000;
    state.counters["steps"] = static_cast<double>(steps.size());
    state.counters["p50_step_us"] = Percentile(steps, 0.50);
    state.counters["p99_step_us"] = Percentile(steps, 0.99);
    state.counters["worst_step_us"] = steps.empty() ? 0 : *std::max_element(steps.begin(), steps.end());
    est_store_close(store);
    RemoveDir(dir);
    state.ResumeTiming();
  }
}
BENCHMARK(CompactStepped)->Name("compact_stepped/step_budget_us:2000")->Iterations(1)->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void CompactWhole(benchmark::State& state) {
  if (!BuildCompactSource(state)) return;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = CopyOfSource("whole");
    est_store* store = Open(state, dir, EST_THREADS_LIBRARY, EST_SYNC_ALWAYS);
    if (store == nullptr) return;
    est_stats before = EST_STATS_INIT;
    est_store_stats(store, &before);
    state.ResumeTiming();
    const Clock::time_point start = Clock::now();
    if (est_store_compact(store, nullptr, nullptr, nullptr) != EST_OK) state.SkipWithError(est_last_error());
    const double total = Micros(Clock::now() - start);
    state.PauseTiming();
    est_stats after = EST_STATS_INIT;
    est_store_stats(store, &after);
    state.counters["store_mib"] = static_cast<double>(before.bytes) / (1 << 20);
    state.counters["after_mib"] = static_cast<double>(after.bytes) / (1 << 20);
    state.counters["total_ms"] = total / 1000;
    state.counters["worst_step_us"] = total;  // one call
    est_store_close(store);
    RemoveDir(dir);
    RemoveDir(CompactSource());  // the last user of the source
    state.ResumeTiming();
  }
}
BENCHMARK(CompactWhole)->Name("compact_whole")->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ------------------------------------------------------- durable appends

void DurableAppends(benchmark::State& state) {
  const bool none = state.range(0) == 1;
  const std::string dir = BenchBaseDir() + "/maintain_bench_appends";
  RemoveDir(dir);
  est_store* store = Open(state, dir, none ? EST_THREADS_NONE : EST_THREADS_LIBRARY, EST_SYNC_ALWAYS);
  if (store == nullptr) return;
  if (none) est_store_maintain(store, 1'000'000, nullptr);  // the head start the default's thread makes at open
  int64_t n = 0;
  for (auto _ : state) {
    if (!Append(state, store, StreamId(static_cast<int>(n++ % 64)), 1)) break;
    if (none && est_store_maintain(store, 100, nullptr) != EST_OK) {
      state.SkipWithError(est_last_error());
      break;
    }
  }
  state.counters["appends_per_s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  est_store_close(store);
  RemoveDir(dir);
}
BENCHMARK(DurableAppends)->Name("durable_appends")->ArgName("threads_none")->Arg(0)->Arg(1)->Iterations(4000)
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace estoria::bench

BENCHMARK_MAIN();
