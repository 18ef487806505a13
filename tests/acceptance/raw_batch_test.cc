// tests/acceptance/raw_batch_test.cc: raw FlatBuffers batches handed to
// est_append (doc/data-model.md "Inputs"; doc/abi.md "No input can crash the
// library" and "FlatBuffers envelopes"). Batches are crafted here with the
// generated header, byte by byte where est_batch would refuse to make them:
// unsorted, duplicate and reserved metadata keys, NUL inside strings, missing
// required fields, wrong identifiers, every truncation and every flipped byte
// of a valid batch. A rejected batch must leave nothing behind, not even an
// empty stream.
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"
#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

namespace fb = ::estoria::fb;

// One event of a crafted batch. Fields are written exactly as given: no
// sorting, no validation.
struct RawEvent {
  std::optional<std::string> type = std::string("deposited");
  std::string data = "payload";
  std::optional<std::string> content_type;
  std::vector<std::pair<std::string, std::string>> metadata;
};

struct RawBatchOptions {
  bool with_events = true;              // the required `events` field
  const char* identifier = "ESTB";      // NULL: finish without one
};

std::vector<uint8_t> RawBatch(const std::vector<RawEvent>& events, const RawBatchOptions& options = {}) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<fb::WritableEvent>> offsets;
  for (const RawEvent& e : events) {
    flatbuffers::Offset<flatbuffers::String> type;
    if (e.type) type = fbb.CreateString(e.type->data(), e.type->size());
    fbb.ForceVectorAlignment(e.data.size(), sizeof(uint8_t), 8);
    auto data = fbb.CreateVector(reinterpret_cast<const uint8_t*>(e.data.data()), e.data.size());
    flatbuffers::Offset<flatbuffers::String> content_type;
    if (e.content_type) content_type = fbb.CreateString(e.content_type->data(), e.content_type->size());
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::KeyValue>>> metadata;
    if (!e.metadata.empty()) {
      std::vector<flatbuffers::Offset<fb::KeyValue>> pairs;
      for (const auto& [k, v] : e.metadata) {
        auto key = fbb.CreateString(k.data(), k.size());
        auto value = fbb.CreateString(v.data(), v.size());
        pairs.push_back(fb::CreateKeyValue(fbb, key, value));
      }
      metadata = fbb.CreateVector(pairs);  // in the given order, deliberately unsorted
    }
    // By hand rather than through WritableEventBuilder, whose Finish() asserts
    // the required type.
    auto start = fbb.StartTable();
    if (e.type) fbb.AddOffset(fb::WritableEvent::VT_TYPE, type);
    fbb.AddOffset(fb::WritableEvent::VT_DATA, data);
    if (e.content_type) fbb.AddOffset(fb::WritableEvent::VT_CONTENT_TYPE, content_type);
    if (!e.metadata.empty()) fbb.AddOffset(fb::WritableEvent::VT_METADATA, metadata);
    offsets.push_back(flatbuffers::Offset<fb::WritableEvent>(fbb.EndTable(start)));
  }
  auto vec = fbb.CreateVector(offsets);
  auto start = fbb.StartTable();
  if (options.with_events) fbb.AddOffset(fb::WritableEventBatch::VT_EVENTS, vec);
  auto root = flatbuffers::Offset<fb::WritableEventBatch>(fbb.EndTable(start));
  fbb.Finish(root, options.identifier);
  return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

// What the suite itself makes of a batch: whether the contract obliges the
// library to refuse it, and, when it verifies, the events it describes.
struct Reading {
  bool verifies = false;
  bool must_reject = false;
  std::string why;
  std::vector<RawEvent> events;
};

bool ValidUtf8TypeName(const std::string& s) {
  if (s.empty() || s.size() > EST_TYPE_MAX_LEN || s.front() == '_' || s.back() == '_') return false;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (c < 0x80) {
      cp = c, n = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F, n = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F, n = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07, n = 4;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    i += n;
  }
  return true;
}

Reading Read(const std::vector<uint8_t>& bytes) {
  Reading r;
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8 + 1);
  if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
  const auto* buf = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier verifier(buf, bytes.size());
  if (bytes.size() < 8 || !fb::VerifyWritableEventBatchBuffer(verifier)) {
    r.must_reject = true;
    r.why = "does not verify as a WritableEventBatch with identifier ESTB";
    return r;
  }
  r.verifies = true;
  const fb::WritableEventBatch* batch = fb::GetWritableEventBatch(buf);
  if (batch->events() == nullptr || batch->events()->size() == 0) {
    r.must_reject = true;
    r.why = "no events";
    return r;
  }
  auto has_nul = [](const flatbuffers::String* s) { return s && std::memchr(s->data(), 0, s->size()) != nullptr; };
  for (const fb::WritableEvent* e : *batch->events()) {
    RawEvent out;
    out.type = std::string(e->type()->data(), e->type()->size());
    if (e->data()) out.data.assign(reinterpret_cast<const char*>(e->data()->data()), e->data()->size());
    if (e->content_type()) out.content_type = std::string(e->content_type()->data(), e->content_type()->size());
    if (has_nul(e->type()) || has_nul(e->content_type())) r.must_reject = true, r.why = "NUL in a string";
    if (!ValidUtf8TypeName(*out.type)) r.must_reject = true, r.why = "invalid type name";
    if (e->metadata()) {
      std::string previous;
      bool first = true;
      for (const fb::KeyValue* kv : *e->metadata()) {
        if (kv->key() == nullptr || kv->value() == nullptr) continue;  // the contract is silent
        std::string key(kv->key()->data(), kv->key()->size());
        if (has_nul(kv->key()) || has_nul(kv->value())) r.must_reject = true, r.why = "NUL in metadata";
        if (!first && !(previous < key)) r.must_reject = true, r.why = "metadata unsorted or duplicate";
        previous = key;
        first = false;
        out.metadata.emplace_back(key, std::string(kv->value()->data(), kv->value()->size()));
      }
    }
    r.events.push_back(std::move(out));
  }
  return r;
}

class RawBatchTest : public Acceptance {
 protected:
  // Moves frontier_ to the store's highest position (or event count without a
  // global order), so that a rejected call can be seen to add nothing.
  void Advance() {
    if (!HasGlobalOrder()) {
      frontier_ = static_cast<int64_t>(Everything().size());
      return;
    }
    std::vector<Event> more = ReadAll(store_, frontier_).events;
    if (!more.empty()) frontier_ = more.back().global_position;
  }

  // Whether anything appeared past frontier_.
  bool NothingNew() {
    if (!HasGlobalOrder()) return static_cast<int64_t>(Everything().size()) == frontier_;
    return ReadAll(store_, frontier_).events.empty();
  }

  // Appends `bytes` to a fresh stream and checks the outcome against the
  // suite's own reading of the batch. Returns the status.
  est_status Check(const std::vector<uint8_t>& bytes, const std::string& what) {
    SCOPED_TRACE(what);
    const Reading reading = Read(bytes);
    Advance();
    const std::string stream = NewStreamId();
    est_append_result result = EST_APPEND_RESULT_INIT;
    est_status status = est_append(store_, stream.c_str(), bytes.data(), bytes.size(), nullptr, &result, nullptr);
    const std::string message = est_last_error();
    if (status != EST_OK) {
      EXPECT_EQ(status, EST_ERR_INVALID_ARGUMENT) << est_status_name(status) << ": " << message;
      EXPECT_FALSE(message.empty()) << "a rejection must say why";
      EXPECT_EST(EST_ERR_NOT_FOUND, ReadStream(store_, stream).status) << "a rejected batch left a stream";
      EXPECT_TRUE(NothingNew()) << "a rejected batch left events";
      return status;
    }
    EXPECT_FALSE(reading.must_reject) << "accepted a batch the contract refuses: " << reading.why;
    std::vector<Event> read = ReadStream(store_, stream).events;
    if (reading.verifies) {
      // Accepted as valid input: the store holds exactly what the bytes say.
      EXPECT_EQ(read.size(), reading.events.size());
      for (size_t i = 0; i < read.size() && i < reading.events.size(); ++i) {
        const RawEvent& want = reading.events[i];
        EXPECT_EQ(read[i].type, *want.type);
        EXPECT_EQ(read[i].data, want.data);
        EXPECT_EQ(read[i].content_type, want.content_type.value_or(""));
        EXPECT_EQ(read[i].metadata, want.metadata);
        EXPECT_EQ(read[i].stream_version, static_cast<int64_t>(i) + 1);
      }
    }
    return status;
  }

  int64_t frontier_ = 0;
};
ESTORIA_ACCEPTANCE_SUITE(RawBatchTest);

std::vector<RawEvent> TwoGoodEvents() {
  RawEvent a;
  a.type = "opened";
  a.data = std::string("\x00\x01" "abc", 5);
  a.content_type = "application/x";
  a.metadata = {{"a", "1"}, {"b", "2"}};
  RawEvent b;
  b.type = "closed";
  b.data = "";
  return {a, b};
}

TEST_P(RawBatchTest, CraftedValidBatchIsAccepted) {
  EXPECT_EST_OK(Check(RawBatch(TwoGoodEvents()), "crafted valid batch"));
}

TEST_P(RawBatchTest, BatchAtAnOddAddressIsAccepted) {
  std::vector<uint8_t> bytes = SimpleBatch(3);
  std::vector<uint8_t> shifted(bytes.size() + 3);
  std::memcpy(shifted.data() + 3, bytes.data(), bytes.size());
  const std::string stream = NewStreamId();
  ASSERT_EST_OK(est_append(store_, stream.c_str(), shifted.data() + 3, bytes.size(), nullptr, nullptr, nullptr));
  EXPECT_EQ(Versions(ReadStream(store_, stream).events), Range(1, 3));
}

TEST_P(RawBatchTest, UnsortedMetadataKeysAreRejected) {
  auto events = TwoGoodEvents();
  events[0].metadata = {{"b", "2"}, {"a", "1"}};
  EXPECT_INVALID(Check(RawBatch(events), "unsorted keys"));
}

TEST_P(RawBatchTest, DuplicateMetadataKeysAreRejected) {
  auto events = TwoGoodEvents();
  events[1].metadata = {{"k", "1"}, {"k", "2"}};
  EXPECT_INVALID(Check(RawBatch(events), "duplicate keys"));
}

// Estoria reserves "estoria." keys for its own components, which write them
// through the event store (its event-stream snapshot store): the store keeps
// them; only the aggregate layer refuses them (aggregate_test.cc).
TEST_P(RawBatchTest, ToolkitMetadataKeysAreStoredAndReadBack) {
  auto events = TwoGoodEvents();
  events[0].metadata = {{"a", "1"}, {"estoria.snapshot_version", "2"}};
  events[1].metadata = {{"estoria.", "x"}};
  ASSERT_EST_OK(Check(RawBatch(events), "toolkit keys"));
}

TEST_P(RawBatchTest, NulInsideAnyStringIsRejected) {
  const std::string with_nul("ab\0cd", 5);
  {
    auto events = TwoGoodEvents();
    events[0].type = with_nul;
    EXPECT_INVALID(Check(RawBatch(events), "NUL in type"));
  }
  {
    auto events = TwoGoodEvents();
    events[1].content_type = with_nul;
    EXPECT_INVALID(Check(RawBatch(events), "NUL in content type"));
  }
  {
    auto events = TwoGoodEvents();
    events[0].metadata = {{"a", "1"}, {with_nul, "2"}};
    EXPECT_INVALID(Check(RawBatch(events), "NUL in a metadata key"));
  }
  {
    auto events = TwoGoodEvents();
    events[0].metadata = {{"a", with_nul}};
    EXPECT_INVALID(Check(RawBatch(events), "NUL in a metadata value"));
  }
  {
    auto events = TwoGoodEvents();
    events[0].data = with_nul;  // data is bytes: NUL is fine there
    EXPECT_EST_OK(Check(RawBatch(events), "NUL in data"));
  }
}

TEST_P(RawBatchTest, InvalidEventTypeNamesAreRejected) {
  for (const std::string& type : {std::string(""), std::string("_x"), std::string("x_"), std::string("a\x1f"),
                                  std::string("\xc3"), std::string(256, 'y')}) {
    auto events = TwoGoodEvents();
    events[1].type = type;
    EXPECT_INVALID(Check(RawBatch(events), "type \"" + type + "\""));
  }
}

TEST_P(RawBatchTest, MissingRequiredFieldsAreRejected) {
  auto events = TwoGoodEvents();
  events[0].type.reset();
  EXPECT_INVALID(Check(RawBatch(events), "event without a type"));
  RawBatchOptions no_events;
  no_events.with_events = false;
  EXPECT_INVALID(Check(RawBatch(TwoGoodEvents(), no_events), "batch without events"));
}

TEST_P(RawBatchTest, BatchWithZeroEventsIsRejected) {
  EXPECT_INVALID(Check(RawBatch({}), "zero events"));
}

TEST_P(RawBatchTest, WrongOrMissingFileIdentifierIsRejected) {
  RawBatchOptions wrong;
  wrong.identifier = "ESTX";
  EXPECT_INVALID(Check(RawBatch(TwoGoodEvents(), wrong), "identifier ESTX"));
  RawBatchOptions none;
  none.identifier = nullptr;
  EXPECT_INVALID(Check(RawBatch(TwoGoodEvents(), none), "no identifier"));
  std::vector<uint8_t> patched = SimpleBatch(1);
  std::memcpy(patched.data() + 4, "estb", 4);
  EXPECT_INVALID(Check(patched, "identifier in lower case"));
}

TEST_P(RawBatchTest, ABadEventAnywhereRejectsTheWholeBatch) {
  // Atomicity: the first event is fine, the third is not; nothing is written,
  // neither to a new stream nor to an existing one.
  auto events = TwoGoodEvents();
  RawEvent bad;
  bad.type = "_bad";
  events.push_back(bad);
  std::vector<uint8_t> bytes = RawBatch(events);
  EXPECT_INVALID(Check(bytes, "bad third event, new stream"));

  const std::string existing = NewStreamId();
  std::vector<Event> before = AppendN(store_, existing, 2);
  EXPECT_INVALID(est_append(store_, existing.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr));
  EXPECT_EQ(ReadStream(store_, existing).events, before);
  est_append_options expect = ExpectVersion(2);
  EXPECT_EST_OK(Append(store_, existing, SimpleBatch(1), &expect).status) << "the tip did not move";
}

TEST_P(RawBatchTest, EveryTruncationOfAValidBatchIsRejectedOrIsTheSameBatch) {
  const std::vector<uint8_t> full = RawBatch(TwoGoodEvents());
  for (size_t len = 0; len < full.size(); ++len) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
    // An accepted prefix can only be one that cut padding: Check compares
    // what was stored with what the bytes say.
    Check(prefix, "prefix of " + std::to_string(len) + " of " + std::to_string(full.size()) + " bytes");
    if (HasFatalFailure()) return;
  }
}

TEST_P(RawBatchTest, EveryFlippedByteIsRejectedOrAcceptedAsWhatItSays) {
  NewEvent e1;
  e1.type = "opened";
  e1.data = "abc";
  e1.content_type = "text/plain";
  e1.metadata = {{"a", "1"}, {"m", "22"}};
  e1.has_id = true;
  e1.id = NewUuidV4();
  e1.timestamp_ns = 99;
  Batch batch;
  batch.Add(e1).Add("closed", std::string("\x00\xff", 2));
  const std::vector<uint8_t> good = batch.Bytes();
  ASSERT_FALSE(Read(good).must_reject);
  int accepted = 0;
  for (uint8_t mask : {uint8_t{0xff}, uint8_t{0x01}, uint8_t{0x80}}) {
    for (size_t i = 0; i < good.size(); ++i) {
      std::vector<uint8_t> flipped = good;
      flipped[i] ^= mask;
      if (Check(flipped, "byte " + std::to_string(i) + " ^ " + std::to_string(mask)) == EST_OK) ++accepted;
      if (HasFatalFailure()) return;
    }
  }
  // Flips in the payload (data bytes, the id, the timestamp) are valid input.
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace estoria::acceptance
