// SaveAll: several typed aggregates saved in one transaction (the
// experimental est_aggregate_save_many): all written and applied, or, on a
// conflict of any one, nothing written and every queue kept.
#define EST_EXPERIMENTAL 1
#include <string>
#include <utility>

#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/json.hpp"
#include "estoria/estoria.hpp"
#include "gtest/gtest.h"
#include "test_domain.h"

namespace estoria {
namespace {

using testdomain::Account;
using testdomain::Deposited;
using testdomain::Opened;
using testdomain::Withdrawn;

class SaveAllTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Store> s = Store::Open("memory:");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
    Result<AggregateStore<Account>> a = AggregateStore<Account>::Open(store_, "account");
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    accounts_ = std::move(a).value();
  }
  Aggregate<Account> Opened100(const std::string& owner) {
    Result<Aggregate<Account>> a = accounts_.New();
    EXPECT_TRUE(a.ok());
    EXPECT_TRUE(a->Append(Opened{owner}).ok());
    EXPECT_TRUE(a->Append(Deposited{100}).ok());
    EXPECT_TRUE(a->Save().ok());
    return std::move(a).value();
  }
  Store store_;
  AggregateStore<Account> accounts_;
};

TEST_F(SaveAllTest, ATransferSavesBothAccountsAtOnce) {
  Aggregate<Account> from = Opened100("ana");
  Aggregate<Account> to = Opened100("bo");
  ASSERT_TRUE(from.Append(Withdrawn{30}).ok());
  ASSERT_TRUE(to.Append(Deposited{30}).ok());
  Result<std::vector<AppendResult>> saved = SaveAll(from, to);
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();
  ASSERT_EQ(saved->size(), 2u);
  EXPECT_EQ((*saved)[0].last_version, 3);
  EXPECT_EQ((*saved)[1].last_version, 3);
  EXPECT_EQ((*saved)[1].first_position, (*saved)[0].last_position + 1);
  EXPECT_EQ(from.state().balance, 70);
  EXPECT_EQ(to.state().balance, 130);
  EXPECT_EQ(from.pending(), 0u);
  Result<Aggregate<Account>> reloaded = accounts_.Load(to.id());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->state().balance, 130);
}

TEST_F(SaveAllTest, AConflictOnOneWritesNothingAndKeepsEveryQueue) {
  Aggregate<Account> from = Opened100("ana");
  Aggregate<Account> to = Opened100("bo");
  {
    Result<Aggregate<Account>> other = accounts_.Load(to.id());
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(other->Append(Deposited{1}).ok());
    ASSERT_TRUE(other->Save().ok());  // `to` is now behind
  }
  ASSERT_TRUE(from.Append(Withdrawn{30}).ok());
  ASSERT_TRUE(to.Append(Deposited{30}).ok());
  Result<std::vector<AppendResult>> saved = SaveAll(from, to);
  ASSERT_FALSE(saved.ok());
  EXPECT_TRUE(saved.error().is_version_mismatch()) << saved.error().ToString();
  EXPECT_NE(saved.error().message().find(to.id().str()), std::string::npos) << saved.error().ToString();
  EXPECT_EQ(from.pending(), 1u);
  EXPECT_EQ(to.pending(), 1u);
  Result<Aggregate<Account>> unchanged = accounts_.Load(from.id());
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->version(), 2) << "the other account's part was not written either";
}

}  // namespace
}  // namespace estoria
