// UUID value helpers, canonical text form, and the v4/v7 generators.
//
// Randomness: each thread keeps a buffer of ChaCha20 keystream under a key
// from getrandom(2), so that UUIDs cost neither a syscall nor the kernel's
// generator per call. The buffer is tagged with the ForkGeneration() it was
// filled in and is dropped, key and all, when that changes, so a forked child
// never replays bytes its parent also hands out. Consumed bytes are wiped, and
// each refill replaces the key that made it (fast key erasure), so that a
// later memory disclosure does not reveal issued UUIDs.
//
// v7 ordering: one process-wide atomic holds the last (unix ms, counter) pair
// packed as (ms << 12) | counter; every v7 takes a strictly larger value with
// a compare-and-swap, so v7 UUIDs are strictly increasing across all threads,
// also when the wall clock steps back. Thread-safe; no locks.
#include "core/id/uuid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/env/env.h"
#include "core/id/uuid_internal.h"
#include "core/util/chacha20.h"
#include "core/util/fork.h"

namespace estoria::core {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
// Offsets of the four hyphens in the canonical 8-4-4-4-12 form.
constexpr bool IsHyphenOffset(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

// Lower-case hex only: the canonical form is the only accepted one.
int LowerHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

absl::Status GetrandomError(int err) {
  char buf[128];
  // GNU strerror_r: returns a pointer to the message (maybe not into buf).
  const char* msg = strerror_r(err, buf, sizeof(buf));
  std::string text = absl::StrCat("getrandom failed: ", msg);
  // EFAULT/EINVAL would mean we passed bad arguments: a bug, not the system.
  if (err == EFAULT || err == EINVAL) return absl::InternalError(text);
  return absl::UnavailableError(text);
}

// Fills `out` completely from getrandom(2), retrying on EINTR and on short
// reads (possible for large requests interrupted by a signal).
absl::Status FillRandom(uint8_t* out, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = getrandom(out + done, len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return GetrandomError(errno);
    }
    if (n == 0) return absl::UnavailableError("getrandom returned no bytes");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Per-thread random bytes. Trivially destructible so thread exit needs no
// TLS destructor. 4 KiB: an append of 100 events takes about 1 KiB of v7
// randomness. A refill is 64 ChaCha20 blocks; their first 32 bytes become the
// next refill's key and are never handed out. The key comes fresh from the
// kernel every kRefillsPerSeed refills (256 KiB of output), after a fork, and
// first. Taking every refill from getrandom(2) was a tenth of a memory store's
// append: the kernel's generator is several times slower than four blocks at
// once in vector registers.
struct RandomPool {
  static constexpr size_t kSize = 4096;
  static constexpr int kRefillsPerSeed = 64;
  uint64_t generation = 0;
  int refills_left = 0;  // 0: the next refill takes a key from the kernel first
  size_t pos = kSize;    // kSize = empty
  uint8_t key[kChaCha20KeySize];
  uint8_t bytes[kSize];
};
thread_local RandomPool tls_pool;

absl::Status RefillPool(RandomPool& pool) {
  pool.pos = RandomPool::kSize;  // stays empty if the seed fails
  if (pool.refills_left == 0) {
    absl::Status status = FillRandom(pool.key, sizeof(pool.key));
    if (!status.ok()) return status;
    pool.refills_left = RandomPool::kRefillsPerSeed;
  }
  --pool.refills_left;
  static constexpr uint8_t kNonce[kChaCha20NonceSize] = {};  // a key is never used twice
  ChaCha20Blocks(pool.key, kNonce, 0, pool.bytes, RandomPool::kSize / kChaCha20BlockSize);
  memcpy(pool.key, pool.bytes, sizeof(pool.key));
  memset(pool.bytes, 0, sizeof(pool.key));
  pool.pos = sizeof(pool.key);
  return absl::OkStatus();
}

// Copies `len` (<= RandomPool::kSize - kChaCha20KeySize) fresh random bytes
// from this thread's `pool` into `out`. The pool is a parameter so that a
// caller taking many pieces names the thread_local once (each naming is a
// __tls_get_addr call in a shared library).
absl::Status TakeRandom(RandomPool& pool, uint8_t* out, size_t len) {
  const uint64_t generation = ForkGeneration();
  if (pool.generation != generation) {
    // Filled before a fork: the other side of the fork holds the same bytes
    // and the same key.
    memset(pool.bytes, 0, sizeof(pool.bytes));
    memset(pool.key, 0, sizeof(pool.key));
    pool.pos = RandomPool::kSize;
    pool.refills_left = 0;
    pool.generation = generation;
  }
  if (RandomPool::kSize - pool.pos < len) {
    absl::Status status = RefillPool(pool);
    if (!status.ok()) return status;
  }
  memcpy(out, pool.bytes + pool.pos, len);
  memset(pool.bytes + pool.pos, 0, len);
  pool.pos += len;
  return absl::OkStatus();
}

// Unix milliseconds as the 48-bit field holds them. Before 1970 or past the
// field (year 10889): clamped; ordering is still kept by the state, only the
// embedded time is wrong.
uint64_t V7Millis(int64_t ms) {
  constexpr uint64_t kMaxMs = (uint64_t{1} << 48) - 1;
  if (ms < 0) return 0;
  return std::min(static_cast<uint64_t>(ms), kMaxMs);
}

// Last v7 state, (unix_ms << 12) | counter; 0 before the first v7.
std::atomic<uint64_t> v7_state{0};

}  // namespace

namespace internal {

// The counter (rand_a) restarts at a random value with its top bit clear for
// each new millisecond (RFC 9562 6.2, method 1, with guard bit), so at least
// 2048 UUIDs fit in a millisecond before the counter overflows. Otherwise,
// including when the clock went back, the state just increments: a counter
// overflow carries into the millisecond field, i.e. the timestamp runs ahead
// of the clock until the clock catches up.
uint64_t NextV7State(uint64_t last, uint64_t now_ms, uint16_t fresh_counter) {
  if (now_ms > (last >> 12)) return (now_ms << 12) | (fresh_counter & 0x7FF);
  return last + 1;
}

Uuid MakeV7(uint64_t state, uint64_t rand_b) {
  Uuid uuid;
  const uint64_t ms = state >> 12;
  const uint16_t counter = static_cast<uint16_t>(state & 0xFFF);
  // Big-endian: unix_ms (48 bits), version and counter (16), then rand_b
  // with the variant in its top two bits.
  const uint64_t hi = __builtin_bswap64((ms << 16) | 0x7000 | counter);
  const uint64_t lo = __builtin_bswap64((rand_b & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000);
  std::memcpy(uuid.bytes.data(), &hi, 8);  // little-endian hosts (x86-64, arm64)
  std::memcpy(uuid.bytes.data() + 8, &lo, 8);
  return uuid;
}

}  // namespace internal

bool Uuid::IsNil() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

uint64_t Uuid::Hi() const {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | bytes[i];
  return v;
}

uint64_t Uuid::Lo() const {
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | bytes[i];
  return v;
}

Uuid Uuid::FromHiLo(uint64_t hi, uint64_t lo) {
  Uuid uuid;
  for (int i = 0; i < 8; ++i) {
    uuid.bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    uuid.bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return uuid;
}

void FormatUuidTo(const Uuid& uuid, char out[kUuidTextLen]) {
  size_t pos = 0;
  for (size_t i = 0; i < uuid.bytes.size(); ++i) {
    if (IsHyphenOffset(pos)) out[pos++] = '-';
    out[pos++] = kHexDigits[uuid.bytes[i] >> 4];
    out[pos++] = kHexDigits[uuid.bytes[i] & 0xF];
  }
}

std::string FormatUuid(const Uuid& uuid) {
  std::string text(kUuidTextLen, '\0');
  FormatUuidTo(uuid, text.data());
  return text;
}

bool ParseUuid(std::string_view text, Uuid* out) {
  if (text.size() != kUuidTextLen) return false;
  Uuid uuid;
  size_t byte = 0;
  for (size_t pos = 0; pos < kUuidTextLen;) {
    if (IsHyphenOffset(pos)) {
      if (text[pos] != '-') return false;
      ++pos;
      continue;
    }
    const int high = LowerHexValue(text[pos]);
    const int low = LowerHexValue(text[pos + 1]);
    if (high < 0 || low < 0) return false;
    uuid.bytes[byte++] = static_cast<uint8_t>((high << 4) | low);
    pos += 2;
  }
  *out = uuid;
  return true;
}

absl::StatusOr<Uuid> NewUuidV4() {
  Uuid uuid;
  absl::Status status = TakeRandom(tls_pool, uuid.bytes.data(), uuid.bytes.size());
  if (!status.ok()) return status;
  uuid.bytes[6] = static_cast<uint8_t>(0x40 | (uuid.bytes[6] & 0x0F));  // version 4
  uuid.bytes[8] = static_cast<uint8_t>(0x80 | (uuid.bytes[8] & 0x3F));  // variant 10
  return uuid;
}

absl::StatusOr<Uuid> NewUuidV7() {
  Uuid uuid;
  absl::Status status = NewUuidsV7(absl::MakeSpan(&uuid, 1));
  if (!status.ok()) return status;
  return uuid;
}

absl::Status NewUuidsV7(absl::Span<Uuid> out) { return NewUuidsV7(out, Env::Default()->NowNanos()); }

namespace {

// The v7 steps shared by the process-wide generator and UuidGenerator:
// `take(out, len)` supplies random bytes, `state` orders the results.
template <typename TakeRandomFn>
absl::Status GenerateV7(absl::Span<Uuid> out, int64_t now_unix_ns, std::atomic<uint64_t>& state,
                        TakeRandomFn take) {
  if (out.empty()) return absl::OkStatus();
  // Random bits first, so that a failure leaves the shared state untouched:
  // each UUID's rand_b waits in its own bytes 8-15 until the layout below.
  // Taken in pieces of up to 256 UUIDs' worth: a call per UUID was a tenth
  // of a memory store's append.
  uint8_t fresh[2];
  absl::Status status = take(fresh, sizeof(fresh));
  uint64_t rand[256];
  for (size_t i = 0; status.ok() && i < out.size(); i += 256) {
    const size_t n = std::min<size_t>(256, out.size() - i);
    status = take(reinterpret_cast<uint8_t*>(rand), n * 8);
    for (size_t k = 0; status.ok() && k < n; ++k) std::memcpy(out[i + k].bytes.data() + 8, &rand[k], 8);
  }
  if (!status.ok()) return status;
  const uint16_t fresh_counter = static_cast<uint16_t>((fresh[0] << 8) | fresh[1]);

  // One time and one compare-and-swap reserve out.size() consecutive states:
  // the first is the usual next state, the rest follow it by one.
  const uint64_t now_ms = V7Millis(now_unix_ns / 1'000'000);
  const uint64_t extra = out.size() - 1;
  uint64_t last = state.load(std::memory_order_relaxed);
  uint64_t first;
  do {
    first = internal::NextV7State(last, now_ms, fresh_counter);
  } while (!state.compare_exchange_weak(last, first + extra, std::memory_order_relaxed));
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t rand_b;
    std::memcpy(&rand_b, out[i].bytes.data() + 8, 8);  // any order: the bytes are random
    out[i] = internal::MakeV7(first + i, rand_b);
  }
  return absl::OkStatus();
}

void MakeV4(Uuid& uuid) {
  uuid.bytes[6] = static_cast<uint8_t>(0x40 | (uuid.bytes[6] & 0x0F));  // version 4
  uuid.bytes[8] = static_cast<uint8_t>(0x80 | (uuid.bytes[8] & 0x3F));  // variant 10
}

}  // namespace

absl::Status NewUuidsV7(absl::Span<Uuid> out, int64_t now_unix_ns) {
  RandomPool& pool = tls_pool;
  return GenerateV7(out, now_unix_ns, v7_state, [&pool](uint8_t* p, size_t n) { return TakeRandom(pool, p, n); });
}

UuidGenerator::UuidGenerator(RandomFn random) : random_(std::move(random)) {}

absl::Status UuidGenerator::Random(uint8_t* out, size_t len) {
  if (!random_) return TakeRandom(tls_pool, out, len);
  random_(out, len);
  return absl::OkStatus();
}

absl::Status UuidGenerator::NewV7(absl::Span<Uuid> out, int64_t now_unix_ns) {
  return GenerateV7(out, now_unix_ns, state_, [this](uint8_t* p, size_t n) { return Random(p, n); });
}

absl::StatusOr<Uuid> UuidGenerator::NewV4() {
  Uuid uuid;
  if (absl::Status status = Random(uuid.bytes.data(), uuid.bytes.size()); !status.ok()) return status;
  MakeV4(uuid);
  return uuid;
}

}  // namespace estoria::core
