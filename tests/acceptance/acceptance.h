// tests/acceptance/acceptance.h: the fixture, backend registry and helpers of
// the acceptance suite, the executable form of doc/data-model.md (and of
// the rules of doc/abi.md). Everything here goes through the C ABI
// (estoria.h) only; the generated FlatBuffers header is used by the suite to
// check `est_event.fb` and to craft raw batches, never to reach the engine.
//
// Thread safety: the helpers are free functions over a store handle, which the
// ABI lets many threads share; an Acceptance fixture belongs to its test.
#ifndef ESTORIA_TESTS_ACCEPTANCE_ACCEPTANCE_H_
#define ESTORIA_TESTS_ACCEPTANCE_ACCEPTANCE_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "estoria/estoria.h"
#include "gtest/gtest.h"

// est_uuid is a C type of the global namespace: its comparison and printer
// live there too so that gtest finds them by argument-dependent lookup.
bool operator==(const est_uuid& a, const est_uuid& b);
inline bool operator!=(const est_uuid& a, const est_uuid& b) { return !(a == b); }
void PrintTo(const est_uuid& uuid, std::ostream* os);

namespace estoria::acceptance {

// ------------------------------------------------------------------ backends

// One backend the suite runs against. `make_uri` gives the URI of a fresh,
// empty store; `cleanup` (may be empty) removes what that store left behind.
struct Backend {
  std::string name;                                 // a gtest-safe name: [A-Za-z0-9]
  std::function<std::string()> make_uri;            // a fresh store each call
  std::function<void(const std::string&)> cleanup;  // given the URI make_uri returned
  bool has_global_order = true;                     // else positions are 0
  bool persistent = false;                          // reopening the URI gives the same store
};

// Every backend the suite runs against (see acceptance.cc: adding one is one
// line there).
const std::vector<Backend>& AllBackends();

// Instantiates a TEST_P suite derived from Acceptance over every backend;
// test names end in the backend's name.
#define ESTORIA_ACCEPTANCE_SUITE(suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                  \
                           ::testing::ValuesIn(::estoria::acceptance::AllBackends()),       \
                           [](const ::testing::TestParamInfo<::estoria::acceptance::Backend>& \
                                  info) { return info.param.name; })

// A copyable stand-in for a Backend in gtest's output.
void PrintTo(const Backend& backend, std::ostream* os);

// ------------------------------------------------------------------- statuses

// Succeeds when `actual` is `expected`; otherwise names both and quotes
// est_last_error(). Call it directly on the est_* call, so that the message
// read is that call's.
::testing::AssertionResult StatusIs(est_status expected, est_status actual);
// Succeeds when `actual` is `expected` (an error) and est_last_error() says
// something: every rejection must explain itself.
::testing::AssertionResult RejectedWith(est_status expected, est_status actual);

#define EXPECT_EST_OK(call) EXPECT_TRUE(::estoria::acceptance::StatusIs(EST_OK, (call)))
#define ASSERT_EST_OK(call) ASSERT_TRUE(::estoria::acceptance::StatusIs(EST_OK, (call)))
#define EXPECT_EST(code, call) EXPECT_TRUE(::estoria::acceptance::StatusIs((code), (call)))
#define ASSERT_EST(code, call) ASSERT_TRUE(::estoria::acceptance::StatusIs((code), (call)))
#define EXPECT_REJECTED(code, call) EXPECT_TRUE(::estoria::acceptance::RejectedWith((code), (call)))
#define EXPECT_INVALID(call) EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, (call))

// True when `text` contains `n` as a whole decimal number (not part of a
// longer one): how the suite checks that a mismatch message names versions.
bool MentionsNumber(const std::string& text, int64_t n);

// --------------------------------------------------------------------- values

// The canonical lower-case text of a UUID, computed by the suite itself.
std::string UuidText(const est_uuid& uuid);
est_uuid NewUuidV4();
est_uuid NewUuidV7();
// "type_uuid", through est_id_format (asserts success).
std::string FormatId(const std::string& type, const est_uuid& uuid);
// A fresh stream ID of the given type.
std::string NewStreamId(const std::string& type = "account");
// The UUID part of a well-formed ID (parsed by the suite, not the library).
est_uuid UuidOf(const std::string& id);
std::string TypeOf(const std::string& id);

// Unix time in nanoseconds, from the realtime clock.
int64_t NowNs();

// An event as read, copied out of the iterator's views. The copy also checks
// that `fb` verifies as an estoria Event whose fields equal the view's.
struct Event {
  std::string type;
  est_uuid id{};
  std::string stream_type;
  est_uuid stream_uuid{};
  int64_t stream_version = 0;
  int64_t global_position = 0;
  int64_t timestamp_ns = 0;
  std::string data;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> metadata;

  friend bool operator==(const Event& a, const Event& b);
  friend bool operator!=(const Event& a, const Event& b) { return !(a == b); }
};
void PrintTo(const Event& event, std::ostream* os);

// Copies a view (adds a gtest failure when its fb buffer does not verify or
// disagrees with the view).
Event CopyEvent(const est_event& view);

// Drains an iterator with est_iter_next, checks that EST_END then repeats,
// and closes it. Adds a gtest failure on any other status.
std::vector<Event> Drain(est_iter* iter);

// The outcome of a read: its status and, when OK, every event it yielded.
struct ReadResult {
  est_status status = EST_OK;
  std::vector<Event> events;
};

ReadResult ReadStream(est_store* store, const std::string& stream_id, int32_t direction = EST_FORWARD,
                      int64_t after_version = 0, int64_t count = 0);
ReadResult ReadAll(est_store* store, int64_t after_position = 0, int64_t count = 0);

// The outcome of est_snapshot_read: its status and, when OK, the snapshot.
// ReadSnapshot also expects what the ABI promises of the call: *out NULL on
// failure, a non-NULL content type on success.
struct SnapshotRead {
  est_status status = EST_OK;
  int64_t version = 0;
  int64_t timestamp_ns = 0;
  std::string data;
  std::string content_type;
  bool operator==(const SnapshotRead&) const = default;
};
SnapshotRead ReadSnapshot(est_store* store, const std::string& aggregate_id, int64_t max_version);
// The versions of a list of events, in order.
std::vector<int64_t> Versions(const std::vector<Event>& events);
// [from, to] ascending, or descending when from > to.
std::vector<int64_t> Range(int64_t from, int64_t to);

// ----------------------------------------------------------------- batches

// One event to write (what est_batch_add and friends take).
struct NewEvent {
  std::string type = "deposited";
  std::string data;
  const char* content_type = nullptr;  // NULL = undeclared
  std::vector<std::pair<std::string, std::string>> metadata;
  bool has_id = false;
  est_uuid id{};
  int64_t timestamp_ns = 0;  // 0 = not set
};

// RAII over est_batch. Add/Meta assert success.
class Batch {
 public:
  Batch();
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  Batch& Add(const NewEvent& event);
  Batch& Add(const std::string& type, const std::string& data = "", const char* content_type = nullptr);
  Batch& Meta(const std::string& key, const std::string& value);
  est_batch* get() { return batch_; }
  // A copy of est_batch_bytes.
  std::vector<uint8_t> Bytes();

 private:
  est_batch* batch_ = nullptr;
};

// A batch of `n` events with data "<prefix>1", "<prefix>2", ...
std::vector<uint8_t> SimpleBatch(int n, const std::string& prefix = "e");

// The outcome of an append.
struct AppendOutcome {
  est_status status = EST_OK;
  est_append_result result = EST_APPEND_RESULT_INIT;
  std::vector<Event> written;  // drained from the `written` iterator
  bool written_was_null = true;  // *written was NULL after the call
};

AppendOutcome Append(est_store* store, const std::string& stream_id, const std::vector<uint8_t>& bytes,
                     const est_append_options* options = nullptr);
est_append_options ExpectVersion(int64_t version);
est_append_options ExpectNoStream();
est_append_options Restore(int64_t first_version);

// Appends `n` simple events to a stream (asserting success) and returns them.
std::vector<Event> AppendN(est_store* store, const std::string& stream_id, int n,
                           const std::string& prefix = "e");

// -------------------------------------------------------------------- fixture

// A fresh store of the backend under test for each test.
class Acceptance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Closes the store early (TearDown then does nothing more with it).
  void CloseStore();
  // Closes the store and opens the same URI again (persistent backends).
  void ReopenStore(const est_store_options* options = nullptr);
  // Closes the store and opens a fresh, empty one of the same backend in
  // its place (a concurrency test's next soak round). The files of the
  // fresh store it replaces go at once, so a long soak does not pile them
  // up; TearDown cleans up the last one.
  void FreshStore();
  bool HasGlobalOrder() const { return GetParam().has_global_order; }

  // Everything a read_all sees: a rejected call must leave it unchanged.
  std::vector<Event> Everything() { return ReadAll(store_).events; }

  // The URI of another fresh store of this backend, cleaned up by TearDown
  // (the test closes what it opens there).
  std::string ExtraUri();

  est_store* store_ = nullptr;
  std::string uri_;

 private:
  std::vector<std::string> extra_uris_;
  std::string fresh_uri_;  // the store FreshStore opened last, if any
};

}  // namespace estoria::acceptance

#endif  // ESTORIA_TESTS_ACCEPTANCE_ACCEPTANCE_H_
