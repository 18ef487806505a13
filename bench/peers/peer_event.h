// PeerEvent: the event a peer store (SQLite, LMDB) is asked to append in the
// file store benchmark, and the few helpers both peers share: random event
// IDs and their text form.
//
// Header-only; no state beyond a thread_local generator, so every function
// is safe to call from many threads at once.
#ifndef ESTORIA_BENCH_PEERS_PEER_EVENT_H_
#define ESTORIA_BENCH_PEERS_PEER_EVENT_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace estoria::bench {

// One metadata pair; the strings are borrowed for the duration of a call.
using MetadataPair = std::pair<std::string_view, std::string_view>;

// An event to append: everything a caller hands in. The store adds what it
// assigns itself (event ID, timestamp, stream version, global position).
struct PeerEvent {
  std::string_view type;
  std::span<const uint8_t> data;
  std::string_view content_type;
  std::span<const MetadataPair> metadata;  // sorted by key, unique
};

// A stream ID split the way Estoria's SQLite store keeps it: the type and
// the UUID in canonical text form ("account" and "0190f3c4-...").
struct PeerStream {
  std::string type;
  std::string uuid;
  // "type_uuid", the ID's text form (the LMDB peer keys by it).
  std::string Id() const { return type + "_" + uuid; }
};

namespace internal {

// splitmix64: a fast generator for event IDs. Go's typeid.NewV4 reads the
// kernel's random source instead; the IDs' randomness does not matter to
// what is measured, their presence (16 bytes, or 36 as text) does.
inline uint64_t NextRandom() {
  thread_local uint64_t state = 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&state);
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace internal

// A version 4 UUID: 16 raw bytes.
inline std::array<uint8_t, 16> NewUuidV4() {
  std::array<uint8_t, 16> u;
  uint64_t hi = internal::NextRandom(), lo = internal::NextRandom();
  for (int i = 0; i < 8; ++i) {
    u[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    u[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);
  u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
  return u;
}

// The canonical lower-case text form of a UUID (36 characters).
inline std::string UuidText(const std::array<uint8_t, 16>& u) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[u[i] >> 4]);
    out.push_back(kHex[u[i] & 0xf]);
  }
  return out;
}

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_PEERS_PEER_EVENT_H_
