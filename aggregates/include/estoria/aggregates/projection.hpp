// estoria/aggregates/projection.hpp: projections over typed domain events
// (experimental: define EST_EXPERIMENTAL before any estoria header). The
// events of a std::variant (each alternative with its `kType`, as an
// aggregate's Events) are decoded with a codec and handed to the handler
// one by one; the projection is filtered to those types, so nothing else
// reaches it.
//
//   auto p = estoria::ProjectEvents<bank::Event>(store, "balances", 1,
//       [&](const estoria::EventView& e, const bank::Event& event, estoria::ProjectionTxn*) -> Result<void> {
//         std::visit([&](const auto& ev) { Fold(e.stream_uuid(), ev); }, event);
//         return {};
//       }).value();
//
// A decode failure is the handler's error (the run stops there, or skips
// the event with continue_on_error). Guarantees, lifetimes and threads as
// estoria/projection.hpp.
#ifndef ESTORIA_AGGREGATES_PROJECTION_HPP_
#define ESTORIA_AGGREGATES_PROJECTION_HPP_

#ifndef EST_EXPERIMENTAL
#error "estoria/aggregates/projection.hpp needs EST_EXPERIMENTAL defined before any estoria header"
#endif

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/json.hpp"
#include "estoria/projection.hpp"

namespace estoria {
namespace internal {

// Decodes `e` as the alternative of Events whose kType is its type.
template <class Events, class Codec, size_t I = 0>
Result<Events> DecodeAlternative(const Codec& codec, const EventView& e) {
  if constexpr (I == std::variant_size_v<Events>) {
    return Error(EST_ERR_INVALID_ARGUMENT, "no event type of the projection is named " + std::string(e.type()));
  } else {
    using E = std::variant_alternative_t<I, Events>;
    if (e.type() != std::string_view(E::kType)) return DecodeAlternative<Events, Codec, I + 1>(codec, e);
    Result<E> decoded = codec.template Decode<E>(e.data());
    if (!decoded.ok()) return decoded.error();
    return Events(std::move(decoded).value());
  }
}

template <class... Es>
std::vector<std::string> TypeNames(std::variant<Es...>*) {
  return {std::string(Es::kType)...};
}

}  // namespace internal

// A projection "name_vVERSION" of the events of `Events` (a std::variant of
// domain events), decoded with `codec`. `on` is called as
//   Result<void> on(const EventView& view, const Events& event, ProjectionTxn* tx)
// for each event in position order (tx non-null in exactly-once mode).
// options.event_types is set to the variant's types.
template <class Events, class Codec = JsonCodec, class F>
Result<Projection> ProjectEvents(const Store& store, const std::string& name, int32_t version, F on,
                                 ProjectionOptions options = {}, Codec codec = {}) {
  static_assert(internal::EventList<Events>::value, "Events must be a std::variant of events with kType");
  options.event_types = internal::TypeNames(static_cast<Events*>(nullptr));
  return Projection::Create(
      store, name, version,
      [on = std::move(on), codec = std::move(codec)](std::span<const EventView> events,
                                                     ProjectionTxn* tx) mutable -> Result<void> {
        for (const EventView& e : events) {
          Result<Events> decoded = internal::DecodeAlternative<Events>(codec, e);
          if (!decoded.ok()) return decoded.error();
          Result<void> handled = on(e, *decoded, tx);
          if (!handled.ok()) return handled;
        }
        return {};
      },
      options);
}

}  // namespace estoria

#endif  // ESTORIA_AGGREGATES_PROJECTION_HPP_
