// estoria/aggregates/flatbuffers.hpp: FlatBuffersCodec, events and states as
// FlatBuffers tables, the native choice of estoria (its own envelopes are
// FlatBuffers): no parsing on decode, only a verification pass.
//
// For each type T it handles, the user specializes FlatBuffersTraits<T> with
// the root table of T's buffer (from the user's own schema, compiled by
// flatc) and the two conversions:
//
//   template <> struct estoria::FlatBuffersTraits<Deposited> {
//     using Table = bank::fb::Deposited;
//     static flatbuffers::Offset<Table> Pack(flatbuffers::FlatBufferBuilder& b, const Deposited& e) {
//       return bank::fb::CreateDeposited(b, e.amount);
//     }
//     static Deposited Unpack(const Table& t) { return Deposited{t.amount()}; }
//     // Optional: the schema's file_identifier, written and then required.
//     static constexpr const char* kIdentifier = "BANK";
//   };
//
// Decode verifies the buffer (flatbuffers::Verifier) before Unpack reads
// it, so damaged or foreign bytes are an EST_ERR_INVALID_ARGUMENT, never a
// wild read. The user's generated headers pin their FlatBuffers version
// (doc/traps.md "FlatBuffers 2.0.8"): include them where the traits are
// specialized, not in headers that other code shares.
//
// Stateless: safe to use from many threads at once (each Encode has its own
// builder).
#ifndef ESTORIA_AGGREGATES_FLATBUFFERS_HPP_
#define ESTORIA_AGGREGATES_FLATBUFFERS_HPP_

#include <cstdint>
#include <span>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "estoria/aggregates/codec.hpp"
#include "estoria/result.hpp"

namespace estoria {

template <class T>
struct FlatBuffersTraits;

namespace internal {

template <class Tr>
constexpr const char* FlatBuffersIdentifier() {
  if constexpr (requires { Tr::kIdentifier; }) {
    return Tr::kIdentifier;
  } else {
    return nullptr;
  }
}

}  // namespace internal

class FlatBuffersCodec {
 public:
  static constexpr const char* kContentType = "application/x-flatbuffers";

  const char* content_type() const { return kContentType; }

  template <class T>
  Result<void> Encode(const T& value, std::string& out) const {
    using Tr = FlatBuffersTraits<T>;
    flatbuffers::FlatBufferBuilder builder(256);
    flatbuffers::Offset<typename Tr::Table> root = Tr::Pack(builder, value);
    builder.Finish(root, internal::FlatBuffersIdentifier<Tr>());
    out.assign(reinterpret_cast<const char*>(builder.GetBufferPointer()), builder.GetSize());
    return {};
  }

  template <class T>
  Result<T> Decode(std::span<const uint8_t> data) const {
    using Tr = FlatBuffersTraits<T>;
    using Table = typename Tr::Table;
    const char* identifier = internal::FlatBuffersIdentifier<Tr>();
    // An empty range is never a buffer; the verifier wants a real pointer.
    if (data.size() < sizeof(flatbuffers::uoffset_t)) {
      return Error(EST_ERR_INVALID_ARGUMENT, "the data is too short to be a FlatBuffer");
    }
    flatbuffers::Verifier verifier(data.data(), data.size());
    if (!verifier.VerifyBuffer<Table>(identifier)) {
      return Error(EST_ERR_INVALID_ARGUMENT, "the data is not a valid FlatBuffer of the expected table");
    }
    return Tr::Unpack(*flatbuffers::GetRoot<Table>(data.data()));
  }
};

}  // namespace estoria

#endif  // ESTORIA_AGGREGATES_FLATBUFFERS_HPP_
