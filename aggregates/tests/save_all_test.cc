// SaveAll: several typed aggregates saved in one transaction (the
// experimental est_aggregate_save_many): all written and applied, or, on a
// conflict of any one, nothing written and every queue kept. And saves made
// retry-safe by event IDs (AggregateEvent::EventId).
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

// A save whose reply was lost, retried from another handle with the same
// event IDs, writes nothing and reports the original save as a duplicate.
TEST_F(SaveAllTest, SavesWithEventIdsAreSafeToRetry) {
  Aggregate<Account> first = Opened100("ana");
  Result<Aggregate<Account>> retry = accounts_.Load(first.id());
  ASSERT_TRUE(retry.ok());
  Result<Uuid> id = Uuid::NewV7();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(first.Append(Withdrawn{30}).EventId(*id).ok());
  Result<AppendResult> saved = first.Save();
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();
  EXPECT_FALSE(saved->duplicate);

  ASSERT_TRUE(retry->Append(Withdrawn{30}).EventId(*id).ok());
  Result<std::vector<AppendResult>> again = SaveAll(*retry);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_EQ((*again)[0].last_version, saved->last_version);
  EXPECT_EQ(retry->state().balance, 70);
  Result<Aggregate<Account>> reloaded = accounts_.Load(first.id());
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->version(), 3) << "the withdrawal is stored once";
  EXPECT_EQ(reloaded->state().balance, 70);
}

}  // namespace
}  // namespace estoria
