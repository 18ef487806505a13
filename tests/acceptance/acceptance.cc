// tests/acceptance/acceptance.cc: the backend registry and the helpers of the
// acceptance suite (see acceptance.h).
#include "tests/acceptance/acceptance.h"

#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "flatbuffers/flatbuffers.h"
#include "schema/estoria_generated.h"

bool operator==(const est_uuid& a, const est_uuid& b) { return std::memcmp(a.bytes, b.bytes, 16) == 0; }

void PrintTo(const est_uuid& uuid, std::ostream* os) { *os << estoria::acceptance::UuidText(uuid); }

namespace estoria::acceptance {
namespace {

// A fresh empty directory under the system temp dir, as "<scheme><path>".
// For backends that keep files (file:).
std::string FreshDirUri(const std::string& scheme) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "estoria-acc-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr) << "mkdtemp failed";
  return scheme + tmpl;
}

void RemoveDirUri(const std::string& scheme, const std::string& uri) {
  std::error_code ignored;
  std::filesystem::remove_all(uri.substr(scheme.size()), ignored);
}

uint64_t BigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void CheckFbMatchesView(const est_event& view) {
  // A store keeping compact records leaves fb NULL for this (ABI 1.3)
  // caller, and builds it on request; a FlatBuffers record is its own.
  if (view.fb == nullptr) {
    EXPECT_EQ(view.fb_len, 0u);
    ASSERT_NE(view.record, nullptr) << "a view without fb must point at its record";
    const auto inside = [&](const void* p, size_t n) {
      const auto* b = static_cast<const uint8_t*>(p);
      return b >= view.record && b + n <= view.record + view.record_len;
    };
    EXPECT_TRUE(inside(view.type, std::strlen(view.type) + 1)) << "the type lies in the record";
    EXPECT_TRUE(inside(view.data, view.data_len)) << "the data lies in the record";
    EXPECT_TRUE(inside(view.content_type, std::strlen(view.content_type) + 1));
  }
  size_t fb_len = 0;
  ASSERT_EQ(est_event_flatbuffer(&view, nullptr, 0, &fb_len), EST_OK) << est_last_error();
  ASSERT_GT(fb_len, 0u);
  std::vector<uint64_t> aligned((fb_len + 7) / 8);
  size_t copied = 0;
  ASSERT_EQ(est_event_flatbuffer(&view, reinterpret_cast<uint8_t*>(aligned.data()), aligned.size() * 8, &copied),
            EST_OK)
      << est_last_error();
  ASSERT_EQ(copied, fb_len);
  if (view.fb != nullptr) {
    ASSERT_EQ(view.fb_len, fb_len);
    EXPECT_EQ(std::memcmp(view.fb, aligned.data(), fb_len), 0) << "a stored Event is handed out as it is";
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier verifier(bytes, fb_len);
  if (!verifier.VerifyBuffer<estoria::fb::Event>(nullptr)) {
    ADD_FAILURE() << "est_event.fb does not verify as an estoria Event";
    return;
  }
  const auto* fb = flatbuffers::GetRoot<estoria::fb::Event>(bytes);
  auto str = [](const flatbuffers::String* s) { return s ? std::string(s->data(), s->size()) : std::string(); };
  auto uuid_matches = [](const estoria::fb::Uuid* u, const est_uuid& b) {
    return u != nullptr && u->hi() == BigEndian64(b.bytes) && u->lo() == BigEndian64(b.bytes + 8);
  };
  EXPECT_EQ(str(fb->type()), view.type);
  EXPECT_EQ(str(fb->stream_type()), view.stream_type);
  EXPECT_TRUE(uuid_matches(fb->id(), view.id)) << "fb id differs from the view's";
  EXPECT_TRUE(uuid_matches(fb->stream_uuid(), view.stream_uuid)) << "fb stream_uuid differs";
  EXPECT_EQ(fb->stream_version(), view.stream_version);
  EXPECT_EQ(fb->global_position(), view.global_position);
  EXPECT_EQ(fb->timestamp_ns(), view.timestamp_ns);
  std::string fb_data = fb->data() ? std::string(reinterpret_cast<const char*>(fb->data()->data()),
                                                 fb->data()->size())
                                   : std::string();
  EXPECT_EQ(fb_data, std::string(reinterpret_cast<const char*>(view.data), view.data_len));
  EXPECT_EQ(str(fb->content_type()), view.content_type);
  size_t fb_meta = fb->metadata() ? fb->metadata()->size() : 0;
  ASSERT_EQ(fb_meta, view.metadata_count);
  for (size_t i = 0; i < fb_meta; ++i) {
    const auto* kv = fb->metadata()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const char* key = nullptr;
    const char* value = nullptr;
    ASSERT_EQ(est_event_metadata(&view, i, &key, &value), EST_OK);
    EXPECT_EQ(str(kv->key()), key);
    EXPECT_EQ(str(kv->value()), value);
  }
}

// The base URI of a PostgreSQL server to test against ("" = none): set by
// tests/postgres/run_pg_tests.sh, which starts a throwaway server.
std::string PgBase() {
  const char* base = std::getenv("ESTORIA_TEST_PG");
  return base == nullptr ? std::string() : std::string(base);
}

// A fresh schema of that server for each store: "<base>?schema=acc_<random>".
std::string FreshPgUri() {
  const std::string base = PgBase();
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "schema=acc_" + UuidText(NewUuidV4()).substr(0, 8) +
         UuidText(NewUuidV4()).substr(0, 8);
}

// Drops the store's schema with psql (the suite itself reaches the engine
// only through the C ABI).
void DropPgSchema(const std::string& uri) {
  const size_t at = uri.rfind("schema=");
  if (at == std::string::npos) return;
  const std::string schema = uri.substr(at + 7);
  const std::string command = "psql -q -X -d '" + PgBase() + "' -c 'DROP SCHEMA IF EXISTS \"" + schema +
                              "\" CASCADE' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) ADD_FAILURE() << "could not drop schema " << schema;
}

}  // namespace

// To add a backend, add one line here.
const std::vector<Backend>& AllBackends() {
  static const std::vector<Backend> backends = [] {
    std::vector<Backend> all = {
        {"memory", [] { return std::string("memory:"); }, nullptr, true},
        {"file", [] { return FreshDirUri("file:"); }, [](const std::string& u) { RemoveDirUri("file:", u); }, true,
         true},
    };
    if (!PgBase().empty()) all.push_back({"postgres", FreshPgUri, DropPgSchema, true, true});
    return all;
  }();
  return backends;
}

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

::testing::AssertionResult StatusIs(est_status expected, est_status actual) {
  std::string message = est_last_error();
  if (actual == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << est_status_name(expected) << " (" << expected
                                       << "), got " << est_status_name(actual) << " (" << actual
                                       << "); est_last_error(): \"" << message << "\"";
}

::testing::AssertionResult RejectedWith(est_status expected, est_status actual) {
  const char* raw = est_last_error();
  if (raw == nullptr) return ::testing::AssertionFailure() << "est_last_error() returned NULL";
  std::string message = raw;
  if (actual != expected) {
    return ::testing::AssertionFailure() << "expected " << est_status_name(expected) << " (" << expected
                                         << "), got " << est_status_name(actual) << " (" << actual
                                         << "); est_last_error(): \"" << message << "\"";
  }
  if (message.empty()) {
    return ::testing::AssertionFailure() << est_status_name(actual) << " without a message in est_last_error()";
  }
  return ::testing::AssertionSuccess();
}

bool MentionsNumber(const std::string& text, int64_t n) {
  const std::string digits = std::to_string(n);
  for (size_t at = text.find(digits); at != std::string::npos; at = text.find(digits, at + 1)) {
    bool before_ok = at == 0 || !std::isdigit(static_cast<unsigned char>(text[at - 1]));
    size_t end = at + digits.size();
    bool after_ok = end == text.size() || !std::isdigit(static_cast<unsigned char>(text[end]));
    if (before_ok && after_ok) return true;
  }
  return false;
}

std::string UuidText(const est_uuid& uuid) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[uuid.bytes[i] >> 4];
    out += kHex[uuid.bytes[i] & 0xf];
  }
  return out;
}

est_uuid NewUuidV4() {
  est_uuid u{};
  EXPECT_EST_OK(est_uuid_v4(&u));
  return u;
}

est_uuid NewUuidV7() {
  est_uuid u{};
  EXPECT_EST_OK(est_uuid_v7(&u));
  return u;
}

std::string FormatId(const std::string& type, const est_uuid& uuid) {
  char buf[EST_ID_MAX_LEN];
  est_status status = est_id_format(type.c_str(), &uuid, buf, sizeof buf);
  EXPECT_TRUE(StatusIs(EST_OK, status)) << "formatting an ID of type \"" << type << "\"";
  if (status != EST_OK) return type + "_" + UuidText(uuid);
  return buf;
}

std::string NewStreamId(const std::string& type) { return FormatId(type, NewUuidV4()); }

est_uuid UuidOf(const std::string& id) {
  est_uuid out{};
  if (id.size() < 37) {
    ADD_FAILURE() << "not an ID: " << id;
    return out;
  }
  std::string hex;
  for (char c : id.substr(id.size() - 36)) {
    if (c != '-') hex += c;
  }
  for (int i = 0; i < 16; ++i) out.bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

std::string TypeOf(const std::string& id) { return id.size() < 37 ? std::string() : id.substr(0, id.size() - 37); }

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool operator==(const Event& a, const Event& b) {
  return a.type == b.type && a.id == b.id && a.stream_type == b.stream_type && a.stream_uuid == b.stream_uuid &&
         a.stream_version == b.stream_version && a.global_position == b.global_position &&
         a.timestamp_ns == b.timestamp_ns && a.data == b.data && a.content_type == b.content_type &&
         a.metadata == b.metadata;
}

void PrintTo(const Event& e, std::ostream* os) {
  *os << "{" << e.stream_type << "_" << UuidText(e.stream_uuid) << " v" << e.stream_version << " @"
      << e.global_position << " " << e.type << " id=" << UuidText(e.id) << " ts=" << e.timestamp_ns
      << " data=" << ::testing::PrintToString(e.data) << " ct=\"" << e.content_type << "\" meta=[";
  for (const auto& [k, v] : e.metadata) *os << k << "=" << v << ";";
  *os << "]}";
}

Event CopyEvent(const est_event& view) {
  Event e;
  EXPECT_NE(view.type, nullptr);
  EXPECT_NE(view.stream_type, nullptr);
  EXPECT_NE(view.content_type, nullptr) << "content_type must be \"\" when undeclared, never NULL";
  if (view.type) e.type = view.type;
  e.id = view.id;
  if (view.stream_type) e.stream_type = view.stream_type;
  e.stream_uuid = view.stream_uuid;
  e.stream_version = view.stream_version;
  e.global_position = view.global_position;
  e.timestamp_ns = view.timestamp_ns;
  if (view.data_len > 0) {
    EXPECT_NE(view.data, nullptr);
    if (view.data) e.data.assign(reinterpret_cast<const char*>(view.data), view.data_len);
  }
  if (view.content_type) e.content_type = view.content_type;
  for (size_t i = 0; i < view.metadata_count; ++i) {
    const char* key = nullptr;
    const char* value = nullptr;
    est_status status = est_event_metadata(&view, i, &key, &value);
    EXPECT_TRUE(StatusIs(EST_OK, status)) << "metadata " << i;
    if (status != EST_OK || key == nullptr || value == nullptr) break;
    e.metadata.emplace_back(key, value);
  }
  CheckFbMatchesView(view);
  return e;
}

std::vector<Event> Drain(est_iter* iter) {
  std::vector<Event> out;
  if (iter == nullptr) {
    ADD_FAILURE() << "Drain: NULL iterator";
    return out;
  }
  for (;;) {
    est_event view = EST_EVENT_INIT;
    est_status status = est_iter_next(iter, &view);
    if (status == EST_END) break;
    if (status != EST_OK) {
      ADD_FAILURE() << "est_iter_next: " << est_status_name(status) << ": " << est_last_error();
      break;
    }
    out.push_back(CopyEvent(view));
    if (out.size() > 10000000) {
      ADD_FAILURE() << "iterator does not end";
      break;
    }
  }
  est_event view = EST_EVENT_INIT;
  EXPECT_EST(EST_END, est_iter_next(iter, &view)) << "EST_END must repeat";
  est_iter_close(iter);
  return out;
}

ReadResult ReadStream(est_store* store, const std::string& stream_id, int32_t direction, int64_t after_version,
                      int64_t count) {
  est_read_options options = EST_READ_OPTIONS_INIT;
  options.direction = direction;
  options.after_version = after_version;
  options.count = count;
  est_iter* iter = reinterpret_cast<est_iter*>(&options);  // poisoned: must be overwritten
  ReadResult r;
  r.status = est_read_stream(store, stream_id.c_str(), &options, &iter);
  if (r.status == EST_OK) {
    r.events = Drain(iter);
  } else {
    EXPECT_EQ(iter, nullptr) << "*out must be NULL on failure";
  }
  return r;
}

SnapshotRead ReadSnapshot(est_store* store, const std::string& aggregate_id, int64_t max_version) {
  SnapshotRead out;
  est_snapshot* snapshot = reinterpret_cast<est_snapshot*>(&out);  // poisoned: must be overwritten
  out.status = est_snapshot_read(store, aggregate_id.c_str(), max_version, &snapshot);
  if (out.status != EST_OK) {
    EXPECT_EQ(snapshot, nullptr) << "*out must be NULL on failure";
    return out;
  }
  size_t len = 0;
  const uint8_t* data = est_snapshot_data(snapshot, &len);
  out.version = est_snapshot_version(snapshot);
  out.timestamp_ns = est_snapshot_timestamp_ns(snapshot);
  if (len > 0) out.data.assign(reinterpret_cast<const char*>(data), len);
  const char* content_type = est_snapshot_content_type(snapshot);
  EXPECT_NE(content_type, nullptr);
  if (content_type != nullptr) out.content_type = content_type;
  est_snapshot_free(snapshot);
  return out;
}

ReadResult ReadAll(est_store* store, int64_t after_position, int64_t count) {
  est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
  options.after_position = after_position;
  options.count = count;
  est_iter* iter = reinterpret_cast<est_iter*>(&options);
  ReadResult r;
  r.status = est_read_all(store, &options, &iter);
  if (r.status == EST_OK) {
    r.events = Drain(iter);
  } else {
    EXPECT_EQ(iter, nullptr) << "*out must be NULL on failure";
    ADD_FAILURE() << "est_read_all: " << est_status_name(r.status) << ": " << est_last_error();
  }
  return r;
}

std::vector<int64_t> Versions(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const Event& e : events) out.push_back(e.stream_version);
  return out;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> out;
  if (from <= to) {
    for (int64_t v = from; v <= to; ++v) out.push_back(v);
  } else {
    for (int64_t v = from; v >= to; --v) out.push_back(v);
  }
  return out;
}

Batch::Batch() { EXPECT_EST_OK(est_batch_new(&batch_)); }
Batch::~Batch() { est_batch_free(batch_); }

Batch& Batch::Add(const NewEvent& event) {
  EXPECT_EST_OK(est_batch_add(batch_, event.type.c_str(), event.data.data(), event.data.size(), event.content_type));
  for (const auto& [key, value] : event.metadata) Meta(key, value);
  if (event.has_id) {
    EXPECT_EST_OK(est_batch_set_id(batch_, &event.id));
  }
  if (event.timestamp_ns != 0) {
    EXPECT_EST_OK(est_batch_set_timestamp(batch_, event.timestamp_ns));
  }
  return *this;
}

Batch& Batch::Add(const std::string& type, const std::string& data, const char* content_type) {
  EXPECT_EST_OK(est_batch_add(batch_, type.c_str(), data.data(), data.size(), content_type));
  return *this;
}

Batch& Batch::Meta(const std::string& key, const std::string& value) {
  EXPECT_EST_OK(est_batch_add_metadata(batch_, key.c_str(), value.c_str()));
  return *this;
}

std::vector<uint8_t> Batch::Bytes() {
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  EXPECT_EST_OK(est_batch_bytes(batch_, &bytes, &len));
  if (bytes == nullptr) return {};
  return std::vector<uint8_t>(bytes, bytes + len);
}

std::vector<uint8_t> SimpleBatch(int n, const std::string& prefix) {
  Batch batch;
  for (int i = 1; i <= n; ++i) batch.Add("deposited", prefix + std::to_string(i), "text/plain");
  return batch.Bytes();
}

AppendOutcome Append(est_store* store, const std::string& stream_id, const std::vector<uint8_t>& bytes,
                     const est_append_options* options) {
  AppendOutcome out;
  est_iter* written = reinterpret_cast<est_iter*>(&out);  // poisoned: must be overwritten
  out.status = est_append(store, stream_id.c_str(), bytes.data(), bytes.size(), options, &out.result, &written);
  out.written_was_null = written == nullptr;
  if (out.status == EST_OK) {
    EXPECT_NE(written, nullptr) << "a successful append must give the written iterator";
    if (written != nullptr) out.written = Drain(written);
  } else {
    EXPECT_EQ(written, nullptr) << "*written must be NULL on failure";
  }
  return out;
}

est_append_options ExpectVersion(int64_t version) {
  est_append_options o = EST_APPEND_OPTIONS_INIT;
  o.expect = EST_EXPECT_VERSION;
  o.expected_version = version;
  return o;
}

est_append_options ExpectNoStream() {
  est_append_options o = EST_APPEND_OPTIONS_INIT;
  o.expect = EST_EXPECT_NO_STREAM;
  return o;
}

est_append_options Restore(int64_t first_version) {
  est_append_options o = EST_APPEND_OPTIONS_INIT;
  o.flags = EST_APPEND_RESTORE;
  o.first_version = first_version;
  return o;
}

std::vector<Event> AppendN(est_store* store, const std::string& stream_id, int n, const std::string& prefix) {
  AppendOutcome out = Append(store, stream_id, SimpleBatch(n, prefix));
  EXPECT_TRUE(StatusIs(EST_OK, out.status)) << "appending " << n << " events to " << stream_id;
  return out.written;
}

void Acceptance::SetUp() {
  uri_ = GetParam().make_uri();
  est_store_options options = EST_STORE_OPTIONS_INIT;
  ASSERT_EST_OK(est_store_open(uri_.c_str(), &options, &store_)) << "opening " << uri_;
  ASSERT_NE(store_, nullptr);
}

void Acceptance::CloseStore() {
  est_store_close(store_);
  store_ = nullptr;
}

void Acceptance::ReopenStore(const est_store_options* options) {
  CloseStore();
  ASSERT_EST_OK(est_store_open(uri_.c_str(), options, &store_)) << "reopening " << uri_;
}

void Acceptance::FreshStore() {
  CloseStore();
  if (!fresh_uri_.empty() && GetParam().cleanup) GetParam().cleanup(fresh_uri_);
  fresh_uri_ = GetParam().make_uri();
  ASSERT_EST_OK(est_store_open(fresh_uri_.c_str(), nullptr, &store_)) << "opening a fresh store " << fresh_uri_;
}

std::string Acceptance::ExtraUri() {
  extra_uris_.push_back(GetParam().make_uri());
  return extra_uris_.back();
}

void Acceptance::TearDown() {
  CloseStore();
  if (GetParam().cleanup) {
    GetParam().cleanup(uri_);
    for (const std::string& uri : extra_uris_) GetParam().cleanup(uri);
    if (!fresh_uri_.empty()) GetParam().cleanup(fresh_uri_);
  }
}

}  // namespace estoria::acceptance
