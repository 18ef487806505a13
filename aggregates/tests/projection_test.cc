// Tests of the typed projection helper (estoria/aggregates/projection.hpp):
// events of an aggregate's variant decoded with its codec and handed over
// one by one, other types filtered out, a decode failure as the handler's
// error.
#define EST_EXPERIMENTAL
#include "estoria/aggregates/projection.hpp"

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "test_domain.h"

namespace estoria {
namespace {

using testdomain::Account;
using Events = AggregateTraits<Account>::Events;

TEST(TypedProjection, DecodesTheVariantsEventsAndFiltersOutTheRest) {
  Store store = Store::Open("memory:").value();
  auto accounts = AggregateStore<Account>::Open(store, "account").value();
  auto a = accounts.New().value();
  ASSERT_TRUE(a.Append(testdomain::Opened{"ana"}).ok());
  ASSERT_TRUE(a.Append(testdomain::Deposited{700}).ok());
  ASSERT_TRUE(a.Append(testdomain::Deposited{50}).ok());
  ASSERT_TRUE(a.Save().ok());
  Batch other;
  ASSERT_TRUE(other.Add("unrelated", "x").ok());
  ASSERT_TRUE(store.Append(Id::NewV7("misc").value(), other).ok());

  std::vector<std::string> types;
  int64_t deposited = 0;
  Result<Projection> p = ProjectEvents<Events>(
      store, "typed", 1, [&](const EventView& e, const Events& event, ProjectionTxn*) -> Result<void> {
        types.emplace_back(e.type());
        if (const auto* d = std::get_if<testdomain::Deposited>(&event)) deposited += d->amount;
        return {};
      });
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  Result<ProjectionReport> r = p->Run(std::chrono::microseconds(0));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(types, (std::vector<std::string>{"opened", "deposited", "deposited"}));
  EXPECT_EQ(deposited, 750);
  EXPECT_TRUE(r->caught_up) << "the filtered-out event still counts as passed";
}

TEST(TypedProjection, AnUndecodableEventIsTheHandlersError) {
  Store store = Store::Open("memory:").value();
  Batch bad;
  ASSERT_TRUE(bad.Add("deposited", "not json", "application/json").ok());
  ASSERT_TRUE(store.Append(Id::NewV7("account").value(), bad).ok());
  int calls = 0;
  Result<Projection> p = ProjectEvents<Events>(store, "strict", 1,
                                               [&](const EventView&, const Events&, ProjectionTxn*) -> Result<void> {
                                                 ++calls;
                                                 return {};
                                               });
  ASSERT_TRUE(p.ok());
  Result<ProjectionReport> r = p->Run(std::chrono::microseconds(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status(), EST_ERR_INVALID_ARGUMENT) << r.error().ToString();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace estoria
