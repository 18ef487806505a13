// Tests of the codecs on their own (JsonCodec, FlatBuffersCodec: round
// trips, escaping, refusal of bad bytes) and of a FlatBuffers-coded
// aggregate end to end, snapshots included. The FlatBuffers tables come from
// codec_test.fbs, compiled by flatc at build time.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "codec_test_generated.h"
#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/aggregates/flatbuffers.hpp"
#include "estoria/aggregates/json.hpp"
#include "estoria/estoria.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_domain.h"

namespace estoria {
namespace {

using ::testing::HasSubstr;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

static_assert(CodecFor<JsonCodec, testdomain::Account>);
static_assert(CodecFor<JsonCodec, testdomain::Deposited>);
static_assert(StateCodecFor<NoStateCodec, testdomain::Account>);

// ------------------------------------------------------------------ JSON

TEST(JsonCodec, RoundTripsAnEvent) {
  JsonCodec codec;
  std::string bytes;
  ASSERT_TRUE(codec.Encode(testdomain::Deposited{-42}, bytes).ok());
  EXPECT_EQ(bytes, R"({"amount":-42})");
  Result<testdomain::Deposited> back = codec.Decode<testdomain::Deposited>(Bytes(bytes));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->amount, -42);
  EXPECT_STREQ(codec.content_type(), "application/json");
}

TEST(JsonCodec, EscapesAndRestoresEveryKindOfCharacter) {
  // Quote, backslash, slash, control characters (a NUL among them), and
  // multi-byte UTF-8 (2, 3 and 4 bytes).
  std::string owner = std::string("q\" b\\ s/ nl\n tab\t cr\r bell\x07 nul") + '\0' + " e\xc3\xa9 euro\xe2\x82\xac clef\xf0\x9d\x84\x9e";
  JsonCodec codec;
  std::string bytes;
  ASSERT_TRUE(codec.Encode(testdomain::Opened{owner}, bytes).ok());
  EXPECT_THAT(bytes, HasSubstr(R"(q\" b\\ s/ nl\n tab\t cr\r bell\u0007 nul\u0000)"));
  EXPECT_EQ(bytes.find('\n'), std::string::npos);
  Result<testdomain::Opened> back = codec.Decode<testdomain::Opened>(Bytes(bytes));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->owner, owner);
}

TEST(JsonCodec, DecodesEscapesItDoesNotWriteItself) {
  // \u escapes for plain and astral characters (a surrogate pair).
  std::string text = R"({"owner":"\u0041\u00e9\ud834\udd1e\/"})";
  Result<testdomain::Opened> back = JsonCodec().Decode<testdomain::Opened>(Bytes(text));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->owner, "A\xc3\xa9\xf0\x9d\x84\x9e/");
}

TEST(JsonCodec, RoundTripsAState) {
  testdomain::Account a;
  a.owner = "ana";
  a.balance = 9'007'199'254'740'993;  // beyond a double's exact integers
  a.open = true;
  a.applied = {1, 2, 3};
  std::string bytes;
  ASSERT_TRUE(JsonCodec().Encode(a, bytes).ok());
  Result<testdomain::Account> back = JsonCodec().Decode<testdomain::Account>(Bytes(bytes));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->owner, "ana");
  EXPECT_EQ(back->balance, 9'007'199'254'740'993);
  EXPECT_TRUE(back->open);
  EXPECT_EQ(back->applied, (std::vector<int64_t>{1, 2, 3}));
}

TEST(JsonCodec, RefusesInvalidUtf8OnEncode) {
  std::string bytes = "unchanged";
  Result<void> r = JsonCodec().Encode(testdomain::Opened{"\xc3("}, bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status(), EST_ERR_INVALID_ARGUMENT);
}

TEST(JsonCodec, RefusesTextThatIsNotTheType) {
  JsonCodec codec;
  for (std::string text : {"", "{", "not json", R"({"amount":"ten"})", R"({"sum":1})", "[1,2]", "\xff"}) {
    Result<testdomain::Deposited> r = codec.Decode<testdomain::Deposited>(Bytes(text));
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_EQ(r.error().status(), EST_ERR_INVALID_ARGUMENT) << text;
  }
}

// ------------------------------------------------------------ FlatBuffers

// The domain of these tests: events and state with FlatBuffers tables.
struct FbAccount {
  std::string owner;
  int64_t balance = 0;
  bool open = false;
};
struct FbOpened {
  static constexpr std::string_view kType = "opened";
  std::string owner;
  void apply(FbAccount& a) const {
    a.owner = owner;
    a.open = true;
  }
};
struct FbDeposited {
  static constexpr std::string_view kType = "deposited";
  int64_t amount = 0;
  void apply(FbAccount& a) const { a.balance += amount; }
};

}  // namespace

template <>
struct FlatBuffersTraits<FbOpened> {
  using Table = testfb::Opened;
  static flatbuffers::Offset<Table> Pack(flatbuffers::FlatBufferBuilder& b, const FbOpened& e) {
    return testfb::CreateOpened(b, b.CreateString(e.owner));
  }
  static FbOpened Unpack(const Table& t) { return FbOpened{t.owner() == nullptr ? "" : t.owner()->str()}; }
};

template <>
struct FlatBuffersTraits<FbDeposited> {
  using Table = testfb::Deposited;
  static flatbuffers::Offset<Table> Pack(flatbuffers::FlatBufferBuilder& b, const FbDeposited& e) {
    return testfb::CreateDeposited(b, e.amount);
  }
  static FbDeposited Unpack(const Table& t) { return FbDeposited{t.amount()}; }
};

template <>
struct FlatBuffersTraits<FbAccount> {
  using Table = testfb::AccountState;
  static constexpr const char* kIdentifier = "ACCT";
  static flatbuffers::Offset<Table> Pack(flatbuffers::FlatBufferBuilder& b, const FbAccount& a) {
    return testfb::CreateAccountState(b, b.CreateString(a.owner), a.balance, a.open);
  }
  static FbAccount Unpack(const Table& t) {
    return FbAccount{t.owner() == nullptr ? "" : t.owner()->str(), t.balance(), t.open()};
  }
};

template <>
struct AggregateTraits<FbAccount> {
  using Events = std::variant<FbOpened, FbDeposited>;
  using EventCodec = FlatBuffersCodec;
  using StateCodec = FlatBuffersCodec;
};

namespace {

TEST(FlatBuffersCodec, RoundTripsEventsAndState) {
  FlatBuffersCodec codec;
  std::string bytes;
  ASSERT_TRUE(codec.Encode(FbOpened{"ana \"quoted\"\n"}, bytes).ok());
  Result<FbOpened> opened = codec.Decode<FbOpened>(Bytes(bytes));
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_EQ(opened->owner, "ana \"quoted\"\n");

  ASSERT_TRUE(codec.Encode(FbAccount{"bo", -7, true}, bytes).ok());
  EXPECT_EQ(std::string_view(bytes).substr(4, 4), "ACCT");  // the identifier follows the root offset
  Result<FbAccount> state = codec.Decode<FbAccount>(Bytes(bytes));
  ASSERT_TRUE(state.ok()) << state.error().ToString();
  EXPECT_EQ(state->owner, "bo");
  EXPECT_EQ(state->balance, -7);
  EXPECT_TRUE(state->open);
  EXPECT_STREQ(codec.content_type(), "application/x-flatbuffers");
}

TEST(FlatBuffersCodec, RefusesBytesThatDoNotVerify) {
  FlatBuffersCodec codec;
  std::string valid;
  ASSERT_TRUE(codec.Encode(FbAccount{"bo", 1, true}, valid).ok());
  for (size_t cut : {size_t{0}, size_t{3}, size_t{8}, valid.size() / 2}) {
    Result<FbAccount> r = codec.Decode<FbAccount>(Bytes(valid.substr(0, cut)));
    ASSERT_FALSE(r.ok()) << "accepted the first " << cut << " bytes";
    EXPECT_EQ(r.error().status(), EST_ERR_INVALID_ARGUMENT);
  }
  // A root offset pointing far past the end.
  std::string wild = valid;
  wild[0] = '\x7f';
  wild[1] = '\x7f';
  EXPECT_FALSE(codec.Decode<FbAccount>(Bytes(wild)).ok());
  // A valid buffer of another table without the state's identifier.
  std::string event;
  ASSERT_TRUE(codec.Encode(FbDeposited{5}, event).ok());
  EXPECT_FALSE(codec.Decode<FbAccount>(Bytes(event)).ok());
}

TEST(FlatBuffersCodec, DrivesAnAggregateWithSnapshots) {
  Result<Store> store = Store::Open("memory:");
  ASSERT_TRUE(store.ok());
  AggregateStoreOptions options;
  options.snapshot_every = 4;
  Result<AggregateStore<FbAccount>> accounts = AggregateStore<FbAccount>::Open(*store, "account", options);
  ASSERT_TRUE(accounts.ok()) << accounts.error().ToString();
  Result<Aggregate<FbAccount>> a = accounts->New();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Append(FbOpened{"cy"}).ok());
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(a->Append(FbDeposited{i}).ok());
  ASSERT_TRUE(a->Save().ok());  // versions 1..6, crossing 4
  EXPECT_EQ(a->state().balance, 15);

  Result<Snapshot> snap = store->ReadSnapshot(a->id());
  ASSERT_TRUE(snap.ok()) << snap.error().ToString();
  EXPECT_EQ(snap->content_type(), "application/x-flatbuffers");
  Result<FbAccount> snapped = FlatBuffersCodec().Decode<FbAccount>(snap->data());
  ASSERT_TRUE(snapped.ok()) << snapped.error().ToString();
  EXPECT_EQ(snapped->owner, "cy");

  Result<StreamIterator> events = store->ReadStream(a->id());
  ASSERT_TRUE(events.ok());
  const EventView* first = events->Next();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->content_type(), "application/x-flatbuffers");

  Result<AggregateStore<FbAccount>> reader = AggregateStore<FbAccount>::Open(*store, "account", options);
  ASSERT_TRUE(reader.ok());
  Result<Aggregate<FbAccount>> loaded = reader->Load(a->id());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_EQ(loaded->state().owner, "cy");
  EXPECT_EQ(loaded->state().balance, 15);
  EXPECT_EQ(loaded->version(), 6);
  Result<AggregateStats> stats = reader->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->snapshots_used, 1);
}

}  // namespace
}  // namespace estoria
