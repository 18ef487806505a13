// tests/acceptance/host_test.cc: the host fields of est_store_options and
// the hosts section of the header (doc/abi.md "Hosts"), through the C ABI.
//
// On every backend: EST_THREADS_NONE is accepted and est_store_maintain
// drains to nothing pending; an unknown threads value or a negative budget
// is EST_ERR_INVALID_ARGUMENT; est_store_cancel with nothing running is
// fine and cancels nothing later; the host's clock and randomness stamp
// events, snapshots and new IDs.
//
// On the file store (which has background work and files): the process's
// thread count stays put in EST_THREADS_NONE across open, appends,
// maintenance, compaction and close, and the default mode starts no
// checkpoint thread when checkpoints are off; a scripted session replayed
// with the same clock and randomness gives byte-identical files; a stepped
// compaction (est_store_compact_schedule + est_store_maintain) keeps
// everything live; cancelled compactions and verifies leave the store as it
// was; the per-store log handler gets the store's messages.
#define EST_EXPERIMENTAL 1
#include <dirent.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

// ------------------------------------------------------------ host callbacks

// A deterministic host: a clock that advances 1 ms at each read from a
// fixed start, and an xorshift stream of random bytes from a seed.
struct ScriptedHost {
  int64_t now_ns = 1'700'000'000'000'000'000;
  int64_t step_ns = 1'000'000;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  std::vector<int64_t> times;  // every time handed out
  size_t random_calls = 0;
};

int64_t ScriptedClock(void* user) {
  auto* host = static_cast<ScriptedHost*>(user);
  host->now_ns += host->step_ns;
  host->times.push_back(host->now_ns);
  return host->now_ns;
}

void ScriptedRandom(void* user, void* buf, size_t len) {
  auto* host = static_cast<ScriptedHost*>(user);
  ++host->random_calls;
  auto* out = static_cast<uint8_t*>(buf);
  for (size_t i = 0; i < len; ++i) {
    host->seed ^= host->seed << 13;
    host->seed ^= host->seed >> 7;
    host->seed ^= host->seed << 17;
    out[i] = static_cast<uint8_t>(host->seed);
  }
}

void ConstantRandom(void*, void* buf, size_t len) { std::memset(buf, 0xAB, len); }

est_store_options HostOptions(ScriptedHost* host, int32_t threads = EST_THREADS_NONE) {
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = threads;
  options.clock_ns = ScriptedClock;
  options.random_bytes = ScriptedRandom;
  options.host_user = host;
  return options;
}

// Calls est_store_maintain until nothing is pending; the number of calls.
int DrainMaintenance(est_store* store, int64_t budget_us = 1'000'000, int max_calls = 1000) {
  est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
  for (int calls = 1; calls <= max_calls; ++calls) {
    EXPECT_EST_OK(est_store_maintain(store, budget_us, &report));
    if (report.pending == 0 && report.compacting == 0) return calls;
  }
  ADD_FAILURE() << "maintenance still pending after " << max_calls << " calls";
  return max_calls;
}

// The v7 UUID's 48-bit unix milliseconds.
int64_t V7Millis(const est_uuid& uuid) {
  int64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | uuid.bytes[i];
  return ms;
}

// ------------------------------------------------------------ every backend

class HostTest : public Acceptance {};

TEST_P(HostTest, ThreadsNoneIsAcceptedAndMaintenanceDrainsToNothingPending) {
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = EST_THREADS_NONE;
  ReopenStore(&options);  // memory: a fresh one, which is fine here
  const std::string stream = NewStreamId();
  AppendN(store_, stream, 5);
  DrainMaintenance(store_);
  est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
  ASSERT_EST_OK(est_store_maintain(store_, 0, &report));
  EXPECT_EQ(report.pending, 0);
  EXPECT_EQ(report.compacting, 0);
  EXPECT_EST_OK(est_store_maintain(store_, 100, nullptr));
  EXPECT_EQ(ReadStream(store_, stream).events.size(), 5u);
}

TEST_P(HostTest, AnUnknownThreadsValueIsInvalidAndOpensNothing) {
  for (int32_t threads : {-1, 2, 1000}) {
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.threads = threads;
    est_store* other = reinterpret_cast<est_store*>(&options);  // must be reset to NULL
    EXPECT_INVALID(est_store_open(ExtraUri().c_str(), &options, &other));
    EXPECT_EQ(other, nullptr);
    EXPECT_NE(std::string(est_last_error()).find("threads"), std::string::npos) << est_last_error();
  }
}

TEST_P(HostTest, BadMaintainInputIsInvalidAndChangesNothing) {
  AppendN(store_, NewStreamId(), 3);
  const std::vector<Event> before = Everything();
  EXPECT_INVALID(est_store_maintain(store_, -1, nullptr));
  est_maintain_report small = EST_MAINTAIN_REPORT_INIT;
  small.struct_size = 2;
  EXPECT_INVALID(est_store_maintain(store_, 1000, &small));
  EXPECT_INVALID(est_store_maintain(nullptr, 1000, nullptr));
  EXPECT_INVALID(est_store_cancel(nullptr));
  EXPECT_INVALID(est_store_compact_schedule(nullptr));
  EXPECT_EQ(Everything(), before);
}

TEST_P(HostTest, CancelWithNothingRunningIsFineAndCancelsNothingLater) {
  AppendN(store_, NewStreamId(), 3);
  EXPECT_EST_OK(est_store_cancel(store_));
  EXPECT_EST_OK(est_store_cancel(store_));
  EXPECT_EST_OK(est_store_verify(store_, nullptr, nullptr, nullptr));
  const est_status compacted = est_store_compact(store_, nullptr, nullptr, nullptr);
  EXPECT_TRUE(compacted == EST_OK || compacted == EST_ERR_UNSUPPORTED) << est_status_name(compacted);
}

TEST_P(HostTest, TheHostsClockAndRandomnessStampEventsSnapshotsAndIds) {
  ScriptedHost host;
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.clock_ns = ScriptedClock;
  options.random_bytes = ConstantRandom;
  options.host_user = &host;
  const std::string uri = ExtraUri();
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(uri.c_str(), &options, &store));
  const std::string stream = NewStreamId();
  const std::vector<Event> written = AppendN(store, stream, 3);
  ASSERT_EQ(written.size(), 3u);
  const std::set<int64_t> handed_out(host.times.begin(), host.times.end());
  for (const Event& e : written) {
    EXPECT_EQ(handed_out.count(e.timestamp_ns), 1u) << e.timestamp_ns << " is not a time the host's clock gave";
    EXPECT_EQ(V7Millis(e.id), e.timestamp_ns / 1'000'000) << "the ID's time is the event's";
    EXPECT_EQ(e.id.bytes[6] >> 4, 7) << "a v7 UUID";
    for (int b = 9; b < 16; ++b) EXPECT_EQ(e.id.bytes[b], 0xAB) << "byte " << b << " comes from the host's randomness";
  }
  // A snapshot written without a time takes the clock's.
  ASSERT_EST_OK(est_snapshot_write(store, stream.c_str(), 1, "s", 1, nullptr, nullptr));
  const SnapshotRead snapshot = ReadSnapshot(store, stream, 0);
  ASSERT_EQ(snapshot.status, EST_OK);
  EXPECT_EQ(snapshot.timestamp_ns, host.times.back());
  est_store_close(store);
}

ESTORIA_ACCEPTANCE_SUITE(HostTest);

// ------------------------------------------------------------ the file store

// A fresh directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "estoria-host-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string Uri(const std::string& query = "") const { return "file:" + path_ + query; }

 private:
  std::string path_;
};

// The threads of this process (/proc/self/task).
int ThreadCount() {
  int n = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

std::vector<std::string> FileNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// FNV-1a, 64 bits, of a whole file: enough to tell two files apart here.
uint64_t HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::map<std::string, uint64_t> HashDir(const std::string& dir) {
  std::map<std::string, uint64_t> hashes;
  for (const std::string& name : FileNames(dir)) hashes[name] = HashFile(dir + "/" + name);
  return hashes;
}

std::string Hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Deletes every other stream of `streams` wholly and truncates the others
// halfway, so that the sealed segments hold much to reclaim.
void DeleteHalf(est_store* store, const std::vector<std::string>& streams, int64_t tip) {
  for (size_t i = 0; i < streams.size(); ++i) {
    ASSERT_EST_OK(est_delete_stream(store, streams[i].c_str(), i % 2 == 0 ? 0 : tip / 2));
  }
}

std::vector<std::string> Populate(est_store* store, int streams, int batches) {
  std::vector<std::string> ids;
  for (int s = 0; s < streams; ++s) ids.push_back(FormatId("account", NewUuidV7()));
  for (int b = 0; b < batches; ++b) {
    for (const std::string& id : ids) {
      const std::vector<uint8_t> bytes = SimpleBatch(2, std::string(200, static_cast<char>('a' + b % 26)));
      EXPECT_EQ(Append(store, id, bytes).status, EST_OK);
    }
  }
  return ids;
}

TEST(HostFileStore, ThreadsNoneStartsNoThreadAcrossOpenAppendsMaintenanceCompactionAndClose) {
  TempDir dir;
  const int at_start = ThreadCount();
  ASSERT_GT(at_start, 0);
  std::vector<std::pair<std::string, int>> seen;
  auto note = [&](const char* when) { seen.emplace_back(when, ThreadCount()); };
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = EST_THREADS_NONE;
  options.sync_mode = EST_SYNC_INTERVAL;  // the mode with the most background work
  options.sync_interval_ms = 1;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=16384&checkpoint_bytes=32768").c_str(), &options, &store));
  note("open");
  const std::vector<std::string> streams = Populate(store, 8, 20);
  note("appends");
  DrainMaintenance(store);
  note("maintenance");
  DeleteHalf(store, streams, 40);
  ASSERT_EST_OK(est_store_compact_schedule(store));
  const int steps = DrainMaintenance(store, 200);
  note("stepped compaction");
  Populate(store, 2, 5);
  DeleteHalf(store, {streams[1]}, 40);
  ASSERT_EST_OK(est_store_compact(store, nullptr, nullptr, nullptr));
  note("compaction");
  ASSERT_EST_OK(est_store_verify(store, nullptr, nullptr, nullptr));
  note("verify");
  est_store_close(store);
  note("close");
  std::ostringstream out;
  out << "threads at start " << at_start;
  for (const auto& [when, n] : seen) out << ", after " << when << " " << n;
  out << " (stepped compaction: " << steps << " maintain calls)";
  std::cout << "[ thread count ] " << out.str() << "\n";
  for (const auto& [when, n] : seen) EXPECT_EQ(n, at_start) << "after " << when << ": " << out.str();
}

// A reader opened without threads follows a writer through its own
// maintenance calls: no watch thread, the subscription's descriptor readable
// once est_store_maintain has seen the writer move, and polls that read what
// was published.
TEST(HostFileStore, AReadOnlyStoreWithoutThreadsFollowsTheWriterThroughMaintenance) {
  TempDir dir;
  est_store_options none = EST_STORE_OPTIONS_INIT;
  none.threads = EST_THREADS_NONE;
  est_store* writer = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?preallocate_bytes=0&checkpoint_bytes=0").c_str(), &none, &writer));
  const std::string stream = NewStreamId();
  ASSERT_EQ(Append(writer, stream, SimpleBatch(2, "before")).status, EST_OK);
  const int at_start = ThreadCount();
  est_store_options reader_options = none;
  reader_options.read_only = 1;
  est_store* reader = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri().c_str(), &reader_options, &reader));
  est_subscription* sub = nullptr;
  ASSERT_EST_OK(est_subscribe(reader, nullptr, &sub));
  int fd = -1;
  ASSERT_EST_OK(est_subscription_fd(sub, &fd));
  auto readable = [&] {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  };
  est_event events[8];
  events[0].struct_size = sizeof(est_event);
  size_t count = 0;
  ASSERT_EST_OK(est_subscription_poll(sub, events, 8, &count, 0));
  EXPECT_EQ(count, 2u);
  ASSERT_EST_OK(est_subscription_poll(sub, events, 8, &count, 0));
  EXPECT_EQ(count, 0u);

  ASSERT_EQ(Append(writer, stream, SimpleBatch(3, "after")).status, EST_OK);
  ASSERT_EST_OK(est_store_maintain(reader, 100, nullptr));
  EXPECT_TRUE(readable()) << "maintenance saw the writer's frontier move";
  ASSERT_EST_OK(est_subscription_poll(sub, events, 8, &count, 0));
  EXPECT_EQ(count, 3u);
  ASSERT_EST_OK(est_subscription_poll(sub, events, 8, &count, 0));
  EXPECT_EQ(count, 0u);
  ASSERT_EST_OK(est_store_maintain(reader, 100, nullptr));
  EXPECT_FALSE(readable()) << "nothing new: the descriptor stays quiet";

  // Without a maintenance call, a poll still reads what was published.
  ASSERT_EQ(Append(writer, stream, SimpleBatch(1, "polled")).status, EST_OK);
  ASSERT_EST_OK(est_subscription_poll(sub, events, 8, &count, 0));
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(ThreadCount(), at_start) << "no watch thread";
  est_subscription_close(sub);
  est_store_close(reader);
  est_store_close(writer);
}

TEST(HostFileStore, TheDefaultModeStartsNoCheckpointThreadWhenCheckpointsAreOff) {
  TempDir with, without;
  const int at_start = ThreadCount();
  est_store* store = nullptr;
  // preallocate_bytes=0 and EST_SYNC_ALWAYS: no preallocation, no interval flush.
  ASSERT_EST_OK(est_store_open(without.Uri("?preallocate_bytes=0&checkpoint_bytes=0").c_str(), nullptr, &store));
  EXPECT_EQ(ThreadCount(), at_start) << "no thread is needed";
  est_store_close(store);
  ASSERT_EST_OK(est_store_open(with.Uri("?preallocate_bytes=0").c_str(), nullptr, &store));
  EXPECT_EQ(ThreadCount(), at_start + 1) << "the checkpoint thread, for checkpoints as the log grows";
  est_store_close(store);
  EXPECT_EQ(ThreadCount(), at_start);
}

// One scripted session: appends, aggregate saves (with their snapshots),
// snapshots, deletions, a stepped and a whole compaction, and a reopen.
struct Ledger {
  int64_t balance = 0;
};
est_status LedgerNew(void*, const est_uuid*, void** state) {
  *state = new Ledger();
  return EST_OK;
}
est_status LedgerApply(void*, void* state, const est_event* event) {
  static_cast<Ledger*>(state)->balance += static_cast<int64_t>(event->data_len);
  return EST_OK;
}
void LedgerFree(void*, void* state) { delete static_cast<Ledger*>(state); }
est_status LedgerEncode(void*, const void* state, est_buffer* out) {
  return est_buffer_append(out, &static_cast<const Ledger*>(state)->balance, sizeof(int64_t));
}
est_status LedgerDecode(void*, const uint8_t* data, size_t len, void** state) {
  if (len != sizeof(int64_t)) return EST_ERR_CORRUPTION;
  auto* ledger = new Ledger();
  std::memcpy(&ledger->balance, data, sizeof(int64_t));
  *state = ledger;
  return EST_OK;
}

void ScriptedSession(const std::string& uri, ScriptedHost* host) {
  est_store_options options = HostOptions(host);
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(uri.c_str(), &options, &store));
  // Stream IDs from the store's own generator (through new aggregates), so
  // that nothing of the test's randomness enters the files.
  est_aggregate_type type = EST_AGGREGATE_TYPE_INIT;
  type.type_name = "ledger";
  type.new_state = LedgerNew;
  type.apply = LedgerApply;
  type.free_state = LedgerFree;
  type.encode = LedgerEncode;
  type.decode = LedgerDecode;
  est_aggregate_store_options aoptions = EST_AGGREGATE_STORE_OPTIONS_INIT;
  aoptions.snapshot_every = 3;
  est_aggregate_store* astore = nullptr;
  ASSERT_EST_OK(est_aggregate_store_new(store, &type, &aoptions, &astore));
  std::vector<std::string> ledgers;
  for (int a = 0; a < 6; ++a) {
    est_aggregate* agg = nullptr;
    ASSERT_EST_OK(est_aggregate_new(astore, nullptr, &agg));
    ledgers.push_back(est_aggregate_id(agg));
    for (int round = 0; round < 4; ++round) {
      for (int e = 0; e <= round; ++e) {
        const std::string data(10 + a + e, 'x');
        ASSERT_EST_OK(est_aggregate_append(agg, "deposited", data.data(), data.size(), nullptr));
      }
      ASSERT_EST_OK(est_aggregate_save(agg, nullptr));
    }
    est_aggregate_free(agg);
  }
  for (size_t i = 0; i < ledgers.size(); ++i) {
    ASSERT_EST_OK(est_snapshot_write(store, ledgers[i].c_str(), 2, "snap", 4, "text/plain", nullptr));
    for (int b = 0; b < 10; ++b) {
      ASSERT_EQ(Append(store, ledgers[i], SimpleBatch(3, std::string(300, 'p'))).status, EST_OK);
    }
    if (i % 3 == 0) DrainMaintenance(store);
  }
  ASSERT_EST_OK(est_delete_stream(store, ledgers[0].c_str(), 0));
  ASSERT_EST_OK(est_delete_stream(store, ledgers[1].c_str(), 12));
  ASSERT_EST_OK(est_store_compact_schedule(store));
  DrainMaintenance(store);
  ASSERT_EST_OK(est_delete_stream(store, ledgers[2].c_str(), 0));
  ASSERT_EST_OK(est_store_compact(store, nullptr, nullptr, nullptr));
  DrainMaintenance(store);
  est_aggregate_store_free(astore);
  est_store_close(store);
  // A reopen continues where the session left, with the same clock.
  ASSERT_EST_OK(est_store_open(uri.c_str(), &options, &store));
  ASSERT_EQ(Append(store, ledgers[3], SimpleBatch(2, "after reopen")).status, EST_OK);
  DrainMaintenance(store);
  est_store_close(store);
}

TEST(HostFileStore, AReplayedSessionGivesByteIdenticalFiles) {
  TempDir first, second, other_seed;
  const std::string settings = "?segment_bytes=16384&checkpoint_bytes=20000";
  ScriptedHost host1, host2, host3;
  host3.seed = 12345;
  ScriptedSession(first.Uri(settings), &host1);
  ScriptedSession(second.Uri(settings), &host2);
  ScriptedSession(other_seed.Uri(settings), &host3);
  const std::map<std::string, uint64_t> a = HashDir(first.path());
  const std::map<std::string, uint64_t> b = HashDir(second.path());
  std::cout << "[ replay ] " << a.size() << " files; the clock was read " << host1.times.size()
            << " times, the randomness " << host1.random_calls << " times\n";
  for (const auto& [name, hash] : a) {
    std::cout << "[ replay ] " << name << "  run 1 " << Hex(hash) << "  run 2 "
              << (b.count(name) ? Hex(b.at(name)) : std::string("(absent)")) << "\n";
  }
  EXPECT_EQ(a, b) << "two runs with the same callbacks and calls";
  EXPECT_EQ(host1.times, host2.times);
  // Not vacuous: other random bytes give other IDs, hence other segments.
  const std::map<std::string, uint64_t> c = HashDir(other_seed.path());
  int differing = 0;
  for (const auto& [name, hash] : a) differing += c.count(name) == 0 || c.at(name) != hash;
  EXPECT_GT(differing, 0);
  EXPECT_GT(a.size(), 4u);
}

// Everything a reader sees, and the files.
struct StoreImage {
  std::vector<Event> events;
  std::vector<std::string> files;
  bool operator==(const StoreImage&) const = default;
};
StoreImage ImageOf(est_store* store, const std::string& dir) { return {ReadAll(store).events, FileNames(dir)}; }

struct CancelIn {
  est_store* store = nullptr;
  int calls = 0;
  int cancel_at = 1;  // the progress call that cancels
};
void CancelFromProgress(void* user, uint64_t, uint64_t) {
  auto* c = static_cast<CancelIn*>(user);
  if (++c->calls == c->cancel_at) {
    EXPECT_EST_OK(est_store_cancel(c->store));
  }
}

TEST(HostFileStore, ACompactionCancelledFromItsProgressLeavesTheStoreAsItWas) {
  TempDir dir;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=8192").c_str(), nullptr, &store));
  const std::vector<std::string> streams = Populate(store, 6, 20);
  DeleteHalf(store, streams, 40);
  ASSERT_EST_OK(est_store_sync(store));
  const StoreImage before = ImageOf(store, dir.path());
  for (int cancel_at : {1, 3}) {
    CancelIn cancel{store, 0, cancel_at};
    EXPECT_EST(EST_ERR_CANCELLED, est_store_compact(store, CancelFromProgress, &cancel, nullptr));
    EXPECT_NE(std::string(est_last_error()).find("cancelled"), std::string::npos) << est_last_error();
    const StoreImage after = ImageOf(store, dir.path());
    EXPECT_EQ(after.events, before.events);
    // The writer's segment was sealed (a new, empty one follows); no
    // compacted file stays behind.
    for (const std::string& name : after.files) EXPECT_NE(name.rfind("c-", 0), 0u) << name;
  }
  EXPECT_EST_OK(est_store_verify(store, nullptr, nullptr, nullptr));
  // A later compaction is not cancelled, and reclaims.
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store, nullptr, nullptr, &report));
  EXPECT_GT(report.events_dropped, 0);
  EXPECT_EQ(ReadAll(store).events, before.events);
  est_store_close(store);
}

TEST(HostFileStore, AVerifyCancelledFromItsProgressReturnsCancelled) {
  TempDir dir;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=8192").c_str(), nullptr, &store));
  Populate(store, 4, 20);
  CancelIn cancel{store, 0, 1};
  est_verify_report report = EST_VERIFY_REPORT_INIT;
  EXPECT_EST(EST_ERR_CANCELLED, est_store_verify(store, CancelFromProgress, &cancel, &report));
  EXPECT_EQ(cancel.calls, 1) << "stopped at the first segment's end";
  EXPECT_EST_OK(est_store_verify(store, nullptr, nullptr, &report));
  EXPECT_GT(report.segments, 1);
  est_store_close(store);
}

TEST(HostFileStore, AScheduledCompactionRunsInBoundedStepsBesideAppends) {
  TempDir dir;
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = EST_THREADS_NONE;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=16384").c_str(), &options, &store));
  const std::vector<std::string> streams = Populate(store, 10, 30);
  DeleteHalf(store, streams, 60);
  est_stats before = EST_STATS_INIT;
  ASSERT_EST_OK(est_store_stats(store, &before));
  const std::vector<Event> live = ReadAll(store).events;
  ASSERT_EST_OK(est_store_compact_schedule(store));
  ASSERT_EST_OK(est_store_compact_schedule(store));  // once is enough
  est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
  int steps = 0;
  const std::string writer = NewStreamId();
  do {
    ASSERT_EST_OK(est_store_maintain(store, 200, &report));
    ++steps;
    ASSERT_EQ(Append(store, writer, SimpleBatch(1, "beside")).status, EST_OK);  // appends go on
    ASSERT_LT(steps, 10000);
  } while (report.compacting == 1);
  EXPECT_GT(steps, 3) << "a 200 us budget takes several steps";
  est_stats after = EST_STATS_INIT;
  ASSERT_EST_OK(est_store_stats(store, &after));
  EXPECT_LT(after.bytes, before.bytes);
  std::vector<Event> expected = live;
  const std::vector<Event> appended = ReadStream(store, writer).events;
  expected.insert(expected.end(), appended.begin(), appended.end());
  EXPECT_EQ(ReadAll(store).events, expected);
  bool compacted_files = false;
  for (const std::string& name : FileNames(dir.path())) compacted_files |= name.rfind("c-", 0) == 0;
  EXPECT_TRUE(compacted_files);
  est_store_close(store);
  // And the result reopens as it reads.
  ASSERT_EST_OK(est_store_open(dir.Uri().c_str(), nullptr, &store));
  EXPECT_EQ(ReadAll(store).events, expected);
  EXPECT_EST_OK(est_store_verify(store, nullptr, nullptr, nullptr));
  est_store_close(store);
}

// The index phases of a stepped compaction work from snapshots of the
// index's arrays; deletions and truncations between its steps change them,
// and what the compaction publishes must still be what is live.
TEST(HostFileStore, DeletionsBesideASteppedCompactionStayDeleted) {
  TempDir dir;
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = EST_THREADS_NONE;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=16384").c_str(), &options, &store));
  const std::vector<std::string> streams = Populate(store, 20, 20);  // 800 events, versions 1..40
  DeleteHalf(store, streams, 40);
  std::vector<Event> model = ReadAll(store).events;
  std::vector<std::pair<std::string, est_uuid>> targets;  // the truncated streams: versions 21..40 live
  for (size_t i = 1; i < streams.size(); i += 2) {
    targets.emplace_back(streams[i], ReadStream(store, streams[i]).events.at(0).stream_uuid);
  }
  auto remove = [&](const est_uuid& uuid, int64_t to_version) {
    std::erase_if(model, [&](const Event& e) {
      return std::memcmp(&e.stream_uuid, &uuid, sizeof uuid) == 0 && (to_version == 0 || e.stream_version <= to_version);
    });
  };
  const std::string writer = NewStreamId();
  auto expected = [&] {
    std::vector<Event> all = model;
    const std::vector<Event> appended = ReadStream(store, writer).events;
    all.insert(all.end(), appended.begin(), appended.end());
    return all;
  };
  ASSERT_EST_OK(est_store_compact_schedule(store));
  est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
  int steps = 0;
  size_t next = 0;
  do {
    // A budget of 1 us: one piece of a phase per step.
    ASSERT_EST_OK(est_store_maintain(store, 1, &report));
    ++steps;
    ASSERT_EQ(Append(store, writer, SimpleBatch(1, "beside")).status, EST_OK);
    // One more event of one stream goes at every third step, in turn,
    // until every truncated stream is empty (past the compaction's end).
    if (steps % 3 == 0 && next < targets.size() * 20) {
      const auto& [stream, uuid] = targets[next % targets.size()];
      const int64_t to_version = 21 + static_cast<int64_t>(next / targets.size());
      ASSERT_EST_OK(est_delete_stream(store, stream.c_str(), to_version));
      remove(uuid, to_version);
      ++next;
    }
    if (steps % 5 == 0) {
      ASSERT_EQ(ReadAll(store).events, expected()) << "after step " << steps;
    }
    ASSERT_LT(steps, 20000);
  } while (report.compacting == 1);
  std::cerr << steps << " steps, " << next << " truncations beside them\n";
  EXPECT_EQ(ReadAll(store).events, expected());
  for (const auto& [stream, uuid] : targets) {
    std::vector<Event> in_model;
    for (const Event& e : model) {
      if (std::memcmp(&e.stream_uuid, &uuid, sizeof uuid) == 0) in_model.push_back(e);
    }
    EXPECT_EQ(ReadStream(store, stream).events, in_model);
  }
  const std::vector<Event> live = expected();
  est_store_close(store);
  ASSERT_EST_OK(est_store_open(dir.Uri().c_str(), nullptr, &store));
  EXPECT_EQ(ReadAll(store).events, live);
  EXPECT_EST_OK(est_store_verify(store, nullptr, nullptr, nullptr));
  est_store_close(store);
}

TEST(HostFileStore, ACancelledScheduledCompactionIsAbandonedAtTheNextStep) {
  TempDir dir;
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.threads = EST_THREADS_NONE;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=16384").c_str(), &options, &store));
  DeleteHalf(store, Populate(store, 10, 30), 60);
  const std::vector<Event> live = ReadAll(store).events;
  ASSERT_EST_OK(est_store_compact_schedule(store));
  est_maintain_report report = EST_MAINTAIN_REPORT_INIT;
  ASSERT_EST_OK(est_store_maintain(store, 100, &report));
  ASSERT_EST_OK(est_store_maintain(store, 100, &report));
  ASSERT_EQ(report.compacting, 1) << "still copying";
  ASSERT_EST_OK(est_store_cancel(store));
  EXPECT_EST(EST_ERR_CANCELLED, est_store_maintain(store, 100, &report));
  ASSERT_EST_OK(est_store_maintain(store, 100, &report));
  EXPECT_EQ(report.compacting, 0);
  EXPECT_EQ(ReadAll(store).events, live);
  for (const std::string& name : FileNames(dir.path())) EXPECT_NE(name.rfind("c-", 0), 0u) << name;
  EXPECT_EST_OK(est_store_verify(store, nullptr, nullptr, nullptr));
  est_store_close(store);
}

struct Heard {
  std::vector<std::string> messages;
};
void Hear(void* user, int32_t, const char* message) { static_cast<Heard*>(user)->messages.push_back(message); }

TEST(HostFileStore, AStoresLogHandlerHearsItsMessagesInsteadOfTheProcessWideOne) {
  TempDir dir;
  Heard store_heard, process_heard;
  est_set_log_handler(Hear, &process_heard);
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.log = Hear;
  options.log_user = &store_heard;
  est_store* store = nullptr;
  ASSERT_EST_OK(est_store_open(dir.Uri("?segment_bytes=8192").c_str(), &options, &store));
  DeleteHalf(store, Populate(store, 4, 20), 40);
  ASSERT_EST_OK(est_store_compact(store, nullptr, nullptr, nullptr));  // logs what it reclaimed
  est_store_close(store);
  est_set_log_handler(nullptr, nullptr);
  ASSERT_FALSE(store_heard.messages.empty());
  EXPECT_NE(store_heard.messages.front().find("compacted"), std::string::npos) << store_heard.messages.front();
  EXPECT_TRUE(process_heard.messages.empty()) << process_heard.messages.front();
}

}  // namespace
}  // namespace estoria::acceptance
