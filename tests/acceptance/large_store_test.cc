// A large file store opens from its index checkpoint: N events over 1,000
// streams (N from ESTORIA_LARGE_STORE_EVENTS, default 200000) are written,
// the store is closed and opened again, and the open must say (through the
// log handler) that it was served from the index checkpoint, and must grow
// the process's anonymous memory (RssAnon; the segments' mappings are file
// pages, not counted) by at most 24 bytes per event plus a fixed 16 MiB.
// Then a writer process (follow_writer, from tests/readers) appends past the
// checkpoint and is SIGKILLed: the reopen reads every acknowledged event.
// No timing is asserted (performance belongs in bench/). File store only.
#include <signal.h>
#include <sys/wait.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"
#include "tests/common/child_process.h"

#if defined(__SANITIZE_ADDRESS__)
#define ESTORIA_LARGE_STORE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ESTORIA_LARGE_STORE_ASAN 1
#endif
#endif

namespace estoria::acceptance {
namespace {

constexpr int kStreams = 1000;
constexpr int kMaxBatch = 250;
constexpr int64_t kBytesPerEvent = 24;
constexpr int64_t kFixedAllowance = 16 << 20;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoll(v, nullptr, 10);
}

// This process's RssAnon in bytes, from /proc/self/status (-1 if absent).
int64_t RssAnonBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssAnon:", 0) == 0) {
      std::istringstream in(line.substr(8));
      int64_t kb = -1;
      in >> kb;
      return kb < 0 ? -1 : kb * 1024;
    }
  }
  return -1;
}

// What the library logged, from any thread.
struct LogCapture {
  std::mutex mu;
  std::vector<std::pair<int32_t, std::string>> lines;

  static void Handler(void* user, int32_t level, const char* message) {
    auto* self = static_cast<LogCapture*>(user);
    std::lock_guard<std::mutex> lock(self->mu);
    self->lines.emplace_back(level, message);
  }
  std::string Dump() {
    std::lock_guard<std::mutex> lock(mu);
    std::string out;
    for (const auto& [level, text] : lines) out += "  [" + std::to_string(level) + "] " + text + "\n";
    return out.empty() ? "  (nothing logged)\n" : out;
  }
  // True when a line mentions the index checkpoint and none of the lines
  // that do says it was missing or unusable.
  bool ServedFromCheckpoint() {
    std::lock_guard<std::mutex> lock(mu);
    bool mentioned = false;
    for (const auto& [level, text] : lines) {
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.find("index checkpoint") == std::string::npos) continue;
      mentioned = true;
      for (const char* bad : {"no index checkpoint", "without", "missing", "invalid", "corrupt", "ignor",
                              "discard", "stale", "unusable", "inconsistent", "damaged", "fail"}) {
        if (lower.find(bad) != std::string::npos) return false;
      }
    }
    return mentioned;
  }
};

// Installs a LogCapture as the process-wide handler for its lifetime.
class ScopedLog {
 public:
  ScopedLog() { est_set_log_handler(&LogCapture::Handler, &capture_); }
  ~ScopedLog() { est_set_log_handler(nullptr, nullptr); }
  LogCapture& capture() { return capture_; }

 private:
  LogCapture capture_;
};

// follow_writer: ESTORIA_FOLLOW_WRITER, else beside this executable's
// directory, where the build puts it (build/tests/readers/).
std::string FollowWriterPath() {
  if (const char* env = std::getenv("ESTORIA_FOLLOW_WRITER"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (self.parent_path().parent_path() / "readers" / "follow_writer").string();
}

// follow_writer's streams here: kFollowStreams live ones, no doomed stream.
constexpr int kFollowStreams = 3;
std::string FollowStreamId(int index) { return test::FollowStreamId(index, kFollowStreams); }

struct FollowAck {
  int stream = 0;
  int64_t first_version = 0, last_version = 0, first_position = 0, last_position = 0;
};

// Runs follow_writer on `dir` until it has acknowledged `want_acks` appends
// (or 60 s passed), SIGKILLs it and returns its acknowledgements.
std::vector<FollowAck> AppendThenKill(const std::string& writer, const std::string& dir, size_t want_acks) {
  std::vector<FollowAck> acks;
  test::ChildProcess child({writer, dir, "streams=" + std::to_string(kFollowStreams), "batches=0", "sync=always"}, /*with_stdin=*/false);
  if (!child.started()) {
    ADD_FAILURE() << child.error();
    return acks;
  }
  size_t acked = 0;
  const auto deadline = test::ChildProcess::Clock::now() + std::chrono::seconds(60);
  while (!child.eof() && acked < want_acks && test::ChildProcess::Clock::now() < deadline) {
    child.Pump(100);
    for (const std::string& line : child.NewLines()) acked += line.rfind("ack ", 0) == 0;
  }
  // Whatever it wrote before dying is acknowledged too: Finish reads to EOF.
  const int status = child.Finish(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended on its own (status " << status << "):\n"
      << child.output();
  for (const std::string& line : test::Lines(child.output())) {
    std::istringstream in(line);
    std::string word;
    int64_t batch = 0, size = 0;
    FollowAck a;
    in >> word;
    if (word == "error") ADD_FAILURE() << line;
    if (word != "ack") continue;
    in >> batch >> a.stream >> size >> a.first_version >> a.last_version >> a.first_position >> a.last_position;
    EXPECT_FALSE(in.fail()) << "bad ack line: " << line;
    acks.push_back(a);
  }
  return acks;
}

class LargeStoreTest : public Acceptance {
 protected:
  void SetUp() override {
    if (GetParam().name != "file") GTEST_SKIP() << "the index checkpoint is the file store's";
    Acceptance::SetUp();
  }

  std::string Dir() const { return uri_.substr(std::string("file:").size()); }

  // Fills the store with about `n` events over kStreams streams (rounded to
  // a multiple of kStreams) in big batches without syncing each, closes it
  // and returns the number of events written.
  int64_t Build(int64_t n) {
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.sync_mode = EST_SYNC_NONE;
    ReopenStore(&options);
    const int64_t per_stream = std::max<int64_t>(1, n / kStreams);
    for (int s = 0; s < kStreams; ++s) streams_.push_back(NewStreamId("big"));
    std::map<int, std::vector<uint8_t>> batches;  // by size: built once
    for (int64_t done = 0; done < per_stream;) {
      const int size = static_cast<int>(std::min<int64_t>(kMaxBatch, per_stream - done));
      std::vector<uint8_t>& bytes = batches[size];
      if (bytes.empty()) bytes = SimpleBatch(size, "big-");
      for (const std::string& id : streams_) {
        const est_status st = est_append(store_, id.c_str(), bytes.data(), bytes.size(), nullptr, nullptr, nullptr);
        if (st != EST_OK) {
          ADD_FAILURE() << "append to " << id << ": " << est_status_name(st) << ": " << est_last_error();
          return 0;
        }
      }
      done += size;
    }
    EXPECT_EST_OK(est_store_sync(store_));
    CloseStore();
    return per_stream * kStreams;
  }

  // Checks the stats, the tips of a few of the big streams (each
  // `per_stream` events) and the whole global order (without copying it).
  void ExpectHolds(int64_t events, int64_t per_stream, int64_t at_least_streams) {
    est_stats stats = EST_STATS_INIT;
    ASSERT_EST_OK(est_store_stats(store_, &stats));
    EXPECT_EQ(stats.events, events);
    EXPECT_GE(stats.streams, at_least_streams);
    for (size_t s : {size_t{0}, streams_.size() / 2, streams_.size() - 1}) {
      const ReadResult tip = ReadStream(store_, streams_[s], EST_REVERSE, 0, 1);
      ASSERT_EST_OK(tip.status);
      ASSERT_EQ(tip.events.size(), 1u);
      EXPECT_EQ(tip.events[0].stream_version, per_stream) << streams_[s];
    }
    est_iter* it = nullptr;
    ASSERT_EST_OK(est_read_all(store_, nullptr, &it));
    std::vector<est_event> views(512);
    views[0] = EST_EVENT_INIT;
    int64_t seen = 0, last = 0;
    bool ascending = true;
    size_t count = 0;
    est_status st;
    while ((st = est_iter_next_batch(it, views.data(), views.size(), &count)) == EST_OK) {
      for (size_t i = 0; i < count; ++i) {
        ascending = ascending && views[i].global_position > last;
        last = views[i].global_position;
      }
      seen += static_cast<int64_t>(count);
    }
    EXPECT_EST(EST_END, st);
    est_iter_close(it);
    EXPECT_EQ(seen, stats.events);
    EXPECT_TRUE(ascending) << "read_all not ascending";
  }

  std::vector<std::string> streams_;
};

TEST_P(LargeStoreTest, ReopensFromItsIndexCheckpointWithinTheMemoryBudget) {
  const int64_t n = Build(EnvInt("ESTORIA_LARGE_STORE_EVENTS", 200000));
  ASSERT_GT(n, 0);
  ASSERT_FALSE(HasFailure());

  int64_t growth = 0;
  ScopedLog log;
  {
#if defined(__GLIBC__)
    malloc_trim(0);  // so that the open cannot hide in memory the build freed
#endif
    const int64_t rss_before = RssAnonBytes();
    ASSERT_GT(rss_before, 0) << "no RssAnon in /proc/self/status";
    ASSERT_EST_OK(est_store_open(uri_.c_str(), nullptr, &store_));
    growth = RssAnonBytes() - rss_before;
  }
  EXPECT_TRUE(log.capture().ServedFromCheckpoint())
      << "the open did not say it was served from the index checkpoint; it logged:\n"
      << log.capture().Dump();
  const int64_t budget = kBytesPerEvent * n + kFixedAllowance;
  std::printf("large_store_test: %lld events, open grew RssAnon by %lld bytes (%.1f B/event; budget %lld)\n",
              static_cast<long long>(n), static_cast<long long>(growth),
              static_cast<double>(growth) / static_cast<double>(n), static_cast<long long>(budget));
#if defined(ESTORIA_LARGE_STORE_ASAN)
  std::printf("large_store_test: AddressSanitizer build: the memory budget is not checked\n");
#else
  EXPECT_LE(growth, budget) << "the open's resident index costs more than " << kBytesPerEvent
                            << " bytes per event plus " << kFixedAllowance << " bytes";
#endif
  ExpectHolds(n, n / kStreams, kStreams);
}

TEST_P(LargeStoreTest, UncleanStopAfterTheCheckpointLosesNothingAcknowledged) {
  const std::string writer = FollowWriterPath();
  ASSERT_TRUE(!writer.empty() && std::filesystem::exists(writer))
      << "follow_writer not found at \"" << writer
      << "\": build tests/readers (target follow_writer) or set ESTORIA_FOLLOW_WRITER";
  const int64_t n = Build(std::min<int64_t>(EnvInt("ESTORIA_LARGE_STORE_EVENTS", 200000), 50000));
  ASSERT_GT(n, 0);
  ASSERT_FALSE(HasFailure());

  // Another process appends past the checkpoint the close wrote, and dies.
  const std::vector<FollowAck> acks = AppendThenKill(writer, Dir(), 40);
  ASSERT_FALSE(HasFailure());
  ASSERT_FALSE(acks.empty()) << "the writer acknowledged nothing: the test proved nothing";

  ScopedLog log;
  ASSERT_EST_OK(est_store_open(uri_.c_str(), nullptr, &store_));
  EXPECT_TRUE(log.capture().ServedFromCheckpoint())
      << "after an unclean stop the open should still start from the checkpoint; it logged:\n"
      << log.capture().Dump();

  int64_t acked_events = 0;
  std::map<int, std::vector<Event>> follow;
  for (int s = 0; s < kFollowStreams; ++s) {
    ReadResult r = ReadStream(store_, FollowStreamId(s));
    if (r.status == EST_OK) follow[s] = std::move(r.events);
  }
  for (const FollowAck& a : acks) {
    SCOPED_TRACE(FollowStreamId(a.stream) + " v" + std::to_string(a.first_version));
    acked_events += a.last_version - a.first_version + 1;
    const std::vector<Event>& events = follow[a.stream];
    ASSERT_GE(static_cast<int64_t>(events.size()), a.last_version) << "an acknowledged batch was lost";
    EXPECT_EQ(events[a.first_version - 1].stream_version, a.first_version);
    EXPECT_EQ(events[a.first_version - 1].global_position, a.first_position);
    EXPECT_EQ(events[a.last_version - 1].global_position, a.last_position);
  }
  est_stats stats = EST_STATS_INIT;
  ASSERT_EST_OK(est_store_stats(store_, &stats));
  EXPECT_GE(stats.events, n + acked_events);
  // Everything from before the checkpoint is there as well (and what the
  // writer wrote without living to acknowledge it may be).
  ExpectHolds(stats.events, n / kStreams, kStreams + 1);
}

ESTORIA_ACCEPTANCE_SUITE(LargeStoreTest);

}  // namespace
}  // namespace estoria::acceptance
