// estoria/aggregates/json.hpp: JsonCodec, events and states as JSON text
// ("application/json") through nlohmann-json (Debian: nlohmann-json3-dev;
// CMake: find_package(nlohmann_json), target nlohmann_json::nlohmann_json).
//
// A type is mapped the nlohmann way: to_json/from_json found by ADL, most
// simply with one macro beside the struct:
//
//   struct Deposited { static constexpr std::string_view kType = "deposited";
//                      int64_t amount = 0; void apply(Account&) const; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Deposited, amount)
//
// Text must be UTF-8: encoding a string that is not fails (no silent
// replacement), and so does decoding text that is not JSON or lacks a field.
// Errors are EST_ERR_INVALID_ARGUMENT with nlohmann's message; no exception
// leaves the codec.
//
// Stateless: safe to use from many threads at once.
#ifndef ESTORIA_AGGREGATES_JSON_HPP_
#define ESTORIA_AGGREGATES_JSON_HPP_

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "estoria/aggregates/codec.hpp"
#include "estoria/result.hpp"

namespace estoria {

class JsonCodec {
 public:
  static constexpr const char* kContentType = "application/json";

  const char* content_type() const { return kContentType; }

  template <class T>
  Result<void> Encode(const T& value, std::string& out) const {
    try {
      nlohmann::json j = value;
      out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
      return {};
    } catch (const nlohmann::json::exception& e) {
      return Error(EST_ERR_INVALID_ARGUMENT, std::string("JSON encoding failed: ") + e.what());
    }
  }

  template <class T>
  Result<T> Decode(std::span<const uint8_t> data) const {
    // allow_exceptions=false: a parse error is a "discarded" value, not a throw.
    nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
    if (j.is_discarded()) return Error(EST_ERR_INVALID_ARGUMENT, "the data is not valid JSON");
    try {
      return j.get<T>();
    } catch (const nlohmann::json::exception& e) {
      return Error(EST_ERR_INVALID_ARGUMENT, std::string("JSON decoding failed: ") + e.what());
    }
  }
};

}  // namespace estoria

#endif  // ESTORIA_AGGREGATES_JSON_HPP_
