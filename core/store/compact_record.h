// The compact record: how a store keeps one event when it does not keep a
// FlatBuffers estoria.fb.Event (doc/data-model.md, "Stored records"). A fixed
// little-endian header, then the data, then the strings, each NUL-terminated
// so that a view hands them out as they lie. The stream (type and UUID), the
// same for every event of an append, is written once per run of records, in
// a run header the records point back to.
//
//   run header (8-aligned):
//     0   u8[16] stream UUID, bytes in UUID order
//     16  u32    records in the run (>= 1)
//     20  u8     stream type size (1..255), then the type's bytes and a NUL
//     zeros to a multiple of 8
//   record (8-aligned; follows its run header or the record before it):
//     0   i64    stream version
//     8   i64    global position
//     16  i64    timestamp (unix ns)
//     24  u8[16] event ID, bytes in UUID order
//     40  u32    data size D
//     44  u32    tail size T (everything after the data)
//     48  data (8-aligned), D bytes
//     48+D tail: u32 offset of this record from its run header,
//                u16 metadata count, u8 type size (1..255),
//                type NUL, content type NUL, count x (key NUL value NUL)
//     zeros to a multiple of 8
//
// Readers trust a record that is in a store's index: it was built by
// BuildCompactRun or checked by CheckCompactRun when it was read back.
#ifndef ESTORIA_CORE_STORE_COMPACT_RECORD_H_
#define ESTORIA_CORE_STORE_COMPACT_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace estoria::core::compact {

inline constexpr size_t kRunHeaderFixed = 21;  // before the stream type's bytes
inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kTailFixed = 7;  // run offset, metadata count, type size

inline constexpr size_t kOffVersion = 0;
inline constexpr size_t kOffPosition = 8;
inline constexpr size_t kOffTimestamp = 16;
inline constexpr size_t kOffId = 24;
inline constexpr size_t kOffDataSize = 40;
inline constexpr size_t kOffTailSize = 44;

inline size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

template <typename T>
inline T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));  // little-endian hosts only (x86-64, arm64)
  return v;
}
template <typename T>
inline void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

// Bytes of a run header for a stream type of `type_size` bytes.
inline size_t RunHeaderSize(size_t type_size) { return Align8(kRunHeaderFixed + type_size + 1); }

// Accessors of a record that begins at `r`.
inline int64_t Version(const uint8_t* r) { return Load<int64_t>(r + kOffVersion); }
inline int64_t Position(const uint8_t* r) { return Load<int64_t>(r + kOffPosition); }
inline int64_t Timestamp(const uint8_t* r) { return Load<int64_t>(r + kOffTimestamp); }
inline const uint8_t* IdBytes(const uint8_t* r) { return r + kOffId; }
inline uint32_t DataSize(const uint8_t* r) { return Load<uint32_t>(r + kOffDataSize); }
inline uint32_t TailSize(const uint8_t* r) { return Load<uint32_t>(r + kOffTailSize); }
inline const uint8_t* Data(const uint8_t* r) { return r + kHeaderSize; }
inline const uint8_t* Tail(const uint8_t* r) { return r + kHeaderSize + DataSize(r); }
// The record's bytes before padding.
inline size_t Size(const uint8_t* r) { return kHeaderSize + size_t{DataSize(r)} + TailSize(r); }
inline const uint8_t* RunHeader(const uint8_t* r) { return r - Load<uint32_t>(Tail(r)); }
inline size_t MetadataCount(const uint8_t* r) { return Load<uint16_t>(Tail(r) + 4); }
inline size_t TypeSize(const uint8_t* r) { return Tail(r)[6]; }
inline const char* Type(const uint8_t* r) { return reinterpret_cast<const char*>(Tail(r) + kTailFixed); }
inline const char* ContentType(const uint8_t* r) { return Type(r) + TypeSize(r) + 1; }
inline const uint8_t* StreamUuid(const uint8_t* r) { return RunHeader(r); }
inline const char* StreamType(const uint8_t* r) { return reinterpret_cast<const char*>(RunHeader(r) + kRunHeaderFixed); }
inline size_t StreamTypeSize(const uint8_t* r) { return RunHeader(r)[20]; }

// The high bit of each zero byte of v and of no other: no borrow crosses a
// byte, so that every NUL of a word is found, not only its first.
inline uint64_t ZeroBytes(uint64_t v) {
  constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7F;
  return ~(((v & kLow7) + kLow7) | v | kLow7);
}
// Bit i set for each zero byte p[i] of the 8 bytes at p.
inline uint32_t ZeroMask8(const char* p) {
  // Each byte's high bit moved to bit 0, then the eight gathered in the top byte.
  return static_cast<uint32_t>(((ZeroBytes(Load<uint64_t>(reinterpret_cast<const uint8_t*>(p))) >> 7) *
                                0x0102040810204080) >> 56);
}
// Bit i set for each zero byte p[i] of the 16 bytes at p.
inline uint32_t ZeroMask16(const char* p) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128())));
#else
  return ZeroMask8(p) | (ZeroMask8(p + 8) << 8);
#endif
}

// The NUL that ends a string of a record. The record is 8-byte aligned and
// zero-padded to a multiple of 8, so every aligned word holding a byte of
// its strings lies inside it: the search reads whole words, inline (strlen
// calls were a sixth of a global read's time).
inline const char* EndOfString(const char* s) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(s);
  const char* word = reinterpret_cast<const char*>(at & ~uintptr_t{7});
  // The bytes of the first word before s are not s's (little-endian: lower).
  uint64_t zeros = ZeroBytes(Load<uint64_t>(reinterpret_cast<const uint8_t*>(word))) & (~uint64_t{0} << ((at & 7) * 8));
  while (zeros == 0) {
    word += sizeof(uint64_t);
    zeros = ZeroBytes(Load<uint64_t>(reinterpret_cast<const uint8_t*>(word)));
  }
  return word + (__builtin_ctzll(zeros) >> 3);
}
inline size_t ContentTypeSize(const uint8_t* r) {
  return static_cast<size_t>(EndOfString(ContentType(r)) - ContentType(r));
}

// The set bits of v. Inline: without -mpopcnt, __builtin_popcountll is a
// call into libgcc, which took a tenth of a stream read.
inline size_t BitCount(uint64_t v) {
  v -= (v >> 1) & 0x5555555555555555;
  v = (v & 0x3333333333333333) + ((v >> 2) & 0x3333333333333333);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0F;
  return static_cast<size_t>((v * 0x0101010101010101) >> 56);
}

// Bit i set for each zero byte p[i] of the 64 bytes at p.
inline uint64_t ZeroMask64(const char* p) {
  return uint64_t{ZeroMask16(p)} | uint64_t{ZeroMask16(p + 16)} << 16 | uint64_t{ZeroMask16(p + 32)} << 32 |
         uint64_t{ZeroMask16(p + 48)} << 48;
}

// Calls fn(k, s) with the start s of each metadata string in turn: k = 0
// for the first key, 1 for its value, 2 for the next key..., 2 x
// MetadataCount calls.
//
// Where the strings lie is found from the NULs, taken many bytes at a time
// so that where one string ends does not decide where the next bytes are
// read (searching each string alone, the loads waited on one another: a
// third of a stream read's time). Typically the content type's NUL and the
// metadata lie in the record's last 64 bytes, whose end the header gives:
// one mask of their NULs, of which the lowest 2 x count + 1 from the content
// type on end the content type and each string; no branch depends on where.
// Otherwise the NULs are taken 16 bytes at a time from the content type on.
// Reads only bytes of the record (8-aligned, zero-padded).
template <typename Fn>
[[gnu::always_inline]] inline void ForEachMetadataString(const uint8_t* r, Fn&& fn) {
  const size_t strings = 2 * MetadataCount(r);
  if (strings == 0) return;
  const char* content_type = ContentType(r);
  const char* tail_end = reinterpret_cast<const char*>(Tail(r)) + TailSize(r);
  if (tail_end - reinterpret_cast<const char*>(r) >= 64) {
    const char* window = tail_end - 64;
    uint64_t zeros = ZeroMask64(window);
    // The NULs before the content type are not its or the metadata's.
    if (content_type > window) zeros &= ~uint64_t{0} << (content_type - window);
    // All of them in the window, the content type's included: the lowest is
    // the content type's (its bytes have no other NUL).
    if (BitCount(zeros) == strings + 1) {
      for (size_t k = 0; k < strings; ++k) {
        fn(k, window + __builtin_ctzll(zeros) + 1);
        zeros &= zeros - 1;
      }
      return;
    }
  }
  const char* end = reinterpret_cast<const char*>(r) + Align8(Size(r));
  const char* at = reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(content_type) & ~uintptr_t{7});
  auto zeros_at = [end](const char* p) { return end - p >= 16 ? ZeroMask16(p) : ZeroMask8(p); };
  uint32_t zeros = zeros_at(at) & (~uint32_t{0} << (content_type - at));
  // The k-th NUL (from 0, the content type's) is followed by string k.
  size_t k = 0;
  for (;;) {
    while (zeros != 0) {
      fn(k, at + __builtin_ctz(zeros) + 1);
      zeros &= zeros - 1;
      if (++k == strings) return;
    }
    at += 16;
    zeros = zeros_at(at);
  }
}

// Calls fn(key, value) for each metadata pair, in key order.
template <typename Fn>
inline void ForEachMetadata(const uint8_t* r, Fn&& fn) {
  const char* key = nullptr;
  ForEachMetadataString(r, [&](size_t k, const char* s) {
    if ((k & 1) == 0) {
      key = s;
    } else {
      fn(key, s);
    }
  });
}

// Sets the version and position of a record not yet visible to any reader.
inline void Patch(uint8_t* r, int64_t version, int64_t position) {
  Store<int64_t>(r + kOffVersion, version);
  Store<int64_t>(r + kOffPosition, position);
}
// Points a record at the run header `offset` bytes before it (compaction,
// which moves records into new runs).
inline void SetRunOffset(uint8_t* r, uint32_t offset) {
  Store<uint32_t>(r + kHeaderSize + DataSize(r), offset);
}

// Writing. A run header for a stream type of 1..255 bytes, at `run`
// (RunHeaderSize(type.size()) bytes, zero-padded).
inline void WriteRunHeader(uint8_t* run, const uint8_t* stream_uuid, std::string_view stream_type, uint32_t count) {
  std::memcpy(run, stream_uuid, 16);
  Store<uint32_t>(run + 16, count);
  run[20] = static_cast<uint8_t>(stream_type.size());
  std::memcpy(run + kRunHeaderFixed, stream_type.data(), stream_type.size());
  const size_t end = RunHeaderSize(stream_type.size());
  std::memset(run + kRunHeaderFixed + stream_type.size(), 0, end - kRunHeaderFixed - stream_type.size());
}
inline void SetRunCount(uint8_t* run, uint32_t count) { Store<uint32_t>(run + 16, count); }

// One record's fields, as a writer takes them. Metadata pairs come from
// for_each_metadata(fn), which calls fn(key, value) in key order.
struct RecordFields {
  int64_t version = 0;
  int64_t position = 0;
  int64_t timestamp_ns = 0;
  const uint8_t* id = nullptr;  // 16 bytes, UUID order
  const uint8_t* data = nullptr;
  size_t data_size = 0;
  std::string_view type;
  std::string_view content_type;
  size_t metadata_count = 0;
  size_t metadata_bytes = 0;  // the pairs' keys and values, without their NULs
};
// A record's bytes, padding included.
inline size_t RecordSpanOf(const RecordFields& f) {
  return Align8(kHeaderSize + f.data_size + kTailFixed + f.type.size() + 1 + f.content_type.size() + 1 +
                f.metadata_bytes + 2 * f.metadata_count);
}
// Writes the record at `r` (RecordSpanOf(f) bytes, 8-aligned), `run_offset`
// bytes past its run header; returns its size before padding.
template <typename ForEachMetadata>
size_t WriteRecord(uint8_t* r, uint32_t run_offset, const RecordFields& f, ForEachMetadata&& for_each_metadata) {
  Store<int64_t>(r + kOffVersion, f.version);
  Store<int64_t>(r + kOffPosition, f.position);
  Store<int64_t>(r + kOffTimestamp, f.timestamp_ns);
  std::memcpy(r + kOffId, f.id, 16);
  Store<uint32_t>(r + kOffDataSize, static_cast<uint32_t>(f.data_size));
  uint8_t* p = r + kHeaderSize;
  if (f.data_size > 0) std::memcpy(p, f.data, f.data_size);
  p += f.data_size;
  uint8_t* const tail = p;
  Store<uint32_t>(p, run_offset);
  Store<uint16_t>(p + 4, static_cast<uint16_t>(f.metadata_count));
  p[6] = static_cast<uint8_t>(f.type.size());
  p += kTailFixed;
  auto put = [&p](std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view's data may be null
    p += s.size();
    *p++ = 0;
  };
  put(f.type);
  put(f.content_type);
  for_each_metadata([&](std::string_view key, std::string_view value) {
    put(key);
    put(value);
  });
  Store<uint32_t>(r + kOffTailSize, static_cast<uint32_t>(p - tail));
  const size_t size = static_cast<size_t>(p - r);
  std::memset(p, 0, Align8(size) - size);
  return size;
}

// Checks a run that begins at `bytes` (a run header and its records, as
// read back from storage): every size within `bytes`, the NULs where they
// belong and nowhere else in the strings, type names valid, metadata keys
// non-empty, sorted and unique, records pointing at this run header. Sets
// *size to the run's bytes (padding included) and *count to its records.
// kDataLoss says what is wrong. Versions and positions are the caller's.
absl::Status CheckRun(absl::Span<const uint8_t> bytes, size_t* size, uint32_t* count);

// Where the records of a checked run lie.
inline size_t FirstRecordOffset(const uint8_t* run) { return RunHeaderSize(run[20]); }
inline size_t RecordSpan(const uint8_t* r) { return Align8(Size(r)); }

}  // namespace estoria::core::compact

#endif  // ESTORIA_CORE_STORE_COMPACT_RECORD_H_
