// test_domain.h: a small account domain for the aggregates tests, with JSON
// codecs for its events and state. Every kind of apply the layer accepts is
// used once: void apply(S&), Result<void> apply(S&), and the forms taking
// the stored event's EventView.
#ifndef ESTORIA_AGGREGATES_TESTS_TEST_DOMAIN_H_
#define ESTORIA_AGGREGATES_TESTS_TEST_DOMAIN_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/json.hpp"

namespace estoria::testdomain {

struct Account {
  std::string owner;
  int64_t balance = 0;
  bool open = false;
  // Versions of the events applied, in order (shows the fold's order).
  std::vector<int64_t> applied;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, owner, balance, open, applied)

struct Opened {
  static constexpr std::string_view kType = "opened";
  std::string owner;
  void apply(Account& a, const EventView& e) const {
    a.owner = owner;
    a.open = true;
    a.applied.push_back(e.stream_version());
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Opened, owner)

struct Deposited {
  static constexpr std::string_view kType = "deposited";
  int64_t amount = 0;
  void apply(Account& a, const EventView& e) const {
    a.balance += amount;
    a.applied.push_back(e.stream_version());
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Deposited, amount)

// Refuses to take the balance below zero: a failing apply without throwing.
struct Withdrawn {
  static constexpr std::string_view kType = "withdrawn";
  int64_t amount = 0;
  Result<void> apply(Account& a) const {
    if (a.balance < amount) return Error(EST_ERR_INTERNAL, "withdrawal below zero");
    a.balance -= amount;
    a.applied.push_back(-1);  // this form sees no version
    return {};
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Withdrawn, amount)

// Its apply throws: the layer must turn that into an error status.
struct Exploded {
  static constexpr std::string_view kType = "exploded";
  void apply(Account&) const { throw std::runtime_error("boom in apply"); }
};
inline void to_json(nlohmann::json& j, const Exploded&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, Exploded&) {}

}  // namespace estoria::testdomain

template <>
struct estoria::AggregateTraits<estoria::testdomain::Account> {
  using Events = std::variant<testdomain::Opened, testdomain::Deposited, testdomain::Withdrawn, testdomain::Exploded>;
  using EventCodec = JsonCodec;
  using StateCodec = JsonCodec;
};

#endif  // ESTORIA_AGGREGATES_TESTS_TEST_DOMAIN_H_
