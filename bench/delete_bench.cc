// delete_bench (Google Benchmark): what a truncation costs as the store
// grows. Each iteration appends 10 events to one stream (not timed) and
// truncates the stream to its tip (timed), among `events` other events in
// 1,000 streams, on the memory store and on the file store (sync none: the
// index's cost, not the disk's). A deletion removes its events from the global
// order lazily (core/store/entry_list.h, PendingRemovals), so the cost should
// not grow with the store: compare the rows of one backend with each other.
// truncate_then_read_all adds the global read that applies what is pending.
//
//   build/release/bench/delete_bench
#include <cstdint>
#include <string>

#include "bench/bench_common.h"
#include "bench/event_shape.h"
#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace estoria::bench {
namespace {

constexpr int kBackgroundStreams = 1000;
constexpr int kTruncatedStream = 1 << 20;  // a stream number no background stream has
constexpr int64_t kEventsPerRound = 10;

bool Append(benchmark::State& state, est_store* store, const std::string& stream, int64_t n) {
  est_batch* batch = nullptr;
  est_status st = est_batch_new(&batch);
  if (st == EST_OK) st = AddEvents(batch, n);
  if (st == EST_OK) st = est_append_batch(store, stream.c_str(), batch, nullptr, nullptr, nullptr);
  est_batch_free(batch);
  if (st != EST_OK) state.SkipWithError(est_last_error());
  return st == EST_OK;
}

// Opens a fresh store of `backend` holding `events` events in 1,000 streams;
// *dir is its directory (file) to remove afterwards.
est_store* OpenFilled(benchmark::State& state, const std::string& backend, int64_t events, std::string* dir) {
  std::string uri = "memory:";
  if (backend == "file") {
    *dir = BenchBaseDir() + "/delete_bench_" + std::to_string(events);
    RemoveDir(*dir);
    uri = "file:" + *dir;
  }
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.sync_mode = EST_SYNC_NONE;
  est_store* store = nullptr;
  if (est_store_open(uri.c_str(), &options, &store) != EST_OK) {
    state.SkipWithError(est_last_error());
    return nullptr;
  }
  for (int64_t i = 0; i < events / 100; ++i) {
    if (!Append(state, store, StreamId(static_cast<int>(i % kBackgroundStreams)), 100)) break;
  }
  return store;
}

void CloseAndRemove(est_store* store, const std::string& dir) {
  est_store_close(store);
  if (!dir.empty()) RemoveDir(dir);
}

// One truncation of 10 events per iteration; with `read_after`, followed by
// a global read of the newest event, as a projection polling the store after
// each deletion would do (the read applies the pending removal to the global
// order).
void Truncate(benchmark::State& state, const std::string& backend, bool read_after) {
  std::string dir;
  est_store* store = OpenFilled(state, backend, state.range(0), &dir);
  if (store == nullptr) return;
  const std::string stream = StreamId(kTruncatedStream);
  int64_t tip = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const bool appended = Append(state, store, stream, kEventsPerRound);
    tip += kEventsPerRound;
    state.ResumeTiming();
    if (!appended) break;
    est_status st = est_delete_stream(store, stream.c_str(), tip);
    if (st == EST_OK && read_after) {
      est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
      options.count = 1;
      est_iter* iter = nullptr;
      st = est_read_all(store, &options, &iter);
      est_iter_close(iter);
    }
    if (st != EST_OK) {
      state.SkipWithError(est_last_error());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  CloseAndRemove(store, dir);
}

void Register() {
  for (const char* backend : {"memory", "file"}) {
    for (bool read_after : {false, true}) {
      const std::string name = std::string(read_after ? "truncate_then_read_all/" : "truncate/") + backend;
      benchmark::RegisterBenchmark(name.c_str(), Truncate, std::string(backend), read_after)
          ->ArgName("events")
          ->Arg(10'000)
          ->Arg(100'000)
          ->Arg(1'000'000)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace estoria::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  estoria::bench::Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
