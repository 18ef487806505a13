// Tests of RedactSecrets (estoria/operation.hpp, experimental): what a
// program prints of a URI it was given keeps no password.
#define EST_EXPERIMENTAL  // before the first include of estoria.h
#include <string>

#include "estoria/estoria.hpp"
#include "gtest/gtest.h"

namespace estoria {
namespace {

TEST(RedactSecrets, HidesTheUserinfoPassword) {
  Result<std::string> r = RedactSecrets("postgresql://alice:SECRET@db.example:5432/events");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, "postgresql://alice:***@db.example:5432/events");
}

TEST(RedactSecrets, HidesEveryPasswordSetting) {
  Result<std::string> r = RedactSecrets("postgresql:///db?host=/run&password=SECRET&sslmode=disable");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->find("SECRET"), std::string::npos) << *r;
  EXPECT_NE(r->find("password=***"), std::string::npos) << *r;
  EXPECT_NE(r->find("sslmode=disable"), std::string::npos) << *r;
}

TEST(RedactSecrets, LeavesTextWithoutSecretsAsItIs) {
  for (const char* text : {"memory:", "file:/var/lib/store?segment_bytes=4096", "/tmp/store", ""}) {
    Result<std::string> r = RedactSecrets(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().ToString();
    EXPECT_EQ(*r, text);
  }
}

TEST(RedactSecrets, RefusesTextHoldingANul) {
  Result<std::string> r = RedactSecrets(std::string_view("memory:\0x", 9));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace estoria
