// Read-only opens of the file store through the C ABI, beside a writer in
// another process: follow_writer (started with fork + exec) appends batches
// of 1 to 50 events and acknowledges each on a pipe, while this process opens
// the same directory with "mode=ro" and polls est_read_all from where it
// stopped. What is checked: a reader sees only whole batches, in position
// order, with gapless versions per stream; what was acknowledged before a
// poll began shows up within a bounded wait; a transaction over several
// streams is seen whole or not at all; everything acknowledged is read
// once the writer has gone; segment rolls and compaction in the writer change
// none of that, and an iterator a reader holds keeps reading what it began
// with across a compaction. Also: writes through a read-only handle are
// EST_ERR_UNSUPPORTED and change nothing, a read-only open of something that
// is not a store fails cleanly, and a read-only open beside a writer in this
// process catches up too.
//
// Not run in the TSan tree (as tests/crash: fork in a threaded process, and
// these tests are about visibility across processes, not races).
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "estoria/estoria.h"
#include "gtest/gtest.h"
#include "tests/common/child_process.h"
#include "tests/common/temp_dir.h"

#ifndef ESTORIA_FOLLOW_WRITER
#error "ESTORIA_FOLLOW_WRITER must name the follow_writer binary"
#endif

namespace {

using Clock = std::chrono::steady_clock;

// How long an acknowledged batch may stay invisible to a reader that polls.
constexpr auto kVisibilityBound = std::chrono::seconds(10);

// follow_writer runs as a ChildProcess, stdout and stdin on pipes; its
// stream index `streams` is the doomed stream (FollowStreamId).
using estoria::test::ChildProcess;
using estoria::test::FollowStreamId;
using estoria::test::TempDir;

// ------------------------------------------------------------ what is read

struct Ack {
  int64_t batch = 0;
  int stream = 0;
  int64_t size = 0;
  int64_t first_version = 0, last_version = 0;
  int64_t first_position = 0, last_position = 0;
};

bool ParseAck(const std::string& line, Ack* a) {
  std::istringstream in(line);
  std::string word;
  in >> word >> a->batch >> a->stream >> a->size >> a->first_version >> a->last_version >> a->first_position >>
      a->last_position;
  return word == "ack" && !in.fail();
}

// The payload "b=BATCH i=INDEX n=SIZE s=STREAM v=VERSION".
struct Payload {
  int64_t batch = -1, index = -1, size = -1;
  int stream = -1;
  int64_t version = -1;
};

bool ParsePayload(const std::string& data, Payload* p) {
  long long b, i, n, v;
  int s;
  char tail;
  if (std::sscanf(data.c_str(), "b=%lld i=%lld n=%lld s=%d v=%lld%c", &b, &i, &n, &s, &v, &tail) != 5) return false;
  *p = Payload{b, i, n, s, v};
  return true;
}

// An event as read, copied out of the view, with its FlatBuffers bytes.
struct Copied {
  std::string stream;
  int64_t version = 0;
  int64_t position = 0;
  int64_t timestamp_ns = 0;
  std::string type;
  std::string data;
  std::string fb;
  bool operator==(const Copied&) const = default;
};

void PrintTo(const Copied& c, std::ostream* os) {
  *os << "{" << c.stream << " v" << c.version << " @" << c.position << " " << c.type << " \"" << c.data << "\" fb "
      << c.fb.size() << " bytes}";
}

Copied Copy(const est_event& e) {
  Copied c;
  char id[EST_ID_MAX_LEN];
  EXPECT_EQ(est_id_format(e.stream_type, &e.stream_uuid, id, sizeof id), EST_OK) << est_last_error();
  c.stream = id;
  c.version = e.stream_version;
  c.position = e.global_position;
  c.timestamp_ns = e.timestamp_ns;
  c.type = e.type;
  c.data.assign(reinterpret_cast<const char*>(e.data), e.data_len);
  c.fb.assign(reinterpret_cast<const char*>(e.fb), e.fb_len);
  return c;
}

// Drains an iterator (closing it); adds a failure on an error.
std::vector<Copied> DrainAll(est_iter* it) {
  std::vector<Copied> out;
  est_event e = EST_EVENT_INIT;
  est_status st;
  while ((st = est_iter_next(it, &e)) == EST_OK) out.push_back(Copy(e));
  EXPECT_EQ(st, EST_END) << est_status_name(st) << ": " << est_last_error();
  est_iter_close(it);
  return out;
}

std::vector<Copied> ReadAllFrom(est_store* store, int64_t after_position) {
  est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
  options.after_position = after_position;
  est_iter* it = nullptr;
  est_status st = est_read_all(store, &options, &it);
  EXPECT_EQ(st, EST_OK) << est_status_name(st) << ": " << est_last_error();
  if (st != EST_OK) return {};
  return DrainAll(it);
}

est_store* OpenReadOnly(const std::string& dir) {
  est_store* store = nullptr;
  est_status st = est_store_open(("file:" + dir + "?mode=ro").c_str(), nullptr, &store);
  EXPECT_EQ(st, EST_OK) << "read-only open of " << dir << ": " << est_status_name(st) << ": " << est_last_error();
  return st == EST_OK ? store : nullptr;
}

// --------------------------------------------------------- the follower

// A reader polling a store from its last position, checking every event
// against the rules a read-only reader is promised, and remembering what it
// saw by batch.
class Follower {
 public:
  Follower(est_store* store, int streams) : store_(store), streams_(streams) {}

  // One est_read_all after the last position seen. The frontier is fixed
  // when the call returns, so what it yields must end on a batch's end.
  void Poll() {
    ++polls_;
    est_read_all_options options = EST_READ_ALL_OPTIONS_INIT;
    options.after_position = last_position_;
    est_iter* it = nullptr;
    est_status st = est_read_all(store_, &options, &it);
    ASSERT_EQ(st, EST_OK) << est_status_name(st) << ": " << est_last_error();
    est_event e = EST_EVENT_INIT;
    while ((st = est_iter_next(it, &e)) == EST_OK) See(Copy(e));
    est_iter_close(it);
    ASSERT_EQ(st, EST_END) << est_status_name(st) << ": " << est_last_error();
    ASSERT_EQ(open_index_ + 1, open_size_) << "a poll ended inside batch " << open_batch_ << " (saw " << open_index_ + 1
                                           << " of its " << open_size_ << " events)";
  }

  bool Saw(int64_t batch) const { return batches_.count(batch) != 0; }
  const std::map<int64_t, Ack>& batches() const { return batches_; }
  const std::vector<Copied>& events() const { return events_; }
  int64_t polls() const { return polls_; }

 private:
  void See(const Copied& c) {
    SCOPED_TRACE(::testing::PrintToString(c));
    EXPECT_GT(c.position, last_position_) << "positions not ascending";
    last_position_ = c.position;
    EXPECT_EQ(c.type, "tick");
    Payload p;
    if (!ParsePayload(c.data, &p)) {
      ADD_FAILURE() << "bad payload";
      return;
    }
    EXPECT_TRUE(p.stream >= 0 && p.stream <= streams_);
    EXPECT_EQ(c.stream, FollowStreamId(p.stream, streams_)) << "an event in another stream than it names";
    EXPECT_EQ(c.version, p.version) << "an event at another version than it names";
    int64_t& tip = tips_[c.stream];
    EXPECT_EQ(c.version, tip + 1) << "versions of " << c.stream << " not gapless";
    tip = c.version;
    if (p.index == 0) {
      EXPECT_EQ(open_index_ + 1, open_size_) << "batch " << open_batch_ << " cut short";
      EXPECT_GT(p.batch, open_batch_) << "batches out of order";
      open_batch_ = p.batch;
      open_size_ = p.size;
      Ack& a = batches_[p.batch];
      a.batch = p.batch;
      a.stream = p.stream;
      a.size = p.size;
      a.first_version = a.last_version = c.version;
      a.first_position = a.last_position = c.position;
    } else {
      EXPECT_EQ(p.batch, open_batch_) << "an event of a batch whose start was not seen";
      EXPECT_EQ(p.index, open_index_ + 1);
      EXPECT_EQ(p.size, open_size_);
      Ack& a = batches_[open_batch_];
      a.last_version = c.version;
      a.last_position = c.position;
    }
    open_index_ = p.index;
    events_.push_back(c);
  }

  est_store* store_;
  int streams_;
  int64_t polls_ = 0;
  int64_t last_position_ = 0;
  int64_t open_batch_ = 0, open_index_ = -1, open_size_ = 0;
  std::map<std::string, int64_t> tips_;
  std::map<int64_t, Ack> batches_;  // as seen: versions and positions
  std::vector<Copied> events_;
};

// Checks a batch as seen against its acknowledgement.
void ExpectSeenAsAcked(const Ack& seen, const Ack& acked) {
  EXPECT_EQ(seen.stream, acked.stream) << "batch " << acked.batch;
  EXPECT_EQ(seen.size, acked.size) << "batch " << acked.batch;
  EXPECT_EQ(seen.first_version, acked.first_version) << "batch " << acked.batch;
  EXPECT_EQ(seen.last_version, acked.last_version) << "batch " << acked.batch;
  EXPECT_EQ(seen.first_position, acked.first_position) << "batch " << acked.batch;
  EXPECT_EQ(seen.last_position, acked.last_position) << "batch " << acked.batch;
}

struct FollowRun {
  std::vector<std::string> writer_args;  // after DIR
  int streams = 3;
  bool compacts = false;
};

// Runs follow_writer on a fresh store while a read-only handle here follows
// it; then checks everything against the acknowledgements.
void FollowWhileWriting(const FollowRun& run) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  std::vector<std::string> args = {ESTORIA_FOLLOW_WRITER, dir, "streams=" + std::to_string(run.streams)};
  args.insert(args.end(), run.writer_args.begin(), run.writer_args.end());
  ChildProcess child(args);
  ASSERT_TRUE(child.started()) << child.error();

  std::map<int64_t, Ack> acks;
  std::deque<std::pair<int64_t, Clock::time_point>> pending;  // acked batches not yet seen
  bool deleted = false;
  std::string compacted;
  std::string error;
  est_store* ro = nullptr;
  auto take_lines = [&] {
    for (const std::string& line : child.NewLines()) {
      Ack a;
      if (ParseAck(line, &a)) {
        acks[a.batch] = a;
        if (a.stream != run.streams) pending.emplace_back(a.batch, Clock::now());
      } else if (line == "deleted") {
        deleted = true;
      } else if (line.rfind("compacted ", 0) == 0) {
        compacted = line;
      } else if (line.rfind("error ", 0) == 0) {
        error = line;
      }
    }
  };

  // The reader opens once the writer has created the store.
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!child.eof() && child.output().find("ready ") == std::string::npos && Clock::now() < deadline) {
    child.Pump(20);
  }
  ASSERT_NE(child.output().find("ready "), std::string::npos) << "the writer never became ready:\n"
                                                              << child.output();
  ro = OpenReadOnly(dir);
  ASSERT_NE(ro, nullptr);
  Follower follower(ro, run.streams);

  deadline = Clock::now() + std::chrono::seconds(240);
  while (!child.eof() && Clock::now() < deadline) {
    child.Pump(0);
    take_lines();
    const Clock::time_point poll_began = Clock::now();
    follower.Poll();
    if (::testing::Test::HasFatalFailure()) break;
    while (!pending.empty() && follower.Saw(pending.front().first)) pending.pop_front();
    if (!pending.empty() && poll_began - pending.front().second > kVisibilityBound) {
      ADD_FAILURE() << "batch " << pending.front().first << " was acknowledged more than "
                    << kVisibilityBound.count() << " s before a poll and is still not visible";
      break;
    }
    child.Pump(2);
  }
  const int status = child.Finish(0);
  take_lines();
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer status " << status << ":\n"
                                                              << child.output();
  ASSERT_FALSE(::testing::Test::HasFailure());
  follower.Poll();  // the writer is gone: everything is published

  // Everything acknowledged is read, as acknowledged; nothing unacknowledged.
  ASSERT_FALSE(acks.empty());
  int64_t live_events = 0;
  for (const auto& [batch, acked] : acks) {
    auto seen = follower.batches().find(batch);
    if (acked.stream == run.streams) {
      if (seen != follower.batches().end()) ExpectSeenAsAcked(seen->second, acked);
      continue;  // the doomed stream's batches may have gone before the reader came to them
    }
    live_events += acked.size;
    ASSERT_NE(seen, follower.batches().end()) << "acknowledged batch " << batch << " never read";
    ExpectSeenAsAcked(seen->second, acked);
  }
  for (const auto& [batch, seen] : follower.batches()) {
    EXPECT_EQ(acks.count(batch), 1u) << "batch " << batch << " read but never acknowledged";
  }
  std::printf("reader_process_test: %zu batches acknowledged, %lld polls\n", acks.size(),
              static_cast<long long>(follower.polls()));
  EXPECT_GT(follower.polls(), 2) << "the reader never polled while the writer wrote: the test proved little";

  if (run.compacts) {
    EXPECT_TRUE(deleted) << child.output();
    std::istringstream in(compacted);
    std::string word;
    int64_t kept = -1, dropped = -1;
    in >> word >> kept >> dropped;
    EXPECT_GT(dropped, 0) << "compaction reclaimed nothing, so it was not put to the test: " << compacted;
  }

  // A fresh read from the start: the live events exactly as followed, the
  // doomed stream gone.
  std::vector<Copied> expected;
  for (const Copied& c : follower.events()) {
    if (c.stream != FollowStreamId(run.streams, run.streams) || !deleted) expected.push_back(c);
  }
  std::vector<Copied> again = ReadAllFrom(ro, 0);
  EXPECT_EQ(again.size(), expected.size());
  EXPECT_TRUE(again == expected) << "a read from the start differs from what was followed";
  int64_t live_read = 0;
  for (const Copied& c : again) live_read += c.stream != FollowStreamId(run.streams, run.streams);
  EXPECT_EQ(live_read, live_events);
  if (deleted) {
    est_iter* it = nullptr;
    EXPECT_EQ(est_read_stream(ro, FollowStreamId(run.streams, run.streams).c_str(), nullptr, &it), EST_ERR_NOT_FOUND);
    est_iter_close(it);
  }
  est_store_close(ro);
}

TEST(ReaderProcess, ReaderSeesOnlyWholeBatchesInOrderAndCatchesUpWithAWriterProcess) {
  FollowWhileWriting({{"batches=300", "pause_us=500"}, 3, false});
}

TEST(ReaderProcess, SegmentRollsAndCompactionInTheWriterKeepTheReaderConsistent) {
  FollowWhileWriting(
      {{"batches=300", "pause_us=500", "segment_bytes=32768", "doomed_every=4", "compact_at=150"}, 3, true});
}

TEST(ReaderProcess, SegmentRollsWithoutCompactionKeepTheReaderConsistent) {
  FollowWhileWriting({{"batches=200", "segment_bytes=16384"}, 5, false});
}

// Each batch a transaction over 2 to 5 streams: a reader in another process
// sees every transaction whole (all its appends, in one stretch of
// positions) or not at all, also across segment rolls.
TEST(ReaderProcess, ReaderSeesEachTransactionOfAWriterProcessWholeOrNotAtAll) {
  FollowWhileWriting({{"batches=300", "pause_us=500", "txn=5"}, 5, false});
}

TEST(ReaderProcess, TransactionsAcrossSegmentRollsReachTheReaderWhole) {
  FollowWhileWriting({{"batches=200", "segment_bytes=16384", "txn=4"}, 4, false});
}

// Waits until the child wrote a line equal to `want` (or starting with it
// when `prefix`), returning it; "" on EOF or after 60 s.
std::string WaitLine(ChildProcess& child, const std::string& want, bool prefix, std::vector<std::string>* seen) {
  return child.WaitForLine(want, prefix, std::chrono::seconds(60), seen);
}

TEST(ReaderProcess, IteratorOfAReaderReadsWhatItBeganWithAcrossCompactionInTheWriter) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  const int kStreams = 3;
  ChildProcess child({ESTORIA_FOLLOW_WRITER, dir, "streams=3", "batches=120", "segment_bytes=16384", "doomed_every=3",
               "hold=1", "seed=7"});
  ASSERT_TRUE(child.started()) << child.error();
  std::vector<std::string> lines;
  ASSERT_EQ(WaitLine(child, "done", false, &lines), "done") << child.output();
  int64_t acked_events = 0;
  for (const std::string& line : lines) {
    Ack a;
    if (ParseAck(line, &a)) acked_events += a.size;
  }
  const std::string doomed = FollowStreamId(kStreams, kStreams);

  est_store* ro = OpenReadOnly(dir);
  ASSERT_NE(ro, nullptr);
  const std::vector<Copied> before = ReadAllFrom(ro, 0);
  ASSERT_EQ(static_cast<int64_t>(before.size()), acked_events);
  std::vector<Copied> doomed_before;
  for (const Copied& c : before) {
    if (c.stream == doomed) doomed_before.push_back(c);
  }
  ASSERT_FALSE(doomed_before.empty());

  // Iterators begun before the deletion and the compaction: over everything,
  // and over the stream about to be deleted. Each holds a view.
  est_iter* all = nullptr;
  ASSERT_EQ(est_read_all(ro, nullptr, &all), EST_OK) << est_last_error();
  est_iter* gone = nullptr;
  ASSERT_EQ(est_read_stream(ro, doomed.c_str(), nullptr, &gone), EST_OK) << est_last_error();
  est_event all_view = EST_EVENT_INIT;
  est_event gone_view = EST_EVENT_INIT;
  ASSERT_EQ(est_iter_next(all, &all_view), EST_OK);
  ASSERT_EQ(est_iter_next(gone, &gone_view), EST_OK);
  EXPECT_EQ(Copy(all_view), before.front());
  EXPECT_EQ(Copy(gone_view), doomed_before.front());

  ASSERT_TRUE(child.Send("delete")) << "writing to the child: " << std::strerror(errno);
  ASSERT_EQ(WaitLine(child, "deleted", false, &lines), "deleted") << child.output();
  ASSERT_TRUE(child.Send("compact")) << "writing to the child: " << std::strerror(errno);
  const std::string compacted = WaitLine(child, "compacted ", true, &lines);
  ASSERT_FALSE(compacted.empty()) << child.output();
  long long kept = -1, dropped = -1;
  EXPECT_EQ(std::sscanf(compacted.c_str(), "compacted %lld %lld", &kept, &dropped), 2) << compacted;
  EXPECT_GT(kept, 0) << compacted;
  EXPECT_GT(dropped, 0) << "nothing reclaimed, so nothing was put to the test: " << compacted;

  // The views are still readable and unchanged; the iterators go on with
  // exactly the bytes they began with, the deleted stream's included.
  EXPECT_EQ(Copy(all_view), before.front());
  EXPECT_EQ(Copy(gone_view), doomed_before.front());
  std::vector<Copied> rest = DrainAll(all);
  rest.insert(rest.begin(), before.front());
  EXPECT_TRUE(rest == before) << "an iterator begun before compaction read something else after it";
  std::vector<Copied> gone_rest = DrainAll(gone);
  gone_rest.insert(gone_rest.begin(), doomed_before.front());
  EXPECT_TRUE(gone_rest == doomed_before) << "an iterator over a deleted stream lost events to compaction";

  // A new read sees the deletion and the same bytes for everything else.
  std::vector<Copied> live;
  for (const Copied& c : before) {
    if (c.stream != doomed) live.push_back(c);
  }
  std::vector<Copied> after = ReadAllFrom(ro, 0);
  EXPECT_EQ(after.size(), live.size());
  EXPECT_TRUE(after == live) << "compaction changed what a reader reads";
  est_iter* none = nullptr;
  EXPECT_EQ(est_read_stream(ro, doomed.c_str(), nullptr, &none), EST_ERR_NOT_FOUND);
  est_iter_close(none);

  // The writer goes on after compaction, and the reader catches up.
  ASSERT_TRUE(child.Send("append 5")) << "writing to the child: " << std::strerror(errno);
  ASSERT_EQ(WaitLine(child, "appended", false, &lines), "appended") << child.output();
  std::vector<Copied> more = ReadAllFrom(ro, live.back().position);
  int64_t more_acked = 0;
  for (const std::string& line : lines) {
    Ack a;
    if (ParseAck(line, &a) && a.batch > 120) more_acked += a.size;
  }
  EXPECT_EQ(static_cast<int64_t>(more.size()), more_acked);
  for (const Copied& c : more) EXPECT_GT(c.position, before.back().position);

  const int status = child.Finish(0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << child.output();
  est_store_close(ro);
}

// ------------------------------------------------- in this process only

class ReadOnlyHere : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.sync_mode = EST_SYNC_ALWAYS;
    ASSERT_EQ(est_store_open(("file:" + dir_).c_str(), &options, &writer_), EST_OK) << est_last_error();
  }
  void TearDown() override { est_store_close(writer_); }

  // Appends `n` events to `stream` through the writer.
  void Append(est_store* store, const std::string& stream, int n, est_status expected = EST_OK) {
    est_batch* batch = nullptr;
    ASSERT_EQ(est_batch_new(&batch), EST_OK);
    for (int i = 0; i < n; ++i) {
      std::string data = stream + " #" + std::to_string(i);
      ASSERT_EQ(est_batch_add(batch, "noted", data.data(), data.size(), nullptr), EST_OK);
    }
    est_iter* written = reinterpret_cast<est_iter*>(batch);  // poisoned: must be overwritten
    est_status st = est_append_batch(store, stream.c_str(), batch, nullptr, nullptr, &written);
    EXPECT_EQ(st, expected) << est_status_name(st) << ": " << est_last_error();
    if (st == EST_OK) {
      est_iter_close(written);
    } else {
      EXPECT_EQ(written, nullptr);
    }
    est_batch_free(batch);
  }

  TempDir tmp_;
  std::string dir_;
  est_store* writer_ = nullptr;
};

const char kStreamA[] = "account_00000000-0000-4000-8000-00000000000a";
const char kStreamB[] = "account_00000000-0000-4000-8000-00000000000b";

TEST_F(ReadOnlyHere, ReadOnlyOpenBesideAWriterInThisProcessCatchesUpAtEachCall) {
  Append(writer_, kStreamA, 3);
  est_store* ro = OpenReadOnly(dir_);
  ASSERT_NE(ro, nullptr);
  std::vector<Copied> first = ReadAllFrom(ro, 0);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first, ReadAllFrom(writer_, 0));

  Append(writer_, kStreamB, 4);
  Append(writer_, kStreamA, 2);
  std::vector<Copied> next = ReadAllFrom(ro, first.back().position);
  ASSERT_EQ(next.size(), 6u) << "the reader did not catch up with the writer";
  EXPECT_EQ(next, ReadAllFrom(writer_, first.back().position));
  est_iter* it = nullptr;
  ASSERT_EQ(est_read_stream(ro, kStreamA, nullptr, &it), EST_OK) << est_last_error();
  std::vector<Copied> a = DrainAll(it);
  ASSERT_EQ(a.size(), 5u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].version, static_cast<int64_t>(i) + 1);

  // The other way to ask for it: options.read_only.
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.read_only = 1;
  est_store* ro2 = nullptr;
  ASSERT_EQ(est_store_open(("file:" + dir_).c_str(), &options, &ro2), EST_OK) << est_last_error();
  EXPECT_EQ(ReadAllFrom(ro2, 0), ReadAllFrom(writer_, 0));
  est_store_close(ro2);
  est_store_close(ro);

  // The writer was not disturbed by the readers.
  Append(writer_, kStreamB, 1);
}

TEST_F(ReadOnlyHere, WritesThroughAReadOnlyHandleAreUnsupportedAndChangeNothing) {
  Append(writer_, kStreamA, 3);
  Append(writer_, kStreamB, 2);
  ASSERT_EQ(est_snapshot_write(writer_, kStreamA, 2, "snap", 4, "text/plain", nullptr), EST_OK) << est_last_error();
  est_store* ro = OpenReadOnly(dir_);
  ASSERT_NE(ro, nullptr);
  const std::vector<Copied> before = ReadAllFrom(ro, 0);
  ASSERT_EQ(before.size(), 5u);
  est_stats stats_before = EST_STATS_INIT;
  ASSERT_EQ(est_store_stats(ro, &stats_before), EST_OK) << est_last_error();
  EXPECT_EQ(stats_before.events, 5);
  EXPECT_EQ(stats_before.streams, 2);
  EXPECT_EQ(stats_before.snapshots, 1);

  auto expect_unsupported = [](est_status st, const char* what) {
    std::string message = est_last_error();
    EXPECT_EQ(st, EST_ERR_UNSUPPORTED) << what << ": " << est_status_name(st) << ": " << message;
    EXPECT_FALSE(message.empty()) << what << " refused without a message";
  };
  Append(ro, kStreamA, 1, EST_ERR_UNSUPPORTED);
  Append(ro, "account_00000000-0000-4000-8000-00000000000c", 1, EST_ERR_UNSUPPORTED);
  {
    est_batch* batch = nullptr;
    ASSERT_EQ(est_batch_new(&batch), EST_OK);
    ASSERT_EQ(est_batch_add(batch, "noted", "x", 1, nullptr), EST_OK);
    const uint8_t* bytes = nullptr;
    size_t len = 0;
    ASSERT_EQ(est_batch_bytes(batch, &bytes, &len), EST_OK);
    est_append_result result = EST_APPEND_RESULT_INIT;
    expect_unsupported(est_append(ro, kStreamA, bytes, len, nullptr, &result, nullptr), "est_append");
    est_batch_free(batch);
  }
  expect_unsupported(est_delete_stream(ro, kStreamA, 0), "est_delete_stream (whole)");
  expect_unsupported(est_delete_stream(ro, kStreamB, 1), "est_delete_stream (truncate)");
  expect_unsupported(est_snapshot_write(ro, kStreamA, 3, "s3", 2, nullptr, nullptr), "est_snapshot_write");
  expect_unsupported(est_snapshot_prune(ro, kStreamA, 1, 0), "est_snapshot_prune");
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  expect_unsupported(est_store_compact(ro, nullptr, nullptr, &report), "est_store_compact");

  // Nothing changed, seen from either handle, and the reader still works.
  EXPECT_EQ(ReadAllFrom(ro, 0), before);
  EXPECT_EQ(ReadAllFrom(writer_, 0), before);
  for (est_store* store : {ro, writer_}) {
    est_stats stats = EST_STATS_INIT;
    ASSERT_EQ(est_store_stats(store, &stats), EST_OK) << est_last_error();
    EXPECT_EQ(stats.events, stats_before.events);
    EXPECT_EQ(stats.streams, stats_before.streams);
    EXPECT_EQ(stats.snapshots, stats_before.snapshots);
    EXPECT_EQ(stats.first_position, stats_before.first_position);
    est_snapshot* snap = nullptr;
    ASSERT_EQ(est_snapshot_read(store, kStreamA, 0, &snap), EST_OK) << est_last_error();
    EXPECT_EQ(est_snapshot_version(snap), 2);
    est_snapshot_free(snap);
    est_iter* it = nullptr;
    EXPECT_EQ(est_read_stream(store, "account_00000000-0000-4000-8000-00000000000c", nullptr, &it),
              EST_ERR_NOT_FOUND);
    est_iter_close(it);
  }
  est_store_close(ro);
  // The writer carries on where it was.
  Append(writer_, kStreamA, 1);
  EXPECT_EQ(ReadAllFrom(writer_, 0).size(), 6u);
}

TEST(ReadOnlyOpen, OfADirectoryThatIsNotAStoreFailsCleanlyAndCreatesNothing) {
  TempDir tmp;
  auto expect_refused = [](const std::string& dir, const char* what) {
    int poison = 0;
    est_store* store = reinterpret_cast<est_store*>(&poison);  // must be overwritten
    est_status st = est_store_open(("file:" + dir + "?mode=ro").c_str(), nullptr, &store);
    std::string message = est_last_error();
    EXPECT_LT(st, 0) << what << ": " << est_status_name(st);
    EXPECT_EQ(store, nullptr) << what;
    EXPECT_FALSE(message.empty()) << what << " refused without a message";
    if (st == EST_OK) est_store_close(store);
  };
  const std::string missing = tmp.path() + "/missing";
  expect_refused(missing, "a missing directory");
  EXPECT_FALSE(std::filesystem::exists(missing)) << "a read-only open created the directory";

  const std::string empty = tmp.path() + "/empty";
  ASSERT_TRUE(std::filesystem::create_directory(empty));
  expect_refused(empty, "an empty directory");
  EXPECT_TRUE(std::filesystem::is_empty(empty)) << "a read-only open wrote into an empty directory";

  const std::string other = tmp.path() + "/other";
  ASSERT_TRUE(std::filesystem::create_directory(other));
  {
    FILE* f = std::fopen((other + "/notes.txt").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a store\n", f);
    std::fclose(f);
  }
  expect_refused(other, "a directory of something else");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(other)) ++entries;
  EXPECT_EQ(entries, 1u) << "a read-only open wrote into a foreign directory";

  const std::string file = other + "/notes.txt";
  expect_refused(file, "a regular file");
}

}  // namespace
