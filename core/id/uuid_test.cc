// Unit tests for core/id/uuid.h: the value helpers, the canonical text form,
// the v4/v7 bit layouts, v7 ordering and clock-step handling, and fork and
// getrandom-failure behaviour (these fork, so they stay out of the TSan run).
#include "core/id/uuid.h"
#include "core/id/uuid_internal.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace estoria::core {

namespace {

int Version(const Uuid& u) { return u.bytes[6] >> 4; }
bool HasRfcVariant(const Uuid& u) { return (u.bytes[8] & 0xC0) == 0x80; }
uint64_t TimestampMs(const Uuid& u) { return u.Hi() >> 16; }
uint16_t V7Counter(const Uuid& u) { return static_cast<uint16_t>(u.Hi() & 0x0FFF); }

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

TEST(Uuid, HiAndLoAreBigEndianHalves) {
  Uuid u;
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<uint8_t>(i + 1);
  EXPECT_EQ(u.Hi(), 0x0102030405060708u);
  EXPECT_EQ(u.Lo(), 0x090a0b0c0d0e0f10u);
}

TEST(Uuid, FromHiLoPutsMostSignificantByteFirst) {
  Uuid u = Uuid::FromHiLo(0x0123456789abcdefu, 0xfedcba9876543210u);
  EXPECT_EQ(u.bytes[0], 0x01);
  EXPECT_EQ(u.bytes[7], 0xef);
  EXPECT_EQ(u.bytes[8], 0xfe);
  EXPECT_EQ(u.bytes[15], 0x10);
  EXPECT_EQ(FormatUuid(u), "01234567-89ab-cdef-fedc-ba9876543210");
}

TEST(Uuid, HiLoRoundTrip) {
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<Uuid> u = NewUuidV4();
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(Uuid::FromHiLo(u->Hi(), u->Lo()), *u);
  }
  EXPECT_EQ(Uuid::FromHiLo(~uint64_t{0}, 0).Hi(), ~uint64_t{0});
  EXPECT_EQ(Uuid::FromHiLo(0, ~uint64_t{0}).Lo(), ~uint64_t{0});
}

TEST(Uuid, OrderingFollowsBigEndianValue) {
  EXPECT_LT(Uuid::FromHiLo(1, 0xffffffffffffffffu), Uuid::FromHiLo(2, 0));
  EXPECT_LT(Uuid::FromHiLo(0x00ffffffffffffffu, 0), Uuid::FromHiLo(0x0100000000000000u, 0));
  EXPECT_LT(Uuid::FromHiLo(5, 1), Uuid::FromHiLo(5, 2));
}

TEST(Uuid, NilIsAllZeroBytes) {
  EXPECT_TRUE(Uuid{}.IsNil());
  EXPECT_FALSE(Uuid::FromHiLo(0, 1).IsNil());
  EXPECT_FALSE(Uuid::FromHiLo(uint64_t{1} << 63, 0).IsNil());
}

TEST(UuidText, FormatIsCanonicalLowerCase) {
  EXPECT_EQ(FormatUuid(Uuid{}), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(FormatUuid(Uuid::FromHiLo(~uint64_t{0}, ~uint64_t{0})), "ffffffff-ffff-ffff-ffff-ffffffffffff");
  EXPECT_EQ(FormatUuid(Uuid::FromHiLo(0x0190f3c48d1e7c3au, 0x9b2f5e6d7c8b9a01u)),
            "0190f3c4-8d1e-7c3a-9b2f-5e6d7c8b9a01");
}

TEST(UuidText, FormatToWritesExactly36Bytes) {
  char buf[kUuidTextLen + 2];
  memset(buf, '#', sizeof(buf));
  FormatUuidTo(Uuid::FromHiLo(0x0123456789abcdefu, 0xfedcba9876543210u), buf + 1);
  EXPECT_EQ(buf[0], '#');
  EXPECT_EQ(buf[kUuidTextLen + 1], '#');
  EXPECT_EQ(std::string(buf + 1, kUuidTextLen), "01234567-89ab-cdef-fedc-ba9876543210");
}

TEST(UuidText, ParseInvertsFormat) {
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<Uuid> u = i % 2 ? NewUuidV4() : NewUuidV7();
    ASSERT_TRUE(u.ok()) << u.status();
    Uuid parsed;
    ASSERT_TRUE(ParseUuid(FormatUuid(*u), &parsed));
    EXPECT_EQ(parsed, *u);
  }
  Uuid parsed;
  ASSERT_TRUE(ParseUuid("01234567-89ab-cdef-fedc-ba9876543210", &parsed));
  EXPECT_EQ(parsed, Uuid::FromHiLo(0x0123456789abcdefu, 0xfedcba9876543210u));
}

TEST(UuidText, ParseAcceptsOnlyTheCanonicalForm) {
  const char* const bad[] = {
      "",
      "01234567-89AB-cdef-fedc-ba9876543210",    // upper case
      "01234567-89ab-cdef-fedc-ba987654321F",    // upper case, last digit
      "0123456789abcdeffedcba9876543210",        // no hyphens
      "{01234567-89ab-cdef-fedc-ba9876543210}",  // braces
      "01234567-89ab-cdef-fedc-ba987654321",     // 35 chars
      "01234567-89ab-cdef-fedc-ba98765432100",   // 37 chars
      "0123456-789ab-cdef-fedc-ba9876543210",    // hyphen moved
      "01234567-89ab-cdef-fedc+ba9876543210",    // not a hyphen
      "01234567-89ab-cdef-fedc-ba987654321g",    // not hex
      "0x234567-89ab-cdef-fedc-ba9876543210",    // not hex
      "01234567-89ab-cdef-fedc- a9876543210",    // space
      "urn:uuid:01234567-89ab-cdef-fedc-ba98",   // 36 chars, URN prefix
  };
  for (const char* text : bad) {
    Uuid out = Uuid::FromHiLo(7, 7);
    EXPECT_FALSE(ParseUuid(text, &out)) << text;
    EXPECT_EQ(out, Uuid::FromHiLo(7, 7)) << "output changed for " << text;
  }
  Uuid out;
  EXPECT_FALSE(ParseUuid(std::string_view("01234567-89ab-cdef-fedc-ba987654321\0", 36), &out));
}

TEST(UuidV4, HasVersion4AndRfcVariant) {
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<Uuid> u = NewUuidV4();
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(Version(*u), 4);
    EXPECT_TRUE(HasRfcVariant(*u));
    EXPECT_EQ(FormatUuid(*u)[14], '4');
  }
}

TEST(UuidV4, ValuesAreDistinctAndUseAllRandomBits) {
  std::set<Uuid> seen;
  uint64_t hi_or = 0, lo_or = 0, hi_and = ~uint64_t{0}, lo_and = ~uint64_t{0};
  for (int i = 0; i < 5000; ++i) {
    absl::StatusOr<Uuid> u = NewUuidV4();
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_TRUE(seen.insert(*u).second) << FormatUuid(*u);
    hi_or |= u->Hi(), lo_or |= u->Lo(), hi_and &= u->Hi(), lo_and &= u->Lo();
  }
  // Every bit except version and variant takes both values over 5000 draws.
  EXPECT_EQ(hi_or, ~uint64_t{0} & ~uint64_t{0xB000});
  EXPECT_EQ(hi_and, uint64_t{0x4000});
  EXPECT_EQ(lo_or, ~uint64_t{0} & ~(uint64_t{1} << 62));
  EXPECT_EQ(lo_and, uint64_t{1} << 63);
}

TEST(UuidV7, HasVersion7RfcVariantAndCurrentTime) {
  const uint64_t before = NowMs();
  absl::StatusOr<Uuid> u = NewUuidV7();
  const uint64_t after = NowMs();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(Version(*u), 7);
  EXPECT_TRUE(HasRfcVariant(*u));
  EXPECT_EQ(FormatUuid(*u)[14], '7');
  // Earlier tests may have pushed the timestamp a little ahead by counter
  // overflow; it never lags the clock.
  EXPECT_GE(TimestampMs(*u), before);
  EXPECT_LE(TimestampMs(*u), after + 10000);
}

TEST(UuidV7, StrictlyIncreasingOverManyCallsInOneThread) {
  // Enough calls to overflow the 12-bit counter within a millisecond.
  constexpr int kCalls = 200000;
  absl::StatusOr<Uuid> prev = NewUuidV7();
  ASSERT_TRUE(prev.ok()) << prev.status();
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<Uuid> next = NewUuidV7();
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_LT(*prev, *next) << "call " << i;
    ASSERT_LT(FormatUuid(*prev), FormatUuid(*next)) << "text order differs at call " << i;
    ASSERT_EQ(Version(*next), 7);
    ASSERT_TRUE(HasRfcVariant(*next));
    prev = next;
  }
}

TEST(UuidV7, NewMillisecondStartsCounterBelowGuardBit) {
  const uint64_t last = (uint64_t{1000} << 12) | 0xABC;
  EXPECT_EQ(internal::NextV7State(last, 1001, 0x0123), (uint64_t{1001} << 12) | 0x123);
  // The counter's top bit is kept clear so at least 2048 values fit.
  EXPECT_EQ(internal::NextV7State(last, 1001, 0xFFFF), (uint64_t{1001} << 12) | 0x7FF);
  EXPECT_EQ(internal::NextV7State(0, 1, 0), uint64_t{1} << 12);
}

TEST(UuidV7, SameMillisecondIncrementsCounter) {
  const uint64_t last = (uint64_t{1000} << 12) | 0x005;
  EXPECT_EQ(internal::NextV7State(last, 1000, 0x700), last + 1);
}

TEST(UuidV7, ClockStepBackKeepsIncreasing) {
  const uint64_t last = (uint64_t{5000} << 12) | 0x010;
  const uint64_t next = internal::NextV7State(last, 4000, 0);
  EXPECT_EQ(next >> 12, 5000u) << "the timestamp must not go back with the clock";
  EXPECT_EQ(next, last + 1);
  EXPECT_GT(internal::NextV7State(next, 0, 0x7FF), next);
}

TEST(UuidV7, CounterOverflowAdvancesTheMillisecond) {
  const uint64_t last = (uint64_t{5000} << 12) | 0xFFF;
  const uint64_t next = internal::NextV7State(last, 5000, 0x123);
  EXPECT_EQ(next >> 12, 5001u);
  EXPECT_EQ(next & 0xFFF, 0u);
  // The clock then reaching the advanced millisecond must not reuse it.
  EXPECT_EQ(internal::NextV7State(next, 5001, 0x123), next + 1);
  EXPECT_EQ(internal::NextV7State(next, 5002, 0x123), (uint64_t{5002} << 12) | 0x123);
}

TEST(UuidV7, LayoutPutsMillisecondsCounterAndRandomBitsInPlace) {
  const uint64_t ms = 0x0190f3c48d1eu;
  const Uuid u = internal::MakeV7((ms << 12) | 0xC3A, 0xFFFFFFFFFFFFFFFFu);
  EXPECT_EQ(FormatUuid(u), "0190f3c4-8d1e-7c3a-bfff-ffffffffffff");
  EXPECT_EQ(TimestampMs(u), ms);
  EXPECT_EQ(V7Counter(u), 0xC3A);
  const Uuid zero = internal::MakeV7(0, 0);
  EXPECT_EQ(FormatUuid(zero), "00000000-0000-7000-8000-000000000000");
  // 62 random bits survive: all but the two variant bits of rand_b.
  const Uuid mixed = internal::MakeV7(1 << 12, 0x123456789abcdef0u);
  EXPECT_EQ(mixed.Lo(), (0x123456789abcdef0u & 0x3FFFFFFFFFFFFFFFu) | (uint64_t{1} << 63));
}

// Reads exactly `len` bytes from `fd`.
bool ReadAll(int fd, void* buf, size_t len) {
  auto* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n <= 0) return false;
    p += n, len -= static_cast<size_t>(n);
  }
  return true;
}

TEST(UuidFork, ChildDoesNotRepeatParentRandomness) {
  // Enough on each side (about 7 KiB of random bytes) that both refill their
  // per-thread buffers: a child that kept the parent's generator state would
  // hand out what the parent's next refill does.
  constexpr int kEach = 300;
  // Leave the parent's per-thread buffer partly used, so that a child that
  // kept it would hand out the parent's next values.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(NewUuidV4().ok());

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    Uuid out[2 * kEach];
    for (int i = 0; i < kEach; ++i) {
      absl::StatusOr<Uuid> v4 = NewUuidV4();
      absl::StatusOr<Uuid> v7 = NewUuidV7();
      if (!v4.ok() || !v7.ok()) _exit(2);
      out[i] = *v4;
      out[kEach + i] = *v7;
    }
    ssize_t n = write(fds[1], out, sizeof(out));
    _exit(n == static_cast<ssize_t>(sizeof(out)) ? 0 : 3);
  }
  close(fds[1]);
  std::vector<Uuid> parent;
  for (int i = 0; i < kEach; ++i) {
    absl::StatusOr<Uuid> v4 = NewUuidV4();
    absl::StatusOr<Uuid> v7 = NewUuidV7();
    ASSERT_TRUE(v4.ok() && v7.ok());
    parent.push_back(*v4);
    parent.push_back(*v7);
  }
  Uuid child[2 * kEach];
  const bool got = ReadAll(fds[0], child, sizeof(child));
  close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  ASSERT_TRUE(got);

  // v7 timestamps and counters can coincide; the random tail must not.
  std::set<uint64_t> parent_tails;
  for (const Uuid& p : parent) parent_tails.insert(p.Lo());
  int repeated = 0;
  for (const Uuid& c : child) repeated += parent_tails.count(c.Lo()) > 0 ? 1 : 0;
  EXPECT_EQ(repeated, 0) << "of " << 2 * kEach << " UUIDs the child made";
}

// In a forked child, makes getrandom(2) fail with `err` from now on.
bool FailGetrandom(int err) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

TEST(UuidRandom, GetrandomFailureIsAnErrorNotACrash) {
  ASSERT_TRUE(NewUuidV4().ok());  // a parent buffer the child must not use
  const absl::StatusOr<Uuid> before = NewUuidV7();
  ASSERT_TRUE(before.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!FailGetrandom(ENOSYS)) _exit(10);  // seccomp unavailable: skipped below
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<Uuid> v4 = NewUuidV4();
      if (v4.ok()) _exit(2);
      if (v4.status().code() != absl::StatusCode::kUnavailable) _exit(3);
      if (v4.status().message().find("getrandom") == absl::string_view::npos) _exit(4);
      absl::StatusOr<Uuid> v7 = NewUuidV7();
      if (v7.ok()) _exit(5);
      if (v7.status().code() != absl::StatusCode::kUnavailable) _exit(6);
    }
    _exit(0);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child died, status " << wstatus;
  if (WEXITSTATUS(wstatus) == 10) GTEST_SKIP() << "seccomp filters are not permitted here";
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  // The parent is unaffected and still increasing.
  absl::StatusOr<Uuid> after = NewUuidV7();
  ASSERT_TRUE(after.ok());
  EXPECT_LT(*before, *after);
}

}  // namespace
}  // namespace estoria::core

namespace estoria::core {
namespace {

TEST(UuidV7Batch, FillsStrictlyIncreasingV7sThatContinueAfterSingleCalls) {
  absl::StatusOr<Uuid> before = NewUuidV7();
  ASSERT_TRUE(before.ok());
  std::vector<Uuid> batch(5000);  // more than one millisecond's counter range
  ASSERT_TRUE(NewUuidsV7(absl::MakeSpan(batch)).ok());
  absl::StatusOr<Uuid> after = NewUuidV7();
  ASSERT_TRUE(after.ok());
  Uuid previous = *before;
  for (const Uuid& u : batch) {
    EXPECT_EQ(u.bytes[6] >> 4, 7);
    EXPECT_EQ(u.bytes[8] & 0xC0, 0x80);
    EXPECT_LT(previous, u);
    previous = u;
  }
  EXPECT_LT(previous, *after);
}

TEST(UuidV7Batch, AnEmptySpanIsANoOp) { EXPECT_TRUE(NewUuidsV7(absl::Span<Uuid>()).ok()); }

}  // namespace
}  // namespace estoria::core
