// estoria_bench: one workload measured at three heights of the hourglass:
// the core C++ interface (core::OpenStore + BatchBuilder + EventIterator),
// the C ABI (est_*), and the header-only SDK over the ABI. Peers run in one
// executable so that bench/ratios.py can print what each layer costs.
//
// Names put the layer last, so each set of peers sorts together:
//   BM_Append/batch:100/{capi,capi_bytes,core,sdk}   (capi: est_append_batch;
//                                                     capi_bytes: est_append of the bytes)
//   BM_AppendPrepared/batch:{1,100}/{capi,core}   (one batch built before the
//                                                 loop and appended again and
//                                                 again: the store's own cost,
//                                                 beside Estoria's memory store
//                                                 in bindings/go's bench)
//   BM_ReadStream/events:10000/views:64/{capi,core,sdk}
//   BM_ReadAll/events:10000/views:256/{capi,core,sdk}
//
// Every event: a 100-byte payload, content type "application/octet-stream",
// two metadata pairs. items/s counts events; bytes/s counts payload bytes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "core/id/id.h"
#include "core/store/event_store.h"
#include "core/store/event_view.h"
#include "core/store/writable_batch.h"
#include "bench/event_shape.h"
#include "estoria/estoria.h"
#include "estoria/estoria.hpp"
#include "schema/estoria_generated.h"

namespace estoria::bench {
namespace {

constexpr char kStream[] = "account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";

// Appends grow the store without bound; past this many events the benchmark
// reopens a fresh store (outside the timed region) so memory stays bounded.
constexpr int64_t kRecycleAfterEvents = 200000;

constexpr int64_t kReadEvents = 10000;
constexpr int64_t kReadAllStreams = 100;  // ReadAll reads kReadEvents spread over these

// The i-th stream ID for ReadAll's store: distinct UUIDs, one type.
std::string StreamId(int64_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "account_0190f3c4-8d1e-7c3a-9b2f-%012llx", static_cast<unsigned long long>(i));
  return buf;
}

// Counts `batch_size` more events into the store; once it holds
// kRecycleAfterEvents, calls reopen() (which replaces the store and says
// whether the new one is open) outside the timed region. False: stop.
template <typename Reopen>
bool RecycleWhenFull(benchmark::State& state, int64_t* in_store, int64_t batch_size, Reopen reopen) {
  if ((*in_store += batch_size) < kRecycleAfterEvents) return true;
  state.PauseTiming();
  const bool open = reopen();
  *in_store = 0;
  state.ResumeTiming();
  return open;
}

void SetCounters(benchmark::State& state, int64_t events_per_iteration) {
  const int64_t events = static_cast<int64_t>(state.iterations()) * events_per_iteration;
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(events * static_cast<int64_t>(kPayloadBytes));
}

// ---------------------------------------------------------------- the core

std::shared_ptr<core::EventStore> OpenCore(benchmark::State& state) {
  absl::StatusOr<std::shared_ptr<core::EventStore>> store = core::OpenStore("memory:", core::StoreOptions());
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(store);
}

// Adds `n` events to `builder` the way a core caller would; the caller then
// appends builder.View() (what est_append_batch does too).
absl::Status AddCoreEvents(core::BatchBuilder& builder, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    absl::Status s = builder.Add(kEventType, absl::MakeConstSpan(Payload()), kContentType);
    if (s.ok()) s = builder.AddMetadata(kMetaKey1, kMetaValue1);
    if (s.ok()) s = builder.AddMetadata(kMetaKey2, kMetaValue2);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Builds `n` events and appends them to `stream`.
absl::Status AppendCoreEvents(core::EventStore& store, const core::Id& stream, int64_t n) {
  core::BatchBuilder builder;
  absl::Status st = AddCoreEvents(builder, n);
  if (!st.ok()) return st;
  absl::StatusOr<core::WritableBatch> batch = builder.View();
  if (!batch.ok()) return batch.status();
  return store.Append(stream, *batch, core::AppendOptions(), nullptr).status();
}

bool FillCore(benchmark::State& state, core::EventStore& store, int64_t streams, int64_t per_stream) {
  for (int64_t s = 0; s < streams; ++s) {
    absl::StatusOr<core::Id> id = core::Id::Parse(streams == 1 ? std::string(kStream) : StreamId(s));
    if (!id.ok()) {
      state.SkipWithError(id.status().ToString().c_str());
      return false;
    }
    for (int64_t done = 0; done < per_stream; done += 100) {
      absl::Status st = AppendCoreEvents(store, *id, std::min<int64_t>(100, per_stream - done));
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return false;
      }
    }
  }
  return true;
}

// Building the batch is part of the append, here as in the C ABI and SDK
// cases: every caller has to build one, and est_append also verifies it.
void AppendCore(benchmark::State& state, int64_t batch_size) {
  std::shared_ptr<core::EventStore> store = OpenCore(state);
  if (store == nullptr) return;
  absl::StatusOr<core::Id> stream = core::Id::Parse(kStream);
  if (!stream.ok()) {
    state.SkipWithError(stream.status().ToString().c_str());
    return;
  }
  int64_t in_store = 0;
  for (auto _ : state) {
    absl::Status st = AppendCoreEvents(*store, *stream, batch_size);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    if (!RecycleWhenFull(state, &in_store, batch_size, [&] {
          store->Close();
          store = OpenCore(state);
          return store != nullptr;
        })) {
      break;
    }
  }
  SetCounters(state, batch_size);
}

// What a reader gets from one event: the fields the C ABI's est_event holds,
// but for the metadata pairs (est_event.metadata, ABI 1.3), which the C ABI
// finds for every event and this path does not: the core / C ABI ratio of a
// read is the ABI's own cost (crossing, struct filling) plus those pairs.
struct DecodedEvent {
  const char* type;
  core::Uuid id;
  const char* stream_type;
  core::Uuid stream;
  int64_t version, position, timestamp_ns;
  const uint8_t* data;
  size_t data_len;
  const char* content_type;
  size_t metadata_count;
};

inline DecodedEvent Decode(const core::EventView& view) {
  const absl::Span<const uint8_t> data = view.data();
  return DecodedEvent{view.type().data(),
                      view.id(),
                      view.stream_type().data(),
                      view.stream_uuid(),
                      view.version(),
                      view.position(),
                      view.timestamp_ns(),
                      data.data(),
                      data.size(),
                      view.content_type().data(),
                      view.metadata_count()};
}

// Drains `it` through a span of `views`, decoding each event and summing one
// byte of its data so the reads cannot be optimized away.
void DrainCore(benchmark::State& state, core::EventIterator& it, std::vector<core::EventView>& views,
               int64_t expected) {
  uint64_t sum = 0;
  int64_t seen = 0;
  for (;;) {
    absl::StatusOr<size_t> n = it.Next(absl::MakeSpan(views));
    if (!n.ok()) {
      state.SkipWithError(n.status().ToString().c_str());
      return;
    }
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      DecodedEvent d = Decode(views[i]);
      benchmark::DoNotOptimize(d);
      sum += d.data[0];
    }
    seen += static_cast<int64_t>(*n);
  }
  benchmark::DoNotOptimize(sum);
  if (seen != expected) state.SkipWithError("read an unexpected number of events");
}

void ReadStreamCore(benchmark::State& state, size_t views_per_call) {
  std::shared_ptr<core::EventStore> store = OpenCore(state);
  if (store == nullptr || !FillCore(state, *store, 1, kReadEvents)) return;
  absl::StatusOr<core::Id> stream = core::Id::Parse(kStream);
  std::vector<core::EventView> views(views_per_call);
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<core::EventIterator>> it = store->ReadStream(*stream, core::ReadOptions());
    if (!it.ok()) {
      state.SkipWithError(it.status().ToString().c_str());
      break;
    }
    DrainCore(state, **it, views, kReadEvents);
  }
  SetCounters(state, kReadEvents);
}

void ReadAllCore(benchmark::State& state, size_t views_per_call) {
  std::shared_ptr<core::EventStore> store = OpenCore(state);
  if (store == nullptr || !FillCore(state, *store, kReadAllStreams, kReadEvents / kReadAllStreams)) return;
  std::vector<core::EventView> views(views_per_call);
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<core::EventIterator>> it = store->ReadAll(core::ReadAllOptions());
    if (!it.ok()) {
      state.SkipWithError(it.status().ToString().c_str());
      break;
    }
    DrainCore(state, **it, views, kReadEvents);
  }
  SetCounters(state, kReadEvents);
}

// ---------------------------------------------------------------- the C ABI

struct StoreCloser {
  void operator()(est_store* s) const { est_store_close(s); }
};
using CStore = std::unique_ptr<est_store, StoreCloser>;

void SkipWithLastError(benchmark::State& state, const char* what, est_status st) {
  std::string msg = std::string(what) + ": " + est_status_name(st) + ": " + est_last_error();
  state.SkipWithError(msg.c_str());
}

CStore OpenCapi(benchmark::State& state) {
  est_store* s = nullptr;
  est_status st = est_store_open("memory:", nullptr, &s);
  if (st != EST_OK) SkipWithLastError(state, "est_store_open", st);
  return CStore(s);
}

// How a C caller hands a batch over: the handle itself (est_append_batch),
// or its FlatBuffers bytes (est_append, which copies and verifies them as it
// must for bytes from anywhere).
enum class CapiPath { kHandle, kBytes };

// One est_batch per append, built, appended and freed: the whole cost a C
// caller pays for an append.
est_status AppendCapiBatch(est_store* store, const char* stream, int64_t n, CapiPath path = CapiPath::kHandle) {
  est_batch* batch = nullptr;
  est_status st = est_batch_new(&batch);
  if (st == EST_OK) st = AddEvents(batch, n);
  if (st == EST_OK && path == CapiPath::kHandle) {
    st = est_append_batch(store, stream, batch, nullptr, nullptr, nullptr);
  } else if (st == EST_OK) {
    const uint8_t* bytes = nullptr;
    size_t len = 0;
    st = est_batch_bytes(batch, &bytes, &len);
    if (st == EST_OK) st = est_append(store, stream, bytes, len, nullptr, nullptr, nullptr);
  }
  est_batch_free(batch);
  return st;
}

bool FillCapi(benchmark::State& state, est_store* store, int64_t streams, int64_t per_stream) {
  for (int64_t s = 0; s < streams; ++s) {
    std::string id = streams == 1 ? std::string(kStream) : StreamId(s);
    for (int64_t done = 0; done < per_stream; done += 100) {
      est_status st = AppendCapiBatch(store, id.c_str(), std::min<int64_t>(100, per_stream - done));
      if (st != EST_OK) {
        SkipWithLastError(state, "fill", st);
        return false;
      }
    }
  }
  return true;
}

void AppendCapi(benchmark::State& state, int64_t batch_size, CapiPath path) {
  CStore store = OpenCapi(state);
  if (store == nullptr) return;
  int64_t in_store = 0;
  for (auto _ : state) {
    est_status st = AppendCapiBatch(store.get(), kStream, batch_size, path);
    if (st != EST_OK) {
      SkipWithLastError(state, "append", st);
      break;
    }
    if (!RecycleWhenFull(state, &in_store, batch_size, [&] {
          store = OpenCapi(state);
          return store != nullptr;
        })) {
      break;
    }
  }
  SetCounters(state, batch_size);
}

void DrainCapi(benchmark::State& state, est_iter* it, std::vector<est_event>& views, int64_t expected) {
  uint64_t sum = 0;
  int64_t seen = 0;
  size_t n = 0;
  est_status st;
  while ((st = est_iter_next_batch(it, views.data(), views.size(), &n)) == EST_OK) {
    for (size_t i = 0; i < n; ++i) sum += views[i].data[0];
    seen += static_cast<int64_t>(n);
  }
  benchmark::DoNotOptimize(sum);
  if (st != EST_END) {
    SkipWithLastError(state, "est_iter_next_batch", st);
  } else if (seen != expected) {
    state.SkipWithError("read an unexpected number of events");
  }
}

std::vector<est_event> CapiViews(size_t n) {
  std::vector<est_event> views(n);
  for (est_event& e : views) est_event_init(&e);
  return views;
}

void ReadStreamCapi(benchmark::State& state, size_t views_per_call) {
  CStore store = OpenCapi(state);
  if (store == nullptr || !FillCapi(state, store.get(), 1, kReadEvents)) return;
  std::vector<est_event> views = CapiViews(views_per_call);
  for (auto _ : state) {
    est_iter* it = nullptr;
    est_status st = est_read_stream(store.get(), kStream, nullptr, &it);
    if (st != EST_OK) {
      SkipWithLastError(state, "est_read_stream", st);
      break;
    }
    DrainCapi(state, it, views, kReadEvents);
    est_iter_close(it);
  }
  SetCounters(state, kReadEvents);
}

void ReadAllCapi(benchmark::State& state, size_t views_per_call) {
  CStore store = OpenCapi(state);
  if (store == nullptr || !FillCapi(state, store.get(), kReadAllStreams, kReadEvents / kReadAllStreams)) return;
  std::vector<est_event> views = CapiViews(views_per_call);
  for (auto _ : state) {
    est_iter* it = nullptr;
    est_status st = est_read_all(store.get(), nullptr, &it);
    if (st != EST_OK) {
      SkipWithLastError(state, "est_read_all", st);
      break;
    }
    DrainCapi(state, it, views, kReadEvents);
    est_iter_close(it);
  }
  SetCounters(state, kReadEvents);
}

// ---------------------------------------------------------------- the SDK

Store OpenSdk(benchmark::State& state) {
  Result<Store> store = Store::Open("memory:");
  if (!store.ok()) {
    state.SkipWithError(store.error().ToString().c_str());
    return Store();
  }
  return std::move(store).value();
}

Result<void> AppendSdkBatch(const Store& store, const std::string& stream, int64_t n) {
  Batch batch;
  for (int64_t i = 0; i < n; ++i) {
    Result<void> r = batch.Add(kEventType, std::span<const uint8_t>(Payload()), kContentType)
                         .Metadata(kMetaKey1, kMetaValue1)
                         .Metadata(kMetaKey2, kMetaValue2);
    if (!r.ok()) return r;
  }
  Result<AppendResult> r = store.Append(stream, batch);
  if (!r.ok()) return r.error();
  return {};
}

void AppendSdk(benchmark::State& state, int64_t batch_size) {
  Store store = OpenSdk(state);
  if (!store.is_open()) return;
  const std::string stream = kStream;
  int64_t in_store = 0;
  for (auto _ : state) {
    Result<void> r = AppendSdkBatch(store, stream, batch_size);
    if (!r.ok()) {
      state.SkipWithError(r.error().ToString().c_str());
      break;
    }
    if (!RecycleWhenFull(state, &in_store, batch_size, [&] {
          store = OpenSdk(state);
          return store.is_open();
        })) {
      break;
    }
  }
  SetCounters(state, batch_size);
}

bool FillSdk(benchmark::State& state, const Store& store, int64_t streams, int64_t per_stream) {
  for (int64_t s = 0; s < streams; ++s) {
    std::string id = streams == 1 ? std::string(kStream) : StreamId(s);
    for (int64_t done = 0; done < per_stream; done += 100) {
      Result<void> r = AppendSdkBatch(store, id, std::min<int64_t>(100, per_stream - done));
      if (!r.ok()) {
        state.SkipWithError(r.error().ToString().c_str());
        return false;
      }
    }
  }
  return true;
}

void DrainSdk(benchmark::State& state, StreamIterator& it, int64_t expected) {
  uint64_t sum = 0;
  int64_t seen = 0;
  for (const EventView& e : it) {
    sum += e.data()[0];
    ++seen;
  }
  benchmark::DoNotOptimize(sum);
  if (!it.status().ok()) {
    state.SkipWithError(it.status().error().ToString().c_str());
  } else if (seen != expected) {
    state.SkipWithError("read an unexpected number of events");
  }
}

void ReadStreamSdk(benchmark::State& state, size_t views_per_call) {
  Store store = OpenSdk(state);
  if (!store.is_open() || !FillSdk(state, store, 1, kReadEvents)) return;
  const std::string stream = kStream;
  ReadOptions options;
  options.batch_size = views_per_call;
  for (auto _ : state) {
    Result<StreamIterator> it = store.ReadStream(stream, options);
    if (!it.ok()) {
      state.SkipWithError(it.error().ToString().c_str());
      break;
    }
    DrainSdk(state, *it, kReadEvents);
  }
  SetCounters(state, kReadEvents);
}

void ReadAllSdk(benchmark::State& state, size_t views_per_call) {
  Store store = OpenSdk(state);
  if (!store.is_open() || !FillSdk(state, store, kReadAllStreams, kReadEvents / kReadAllStreams)) return;
  ReadAllOptions options;
  options.batch_size = views_per_call;
  for (auto _ : state) {
    Result<StreamIterator> it = store.ReadAll(options);
    if (!it.ok()) {
      state.SkipWithError(it.error().ToString().c_str());
      break;
    }
    DrainSdk(state, *it, kReadEvents);
  }
  SetCounters(state, kReadEvents);
}

// ------------------------------------------------- appends of a prepared batch

// Appends one batch, built once, again and again to one stream (each append
// gets new IDs and versions): what the store itself costs per event, the
// caller's building of events aside.
void AppendPreparedCore(benchmark::State& state, int64_t batch_size) {
  std::shared_ptr<core::EventStore> store = OpenCore(state);
  absl::StatusOr<core::Id> stream = core::Id::Parse(kStream);
  core::BatchBuilder builder;
  absl::Status st = AddCoreEvents(builder, batch_size);
  absl::StatusOr<core::WritableBatch> batch = builder.View();
  if (store == nullptr || !stream.ok() || !st.ok() || !batch.ok()) {
    if (store != nullptr) state.SkipWithError("preparing the batch failed");
    return;
  }
  int64_t in_store = 0;
  for (auto _ : state) {
    absl::StatusOr<core::AppendResult> r = store->Append(*stream, *batch, core::AppendOptions(), nullptr);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (!RecycleWhenFull(state, &in_store, batch_size, [&] {
          store->Close();
          store = OpenCore(state);
          return store != nullptr;
        })) {
      break;
    }
  }
  SetCounters(state, batch_size);
}

void AppendPreparedCapi(benchmark::State& state, int64_t batch_size) {
  CStore store = OpenCapi(state);
  if (store == nullptr) return;
  est_batch* batch = nullptr;
  est_status st = est_batch_new(&batch);
  if (st == EST_OK) st = AddEvents(batch, batch_size);
  if (st != EST_OK) {
    SkipWithLastError(state, "batch", st);
    est_batch_free(batch);
    return;
  }
  int64_t in_store = 0;
  for (auto _ : state) {
    st = est_append_batch(store.get(), kStream, batch, nullptr, nullptr, nullptr);
    if (st != EST_OK) {
      SkipWithLastError(state, "append", st);
      break;
    }
    if (!RecycleWhenFull(state, &in_store, batch_size, [&] {
          store = OpenCapi(state);
          return store != nullptr;
        })) {
      break;
    }
  }
  est_batch_free(batch);
  SetCounters(state, batch_size);
}

// ---------------------------------------------------------------- registration

void RegisterAll() {
  for (int64_t batch : {1, 100}) {
    std::string name = "BM_Append/batch:" + std::to_string(batch);
    benchmark::RegisterBenchmark((name + "/capi").c_str(), AppendCapi, batch, CapiPath::kHandle);
    benchmark::RegisterBenchmark((name + "/capi_bytes").c_str(), AppendCapi, batch, CapiPath::kBytes);
    benchmark::RegisterBenchmark((name + "/core").c_str(), AppendCore, batch);
    benchmark::RegisterBenchmark((name + "/sdk").c_str(), AppendSdk, batch);
  }
  for (int64_t batch : {1, 100}) {
    std::string name = "BM_AppendPrepared/batch:" + std::to_string(batch);
    benchmark::RegisterBenchmark((name + "/capi").c_str(), AppendPreparedCapi, batch);
    benchmark::RegisterBenchmark((name + "/core").c_str(), AppendPreparedCore, batch);
  }
  for (size_t views : {size_t{64}, size_t{256}}) {
    std::string read = "BM_ReadStream/events:" + std::to_string(kReadEvents) + "/views:" + std::to_string(views);
    benchmark::RegisterBenchmark((read + "/capi").c_str(), ReadStreamCapi, views)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((read + "/core").c_str(), ReadStreamCore, views)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((read + "/sdk").c_str(), ReadStreamSdk, views)->Unit(benchmark::kMicrosecond);
  }
  for (size_t views : {size_t{64}, size_t{256}}) {
    std::string all = "BM_ReadAll/events:" + std::to_string(kReadEvents) + "/views:" + std::to_string(views);
    benchmark::RegisterBenchmark((all + "/capi").c_str(), ReadAllCapi, views)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((all + "/core").c_str(), ReadAllCore, views)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((all + "/sdk").c_str(), ReadAllSdk, views)->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace estoria::bench

int main(int argc, char** argv) {
  estoria::bench::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
