// StoreHost and UuidGenerator: a host's clock, randomness and log reach what
// a store stores and says, and two generators fed alike hand out the same IDs
// whatever else the process generates (deterministic replay, doc/abi.md "Hosts").
#include "core/store/store_host.h"

#include <string>
#include <vector>

#include "core/env/mem_env.h"
#include "core/id/uuid.h"
#include "gtest/gtest.h"

namespace estoria::core {
namespace {

UuidGenerator::RandomFn Counting(uint8_t* next) {
  return [next](uint8_t* buf, size_t len) {
    for (size_t i = 0; i < len; ++i) buf[i] = (*next)++;
  };
}

TEST(UuidGenerator, TwoGeneratorsFedAlikeGiveTheSameIdsWhateverElseRuns) {
  uint8_t a_next = 0, b_next = 0;
  UuidGenerator a(Counting(&a_next)), b(Counting(&b_next));
  std::vector<Uuid> from_a(5), from_b(5);
  const int64_t t = int64_t{1'700'000'000'000} * 1'000'000;
  ASSERT_TRUE(a.NewV7(absl::MakeSpan(from_a), t).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(NewUuidV7().ok());  // the process-wide generator moves on
  ASSERT_TRUE(b.NewV7(absl::MakeSpan(from_b), t).ok());
  EXPECT_EQ(from_a, from_b);
  for (size_t i = 1; i < from_a.size(); ++i) EXPECT_LT(from_a[i - 1], from_a[i]) << "strictly increasing";
  EXPECT_EQ(from_a[0].bytes[6] >> 4, 7);
  EXPECT_EQ(from_a[0].Hi() >> 16, static_cast<uint64_t>(t / 1'000'000)) << "the time given";
}

TEST(UuidGenerator, OtherRandomBytesGiveOtherIds) {
  uint8_t a_next = 0, b_next = 7;
  UuidGenerator a(Counting(&a_next)), b(Counting(&b_next));
  Uuid x, y;
  ASSERT_TRUE(a.NewV7(absl::MakeSpan(&x, 1), 1'000'000'000).ok());
  ASSERT_TRUE(b.NewV7(absl::MakeSpan(&y, 1), 1'000'000'000).ok());
  EXPECT_NE(x, y);
  absl::StatusOr<Uuid> v4 = a.NewV4();
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->bytes[6] >> 4, 4);
}

TEST(StoreHost, TheHostsClockWinsOverTheEnvsAndTheDefaultReadsTheEnv) {
  std::unique_ptr<Env> env = NewMemEnv();
  StoreHost host([] { return int64_t{42}; }, nullptr, nullptr);
  EXPECT_EQ(host.NowNanos(env.get()), 42);
  const int64_t before = env->NowNanos();
  const int64_t now = StoreHost::Default()->NowNanos(env.get());
  EXPECT_GE(now, before);
  EXPECT_FALSE(StoreHost::Default()->has_clock());
  absl::StatusOr<Uuid> id = host.NewUuidV7();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->Hi() >> 16, 0u) << "42 ns is millisecond 0";
}

TEST(StoreHost, ItsLogHearsTheStoresMessagesRedacted) {
  std::vector<std::pair<LogLevel, std::string>> heard;
  StoreHost host(nullptr, nullptr,
                 [&](LogLevel level, std::string_view message) { heard.emplace_back(level, std::string(message)); });
  host.Log(LogLevel::kWarning, "could not reach postgresql://alice:secret@db/x");
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].first, LogLevel::kWarning);
  EXPECT_EQ(heard[0].second.find("secret"), std::string::npos) << heard[0].second;
}

}  // namespace
}  // namespace estoria::core
