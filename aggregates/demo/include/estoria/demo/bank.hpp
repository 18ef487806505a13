// estoria/demo/bank.hpp: the bank's domain as typed aggregates
// (estoria/aggregates), the story that the bank example (examples/bank) and
// `est demo` (tools/est) both tell. It lives here, beside the aggregates it
// is written with, so that neither program depends on the other: target
// estoria_demo_bank, header-only like the aggregates themselves.
//
// An account's state, its three events with how each changes the state,
// JSON codecs for both, and the commands that decide on the current state:
// the business rule (no overdraft) is checked BEFORE an event is queued, so
// a refused command writes nothing. Amounts are integer cents: money never
// goes through a double. Plain values and pure functions: thread-safe.
#ifndef ESTORIA_DEMO_BANK_HPP_
#define ESTORIA_DEMO_BANK_HPP_

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/json.hpp"

namespace estoria::demo::bank {

struct Account {
  std::string owner;
  int64_t balance = 0;
  bool open = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, owner, balance, open)

struct Opened {
  static constexpr std::string_view kType = "opened";
  std::string owner;
  void apply(Account& a) const {
    a.owner = owner;
    a.open = true;
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Opened, owner)

struct Deposited {
  static constexpr std::string_view kType = "deposited";
  int64_t amount = 0;
  void apply(Account& a) const { a.balance += amount; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Deposited, amount)

struct Withdrawn {
  static constexpr std::string_view kType = "withdrawn";
  int64_t amount = 0;
  void apply(Account& a) const { a.balance -= amount; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Withdrawn, amount)

using Event = std::variant<Opened, Deposited, Withdrawn>;

// "12.34", "-0.50".
inline std::string Money(int64_t cents) {
  char buf[48];
  const int64_t a = cents < 0 ? -cents : cents;
  std::snprintf(buf, sizeof buf, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "", a / 100, a % 100);
  return buf;
}

// A command's decision on the current state: the event to record, or why not.
struct Decision {
  std::optional<Event> event;
  std::string refusal;
};

inline Decision Deposit(const Account& a, int64_t amount) {
  if (!a.open) return {std::nullopt, "the account is not open"};
  if (amount <= 0) return {std::nullopt, "a deposit must be positive"};
  return {Deposited{amount}, {}};
}

// The business rule: no overdraft.
inline Decision Withdraw(const Account& a, int64_t amount) {
  if (!a.open) return {std::nullopt, "the account is not open"};
  if (amount <= 0) return {std::nullopt, "a withdrawal must be positive"};
  if (amount > a.balance) {
    return {std::nullopt, "insufficient funds: balance " + Money(a.balance) + ", asked " + Money(amount)};
  }
  return {Withdrawn{amount}, {}};
}

}  // namespace estoria::demo::bank

template <>
struct estoria::AggregateTraits<estoria::demo::bank::Account> {
  using Events = estoria::demo::bank::Event;
  using EventCodec = JsonCodec;
  using StateCodec = JsonCodec;  // snapshots and the cache
};

#endif  // ESTORIA_DEMO_BANK_HPP_
