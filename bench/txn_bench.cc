// txn_bench (Google Benchmark): transactions and idempotent appends on the
// file store ("file:DIR" through the C ABI), peers in one run:
//
//   txn/streams:{2,4,10}/sync:{always,none}
//       one transaction appending one event to each of N streams (one
//       est_txn_commit); items/s = events/s
//   separate/streams:{2,4,10}/sync:{always,none}
//       the same N events appended stream by stream (N est_append_batch
//       calls, each durable under sync always); items/s = events/s
//     The ratio txn / separate at 10 streams, sync always, is what a
//     transaction saves (one frame, one fdatasync instead of ten).
//   append/events:{1,100}/ids:{0,1}/sync:{always,none}
//       one append (durable, or written with sync none, which takes the
//       disk's noise out of the comparison) of 1 or 100 events to a stream
//       that already holds events, without and with caller-set IDs on every
//       event (the
//       duplicate check then compares the batch with the stream's last
//       events); the ratio ids:1 / ids:0 is the check's cost. Each
//       iteration uses fresh IDs, so the check finds none and the append
//       writes (the retry path itself is cheaper: nothing is written).
//
// Every event: a 100-byte payload, type "deposited". Every run gets a fresh
// directory under $ESTORIA_BENCH_DIR (default $TMPDIR, else /tmp). All
// timings are wall-clock (UseRealTime).
#define EST_EXPERIMENTAL 1
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "bench/bench_common.h"
#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace estoria::bench {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  std::string dir = BenchBaseDir() + "/txn_bench-" + name + "-" + std::to_string(counter++);
  RemoveDir(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir;
}

// An open store in a fresh directory, removed at the end.
class Store {
 public:
  Store(const std::string& name, int32_t sync_mode) : dir_(FreshDir(name)) {
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.sync_mode = sync_mode;
    if (est_store_open(("file:" + dir_).c_str(), &options, &store_) != EST_OK) store_ = nullptr;
  }
  ~Store() {
    est_store_close(store_);
    RemoveDir(dir_);
  }
  est_store* get() { return store_; }

 private:
  std::string dir_;
  est_store* store_ = nullptr;
};

const std::string& Payload() {
  static const std::string payload(100, 'x');
  return payload;
}

// A batch of `n` events, with fresh caller-set IDs when `ids`.
est_batch* NewBatch(int n, bool ids) {
  est_batch* batch = nullptr;
  est_batch_new(&batch);
  for (int i = 0; i < n; ++i) {
    est_batch_add(batch, "deposited", Payload().data(), Payload().size(), "application/octet-stream");
    if (ids) {
      est_uuid id;
      est_uuid_v7(&id);
      est_batch_set_id(batch, &id);
    }
  }
  return batch;
}

int32_t SyncOf(int64_t arg) { return arg == 0 ? EST_SYNC_ALWAYS : EST_SYNC_NONE; }

void BM_Txn(benchmark::State& state) {
  const int streams = static_cast<int>(state.range(0));
  Store store("txn", SyncOf(state.range(1)));
  if (store.get() == nullptr) return state.SkipWithError(est_last_error());
  est_batch* batch = NewBatch(1, false);
  std::vector<est_append_result> results(static_cast<size_t>(streams));
  for (auto _ : state) {
    est_txn* txn = nullptr;
    est_txn_new(store.get(), &txn);
    for (int s = 0; s < streams; ++s) est_txn_append(txn, StreamId(s).c_str(), batch, nullptr);
    for (auto& r : results) est_append_result_init(&r);
    const est_status st = est_txn_commit(txn, results.data(), results.size());
    est_txn_free(txn);
    if (st != EST_OK) return state.SkipWithError(est_last_error());
  }
  est_batch_free(batch);
  state.SetItemsProcessed(state.iterations() * streams);
}

void BM_Separate(benchmark::State& state) {
  const int streams = static_cast<int>(state.range(0));
  Store store("separate", SyncOf(state.range(1)));
  if (store.get() == nullptr) return state.SkipWithError(est_last_error());
  est_batch* batch = NewBatch(1, false);
  for (auto _ : state) {
    for (int s = 0; s < streams; ++s) {
      if (est_append_batch(store.get(), StreamId(s).c_str(), batch, nullptr, nullptr, nullptr) != EST_OK) {
        return state.SkipWithError(est_last_error());
      }
    }
  }
  est_batch_free(batch);
  state.SetItemsProcessed(state.iterations() * streams);
}

void BM_Append(benchmark::State& state) {
  const int events = static_cast<int>(state.range(0));
  const bool ids = state.range(1) != 0;
  Store store("append", SyncOf(state.range(2)));
  if (store.get() == nullptr) return state.SkipWithError(est_last_error());
  const std::string stream = StreamId(0);
  {
    est_batch* seed = NewBatch(events, false);  // the window the check compares with exists
    est_append_batch(store.get(), stream.c_str(), seed, nullptr, nullptr, nullptr);
    est_batch_free(seed);
  }
  // Batches prepared outside the timed part: IDs fresh for every append.
  constexpr int kPrepared = 64;
  std::vector<est_batch*> batches;
  for (int i = 0; i < kPrepared; ++i) batches.push_back(NewBatch(events, ids));
  int64_t i = 0;
  for (auto _ : state) {
    est_batch* batch = batches[static_cast<size_t>(i++ % kPrepared)];
    if (i > kPrepared) {
      // A reused batch's IDs are in the stream already: new ones, untimed
      // (done with and without IDs alike, so that both pay the same pause).
      state.PauseTiming();
      est_batch_free(batch);
      batch = batches[static_cast<size_t>((i - 1) % kPrepared)] = NewBatch(events, ids);
      state.ResumeTiming();
    }
    est_append_result result = EST_APPEND_RESULT_INIT;
    if (est_append_batch(store.get(), stream.c_str(), batch, nullptr, &result, nullptr) != EST_OK ||
        result.flags != 0) {
      return state.SkipWithError("append failed or was a duplicate");
    }
  }
  for (est_batch* b : batches) est_batch_free(b);
  state.SetItemsProcessed(state.iterations() * events);
}

void TxnArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"streams", "sync"});
  for (int64_t sync : {0, 1}) {
    for (int64_t streams : {2, 4, 10}) b->Args({streams, sync});
  }
}

BENCHMARK(BM_Txn)->Name("txn")->Apply(TxnArgs)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_Separate)->Name("separate")->Apply(TxnArgs)->UseRealTime()->MinTime(0.5);
BENCHMARK(BM_Append)
    ->Name("append")
    ->ArgNames({"events", "ids", "sync"})
    ->ArgsProduct({{1, 100}, {0, 1}, {0, 1}})
    ->UseRealTime()
    ->MinTime(0.5);

}  // namespace
}  // namespace estoria::bench

BENCHMARK_MAIN();
