#include "core/util/redact.h"

#include <string>

#include "core/util/log.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

TEST(RedactSecrets, HidesTheUserinfoPasswordOfAUri) {
  EXPECT_EQ(RedactSecrets("opening postgresql://alice:SECRET@host/db: refused"),
            "opening postgresql://alice:***@host/db: refused");
  EXPECT_EQ(RedactSecrets("postgres://alice:p%40ss@[::1]:5432/db?sslmode=disable"),
            "postgres://alice:***@[::1]:5432/db?sslmode=disable");
}

TEST(RedactSecrets, KeepsAUserWithoutPasswordAndPlainText) {
  EXPECT_EQ(RedactSecrets("postgresql://alice@host/db"), "postgresql://alice@host/db");
  EXPECT_EQ(RedactSecrets("file:/var/lib/events: not a store"), "file:/var/lib/events: not a store");
  EXPECT_EQ(RedactSecrets("http://host:8080/path@x"), "http://host:8080/path@x");
  EXPECT_EQ(RedactSecrets(""), "");
}

TEST(RedactSecrets, HidesPasswordSettingsInQueriesAndKeyValueStrings) {
  EXPECT_EQ(RedactSecrets("postgresql:///db?host=/tmp&password=SECRET&user=bob"),
            "postgresql:///db?host=/tmp&password=***&user=bob");
  EXPECT_EQ(RedactSecrets("host=db PASSWORD=SECRET user=bob"), "host=db PASSWORD=*** user=bob");
  EXPECT_EQ(RedactSecrets("host=db password='se cr\\'et' user=bob"), "host=db password=*** user=bob");
  EXPECT_EQ(RedactSecrets("invalid option \"password=SECRET\""), "invalid option \"password=***\"");
}

TEST(RedactSecrets, LeavesWordsThatOnlyEndInPassword) {
  EXPECT_EQ(RedactSecrets("oldpassword=x"), "oldpassword=x");
}

TEST(RedactSecrets, HidesBothFormsInOneMessage) {
  EXPECT_EQ(RedactSecrets("postgresql://a:ONE@h/db?password=TWO"), "postgresql://a:***@h/db?password=***");
}

TEST(RedactSecrets, HidesAKnownSecretWhereverItIsQuoted) {
  EXPECT_EQ(RedactSecrets("missing \"=\" after \"alice:SECRET\" in connection info", "SECRET"),
            "missing \"=\" after \"alice:***\" in connection info");
  EXPECT_EQ(RedactSecrets("nothing to hide", ""), "nothing to hide");
}

TEST(UriPassword, FindsTheUserinfoThenTheSetting) {
  EXPECT_EQ(UriPassword("postgresql://alice:SECRET@host/db"), "SECRET");
  EXPECT_EQ(UriPassword("postgresql:///db?user=a&password=TWO"), "TWO");
  EXPECT_EQ(UriPassword("postgresql://alice@host/db"), "");
  EXPECT_EQ(UriPassword("memory:"), "");
}

TEST(LogRedaction, TheLogHandlerNeverSeesAPassword) {
  std::string seen;
  SetLogHandler([](void* user, int, const char* message) { *static_cast<std::string*>(user) = message; }, &seen);
  Log(LogLevel::kWarning, "listener lost postgresql://alice:SECRET@host/db?password=OTHER reconnecting");
  SetLogHandler(nullptr, nullptr);
  EXPECT_EQ(seen, "listener lost postgresql://alice:***@host/db?password=*** reconnecting");
}

}  // namespace
}  // namespace estoria::core
