// LmdbEvents: the benchmark's LMDB peer, the event store an engineer would
// write on LMDB: one environment with three named databases,
//   "events"  big-endian global position (8 bytes) -> the encoded event
//   "streams" stream ID text + big-endian version  -> global position
//   "tips"    stream ID text                       -> the stream's version
// and one write transaction per append, committed with LMDB's default
// durability (no MDB_NOSYNC / MDB_NOMETASYNC: data pages and the meta page
// are each synced before mdb_txn_commit returns).
//
// Reads (ReadStream, ReadAll) run in a read-only transaction and decode each
// event where it lies in the map (MDB_val points into it): no copy.
//
// Thread safety: Append may be called from many threads at once; LMDB runs
// one write transaction at a time and the others wait on its writer lock.
// Reads may run from many threads too, each in its own read transaction.
#ifndef ESTORIA_BENCH_PEERS_LMDB_EVENTS_H_
#define ESTORIA_BENCH_PEERS_LMDB_EVENTS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "bench/peers/peer_event.h"
#include "bench/peers/peer_read.h"

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

  // Reads `stream` forward: the events after version `after_version`, at
  // most `limit` of them (0: all), each added to *tally. Walks the "streams"
  // index from (stream, after_version + 1) and looks every position up in
  // "events".
  bool ReadStream(const PeerStream& stream, int64_t after_version, int64_t limit, PeerReadTally* tally,
                  std::string* error) const;

  // Reads every stream's events in global order: those after
  // `after_position`, at most `limit` (0: all), each added to *tally. One
  // cursor over "events".
  bool ReadAll(int64_t after_position, int64_t limit, PeerReadTally* tally, std::string* error) const;

  // Bytes of the data file in use: (last page number + 1) * page size.
  int64_t BytesInUse() const;

 private:
  explicit LmdbEvents(MDB_env* env) : env_(env) {}

  MDB_env* env_;
  unsigned int events_dbi_ = 0, streams_dbi_ = 0, tips_dbi_ = 0;
};

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_PEERS_LMDB_EVENTS_H_
