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
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "estoria/estoria.h"
#include "gtest/gtest.h"

#ifndef ESTORIA_CRASH_WRITER
#error "ESTORIA_CRASH_WRITER must name the crash_writer binary"
#endif

namespace {

constexpr int kStreams = 6;  // as in crash_writer.cc

std::string StreamId(int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "crash_00000000-0000-4000-8000-%012d", index + 1);
  return buf;
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoll(v, nullptr, 10);
}

// A fresh directory under the test temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "estoria_crash_XXXXXX";
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) {
      ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process running crash_writer, its stdout on a pipe (and, when
// asked, its stdin on another).
struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // read end of the child's stdout
  int in_fd = -1;   // write end of the child's stdin, or -1
  std::string output;
  bool eof = false;
};

Child Spawn(const std::vector<std::string>& args, bool with_stdin) {
  Child c;
  int out[2];
  int in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || (with_stdin && pipe2(in, O_CLOEXEC) != 0)) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return c;
  }
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);  // the duplicate does not inherit O_CLOEXEC
    if (with_stdin) dup2(in[0], STDIN_FILENO);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  if (with_stdin) close(in[0]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    close(out[0]);
    if (with_stdin) close(in[1]);
    return c;
  }
  c.pid = pid;
  c.out_fd = out[0];
  c.in_fd = with_stdin ? in[1] : -1;
  return c;
}

// Reads whatever the child writes within `timeout_ms` (at least one poll).
void Drain(Child& c, int timeout_ms) {
  if (c.eof) return;
  pollfd p{c.out_fd, POLLIN, 0};
  int r = poll(&p, 1, timeout_ms);
  if (r <= 0) return;
  char buf[8192];
  ssize_t n = read(c.out_fd, buf, sizeof buf);
  if (n > 0) {
    c.output.append(buf, static_cast<size_t>(n));
  } else if (n == 0 || errno != EINTR) {
    c.eof = true;
  }
}

using Clock = std::chrono::steady_clock;

// Drains until a complete line starting with "ready " arrived (true) or the
// child ended or 60 s passed (false).
bool WaitReady(Child& c) {
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!c.eof && Clock::now() < deadline) {
    size_t at = c.output.find("ready ");
    if (at != std::string::npos && (at == 0 || c.output[at - 1] == '\n') &&
        c.output.find('\n', at) != std::string::npos) {
      return true;
    }
    Drain(c, 50);
  }
  return false;
}

// Drains for `ms` milliseconds, so that the child never blocks on a full pipe.
void DrainFor(Child& c, int ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  do {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    Drain(c, static_cast<int>(std::max<int64_t>(0, left)));
  } while (!c.eof && Clock::now() < deadline);
}

// Kills (when `signal` > 0) and reaps the child, reading its output to EOF.
// Returns the wait status.
int Finish(Child& c, int signal) {
  if (signal > 0) kill(c.pid, signal);
  if (c.in_fd >= 0) {
    close(c.in_fd);
    c.in_fd = -1;
  }
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!c.eof && Clock::now() < deadline) Drain(c, 100);
  if (!c.eof) kill(c.pid, SIGKILL);  // a child that hangs is killed, and the test fails below
  int status = 0;
  while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(c.out_fd);
  c.out_fd = -1;
  return status;
}

// The complete lines of a child's output (a trailing partial line is not one).
std::vector<std::string> Lines(const std::string& output) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(output.substr(start, nl - start));
  }
  return lines;
}

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
    for (int s = 0; s < kStreams; ++s) index_of[StreamId(s)] = s;

    for (int s = 0; s < kStreams; ++s) {
      SCOPED_TRACE("stream " + StreamId(s));
      est_iter* it = nullptr;
      est_status st = est_read_stream(store, StreamId(s).c_str(), nullptr, &it);
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
    Child c = Spawn({ESTORIA_CRASH_WRITER, "write", dir, std::to_string(round)}, false);
    ASSERT_GT(c.pid, 0);
    if (wait_ready) {
      bool ready = WaitReady(c);
      if (!ready) {
        Finish(c, SIGKILL);
        FAIL() << "the writer never became ready; it wrote:\n" << c.output;
      }
    }
    DrainFor(c, delay_ms);
    int status = Finish(c, SIGKILL);
    std::string error_line;
    std::vector<Ack> acks = ParseAcks(c.output, &error_line);
    ASSERT_TRUE(error_line.empty()) << error_line;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer ended on its own (status " << status << "); it wrote:\n"
        << c.output;
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
        ASSERT_NE(it, now.end()) << "acknowledged " << StreamId(a.stream) << " v" << v << " lost";
        EXPECT_EQ(it->second.marker, a.marker) << StreamId(a.stream) << " v" << v;
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
      ASSERT_NE(it, now.end()) << StreamId(key.first) << " v" << key.second << " vanished";
      EXPECT_EQ(it->second, stored) << StreamId(key.first) << " v" << key.second << " changed";
    }
    for (const auto& [key, stored] : now) {
      max_position = std::max(max_position, stored.position);
      if (previous.count(key) == 0) {
        EXPECT_GT(stored.position, previous_max_position)
            << StreamId(key.first) << " v" << key.second << " reuses a position";
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

TEST_F(CrashTest, KilledDuringCreationLeavesAStoreThatOpens) {
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i));
    TempDir tmp;
    const std::string dir = tmp.path() + "/store";
    Child c = Spawn({ESTORIA_CRASH_WRITER, "write", dir, "0"}, false);
    ASSERT_GT(c.pid, 0);
    DrainFor(c, static_cast<int>(rng_() % 30));
    Finish(c, SIGKILL);
    std::string error_line;
    ParseAcks(c.output, &error_line);
    ASSERT_TRUE(error_line.empty()) << error_line;
    ReadBack(dir);  // opens (creating when nothing was made yet) and checks
    ASSERT_FALSE(HasFailure());
  }
}

TEST_F(CrashTest, OpenWhileAnotherProcessHoldsTheStoreIsBusyNamingItsPid) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  Child c = Spawn({ESTORIA_CRASH_WRITER, "hold", dir}, true);
  ASSERT_GT(c.pid, 0);
  if (!WaitReady(c)) {
    Finish(c, SIGKILL);
    FAIL() << "the holder never became ready; it wrote:\n" << c.output;
  }
  est_store* store = nullptr;
  est_status st = est_store_open(("file:" + dir).c_str(), nullptr, &store);
  std::string message = est_last_error();
  EXPECT_EQ(st, EST_ERR_BUSY) << est_status_name(st) << ": " << message;
  EXPECT_EQ(store, nullptr);
  EXPECT_NE(message.find(std::to_string(c.pid)), std::string::npos)
      << "the message does not name the holder's PID " << c.pid << ": " << message;
  est_store_close(store);

  // Closing stdin lets the holder close the store and exit; then the store is free.
  int status = Finish(c, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "holder status " << status << ":\n" << c.output;
  store = Open(dir);
  EXPECT_NE(store, nullptr);
  est_store_close(store);
}

TEST_F(CrashTest, LockOfAKilledHolderDoesNotBlockTheNextOpen) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  Child c = Spawn({ESTORIA_CRASH_WRITER, "hold", dir}, true);
  ASSERT_GT(c.pid, 0);
  if (!WaitReady(c)) {
    Finish(c, SIGKILL);
    FAIL() << "the holder never became ready; it wrote:\n" << c.output;
  }
  int status = Finish(c, SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status));
  est_store* store = Open(dir);  // the lock file names a dead PID: not BUSY
  EXPECT_NE(store, nullptr);
  est_store_close(store);
}

}  // namespace
