// UUIDs: the 16-byte value, its canonical text form, and the v4 and v7
// generators. Generators are thread-safe; randomness is a per-thread ChaCha20
// keystream keyed from getrandom(2) (uuid.cc), never shared between a parent
// and a forked child.
#ifndef ESTORIA_CORE_ID_UUID_H_
#define ESTORIA_CORE_ID_UUID_H_

#include <array>
#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace estoria::core {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool IsNil() const;
  // Bytes 0-7 and 8-15 as big-endian integers (the schema's Uuid struct).
  uint64_t Hi() const;
  uint64_t Lo() const;
  static Uuid FromHiLo(uint64_t hi, uint64_t lo);

  friend auto operator<=>(const Uuid&, const Uuid&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Uuid& u) {
    return H::combine_contiguous(std::move(h), u.bytes.data(), u.bytes.size());
  }
};

inline constexpr size_t kUuidTextLen = 36;

// Canonical lower-case 8-4-4-4-12 form.
std::string FormatUuid(const Uuid& uuid);
void FormatUuidTo(const Uuid& uuid, char out[kUuidTextLen]);
// Accepts exactly the canonical form (lower-case, hyphenated, 36 chars).
bool ParseUuid(std::string_view text, Uuid* out);

// A random UUID (RFC 9562 version 4).
absl::StatusOr<Uuid> NewUuidV4();
// A time-ordered UUID (RFC 9562 version 7): 48-bit unix milliseconds, then a
// 12-bit sub-millisecond counter (method 1) and random bits. Strictly
// increasing within a process, also when the clock steps back.
absl::StatusOr<Uuid> NewUuidV7();
// Fills `out` with consecutive v7 UUIDs (strictly increasing, as from as
// many NewUuidV7 calls) for one clock read and one atomic update: what an
// append of a batch needs.
absl::Status NewUuidsV7(absl::Span<Uuid> out);
// The same with the time given (unix nanoseconds) instead of read from the
// system clock: a store passes its Env's clock, the time it stamps the
// events with. Still strictly increasing whatever the times given.
absl::Status NewUuidsV7(absl::Span<Uuid> out, int64_t now_unix_ns);

// A UUID source of its own: its own v7 ordering state and, when given, its
// own randomness, for a store whose host supplies the clock or the random
// bits (deterministic replay, doc/abi.md "Hosts"): given the same times and
// the same random bytes, two generators hand out the same UUIDs, whatever
// else the process generated. Strictly increasing per generator (not across
// generators). Thread-safe if `random` is.
class UuidGenerator {
 public:
  // Fills `buf` with `len` random bytes; empty = the thread's keystream, as
  // NewUuidV4 and NewUuidsV7 use.
  using RandomFn = std::function<void(uint8_t* buf, size_t len)>;
  explicit UuidGenerator(RandomFn random);
  UuidGenerator(const UuidGenerator&) = delete;
  UuidGenerator& operator=(const UuidGenerator&) = delete;

  // As NewUuidsV7(out, now_unix_ns), ordered by this generator's state.
  absl::Status NewV7(absl::Span<Uuid> out, int64_t now_unix_ns);
  absl::StatusOr<Uuid> NewV4();

 private:
  absl::Status Random(uint8_t* out, size_t len);

  const RandomFn random_;
  std::atomic<uint64_t> state_{0};
};

}  // namespace estoria::core

#endif  // ESTORIA_CORE_ID_UUID_H_
