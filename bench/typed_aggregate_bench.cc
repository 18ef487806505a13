// typed_aggregate_bench.cc: loading a 10,000-event aggregate through the
// typed C++ layer (estoria/aggregates), in events folded per second (items/s),
// beside a plain SDK read of the same stream. Benchmark functions only: the
// aggregate_bench executable (bench/CMakeLists.txt) compiles this file in
// with aggregate_bench.cc's C-callback load and C read, so one run gives
// every figure:
//
//   BM_AggregateFold/events:10000/typed_binary   typed layer, 8-byte events
//   BM_AggregateFold/events:10000/typed_json     typed layer, JSON events
//   BM_AggregateFold/events:10000/typed_sdk_read the same stream, SDK read
//
// Two codecs show where the time goes: a fixed 8-byte binary codec (the
// layer's own cost: dispatch on the type name, decode, apply) and JSON
// (a realistic text payload through nlohmann-json). No snapshots and no
// cache: every iteration folds the whole history.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/json.hpp"
#include "estoria/estoria.hpp"

namespace estoria {
namespace {

constexpr int kTypedLoadEvents = 10'000;

// The binary codec: an event is its amount, 8 bytes little-endian (the
// machine's order; a bench never leaves the machine).
struct AmountCodec {
  const char* content_type() const { return "application/x-amount"; }
  template <class T>
  Result<void> Encode(const T& v, std::string& out) const {
    out.assign(reinterpret_cast<const char*>(&v.amount), sizeof v.amount);
    return {};
  }
  template <class T>
  Result<T> Decode(std::span<const uint8_t> data) const {
    if (data.size() != sizeof(int64_t)) return Error(EST_ERR_INVALID_ARGUMENT, "not an amount");
    T v;
    std::memcpy(&v.amount, data.data(), sizeof v.amount);
    return v;
  }
};

template <class Codec>
struct BenchAccount {
  int64_t balance = 0;
  int64_t events = 0;
};

template <class Codec>
struct BenchDeposited {
  static constexpr std::string_view kType = "deposited";
  int64_t amount = 0;
  void apply(BenchAccount<Codec>& a) const {
    a.balance += amount;
    ++a.events;
  }
};

template <class Codec>
struct BenchWithdrawn {
  static constexpr std::string_view kType = "withdrawn";
  int64_t amount = 0;
  void apply(BenchAccount<Codec>& a) const {
    a.balance -= amount;
    ++a.events;
  }
};

template <class Codec>
void to_json(nlohmann::json& j, const BenchDeposited<Codec>& e) {
  j = nlohmann::json{{"amount", e.amount}};
}
template <class Codec>
void from_json(const nlohmann::json& j, BenchDeposited<Codec>& e) {
  j.at("amount").get_to(e.amount);
}
template <class Codec>
void to_json(nlohmann::json& j, const BenchWithdrawn<Codec>& e) {
  j = nlohmann::json{{"amount", e.amount}};
}
template <class Codec>
void from_json(const nlohmann::json& j, BenchWithdrawn<Codec>& e) {
  j.at("amount").get_to(e.amount);
}

}  // namespace

template <class Codec>
struct AggregateTraits<BenchAccount<Codec>> {
  using Events = std::variant<BenchWithdrawn<Codec>, BenchDeposited<Codec>>;  // the common event last
  using EventCodec = Codec;
  using StateCodec = NoStateCodec;
};

namespace {

[[noreturn]] void BenchDie(const char* what, const Error& e) {
  std::fprintf(stderr, "typed_aggregate_bench: %s: %s\n", what, e.ToString().c_str());
  std::abort();
}

// A memory store holding one aggregate of kTypedLoadEvents events, written
// once per codec (in batches of 1,000 through the typed layer).
template <class Codec>
struct TypedLoadFixture {
  Store store;
  AggregateStore<BenchAccount<Codec>> accounts;
  Id id;

  TypedLoadFixture() {
    Result<Store> s = Store::Open("memory:");
    if (!s.ok()) BenchDie("open", s.error());
    store = std::move(s).value();
    auto a = AggregateStore<BenchAccount<Codec>>::Open(store, "account");
    if (!a.ok()) BenchDie("aggregate store", a.error());
    accounts = std::move(a).value();
    auto agg = accounts.New();
    if (!agg.ok()) BenchDie("new", agg.error());
    id = agg->id();
    for (int i = 0; i < kTypedLoadEvents; ++i) {
      Result<void> r = agg->Append(BenchDeposited<Codec>{1});
      if (!r.ok()) BenchDie("append", r.error());
      if ((i + 1) % 1000 == 0) {
        Result<AppendResult> saved = agg->Save();
        if (!saved.ok()) BenchDie("save", saved.error());
      }
    }
  }

  static TypedLoadFixture& Get() {
    static TypedLoadFixture* f = new TypedLoadFixture();  // lives for the run
    return *f;
  }
};

template <class Codec>
void BM_TypedAggregateLoad10k(benchmark::State& state) {
  TypedLoadFixture<Codec>& f = TypedLoadFixture<Codec>::Get();
  for (auto _ : state) {
    auto agg = f.accounts.Load(f.id);
    if (!agg.ok()) BenchDie("load", agg.error());
    if (agg->state().events != kTypedLoadEvents) {
      state.SkipWithError("the load folded the wrong number of events");
      break;
    }
    benchmark::DoNotOptimize(agg->state().balance);
  }
  state.SetItemsProcessed(state.iterations() * kTypedLoadEvents);
}
BENCHMARK_TEMPLATE(BM_TypedAggregateLoad10k, AmountCodec)
    ->Name("BM_AggregateFold/events:10000/typed_binary")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_TypedAggregateLoad10k, JsonCodec)
    ->Name("BM_AggregateFold/events:10000/typed_json")
    ->Unit(benchmark::kMicrosecond);

// The baseline: the same stream read through the SDK, each event's amount
// summed (the fold without a callback or a decode).
void BM_TypedBaselineStreamRead10k(benchmark::State& state) {
  TypedLoadFixture<AmountCodec>& f = TypedLoadFixture<AmountCodec>::Get();
  for (auto _ : state) {
    Result<StreamIterator> it = f.store.ReadStream(f.id);
    if (!it.ok()) BenchDie("read", it.error());
    int64_t sum = 0;
    int64_t n = 0;
    for (const EventView& e : *it) {
      int64_t amount;
      std::memcpy(&amount, e.data().data(), sizeof amount);
      sum += amount;
      ++n;
    }
    if (n != kTypedLoadEvents) {
      state.SkipWithError("the read returned the wrong number of events");
      break;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kTypedLoadEvents);
}
BENCHMARK(BM_TypedBaselineStreamRead10k)
    ->Name("BM_AggregateFold/events:10000/typed_sdk_read")
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace estoria
