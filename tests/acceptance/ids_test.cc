// tests/acceptance/ids_test.cc: IDs and UUIDs through the C ABI
// (doc/data-model.md "IDs" and "Identity"). No store is involved, so these are
// plain tests that run once, whatever the backends.
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

constexpr char kExampleId[] = "account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";
const est_uuid kExampleUuid = {{0x01, 0x90, 0xf3, 0xc4, 0x8d, 0x1e, 0x7c, 0x3a, 0x9b, 0x2f, 0x5e, 0x6d, 0x7c, 0x8b,
                                0x9a, 0x01}};
constexpr char kExampleUuidText[] = "0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";

// Parses `text` and expects INVALID_ARGUMENT with nothing written.
void ExpectParseRejects(const std::string& text) {
  SCOPED_TRACE("parsing \"" + text + "\"");
  char type_buf[EST_TYPE_MAX_LEN + 1];
  std::memset(type_buf, '#', sizeof type_buf);
  est_uuid uuid;
  std::memset(uuid.bytes, 0xAB, sizeof uuid.bytes);
  EXPECT_INVALID(est_id_parse(text.c_str(), type_buf, sizeof type_buf, &uuid));
  for (char c : type_buf) ASSERT_EQ(c, '#') << "type_buf written on failure";
  for (uint8_t b : uuid.bytes) ASSERT_EQ(b, 0xAB) << "uuid written on failure";
}

// Formats with `type` and expects INVALID_ARGUMENT with nothing written.
void ExpectFormatRejects(const std::string& type) {
  SCOPED_TRACE("formatting type \"" + type + "\"");
  char buf[EST_ID_MAX_LEN + 16];
  std::memset(buf, '#', sizeof buf);
  EXPECT_INVALID(est_id_format(type.c_str(), &kExampleUuid, buf, sizeof buf));
  for (char c : buf) ASSERT_EQ(c, '#') << "buffer written on failure";
}

// Type names the contract refuses, for formatting and parsing alike.
std::vector<std::string> BadTypeNames() {
  return {
      "",                          // empty
      "_account",                  // leading '_'
      "account_",                  // trailing '_'
      "_",                         // both
      "acc\x01ount",               // control character
      "acc\tount",                 // control character
      "acc\nount",                 // control character
      "acc\x7f" "ount",            // DEL is a control character
      "acc\xc2\x85" "ount",        // U+0085 (NEL), a C1 control character
      "acc\xff" "ount",            // not UTF-8
      "acc\xc3",                   // truncated UTF-8 sequence
      "acc\xc0\x80" "ount",        // overlong encoding (a hidden NUL)
      "acc\xed\xa0\x80" "ount",    // UTF-16 surrogate
      "\x80" "account",            // stray continuation byte
      std::string(256, 'a'),       // too long
  };
}

TEST(AcceptanceIds, FormatWritesTypeUnderscoreCanonicalLowerCaseUuid) {
  char buf[EST_ID_MAX_LEN];
  ASSERT_EST_OK(est_id_format("account", &kExampleUuid, buf, sizeof buf));
  EXPECT_STREQ(buf, kExampleId);
}

TEST(AcceptanceIds, ParseIsTheInverseOfFormat) {
  char type_buf[EST_TYPE_MAX_LEN + 1];
  est_uuid uuid{};
  ASSERT_EST_OK(est_id_parse(kExampleId, type_buf, sizeof type_buf, &uuid));
  EXPECT_STREQ(type_buf, "account");
  EXPECT_EQ(uuid, kExampleUuid);
  EXPECT_EQ(UuidText(uuid), kExampleUuidText);
}

TEST(AcceptanceIds, RoundTripsEveryValidTypeShape) {
  const std::vector<std::string> types = {
      "a", "account", "order_line", "order__line", "Order-Line.v2", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
      "\xf0\x9f\x98\x80", "a b", std::string(255, 'x'), std::string(253, 'x') + "\xc3\xa9"};
  for (const std::string& type : types) {
    for (int kind = 0; kind < 2; ++kind) {
      SCOPED_TRACE("type \"" + type + "\", kind " + std::to_string(kind));
      est_uuid uuid = kind == 0 ? NewUuidV4() : NewUuidV7();
      char buf[EST_ID_MAX_LEN];
      ASSERT_EST_OK(est_id_format(type.c_str(), &uuid, buf, sizeof buf));
      EXPECT_EQ(std::string(buf), type + "_" + UuidText(uuid));
      char type_buf[EST_TYPE_MAX_LEN + 1];
      est_uuid parsed{};
      ASSERT_EST_OK(est_id_parse(buf, type_buf, sizeof type_buf, &parsed));
      EXPECT_EQ(std::string(type_buf), type);
      EXPECT_EQ(parsed, uuid);
    }
  }
}

TEST(AcceptanceIds, IdMaxLenFitsTheLongestId) {
  std::string type(EST_TYPE_MAX_LEN, 'z');
  char buf[EST_ID_MAX_LEN];
  ASSERT_EST_OK(est_id_format(type.c_str(), &kExampleUuid, buf, sizeof buf));
  EXPECT_EQ(std::strlen(buf), static_cast<size_t>(EST_ID_MAX_LEN - 1));
}

TEST(AcceptanceIds, FormatRefusesBadTypeNames) {
  for (const std::string& type : BadTypeNames()) ExpectFormatRejects(type);
}

TEST(AcceptanceIds, ParseRefusesBadTypeNames) {
  for (const std::string& type : BadTypeNames()) ExpectParseRejects(type + "_" + kExampleUuidText);
}

TEST(AcceptanceIds, ParseRefusesNonCanonicalUuids) {
  ExpectParseRejects("account_0190F3C4-8D1E-7C3A-9B2F-5E6D7C8B9A01");  // upper case
  ExpectParseRejects("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9A01");  // one upper-case digit
  ExpectParseRejects("account_0190f3c48d1e7c3a9b2f5e6d7c8b9a01");      // no hyphens
  ExpectParseRejects("account_0190f3c-48d1e-7c3a-9b2f-5e6d7c8b9a01");  // hyphens misplaced
  ExpectParseRejects("account_{0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01}");  // braces
  ExpectParseRejects("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0");   // short
  ExpectParseRejects("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a011");  // long
  ExpectParseRejects("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0g");   // not hex
  ExpectParseRejects("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01 ");  // trailing space
  ExpectParseRejects(" account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01 ");
  ExpectParseRejects("account-0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");   // no '_' separator
  ExpectParseRejects("account0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
  ExpectParseRejects(kExampleUuidText);                                  // no type at all
  ExpectParseRejects(std::string("_") + kExampleUuidText);              // empty type
  ExpectParseRejects("account");
  ExpectParseRejects("account_");
  ExpectParseRejects("");
}

TEST(AcceptanceIds, ParseSplitsAtTheLastUnderscore) {
  char type_buf[EST_TYPE_MAX_LEN + 1];
  est_uuid uuid{};
  std::string text = std::string("order_line_") + kExampleUuidText;
  ASSERT_EST_OK(est_id_parse(text.c_str(), type_buf, sizeof type_buf, &uuid));
  EXPECT_STREQ(type_buf, "order_line");
  EXPECT_EQ(uuid, kExampleUuid);
}

TEST(AcceptanceIds, FormatIntoTooSmallBufferWritesNothing) {
  const size_t needed = std::strlen(kExampleId) + 1;
  for (size_t len = 0; len < needed; ++len) {
    char buf[64];
    std::memset(buf, '#', sizeof buf);
    EXPECT_INVALID(est_id_format("account", &kExampleUuid, buf, len)) << "buf_len " << len;
    for (char c : buf) ASSERT_EQ(c, '#') << "written with buf_len " << len;
  }
  char buf[64];
  EXPECT_EST_OK(est_id_format("account", &kExampleUuid, buf, needed));
  EXPECT_STREQ(buf, kExampleId);
}

TEST(AcceptanceIds, ParseIntoTooSmallTypeBufferWritesNothing) {
  for (size_t len = 0; len <= std::strlen("account"); ++len) {
    char type_buf[16];
    std::memset(type_buf, '#', sizeof type_buf);
    est_uuid uuid;
    std::memset(uuid.bytes, 0xAB, 16);
    EXPECT_INVALID(est_id_parse(kExampleId, type_buf, len, &uuid)) << "type_buf_len " << len;
    for (char c : type_buf) ASSERT_EQ(c, '#') << "type_buf written with type_buf_len " << len;
    for (uint8_t b : uuid.bytes) ASSERT_EQ(b, 0xAB) << "uuid written with type_buf_len " << len;
  }
  char type_buf[8];
  est_uuid uuid{};
  EXPECT_EST_OK(est_id_parse(kExampleId, type_buf, sizeof type_buf, &uuid));
  EXPECT_STREQ(type_buf, "account");
}

TEST(AcceptanceIds, NullPointersAreInvalidArguments) {
  char buf[EST_ID_MAX_LEN];
  est_uuid uuid{};
  EXPECT_INVALID(est_id_format(nullptr, &kExampleUuid, buf, sizeof buf));
  EXPECT_INVALID(est_id_format("account", nullptr, buf, sizeof buf));
  EXPECT_INVALID(est_id_format("account", &kExampleUuid, nullptr, sizeof buf));
  EXPECT_INVALID(est_id_parse(nullptr, buf, sizeof buf, &uuid));
  EXPECT_INVALID(est_id_parse(kExampleId, nullptr, sizeof buf, &uuid));
  EXPECT_INVALID(est_id_parse(kExampleId, buf, sizeof buf, nullptr));
  EXPECT_INVALID(est_uuid_v4(nullptr));
  EXPECT_INVALID(est_uuid_v7(nullptr));
}

TEST(AcceptanceIds, V4CarriesItsVersionAndVariantAndIsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    est_uuid u = NewUuidV4();
    ASSERT_EQ(u.bytes[6] >> 4, 4);
    ASSERT_EQ(u.bytes[8] & 0xC0, 0x80);
    ASSERT_TRUE(seen.insert(UuidText(u)).second) << "duplicate v4 " << UuidText(u);
  }
}

TEST(AcceptanceIds, V7IsStrictlyIncreasingAndCarriesUnixMilliseconds) {
  const int64_t before_ms = NowNs() / 1000000;
  est_uuid previous = NewUuidV7();
  for (int i = 0; i < 20000; ++i) {
    est_uuid u = NewUuidV7();
    ASSERT_EQ(u.bytes[6] >> 4, 7);
    ASSERT_EQ(u.bytes[8] & 0xC0, 0x80);
    ASSERT_LT(std::memcmp(previous.bytes, u.bytes, 16), 0)
        << UuidText(previous) << " then " << UuidText(u) << " at " << i;
    // Text order is byte order for the canonical lower-case form.
    ASSERT_LT(UuidText(previous), UuidText(u));
    previous = u;
  }
  const int64_t after_ms = NowNs() / 1000000;
  int64_t stamp = 0;
  for (int i = 0; i < 6; ++i) stamp = (stamp << 8) | previous.bytes[i];
  // The 48-bit prefix is unix milliseconds; allow for a counter that borrows
  // from the clock when more than one UUID is made per millisecond.
  EXPECT_GE(stamp, before_ms);
  EXPECT_LE(stamp, after_ms + 1000);
}

}  // namespace
}  // namespace estoria::acceptance
