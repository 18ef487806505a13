// The aggregate engine; see aggregate_store.h for the contract.
//
// Loads and saves read and write through the EventStore, which is
// thread-safe; the engine's own shared state is the cache (locked inside
// StateCache) and atomic counters, so no lock of ours is ever held while the
// host's callbacks or hooks run.
#include "core/aggregate/aggregate_store.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/store/store_checks.h"
#include "core/store/writable_batch.h"
#include "core/util/log.h"
#include "core/util/status.h"
#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

// Views fetched from the store per call while folding.
constexpr size_t kFoldChunk = 128;

absl::Span<const uint8_t> Bytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// A callback's error with where it happened put in front, its code kept (so
// that the host's own status comes back out of the ABI).
absl::Status Wrap(const absl::Status& status, std::string_view where) {
  return absl::Status(status.code(), absl::StrCat(ToAbsl(where), ": ", status.message()));
}

absl::Status TruncatedError(const std::string& id_text, int64_t first_live) {
  return absl::InvalidArgumentError(absl::StrCat("stream ", id_text, " is truncated below version ", first_live,
                                                 " and no snapshot covers it"));
}

}  // namespace

// A state being built, owned until Release().
struct AggregateStore::Folded {
  explicit Folded(AggregateType* t) : type(t) {}
  ~Folded() { Reset(); }
  Folded(const Folded&) = delete;
  Folded& operator=(const Folded&) = delete;

  void Reset() {
    if (state != nullptr) type->FreeState(state);
    state = nullptr;
    version = 0;
    has_last_event_id = false;
    applied = 0;
    from_snapshot = false;
  }
  void* Release() { return std::exchange(state, nullptr); }

  AggregateType* const type;
  void* state = nullptr;
  int64_t version = 0;
  Uuid last_event_id;  // of the event at `version`, when has_last_event_id
  bool has_last_event_id = false;
  int64_t applied = 0;
  bool from_snapshot = false;
};

// ----------------------------------------------------------------- Aggregate

Aggregate::Aggregate(std::shared_ptr<AggregateStore> store, Id id, std::string id_text, void* state,
                     int64_t version)
    : store_(std::move(store)), id_(std::move(id)), id_text_(std::move(id_text)), state_(state), version_(version) {}

Aggregate::~Aggregate() {
  if (state_ != nullptr) store_->type_->FreeState(state_);
}

absl::Status Aggregate::CheckUsable() const {
  if (stale_) {
    return absl::InvalidArgumentError(absl::StrCat("aggregate ", id_text_,
                                                   " is stale: a save appended its events but could not apply "
                                                   "them; load it again"));
  }
  return absl::OkStatus();
}

absl::Status Aggregate::Append(std::string_view type, absl::Span<const uint8_t> data,
                               std::string_view content_type) {
  RETURN_IF_ERROR(CheckUsable());
  RETURN_IF_ERROR(ValidateTypeName(type, "event type"));
  if (pending_.size() >= kMaxBatchEvents) {
    return absl::InvalidArgumentError(absl::StrCat("a save holds at most ", kMaxBatchEvents, " events"));
  }
  if (data.size() > kMaxBatchBytes) {
    return absl::InvalidArgumentError(absl::StrCat("event data above ", kMaxBatchBytes, " bytes"));
  }
  PendingEvent& event = pending_.emplace_back();
  event.type.assign(type);
  event.data.assign(reinterpret_cast<const char*>(data.data()), data.size());
  event.content_type.assign(content_type);
  return absl::OkStatus();
}

absl::Status Aggregate::AppendMetadata(std::string_view key, std::string_view value) {
  RETURN_IF_ERROR(CheckUsable());
  if (pending_.empty()) return absl::InvalidArgumentError("metadata before any queued event");
  if (key.empty()) return absl::InvalidArgumentError("a metadata key is empty");
  PendingEvent& event = pending_.back();
  if (event.metadata.size() >= kMaxMetadataPerEvent) {
    return absl::InvalidArgumentError(absl::StrCat("an event holds at most ", kMaxMetadataPerEvent,
                                                   " metadata entries"));
  }
  for (const auto& [k, v] : event.metadata) {
    if (k == key) return absl::InvalidArgumentError(absl::StrCat("duplicate metadata key \"", ToAbsl(key), "\""));
  }
  event.metadata.emplace_back(std::string(key), std::string(value));
  return absl::OkStatus();
}

absl::Status Aggregate::SetEventId(const Uuid& id) {
  RETURN_IF_ERROR(CheckUsable());
  if (pending_.empty()) return absl::InvalidArgumentError("an event ID before any queued event");
  pending_.back().id = id;
  return absl::OkStatus();
}

absl::Status Aggregate::Save(AppendResult* result) { return store_->Save(this, result); }

// ------------------------------------------------------------ AggregateStore

absl::StatusOr<std::shared_ptr<AggregateStore>> AggregateStore::Create(std::shared_ptr<EventStore> store,
                                                                       std::unique_ptr<AggregateType> type,
                                                                       const AggregateStoreOptions& options) {
  if (store == nullptr) return absl::InvalidArgumentError("no event store");
  if (type == nullptr) return absl::InvalidArgumentError("no aggregate type");
  RETURN_IF_ERROR(ValidateTypeName(type->name(), "aggregate type"));
  RETURN_IF_ERROR(options.snapshots.Validate());
  if (options.cache_capacity < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cache_capacity ", options.cache_capacity, " is negative"));
  }
  if (!type->HasCodec()) {
    if (options.snapshots.enabled()) {
      return absl::InvalidArgumentError("snapshots need the type's encode and decode callbacks");
    }
    if (options.cache_capacity > 0) {
      return absl::InvalidArgumentError("a cache needs the type's encode and decode callbacks");
    }
  }
  return std::shared_ptr<AggregateStore>(new AggregateStore(std::move(store), std::move(type), options));
}

AggregateStore::AggregateStore(std::shared_ptr<EventStore> store, std::unique_ptr<AggregateType> type,
                               const AggregateStoreOptions& options)
    : store_(std::move(store)),
      type_(std::move(type)),
      policy_(options.snapshots),
      cache_(options.cache_capacity > 0 ? std::make_unique<StateCache>(static_cast<size_t>(options.cache_capacity))
                                        : nullptr) {}

absl::StatusOr<std::unique_ptr<Aggregate>> AggregateStore::New(const Uuid& uuid) {
  Id id{type_->name(), uuid};
  std::string id_text = id.ToString();
  absl::StatusOr<void*> state = type_->NewState(uuid);
  if (!state.ok()) return Wrap(state.status(), absl::StrCat("new_state of ", id_text));
  return std::unique_ptr<Aggregate>(new Aggregate(shared_from_this(), std::move(id), std::move(id_text), *state, 0));
}

absl::StatusOr<std::unique_ptr<Aggregate>> AggregateStore::Load(const Uuid& uuid, int64_t to_version) {
  if (to_version < 0) return absl::InvalidArgumentError(absl::StrCat("to_version ", to_version, " is negative"));
  Id id{type_->name(), uuid};
  std::string id_text = id.ToString();
  return LoadVersion(std::move(id), std::move(id_text), to_version, 0);
}

absl::StatusOr<std::unique_ptr<Aggregate>> AggregateStore::LoadAt(const Uuid& uuid, int64_t timestamp_ns) {
  if (timestamp_ns <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("timestamp_ns ", timestamp_ns, " is not a time (> 0)"));
  }
  Id id{type_->name(), uuid};
  std::string id_text = id.ToString();
  // The last event of the stream as of the time gives the version to load.
  ReadOptions last;
  last.direction = Direction::kReverse;
  last.count = 1;
  last.until_timestamp_ns = timestamp_ns;
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_->ReadStream(id, last);
  if (!it.ok()) {
    if (it.status().code() != absl::StatusCode::kNotFound) return it.status();
    return absl::NotFoundError(absl::StrCat("aggregate ", id_text, " not found (never written)"));
  }
  EventView view;
  ASSIGN_OR_RETURN(size_t n, (*it)->Next(absl::MakeSpan(&view, 1)));
  if (n == 0) {
    return absl::NotFoundError(
        absl::StrCat("aggregate ", id_text, " has no live event stamped at or before ", timestamp_ns));
  }
  const int64_t version = view.version();
  it->reset();
  return LoadVersion(std::move(id), std::move(id_text), version, timestamp_ns);
}

absl::StatusOr<std::unique_ptr<Aggregate>> AggregateStore::LoadVersion(Id id, std::string id_text,
                                                                       int64_t to_version,
                                                                       int64_t snapshot_until_ns) {
  if (!hooks_.empty(HookStage::kBeforeLoad)) {
    HookContext ctx(HookStage::kBeforeLoad);
    RETURN_IF_ERROR(hooks_.RunBefore(HookStage::kBeforeLoad, &ctx, id_text, to_version));
  }
  Folded folded(type_.get());
  RETURN_IF_ERROR(Build(id, id_text, to_version, snapshot_until_ns, &folded));
  counters_.loads.fetch_add(1, std::memory_order_relaxed);
  counters_.events_applied.fetch_add(folded.applied, std::memory_order_relaxed);
  if (folded.from_snapshot) counters_.snapshots_used.fetch_add(1, std::memory_order_relaxed);
  // A latest load that folded new events leaves its state for the next one.
  if (cache_ != nullptr && to_version == 0 && folded.applied > 0 && folded.has_last_event_id) {
    AfterStateChange(id, id_text, folded.state, folded.version, folded.last_event_id, /*snapshot=*/false);
  }
  const int64_t version = folded.version;
  auto agg = std::unique_ptr<Aggregate>(
      new Aggregate(shared_from_this(), std::move(id), std::move(id_text), folded.Release(), version));
  hooks_.RunAfter(HookStage::kAfterLoad, agg->id_text(), version);
  return agg;
}

absl::Status AggregateStore::Build(const Id& id, const std::string& id_text, int64_t to_version,
                                   int64_t snapshot_until_ns, Folded* out) {
  // A load of a specific version bypasses the cache: it holds latest states.
  if (cache_ != nullptr && to_version == 0) {
    std::shared_ptr<const StateCache::Entry> entry = cache_->Get(id);
    if (entry != nullptr) {
      absl::StatusOr<bool> hit = BuildFromCache(id, id_text, *entry, out);
      if (!hit.ok()) return hit.status();
      if (*hit) {
        counters_.cache_hits.fetch_add(1, std::memory_order_relaxed);
        return absl::OkStatus();
      }
      out->Reset();
      cache_->Erase(id, entry.get());
    }
    counters_.cache_misses.fetch_add(1, std::memory_order_relaxed);
  }
  return BuildFromStore(id, id_text, to_version, snapshot_until_ns, out);
}

absl::StatusOr<bool> AggregateStore::BuildFromCache(const Id& id, const std::string& id_text,
                                                    const StateCache::Entry& entry, Folded* out) {
  absl::StatusOr<void*> state = type_->Decode(Bytes(entry.state));
  if (!state.ok()) {
    store_->host().Log(LogLevel::kWarning,
                       absl::StrCat("decoding the cached state of ", id_text, " failed, reading it again: ",
                                    state.status().ToString()));
    return false;
  }
  out->state = *state;
  out->version = entry.version;
  out->last_event_id = entry.last_event_id;
  out->has_last_event_id = true;
  // Read from the cached version itself: its event must still be there, the
  // same one, for the entry to describe this stream.
  ReadOptions read;
  read.after_version = entry.version - 1;
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_->ReadStream(id, read);
  if (!it.ok()) {
    if (it.status().code() == absl::StatusCode::kNotFound) return false;
    return it.status();
  }
  return Fold(it->get(), id_text, out, &entry.last_event_id);
}

absl::StatusOr<std::shared_ptr<const Snapshot>> AggregateStore::ReadSnapshotUntil(const Id& id,
                                                                                  int64_t max_version,
                                                                                  int64_t until_ns) {
  for (;;) {
    ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> snapshot, store_->ReadSnapshot(id, max_version));
    if (until_ns == 0 || snapshot->timestamp_ns <= until_ns) return snapshot;
    // Taken after the time: an older one may do.
    if (snapshot->version <= 1) return SnapshotNotFound(id, max_version);
    max_version = snapshot->version - 1;
  }
}

absl::Status AggregateStore::BuildFromStore(const Id& id, const std::string& id_text, int64_t to_version,
                                            int64_t snapshot_until_ns, Folded* out) {
  if (policy_.enabled()) {
    absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot = ReadSnapshotUntil(id, to_version, snapshot_until_ns);
    if (snapshot.ok()) {
      const Snapshot& s = **snapshot;
      if (s.content_type != type_->snapshot_content_type()) {
        store_->host().Log(LogLevel::kWarning, absl::StrCat("the snapshot of ", id_text, " at version ", s.version,
                                             " has content type \"", s.content_type, "\", not \"",
                                             type_->snapshot_content_type(), "\": not used"));
      } else {
        absl::StatusOr<void*> state = type_->Decode(Bytes(s.data));
        if (!state.ok()) {
          return Wrap(state.status(), absl::StrCat("decoding the snapshot of ", id_text, " at version ", s.version));
        }
        out->state = *state;
        out->version = s.version;
        out->from_snapshot = true;
      }
    } else if (snapshot.status().code() != absl::StatusCode::kNotFound) {
      // Snapshots speed loads up and never decide them: fold from the start,
      // unless the store is closed (then so is everything else).
      if (snapshot.status().code() == absl::StatusCode::kFailedPrecondition) return snapshot.status();
      store_->host().Log(LogLevel::kWarning, absl::StrCat("reading the snapshot of ", id_text,
                                           " failed, folding from the first event: ", snapshot.status().ToString()));
    }
  }
  if (out->state == nullptr) {
    absl::StatusOr<void*> state = type_->NewState(id.uuid);
    if (!state.ok()) return Wrap(state.status(), absl::StrCat("new_state of ", id_text));
    out->state = *state;
  }
  const int64_t base = out->version;
  ReadOptions read;
  read.after_version = base;
  // With the snapshot at to_version itself, one event is read only to learn
  // that the stream exists.
  if (to_version > 0) read.count = to_version > base ? to_version - base : 1;
  absl::StatusOr<std::unique_ptr<EventIterator>> it = store_->ReadStream(id, read);
  if (!it.ok()) {
    if (it.status().code() != absl::StatusCode::kNotFound) return it.status();
    if (out->from_snapshot) {
      return absl::NotFoundError(absl::StrCat("aggregate ", id_text, " has a snapshot at version ", base,
                                              " but no stream"));
    }
    return absl::NotFoundError(absl::StrCat("aggregate ", id_text, " not found (never written)"));
  }
  if (to_version > 0 && to_version <= base) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool folded, Fold(it->get(), id_text, out));
  (void)folded;  // always true without an anchor
  if (out->version == 0) {
    // The stream exists (never-written ones are NOT_FOUND) but holds nothing:
    // it was truncated to its tip.
    return absl::InvalidArgumentError(absl::StrCat("stream ", id_text,
                                                   " holds no live events (deleted up to its tip) and no snapshot "
                                                   "covers them"));
  }
  if (to_version > out->version) {
    return absl::InvalidArgumentError(absl::StrCat("to_version ", to_version, " is past the tip of stream ", id_text,
                                                   " (version ", out->version, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> AggregateStore::Fold(EventIterator* it, const std::string& id_text, Folded* out,
                                          const Uuid* anchor) {
  const int64_t base = out->version;
  bool first = true;
  std::array<EventView, kFoldChunk> views;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, it->Next(absl::MakeSpan(views)));
    if (n == 0) return anchor == nullptr || !first;  // an anchor never seen: the stream changed
    size_t begin = 0;
    if (first) {
      first = false;
      const int64_t version = views[0].version();
      if (anchor != nullptr) {
        if (version != base || views[0].id() != *anchor) return false;
        begin = 1;  // the anchor itself is already in the state
      } else if (version > base + 1) {
        return TruncatedError(id_text, version);
      }
    }
    // The run that continues the state's version without a gap, applied at once.
    size_t end = begin;
    while (end < n && views[end].version() == out->version + 1 + static_cast<int64_t>(end - begin)) {
      ++end;
    }
    size_t applied = 0;
    const absl::Status status =
        type_->ApplyEach(out->state, absl::MakeConstSpan(views.data() + begin, end - begin), &applied);
    out->version += static_cast<int64_t>(applied);
    out->applied += static_cast<int64_t>(applied);
    if (!status.ok()) {
      const EventView& event = views[begin + applied];
      // string_view, not c_str(): GCC 12 at -O1 under ASan misreads the strlen.
      return Wrap(status, absl::StrCat("applying event ", event.version(), " (type \"", ToAbsl(event.type()),
                                       "\") of ", id_text));
    }
    if (end < n) {
      return absl::DataLossError(absl::StrCat("stream ", id_text, " yielded version ",
                                              views[end].version(), " after version ", out->version,
                                              ": versions must be gapless"));
    }
    const EventView& last = views[n - 1];
    if (last.version() == out->version) {
      out->last_event_id = last.id();
      out->has_last_event_id = true;
    }
  }
}

absl::Status AggregateStore::PrepareSave(Aggregate* agg, BatchBuilder* builder) {
  // Reserved keys are refused before any hook runs or anything is written.
  // The event store accepts them (the toolkit's own components write them
  // through it); the aggregate layer is where user code adds metadata.
  for (size_t i = 0; i < agg->pending_.size(); ++i) {
    for (const auto& [key, value] : agg->pending_[i].metadata) {
      if (std::string_view(key).substr(0, kReservedMetadataPrefix.size()) == kReservedMetadataPrefix) {
        return absl::InvalidArgumentError(absl::StrCat("queued event ", i + 1, " (type \"", agg->pending_[i].type,
                                                       "\"): metadata key \"", key,
                                                       "\" is reserved for the toolkit's own components (\"estoria.\" prefix) "
                                                       "and may not be added to an aggregate's events; nothing was written"));
      }
    }
  }
  HookContext ctx(HookStage::kBeforeSave);
  RETURN_IF_ERROR(hooks_.RunBefore(HookStage::kBeforeSave, &ctx, agg->id_text_, agg->version_));

  for (const Aggregate::PendingEvent& event : agg->pending_) {
    RETURN_IF_ERROR(builder->Add(event.type, Bytes(event.data), event.content_type));
    if (event.id.has_value()) RETURN_IF_ERROR(builder->SetId(*event.id));
    for (const auto& [key, value] : ctx.metadata()) {
      bool own = false;  // the event's own value wins over a hook's
      for (const auto& kv : event.metadata) own = own || kv.first == key;
      if (!own) RETURN_IF_ERROR(builder->AddMetadata(key, value));
    }
    for (const auto& [key, value] : event.metadata) RETURN_IF_ERROR(builder->AddMetadata(key, value));
  }
  return absl::OkStatus();
}

absl::Status AggregateStore::Save(Aggregate* agg, AppendResult* result) {
  RETURN_IF_ERROR(agg->CheckUsable());
  if (agg->pending_.empty()) {
    if (result != nullptr) {
      *result = AppendResult{};
      result->actual_version = agg->version_;
    }
    return absl::OkStatus();
  }
  BatchBuilder builder;
  RETURN_IF_ERROR(PrepareSave(agg, &builder));
  ASSIGN_OR_RETURN(WritableBatch batch, builder.View());

  AppendOptions options;
  options.expect = Expect::kVersion;
  options.expected_version = agg->version_;
  std::unique_ptr<EventIterator> written;
  absl::StatusOr<AppendResult> appended = store_->Append(agg->id_, batch, options, &written);
  if (!appended.ok()) {
    if (result != nullptr) {
      if (std::optional<VersionMismatch> mismatch = GetVersionMismatch(appended.status())) {
        *result = AppendResult{};
        result->actual_version = mismatch->actual;
      }
    }
    return appended.status();
  }
  if (result != nullptr) *result = *appended;
  return FinishSave(agg, *appended, std::move(written));
}

absl::Status AggregateStore::SaveMany(absl::Span<Aggregate* const> aggs, std::vector<AppendResult>* results) {
  results->assign(aggs.size(), AppendResult{});
  std::vector<WritableBatch> batches;
  std::vector<size_t> saving;  // indexes of the aggregates with queued events
  batches.reserve(aggs.size());
  for (size_t i = 0; i < aggs.size(); ++i) {
    Aggregate* agg = aggs[i];
    if (agg == nullptr) return absl::InvalidArgumentError(absl::StrCat("aggregate ", i, " is null"));
    RETURN_IF_ERROR(agg->CheckUsable());
    if (agg->store_->store_ != aggs[0]->store_->store_) {
      return absl::InvalidArgumentError("the aggregates of one transaction must share one event store");
    }
    for (size_t j = 0; j < i; ++j) {
      if (aggs[j] == agg || aggs[j]->id_ == agg->id_) {
        return absl::InvalidArgumentError(absl::StrCat("aggregate ", agg->id_text_, " is given twice"));
      }
    }
    (*results)[i].actual_version = agg->version_;
    if (agg->pending_.empty()) continue;
    BatchBuilder builder;
    RETURN_IF_ERROR(agg->store_->PrepareSave(agg, &builder));
    ASSIGN_OR_RETURN(WritableBatch batch, builder.Build());
    batches.push_back(std::move(batch));
    saving.push_back(i);
  }
  if (saving.empty()) return absl::OkStatus();
  std::vector<StreamAppend> appends;
  for (size_t k = 0; k < saving.size(); ++k) {
    Aggregate* agg = aggs[saving[k]];
    AppendOptions options;
    options.expect = Expect::kVersion;
    options.expected_version = agg->version_;
    appends.push_back(StreamAppend{agg->id_, &batches[k], options});
  }
  std::vector<AppendResult> appended;
  absl::Status status = aggs[0]->store_->store_->AppendMany(appends, &appended);
  if (!status.ok()) {
    if (appended.size() == saving.size()) {
      for (size_t k = 0; k < saving.size(); ++k) (*results)[saving[k]].actual_version = appended[k].actual_version;
    }
    return status;
  }
  // Written: apply each; the first failure is reported, the others still apply.
  absl::Status first_failure;
  for (size_t k = 0; k < saving.size(); ++k) {
    Aggregate* agg = aggs[saving[k]];
    (*results)[saving[k]] = appended[k];
    (*results)[saving[k]].actual_version = appended[k].last_version;
    absl::Status finished = agg->store_->FinishSave(agg, appended[k], nullptr);
    if (!finished.ok() && first_failure.ok()) first_failure = finished;
  }
  return first_failure;
}

absl::Status AggregateStore::FinishSave(Aggregate* agg, const AppendResult& appended,
                                        std::unique_ptr<EventIterator> written) {
  const int64_t from = agg->version_;
  const size_t count = agg->pending_.size();
  agg->pending_.clear();

  // Apply what was written, as a read returns it (versions, positions, IDs).
  Folded folded(type_.get());
  folded.state = std::exchange(agg->state_, nullptr);
  folded.version = from;
  absl::Status status;
  if (written == nullptr) {
    ReadOptions read;
    read.after_version = from;
    read.count = static_cast<int64_t>(count);
    absl::StatusOr<std::unique_ptr<EventIterator>> reread = store_->ReadStream(agg->id_, read);
    if (reread.ok()) {
      written = *std::move(reread);
    } else {
      status = reread.status();
    }
  }
  if (status.ok()) {
    absl::StatusOr<bool> done = Fold(written.get(), agg->id_text_, &folded);
    if (!done.ok()) {
      status = done.status();
    } else if (folded.version != appended.last_version) {
      status = absl::InternalError(absl::StrCat("the written events ended at version ", folded.version, ", not ",
                                                appended.last_version));
    }
  }
  if (!status.ok()) {
    // `folded` frees the half-applied state: it is never handed out again.
    agg->stale_ = true;
    agg->version_ = appended.last_version;
    return AppliedPartiallyError(
        absl::StrCat("the events of ", agg->id_text_, " were appended (versions ", appended.first_version, " to ",
                     appended.last_version, ") but not applied: ", status.message(), "; load the aggregate again"),
        appended.first_version, appended.last_version);
  }
  agg->state_ = folded.Release();
  agg->version_ = folded.version;
  if (folded.has_last_event_id) {
    AfterStateChange(agg->id_, agg->id_text_, agg->state_, agg->version_, folded.last_event_id,
                     policy_.ShouldSnapshot(from, agg->version_));
  }
  hooks_.RunAfter(HookStage::kAfterSave, agg->id_text_, agg->version_);
  return absl::OkStatus();
}

void AggregateStore::AfterStateChange(const Id& id, const std::string& id_text, const void* state, int64_t version,
                                      const Uuid& last_event_id, bool snapshot) {
  if (cache_ == nullptr && !snapshot) return;
  auto entry = std::make_shared<StateCache::Entry>();
  if (absl::Status encoded = type_->Encode(state, &entry->state); !encoded.ok()) {
    store_->host().Log(LogLevel::kError, absl::StrCat("encoding the state of ", id_text, " at version ", version,
                                       " failed; no snapshot or cache entry: ", encoded.ToString()));
    return;
  }
  if (snapshot) {
    absl::Status written =
        store_->WriteSnapshot(id, version, Bytes(entry->state), type_->snapshot_content_type(), /*timestamp_ns=*/0);
    if (!written.ok()) {
      store_->host().Log(LogLevel::kError, absl::StrCat("writing the snapshot of ", id_text, " at version ", version,
                                         " failed: ", written.ToString()));
    } else {
      counters_.snapshots_written.fetch_add(1, std::memory_order_relaxed);
      if (policy_.has_retention()) {
        absl::Status pruned = store_->PruneSnapshots(id, policy_.keep_last, policy_.keep_min_version);
        if (!pruned.ok()) {
          store_->host().Log(LogLevel::kError,
                             absl::StrCat("pruning the snapshots of ", id_text, " failed: ", pruned.ToString()));
        }
      }
    }
  }
  if (cache_ != nullptr) {
    entry->version = version;
    entry->last_event_id = last_event_id;
    cache_->Put(id, std::move(entry));
  }
}

AggregateStats AggregateStore::Stats() const {
  AggregateStats stats;
  stats.loads = counters_.loads.load(std::memory_order_relaxed);
  stats.events_applied = counters_.events_applied.load(std::memory_order_relaxed);
  stats.snapshots_used = counters_.snapshots_used.load(std::memory_order_relaxed);
  stats.snapshots_written = counters_.snapshots_written.load(std::memory_order_relaxed);
  stats.cache_hits = counters_.cache_hits.load(std::memory_order_relaxed);
  stats.cache_misses = counters_.cache_misses.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace estoria::core
