// aggregate_bench: the aggregate engine through the C ABI.
//
//   BM_AggregateFold/events:10000/{aggregate,read}
//       a load of a 10,000-event aggregate with a C apply callback, against a
//       plain est_read_stream of the same stream doing the same work per
//       event in the loop (items/s = events folded per second; the ratio is
//       what the engine costs over a read).
//   BM_AggregateSnapshotLoad/history:{1000,1000000}
//       a latest load from a snapshot with that many events behind it and 10
//       after it: should not depend on the history's length.
//   BM_AggregateSave/{memory,file_sync_always,file_sync_none}
//       append one event and save it (latency per save).
//
// Only the public header is used. h8's typed C++ layer adds its peers from
// bench/typed_aggregate_bench.cc (same executable; main is here).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace {

constexpr int64_t kFoldEvents = 10000;
constexpr size_t kPayloadBytes = 100;
constexpr char kType[] = "account";

struct Sum {
  int64_t version = 0;
  uint64_t bytes = 0;
  uint64_t check = 0;
};

// The per-event work of both fold peers: touch the version and the payload.
inline void Fold(Sum* sum, const est_event* event) {
  sum->version = event->stream_version;
  sum->bytes += event->data_len;
  sum->check += event->data_len > 0 ? event->data[0] : 0;
}

est_status NewState(void*, const est_uuid*, void** state) {
  *state = new Sum();
  return EST_OK;
}
est_status Apply(void*, void* state, const est_event* event) {
  Fold(static_cast<Sum*>(state), event);
  return EST_OK;
}
void FreeState(void*, void* state) { delete static_cast<Sum*>(state); }
est_status Encode(void*, const void* state, est_buffer* out) { return est_buffer_append(out, state, sizeof(Sum)); }
est_status Decode(void*, const uint8_t* data, size_t len, void** state) {
  if (len != sizeof(Sum)) return EST_ERR_CORRUPTION;
  auto* sum = new Sum();
  std::memcpy(sum, data, sizeof(Sum));
  *state = sum;
  return EST_OK;
}

est_aggregate_type Type() {
  est_aggregate_type type = EST_AGGREGATE_TYPE_INIT;
  type.type_name = kType;
  type.new_state = NewState;
  type.apply = Apply;
  type.free_state = FreeState;
  type.encode = Encode;
  type.decode = Decode;
  return type;
}

bool Check(benchmark::State& state, est_status s, const char* what) {
  if (s == EST_OK) return true;
  std::string message = std::string(what) + ": " + est_status_name(s) + ": " + est_last_error();
  state.SkipWithError(message.c_str());
  return false;
}

std::string IdOf(const est_uuid& uuid) {
  char buf[EST_ID_MAX_LEN];
  est_id_format(kType, &uuid, buf, sizeof buf);
  return buf;
}

// Appends `n` events of `payload` bytes to `stream` in batches.
bool Fill(benchmark::State& state, est_store* store, const std::string& stream, int64_t n, size_t payload) {
  std::vector<uint8_t> data(payload);
  for (size_t i = 0; i < payload; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  constexpr int64_t kBatch = 10000;
  for (int64_t done = 0; done < n;) {
    est_batch* batch = nullptr;
    if (!Check(state, est_batch_new(&batch), "est_batch_new")) return false;
    const int64_t take = std::min(kBatch, n - done);
    for (int64_t i = 0; i < take; ++i) est_batch_add(batch, "deposited", data.data(), data.size(), nullptr);
    est_status s = est_append_batch(store, stream.c_str(), batch, nullptr, nullptr, nullptr);
    est_batch_free(batch);
    if (!Check(state, s, "est_append_batch")) return false;
    done += take;
  }
  return true;
}

// --------------------------------------------------------------------- fold

void BM_FoldAggregate(benchmark::State& state) {
  est_store* store = nullptr;
  if (!Check(state, est_store_open("memory:", nullptr, &store), "open")) return;
  est_uuid uuid;
  est_uuid_v7(&uuid);
  est_aggregate_type type = Type();
  est_aggregate_store* astore = nullptr;
  if (Fill(state, store, IdOf(uuid), kFoldEvents, kPayloadBytes) &&
      Check(state, est_aggregate_store_new(store, &type, nullptr, &astore), "est_aggregate_store_new")) {
    for (auto _ : state) {
      est_aggregate* agg = nullptr;
      if (!Check(state, est_aggregate_load(astore, &uuid, 0, &agg), "est_aggregate_load")) break;
      benchmark::DoNotOptimize(static_cast<Sum*>(est_aggregate_state(agg))->check);
      est_aggregate_free(agg);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kFoldEvents);
  }
  est_aggregate_store_free(astore);
  est_store_close(store);
}

void BM_FoldRead(benchmark::State& state) {
  est_store* store = nullptr;
  if (!Check(state, est_store_open("memory:", nullptr, &store), "open")) return;
  est_uuid uuid;
  est_uuid_v7(&uuid);
  const std::string id = IdOf(uuid);
  if (Fill(state, store, id, kFoldEvents, kPayloadBytes)) {
    for (auto _ : state) {
      est_iter* iter = nullptr;
      if (!Check(state, est_read_stream(store, id.c_str(), nullptr, &iter), "est_read_stream")) break;
      Sum sum;
      est_event event = EST_EVENT_INIT;
      while (est_iter_next(iter, &event) == EST_OK) Fold(&sum, &event);
      est_iter_close(iter);
      benchmark::DoNotOptimize(sum.check);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kFoldEvents);
  }
  est_store_close(store);
}

// ----------------------------------------------------------------- snapshot

void BM_SnapshotLoad(benchmark::State& state) {
  const int64_t history = state.range(0);
  constexpr int64_t kAfter = 10;
  est_store* store = nullptr;
  if (!Check(state, est_store_open("memory:", nullptr, &store), "open")) return;
  est_uuid uuid;
  est_uuid_v7(&uuid);
  est_aggregate_type type = Type();
  est_aggregate_store_options options = EST_AGGREGATE_STORE_OPTIONS_INIT;
  options.snapshot_every = history;  // the save reaching `history` takes it
  est_aggregate_store* astore = nullptr;
  bool ready = Check(state, est_aggregate_store_new(store, &type, &options, &astore), "est_aggregate_store_new") &&
               Fill(state, store, IdOf(uuid), history - 1, 8);
  if (ready) {
    // The last event of the history through the engine, so that it snapshots.
    est_aggregate* agg = nullptr;
    ready = Check(state, est_aggregate_load(astore, &uuid, 0, &agg), "load") &&
            Check(state, est_aggregate_append(agg, "deposited", "12345678", 8, nullptr), "append") &&
            Check(state, est_aggregate_save(agg, nullptr), "save");
    est_aggregate_free(agg);
    ready = ready && Fill(state, store, IdOf(uuid), kAfter, 8);
  }
  if (ready) {
    est_aggregate_stats before = EST_AGGREGATE_STATS_INIT;
    est_aggregate_store_stats(astore, &before);
    for (auto _ : state) {
      est_aggregate* agg = nullptr;
      if (!Check(state, est_aggregate_load(astore, &uuid, 0, &agg), "est_aggregate_load")) break;
      benchmark::DoNotOptimize(est_aggregate_state(agg));
      est_aggregate_free(agg);
    }
    est_aggregate_stats after = EST_AGGREGATE_STATS_INIT;
    est_aggregate_store_stats(astore, &after);
    const double loads = static_cast<double>(after.loads - before.loads);
    state.counters["applied_per_load"] = loads > 0 ? (after.events_applied - before.events_applied) / loads : 0;
  }
  est_aggregate_store_free(astore);
  est_store_close(store);
}

// --------------------------------------------------------------------- save

// Saves one event per iteration on `uri`'s store; a new aggregate every 10,000.
void SaveOn(benchmark::State& state, const std::string& uri, int32_t sync_mode) {
  est_store_options store_options = EST_STORE_OPTIONS_INIT;
  store_options.sync_mode = sync_mode;
  est_store* store = nullptr;
  if (!Check(state, est_store_open(uri.c_str(), &store_options, &store), "open")) return;
  est_aggregate_type type = Type();
  est_aggregate_store* astore = nullptr;
  if (Check(state, est_aggregate_store_new(store, &type, nullptr, &astore), "est_aggregate_store_new")) {
    std::vector<uint8_t> payload(kPayloadBytes, 7);
    est_aggregate* agg = nullptr;
    int64_t saves = 0;
    for (auto _ : state) {
      if (agg == nullptr || saves % 10000 == 0) {
        est_aggregate_free(agg);
        agg = nullptr;
        est_aggregate_new(astore, nullptr, &agg);
      }
      est_aggregate_append(agg, "deposited", payload.data(), payload.size(), nullptr);
      if (!Check(state, est_aggregate_save(agg, nullptr), "est_aggregate_save")) break;
      ++saves;
    }
    est_aggregate_free(agg);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  }
  est_aggregate_store_free(astore);
  est_store_close(store);
}

void BM_SaveMemory(benchmark::State& state) { SaveOn(state, "memory:", EST_SYNC_ALWAYS); }

void SaveOnFile(benchmark::State& state, int32_t sync_mode) {
  std::string dir = (std::filesystem::temp_directory_path() / "estoria-aggbench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  SaveOn(state, "file:" + dir, sync_mode);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
void BM_SaveFileSyncAlways(benchmark::State& state) { SaveOnFile(state, EST_SYNC_ALWAYS); }
void BM_SaveFileSyncNone(benchmark::State& state) { SaveOnFile(state, EST_SYNC_NONE); }

BENCHMARK(BM_FoldAggregate)->Name("BM_AggregateFold/events:10000/aggregate")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FoldRead)->Name("BM_AggregateFold/events:10000/read")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SnapshotLoad)->Name("BM_AggregateSnapshotLoad/history")->Arg(1000)->Arg(1000000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SaveMemory)->Name("BM_AggregateSave/memory")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SaveFileSyncAlways)->Name("BM_AggregateSave/file_sync_always")->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->Iterations(2000);
BENCHMARK(BM_SaveFileSyncNone)->Name("BM_AggregateSave/file_sync_none")->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
