// The event every append benchmark writes, in one place so that the layer
// costs (estoria_bench) and the file store against its peers
// (file_store_bench) measure the same thing: a 100-byte payload, a type, a
// content type and two metadata pairs.
#ifndef ESTORIA_BENCH_EVENT_SHAPE_H_
#define ESTORIA_BENCH_EVENT_SHAPE_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "estoria/estoria.h"

namespace estoria::bench {

inline constexpr size_t kPayloadBytes = 100;
inline constexpr char kEventType[] = "deposited";
inline constexpr char kContentType[] = "application/octet-stream";
inline constexpr char kMetaKey1[] = "correlation_id";
inline constexpr char kMetaValue1[] = "c-0190f3c4-8d1e";
inline constexpr char kMetaKey2[] = "user";
inline constexpr char kMetaValue2[] = "bench";
inline constexpr char kEventShape[] =
    "payload 100 B, type \"deposited\", content type \"application/octet-stream\", "
    "2 metadata pairs (correlation_id=c-0190f3c4-8d1e, user=bench)";

inline const std::array<uint8_t, kPayloadBytes>& Payload() {
  static const std::array<uint8_t, kPayloadBytes> payload = [] {
    std::array<uint8_t, kPayloadBytes> p{};
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 7 + 1);
    return p;
  }();
  return payload;
}

// Adds `n` events of this shape to `batch` through the C ABI, as a C caller
// would.
inline est_status AddEvents(est_batch* batch, int64_t n) {
  est_status st = EST_OK;
  for (int64_t i = 0; st == EST_OK && i < n; ++i) {
    st = est_batch_add(batch, kEventType, Payload().data(), Payload().size(), kContentType);
    if (st == EST_OK) st = est_batch_add_metadata(batch, kMetaKey1, kMetaValue1);
    if (st == EST_OK) st = est_batch_add_metadata(batch, kMetaKey2, kMetaValue2);
  }
  return st;
}

}  // namespace estoria::bench

#endif  // ESTORIA_BENCH_EVENT_SHAPE_H_
