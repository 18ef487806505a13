// Crash tests of the file store through the C ABI: a real helper process
// (crash_writer, started with fork + exec) appends with EST_SYNC_ALWAYS and
// acknowledges each durable append on a pipe; it is SIGKILLed at a random
// moment, the store is reopened here and checked against the
// acknowledgements. Also BUSY from another process. Not run under TSan (it
// does not support fork in a threaded process without exec, and these tests
// are about durability, not races).
//
// ESTORIA_CRASH_ROUNDS (default 30) sets the number of kill rounds;
// ESTORIA_CRASH_SEED fixes the random delays (the seed is printed).
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#define EST_EXPERIMENTAL 1
#include "estoria/estoria.h"
#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

#ifndef ESTORIA_CRASH_WRITER
#error "ESTORIA_CRASH_WRITER must name the crash_writer binary"
#endif

namespace {

using estoria::test::ChildProcess;
using estoria::test::CrashStreamId;
using estoria::test::Lines;
using estoria::test::TempDir;

constexpr int kStreams = 6;  // as in crash_writer.cc

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoll(v, nullptr, 10);
}

// Reads until the child wrote a complete line starting with "ready " (true)
// or it ended or 60 s passed (false).
bool WaitReady(ChildProcess& c) { return !c.WaitForLine("ready ", /*prefix=*/true).empty(); }

struct Ack {
  int stream = 0;
  int64_t first_version = 0, last_version = 0;
  int64_t first_position = 0, last_position = 0;
  std::string marker;
  int64_t count = 0;
};

// One event as read back.
struct Stored {
  int64_t position = 0;
  std::string data;
  std::string marker;  // metadata "batch"
  std::string count;   // metadata "n"
  bool operator==(const Stored&) const = default;
};

// (stream index, version) -> event.
using Content = std::map<std::pair<int, int64_t>, Stored>;

// The parsed payload "s=S v=V m=MARKER i=I n=N".
struct Payload {
  int stream = -1;
  int64_t version = -1;
  std::string marker;
  int64_t index = -1;
  int64_t count = -1;
};

bool ParsePayload(const std::string& data, Payload* p) {
  std::istringstream in(data);
  std::string s, v, m, i, n;
  if (!(in >> s >> v >> m >> i >> n)) return false;
  if (s.rfind("s=", 0) != 0 || v.rfind("v=", 0) != 0 || m.rfind("m=", 0) != 0 || i.rfind("i=", 0) != 0 ||
      n.rfind("n=", 0) != 0) {
    return false;
  }
  p->stream = std::atoi(s.c_str() + 2);
  p->version = std::atoll(v.c_str() + 2);
  p->marker = m.substr(2);
  p->index = std::atoll(i.c_str() + 2);
  p->count = std::atoll(n.c_str() + 2);
  return true;
}

std::string Metadata(const est_event& e, const char* key) {
  for (size_t i = 0; i < e.metadata_count; ++i) {
    const char* k = nullptr;
    const char* v = nullptr;
    if (est_event_metadata(&e, i, &k, &v) == EST_OK && std::strcmp(k, key) == 0) return v;
  }
  return "<missing>";
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(EnvInt("ESTORIA_CRASH_SEED", static_cast<int64_t>(std::random_device{}())));
    rng_.seed(seed_);
    RecordProperty("seed", std::to_string(seed_));
    std::printf("crash_test seed %llu (ESTORIA_CRASH_SEED)\n", static_cast<unsigned long long>(seed_));
  }

  est_store* Open(const std::string& dir) {
    est_store* store = nullptr;
    est_status st = est_store_open(("file:" + dir).c_str(), nullptr, &store);
    EXPECT_EQ(st, EST_OK) << est_status_name(st) << ": " << est_last_error();
    return st == EST_OK ? store : nullptr;
  }

  // Reads the whole store back and checks what holds whatever was
  // acknowledged: streams gapless from 1, batches whole, payloads naming
  // their own stream and version, the global order ascending and agreeing
  // with the stream reads, and Verify clean.
  Content ReadBack(const std::string& dir) {
    Content content;
    est_store* store = Open(dir);
    if (store == nullptr) return content;
    std::map<std::string, int> index_of;
    for (int s = 0; s < kStreams; ++s) index_of[CrashStreamId(s)] = s;

    for (int s = 0; s < kStreams; ++s) {
      SCOPED_TRACE("stream " + CrashStreamId(s));
      est_iter* it = nullptr;
      est_status st = est_read_stream(store, CrashStreamId(s).c_str(), nullptr, &it);
      if (st == EST_ERR_NOT_FOUND) continue;
      EXPECT_EQ(st, EST_OK) << est_last_error();
      if (st != EST_OK) continue;
      int64_t expect_version = 1;
      int64_t last_position = 0;
      std::string open_marker;  // the batch being walked
      int64_t open_index = -1, open_count = 0;
      est_event e = EST_EVENT_INIT;
      while ((st = est_iter_next(it, &e)) == EST_OK) {
        Stored stored;
        stored.position = e.global_position;
        stored.data.assign(reinterpret_cast<const char*>(e.data), e.data_len);
        stored.marker = Metadata(e, "batch");
        stored.count = Metadata(e, "n");
        EXPECT_EQ(e.stream_version, expect_version) << "stream not gapless";
        EXPECT_GT(e.global_position, last_position) << "positions not ascending in the stream";
        Payload p;
        EXPECT_TRUE(ParsePayload(stored.data, &p)) << "bad payload \"" << stored.data << "\"";
        EXPECT_EQ(p.stream, s) << stored.data;
        EXPECT_EQ(p.version, e.stream_version) << stored.data;
        EXPECT_EQ(p.marker, stored.marker) << stored.data;
        EXPECT_EQ(std::to_string(p.count), stored.count) << stored.data;
        // Batch atomicity: indexes 0..n-1 of one marker, back to back.
        if (p.index == 0) {
          EXPECT_EQ(open_index + 1, open_count) << "batch " << open_marker << " cut short at version "
                                                << e.stream_version;
          open_marker = p.marker;
          open_count = p.count;
        } else {
          EXPECT_EQ(p.marker, open_marker) << "event of a batch without its start: " << stored.data;
          EXPECT_EQ(p.index, open_index + 1) << stored.data;
        }
        open_index = p.index;
        content[{s, e.stream_version}] = stored;
        expect_version = e.stream_version + 1;
        last_position = e.global_position;
      }
      EXPECT_EQ(st, EST_END) << est_last_error();
      EXPECT_EQ(open_index + 1, open_count) << "last batch " << open_marker << " partial";
      est_iter_close(it);
    }

    // The global order: ascending, and the same events at the same positions.
    est_iter* all = nullptr;
    est_status st = est_read_all(store, nullptr, &all);
    EXPECT_EQ(st, EST_OK) << est_last_error();
    if (st == EST_OK) {
      size_t seen = 0;
      int64_t last = 0;
      est_event e = EST_EVENT_INIT;
      while ((st = est_iter_next(all, &e)) == EST_OK) {
        ++seen;
        EXPECT_GT(e.global_position, last) << "global read not strictly ascending";
        last = e.global_position;
        char id[EST_ID_MAX_LEN + 1];
        if (est_id_format(e.stream_type, &e.stream_uuid, id, sizeof id) != EST_OK) {
          ADD_FAILURE() << "est_id_format: " << est_last_error();
          continue;
        }
        auto idx = index_of.find(id);
        if (idx == index_of.end()) {
          ADD_FAILURE() << "unknown stream " << id;
          continue;
        }
        auto found = content.find({idx->second, e.stream_version});
        if (found == content.end()) {
          ADD_FAILURE() << id << " v" << e.stream_version << " only in the global read";
          continue;
        }
        EXPECT_EQ(found->second.position, e.global_position) << id << " v" << e.stream_version;
      }
      EXPECT_EQ(st, EST_END) << est_last_error();
      EXPECT_EQ(seen, content.size()) << "global read and stream reads disagree";
      est_iter_close(all);
    }

    est_verify_report report = EST_VERIFY_REPORT_INIT;
    st = est_store_verify(store, nullptr, nullptr, &report);
    EXPECT_EQ(st, EST_OK) << est_status_name(st) << ": " << est_last_error();
    est_store_close(store);
    return content;
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

std::vector<Ack> ParseAcks(const std::string& output, std::string* error_line) {
  std::vector<Ack> acks;
  for (const std::string& line : Lines(output)) {
    std::istringstream in(line);
    std::string word;
    in >> word;
    if (word == "ack") {
      Ack a;
      in >> a.stream >> a.first_version >> a.last_version >> a.first_position >> a.last_position >> a.marker >>
          a.count;
      EXPECT_FALSE(in.fail()) << "bad ack line: " << line;
      acks.push_back(a);
    } else if (word == "error") {
      *error_line = line;
    }
  }
  return acks;
}

TEST_F(CrashTest, SigkilledWriterLosesNothingAcknowledgedAndLeavesNoPartialBatch) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";  // created by the first writer
  const int64_t rounds = EnvInt("ESTORIA_CRASH_ROUNDS", 30);
  Content previous;
  int64_t previous_max_position = 0;
  size_t total_acks = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed_));
    // Mostly kill while appending; one round in five may kill during exec,
    // open or recovery.
    bool wait_ready = rng_() % 5 != 0;
    int delay_ms = static_cast<int>(rng_() % 51);
    ChildProcess c({ESTORIA_CRASH_WRITER, "write", dir, std::to_string(round)}, /*with_stdin=*/false);
    ASSERT_TRUE(c.started()) << c.error();
    if (wait_ready) {
      bool ready = WaitReady(c);
      if (!ready) {
        c.Finish(SIGKILL);
        FAIL() << "the writer never became ready; it wrote:\n" << c.output();
      }
    }
    c.PumpFor(delay_ms);
    int status = c.Finish(SIGKILL);
    std::string error_line;
    std::vector<Ack> acks = ParseAcks(c.output(), &error_line);
    ASSERT_TRUE(error_line.empty()) << error_line;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer ended on its own (status " << status << "); it wrote:\n"
        << c.output();
    total_acks += acks.size();

    Content now = ReadBack(dir);
    ASSERT_FALSE(HasFailure()) << "after round " << round;

    // Every acknowledged batch is there, whole, where it was acknowledged.
    for (const Ack& a : acks) {
      SCOPED_TRACE("ack of " + a.marker);
      ASSERT_TRUE(a.stream >= 0 && a.stream < kStreams);
      EXPECT_EQ(a.last_version - a.first_version + 1, a.count);
      for (int64_t v = a.first_version; v <= a.last_version; ++v) {
        auto it = now.find({a.stream, v});
        ASSERT_NE(it, now.end()) << "acknowledged " << CrashStreamId(a.stream) << " v" << v << " lost";
        EXPECT_EQ(it->second.marker, a.marker) << CrashStreamId(a.stream) << " v" << v;
        if (v == a.first_version) {
          EXPECT_EQ(it->second.position, a.first_position);
        }
        if (v == a.last_version) {
          EXPECT_EQ(it->second.position, a.last_position);
        }
      }
    }
    // What an earlier round read back is still there, unchanged; what is new
    // has positions above everything handed out before (no reuse).
    int64_t max_position = 0;
    for (const auto& [key, stored] : previous) {
      auto it = now.find(key);
      ASSERT_NE(it, now.end()) << CrashStreamId(key.first) << " v" << key.second << " vanished";
      EXPECT_EQ(it->second, stored) << CrashStreamId(key.first) << " v" << key.second << " changed";
    }
    for (const auto& [key, stored] : now) {
      max_position = std::max(max_position, stored.position);
      if (previous.count(key) == 0) {
        EXPECT_GT(stored.position, previous_max_position)
            << CrashStreamId(key.first) << " v" << key.second << " reuses a position";
      }
    }
    ASSERT_FALSE(HasFailure());
    previous = std::move(now);
    previous_max_position = std::max(previous_max_position, max_position);
  }
  std::printf("crash_test: %lld rounds, %zu acknowledged batches, %zu events kept\n",
              static_cast<long long>(rounds), total_acks, previous.size());
  EXPECT_GT(total_acks, 0u) << "no round got as far as an append: the test proved nothing";
}

// SIGKILL during transactions of 2 to 10 streams: every acknowledged
// transaction is there whole, at its acknowledged positions, and no other
// transaction is there in part.
TEST_F(CrashTest, SigkilledTransactionsAreWholeOrAbsent) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  const int64_t rounds = EnvInt("ESTORIA_CRASH_ROUNDS", 30);
  size_t total_acks = 0;
  size_t transactions_seen = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed_));
    ChildProcess c({ESTORIA_CRASH_WRITER, "txn", dir, std::to_string(round)}, /*with_stdin=*/false);
    ASSERT_TRUE(c.started()) << c.error();
    if (rng_() % 5 != 0 && !WaitReady(c)) {
      c.Finish(SIGKILL);
      FAIL() << "the writer never became ready; it wrote:\n" << c.output();
    }
    c.PumpFor(static_cast<int>(rng_() % 51));
    const int status = c.Finish(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "it wrote:\n" << c.output();
    // marker -> (events, first position, last position)
    std::map<std::string, std::tuple<int64_t, int64_t, int64_t>> acked;
    for (const std::string& line : Lines(c.output())) {
      std::istringstream in(line);
      std::string word, marker;
      int64_t n = 0, first = 0, last = 0;
      in >> word;
      ASSERT_NE(word, "error") << line;
      if (word != "txnack") continue;
      in >> marker >> n >> first >> last;
      ASSERT_FALSE(in.fail()) << line;
      acked[marker] = {n, first, last};
    }
    total_acks += acked.size();

    est_store* store = Open(dir);
    ASSERT_NE(store, nullptr);
    est_iter* it = nullptr;
    ASSERT_EQ(est_read_all(store, nullptr, &it), EST_OK) << est_last_error();
    // marker -> positions of its events, in read order, and the n it claims
    std::map<std::string, std::pair<std::vector<int64_t>, std::string>> found;
    est_event e = EST_EVENT_INIT;
    est_status st;
    while ((st = est_iter_next(it, &e)) == EST_OK) {
      std::string marker = Metadata(e, "batch");
      auto& [positions, n] = found[marker];
      positions.push_back(e.global_position);
      n = Metadata(e, "n");
    }
    EXPECT_EQ(st, EST_END) << est_last_error();
    est_iter_close(it);
    EXPECT_EQ(est_store_verify(store, nullptr, nullptr, nullptr), EST_OK) << est_last_error();
    est_store_close(store);
    for (const auto& [marker, entry] : found) {
      const auto& [positions, n] = entry;
      EXPECT_EQ(std::to_string(positions.size()), n) << "transaction " << marker << " is partly there";
      for (size_t k = 1; k < positions.size(); ++k) {
        EXPECT_EQ(positions[k], positions[k - 1] + 1) << "transaction " << marker << " is not contiguous";
      }
    }
    for (const auto& [marker, ack] : acked) {
      auto f = found.find(marker);
      ASSERT_NE(f, found.end()) << "acknowledged transaction " << marker << " lost";
      EXPECT_EQ(static_cast<int64_t>(f->second.first.size()), std::get<0>(ack));
      EXPECT_EQ(f->second.first.front(), std::get<1>(ack));
      EXPECT_EQ(f->second.first.back(), std::get<2>(ack));
    }
    transactions_seen = found.size();
    ASSERT_FALSE(HasFailure());
  }
  std::printf("crash_test: %lld transaction rounds, %zu acknowledged transactions, %zu transactions kept\n",
              static_cast<long long>(rounds), total_acks, transactions_seen);
  EXPECT_GT(total_acks, 0u) << "no round got as far as a commit: the test proved nothing";
}

// SIGKILL while projection checkpoints are saved, alone and inside
// transactions with an event: after each kill every writer's checkpoint is
// at least its last acknowledged save, and its stream holds exactly the
// transactions up to the checkpoint (a transaction's event is there exactly
// when its checkpoint save is).
TEST_F(CrashTest, SigkilledCheckpointSavesAreKeptAndWholeWithTheirTransactions) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  const int64_t rounds = EnvInt("ESTORIA_CRASH_ROUNDS", 30) / 2 + 1;
  int64_t total_acks = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed_));
    ChildProcess c({ESTORIA_CRASH_WRITER, "ckpt", dir, std::to_string(round)}, /*with_stdin=*/false);
    ASSERT_TRUE(c.started()) << c.error();
    if (!WaitReady(c)) {
      c.Finish(SIGKILL);
      FAIL() << "the writer never became ready; it wrote:\n" << c.output();
    }
    c.PumpFor(static_cast<int>(rng_() % 51));
    const int status = c.Finish(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "it wrote:\n" << c.output();
    std::map<int, int64_t> acked;  // thread -> last acknowledged V
    for (const std::string& line : Lines(c.output())) {
      std::istringstream in(line);
      std::string word;
      int thread = 0;
      int64_t v = 0;
      in >> word;
      ASSERT_NE(word, "error") << line;
      if (word != "ckptack") continue;
      in >> thread >> v;
      ASSERT_FALSE(in.fail()) << line;
      acked[thread] = std::max(acked[thread], v);
      ++total_acks;
    }

    est_store* store = Open(dir);
    ASSERT_NE(store, nullptr);
    for (int thread = 0; thread < 4; ++thread) {
      SCOPED_TRACE("thread " + std::to_string(thread));
      const std::string checkpoint = "crash" + std::to_string(thread) + "_v1";
      int64_t position = 0;
      const est_status loaded = est_checkpoint_load(store, checkpoint.c_str(), &position, nullptr);
      ASSERT_TRUE(loaded == EST_OK || loaded == EST_ERR_NOT_FOUND) << est_last_error();
      EXPECT_GE(position, acked[thread]) << "an acknowledged save was lost";
      int64_t events = 0;
      est_iter* it = nullptr;
      if (est_read_stream(store, CrashStreamId(200 + thread).c_str(), nullptr, &it) == EST_OK) {
        est_event e = EST_EVENT_INIT;
        while (est_iter_next(it, &e) == EST_OK) {
          ++events;
          const std::string data(reinterpret_cast<const char*>(e.data), e.data_len);
          EXPECT_EQ(data, std::to_string(thread) + " " + std::to_string(2 * events));
        }
        est_iter_close(it);
      }
      EXPECT_EQ(events, position / 2) << "checkpoint " << position << " with " << events << " transactions";
    }
    EXPECT_EQ(est_store_verify(store, nullptr, nullptr, nullptr), EST_OK) << est_last_error();
    est_store_close(store);
    ASSERT_FALSE(HasFailure());
  }
  std::printf("crash_test: %lld checkpoint rounds, %lld acknowledged saves\n", static_cast<long long>(rounds),
              static_cast<long long>(total_acks));
  EXPECT_GT(total_acks, 0) << "no round got as far as a save: the test proved nothing";
}

TEST_F(CrashTest, KilledDuringCreationLeavesAStoreThatOpens) {
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i));
    TempDir tmp;
    const std::string dir = tmp.path() + "/store";
    ChildProcess c({ESTORIA_CRASH_WRITER, "write", dir, "0"}, /*with_stdin=*/false);
    ASSERT_TRUE(c.started()) << c.error();
    c.PumpFor(static_cast<int>(rng_() % 30));
    c.Finish(SIGKILL);
    std::string error_line;
    ParseAcks(c.output(), &error_line);
    ASSERT_TRUE(error_line.empty()) << error_line;
    ReadBack(dir);  // opens (creating when nothing was made yet) and checks
    ASSERT_FALSE(HasFailure());
  }
}

TEST_F(CrashTest, OpenWhileAnotherProcessHoldsTheStoreIsBusyNamingItsPid) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  ChildProcess c({ESTORIA_CRASH_WRITER, "hold", dir});
  ASSERT_TRUE(c.started()) << c.error();
  if (!WaitReady(c)) {
    c.Finish(SIGKILL);
    FAIL() << "the holder never became ready; it wrote:\n" << c.output();
  }
  est_store* store = nullptr;
  est_status st = est_store_open(("file:" + dir).c_str(), nullptr, &store);
  std::string message = est_last_error();
  EXPECT_EQ(st, EST_ERR_BUSY) << est_status_name(st) << ": " << message;
  EXPECT_EQ(store, nullptr);
  EXPECT_NE(message.find(std::to_string(c.pid())), std::string::npos)
      << "the message does not name the holder's PID " << c.pid() << ": " << message;
  est_store_close(store);

  // Closing stdin lets the holder close the store and exit; then the store is free.
  int status = c.Finish(0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "holder status " << status << ":\n" << c.output();
  store = Open(dir);
  EXPECT_NE(store, nullptr);
  est_store_close(store);
}

TEST_F(CrashTest, LockOfAKilledHolderDoesNotBlockTheNextOpen) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  ChildProcess c({ESTORIA_CRASH_WRITER, "hold", dir});
  ASSERT_TRUE(c.started()) << c.error();
  if (!WaitReady(c)) {
    c.Finish(SIGKILL);
    FAIL() << "the holder never became ready; it wrote:\n" << c.output();
  }
  int status = c.Finish(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status));
  est_store* store = Open(dir);  // the lock file names a dead PID: not BUSY
  EXPECT_NE(store, nullptr);
  est_store_close(store);
}

}  // namespace
