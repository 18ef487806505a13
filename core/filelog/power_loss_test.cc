// Durability tests of the file store on simulated disks: power loss (a
// FaultEnv over a MemEnv dropping every byte not yet synced) at many points of
// a concurrent workload, injected write and sync failures, torn tails at
// every offset of the last segment, bit flips in older records, a second
// writer in the same process, and recovery idempotence. The store is a black
// box here: only OpenFileStore and the EventStore interface are used, and
// segments are found as the "*.log" files of the directory (sorted by name).
//
// Tests in other processes (SIGKILL, BUSY across processes) are in
// tests/crash.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/env/env.h"
#include "core/env/fault_env.h"
#include "core/env/mem_env.h"
#include "core/filelog/file_store.h"
#include "core/filelog/log_format.h"  // kSegmentHeaderSize only
#include "core/id/id.h"
#include "core/id/uuid.h"
#include "core/store/event_store.h"
#include "core/store/writable_batch.h"
#include "core/util/log.h"
#include "core/util/mutex.h"
#include "core/util/status.h"
#include "gtest/gtest.h"
#include "schema/estoria_generated.h"

namespace estoria::core {
namespace {

constexpr char kDir[] = "/store";

// ------------------------------------------------------------------ helpers

Id StreamAt(int owner, int index) {
  Id id;
  id.type = "pl";
  id.uuid = Uuid::FromHiLo(0x0000000000004000ull | (static_cast<uint64_t>(owner + 1) << 32),
                           0x8000000000000000ull | static_cast<uint64_t>(index + 1));
  return id;
}

// One event as read back, copied out of its view.
struct Ev {
  Id stream;
  int64_t version = 0;
  int64_t position = 0;
  std::string data;
  bool operator==(const Ev&) const = default;
};

Ev Copy(const EventView& view) {
  Ev ev;
  ev.stream.type = std::string(view.stream_type());
  ev.stream.uuid = view.stream_uuid();
  ev.version = view.version();
  ev.position = view.position();
  ev.data.assign(view.data().begin(), view.data().end());
  return ev;
}

std::ostream& operator<<(std::ostream& os, const Ev& ev) {
  return os << ev.stream.ToString() << " v" << ev.version << " @" << ev.position << " \"" << ev.data << "\"";
}

absl::StatusOr<std::vector<Ev>> Drain(absl::StatusOr<std::unique_ptr<EventIterator>> it) {
  if (!it.ok()) return it.status();
  std::vector<Ev> out;
  EventView views[16];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, (*it)->Next(absl::MakeSpan(views)));
    if (n == 0) return out;
    for (size_t i = 0; i < n; ++i) out.push_back(Copy(views[i]));
  }
}

absl::StatusOr<std::vector<Ev>> ReadAllEvents(EventStore& store) { return Drain(store.ReadAll({})); }
absl::StatusOr<std::vector<Ev>> ReadStreamEvents(EventStore& store, const Id& id) {
  return Drain(store.ReadStream(id, {}));
}

WritableBatch MakeBatch(const std::vector<std::string>& datas) {
  BatchBuilder builder;
  for (const std::string& d : datas) EXPECT_TRUE(builder.Add("e", AsBytes(d), "").ok());
  absl::StatusOr<WritableBatch> batch = builder.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return *std::move(batch);
}

FileStoreOptions SmallSegments() {
  FileStoreOptions options;
  options.segment_bytes = 16 << 10;  // several segments, and roll-overs under the workload
  options.preallocate_bytes = 8 << 10;
  return options;
}

std::vector<std::string> Segments(Env& env, std::string_view dir) {
  std::vector<std::string> out;
  absl::StatusOr<std::vector<std::string>> names = env.ListDir(dir);
  EXPECT_TRUE(names.ok()) << names.status();
  if (!names.ok()) return out;
  for (const std::string& n : *names) {
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".log") == 0) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status WriteWhole(Env& env, const std::string& path, std::string_view contents) {
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env.NewWritableFile(path));
  RETURN_IF_ERROR(f->Append(AsBytes(contents)));
  RETURN_IF_ERROR(f->Sync());
  return f->Close();
}

// Collects what the process-wide log handler hears while alive.
class LogCapture {
 public:
  LogCapture() { SetLogHandler(&LogCapture::Handle, this); }
  ~LogCapture() { SetLogHandler(nullptr, nullptr); }

  std::vector<std::pair<int, std::string>> messages() const {
    MutexLock lock(&mu_);
    return messages_;
  }
  void Clear() {
    MutexLock lock(&mu_);
    messages_.clear();
  }

 private:
  static void Handle(void* user, int level, const char* message) {
    auto* self = static_cast<LogCapture*>(user);
    MutexLock lock(&self->mu_);
    self->messages_.emplace_back(level, message);
  }
  mutable Mutex mu_;
  std::vector<std::pair<int, std::string>> messages_ ABSL_GUARDED_BY(mu_);
};

// --------------------------------------------------- the workload's model

// What one stream must hold, as far as acknowledged operations say.
struct StreamModel {
  bool exists = false;
  int64_t generation = 0;                // bumped by a whole deletion
  int64_t tip = 0;
  std::map<int64_t, std::string> data;   // live version -> payload
  std::map<int64_t, int64_t> positions;  // live version -> acknowledged position (0: not known)
  // Snapshots held, in write order: (version, data).
  std::vector<std::pair<int64_t, std::string>> snapshots;

  int64_t low() const { return data.empty() ? tip + 1 : data.begin()->first; }
};

enum class OpKind { kAppend, kTruncate, kDelete, kSnapshot };

struct Op {
  OpKind kind = OpKind::kAppend;
  int stream = 0;
  std::vector<std::string> datas;  // kAppend
  int64_t version = 0;             // kTruncate: to_version; kSnapshot: version
  std::string snapshot_data;       // kSnapshot
};

// Applies an operation that succeeded (first_position: of an append, 0 when
// unknown).
void Apply(StreamModel& m, const Op& op, int64_t first_position) {
  switch (op.kind) {
    case OpKind::kAppend:
      m.exists = true;
      for (size_t i = 0; i < op.datas.size(); ++i) {
        int64_t v = m.tip + 1 + static_cast<int64_t>(i);
        m.data[v] = op.datas[i];
        m.positions[v] = first_position == 0 ? 0 : first_position + static_cast<int64_t>(i);
      }
      m.tip += static_cast<int64_t>(op.datas.size());
      break;
    case OpKind::kTruncate:
      m.data.erase(m.data.begin(), m.data.upper_bound(op.version));
      m.positions.erase(m.positions.begin(), m.positions.upper_bound(op.version));
      std::erase_if(m.snapshots, [&](const auto& s) { return s.first < op.version; });
      break;
    case OpKind::kDelete:
      m.exists = false;
      m.tip = 0;
      ++m.generation;
      m.data.clear();
      m.positions.clear();
      m.snapshots.clear();
      break;
    case OpKind::kSnapshot:
      m.snapshots.emplace_back(op.version, op.snapshot_data);
      break;
  }
}

// The newest snapshot the model holds: highest version, then latest written.
std::optional<std::pair<int64_t, std::string>> Newest(const StreamModel& m) {
  std::optional<std::pair<int64_t, std::string>> best;
  for (const auto& s : m.snapshots) {
    if (!best || s.first >= best->first) best = s;
  }
  return best;
}

// What one stream holds in the store.
struct StreamActual {
  bool exists = false;
  std::vector<Ev> events;
  std::optional<std::pair<int64_t, std::string>> newest_snapshot;
};

StreamActual ReadActual(EventStore& store, const Id& id) {
  StreamActual a;
  absl::StatusOr<std::vector<Ev>> events = ReadStreamEvents(store, id);
  if (events.ok()) {
    a.exists = true;
    a.events = *std::move(events);
  } else {
    EXPECT_TRUE(absl::IsNotFound(events.status())) << id.ToString() << ": " << events.status();
  }
  absl::StatusOr<std::shared_ptr<const Snapshot>> snap = store.ReadSnapshot(id, 0);
  if (snap.ok()) {
    a.newest_snapshot.emplace((*snap)->version, (*snap)->data);
  } else {
    EXPECT_TRUE(absl::IsNotFound(snap.status())) << id.ToString() << ": " << snap.status();
  }
  return a;
}

// "" when `a` is what `m` says (positions the model does not know are only
// required to be above `floor`); else what differs.
std::string Differs(const StreamActual& a, const StreamModel& m, int64_t floor) {
  if (a.exists != m.exists) return absl::StrCat("exists ", a.exists, " but the model says ", m.exists);
  if (a.newest_snapshot != Newest(m)) {
    auto text = [](const auto& s) { return s ? absl::StrCat("v", s->first, " \"", s->second, "\"") : "none"; };
    return absl::StrCat("newest snapshot ", text(a.newest_snapshot), " but the model says ", text(Newest(m)));
  }
  if (a.events.size() != m.data.size()) {
    return absl::StrCat(a.events.size(), " events but the model has ", m.data.size());
  }
  auto d = m.data.begin();
  for (const Ev& ev : a.events) {
    if (ev.version != d->first || ev.data != d->second) {
      return absl::StrCat("v", ev.version, " \"", ev.data, "\" but the model has v", d->first, " \"", d->second,
                          "\"");
    }
    int64_t known = m.positions.at(d->first);
    if (known != 0 && ev.position != known) {
      return absl::StrCat("v", ev.version, " at position ", ev.position, ", acknowledged at ", known);
    }
    if (known == 0 && ev.position <= floor) {
      return absl::StrCat("v", ev.version, " at position ", ev.position, ", not above earlier sessions' ", floor);
    }
    ++d;
  }
  return "";
}

// Threads that each own a few streams and run appends, truncations, whole
// deletions and snapshots against them until an operation fails (then the
// thread stops, remembering that last operation as uncertain: it may or may
// not have become durable) or `stop` is set.
class Workload {
 public:
  static constexpr int kThreads = 4;
  static constexpr int kStreamsPerThread = 3;

  explicit Workload(uint64_t seed) : seed_(seed) {
    for (auto& t : threads_) t.models.resize(kStreamsPerThread);
  }

  // Runs one session on `store` (at most `max_ops` per thread); returns when
  // every thread has stopped. `during` (may be empty) runs on the calling
  // thread meanwhile (e.g. to pull the plug), then the threads are stopped.
  void Run(EventStore& store, int max_ops, const std::function<void(Workload&)>& during) {
    stop_ = false;
    failed_threads_ = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads_[t].uncertain.reset();
      threads.emplace_back([this, &store, t, max_ops] { RunThread(store, t, max_ops); });
    }
    if (during) {
      during(*this);
      stop_ = true;
    }
    for (std::thread& th : threads) th.join();
    total_failed_ += failed_threads_.load();
  }

  int64_t acked() const { return acked_.load(); }
  // Threads stopped by a failure in the current (or last) run, and in all runs.
  int64_t failed_threads() const { return failed_threads_.load(); }
  int64_t total_failed() const { return total_failed_; }
  std::string Summary() const {
    return absl::StrCat(acked_.load(), " operations acknowledged; ", uncertain_seen_,
                        " failed ones checked after reopen, of which ", uncertain_kept_,
                        " had reached the disk whole; highest position ", floor_);
  }

  // After a reopen: checks every stream against the model (the acknowledged
  // state, or that plus the thread's uncertain operation, whole), adopts
  // what was found, checks the global order, and raises the position floor.
  void CheckAndAdopt(EventStore& store) {
    int64_t max_position = floor_;
    size_t live = 0;
    std::map<std::pair<std::string, int64_t>, int64_t> position_of;  // (stream, version) -> position
    for (int t = 0; t < kThreads; ++t) {
      ThreadState& ts = threads_[t];
      for (int s = 0; s < kStreamsPerThread; ++s) {
        Id id = StreamAt(t, s);
        SCOPED_TRACE(absl::StrCat("thread ", t, " stream ", id.ToString()));
        StreamActual actual = ReadActual(store, id);
        std::string without = Differs(actual, ts.models[s], floor_);
        if (!without.empty()) {
          bool adopted = false;
          if (ts.uncertain && ts.uncertain->stream == s) {
            StreamModel with = ts.models[s];
            Apply(with, *ts.uncertain, 0);
            std::string with_diff = Differs(actual, with, floor_);
            if (with_diff.empty()) {
              ts.models[s] = with;
              adopted = true;
              ++uncertain_kept_;
            } else {
              ADD_FAILURE() << "without the uncertain operation: " << without
                            << "; with it: " << with_diff;
            }
          } else {
            ADD_FAILURE() << "acknowledged state lost or changed: " << without;
          }
          if (!adopted) ts.models[s] = ModelOf(actual, ts.models[s]);
        }
        // From now on every position is known.
        for (const Ev& ev : actual.events) {
          ts.models[s].positions[ev.version] = ev.position;
          max_position = std::max(max_position, ev.position);
          position_of[{id.ToString(), ev.version}] = ev.position;
        }
        live += actual.events.size();
      }
      if (ts.uncertain) ++uncertain_seen_;
      ts.uncertain.reset();
    }
    absl::StatusOr<std::vector<Ev>> all = ReadAllEvents(store);
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(all->size(), live) << "global read and stream reads disagree";
    int64_t last = 0;
    for (const Ev& ev : *all) {
      EXPECT_GT(ev.position, last) << "global read not strictly ascending at " << ev;
      last = ev.position;
      auto it = position_of.find({ev.stream.ToString(), ev.version});
      if (it == position_of.end()) {
        ADD_FAILURE() << ev << " is in the global read only";
      } else {
        EXPECT_EQ(it->second, ev.position) << ev;
      }
    }
    floor_ = std::max({floor_, max_position, max_acked_.load()});
  }

  // Every position handed out so far (read back or acknowledged) is at or
  // below this; a new session must hand out only positions above it.
  int64_t floor() const { return floor_; }

 private:
  struct ThreadState {
    std::vector<StreamModel> models;
    std::optional<Op> uncertain;
    uint64_t ops = 0;
  };

  // A model rebuilt from what the store holds, after a failure was reported,
  // so that later rounds check against the store's actual state.
  static StreamModel ModelOf(const StreamActual& a, const StreamModel& old) {
    StreamModel m = old;
    m.exists = a.exists;
    m.data.clear();
    m.positions.clear();
    for (const Ev& ev : a.events) {
      m.data[ev.version] = ev.data;
      m.positions[ev.version] = ev.position;
    }
    if (!a.events.empty()) m.tip = std::max(m.tip, a.events.back().version);
    if (!a.exists) m.tip = 0;
    m.snapshots.clear();
    if (a.newest_snapshot) m.snapshots.push_back(*a.newest_snapshot);
    return m;
  }

  void RunThread(EventStore& store, int t, int max_ops) {
    ThreadState& ts = threads_[t];
    std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(t) * 7919 + ts.ops);
    for (int i = 0; i < max_ops && !stop_; ++i) {
      int s = static_cast<int>(rng() % kStreamsPerThread);
      StreamModel& m = ts.models[s];
      Id id = StreamAt(t, s);
      Op op;
      op.stream = s;
      uint64_t dice = rng() % 100;
      if (dice < 70 || !m.exists) {
        op.kind = OpKind::kAppend;
        int n = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < n; ++k) {
          op.datas.push_back(absl::StrCat("t", t, " s", s, " g", m.generation, " v", m.tip + 1 + k, " op", ts.ops,
                                          " ", k, "/", n, std::string(rng() % 200, 'x')));
        }
      } else if (dice < 82) {
        op.kind = OpKind::kSnapshot;
        op.version = std::max<int64_t>(m.tip, 1);
        op.snapshot_data = absl::StrCat("snap t", t, " s", s, " op", ts.ops);
      } else if (dice < 95) {
        if (m.data.empty()) continue;  // nothing to truncate: a no-op writes nothing
        op.kind = OpKind::kTruncate;
        op.version = m.low() + static_cast<int64_t>(rng() % static_cast<uint64_t>(m.tip - m.low() + 1));
      } else {
        op.kind = OpKind::kDelete;
      }
      ++ts.ops;

      absl::Status status;
      int64_t first_position = 0;
      switch (op.kind) {
        case OpKind::kAppend: {
          AppendOptions options;
          options.expect = Expect::kVersion;
          options.expected_version = m.tip;
          absl::StatusOr<AppendResult> r = store.Append(id, MakeBatch(op.datas), options, nullptr);
          status = r.status();
          if (r.ok()) {
            first_position = r->first_position;
            EXPECT_EQ(r->first_version, m.tip + 1);
            EXPECT_EQ(r->last_version, m.tip + static_cast<int64_t>(op.datas.size()));
            EXPECT_EQ(r->last_position - r->first_position + 1, static_cast<int64_t>(op.datas.size()))
                << "positions of one batch are not consecutive";
            EXPECT_GT(r->first_position, floor_) << "a position handed out in an earlier session is reused";
            for (int64_t seen = max_acked_.load();
                 seen < r->last_position && !max_acked_.compare_exchange_weak(seen, r->last_position);) {
            }
          }
          break;
        }
        case OpKind::kTruncate:
          status = store.DeleteStream(id, op.version);
          break;
        case OpKind::kDelete:
          status = store.DeleteStream(id, 0);
          break;
        case OpKind::kSnapshot:
          status = store.WriteSnapshot(id, op.version, AsBytes(op.snapshot_data), "", 0);
          break;
      }
      if (status.ok()) {
        Apply(m, op, first_position);
        ++acked_;
        continue;
      }
      EXPECT_FALSE(absl::IsAborted(status) || absl::IsInvalidArgument(status) || absl::IsNotFound(status))
          << "the store disagrees with the model: " << status;
      ts.uncertain = op;
      ++failed_threads_;
      return;
    }
  }

  const uint64_t seed_;
  ThreadState threads_[kThreads];
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acked_{0};
  std::atomic<int64_t> failed_threads_{0};
  int64_t total_failed_ = 0;
  int64_t uncertain_seen_ = 0, uncertain_kept_ = 0;
  std::atomic<int64_t> max_acked_{0};  // the highest position acknowledged
  int64_t floor_ = 0;
};

uint64_t Seed() {
  const char* v = std::getenv("ESTORIA_POWER_LOSS_SEED");
  uint64_t seed = v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : std::random_device{}();
  std::printf("power loss seed %llu (ESTORIA_POWER_LOSS_SEED)\n", static_cast<unsigned long long>(seed));
  return seed;
}

class PowerLossTest : public ::testing::Test {
 protected:
  PowerLossTest() : mem_(NewMemEnv()), env_(mem_.get()) {}

  std::shared_ptr<EventStore> Open(const FileStoreOptions& options = SmallSegments()) {
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(&env_, kDir, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }

  std::unique_ptr<Env> mem_;
  FaultEnv env_;
};

// --------------------------------------------------------------- power loss

TEST_F(PowerLossTest, FailAfterSweepKeepsEveryAcknowledgedOperationWhole) {
  uint64_t seed = Seed();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  Workload workload(seed);
  // k: how many more mutating file operations succeed before every later one
  // fails; the small ones hit the first writes of a session, the larger ones
  // group commits, roll-overs and preallocation.
  std::vector<int64_t> ks = {0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 64, 80, 100, 128, 160, 200};
  for (int i = 0; i < 10; ++i) ks.push_back(static_cast<int64_t>(rng() % 2000));
  for (int64_t k : ks) {
    SCOPED_TRACE(absl::StrCat("FailAfter(", k, ")"));
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    workload.CheckAndAdopt(*store);
    ASSERT_FALSE(HasFailure());
    env_.FailAfter(k);
    workload.Run(*store, 150, nullptr);  // threads stop at their first failure
    ASSERT_TRUE(env_.DropUnsyncedData().ok());
    env_.FailAfter(-1);
    store->Close();
    store.reset();
  }
  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  workload.CheckAndAdopt(*store);
  EXPECT_GT(workload.acked(), 100) << "the workload hardly ran: the sweep proved little";
  EXPECT_GT(workload.total_failed(), 0) << "no failure was ever injected";
  std::printf("%s\n", workload.Summary().c_str());
  EXPECT_TRUE(store->Verify(nullptr, nullptr).ok());
}

TEST_F(PowerLossTest, PowerLossAtRandomMomentsKeepsEveryAcknowledgedOperationWhole) {
  uint64_t seed = Seed();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  Workload workload(seed);
  for (int round = 0; round < 25; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    workload.CheckAndAdopt(*store);
    ASSERT_FALSE(HasFailure());
    const int64_t target = workload.acked() + static_cast<int64_t>(rng() % 120);
    workload.Run(*store, 400, [&](Workload& w) {
      // The plug is pulled while the threads run: whatever is in flight is
      // uncertain, whatever returned OK must survive.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (w.acked() < target && w.failed_threads() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      ASSERT_TRUE(env_.DropUnsyncedData().ok());
      // Let the threads run into the dead disk for a moment: the store must
      // fail them cleanly, and nothing they did may survive.
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    });
    store->Close();
    store.reset();
  }
  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  workload.CheckAndAdopt(*store);
  EXPECT_GT(workload.acked(), 100);
  std::printf("%s\n", workload.Summary().c_str());
  EXPECT_TRUE(store->Verify(nullptr, nullptr).ok());
}

TEST_F(PowerLossTest, CreationInterruptedAtAnyStepLeavesADirectoryThatOpens) {
  // How many mutating operations a clean creation takes.
  int64_t steps = 0;
  {
    std::unique_ptr<Env> mem = NewMemEnv();
    FaultEnv counting(mem.get());
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(&counting, kDir, SmallSegments());
    ASSERT_TRUE(store.ok()) << store.status();
    steps = counting.operation_count();
    std::printf("a clean creation takes %lld mutating operations\n", static_cast<long long>(steps));
    (*store)->Close();
  }
  for (int64_t k = 0; k <= steps; ++k) {
    SCOPED_TRACE(absl::StrCat("creation failing after ", k, " of ", steps, " operations"));
    std::unique_ptr<Env> mem = NewMemEnv();
    FaultEnv env(mem.get());
    env.FailAfter(k);
    absl::StatusOr<std::shared_ptr<EventStore>> first = OpenFileStore(&env, kDir, SmallSegments());
    if (first.ok()) (*first)->Close();
    first = absl::UnknownError("released");
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    env.FailAfter(-1);
    absl::StatusOr<std::shared_ptr<EventStore>> store = OpenFileStore(&env, kDir, SmallSegments());
    ASSERT_TRUE(store.ok()) << store.status();
    Id id = StreamAt(0, 0);
    absl::StatusOr<AppendResult> r = (*store)->Append(id, MakeBatch({"after"}), {}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status();
    (*store)->Close();
  }
}

// ------------------------------------------- power loss under kInterval
//
// The promise (doc/durability.md): a power loss loses at most the last
// interval, in whole batches. Acknowledged appends are not durable at once,
// so the model is not "nothing acknowledged is lost" but, after each loss:
//  - every stream holds a prefix of its acknowledged batches, whole, with the
//    acknowledged positions (and at most the one batch in flight, whole);
//  - what survives is a prefix of the log: no acknowledged batch is lost
//    while one at a higher position survives;
//  - every batch acknowledged more than the interval (plus a margin for a
//    loaded machine) before the plug was pulled survives;
//  - positions handed out before the loss, kept or lost, are never reused.

class IntervalWorkload {
 public:
  static constexpr int kThreads = 3;
  static constexpr int kStreamsPerThread = 2;

  struct Batch {
    int thread = 0, stream = 0;
    int64_t first_version = 0;
    std::vector<std::string> datas;
    int64_t first_position = 0;  // 0 for the batch in flight
    std::chrono::steady_clock::time_point acked;
    bool settled = false;  // survived an earlier loss: durable
  };

  explicit IntervalWorkload(uint64_t seed) : seed_(seed) {}

  // Appends from kThreads threads, pausing up to 2 ms between batches,
  // until `stop` is set or an append fails (the plug was pulled).
  void Run(EventStore& store, const std::atomic<bool>& stop) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([this, &store, &stop, t] { RunThread(store, stop, t); });
    }
    for (std::thread& th : threads) th.join();
  }

  // After a reopen: checks what survived against the promise, given when
  // the plug was pulled, and continues from what survived.
  void CheckAndAdopt(EventStore& store, std::chrono::steady_clock::time_point pulled,
                     std::chrono::milliseconds must_survive_after) {
    struct Seen {
      int64_t first_position;
      std::chrono::steady_clock::time_point acked;
    };
    std::vector<Seen> lost, kept;
    for (int t = 0; t < kThreads; ++t) {
      for (int s = 0; s < kStreamsPerThread; ++s) {
        const Id id = StreamAt(10 + t, s);
        SCOPED_TRACE(id.ToString());
        absl::StatusOr<std::vector<Ev>> events = ReadStreamEvents(store, id);
        std::vector<Ev> actual;
        if (events.ok()) {
          actual = *std::move(events);
        } else {
          ASSERT_TRUE(absl::IsNotFound(events.status())) << events.status();
        }
        // A prefix of the stream's batches, each whole.
        std::vector<Batch>& batches = streams_[t][s];
        size_t at = 0;
        size_t whole = 0;
        for (const Batch& b : batches) {
          if (at == actual.size()) break;
          for (size_t k = 0; k < b.datas.size(); ++k, ++at) {
            ASSERT_LT(at, actual.size()) << "batch at version " << b.first_version << " is cut short";
            EXPECT_EQ(actual[at].version, b.first_version + static_cast<int64_t>(k));
            ASSERT_EQ(actual[at].data, b.datas[k]) << "not the batch appended at version " << b.first_version;
            if (b.first_position != 0) {
              EXPECT_EQ(actual[at].position, b.first_position + static_cast<int64_t>(k));
            }
            if (!b.settled) {
              EXPECT_GT(actual[at].position, floor_) << "a position of an earlier session is reused";
            }
            max_position_ = std::max(max_position_, actual[at].position);
          }
          ++whole;
        }
        EXPECT_EQ(at, actual.size()) << "events that no batch appended";
        for (size_t i = 0; i < batches.size(); ++i) {
          if (batches[i].first_position == 0 || batches[i].settled) continue;  // in flight: either way
          (i < whole ? kept : lost).push_back(Seen{batches[i].first_position, batches[i].acked});
        }
        batches.resize(whole);
        for (Batch& b : batches) {
          if (b.first_position == 0) b.first_position = actual[static_cast<size_t>(b.first_version - 1)].position;
          b.settled = true;
        }
      }
    }
    int64_t lowest_lost = std::numeric_limits<int64_t>::max();
    for (const Seen& b : lost) {
      lowest_lost = std::min(lowest_lost, b.first_position);
      EXPECT_GT(b.acked, pulled - must_survive_after)
          << "a batch acknowledged " << std::chrono::duration_cast<std::chrono::milliseconds>(pulled - b.acked).count()
          << " ms before the power loss is lost";
    }
    for (const Seen& b : kept) {
      EXPECT_LT(b.first_position, lowest_lost) << "a batch survived while an earlier one in the log was lost";
    }
    lost_ += static_cast<int64_t>(lost.size());
    kept_ += static_cast<int64_t>(kept.size());
    absl::StatusOr<std::vector<Ev>> all = ReadAllEvents(store);
    ASSERT_TRUE(all.ok()) << all.status();
    int64_t last = 0;
    for (const Ev& ev : *all) {
      EXPECT_GT(ev.position, last) << "global read not strictly ascending at " << ev;
      last = ev.position;
    }
    // Everything handed out so far, kept or lost, is below the next session's positions.
    floor_ = std::max({floor_, max_position_, max_acked_.load()});
  }

  int64_t kept() const { return kept_; }
  int64_t lost() const { return lost_; }

 private:
  void RunThread(EventStore& store, const std::atomic<bool>& stop, int t) {
    std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(t) * 7919 + ops_[t]);
    while (!stop.load()) {
      const int s = static_cast<int>(rng() % kStreamsPerThread);
      std::vector<Batch>& batches = streams_[t][s];
      const int64_t tip = batches.empty() ? 0 : batches.back().first_version +
                                                    static_cast<int64_t>(batches.back().datas.size()) - 1;
      Batch b;
      b.thread = t;
      b.stream = s;
      b.first_version = tip + 1;
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n; ++k) {
        b.datas.push_back(absl::StrCat("t", t, " s", s, " v", tip + 1 + k, " op", ops_[t], " ", k, "/", n,
                                       std::string(rng() % 300, 'x')));
      }
      ++ops_[t];
      AppendOptions options;
      options.expect = Expect::kVersion;
      options.expected_version = tip;
      batches.push_back(b);  // in flight until acknowledged
      absl::StatusOr<AppendResult> r = store.Append(StreamAt(10 + t, s), MakeBatch(b.datas), options, nullptr);
      if (!r.ok()) {
        EXPECT_FALSE(absl::IsAborted(r.status()) || absl::IsInvalidArgument(r.status()))
            << "the store disagrees with the model: " << r.status();
        return;  // the batch stays in flight
      }
      EXPECT_GT(r->first_position, floor_) << "a position handed out before the power loss is reused";
      batches.back().first_position = r->first_position;
      batches.back().acked = std::chrono::steady_clock::now();
      for (int64_t seen = max_acked_.load();
           seen < r->last_position && !max_acked_.compare_exchange_weak(seen, r->last_position);) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    }
  }

  const uint64_t seed_;
  // Per thread and stream, the batches appended since the stream began
  // (versions from 1), the last one possibly in flight. Each thread writes
  // only its own; the checker runs when they have stopped.
  std::vector<Batch> streams_[kThreads][kStreamsPerThread];
  uint64_t ops_[kThreads] = {};
  std::atomic<int64_t> max_acked_{0};
  int64_t max_position_ = 0;
  int64_t floor_ = 0;
  int64_t kept_ = 0, lost_ = 0;
};

TEST_F(PowerLossTest, PowerLossUnderIntervalSyncLosesAtMostTheLastIntervalInWholeBatches) {
  uint64_t seed = Seed();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  FileStoreOptions options = SmallSegments();
  options.store.sync_mode = SyncMode::kInterval;
  options.store.sync_interval_ms = 20;
  // What may be lost: the interval, and a margin for a flusher thread kept
  // waiting on a loaded machine (two cores shared by the whole test run).
  const auto must_survive_after = std::chrono::milliseconds(options.store.sync_interval_ms + 400);
  IntervalWorkload workload(seed);
  const int rounds = 6;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::shared_ptr<EventStore> store = Open(options);
    ASSERT_NE(store, nullptr);
    std::atomic<bool> stop{false};
    std::chrono::steady_clock::time_point pulled;
    std::thread puller([&] {
      // Long enough that the first batches of a round are far older than
      // the interval when the plug is pulled.
      std::this_thread::sleep_for(std::chrono::milliseconds(500 + rng() % 300));
      pulled = std::chrono::steady_clock::now();
      EXPECT_TRUE(env_.DropUnsyncedData().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 5));
      stop = true;
    });
    workload.Run(*store, stop);
    puller.join();
    store->Close();
    store.reset();
    store = Open(options);
    ASSERT_NE(store, nullptr);
    workload.CheckAndAdopt(*store, pulled, must_survive_after);
    ASSERT_FALSE(HasFailure());
    store->Close();
  }
  std::printf("interval power loss: %d rounds, %lld acknowledged batches kept, %lld lost (the last interval)\n",
              rounds, static_cast<long long>(workload.kept()), static_cast<long long>(workload.lost()));
  EXPECT_GT(workload.kept(), 50) << "the workload hardly ran: the rounds proved little";
}

// ---------------------------------------------------------------- poisoning

class PoisonTest : public PowerLossTest, public ::testing::WithParamInterface<bool> {};

TEST_P(PoisonTest, FailedWriteOrSyncPoisonsTheStoreUntilReopen) {
  const bool fail_sync = GetParam();
  LogCapture log;
  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  Id id = StreamAt(0, 0);
  absl::StatusOr<AppendResult> before = store->Append(id, MakeBatch({"before"}), {}, nullptr);
  ASSERT_TRUE(before.ok()) << before.status();

  if (fail_sync) {
    env_.SetFailSync(true);
  } else {
    env_.SetFailWrite(true);
  }
  absl::StatusOr<AppendResult> failed = store->Append(id, MakeBatch({"failed"}), {}, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  env_.SetFailSync(false);
  env_.SetFailWrite(false);

  // The disk works again, but the page cache's state is unknown: every call
  // fails until the store is reopened.
  absl::StatusOr<AppendResult> later = store->Append(id, MakeBatch({"later"}), {}, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(later.status())) << later.status();
  EXPECT_TRUE(absl::IsUnavailable(store->Append(StreamAt(0, 1), MakeBatch({"other"}), {}, nullptr).status()));
  EXPECT_TRUE(absl::IsUnavailable(store->DeleteStream(id, 1)));
  EXPECT_TRUE(absl::IsUnavailable(store->WriteSnapshot(id, 1, AsBytes("s"), "", 0)));
  EXPECT_TRUE(absl::IsUnavailable(store->PruneSnapshots(id, 1, 0)));
  EXPECT_TRUE(absl::IsUnavailable(store->Sync()));
  EXPECT_TRUE(absl::IsUnavailable(store->ReadStream(id, {}).status())) << store->ReadStream(id, {}).status();
  EXPECT_TRUE(absl::IsUnavailable(store->ReadAll({}).status())) << store->ReadAll({}).status();

  // The log handler heard why.
  bool heard = false;
  for (const auto& [level, message] : log.messages()) {
    if (level == static_cast<int>(LogLevel::kError) && message.find("injected I/O error") != std::string::npos) {
      heard = true;
    }
  }
  EXPECT_TRUE(heard) << "no error-level log message carrying the cause; heard " << log.messages().size()
                     << " messages";

  store->Close();
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<Ev>> events = ReadStreamEvents(*store, id);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_GE(events->size(), 1u);
  EXPECT_EQ((*events)[0].data, "before");
  EXPECT_EQ((*events)[0].position, before->first_position);
  for (const Ev& ev : *events) EXPECT_NE(ev.data, "later") << "an append refused while poisoned was kept";
  absl::StatusOr<AppendResult> after = store->Append(id, MakeBatch({"after"}), {}, nullptr);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_GT(after->first_position, before->first_position);
}

INSTANTIATE_TEST_SUITE_P(WriteOrSync, PoisonTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("FailedSync") : std::string("FailedWrite");
                         });

// ------------------------------------------------- torn tails and bit flips

// A store on a MemEnv with `kBatches` (or more) single-threaded appends of 1-3
// events, each event's data "b=J i=I n=N" plus padding, over a few segments,
// the last of which holds at least kBatchesInLastSegment batches.
class RecoveryTest : public ::testing::Test {
 protected:
  static constexpr int kMinBatches = 40;
  static constexpr int kBatchesInLastSegment = 10;

  RecoveryTest() : env_(NewMemEnv()) {}

  void SetUp() override {
    std::shared_ptr<EventStore> store = Open();
    ASSERT_NE(store, nullptr);
    std::mt19937 rng(42);
    for (int j = 0; j < kMinBatches || !LastSegmentHolds(kBatchesInLastSegment); ++j) {
      ASSERT_LT(j, 1000) << "the last segment never held " << kBatchesInLastSegment << " batches";
      int n = 1 + static_cast<int>(rng() % 3);
      std::vector<std::string> datas;
      for (int i = 0; i < n; ++i) {
        datas.push_back(absl::StrCat("b=", j, " i=", i, " n=", n, " ", std::string(rng() % 150, 'p')));
      }
      batch_sizes_.push_back(n);
      absl::StatusOr<AppendResult> r = store->Append(StreamAt(0, j % 3), MakeBatch(datas), {}, nullptr);
      ASSERT_TRUE(r.ok()) << r.status();
    }
    absl::StatusOr<std::vector<Ev>> all = ReadAllEvents(*store);
    ASSERT_TRUE(all.ok()) << all.status();
    original_ = *all;
    kBatches = static_cast<int>(batch_sizes_.size());
    store->Close();
    segments_ = Segments(*env_, kDir);
    ASSERT_GE(segments_.size(), 2u) << "the setup should span several segments";
    for (const std::string& s : segments_) {
      absl::StatusOr<std::string> bytes = env_->ReadFileToString(Path(s));
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      contents_[s] = *bytes;
    }
  }

  std::string Path(const std::string& name) const { return absl::StrCat(kDir, "/", name); }

  bool LastSegmentHolds(int batches) {
    std::vector<std::string> segments = Segments(*env_, kDir);
    if (segments.size() < 2) return false;
    absl::StatusOr<std::string> bytes = env_->ReadFileToString(Path(segments.back()));
    if (!bytes.ok()) return false;
    int n = 0;
    for (size_t at = 0; (at = bytes->find(" i=0 ", at)) != std::string::npos; ++at) ++n;
    return n >= batches;
  }

  // These tests are about recovery by scanning, so every open goes without
  // the index checkpoint that a clean close leaves (an open from one reads
  // no record it covers; file_store_test checks that path).
  absl::StatusOr<std::shared_ptr<EventStore>> TryOpen() {
    if (env_->FileExists(absl::StrCat(kDir, "/INDEX"))) {
      if (absl::Status removed = env_->DeleteFile(absl::StrCat(kDir, "/INDEX")); !removed.ok()) return removed;
    }
    FileStoreOptions options;
    options.segment_bytes = 8 << 10;
    options.preallocate_bytes = 4 << 10;
    return OpenFileStore(env_.get(), kDir, options);
  }
  std::shared_ptr<EventStore> Open() {
    absl::StatusOr<std::shared_ptr<EventStore>> store = TryOpen();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *store : nullptr;
  }

  // Puts every segment back as SetUp left it, with `last` as the last one's bytes.
  // Segments that recovery added since are removed.
  void Restore(const std::string& segment, std::string_view bytes) {
    for (const auto& [name, original] : contents_) {
      ASSERT_TRUE(WriteWhole(*env_, Path(name), name == segment ? bytes : original).ok());
    }
    for (const std::string& name : Segments(*env_, kDir)) {
      if (contents_.count(name) == 0) {
        ASSERT_TRUE(env_->DeleteFile(Path(name)).ok());
      }
    }
  }

  // The end of the last non-zero byte of `bytes`.
  static size_t DataEnd(const std::string& bytes) {
    size_t e = bytes.size();
    while (e > 0 && bytes[e - 1] == '\0') --e;
    return e;
  }

  // Offset of the data of event (batch j, index 0) in `bytes`, or npos.
  static size_t OffsetOfBatch(const std::string& bytes, int j) {
    return bytes.find(absl::StrCat("b=", j, " i=0 "));
  }

  // How many whole batches `events` holds: it must be exactly the first k
  // batches of original_, in order, with their original positions; -1 (and
  // a failure) otherwise.
  int WholeBatches(const std::vector<Ev>& events) {
    size_t at = 0;
    int k = 0;
    while (at < events.size()) {
      if (k >= kBatches) return -1;
      size_t n = static_cast<size_t>(batch_sizes_[k]);
      if (at + n > events.size()) {
        ADD_FAILURE() << "batch " << k << " kept partially: " << events.size() - at << " of " << n << " events";
        return -1;
      }
      for (size_t i = 0; i < n; ++i) {
        if (!(events[at + i] == original_[at + i])) {
          ADD_FAILURE() << "event " << at + i << " is " << events[at + i] << ", was " << original_[at + i];
          return -1;
        }
      }
      at += n;
      ++k;
    }
    return k;
  }

  // Opens, reads everything back and returns the number of whole batches
  // (-1 with a failure when open fails or the content is not such a prefix;
  // -2 without one when open says kUnimplemented and `allow_newer_format`).
  int OpenAndCount(bool allow_newer_format = false) {
    absl::StatusOr<std::shared_ptr<EventStore>> store = TryOpen();
    if (allow_newer_format && absl::IsUnimplemented(store.status())) return -2;
    if (!store.ok()) {
      ADD_FAILURE() << "open failed: " << store.status();
      return -1;
    }
    absl::StatusOr<std::vector<Ev>> all = ReadAllEvents(**store);
    (*store)->Close();
    if (!all.ok()) {
      ADD_FAILURE() << all.status();
      return -1;
    }
    return WholeBatches(*all);
  }

  std::unique_ptr<Env> env_;
  int kBatches = 0;  // appended by SetUp
  std::vector<int> batch_sizes_;
  std::vector<Ev> original_;
  std::vector<std::string> segments_;
  std::map<std::string, std::string> contents_;
};

TEST_F(RecoveryTest, TornTailAtEveryOffsetKeepsExactlyAPrefixOfWholeBatches) {
  LogCapture log;
  const std::string last = segments_.back();
  const std::string& bytes = contents_[last];
  const size_t end = DataEnd(bytes);
  const size_t sweep_end = std::min(bytes.size(), end + 64);
  // Every offset near the end (the last batch or two), strides before.
  auto step = [end](size_t t) -> size_t { return t + 300 >= end ? 1 : t + 1500 >= end ? 5 : 29; };
  std::mt19937 rng(7);
  int prev_trunc = -1, prev_zero = -1;
  int failures = 0;  // offsets where open failed or kept something else than whole batches
  size_t offsets = 0;
  for (size_t t = 0; t <= sweep_end; t += (t < filelog::kSegmentHeaderSize + 16 ? 1 : step(t))) {
    SCOPED_TRACE(absl::StrCat("last segment ", last, " cut at ", t, " of ", end, " data bytes"));
    ++offsets;
    // Truncated: the file ends at t.
    Restore(last, std::string_view(bytes).substr(0, t));
    const int k_trunc = OpenAndCount();
    // Zero-filled: the bytes from t on are zeros (a write that never landed
    // in a preallocated file).
    std::string zeroed = bytes.substr(0, t) + std::string(bytes.size() - std::min(t, bytes.size()), '\0');
    Restore(last, zeroed);
    const int k_zero = OpenAndCount();
    // Garbage: random bytes from t on for a while, then zeros.
    std::string garbage = zeroed;
    const size_t garbage_end = std::min(garbage.size(), t + 1 + rng() % 300);
    for (size_t i = t; i < garbage_end; ++i) garbage[i] = static_cast<char>(rng());
    Restore(last, garbage);
    // Garbage in the segment header's version field reads as a newer format,
    // which must be refused as such (FORMAT.md: the version is trusted
    // before the header checksum). A real torn write cannot do that: the
    // header is within the file's first sector, written and synced whole
    // before any frame.
    const int k_garbage = OpenAndCount(/*allow_newer_format=*/t < filelog::kSegmentHeaderSize);
    // Recovery must leave the store so that a second open agrees.
    const int k_again = k_garbage >= 0 ? OpenAndCount() : k_garbage;

    if (k_trunc < 0 || k_zero < 0 || k_garbage == -1) {
      if (++failures > 12) FAIL() << "stopping: more offsets fail";
      continue;
    }
    if (t == 0) {
      EXPECT_LE(k_trunc + kBatchesInLastSegment, kBatches) << "the last segment's batches survived its loss";
    }
    EXPECT_GE(k_trunc, prev_trunc) << "a longer file kept fewer batches";
    EXPECT_GE(k_zero, prev_zero) << "a longer file kept fewer batches";
    EXPECT_GE(k_zero, k_trunc);
    if (k_garbage >= 0) {
      EXPECT_GE(k_garbage, k_trunc);
      EXPECT_EQ(k_again, k_garbage) << "recovery is not idempotent";
    }
    prev_trunc = k_trunc;
    prev_zero = k_zero;
  }
  EXPECT_EQ(prev_trunc, kBatches) << "cut past the data, everything must be there";
  Restore(last, bytes);
  EXPECT_EQ(OpenAndCount(), kBatches);
  EXPECT_GT(offsets, 300u);
  EXPECT_FALSE(log.messages().empty()) << "cutting torn tails was never reported to the log handler";
}

TEST_F(RecoveryTest, ReopenAfterTornTailIsIdempotentAndAppendsContinue) {
  const std::string last = segments_.back();
  const std::string& bytes = contents_[last];
  const size_t end = DataEnd(bytes);
  // Cut through the middle of the last batch's data.
  const size_t at = OffsetOfBatch(bytes, kBatches - 1);
  ASSERT_NE(at, std::string::npos);
  ASSERT_LT(at, end);
  Restore(last, bytes.substr(0, at + 5) + std::string(bytes.size() - at - 5, '\0'));

  std::shared_ptr<EventStore> store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<Ev>> first = ReadAllEvents(*store);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(WholeBatches(*first), kBatches - 1);
  store->Close();

  store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<Ev>> second = ReadAllEvents(*store);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, *first) << "a second recovery changed the content";
  store->Close();

  // Appends after recovery continue where the kept log ends and survive a reopen.
  store = Open();
  ASSERT_NE(store, nullptr);
  const int64_t max_kept = first->empty() ? 0 : first->back().position;
  Id id = StreamAt(0, (kBatches - 1) % 3);
  absl::StatusOr<std::vector<Ev>> stream_before = ReadStreamEvents(*store, id);
  ASSERT_TRUE(stream_before.ok());
  std::vector<AppendResult> results;
  for (int j = 0; j < 3; ++j) {
    absl::StatusOr<AppendResult> r =
        store->Append(id, MakeBatch({absl::StrCat("after ", j, " a"), absl::StrCat("after ", j, " b")}), {}, nullptr);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->first_version, stream_before->back().version + 1 + 2 * j);
    EXPECT_GT(r->first_position, max_kept);
    if (!results.empty()) {
      EXPECT_GT(r->first_position, results.back().last_position);
    }
    results.push_back(*r);
  }
  absl::StatusOr<std::vector<Ev>> with_new = ReadAllEvents(*store);
  ASSERT_TRUE(with_new.ok());
  store->Close();

  store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<Ev>> reread = ReadAllEvents(*store);
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_EQ(*reread, *with_new);
  ASSERT_EQ(reread->size(), first->size() + 6);
  EXPECT_TRUE(std::equal(first->begin(), first->end(), reread->begin()));
  EXPECT_EQ(reread->back().data, "after 2 b");
  EXPECT_EQ(reread->back().position, results.back().last_position);
  EXPECT_TRUE(store->Verify(nullptr, nullptr).ok());
  store->Close();
}

// A corruption status must name the segment and an offset at or shortly
// before the damaged byte.
void ExpectCorruptionNaming(const absl::Status& status, const std::string& segment, size_t damaged) {
  ASSERT_TRUE(absl::IsDataLoss(status)) << status;
  std::string message(status.message());
  EXPECT_NE(message.find(segment), std::string::npos) << "does not name " << segment << ": " << message;
  // Digits of the segment's name are not an offset.
  for (size_t at; (at = message.find(segment)) != std::string::npos;) message.erase(at, segment.size());
  bool offset_named = false;
  for (size_t i = 0; i < message.size();) {
    if (!std::isdigit(static_cast<unsigned char>(message[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < message.size() && std::isdigit(static_cast<unsigned char>(message[j]))) ++j;
    uint64_t n = std::strtoull(message.substr(i, j - i).c_str(), nullptr, 10);
    if (n <= damaged && damaged - n < 2048) offset_named = true;
    i = j;
  }
  EXPECT_TRUE(offset_named) << "no offset at or shortly before " << damaged << " in: " << message;
}

TEST_F(RecoveryTest, BitFlipInAnOlderRecordIsCorruptionNamingSegmentAndOffset) {
  // In the first segment (an older one), and in the last segment with later
  // batches after it.
  for (const std::string& segment : {segments_.front(), segments_.back()}) {
    SCOPED_TRACE(segment);
    std::string bytes = contents_[segment];
    int j = 0;
    size_t at = std::string::npos;
    for (int candidate = 0; candidate < kBatches - 4; ++candidate) {
      at = OffsetOfBatch(bytes, candidate);
      if (at != std::string::npos) {
        j = candidate;
        break;
      }
    }
    ASSERT_NE(at, std::string::npos) << "no early batch's data found in " << segment;
    ASSERT_NE(OffsetOfBatch(bytes, j + 3), std::string::npos) << "later batches expected in the same segment";
    bytes[at + 2] ^= 0x04;  // "b=J" becomes "b=K"
    Restore(segment, bytes);
    absl::StatusOr<std::shared_ptr<EventStore>> store = TryOpen();
    ASSERT_FALSE(store.ok()) << "a flipped bit in batch " << j << " of " << segment << " went unnoticed";
    ExpectCorruptionNaming(store.status(), segment, at + 2);
    Restore(segment, contents_[segment]);
  }
  EXPECT_EQ(OpenAndCount(), kBatches);
}

TEST_F(RecoveryTest, NoBitFlipBeforeTheTailIsSilentlySkipped) {
  // Each flip: open fails with corruption (or a newer format, when the flip
  // lands in the segment header's version), or succeeds with everything
  // intact. Older segments wholly; the last one up to three batches before
  // its end.
  std::mt19937 rng(11);
  int flips = 0, refused = 0;
  for (const std::string& segment : segments_) {
    const std::string& original = contents_[segment];
    size_t limit = DataEnd(original);
    if (segment == segments_.back()) {
      size_t at = OffsetOfBatch(original, kBatches - 3);
      ASSERT_NE(at, std::string::npos);
      limit = at > 600 ? at - 600 : 0;  // well before the last three batches
    }
    for (size_t off = 0; off < limit; off += 9 + rng() % 9) {
      SCOPED_TRACE(absl::StrCat(segment, " bit flipped at ", off));
      std::string bytes = original;
      bytes[off] ^= static_cast<char>(1u << (rng() % 8));
      Restore(segment, bytes);
      ++flips;
      absl::StatusOr<std::shared_ptr<EventStore>> store = TryOpen();
      if (!store.ok()) {
        EXPECT_TRUE(absl::IsDataLoss(store.status()) || absl::IsUnimplemented(store.status())) << store.status();
        EXPECT_NE(std::string(store.status().message()).find(segment), std::string::npos) << store.status();
        ++refused;
        continue;
      }
      absl::StatusOr<std::vector<Ev>> all = ReadAllEvents(**store);
      ASSERT_TRUE(all.ok()) << all.status();
      EXPECT_EQ(all->size(), original_.size()) << "events silently lost";
      if (all->size() == original_.size()) {
        EXPECT_EQ(*all, original_) << "events silently changed";
      }
      EXPECT_TRUE((*store)->Verify(nullptr, nullptr).ok());
      (*store)->Close();
      if (HasFailure()) return;
    }
    Restore(segment, original);
  }
  EXPECT_GT(flips, 300);
  EXPECT_GT(refused, flips / 2) << "most flips land in checksummed bytes";
}

// -------------------------------------------------------------- one writer

TEST(FileStoreLock, SecondOpenInThisProcessIsAlreadyExistsNamingThePid) {
  std::unique_ptr<Env> mem = NewMemEnv();
  absl::StatusOr<std::shared_ptr<EventStore>> first = OpenFileStore(mem.get(), kDir, {});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::shared_ptr<EventStore>> second = OpenFileStore(mem.get(), kDir, {});
  ASSERT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
  EXPECT_NE(std::string(second.status().message()).find(std::to_string(getpid())), std::string::npos)
      << second.status();
  (*first)->Close();
  first = absl::UnknownError("released");
  absl::StatusOr<std::shared_ptr<EventStore>> third = OpenFileStore(mem.get(), kDir, {});
  EXPECT_TRUE(third.ok()) << "closing the first store must release the directory: " << third.status();
}

TEST(FileStoreLock, SecondOpenOfARealDirectoryInThisProcessIsAlreadyExistsNamingThePid) {
  std::string tmpl = ::testing::TempDir() + "estoria_lock_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl + "/store";
  {
    absl::StatusOr<std::shared_ptr<EventStore>> first = OpenFileStore(Env::Default(), dir, {});
    ASSERT_TRUE(first.ok()) << first.status();
    // Also through another spelling of the same path.
    absl::StatusOr<std::shared_ptr<EventStore>> second = OpenFileStore(Env::Default(), tmpl + "//store/", {});
    ASSERT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
    EXPECT_NE(std::string(second.status().message()).find(std::to_string(getpid())), std::string::npos)
        << second.status();
    (*first)->Close();
  }
  absl::StatusOr<std::shared_ptr<EventStore>> third = OpenFileStore(Env::Default(), dir, {});
  EXPECT_TRUE(third.ok()) << third.status();
  if (third.ok()) (*third)->Close();
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace estoria::core
