// Unit tests for core/id/id.h: type-name validation (length, '_' rule,
// strict UTF-8, control characters), ID formatting, and parsing as its exact
// inverse with a specific message for every rejection.
#include "core/id/id.h"

#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

using ::testing::HasSubstr;

constexpr char kUuidText[] = "0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01";
const Uuid kUuid = Uuid::FromHiLo(0x0190f3c48d1e7c3au, 0x9b2f5e6d7c8b9a01u);

// UTF-8 encoding of `cp`, allowing surrogates (for the exhaustive check).
std::string Encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

void ExpectRoundTrip(const std::string& type) {
  absl::StatusOr<Uuid> uuid = NewUuidV7();
  ASSERT_TRUE(uuid.ok()) << uuid.status();
  const Id id{type, *uuid};
  const std::string text = id.ToString();
  EXPECT_EQ(text, type + "_" + FormatUuid(*uuid));
  absl::StatusOr<Id> parsed = Id::Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, id);
  EXPECT_EQ(parsed->ToString(), text);
}

void ExpectInvalidType(std::string_view type, std::string_view message_part) {
  absl::Status status = ValidateTypeName(type, "stream type");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << testing::PrintToString(std::string(type));
  EXPECT_THAT(std::string(status.message()), HasSubstr("stream type"));
  EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(message_part)));
  // The same type inside an ID is rejected by Parse with the same reason.
  absl::StatusOr<Id> parsed = Id::Parse(std::string(type) + "_" + kUuidText);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(std::string(message_part)));
}

void ExpectInvalidId(std::string_view text, std::string_view message_part) {
  absl::StatusOr<Id> parsed = Id::Parse(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(std::string(message_part))) << text;
}

TEST(Id, FormatIsTypeUnderscoreCanonicalUuid) {
  EXPECT_EQ((Id{"account", kUuid}.ToString()), std::string("account_") + kUuidText);
  EXPECT_EQ((Id{"a", Uuid{}}.ToString()), "a_00000000-0000-0000-0000-000000000000");
}

TEST(Id, ParseReadsTypeAndUuid) {
  absl::StatusOr<Id> id = Id::Parse(std::string("account_") + kUuidText);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->type, "account");
  EXPECT_EQ(id->uuid, kUuid);
}

TEST(Id, RoundTripsSimpleTypes) {
  ExpectRoundTrip("account");
  ExpectRoundTrip("a");
  ExpectRoundTrip("Order.Placed v2");
  ExpectRoundTrip("x-y:z/1~");
}

TEST(Id, ParseSplitsAtTheLastUnderscore) {
  absl::StatusOr<Id> id = Id::Parse(std::string("order_line_item_") + kUuidText);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->type, "order_line_item");
  EXPECT_EQ(id->uuid, kUuid);
  ExpectRoundTrip("order_line_item");
  ExpectRoundTrip("a_b");
}

TEST(Id, RoundTripsMultibyteUtf8Types) {
  ExpectRoundTrip("\xC3\xA9v\xC3\xA9nement");              // événement (2-byte)
  ExpectRoundTrip("\xE6\xB3\xA8\xE6\x96\x87");             // 注文 (3-byte)
  ExpectRoundTrip("\xF0\x9F\x93\xA6_\xF0\x9F\x9A\x9A");    // 📦_🚚 (4-byte, '_' inside)
  ExpectRoundTrip("\xC2\xA0");                             // U+00A0, first after C1
  ExpectRoundTrip("\xF4\x8F\xBF\xBF");                     // U+10FFFF
  ExpectRoundTrip("\xEF\xBF\xBF");                         // U+FFFF (a noncharacter, still UTF-8)
}

TEST(Id, RoundTripsLongestTypes) {
  ExpectRoundTrip(std::string(kMaxTypeNameLen, 'x'));
  // 63 four-byte characters and three more bytes: 255 bytes of UTF-8.
  std::string multibyte;
  for (int i = 0; i < 63; ++i) multibyte += "\xF0\x9F\x93\xA6";
  multibyte += "\xE6\xB3\xA8";
  ASSERT_EQ(multibyte.size(), kMaxTypeNameLen);
  ExpectRoundTrip(multibyte);
  EXPECT_EQ((Id{std::string(kMaxTypeNameLen, 'x'), kUuid}.ToString().size()), kMaxIdTextLen);
}

TEST(Id, EqualIdsHashEqually) {
  const Id a{"order", kUuid};
  const Id b{"order", kUuid};
  const Id c{"account", kUuid};
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(absl::Hash<Id>{}(a), absl::Hash<Id>{}(b));
}

TEST(IdParse, RejectsTextWithoutUnderscore) {
  ExpectInvalidId(kUuidText, "no '_'");
  ExpectInvalidId("", "no '_'");
  ExpectInvalidId("account", "no '_'");
}

TEST(IdParse, RejectsUpperCaseHex) {
  ExpectInvalidId("account_0190F3C4-8D1E-7C3A-9B2F-5E6D7C8B9A01", "upper-case");
  ExpectInvalidId("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0A", "upper-case");
}

TEST(IdParse, RejectsMissingHyphens) {
  ExpectInvalidId("account_0190f3c48d1e7c3a9b2f5e6d7c8b9a01", "no hyphens");
  ExpectInvalidId("account_0190f3c4-8d1e7c3a-9b2f-5e6d7c8b9a01", "characters long");
}

TEST(IdParse, RejectsMisplacedHyphens) {
  ExpectInvalidId("account_0190f3c48-d1e-7c3a-9b2f-5e6d7c8b9a01", "where '-' belongs");
}

TEST(IdParse, RejectsBraces) {
  ExpectInvalidId("account_{0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01}", "braces");
}

TEST(IdParse, RejectsWrongLength) {
  ExpectInvalidId("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0", "35 characters");
  ExpectInvalidId("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a012", "37 characters");
  ExpectInvalidId("account_", "0 characters");
  // An ID with a space after the UUID is not silently trimmed.
  ExpectInvalidId(std::string("account_") + kUuidText + " ", "37 characters");
}

TEST(IdParse, RejectsNonHexCharacters) {
  ExpectInvalidId("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0g", "not a hex digit");
  ExpectInvalidId(std::string("account_0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a0\0", 44), "not a hex digit");
}

TEST(IdParse, RejectsEmptyType) {
  ExpectInvalidId(std::string("_") + kUuidText, "is empty");
}

TEST(IdParse, RejectsTypeStartingOrEndingWithUnderscore) {
  ExpectInvalidId(std::string("_account_") + kUuidText, "starts with '_'");
  // "account__uuid" splits into type "account_", which may not end in '_'.
  ExpectInvalidId(std::string("account__") + kUuidText, "ends with '_'");
  ExpectInvalidId(std::string("__") + kUuidText, "starts with '_'");
}

TEST(IdParse, RejectsTypeLongerThan255Bytes) {
  ExpectInvalidId(std::string(kMaxTypeNameLen + 1, 'x') + "_" + kUuidText, "256 bytes");
}

TEST(IdParse, RejectionMessageQuotesTheInputEscaped) {
  absl::StatusOr<Id> parsed = Id::Parse(std::string("bad\x01type_") + kUuidText);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("bad\\x01type_0190f3c4"));
}

TEST(TypeName, AcceptsValidNames) {
  EXPECT_TRUE(ValidateTypeName("account").ok());
  EXPECT_TRUE(ValidateTypeName("a_b").ok());
  EXPECT_TRUE(ValidateTypeName(" ").ok());
  EXPECT_TRUE(ValidateTypeName("~").ok());
  EXPECT_TRUE(ValidateTypeName(std::string(kMaxTypeNameLen, 'x')).ok());
}

TEST(TypeName, RejectsEmptyAndTooLong) {
  ExpectInvalidType("", "is empty");
  ExpectInvalidType(std::string(kMaxTypeNameLen + 1, 'x'), "256 bytes long; the limit is 255");
}

TEST(TypeName, RejectsLeadingAndTrailingUnderscore) {
  ExpectInvalidType("_x", "starts with '_'");
  ExpectInvalidType("x_", "ends with '_'");
  ExpectInvalidType("_", "starts with '_'");
}

TEST(TypeName, MessageNamesWhatWasChecked) {
  absl::Status status = ValidateTypeName("", "event type");
  EXPECT_THAT(std::string(status.message()), HasSubstr("event type"));
  status = ValidateTypeName("");
  EXPECT_THAT(std::string(status.message()), HasSubstr("type name"));
}

TEST(TypeName, RejectsNul) {
  ExpectInvalidType(std::string_view("ab\0c", 4), "NUL at byte 2");
  ExpectInvalidType(std::string_view("\0", 1), "NUL at byte 0");
}

TEST(TypeName, RejectsC0ControlsAndDel) {
  ExpectInvalidType("a\x01", "control character U+0001 at byte 1");
  ExpectInvalidType("a\tb", "control character U+0009");
  ExpectInvalidType("a\nb", "control character U+000A");
  ExpectInvalidType("a\x1F", "control character U+001F");
  ExpectInvalidType("a\x7F", "DEL");
}

TEST(TypeName, RejectsC1Controls) {
  ExpectInvalidType("a\xC2\x80", "C1 control character U+0080 at byte 1");
  ExpectInvalidType("a\xC2\x85", "C1 control character U+0085");
  ExpectInvalidType("a\xC2\x9F", "C1 control character U+009F");
}

TEST(TypeName, RejectsOverlongEncodings) {
  ExpectInvalidType("\xC0\x80", "overlong encoding of U+0000");  // the "modified UTF-8" NUL
  ExpectInvalidType("\xC1\xBF", "overlong encoding of U+007F");
  ExpectInvalidType("a\xC0\xAF", "overlong encoding of U+002F at byte 1");
  ExpectInvalidType("\xE0\x80\x80", "overlong");
  ExpectInvalidType("\xE0\x9F\xBF", "overlong encoding of U+07FF");
  ExpectInvalidType("\xF0\x80\x80\x80", "overlong");
  ExpectInvalidType("\xF0\x8F\xBF\xBF", "overlong encoding of U+FFFF");
}

TEST(TypeName, RejectsEncodedSurrogates) {
  ExpectInvalidType("\xED\xA0\x80", "surrogate U+D800");
  ExpectInvalidType("\xED\xBF\xBF", "surrogate U+DFFF");
  ExpectInvalidType("\xED\xA0\xBD\xED\xB2\xA9", "surrogate");  // CESU-8 pair
}

TEST(TypeName, RejectsCodePointsAboveU10FFFF) {
  ExpectInvalidType("\xF4\x90\x80\x80", "above U+10FFFF");
  ExpectInvalidType("\xF7\xBF\xBF\xBF", "above U+10FFFF");
  ExpectInvalidType("\xF8\x88\x80\x80\x80", "never occurs in UTF-8");
  ExpectInvalidType("a\xFF", "byte 0xFF at byte 1 never occurs");
  ExpectInvalidType("\xFE", "never occurs");
}

TEST(TypeName, RejectsTruncatedSequences) {
  ExpectInvalidType("a\xC3", "truncated 2-byte sequence at byte 1");
  ExpectInvalidType("\xE6\xB3", "truncated 3-byte sequence");
  ExpectInvalidType("\xF0\x9F\x93", "truncated 4-byte sequence");
  ExpectInvalidType("\xC3z", "truncated 2-byte sequence at byte 0");
  ExpectInvalidType("\xF0\x9F\x93z", "truncated 4-byte sequence");
}

TEST(TypeName, RejectsStrayContinuationBytes) {
  ExpectInvalidType("\x80", "stray continuation byte 0x80 at byte 0");
  ExpectInvalidType("ab\xBF", "stray continuation byte 0xBF at byte 2");
  ExpectInvalidType("\xC3\xA9\xA9", "stray continuation byte 0xA9 at byte 2");
}

TEST(TypeName, EveryCodePointIsJudgedByItsClass) {
  // Every scalar value is accepted except the controls; every surrogate is
  // rejected. Also checks that the decoder's range boundaries are exact.
  for (uint32_t cp = 1; cp <= 0x10FFFF; ++cp) {
    const std::string name = "x" + Encode(cp) + "x";
    const bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    const bool want_ok = !control && !surrogate;
    const bool ok = ValidateTypeName(name).ok();
    if (ok != want_ok) {
      ADD_FAILURE() << "U+" << std::hex << cp << (want_ok ? " rejected" : " accepted");
      return;
    }
  }
}

// Names longer than a word go through the 8-bytes-at-a-time ASCII check
// first: every byte value, at every place of two words, is judged as the
// byte-by-byte decoder judges it, and a character across the words' border
// is decoded whole.
TEST(TypeName, LongNamesAreJudgedByteByByteWhereTheyAreNotPlainAscii) {
  for (size_t at = 1; at <= 16; ++at) {
    for (int b = 0; b <= 0xFF; ++b) {
      std::string name(18, 'a');
      name[at] = static_cast<char>(b);
      const absl::Status status = ValidateTypeName(name);
      const bool want_ok = b >= 0x20 && b < 0x7F;
      ASSERT_EQ(status.ok(), want_ok) << "byte 0x" << std::hex << b << " at " << std::dec << at;
      if (b < 0x20 && b != 0) {
        EXPECT_THAT(std::string(status.message()), HasSubstr(absl::StrCat("at byte ", at)));
      }
    }
  }
  for (size_t at = 1; at <= 14; ++at) {
    std::string name(18, 'a');
    name.replace(at, 2, "\xC3\xA9");  // U+00E9
    EXPECT_TRUE(ValidateTypeName(name).ok()) << "at " << at;
    name.replace(at, 2, "\xC2\x85");  // U+0085, a C1 control
    EXPECT_THAT(std::string(ValidateTypeName(name).message()), HasSubstr(absl::StrCat("U+0085 at byte ", at)));
  }
}

TEST(TypeName, EveryLoneHighByteIsRejected) {
  for (int b = 0x80; b <= 0xFF; ++b) {
    const std::string name = {'x', static_cast<char>(b), 'x'};
    EXPECT_EQ(ValidateTypeName(name).code(), absl::StatusCode::kInvalidArgument) << "byte " << b;
  }
}

}  // namespace
}  // namespace estoria::core
