// estoria/aggregates/aggregate_store.hpp: typed C++ aggregates over the
// aggregate engine of the C ABI (est_aggregate_*). A state type S, domain
// events as C++ types, and codecs for both; the engine does the fold, the
// concurrency check, snapshots, the cache and hooks.
//
//   struct Account { int64_t balance = 0; };
//   struct Deposited {
//     static constexpr std::string_view kType = "deposited";
//     int64_t amount = 0;
//     void apply(Account& a) const { a.balance += amount; }
//   };
//   template <> struct estoria::AggregateTraits<Account> {
//     using Events = std::variant<Opened, Deposited, Withdrawn>;
//     using EventCodec = estoria::JsonCodec;   // events' data
//     using StateCodec = estoria::JsonCodec;   // snapshots and cache; NoStateCodec: none
//   };
//
//   auto accounts = AggregateStore<Account>::Open(store, "account", options).value();
//   Aggregate<Account> a = accounts.Load(uuid).value();
//   if (a.state().balance >= 10) {                 // business rules: before Append
//     a.Append(Withdrawn{10}).value();
//     Result<AppendResult> saved = a.Save();       // EST_ERR_VERSION_MISMATCH: reload, retry
//   }
//
// The traits may also be members of S (S::Events, S::EventCodec and
// optionally S::StateCodec); a specialization of AggregateTraits<S> wins.
//
// Events: each alternative E of Events has `static constexpr std::string_view
// kType` (its type name in the store, unique within Events) and one of
//   void apply(S&) const;                     Result<void> apply(S&) const;
//   void apply(S&, const EventView&) const;   Result<void> apply(S&, const EventView&) const;
// (the EventView gives the stored event's version, timestamp and metadata).
// An apply should not fail (events are facts); when it does, by a failed
// Result or by throwing, the load or save fails with that error: an
// exception never unwinds through the C library (every callback catches).
// A stored event whose type is not in Events is EST_ERR_UNSUPPORTED.
//
// State: S is made with S(const Id&) when it has such a constructor, else
// S(); it must be movable when it has a StateCodec.
//
// Ownership and threads: AggregateStore is a shared handle (copies share
// one engine store) and may be used from many threads at once; callbacks
// (codecs, apply, hooks) then run concurrently on the callers' threads, so
// they must be safe to call concurrently. An Aggregate is used by one
// thread at a time; it keeps its store's engine alive, so stores and
// aggregates may be destroyed in any order. Closing the Store underneath
// makes them answer EST_ERR_CLOSED (they stay safe to use and to destroy).
#ifndef ESTORIA_AGGREGATES_AGGREGATE_STORE_HPP_
#define ESTORIA_AGGREGATES_AGGREGATE_STORE_HPP_

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#if defined(__cpp_exceptions)
#include <exception>
#endif

#include "estoria/aggregates/codec.hpp"
#include "estoria/estoria.h"
#include "estoria/event.hpp"
#include "estoria/id.hpp"
#include "estoria/result.hpp"
#include "estoria/store.hpp"
#include "estoria/string_arg.hpp"

namespace estoria {

// Where the layer finds an aggregate's events and codecs. Specialize it for
// a state type you cannot (or prefer not to) change.
template <class S>
struct AggregateTraits;

namespace internal {

template <class S>
struct StateCodecMember {
  using type = NoStateCodec;
};
template <class S>
  requires requires { typename S::StateCodec; }
struct StateCodecMember<S> {
  using type = typename S::StateCodec;
};

}  // namespace internal

// The default: members of S.
template <class S>
  requires requires {
    typename S::Events;
    typename S::EventCodec;
  }
struct AggregateTraits<S> {
  using Events = typename S::Events;
  using EventCodec = typename S::EventCodec;
  using StateCodec = typename internal::StateCodecMember<S>::type;
};

// A domain event of state S (see the top of this file).
template <class E, class S>
concept DomainEvent = requires {
  { E::kType } -> std::convertible_to<std::string_view>;
} && (requires(const E& e, S& s) { e.apply(s); } || requires(const E& e, S& s, const EventView& v) { e.apply(s, v); });

// True for the status of a save that appended its events but could not apply
// them (the stored events are fine; the aggregate must be reloaded). The
// SDK's ErrorCode has no name for it yet.
inline bool IsAppliedPartially(const Error& e) { return e.status() == EST_ERR_APPLIED_PARTIALLY; }

enum class HookStage : int32_t {
  kBeforeLoad = EST_HOOK_BEFORE_LOAD,
  kAfterLoad = EST_HOOK_AFTER_LOAD,
  kBeforeSave = EST_HOOK_BEFORE_SAVE,
  kAfterSave = EST_HOOK_AFTER_SAVE,
};

// What a hook sees; valid during the hook call only.
class HookContext {
 public:
  HookContext(HookStage stage, est_hook_context* ctx, const char* aggregate_id, int64_t version)
      : stage_(stage), ctx_(ctx), aggregate_id_(aggregate_id == nullptr ? "" : aggregate_id), version_(version) {}

  HookStage stage() const { return stage_; }
  // "type_uuid".
  std::string_view aggregate_id() const { return aggregate_id_; }
  // The aggregate's version; before a load, the requested to_version (0 = latest).
  int64_t version() const { return version_; }

  // From a before-save hook: adds `key: value` to every event of the save
  // (correlation and causation IDs). Reserved "estoria." keys fail the save.
  Result<void> AddMetadata(const StringArg& key, const StringArg& value) {
    if (!key.valid() || !value.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "metadata holds no NUL");
    return internal::Check(est_hook_add_metadata(ctx_, key.c_str(), value.c_str()));
  }

 private:
  HookStage stage_;
  est_hook_context* ctx_;
  std::string_view aggregate_id_;
  int64_t version_;
};

// An error from a before-hook fails the load or save with that error; an
// after-hook's error goes to the log handler (est_set_log_handler).
using Hook = std::function<Result<void>(HookContext&)>;

struct AggregateStoreOptions {
  int64_t snapshot_every = 0;             // snapshot after a save crossing a multiple of N events; 0 = never
  int64_t snapshot_keep_last = 0;         // retention: keep the newest N snapshots; 0 = all
  int64_t snapshot_keep_min_version = 0;  // retention: drop snapshots below V; 0 = none
  int64_t cache_capacity = 0;             // aggregates cached (LRU of encoded states); 0 = no cache
  // Hooks of one stage run in the order given.
  std::vector<std::pair<HookStage, Hook>> hooks;

  AggregateStoreOptions& AddHook(HookStage stage, Hook hook) {
    hooks.emplace_back(stage, std::move(hook));
    return *this;
  }
};

struct AggregateStats {
  int64_t loads = 0;
  int64_t events_applied = 0;  // events folded by loads (not by saves)
  int64_t snapshots_used = 0;  // loads that started from a snapshot
  int64_t snapshots_written = 0;
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
};

template <class S>
class AggregateStore;
template <class S>
class Aggregate;

namespace internal {

template <class E, class V>
struct IsAlternative : std::false_type {};
template <class E, class... Es>
struct IsAlternative<E, std::variant<Es...>> : std::bool_constant<(std::same_as<E, Es> || ...)> {};

template <class V>
struct EventList : std::false_type {};
template <class... Es>
struct EventList<std::variant<Es...>> : std::true_type {
  // Type names must tell the alternatives apart: a load dispatches on them.
  static constexpr bool DistinctTypes() {
    std::string_view names[] = {std::string_view(Es::kType)...};
    for (size_t i = 0; i < sizeof...(Es); ++i) {
      for (size_t j = i + 1; j < sizeof...(Es); ++j) {
        if (names[i] == names[j]) return false;
      }
    }
    return true;
  }
};

// Whether the NUL-terminated `s` is `name`, reading no byte past s's NUL: a
// mismatch stops the walk, and names hold no NUL.
inline bool IsName(const char* s, std::string_view name) {
  for (char c : name) {
    if (*s != c) return false;
    ++s;
  }
  return *s == '\0';
}

// E::kType and its NUL.
template <class E>
inline constexpr auto kTypeWithNul = [] {
  constexpr std::string_view name(E::kType);
  std::array<char, name.size() + 1> bytes{};
  for (size_t i = 0; i < name.size(); ++i) bytes[i] = name[i];
  return bytes;
}();

// The dispatch of every event a load folds: whether the event's type `s` is
// E::kType. When `readable` bytes from s on may be read (ReadableTypeBytes)
// and they cover the name and its NUL, a memcmp of that constant size, which
// compilers turn into a word compare or two; else a walk byte by byte. No
// strlen either way.
template <class E>
inline bool IsTypeOf(const char* s, size_t readable) {
  constexpr const auto& name = kTypeWithNul<E>;
  if (readable >= name.size()) return std::memcmp(s, name.data(), name.size()) == 0;
  return IsName(s, E::kType);
}

// How many bytes from event->type on may be read: up to the end of the
// stored record, inside which every string of a view lies (est_event.record,
// ABI 1.3). 0 without a record (a view from an older library), and, as a
// precaution, for a type outside it.
inline size_t ReadableTypeBytes(const est_event* event) {
  if (event->struct_size < offsetof(est_event, record_len) + sizeof(event->record_len)) return 0;
  const uintptr_t at = reinterpret_cast<uintptr_t>(event->type) - reinterpret_cast<uintptr_t>(event->record);
  return event->record != nullptr && at < event->record_len ? event->record_len - at : 0;
}

// The status a callback returns for a failed Result: its code (an error one:
// a "failure" carrying EST_OK would read as success) and its message.
inline est_status FailWith(const Error& error) {
  est_set_error(error.message().c_str());
  return error.status() < 0 ? error.status() : EST_ERR_INTERNAL;
}
inline est_status FailWith(est_status status, const std::string& message) {
  est_set_error(message.c_str());
  return status;
}

#if defined(__cpp_exceptions)
// The status for the exception being handled: called from a catch block,
// it rethrows to tell the kinds apart. Out of line and cold, so that the
// messages it builds cost a callback's hot path nothing.
template <class D>
[[gnu::noinline, gnu::cold]] est_status Caught(D& describe) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    est_set_error("out of memory");
    return EST_ERR_NO_MEMORY;
  } catch (const std::exception& e) {
    try {
      return FailWith(EST_ERR_INTERNAL, describe() + " threw: " + e.what());
    } catch (...) {
      est_set_error("an aggregate callback threw");
      return EST_ERR_INTERNAL;
    }
  } catch (...) {
    try {
      return FailWith(EST_ERR_INTERNAL, describe() + " threw a non-standard exception");
    } catch (...) {
      est_set_error("an aggregate callback threw");
      return EST_ERR_INTERNAL;
    }
  }
}
#endif

// Runs a callback body; no exception leaves it. `describe` names what was
// running, for the message, and is called only on failure.
template <class F, class D>
est_status Guard(F&& body, D&& describe) noexcept {
#if defined(__cpp_exceptions)
  try {
    return body();
  } catch (...) {
    return Caught(describe);
  }
#else
  (void)describe;
  return body();
#endif
}

// What the engine's callbacks reach through their `user` pointer: the type
// name, the codecs and the hooks. Shared by the AggregateStore and every
// Aggregate made from it, and owns the est_aggregate_store, so the engine
// never calls into a freed object.
template <class S>
class AggregateCore {
 public:
  using Traits = AggregateTraits<S>;
  using Events = typename Traits::Events;
  using EventCodec = typename Traits::EventCodec;
  using StateCodec = typename Traits::StateCodec;
  static constexpr bool kHasStateCodec = !std::same_as<StateCodec, NoStateCodec>;

  AggregateCore(std::string type_name, EventCodec event_codec, StateCodec state_codec)
      : type_name_(std::move(type_name)),
        event_codec_(std::move(event_codec)),
        state_codec_(std::move(state_codec)) {}
  AggregateCore(const AggregateCore&) = delete;
  AggregateCore& operator=(const AggregateCore&) = delete;
  ~AggregateCore() { est_aggregate_store_free(astore_); }

  // The vtable; `this` must stay where it is while the engine may call it.
  est_aggregate_type Vtable() const {
    est_aggregate_type t = EST_AGGREGATE_TYPE_INIT;
    t.type_name = type_name_.c_str();
    t.user = const_cast<AggregateCore*>(this);
    t.new_state = &NewState;
    t.apply = &Apply;
    t.free_state = &FreeState;
    if constexpr (kHasStateCodec) {
      t.encode = &Encode;
      t.decode = &Decode;
      t.snapshot_content_type = state_codec_.content_type();
    }
    return t;
  }

  // Adds a hook; its std::function lives as long as this core.
  est_status AddHook(HookStage stage, Hook hook) {
    hooks_.push_back(std::make_unique<Hook>(std::move(hook)));
    return est_aggregate_store_add_hook(astore_, static_cast<int32_t>(stage), &RunHook, hooks_.back().get());
  }

  const std::string& type_name() const { return type_name_; }
  const EventCodec& event_codec() const { return event_codec_; }
  est_aggregate_store* astore() const { return astore_; }
  void set_astore(est_aggregate_store* a) { astore_ = a; }

 private:
  static const AggregateCore& Self(void* user) { return *static_cast<const AggregateCore*>(user); }

  static est_status NewState(void* user, const est_uuid* id, void** state) {
    const AggregateCore& self = Self(user);
    return Guard(
        [&]() -> est_status {
          if constexpr (std::constructible_from<S, const Id&>) {
            Result<Id> aggregate_id = Id::Make(self.type_name_, Uuid::FromC(*id));
            if (!aggregate_id.ok()) return FailWith(aggregate_id.error());
            *state = new S(*aggregate_id);
          } else {
            (void)id;
            *state = new S();
          }
          return EST_OK;
        },
        [&] { return "new state of " + self.type_name_; });
  }

  // Called for every event a load folds: Guard's work spelled out, so that
  // nothing but the dispatch, the decode and the event's apply is on its
  // path (the handler's message is built out of line).
  static est_status Apply(void* user, void* state, const est_event* event) noexcept {
    const AggregateCore& self = Self(user);
#if defined(__cpp_exceptions)
    try {
      return self.Dispatch<0>(*static_cast<S*>(state), event, ReadableTypeBytes(event));
    } catch (...) {
      return self.ApplyThrew(event);
    }
#else
    return self.Dispatch<0>(*static_cast<S*>(state), event, ReadableTypeBytes(event));
#endif
  }

  static void FreeState(void*, void* state) { delete static_cast<S*>(state); }

  static est_status Encode(void* user, const void* state, est_buffer* out) {
    const AggregateCore& self = Self(user);
    return Guard(
        [&]() -> est_status {
          std::string bytes;
          Result<void> r = self.state_codec_.template Encode<S>(*static_cast<const S*>(state), bytes);
          if (!r.ok()) return FailWith(r.error());
          return est_buffer_append(out, bytes.data(), bytes.size());
        },
        [&] { return self.type_name_ + ": encoding the state"; });
  }

  static est_status Decode(void* user, const uint8_t* data, size_t len, void** state) {
    const AggregateCore& self = Self(user);
    return Guard(
        [&]() -> est_status {
          Result<S> s = self.state_codec_.template Decode<S>(std::span<const uint8_t>(data, len));
          if (!s.ok()) return FailWith(s.error());
          *state = new S(std::move(*s));
          return EST_OK;
        },
        [&] { return self.type_name_ + ": decoding a state"; });
  }

  static est_status RunHook(void* user, int32_t stage, est_hook_context* ctx, const char* aggregate_id,
                            int64_t version) {
    const Hook& hook = *static_cast<const Hook*>(user);
    return Guard(
        [&]() -> est_status {
          HookContext context(static_cast<HookStage>(stage), ctx, aggregate_id, version);
          Result<void> r = hook(context);
          return r.ok() ? EST_OK : FailWith(r.error());
        },
        [&] { return std::string("a hook on ") + (aggregate_id == nullptr ? "?" : aggregate_id); });
  }

  // Finds the alternative whose kType is the event's type, by a linear walk:
  // event lists are short, and most names differ in their first bytes.
  // `readable`: ReadableTypeBytes(event).
  template <size_t I>
  [[gnu::always_inline]] est_status Dispatch(S& state, const est_event* event, size_t readable) const {
    if constexpr (I == std::variant_size_v<Events>) {
      return UnknownType(event);
    } else {
      using E = std::variant_alternative_t<I, Events>;
      if (IsTypeOf<E>(event->type, readable)) return ApplyEvent<E>(state, event);
      return Dispatch<I + 1>(state, event, readable);
    }
  }

  template <class E>
  est_status ApplyEvent(S& state, const est_event* event) const {
    Result<E> decoded = event_codec_.template Decode<E>(std::span<const uint8_t>(event->data, event->data_len));
    if (!decoded.ok()) return DecodeFailed(event, decoded.error());
    const E& e = *decoded;
    if constexpr (requires(const EventView& v) { e.apply(state, v); }) {
      EventView view(event);
      if constexpr (std::is_void_v<decltype(e.apply(state, view))>) {
        e.apply(state, view);
        return EST_OK;
      } else {
        return Finish(e.apply(state, view));
      }
    } else if constexpr (std::is_void_v<decltype(e.apply(state))>) {
      e.apply(state);
      return EST_OK;
    } else {
      return Finish(e.apply(state));
    }
  }

  // The failures of a fold, out of line: their messages are no part of the
  // loop that applies events.
  [[gnu::noinline, gnu::cold]] est_status UnknownType(const est_event* event) const {
    return FailWith(EST_ERR_UNSUPPORTED, type_name_ + ": unknown event type '" + event->type + "' at version " +
                                             std::to_string(event->stream_version));
  }
#if defined(__cpp_exceptions)
  // REQUIRES: called from a catch block.
  [[gnu::noinline, gnu::cold]] est_status ApplyThrew(const est_event* event) const noexcept {
    auto describe = [&] {
      return type_name_ + ": applying '" + event->type + "' (version " + std::to_string(event->stream_version) + ")";
    };
    return Caught(describe);
  }
#endif
  [[gnu::noinline, gnu::cold]] est_status DecodeFailed(const est_event* event, const Error& error) const {
    return FailWith(error.status() < 0 ? error.status() : EST_ERR_INTERNAL,
                    type_name_ + ": event '" + event->type + "' at version " + std::to_string(event->stream_version) +
                        ": " + error.message());
  }

  static est_status Finish(const Result<void>& r) { return r.ok() ? EST_OK : FailWith(r.error()); }

  std::string type_name_;
  EventCodec event_codec_;
  StateCodec state_codec_;
  std::vector<std::unique_ptr<Hook>> hooks_;
  est_aggregate_store* astore_ = nullptr;
};

}  // namespace internal

// What Aggregate::Append returns: success or the first error, with a setter
// for metadata on the event just queued that chains and stops at the first
// failure:
//
//   Result<void> r = agg.Append(Deposited{100}).Metadata("user", "ana");
//
// Borrows the Aggregate; use it within the expression.
class [[nodiscard]] AggregateEvent : public Result<void> {
 public:
  AggregateEvent(est_aggregate* agg, Result<void> result) : Result<void>(std::move(result)), agg_(agg) {}

  // Reserved "estoria." keys are refused at save, before anything is written.
  AggregateEvent Metadata(const StringArg& key, const StringArg& value) && {
    if (!ok()) return std::move(*this);
    if (!key.valid() || !value.valid()) return {agg_, Error(EST_ERR_INVALID_ARGUMENT, "metadata holds no NUL")};
    return {agg_, internal::Check(est_aggregate_append_metadata(agg_, key.c_str(), value.c_str()))};
  }

#ifdef EST_EXPERIMENTAL
  // Gives the event a caller-chosen ID: a save whose events all carry IDs is
  // safe to retry (a lost reply's retry is AppendResult::duplicate). Needs
  // EST_EXPERIMENTAL defined before estoria.h is first included.
  AggregateEvent EventId(const Uuid& id) && {
    if (!ok()) return std::move(*this);
    const est_uuid c = id.ToC();
    return {agg_, internal::Check(est_aggregate_set_event_id(agg_, &c))};
  }
#endif  // EST_EXPERIMENTAL

 private:
  est_aggregate* agg_;
};

// One loaded (or new) aggregate: its state at version(), and the events
// queued since. Movable, not copyable; a moved-from Aggregate answers every
// call with EST_ERR_CLOSED and must not be asked for state().
template <class S>
class Aggregate {
 public:
  using Traits = AggregateTraits<S>;
  using Events = typename Traits::Events;

  Aggregate() = default;

  // The state folded up to version() plus the events saved since; owned by
  // the aggregate, valid until the next Save() or its destruction. Mutate
  // it only through events.
  const S& state() const {
    const void* s = agg_ ? est_aggregate_state(agg_.get()) : nullptr;
    if (s == nullptr) {
      std::fprintf(stderr, "estoria: state() of an empty Aggregate\n");
      std::abort();
    }
    return *static_cast<const S*>(s);
  }
  // The version of the stream the state reflects (0 for a new aggregate).
  int64_t version() const { return agg_ ? est_aggregate_version(agg_.get()) : 0; }
  // "type_uuid".
  const Id& id() const { return id_; }
  // Events queued and not yet saved.
  size_t pending() const { return agg_ ? est_aggregate_pending(agg_.get()) : 0; }

  // Queues a domain event: encoded now, written by Save(). Enforce business
  // rules before this call: a queued event is a fact once saved.
  template <class E>
    requires internal::IsAlternative<E, Events>::value
  AggregateEvent Append(const E& event) {
    if (!agg_) return {nullptr, Closed()};
    std::string bytes;
    Result<void> encoded = core_->event_codec().template Encode<E>(event, bytes);
    if (!encoded.ok()) return {agg_.get(), encoded};
    // The ABI wants a NUL-terminated name; kType need not be one.
    static const std::string type(E::kType);
    est_status st = est_aggregate_append(agg_.get(), type.c_str(), bytes.data(), bytes.size(),
                                         core_->event_codec().content_type());
    return {agg_.get(), internal::Check(st)};
  }
  // The same for an event held in the Events variant.
  AggregateEvent Append(const Events& event) {
    return std::visit([this](const auto& e) { return this->Append(e); }, event);
  }

  // Appends the queued events expecting version(), then applies them.
  // EST_ERR_VERSION_MISMATCH: nothing was written (the error carries the
  // expected and actual versions); this aggregate keeps its queue and
  // state, so load it again and retry the command.
  // EST_ERR_APPLIED_PARTIALLY (IsAppliedPartially): the events were written
  // but could not be applied: load the aggregate again.
  Result<AppendResult> Save() {
    if (!agg_) return Closed();
    int64_t expected = est_aggregate_version(agg_.get());
    est_append_result r = EST_APPEND_RESULT_INIT;
    est_status st = est_aggregate_save(agg_.get(), &r);
    if (st == EST_ERR_VERSION_MISMATCH) return Error::VersionMismatch(est_last_error(), expected, r.actual_version);
    if (st != EST_OK) return Error::Last(st);
    return internal::FromC(r);
  }

  // The underlying handle, owned by this object (NULL when empty).
  est_aggregate* get() const { return agg_.get(); }

 private:
  friend class AggregateStore<S>;
  struct Free {
    void operator()(est_aggregate* a) const { est_aggregate_free(a); }
  };

  Aggregate(std::shared_ptr<const internal::AggregateCore<S>> core, est_aggregate* agg)
      : core_(std::move(core)), agg_(agg) {
    Result<Id> id = Id::Parse(est_aggregate_id(agg));
    if (id.ok()) id_ = std::move(*id);
  }

  static Error Closed() { return Error(EST_ERR_CLOSED, "the Aggregate is empty or was moved from"); }

  // Declared before agg_, so destroyed after it: freeing the aggregate runs
  // free_state through the core.
  std::shared_ptr<const internal::AggregateCore<S>> core_;
  std::unique_ptr<est_aggregate, Free> agg_;
  Id id_;
};

// Aggregates of one type (streams "type_uuid") on one store.
template <class S>
class AggregateStore {
 public:
  using Traits = AggregateTraits<S>;
  using Events = typename Traits::Events;
  using EventCodec = typename Traits::EventCodec;
  using StateCodec = typename Traits::StateCodec;

  static_assert(internal::EventList<Events>::value, "AggregateTraits<S>::Events must be a std::variant of events");
  static_assert(internal::EventList<Events>::DistinctTypes(), "two events of one aggregate share a kType");
  static_assert(StateCodecFor<StateCodec, S>, "StateCodec cannot encode and decode S");

  AggregateStore() = default;  // empty: every call is EST_ERR_CLOSED

  // An aggregate store for `type_name` over `store`. Snapshot or cache
  // options need a StateCodec (else EST_ERR_INVALID_ARGUMENT).
  static Result<AggregateStore> Open(const Store& store, const StringArg& type_name,
                                     AggregateStoreOptions options = {}, EventCodec event_codec = {},
                                     StateCodec state_codec = {}) {
    CheckEvents(std::make_index_sequence<std::variant_size_v<Events>>());
    if (!store.is_open()) return Error(EST_ERR_CLOSED, "the Store is closed or was moved from");
    if (!type_name.valid() || type_name.c_str() == nullptr) {
      return Error(EST_ERR_INVALID_ARGUMENT, "an aggregate type name is text without NUL");
    }
    auto core =
        std::make_shared<internal::AggregateCore<S>>(type_name.c_str(), std::move(event_codec), std::move(state_codec));
    est_aggregate_type type = core->Vtable();
    est_aggregate_store_options o = EST_AGGREGATE_STORE_OPTIONS_INIT;
    o.snapshot_every = options.snapshot_every;
    o.snapshot_keep_last = options.snapshot_keep_last;
    o.snapshot_keep_min_version = options.snapshot_keep_min_version;
    o.cache_capacity = options.cache_capacity;
    est_aggregate_store* astore = nullptr;
    est_status st = est_aggregate_store_new(store.get(), &type, &o, &astore);
    if (st != EST_OK) return Error::Last(st);
    core->set_astore(astore);
    for (auto& [stage, hook] : options.hooks) {
      if (!hook) return Error(EST_ERR_INVALID_ARGUMENT, "an empty hook");
      st = core->AddHook(stage, std::move(hook));
      if (st != EST_OK) return Error::Last(st);
    }
    return AggregateStore(std::move(core));
  }

  // A new aggregate at version 0 with a fresh UUIDv7, or with `uuid`.
  Result<Aggregate<S>> New() const { return NewImpl(nullptr); }
  Result<Aggregate<S>> New(const Uuid& uuid) const {
    est_uuid u = uuid.ToC();
    return NewImpl(&u);
  }

  // Loads aggregate `uuid` at `to_version` (0 = the latest).
  // EST_ERR_NOT_FOUND for an aggregate never written; EST_ERR_INVALID_ARGUMENT
  // when to_version is past the tip.
  Result<Aggregate<S>> Load(const Uuid& uuid, int64_t to_version = 0) const {
    if (!core_) return Closed();
    est_uuid u = uuid.ToC();
    est_aggregate* agg = nullptr;
    est_status st = est_aggregate_load(core_->astore(), &u, to_version, &agg);
    if (st != EST_OK) return Error::Last(st);
    return Aggregate<S>(core_, agg);
  }
#ifdef EST_EXPERIMENTAL
  // Loads aggregate `uuid` as of `timestamp_ns` (unix ns, > 0): the fold of
  // its stream up to, not including, the first event stamped later, from
  // no snapshot newer than that (doc/data-model.md, "Reads as of a time").
  // EST_ERR_NOT_FOUND when it had no event by then.
  Result<Aggregate<S>> LoadAt(const Uuid& uuid, int64_t timestamp_ns) const {
    if (!core_) return Closed();
    est_uuid u = uuid.ToC();
    est_aggregate* agg = nullptr;
    est_status st = est_aggregate_load_at(core_->astore(), &u, timestamp_ns, &agg);
    if (st != EST_OK) return Error::Last(st);
    return Aggregate<S>(core_, agg);
  }
#endif  // EST_EXPERIMENTAL
  // The same by ID, whose type must be this store's.
  Result<Aggregate<S>> Load(const Id& id, int64_t to_version = 0) const {
    if (!core_) return Closed();
    if (id.type() != core_->type_name()) {
      return Error(EST_ERR_INVALID_ARGUMENT, "aggregate " + id.str() + " is not of type " + core_->type_name());
    }
    return Load(id.uuid(), to_version);
  }

  // Counters since this store was opened.
  Result<AggregateStats> Stats() const {
    if (!core_) return Closed();
    est_aggregate_stats s = EST_AGGREGATE_STATS_INIT;
    est_status st = est_aggregate_store_stats(core_->astore(), &s);
    if (st != EST_OK) return Error::Last(st);
    return AggregateStats{s.loads, s.events_applied, s.snapshots_used, s.snapshots_written, s.cache_hits,
                          s.cache_misses};
  }

  // The aggregate type name; "" when empty.
  std::string_view type_name() const { return core_ ? std::string_view(core_->type_name()) : std::string_view(); }
  // The underlying handle, owned by this object and its Aggregates.
  est_aggregate_store* get() const { return core_ ? core_->astore() : nullptr; }

 private:
  explicit AggregateStore(std::shared_ptr<internal::AggregateCore<S>> core) : core_(std::move(core)) {}

  template <size_t... I>
  static constexpr void CheckEvents(std::index_sequence<I...>) {
    static_assert((DomainEvent<std::variant_alternative_t<I, Events>, S> && ...),
                  "every event needs kType and a const apply(S&) (see aggregate_store.hpp)");
    static_assert((CodecFor<EventCodec, std::variant_alternative_t<I, Events>> && ...),
                  "EventCodec cannot encode and decode every event");
  }

  static Error Closed() { return Error(EST_ERR_CLOSED, "the AggregateStore is empty or was moved from"); }

  Result<Aggregate<S>> NewImpl(const est_uuid* uuid) const {
    if (!core_) return Closed();
    est_aggregate* agg = nullptr;
    est_status st = est_aggregate_new(core_->astore(), uuid, &agg);
    if (st != EST_OK) return Error::Last(st);
    return Aggregate<S>(core_, agg);
  }

  std::shared_ptr<internal::AggregateCore<S>> core_;
};

#ifdef EST_EXPERIMENTAL
// Saves several aggregates (of any state types, over one store) in one
// transaction: every queued event written or none, each append expecting
// its aggregate's loaded version; then each applies its events as Save
// does. A mismatch (IsVersionMismatch; the message names the stream) writes
// nothing and keeps every queue: reload and retry. Results in argument order.
// Needs EST_EXPERIMENTAL defined before estoria.h is first included.
template <class... S>
Result<std::vector<AppendResult>> SaveAll(Aggregate<S>&... aggs) {
  est_aggregate* handles[] = {aggs.get()...};
  for (est_aggregate* h : handles) {
    if (h == nullptr) return Error(EST_ERR_CLOSED, "an Aggregate is empty or was moved from");
  }
  std::vector<est_append_result> raw(sizeof...(S));
  for (auto& r : raw) est_append_result_init(&r);
  est_status st = est_aggregate_save_many(handles, sizeof...(S), raw.data());
  if (st == EST_ERR_VERSION_MISMATCH) return Error::VersionMismatch(est_last_error(), 0, 0);
  if (st != EST_OK) return Error::Last(st);
  std::vector<AppendResult> out;
  for (const auto& r : raw) {
    out.push_back(internal::FromC(r));
  }
  return out;
}
#endif  // EST_EXPERIMENTAL

}  // namespace estoria

#endif  // ESTORIA_AGGREGATES_AGGREGATE_STORE_HPP_
