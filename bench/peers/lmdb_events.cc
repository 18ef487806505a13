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

int64_t LmdbEvents::BytesInUse() const {
  MDB_envinfo info;
  MDB_stat stat;
  if (mdb_env_info(env_, &info) != MDB_SUCCESS || mdb_env_stat(env_, &stat) != MDB_SUCCESS) return 0;
  return static_cast<int64_t>(info.me_last_pgno + 1) * stat.ms_psize;
}

}  // namespace estoria::bench
