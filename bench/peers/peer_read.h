// PeerReadTally: what one read of a benchmark store visited, for every
// target of file_read_bench alike (estoria through the C ABI, the SQLite and
// LMDB peers): the number of events, and a checksum over each event's data
// (its length plus its first byte) so that every event's data is touched in
// place and the compiler cannot drop the work.
//
// A plain value; not shared between threads.
#ifndef ESTORIA_BENCH_PEERS_PEER_READ_H_
#define ESTORIA_BENCH_PEERS_PEER_READ_H_

#include <cstddef>
#include <cstdint>

namespace estoria::bench {

struct PeerReadTally {
  int64_t events = 0;
  uint64_t checksum = 0;

  // One event whose data (`len` bytes at `data`) was visited where it lies.
  void Add(const void* data, size_t len) {
    ++events;
    checksum += len + (len > 0 ? *static_cast<const uint8_t*>(data) : 0);
  }
};

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_PEERS_PEER_READ_H_
