// estoria/projection.hpp: Projection, RAII over est_projection (from the
// header's experimental section: define EST_EXPERIMENTAL before including
// any estoria header). The handler is any callable
//
//   Result<void>(std::span<const EventView> events, ProjectionTxn* tx)
//
// (or one taking only the events), called with runs of events in position
// order; tx is non-null in exactly-once mode, where what the handler appends
// through it commits with the checkpoint. An exception thrown by the handler
// becomes EST_ERR_INTERNAL with its what() as the message: it never crosses
// the C boundary.
//
//   auto p = estoria::Projection::Create(store, "balances", 1,
//       [&](std::span<const estoria::EventView> events, estoria::ProjectionTxn*) -> estoria::Result<void> {
//         for (const auto& e : events) Apply(e);
//         return {};
//       }).value();
//   p.Run(std::chrono::milliseconds(5));  // a host's frame; or Run() until Wake()
//
// doc/data-model.md "Projections" states the guarantees. Lifetimes: views
// are valid during the handler's call only; the handler is kept by the
// Projection (moved along with it). Thread safety: one thread at a time,
// except Wake().
#ifndef ESTORIA_PROJECTION_HPP_
#define ESTORIA_PROJECTION_HPP_

#ifndef EST_EXPERIMENTAL
#error "estoria/projection.hpp needs EST_EXPERIMENTAL defined before any estoria header"
#endif

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "estoria/batch.hpp"
#include "estoria/estoria.h"
#include "estoria/event.hpp"
#include "estoria/result.hpp"
#include "estoria/store.hpp"
#include "estoria/string_arg.hpp"

namespace estoria {

struct ProjectionOptions {
  std::string stream_prefix;             // of the stream ID's text "type_uuid"; "" = every stream
  std::vector<std::string> event_types;  // exact names; empty = every type
  uint32_t batch_max = 0;                // events per handler call; 0 = 256
  uint32_t checkpoint_every = 0;         // events between checkpoints; 0 = every call
  bool exactly_once = false;
  bool continue_on_error = false;
};

struct ProjectionReport {
  int64_t position = 0;  // checkpointed
  int64_t head = 0;      // the store's last visible position when the run ended
  int64_t handled = 0;   // events handed to the handler in the run
  int64_t skipped = 0;   // events skipped after handler errors (continue_on_error)
  bool caught_up = false;
};

// The exactly-once transaction a handler appends its outputs through;
// borrowed for the handler's call (the engine commits it).
class ProjectionTxn {
 public:
  explicit ProjectionTxn(est_txn* txn) : txn_(txn) {}
  Result<void> Append(const StringArg& stream_id, const Batch& batch, const AppendOptions& options = {}) {
    if (!stream_id.valid()) return Error(EST_ERR_INVALID_ARGUMENT, "an ID holds no NUL");
    if (batch.get() == nullptr) return Error(EST_ERR_INVALID_ARGUMENT, "the batch holds no event");
    const est_append_options o = internal::ToC(options);
    return internal::Check(est_txn_append(txn_, stream_id.c_str(), batch.get(), &o));
  }
  est_txn* get() const { return txn_; }

 private:
  est_txn* txn_;
};

class Projection {
 public:
  using Handler = std::function<Result<void>(std::span<const EventView>, ProjectionTxn*)>;

  Projection() = default;
  Projection(Projection&&) noexcept = default;
  Projection& operator=(Projection&&) noexcept = default;

  // A projection "name_vVERSION" of `store`, resumed from its checkpoint.
  template <typename F>
  static Result<Projection> Create(const Store& store, const std::string& name, int32_t version, F&& handler,
                                   const ProjectionOptions& options = {}) {
    if (store.get() == nullptr) return Error(EST_ERR_CLOSED, "the Store is closed or was moved from");
    auto state = std::make_unique<State>();
    if constexpr (std::is_invocable_v<F&, std::span<const EventView>, ProjectionTxn*>) {
      state->handler = Handler(std::forward<F>(handler));
    } else {
      state->handler = [h = std::forward<F>(handler)](std::span<const EventView> events,
                                                      ProjectionTxn*) mutable -> Result<void> { return h(events); };
    }
    state->name = name;
    std::vector<const char*> types;
    types.reserve(options.event_types.size());
    for (const std::string& t : options.event_types) types.push_back(t.c_str());
    est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
    h.name = state->name.c_str();
    h.version = version;
    h.user = state.get();
    h.handle = &State::Trampoline;
    est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
    o.stream_prefix = options.stream_prefix.c_str();
    o.event_types = types.empty() ? nullptr : types.data();
    o.event_types_len = types.size();
    o.batch_max = options.batch_max;
    o.checkpoint_every = options.checkpoint_every;
    o.flags = (options.exactly_once ? EST_PROJECTION_EXACTLY_ONCE : 0u) |
              (options.continue_on_error ? EST_PROJECTION_CONTINUE_ON_ERROR : 0u);
    est_projection* p = nullptr;
    est_status st = est_projection_new(store.get(), &h, &o, &p);
    if (st != EST_OK) return Error::Last(st);
    Projection out;
    out.state_ = std::move(state);
    out.p_.reset(p);
    return out;
  }

  // Catches up and follows for at most `budget` (0 = what is ready now;
  // negative = until Wake() or the store's close). On a handler error the
  // Error is the handler's, and the report still says where it stopped.
  Result<ProjectionReport> Run(std::chrono::microseconds budget = std::chrono::microseconds(-1),
                               ProjectionReport* report_on_error = nullptr) {
    if (!p_) return Error(EST_ERR_CLOSED, "the Projection is empty or was moved from");
    est_projection_report r = EST_PROJECTION_REPORT_INIT;
    const est_status st = est_projection_run(p_.get(), static_cast<int64_t>(budget.count()), &r);
    const ProjectionReport out{r.position, r.head, r.handled, r.skipped, r.caught_up != 0};
    if (st != EST_OK) {
      if (report_on_error != nullptr) *report_on_error = out;
      return Error::Last(st);
    }
    return out;
  }

  // Makes a running Run (or the next one) return. Any thread.
  Result<void> Wake() const {
    if (!p_) return Error(EST_ERR_CLOSED, "the Projection is empty or was moved from");
    return internal::Check(est_projection_wake(p_.get()));
  }

  est_projection* get() const { return p_.get(); }

 private:
  struct State {
    std::string name;
    Handler handler;
    std::vector<EventView> views;

    static est_status Trampoline(void* user, const est_event* events, size_t count, est_txn* tx) {
      auto* self = static_cast<State*>(user);
#if defined(__cpp_exceptions)
      try {
#endif
        self->views.resize(count);
        for (size_t i = 0; i < count; ++i) self->views[i] = EventView(&events[i]);
        ProjectionTxn txn(tx);
        Result<void> r = self->handler(std::span<const EventView>(self->views.data(), count),
                                       tx != nullptr ? &txn : nullptr);
        if (r.ok()) return EST_OK;
        est_set_error(r.error().message().c_str());
        return r.error().status() < 0 ? r.error().status() : EST_ERR_INTERNAL;
#if defined(__cpp_exceptions)
      } catch (const std::exception& e) {
        est_set_error(e.what());
        return EST_ERR_INTERNAL;
      } catch (...) {
        est_set_error("the projection handler threw");
        return EST_ERR_INTERNAL;
      }
#endif
    }
  };
  struct Freer {
    void operator()(est_projection* p) const { est_projection_free(p); }
  };
  // The state (the handler and its `user` pointer) outlives the handle.
  std::unique_ptr<State> state_;
  std::unique_ptr<est_projection, Freer> p_;
};

// Versioned rebuilds (doc/data-model.md "Rebuilds"): the history of each
// is kept in the store.
// Records the request to build `next_version` of `name` beside the active one.
inline Result<void> RequestRebuild(const Store& store, const std::string& name, int32_t next_version,
                                   const std::string& reason = "") {
  if (store.get() == nullptr) return Error(EST_ERR_CLOSED, "the Store is closed or was moved from");
  return internal::Check(est_projection_rebuild(store.get(), name.c_str(), next_version, reason.c_str()));
}
// Makes a caught-up rebuild's `version` active and retires the previous one.
inline Result<void> Cutover(const Store& store, const std::string& name, int32_t version) {
  if (store.get() == nullptr) return Error(EST_ERR_CLOSED, "the Store is closed or was moved from");
  return internal::Check(est_projection_cutover(store.get(), name.c_str(), version));
}
// The active version of `name`; EST_ERR_NOT_FOUND when none ever checkpointed.
inline Result<int32_t> ActiveVersion(const Store& store, const std::string& name) {
  if (store.get() == nullptr) return Error(EST_ERR_CLOSED, "the Store is closed or was moved from");
  int32_t version = 0;
  est_status st = est_projection_active_version(store.get(), name.c_str(), &version);
  if (st != EST_OK) return Error::Last(st);
  return version;
}

}  // namespace estoria

#endif  // ESTORIA_PROJECTION_HPP_
