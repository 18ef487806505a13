// Tests of estoria::Uuid and estoria::Id (sdk/include/estoria/id.hpp).
#include "estoria/id.hpp"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace estoria {
namespace {

constexpr std::string_view kText = "account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";

TEST(Id, ParseSplitsTypeAndUuidAndKeepsTheText) {
  Result<Id> id = Id::Parse(kText);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->type(), "account");
  EXPECT_EQ(id->str(), kText);
  EXPECT_EQ(id->uuid().ToString(), "0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
  EXPECT_EQ(id->uuid().bytes[0], 0x01);
  EXPECT_EQ(id->uuid().bytes[15], 0x01);
}

TEST(Id, TypeMayContainUnderscores) {
  Result<Id> id = Id::Parse("bank_account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->type(), "bank_account");
}

TEST(Id, MakeThenParseRoundTrips) {
  Result<Uuid> u = Uuid::NewV4();
  ASSERT_TRUE(u.ok());
  Result<Id> made = Id::Make("order", *u);
  ASSERT_TRUE(made.ok()) << made.error().ToString();
  Result<Id> parsed = Id::Parse(made->str());
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, *made);
  EXPECT_EQ(parsed->uuid(), *u);
  EXPECT_EQ(parsed->type(), "order");
}

TEST(Id, BadTypeNamesAreInvalidArgumentsWithAMessage) {
  for (std::string_view type : {std::string_view(""), std::string_view("_order"), std::string_view("order_"),
                                std::string_view("or\0der", 6)}) {
    Result<Id> id = Id::Make(type, Uuid());
    ASSERT_FALSE(id.ok()) << "type '" << type << "'";
    EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_FALSE(id.error().message().empty());
  }
}

TEST(Id, ParseRefusesNonCanonicalText) {
  for (std::string_view text : {"account", "account_0190F3C4-8D1E-7C3A-9B2F-5E6D7C8B9A01",
                                "account_0190f3c48d1e7c3a9b2f5e6d7c8b9a01", "_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01"}) {
    Result<Id> id = Id::Parse(text);
    ASSERT_FALSE(id.ok()) << text;
    EXPECT_EQ(id.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(Id, NewV7IdsOfOneTypeIncrease) {
  Result<Id> a = Id::NewV7("order");
  Result<Id> b = Id::NewV7("order");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(a->uuid(), b->uuid());
  EXPECT_EQ(a->type(), "order");
}

TEST(Id, DefaultIsEmpty) {
  Id id;
  EXPECT_TRUE(id.empty());
  EXPECT_EQ(id.str(), "");
}

TEST(Uuid, ParseIsTheInverseOfToString) {
  Result<Uuid> u = Uuid::NewV7();
  ASSERT_TRUE(u.ok());
  std::string text = u->ToString();
  EXPECT_EQ(text.size(), 36u);
  Result<Uuid> back = Uuid::Parse(text);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, *u);
}

TEST(Uuid, ParseRefusesAnIdAndUpperCase) {
  EXPECT_FALSE(Uuid::Parse(kText).ok());
  EXPECT_FALSE(Uuid::Parse("0190F3C4-8D1E-7C3A-9B2F-5E6D7C8B9A01").ok());
  EXPECT_FALSE(Uuid::Parse("").ok());
}

TEST(Uuid, V4AndV7CarryTheirVersionNibble) {
  Result<Uuid> v4 = Uuid::NewV4();
  Result<Uuid> v7 = Uuid::NewV7();
  ASSERT_TRUE(v4.ok() && v7.ok());
  EXPECT_EQ(v4->bytes[6] >> 4, 4);
  EXPECT_EQ(v7->bytes[6] >> 4, 7);
  EXPECT_FALSE(v4->IsNil());
  EXPECT_TRUE(Uuid().IsNil());
}

}  // namespace
}  // namespace estoria
