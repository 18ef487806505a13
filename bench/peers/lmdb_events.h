// LmdbEvents: the benchmark's LMDB peer, the event store an engineer would
// write on LMDB: one environment with three named databases,
//   "events"  big-endian global position (8 bytes) -> the encoded event
//   "streams" stream ID text + big-endian version  -> global position
//   "tips"    stream ID text                       -> the stream's version
// and one write transaction per append, committed with LMDB's default
// durability (no MDB_NOSYNC / MDB_NOMETASYNC: data pages and the meta page
// are each synced before mdb_txn_commit returns).
//
// Thread safety: Append may be called from many threads at once; LMDB runs
// one write transaction at a time and the others wait on its writer lock.
#ifndef ESTORIA_BENCH_PEERS_LMDB_EVENTS_H_
#define ESTORIA_BENCH_PEERS_LMDB_EVENTS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "bench/peers/peer_event.h"

struct MDB_env;

namespace estoria::bench {

class LmdbEvents {
 public:
  // Opens (creating if needed) the environment in directory `dir`, which
  // must exist. The map is reserved at `map_bytes` (address space only).
  static std::unique_ptr<LmdbEvents> Open(const std::string& dir, uint64_t map_bytes, std::string* error);

  LmdbEvents(const LmdbEvents&) = delete;
  LmdbEvents& operator=(const LmdbEvents&) = delete;
  ~LmdbEvents();

  // Appends `events` to `stream` in one durable write transaction.
  bool Append(const PeerStream& stream, std::span<const PeerEvent> events, std::string* error);

  // Bytes of the data file in use: (last page number + 1) * page size.
  int64_t BytesInUse() const;

 private:
  explicit LmdbEvents(MDB_env* env) : env_(env) {}

  MDB_env* env_;
  unsigned int events_dbi_ = 0, streams_dbi_ = 0, tips_dbi_ = 0;
};

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_PEERS_LMDB_EVENTS_H_
