// LmdbEvents: see lmdb_events.h.
//
// An event is stored as one value of little fixed-width fields and
// length-prefixed strings, the same fields the file store keeps:
//   event ID (16) | timestamp ns (8) | stream version (8) |
//   u16 len + stream ID | u16 len + type | u16 len + content type |
//   u16 count, then per pair u16 len + key, u16 len + value |
//   u32 len + data
#include "bench/peers/lmdb_events.h"

#include <lmdb.h>
#include <time.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace estoria::bench {
namespace {

void PutBigEndian64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

uint64_t GetBigEndian64(const void* p) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

template <typename T>
void PutFixed(T v, std::string& out) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void PutString16(std::string_view s, std::string& out) {
  PutFixed(static_cast<uint16_t>(s.size()), out);
  out.append(s);
}

void EncodeEvent(const PeerEvent& e, std::string_view stream_id, int64_t version, int64_t timestamp_ns,
                 std::string& out) {
  out.clear();
  const std::array<uint8_t, 16> id = NewUuidV4();
  out.append(reinterpret_cast<const char*>(id.data()), id.size());
  PutFixed(timestamp_ns, out);
  PutFixed(version, out);
  PutString16(stream_id, out);
  PutString16(e.type, out);
  PutString16(e.content_type, out);
  PutFixed(static_cast<uint16_t>(e.metadata.size()), out);
  for (const MetadataPair& kv : e.metadata) {
    PutString16(kv.first, out);
    PutString16(kv.second, out);
  }
  PutFixed(static_cast<uint32_t>(e.data.size()), out);
  out.append(reinterpret_cast<const char*>(e.data.data()), e.data.size());
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool Fail(const char* what, int rc, std::string* error) {
  *error = std::string("lmdb: ") + what + ": " + mdb_strerror(rc);
  return false;
}

MDB_val Val(const void* data, size_t size) { return MDB_val{size, const_cast<void*>(data)}; }

// An encoded event (see the top of this file) decoded where it lies: every
// field located, the strings and the data as pointers into the map, as a
// reader handing out views would.
struct EventView {
  const uint8_t* id = nullptr;
  int64_t timestamp_ns = 0;
  int64_t version = 0;
  std::string_view stream_id, type, content_type;
  uint16_t metadata_count = 0;
  const uint8_t* metadata = nullptr;  // the pairs, still encoded
  const uint8_t* data = nullptr;
  uint32_t data_len = 0;
};

// A bounds-checked reader over one encoded event.
class Decoder {
 public:
  explicit Decoder(const MDB_val& v) : p_(static_cast<const uint8_t*>(v.mv_data)), end_(p_ + v.mv_size) {}

  const uint8_t* Take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return nullptr;
    }
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  template <typename T>
  T Fixed() {
    T v{};
    if (const uint8_t* at = Take(sizeof(T))) std::memcpy(&v, at, sizeof(T));
    return v;
  }
  std::string_view String16() {
    const uint16_t n = Fixed<uint16_t>();
    const uint8_t* at = Take(n);
    return at == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(at), n);
  }
  bool ok() const { return ok_; }
  const uint8_t* here() const { return p_; }

 private:
  const uint8_t* p_;
  const uint8_t* const end_;
  bool ok_ = true;
};

bool DecodeEvent(const MDB_val& value, EventView* e) {
  Decoder d(value);
  e->id = d.Take(16);
  e->timestamp_ns = d.Fixed<int64_t>();
  e->version = d.Fixed<int64_t>();
  e->stream_id = d.String16();
  e->type = d.String16();
  e->content_type = d.String16();
  e->metadata_count = d.Fixed<uint16_t>();
  e->metadata = d.here();
  for (uint16_t i = 0; i < e->metadata_count && d.ok(); ++i) {
    d.String16();
    d.String16();
  }
  e->data_len = d.Fixed<uint32_t>();
  e->data = d.Take(e->data_len);
  return d.ok() && e->version > 0 && !e->type.empty();
}

// A read-only transaction with one cursor, both ended on scope exit: the
// cursor closed first, then the transaction aborted (LMDB's way to end a
// reader).
struct ReadCursor {
  MDB_txn* txn = nullptr;
  MDB_cursor* cursor = nullptr;

  ~ReadCursor() {
    if (cursor != nullptr) mdb_cursor_close(cursor);
    if (txn != nullptr) mdb_txn_abort(txn);
  }

  // Begins the transaction in `env` and opens the cursor over `dbi`; false
  // with *error set when either fails.
  bool Open(MDB_env* env, MDB_dbi dbi, std::string* error) {
    int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) return Fail("mdb_txn_begin", rc, error);
    if ((rc = mdb_cursor_open(txn, dbi, &cursor)) != MDB_SUCCESS) return Fail("mdb_cursor_open", rc, error);
    return true;
  }
};

}  // namespace

std::unique_ptr<LmdbEvents> LmdbEvents::Open(const std::string& dir, uint64_t map_bytes, std::string* error) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != MDB_SUCCESS) {
    Fail("mdb_env_create", rc, error);
    return nullptr;
  }
  std::unique_ptr<LmdbEvents> self(new LmdbEvents(env));
  if ((rc = mdb_env_set_maxdbs(env, 3)) != MDB_SUCCESS || (rc = mdb_env_set_mapsize(env, map_bytes)) != MDB_SUCCESS) {
    Fail("configuring the environment", rc, error);
    return nullptr;
  }
  // Flags 0: durable commits, read-only map, one lock file beside data.mdb.
  if ((rc = mdb_env_open(env, dir.c_str(), 0, 0644)) != MDB_SUCCESS) {
    Fail("mdb_env_open", rc, error);
    return nullptr;
  }
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env, nullptr, 0, &txn)) != MDB_SUCCESS) {
    Fail("mdb_txn_begin", rc, error);
    return nullptr;
  }
  if ((rc = mdb_dbi_open(txn, "events", MDB_CREATE, &self->events_dbi_)) != MDB_SUCCESS ||
      (rc = mdb_dbi_open(txn, "streams", MDB_CREATE, &self->streams_dbi_)) != MDB_SUCCESS ||
      (rc = mdb_dbi_open(txn, "tips", MDB_CREATE, &self->tips_dbi_)) != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    Fail("mdb_dbi_open", rc, error);
    return nullptr;
  }
  if ((rc = mdb_txn_commit(txn)) != MDB_SUCCESS) {
    Fail("mdb_txn_commit", rc, error);
    return nullptr;
  }
  return self;
}

LmdbEvents::~LmdbEvents() { mdb_env_close(env_); }

bool LmdbEvents::Append(const PeerStream& stream, std::span<const PeerEvent> events, std::string* error) {
  const std::string stream_id = stream.Id();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != MDB_SUCCESS) return Fail("mdb_txn_begin", rc, error);
  auto abort = [&](const char* what) {
    mdb_txn_abort(txn);
    return Fail(what, rc, error);
  };

  // The stream's tip, and the last global position (the last key of events).
  int64_t version = 0;
  MDB_val key = Val(stream_id.data(), stream_id.size()), value;
  rc = mdb_get(txn, tips_dbi_, &key, &value);
  if (rc == MDB_SUCCESS && value.mv_size == 8) {
    version = static_cast<int64_t>(GetBigEndian64(value.mv_data));
  } else if (rc != MDB_NOTFOUND) {
    return abort("reading the stream tip");
  }
  int64_t position = 0;
  MDB_cursor* cursor = nullptr;
  if ((rc = mdb_cursor_open(txn, events_dbi_, &cursor)) != MDB_SUCCESS) return abort("mdb_cursor_open");
  rc = mdb_cursor_get(cursor, &key, &value, MDB_LAST);
  mdb_cursor_close(cursor);
  if (rc == MDB_SUCCESS && key.mv_size == 8) {
    position = static_cast<int64_t>(GetBigEndian64(key.mv_data));
  } else if (rc != MDB_NOTFOUND) {
    return abort("reading the last position");
  }

  const int64_t timestamp_ns = NowNs();
  std::string encoded;
  std::vector<uint8_t> index_key(stream_id.size() + 8);
  std::memcpy(index_key.data(), stream_id.data(), stream_id.size());
  uint8_t position_be[8];
  for (const PeerEvent& e : events) {
    ++version;
    ++position;
    EncodeEvent(e, stream_id, version, timestamp_ns, encoded);
    PutBigEndian64(static_cast<uint64_t>(position), position_be);
    key = Val(position_be, 8);
    value = Val(encoded.data(), encoded.size());
    // Positions only grow: MDB_APPEND fills pages to the end, as a log would.
    if ((rc = mdb_put(txn, events_dbi_, &key, &value, MDB_APPEND)) != MDB_SUCCESS) return abort("putting an event");
    PutBigEndian64(static_cast<uint64_t>(version), index_key.data() + stream_id.size());
    key = Val(index_key.data(), index_key.size());
    value = Val(position_be, 8);
    if ((rc = mdb_put(txn, streams_dbi_, &key, &value, 0)) != MDB_SUCCESS) return abort("indexing an event");
  }
  uint8_t version_be[8];
  PutBigEndian64(static_cast<uint64_t>(version), version_be);
  key = Val(stream_id.data(), stream_id.size());
  value = Val(version_be, 8);
  if ((rc = mdb_put(txn, tips_dbi_, &key, &value, 0)) != MDB_SUCCESS) return abort("updating the stream tip");
  if ((rc = mdb_txn_commit(txn)) != MDB_SUCCESS) return Fail("mdb_txn_commit", rc, error);
  return true;
}

bool LmdbEvents::ReadStream(const PeerStream& stream, int64_t after_version, int64_t limit, PeerReadTally* tally,
                            std::string* error) const {
  const std::string stream_id = stream.Id();
  ReadCursor index;
  if (!index.Open(env_, streams_dbi_, error)) return false;
  std::vector<uint8_t> start(stream_id.size() + 8);
  std::memcpy(start.data(), stream_id.data(), stream_id.size());
  PutBigEndian64(static_cast<uint64_t>(after_version + 1), start.data() + stream_id.size());
  MDB_val key = Val(start.data(), start.size()), value;
  EventView e;
  int64_t n = 0;
  int rc;
  for (rc = mdb_cursor_get(index.cursor, &key, &value, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(index.cursor, &key, &value, MDB_NEXT)) {
    if (key.mv_size != start.size() || std::memcmp(key.mv_data, stream_id.data(), stream_id.size()) != 0) break;
    if (limit > 0 && n++ == limit) return true;
    if (value.mv_size != 8) return Fail("a stream index entry", MDB_CORRUPTED, error);
    MDB_val event;
    if ((rc = mdb_get(index.txn, events_dbi_, &value, &event)) != MDB_SUCCESS) return Fail("mdb_get", rc, error);
    if (!DecodeEvent(event, &e)) return Fail("decoding an event", MDB_CORRUPTED, error);
    tally->Add(e.data, e.data_len);
  }
  return rc == MDB_SUCCESS || rc == MDB_NOTFOUND || Fail("reading the stream index", rc, error);
}

bool LmdbEvents::ReadAll(int64_t after_position, int64_t limit, PeerReadTally* tally, std::string* error) const {
  ReadCursor events;
  if (!events.Open(env_, events_dbi_, error)) return false;
  uint8_t start[8];
  PutBigEndian64(static_cast<uint64_t>(after_position + 1), start);
  MDB_val key = Val(start, 8), value;
  EventView e;
  int64_t n = 0;
  int rc;
  for (rc = mdb_cursor_get(events.cursor, &key, &value, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(events.cursor, &key, &value, MDB_NEXT)) {
    if (limit > 0 && n++ == limit) return true;
    if (!DecodeEvent(value, &e)) return Fail("decoding an event", MDB_CORRUPTED, error);
    tally->Add(e.data, e.data_len);
  }
  return rc == MDB_NOTFOUND || Fail("reading events", rc, error);
}

int64_t LmdbEvents::BytesInUse() const {
  MDB_envinfo info;
  MDB_stat stat;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS || mdb_env_stat(env_, &stat) != MDB_SUCCESS) return 0;
  return static_cast<int64_t>(info.me_last_pgno + 1) * stat.ms_psize;
}

}  // namespace estoria::bench
