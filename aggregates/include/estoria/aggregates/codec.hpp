// estoria/aggregates/codec.hpp: what a codec is to the typed aggregate layer,
// and the pieces every codec shares.
//
// A codec turns a value (a domain event or an aggregate's state) into bytes
// and back. One codec type may serve both roles; the layer asks only for
//
//   const char* content_type() const;            // stored with each event / snapshot
//   template <class T> Result<void> Encode(const T& value, std::string& out) const;
//   template <class T> Result<T> Decode(std::span<const uint8_t> data) const;
//
// for the types it is used with (checked by the EventCodecFor and
// StateCodecFor concepts). Encode replaces the contents of `out` (a byte
// buffer; std::string because every codec can fill one cheaply). A failure
// is an Error whose status is negative, usually EST_ERR_INVALID_ARGUMENT.
//
// Thread safety: the layer calls a codec's const members from any thread,
// possibly at once (load and save callbacks run on the caller's thread), so
// a codec must be safe to use concurrently through a const reference.
//
// Provided codecs: JsonCodec (json.hpp, over nlohmann-json) and
// FlatBuffersCodec (flatbuffers.hpp); NoStateCodec says "this aggregate has
// no snapshots and no cache".
#ifndef ESTORIA_AGGREGATES_CODEC_HPP_
#define ESTORIA_AGGREGATES_CODEC_HPP_

#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "estoria/result.hpp"

namespace estoria {

template <class C, class T>
concept CodecFor = requires(const C& codec, const T& value, std::string& out, std::span<const uint8_t> data) {
  { codec.content_type() } -> std::convertible_to<const char*>;
  { codec.template Encode<T>(value, out) } -> std::same_as<Result<void>>;
  { codec.template Decode<T>(data) } -> std::same_as<Result<T>>;
};

// The state codec of an aggregate without snapshots or cache: the layer
// leaves the vtable's encode/decode empty, and the engine then refuses
// snapshot or cache options (EST_ERR_INVALID_ARGUMENT).
struct NoStateCodec {};

template <class C, class S>
concept StateCodecFor = std::same_as<C, NoStateCodec> || CodecFor<C, S>;

}  // namespace estoria

#endif  // ESTORIA_AGGREGATES_CODEC_HPP_
