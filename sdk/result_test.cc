// Tests of estoria::Error and estoria::Result<T> (sdk/include/estoria/result.hpp).
#include "estoria/result.hpp"

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace estoria {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Error(ErrorCode::kInvalidArgument, "odd");
  return n / 2;
}

TEST(Result, HoldsAValue) {
  Result<int> r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(*r, 4);
}

TEST(Result, HoldsAnErrorWithCodeNameAndMessage) {
  Result<int> r = Half(3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status(), EST_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_STREQ(r.error().name(), "EST_ERR_INVALID_ARGUMENT");
  EXPECT_EQ(r.error().message(), "odd");
  EXPECT_EQ(r.error().ToString(), "EST_ERR_INVALID_ARGUMENT: odd");
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(Result, ArrowReachesTheValue) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
}

TEST(Result, VoidIsOkByDefaultAndCarriesAnError) {
  Result<void> ok;
  EXPECT_TRUE(ok.ok());
  Result<void> bad = Error(EST_ERR_NOT_FOUND, "nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().is_not_found());
  EXPECT_EQ(bad.error().message(), "nope");
}

TEST(Error, VersionMismatchCarriesBothVersions) {
  Error e = Error::VersionMismatch("stale", 3, 5);
  EXPECT_TRUE(e.is_version_mismatch());
  EXPECT_EQ(e.expected_version(), 3);
  EXPECT_EQ(e.actual_version(), 5);
}

TEST(Error, UnknownCodesKeepTheirValue) {
  Error e(static_cast<est_status>(-99), "from a newer library");
  EXPECT_EQ(e.status(), -99);
  EXPECT_STREQ(e.name(), "EST_UNKNOWN");
}

TEST(ResultDeathTest, ValueOfAnErrorAbortsWithTheMessage) {
  Result<int> r = Half(1);
  EXPECT_DEATH((void)r.value(), "value\\(\\) of a failed Result: EST_ERR_INVALID_ARGUMENT: odd");
}

TEST(ResultDeathTest, ErrorOfASuccessAborts) {
  Result<int> r = Half(2);
  EXPECT_DEATH((void)r.error(), "error\\(\\) of a successful Result");
}

}  // namespace
}  // namespace estoria
