// Secrets stay secret through the C ABI: est_uri_redact, and the messages of
// est_last_error() for URIs that carry a password in either form.
#include <string>

#define EST_EXPERIMENTAL
#include "estoria/estoria.h"
#include "gtest/gtest.h"

namespace {

std::string Redact(const char* text) {
  size_t len = 0;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_uri_redact(text, nullptr, 0, &len));
  std::string out(len + 1, '\0');
  EXPECT_EQ(EST_OK, est_uri_redact(text, out.data(), out.size(), &len)) << est_last_error();
  out.resize(len);
  return out;
}

TEST(UriRedact, HidesTheUserinfoPassword) {
  EXPECT_EQ(Redact("postgresql://alice:SECRET@host/db"), "postgresql://alice:***@host/db");
}

TEST(UriRedact, HidesAPasswordSetting) {
  EXPECT_EQ(Redact("postgresql:///db?host=/tmp&password=SECRET"), "postgresql:///db?host=/tmp&password=***");
}

TEST(UriRedact, LeavesAUriWithoutSecretsAsItIs) {
  EXPECT_EQ(Redact("file:/var/lib/events?mode=ro"), "file:/var/lib/events?mode=ro");
  EXPECT_EQ(Redact(""), "");
}

TEST(UriRedact, ATooSmallBufferIsRefusedWithNothingWritten) {
  char buf[8] = "unset";
  size_t len = 0;
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_uri_redact("postgresql://a:b@h/db", buf, sizeof buf, &len));
  EXPECT_STREQ(buf, "unset");
  EXPECT_EQ(len, std::string("postgresql://a:***@h/db").size());
  EXPECT_NE(std::string(est_last_error()).find("too small"), std::string::npos) << est_last_error();
}

TEST(UriRedact, RefusesNullText) {
  char buf[8];
  EXPECT_EQ(EST_ERR_INVALID_ARGUMENT, est_uri_redact(nullptr, buf, sizeof buf, nullptr));
  EXPECT_NE(std::string(est_last_error()).find("text"), std::string::npos) << est_last_error();
}

// Opens `uri` expecting a failure; returns est_last_error().
std::string OpenFailure(const char* uri) {
  est_store* store = nullptr;
  est_status st = est_store_open(uri, nullptr, &store);
  EXPECT_NE(EST_OK, st) << uri;
  est_store_close(store);
  return est_last_error();
}

TEST(LastErrorRedaction, AQuotedUriKeepsItsPasswordSettingHidden) {
  const std::string message = OpenFailure("memory:?password=SECRET");
  EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
  EXPECT_NE(message.find("password=***"), std::string::npos) << message;
}

TEST(LastErrorRedaction, AQuotedUriKeepsItsUserinfoPasswordHidden) {
  const std::string message = OpenFailure("memory://alice:SECRET@host");
  EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
  EXPECT_NE(message.find("alice:***@host"), std::string::npos) << message;
}

TEST(LastErrorRedaction, LibpqEchoesOfThePasswordAreHidden) {
  // libpq quotes the malformed token it rejects: here the password itself.
  const std::string message = OpenFailure("postgresql:///db?host=/nonexistent&password=SECRET%zz");
  EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
}

TEST(LastErrorRedaction, AFailedConnectionNeverShowsThePassword) {
  const std::string message = OpenFailure("postgresql://alice:SECRET@127.0.0.1:1/db?connect_timeout=2");
  EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
}

}  // namespace
