// tests/acceptance/aggregate_test.cc: the aggregate engine through the C ABI
// (doc/data-model.md "Aggregates"), on every backend: load/save
// round trips, the views apply receives, version conflicts between handles,
// snapshots (used, respected at to_version, retention), the state cache,
// hooks, reserved keys, callback errors (hydration, APPLIED_PARTIALLY),
// retry-safe saves by event IDs, loads as of a time (est_aggregate_load_at)
// and bad input.
//
// The host type is a small ledger written against the C vtable: events
// "deposited"/"withdrawn" carry a decimal amount; an event whose type the
// test names in `fail_type` makes apply fail with a message. The counters of
// est_aggregate_store_stats are the hook that counts events folded.
#define EST_EXPERIMENTAL 1  // est_aggregate_set_event_id, est_aggregate_load_at

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

constexpr char kType[] = "ledger";

struct Ledger {
  int64_t balance = 0;
  int64_t version = 0;  // the last applied event's stream_version
  int64_t count = 0;    // events applied to this state object
};

// The host's side of the type: what its callbacks did.
struct Host {
  int live_states = 0;  // made (new_state, decode) minus freed
  int64_t applies = 0;
  std::string fail_type;  // apply fails on events of this type
  bool fail_encode = false;
  bool out_of_order = false;  // an event arrived with a version not state.version + 1
  std::vector<Event>* seen = nullptr;  // when set, a copy of every view apply received
};

int64_t Amount(const est_event* event) {
  return std::strtoll(std::string(reinterpret_cast<const char*>(event->data), event->data_len).c_str(), nullptr, 10);
}

est_status NewState(void* user, const est_uuid*, void** state) {
  ++static_cast<Host*>(user)->live_states;
  *state = new Ledger();
  return EST_OK;
}

est_status Apply(void* user, void* state, const est_event* event) {
  Host* host = static_cast<Host*>(user);
  Ledger* ledger = static_cast<Ledger*>(state);
  ++host->applies;
  if (!host->fail_type.empty() && host->fail_type == event->type) {
    est_set_error(("refusing event of type " + host->fail_type).c_str());
    return EST_ERR_INVALID_ARGUMENT;
  }
  if (host->seen != nullptr) host->seen->push_back(CopyEvent(*event));
  if (event->stream_version != ledger->version + 1) host->out_of_order = true;
  if (std::strcmp(event->type, "withdrawn") == 0) {
    ledger->balance -= Amount(event);
  } else {
    ledger->balance += Amount(event);
  }
  ledger->version = event->stream_version;
  ++ledger->count;
  return EST_OK;
}

void FreeState(void* user, void* state) {
  --static_cast<Host*>(user)->live_states;
  delete static_cast<Ledger*>(state);
}

est_status Encode(void* user, const void* state, est_buffer* out) {
  if (static_cast<Host*>(user)->fail_encode) {
    est_set_error("encoding refused by the test");
    return EST_ERR_IO;
  }
  const Ledger* ledger = static_cast<const Ledger*>(state);
  const std::string text = std::to_string(ledger->balance) + " " + std::to_string(ledger->version);
  return est_buffer_append(out, text.data(), text.size());
}

est_status Decode(void* user, const uint8_t* data, size_t len, void** state) {
  const std::string text(reinterpret_cast<const char*>(data), len);
  auto* ledger = new Ledger();
  char* end = nullptr;
  ledger->balance = std::strtoll(text.c_str(), &end, 10);
  ledger->version = std::strtoll(end, nullptr, 10);
  ++static_cast<Host*>(user)->live_states;
  *state = ledger;
  return EST_OK;
}

// What a log handler received (process-wide: installed per test).
struct LogSink {
  std::mutex mu;
  std::vector<std::string> messages;
  static void Handle(void* user, int32_t, const char* message) {
    auto* sink = static_cast<LogSink*>(user);
    std::lock_guard<std::mutex> lock(sink->mu);
    sink->messages.emplace_back(message);
  }
  bool Mentions(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& m : messages) {
      if (m.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

// A recording hook: appends "tag:stage:version" to a shared list; may fail,
// may add metadata.
struct HookSpec {
  HookSpec(std::vector<std::string>* c, std::string t) : calls(c), tag(std::move(t)) {}
  std::vector<std::string>* calls = nullptr;
  std::string tag;
  est_status fail = EST_OK;
  std::string fail_message;
  std::vector<std::pair<std::string, std::string>> metadata;  // added before a save
  est_status add_status = EST_OK;                             // what the last add returned
  std::string last_id;
};

est_status RecordingHook(void* user, int32_t stage, est_hook_context* ctx, const char* aggregate_id,
                         int64_t version) {
  auto* spec = static_cast<HookSpec*>(user);
  spec->calls->push_back(spec->tag + ":" + std::to_string(stage) + ":" + std::to_string(version));
  spec->last_id = aggregate_id;
  if (stage == EST_HOOK_BEFORE_SAVE) {
    for (const auto& [key, value] : spec->metadata) {
      spec->add_status = est_hook_add_metadata(ctx, key.c_str(), value.c_str());
    }
  }
  if (spec->fail != EST_OK) {
    if (!spec->fail_message.empty()) est_set_error(spec->fail_message.c_str());
    return spec->fail;
  }
  return EST_OK;
}

class AggregateTest : public Acceptance {
 protected:
  void TearDown() override {
    for (est_aggregate* agg : aggregates_) est_aggregate_free(agg);
    for (est_aggregate_store* astore : astores_) est_aggregate_store_free(astore);
    EXPECT_EQ(host_.live_states, 0) << "every state made must be freed";
    EXPECT_FALSE(host_.out_of_order) << "apply saw versions out of order";
    est_set_log_handler(nullptr, nullptr);
    Acceptance::TearDown();
  }

  est_aggregate_type Type(bool codec = true) {
    est_aggregate_type type = EST_AGGREGATE_TYPE_INIT;
    type.type_name = kType;
    type.user = &host_;
    type.new_state = NewState;
    type.apply = Apply;
    type.free_state = FreeState;
    if (codec) {
      type.encode = Encode;
      type.decode = Decode;
      type.snapshot_content_type = "text/ledger";
    }
    return type;
  }

  // An aggregate store over store_, freed at TearDown.
  est_aggregate_store* NewAggregateStore(int64_t snapshot_every = 0, int64_t cache_capacity = 0,
                                         int64_t keep_last = 0, int64_t keep_min_version = 0) {
    est_aggregate_type type = Type();
    est_aggregate_store_options options = EST_AGGREGATE_STORE_OPTIONS_INIT;
    options.snapshot_every = snapshot_every;
    options.cache_capacity = cache_capacity;
    options.snapshot_keep_last = keep_last;
    options.snapshot_keep_min_version = keep_min_version;
    est_aggregate_store* astore = nullptr;
    EXPECT_EST_OK(est_aggregate_store_new(store_, &type, &options, &astore));
    if (astore != nullptr) astores_.push_back(astore);
    return astore;
  }

  est_aggregate* Keep(est_aggregate* agg) {
    if (agg != nullptr) aggregates_.push_back(agg);
    return agg;
  }
  void Free(est_aggregate* agg) {
    for (auto it = aggregates_.begin(); it != aggregates_.end(); ++it) {
      if (*it == agg) {
        aggregates_.erase(it);
        break;
      }
    }
    est_aggregate_free(agg);
  }

  est_aggregate* New(est_aggregate_store* astore, const est_uuid& uuid) {
    est_aggregate* agg = nullptr;
    EXPECT_EST_OK(est_aggregate_new(astore, &uuid, &agg));
    return Keep(agg);
  }

  // Loads (asserting success).
  est_aggregate* Load(est_aggregate_store* astore, const est_uuid& uuid, int64_t to_version = 0) {
    est_aggregate* agg = nullptr;
    EXPECT_EST_OK(est_aggregate_load(astore, &uuid, to_version, &agg));
    return Keep(agg);
  }

  static void Queue(est_aggregate* agg, const std::string& type, int64_t amount) {
    const std::string data = std::to_string(amount);
    ASSERT_EST_OK(est_aggregate_append(agg, type.c_str(), data.data(), data.size(), "text/plain"));
  }

  // Queues `n` deposits of `amount` and saves them (asserting success).
  static void Deposit(est_aggregate* agg, int n, int64_t amount = 1) {
    for (int i = 0; i < n; ++i) Queue(agg, "deposited", amount);
    ASSERT_EST_OK(est_aggregate_save(agg, nullptr));
  }

  // A new aggregate saved with `saves` saves of `per_save` deposits of 1.
  est_uuid Written(est_aggregate_store* astore, int saves, int per_save) {
    est_uuid uuid = NewUuidV7();
    est_aggregate* agg = New(astore, uuid);
    for (int i = 0; i < saves; ++i) Deposit(agg, per_save);
    EXPECT_EQ(est_aggregate_version(agg), saves * per_save);
    Free(agg);
    return uuid;
  }

  static Ledger StateOf(est_aggregate* agg) {
    const auto* ledger = static_cast<const Ledger*>(est_aggregate_state(agg));
    return ledger != nullptr ? *ledger : Ledger{-1, -1, -1};
  }

  static est_aggregate_stats Stats(est_aggregate_store* astore) {
    est_aggregate_stats stats = EST_AGGREGATE_STATS_INIT;
    EXPECT_EST_OK(est_aggregate_store_stats(astore, &stats));
    return stats;
  }

  // The version of the newest snapshot at or below max_version, 0 for none.
  int64_t SnapshotVersion(const est_uuid& uuid, int64_t max_version = 0) {
    const SnapshotRead read = ReadSnapshot(store_, FormatId(kType, uuid), max_version);
    if (read.status == EST_ERR_NOT_FOUND) return 0;
    EXPECT_EST_OK(read.status);
    return read.version;
  }

  Host host_;
  std::vector<est_aggregate_store*> astores_;
  std::vector<est_aggregate*> aggregates_;
};
ESTORIA_ACCEPTANCE_SUITE(AggregateTest);

// ------------------------------------------------------------- round trips

TEST_P(AggregateTest, SavedEventsLoadBackIntoTheSameState) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  EXPECT_EQ(est_aggregate_version(agg), 0);
  EXPECT_EQ(std::string(est_aggregate_id(agg)), FormatId(kType, uuid));
  Queue(agg, "deposited", 100);
  Queue(agg, "withdrawn", 30);
  Queue(agg, "deposited", 5);
  EXPECT_EQ(est_aggregate_pending(agg), 3u);
  est_append_result result = EST_APPEND_RESULT_INIT;
  ASSERT_EST_OK(est_aggregate_save(agg, &result));
  EXPECT_EQ(result.first_version, 1);
  EXPECT_EQ(result.last_version, 3);
  EXPECT_EQ(result.actual_version, 3);
  EXPECT_EQ(est_aggregate_pending(agg), 0u);
  EXPECT_EQ(est_aggregate_version(agg), 3);
  EXPECT_EQ(StateOf(agg).balance, 75);

  est_aggregate* loaded = Load(astore, uuid);
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(est_aggregate_version(loaded), 3);
  EXPECT_EQ(StateOf(loaded).balance, 75);
  EXPECT_EQ(StateOf(loaded).count, 3);

  // The stream holds exactly what was queued.
  ReadResult read = ReadStream(store_, FormatId(kType, uuid));
  ASSERT_EST_OK(read.status);
  ASSERT_EQ(read.events.size(), 3u);
  EXPECT_EQ(read.events[0].type, "deposited");
  EXPECT_EQ(read.events[1].type, "withdrawn");
  EXPECT_EQ(read.events[1].data, "30");
  EXPECT_EQ(read.events[2].content_type, "text/plain");
  EXPECT_EQ(Versions(read.events), Range(1, 3));
}

// Every field of the views apply receives, across several appends (the
// memory store writes each one's stream once) and more events than the
// engine folds per run, metadata included.
TEST_P(AggregateTest, ApplySeesEachEventAsAReadReturnsIt) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  for (int save = 0; save < 3; ++save) {
    for (int i = 1; i <= 100; ++i) {
      Queue(agg, i % 7 == 0 ? "withdrawn" : "deposited", i);
      if (i % 10 == 0) {
        ASSERT_EST_OK(est_aggregate_append_metadata(agg, "note", ("n" + std::to_string(i)).c_str()));
        if (i % 20 == 0) {
          ASSERT_EST_OK(est_aggregate_append_metadata(agg, "by", "test"));
        }
      }
    }
    ASSERT_EST_OK(est_aggregate_save(agg, nullptr));
  }
  std::vector<Event> seen;
  host_.seen = &seen;
  est_aggregate* loaded = Load(astore, uuid);
  host_.seen = nullptr;
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(est_aggregate_version(loaded), 300);

  const ReadResult read = ReadStream(store_, FormatId(kType, uuid));
  ASSERT_EST_OK(read.status);
  ASSERT_EQ(read.events.size(), 300u);
  EXPECT_EQ(read.events[19].metadata, (std::vector<std::pair<std::string, std::string>>{{"by", "test"}, {"note", "n20"}}));
  ASSERT_EQ(seen.size(), read.events.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], read.events[i]) << "event " << i;
  }
}

TEST_P(AggregateTest, SavesContinueFromTheLoadedVersion) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 2, 3);
  est_aggregate* agg = Load(astore, uuid);
  Deposit(agg, 2, 10);
  EXPECT_EQ(est_aggregate_version(agg), 8);
  EXPECT_EQ(StateOf(agg).balance, 26);
  est_aggregate* again = Load(astore, uuid);
  EXPECT_EQ(est_aggregate_version(again), 8);
  EXPECT_EQ(StateOf(again).balance, 26);
}

TEST_P(AggregateTest, ANeverWrittenAggregateIsNotFound) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = reinterpret_cast<est_aggregate*>(&host_);  // poisoned: must be set to NULL
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_aggregate_load(astore, &uuid, 0, &agg));
  EXPECT_EQ(agg, nullptr);
}

TEST_P(AggregateTest, SavingWithNothingQueuedWritesNothing) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  est_append_result result = EST_APPEND_RESULT_INIT;
  EXPECT_EST_OK(est_aggregate_save(agg, &result));
  EXPECT_EQ(result.actual_version, 0);
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).status, EST_ERR_NOT_FOUND);
}

TEST_P(AggregateTest, ANewUuidIsMadeWhenNoneIsGiven) {
  est_aggregate_store* astore = NewAggregateStore();
  est_aggregate* a = nullptr;
  est_aggregate* b = nullptr;
  ASSERT_EST_OK(est_aggregate_new(astore, nullptr, &a));
  Keep(a);
  ASSERT_EST_OK(est_aggregate_new(astore, nullptr, &b));
  Keep(b);
  EXPECT_NE(std::string(est_aggregate_id(a)), std::string(est_aggregate_id(b)));
  EXPECT_EQ(TypeOf(est_aggregate_id(a)), kType);
}

TEST_P(AggregateTest, ToVersionFoldsOnlyUpToIt) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 5, 1);
  est_aggregate* agg = Load(astore, uuid, 3);
  EXPECT_EQ(est_aggregate_version(agg), 3);
  EXPECT_EQ(StateOf(agg).balance, 3);
  EXPECT_EQ(Stats(astore).events_applied, 3);
  est_aggregate* tip = Load(astore, uuid, 5);
  EXPECT_EQ(est_aggregate_version(tip), 5);
}

TEST_P(AggregateTest, ToVersionPastTheTipIsRejectedSayingSo) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 5);
  est_aggregate* agg = nullptr;
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_load(astore, &uuid, 6, &agg));
  EXPECT_NE(std::string(est_last_error()).find("past the tip"), std::string::npos) << est_last_error();
  EXPECT_EQ(agg, nullptr);
}

// --------------------------------------------------------------- conflicts

TEST_P(AggregateTest, AConflictingSaveIsAMismatchThatKeepsTheAggregateForARetry) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 3);
  est_aggregate* first = Load(astore, uuid);
  est_aggregate* second = Load(astore, uuid);
  Deposit(first, 1, 10);

  Queue(second, "withdrawn", 2);
  est_append_result result = EST_APPEND_RESULT_INIT;
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_aggregate_save(second, &result));
  EXPECT_EQ(result.actual_version, 4);
  EXPECT_EQ(est_aggregate_version(second), 3);
  EXPECT_EQ(est_aggregate_pending(second), 1u);
  EXPECT_EQ(StateOf(second).balance, 3);
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).events.size(), 4u);

  // Reload and retry.
  est_aggregate* retry = Load(astore, uuid);
  EXPECT_EQ(StateOf(retry).balance, 13);
  Queue(retry, "withdrawn", 2);
  ASSERT_EST_OK(est_aggregate_save(retry, &result));
  EXPECT_EQ(result.last_version, 5);
  EXPECT_EQ(StateOf(Load(astore, uuid)).balance, 11);
}

// A save whose reply was lost (here: a second handle at the same version
// queues the same events with the same IDs) is safe to retry: nothing is
// written twice, the original result comes back flagged duplicate, and the
// retrying handle ends in the saved state.
TEST_P(AggregateTest, ASaveWithEventIdsIsSafeToRetry) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 2);
  const est_uuid ids[2] = {NewUuidV7(), NewUuidV7()};
  auto queue_with_ids = [&](est_aggregate* agg) {
    Queue(agg, "deposited", 5);
    ASSERT_EST_OK(est_aggregate_set_event_id(agg, &ids[0]));
    Queue(agg, "withdrawn", 1);
    ASSERT_EST_OK(est_aggregate_set_event_id(agg, &ids[1]));
  };
  est_aggregate* first = Load(astore, uuid);
  est_aggregate* retry = Load(astore, uuid);
  queue_with_ids(first);
  est_append_result saved = EST_APPEND_RESULT_INIT;
  ASSERT_EST_OK(est_aggregate_save(first, &saved));
  EXPECT_EQ(saved.flags, 0u);

  queue_with_ids(retry);
  est_append_result again = EST_APPEND_RESULT_INIT;
  ASSERT_EST_OK(est_aggregate_save(retry, &again));
  EXPECT_EQ(again.flags, static_cast<uint32_t>(EST_APPEND_DUPLICATE));
  EXPECT_EQ(again.first_version, saved.first_version);
  EXPECT_EQ(again.last_version, saved.last_version);
  EXPECT_EQ(again.first_position, saved.first_position);
  EXPECT_EQ(est_aggregate_version(retry), 4);
  EXPECT_EQ(est_aggregate_pending(retry), 0u);
  EXPECT_EQ(StateOf(retry).balance, 6);

  const std::vector<Event> events = ReadStream(store_, FormatId(kType, uuid)).events;
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].id, ids[0]);
  EXPECT_EQ(events[3].id, ids[1]);
  EXPECT_EQ(StateOf(Load(astore, uuid)).balance, 6);
}

// Only some of the queued events already there: a conflict, nothing written.
TEST_P(AggregateTest, ARetryOverlappingOnlyPartlyIsAMismatch) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 1);
  const est_uuid id = NewUuidV7();
  est_aggregate* first = Load(astore, uuid);
  est_aggregate* retry = Load(astore, uuid);
  Queue(first, "deposited", 5);
  ASSERT_EST_OK(est_aggregate_set_event_id(first, &id));
  ASSERT_EST_OK(est_aggregate_save(first, nullptr));

  Queue(retry, "deposited", 5);
  ASSERT_EST_OK(est_aggregate_set_event_id(retry, &id));
  const est_uuid other = NewUuidV7();
  Queue(retry, "deposited", 7);
  ASSERT_EST_OK(est_aggregate_set_event_id(retry, &other));
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_aggregate_save(retry, nullptr));
  EXPECT_EQ(est_aggregate_pending(retry), 2u);
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).events.size(), 2u);
}

TEST_P(AggregateTest, AnEventIdNeedsAQueuedEventAndAnId) {
  est_aggregate_store* astore = NewAggregateStore();
  est_aggregate* agg = New(astore, NewUuidV7());
  const est_uuid id = NewUuidV7();
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_set_event_id(agg, &id));
  Queue(agg, "deposited", 1);
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_set_event_id(agg, nullptr));
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_set_event_id(nullptr, &id));
  EXPECT_EQ(est_aggregate_pending(agg), 1u);
}

TEST_P(AggregateTest, ANewAggregateOverAnExistingStreamConflicts) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 2);
  est_aggregate* agg = New(astore, uuid);
  Queue(agg, "deposited", 1);
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_aggregate_save(agg, nullptr));
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).events.size(), 2u);
}

// --------------------------------------------------------------- snapshots

TEST_P(AggregateTest, SnapshotsAreTakenEveryNAndShortenLoads) {
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/10);
  const est_uuid uuid = Written(astore, 25, 1);
  EXPECT_EQ(Stats(astore).snapshots_written, 2);
  EXPECT_EQ(SnapshotVersion(uuid), 20);
  EXPECT_EQ(SnapshotVersion(uuid, 19), 10);

  est_aggregate* agg = Load(astore, uuid);
  EXPECT_EQ(est_aggregate_version(agg), 25);
  EXPECT_EQ(StateOf(agg).balance, 25);
  EXPECT_EQ(StateOf(agg).count, 5) << "only the events after the snapshot are applied";
  const est_aggregate_stats stats = Stats(astore);
  EXPECT_EQ(stats.snapshots_used, 1);
  EXPECT_EQ(stats.events_applied, 5);
}

TEST_P(AggregateTest, ASaveCrossingAMultipleTakesOneSnapshotAtItsNewVersion) {
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/10);
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  Deposit(agg, 7);
  EXPECT_EQ(SnapshotVersion(uuid), 0);
  Deposit(agg, 6);  // 7 -> 13 crosses 10
  EXPECT_EQ(SnapshotVersion(uuid), 13);
  Deposit(agg, 6);  // 13 -> 19 does not cross 20
  EXPECT_EQ(SnapshotVersion(uuid), 13);
  Deposit(agg, 25);  // 19 -> 44 crosses 20, 30 and 40: one snapshot
  EXPECT_EQ(SnapshotVersion(uuid), 44);
  EXPECT_EQ(Stats(astore).snapshots_written, 2);
}

TEST_P(AggregateTest, ToVersionIsRespectedWithSnapshots) {
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/10);
  const est_uuid uuid = Written(astore, 25, 1);
  est_aggregate* at15 = Load(astore, uuid, 15);
  EXPECT_EQ(est_aggregate_version(at15), 15);
  EXPECT_EQ(StateOf(at15).balance, 15);
  EXPECT_EQ(Stats(astore).snapshots_used, 1);
  EXPECT_EQ(Stats(astore).events_applied, 5);  // 11..15 after the snapshot at 10

  est_aggregate* at20 = Load(astore, uuid, 20);
  EXPECT_EQ(est_aggregate_version(at20), 20);
  EXPECT_EQ(StateOf(at20).balance, 20);
  EXPECT_EQ(Stats(astore).events_applied, 5) << "the snapshot at 20 is the whole state";

  est_aggregate* at5 = Load(astore, uuid, 5);
  EXPECT_EQ(StateOf(at5).balance, 5);
  EXPECT_EQ(Stats(astore).snapshots_used, 2) << "no snapshot at or below 5";
  EXPECT_EQ(Stats(astore).events_applied, 10);
}

TEST_P(AggregateTest, RetentionKeepsTheNewestSnapshots) {
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/5, 0, /*keep_last=*/2);
  const est_uuid uuid = Written(astore, 4, 5);
  EXPECT_EQ(Stats(astore).snapshots_written, 4);
  EXPECT_EQ(SnapshotVersion(uuid), 20);
  EXPECT_EQ(SnapshotVersion(uuid, 19), 15);
  EXPECT_EQ(SnapshotVersion(uuid, 14), 0) << "snapshots at 5 and 10 are pruned";
}

TEST_P(AggregateTest, RetentionDropsSnapshotsBelowTheMinimumVersion) {
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/5, 0, 0, /*keep_min_version=*/10);
  const est_uuid uuid = Written(astore, 3, 5);
  EXPECT_EQ(SnapshotVersion(uuid), 15);
  EXPECT_EQ(SnapshotVersion(uuid, 14), 10);
  EXPECT_EQ(SnapshotVersion(uuid, 9), 0);
}

TEST_P(AggregateTest, AFailedEncodeIsLoggedAndTheSaveSucceeds) {
  LogSink sink;
  est_set_log_handler(LogSink::Handle, &sink);
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/2);
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  host_.fail_encode = true;
  Queue(agg, "deposited", 1);
  Queue(agg, "deposited", 1);
  EXPECT_EST_OK(est_aggregate_save(agg, nullptr));
  EXPECT_EQ(est_aggregate_version(agg), 2);
  EXPECT_EQ(SnapshotVersion(uuid), 0);
  EXPECT_TRUE(sink.Mentions("encoding refused by the test"));
  est_set_log_handler(nullptr, nullptr);
}

TEST_P(AggregateTest, ATruncatedStreamLoadsOnlyWhenASnapshotCoversTheCut) {
  est_aggregate_store* plain = NewAggregateStore();
  const est_uuid uuid = Written(plain, 1, 5);
  ASSERT_EST_OK(est_delete_stream(store_, FormatId(kType, uuid).c_str(), 3));
  est_aggregate* agg = nullptr;
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_load(plain, &uuid, 0, &agg));
  EXPECT_NE(std::string(est_last_error()).find("truncated"), std::string::npos) << est_last_error();
  EXPECT_EQ(agg, nullptr);

  est_aggregate_store* snapshotting = NewAggregateStore(/*snapshot_every=*/4);
  const est_uuid covered = NewUuidV7();
  est_aggregate* writer = New(snapshotting, covered);
  Deposit(writer, 4);  // snapshot at 4
  Deposit(writer, 1);
  ASSERT_EST_OK(est_delete_stream(store_, FormatId(kType, covered).c_str(), 3));
  est_aggregate* loaded = Load(snapshotting, covered);
  EXPECT_EQ(est_aggregate_version(loaded), 5);
  EXPECT_EQ(StateOf(loaded).balance, 5);
}

// ------------------------------------------------------------ as of a time

// Restores deposits of `amounts` onto the ledger `uuid`, one per stamp.
void RestoreDeposits(est_store* store, const est_uuid& uuid, const std::vector<int64_t>& amounts,
                     const std::vector<int64_t>& stamps) {
  Batch batch;
  for (size_t i = 0; i < amounts.size(); ++i) {
    NewEvent e;
    e.data = std::to_string(amounts[i]);
    e.timestamp_ns = stamps[i];
    batch.Add(e);
  }
  const est_append_options restore = Restore(0);
  ASSERT_EST_OK(Append(store, FormatId(kType, uuid), batch.Bytes(), &restore).status);
}

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
int64_t T(int64_t k) { return kT0 + k * 1'000; }

TEST_P(AggregateTest, LoadAtFoldsTheStreamAsOfTheTime) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  RestoreDeposits(store_, uuid, {1, 2, 4, 8}, {T(1), T(2), T(3), T(4)});
  est_aggregate* agg = nullptr;
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(2), &agg));
  Keep(agg);
  EXPECT_EQ(est_aggregate_version(agg), 2);
  EXPECT_EQ(StateOf(agg).balance, 3);
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(9), &agg));
  Keep(agg);
  EXPECT_EQ(est_aggregate_version(agg), 4);
  EXPECT_EQ(StateOf(agg).balance, 15);

  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_aggregate_load_at(astore, &uuid, T(1) - 1, &agg));
  EXPECT_EQ(agg, nullptr);
  const est_uuid never = NewUuidV7();
  EXPECT_REJECTED(EST_ERR_NOT_FOUND, est_aggregate_load_at(astore, &never, T(9), &agg));
  EXPECT_INVALID(est_aggregate_load_at(astore, &uuid, 0, &agg));
  EXPECT_INVALID(est_aggregate_load_at(astore, &uuid, -5, &agg));
  EXPECT_INVALID(est_aggregate_load_at(astore, nullptr, T(1), &agg));
  EXPECT_INVALID(est_aggregate_load_at(nullptr, &uuid, T(1), &agg));
  EXPECT_INVALID(est_aggregate_load_at(astore, &uuid, T(1), nullptr));
}

TEST_P(AggregateTest, LoadAtFoldsAConsistentPrefixWhenStampsGoBack) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  // Event 2 was stamped after event 3: as of T(2) only event 1 counts.
  RestoreDeposits(store_, uuid, {1, 2, 4}, {T(1), T(3), T(2)});
  est_aggregate* agg = nullptr;
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(2), &agg));
  Keep(agg);
  EXPECT_EQ(est_aggregate_version(agg), 1);
  EXPECT_EQ(StateOf(agg).balance, 1);
}

TEST_P(AggregateTest, LoadAtUsesNoSnapshotNewerThanTheTime) {
  est_aggregate_store* astore = NewAggregateStore(/*snapshot_every=*/100);
  const est_uuid uuid = NewUuidV7();
  RestoreDeposits(store_, uuid, {1, 2, 4, 8}, {T(1), T(2), T(3), T(4)});
  // Snapshots with balances no fold gives, so that a load shows which it used.
  const std::string id = FormatId(kType, uuid);
  auto write = [&](int64_t version, const std::string& data, int64_t stamp) {
    est_snapshot_write_options o = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
    o.timestamp_ns = stamp;
    ASSERT_EST_OK(est_snapshot_write(store_, id.c_str(), version, data.data(), data.size(), "text/ledger", &o));
  };
  write(2, "1000 2", T(2));      // usable from T(2)
  write(3, "5000 3", T(3) + 5);  // taken after T(3)
  write(4, "9000 4", T(1));      // stamped early, but past the stream as of T(3)
  est_aggregate* agg = nullptr;
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(3), &agg));
  Keep(agg);
  EXPECT_EQ(est_aggregate_version(agg), 3);
  EXPECT_EQ(StateOf(agg).balance, 1004) << "the snapshot at 2, then event 3";
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(3) + 5, &agg));
  Keep(agg);
  EXPECT_EQ(StateOf(agg).balance, 5000);
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(4), &agg));
  Keep(agg);
  EXPECT_EQ(StateOf(agg).balance, 9000);
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(1), &agg));
  Keep(agg);
  EXPECT_EQ(StateOf(agg).balance, 1) << "no snapshot at or below version 1";
  EXPECT_EQ(Stats(astore).snapshots_used, 3);
}

TEST_P(AggregateTest, LoadAtNeitherReadsNorFillsTheCache) {
  est_aggregate_store* astore = NewAggregateStore(0, /*cache_capacity=*/4);
  const est_uuid uuid = NewUuidV7();
  RestoreDeposits(store_, uuid, {1, 2, 4}, {T(1), T(2), T(3)});
  Load(astore, uuid);  // the latest state, cached
  est_aggregate* agg = nullptr;
  ASSERT_EST_OK(est_aggregate_load_at(astore, &uuid, T(2), &agg));
  Keep(agg);
  EXPECT_EQ(StateOf(agg).balance, 3);
  EXPECT_EQ(Stats(astore).cache_hits, 0);
  est_aggregate* latest = Load(astore, uuid);
  EXPECT_EQ(StateOf(latest).balance, 7);
  EXPECT_EQ(Stats(astore).cache_hits, 1);
}

// ------------------------------------------------------------------- cache

TEST_P(AggregateTest, TheCacheServesLatestLoadsAndIsBypassedForAVersion) {
  est_aggregate_store* astore = NewAggregateStore(0, /*cache_capacity=*/4);
  const est_uuid uuid = Written(astore, 1, 5);
  est_aggregate* agg = Load(astore, uuid);
  EXPECT_EQ(StateOf(agg).balance, 5);
  est_aggregate_stats stats = Stats(astore);
  EXPECT_EQ(stats.cache_hits, 1);
  EXPECT_EQ(stats.events_applied, 0) << "the saved state came from the cache";

  est_aggregate* old = Load(astore, uuid, 3);
  EXPECT_EQ(StateOf(old).balance, 3);
  stats = Stats(astore);
  EXPECT_EQ(stats.cache_hits, 1);
  EXPECT_EQ(stats.cache_misses, 0) << "a load of a version does not consult the cache";
  EXPECT_EQ(stats.events_applied, 3);
}

TEST_P(AggregateTest, TheCacheCatchesUpWithSavesFromAnotherAggregateStore) {
  est_aggregate_store* cached = NewAggregateStore(0, /*cache_capacity=*/4);
  est_aggregate_store* other = NewAggregateStore();
  const est_uuid uuid = Written(cached, 1, 3);
  est_aggregate* writer = Load(other, uuid);
  Deposit(writer, 2, 10);

  est_aggregate* agg = Load(cached, uuid);
  EXPECT_EQ(est_aggregate_version(agg), 5);
  EXPECT_EQ(StateOf(agg).balance, 23);
  const est_aggregate_stats stats = Stats(cached);
  EXPECT_EQ(stats.cache_hits, 1);
  EXPECT_EQ(stats.events_applied, 2) << "only the events after the cached version";

  // A save from the stale side still conflicts: the cache never hides it.
  est_aggregate* stale = Load(other, uuid, 3);
  Queue(stale, "deposited", 1);
  EXPECT_REJECTED(EST_ERR_VERSION_MISMATCH, est_aggregate_save(stale, nullptr));
}

TEST_P(AggregateTest, TheCacheNeverServesAStreamThatWasDeletedAndWrittenAgain) {
  est_aggregate_store* cached = NewAggregateStore(0, /*cache_capacity=*/4);
  est_aggregate_store* other = NewAggregateStore();
  const est_uuid uuid = Written(cached, 1, 3);  // cached at version 3, balance 3
  ASSERT_EST_OK(est_delete_stream(store_, FormatId(kType, uuid).c_str(), 0));
  est_aggregate* rewrite = New(other, uuid);
  Deposit(rewrite, 4, 100);

  est_aggregate* agg = Load(cached, uuid);
  EXPECT_EQ(est_aggregate_version(agg), 4);
  EXPECT_EQ(StateOf(agg).balance, 400);
  EXPECT_EQ(Stats(cached).cache_hits, 0);
}

TEST_P(AggregateTest, TheCacheIsBoundedLeastRecentlyUsedFirst) {
  est_aggregate_store* astore = NewAggregateStore(0, /*cache_capacity=*/2);
  const est_uuid a = Written(astore, 1, 1);
  const est_uuid b = Written(astore, 1, 1);
  Load(astore, a);                      // hit; a is now the most recent
  const est_uuid c = Written(astore, 1, 1);  // evicts b
  EXPECT_EQ(Stats(astore).cache_hits, 1);
  Load(astore, a);
  Load(astore, c);
  EXPECT_EQ(Stats(astore).cache_hits, 3);
  Load(astore, b);
  EXPECT_EQ(Stats(astore).cache_hits, 3);
  EXPECT_EQ(Stats(astore).cache_misses, 1);
}

// ------------------------------------------------------------------- hooks

TEST_P(AggregateTest, HooksRunInOrderAroundLoadsAndSaves) {
  est_aggregate_store* astore = NewAggregateStore();
  std::vector<std::string> calls;
  HookSpec first{&calls, "a"};
  HookSpec second{&calls, "b"};
  for (int32_t stage = EST_HOOK_BEFORE_LOAD; stage <= EST_HOOK_AFTER_SAVE; ++stage) {
    ASSERT_EST_OK(est_aggregate_store_add_hook(astore, stage, RecordingHook, &first));
    ASSERT_EST_OK(est_aggregate_store_add_hook(astore, stage, RecordingHook, &second));
  }
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  Deposit(agg, 2);
  EXPECT_EQ(first.last_id, FormatId(kType, uuid));
  Load(astore, uuid, 1);
  const std::vector<std::string> expected = {"a:2:0", "b:2:0", "a:3:2", "b:3:2",
                                             "a:0:1", "b:0:1", "a:1:1", "b:1:1"};
  EXPECT_EQ(calls, expected);
}

TEST_P(AggregateTest, BeforeSaveHooksAddMetadataToEveryEvent) {
  est_aggregate_store* astore = NewAggregateStore();
  std::vector<std::string> calls;
  HookSpec hook{&calls, "h"};
  hook.metadata = {{"correlation", "c-1"}, {"causation", "k-9"}};
  ASSERT_EST_OK(est_aggregate_store_add_hook(astore, EST_HOOK_BEFORE_SAVE, RecordingHook, &hook));
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  Queue(agg, "deposited", 1);
  Queue(agg, "deposited", 2);
  ASSERT_EST_OK(est_aggregate_append_metadata(agg, "correlation", "own"));
  ASSERT_EST_OK(est_aggregate_append_metadata(agg, "note", "n"));
  ASSERT_EST_OK(est_aggregate_save(agg, nullptr));
  EXPECT_EST_OK(hook.add_status);

  ReadResult read = ReadStream(store_, FormatId(kType, uuid));
  ASSERT_EQ(read.events.size(), 2u);
  using Meta = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(read.events[0].metadata, (Meta{{"causation", "k-9"}, {"correlation", "c-1"}}));
  EXPECT_EQ(read.events[1].metadata, (Meta{{"causation", "k-9"}, {"correlation", "own"}, {"note", "n"}}))
      << "an event's own value wins over the hook's";
}

TEST_P(AggregateTest, AFailingBeforeSaveHookFailsTheSaveWithItsMessage) {
  est_aggregate_store* astore = NewAggregateStore();
  std::vector<std::string> calls;
  HookSpec hook{&calls, "h"};
  hook.fail = EST_ERR_UNSUPPORTED;
  hook.fail_message = "no saves today";
  ASSERT_EST_OK(est_aggregate_store_add_hook(astore, EST_HOOK_BEFORE_SAVE, RecordingHook, &hook));
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  Queue(agg, "deposited", 1);
  EXPECT_REJECTED(EST_ERR_UNSUPPORTED, est_aggregate_save(agg, nullptr));
  EXPECT_NE(std::string(est_last_error()).find("no saves today"), std::string::npos) << est_last_error();
  EXPECT_EQ(est_aggregate_pending(agg), 1u);
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).status, EST_ERR_NOT_FOUND);
}

TEST_P(AggregateTest, AFailingBeforeLoadHookFailsTheLoad) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 1);
  std::vector<std::string> calls;
  HookSpec hook{&calls, "h"};
  hook.fail = EST_ERR_INVALID_ARGUMENT;
  ASSERT_EST_OK(est_aggregate_store_add_hook(astore, EST_HOOK_BEFORE_LOAD, RecordingHook, &hook));
  est_aggregate* agg = nullptr;
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_load(astore, &uuid, 0, &agg));
  EXPECT_EQ(agg, nullptr);
  EXPECT_EQ(Stats(astore).loads, 0);
}

TEST_P(AggregateTest, AnAfterHookErrorIsLoggedAndTheOperationStands) {
  LogSink sink;
  est_set_log_handler(LogSink::Handle, &sink);
  est_aggregate_store* astore = NewAggregateStore();
  std::vector<std::string> calls;
  HookSpec hook{&calls, "h"};
  hook.fail = EST_ERR_IO;
  hook.fail_message = "after-save audit failed";
  ASSERT_EST_OK(est_aggregate_store_add_hook(astore, EST_HOOK_AFTER_SAVE, RecordingHook, &hook));
  est_aggregate* agg = New(astore, NewUuidV7());
  Queue(agg, "deposited", 1);
  EXPECT_EST_OK(est_aggregate_save(agg, nullptr));
  EXPECT_EQ(est_aggregate_version(agg), 1);
  EXPECT_TRUE(sink.Mentions("after-save audit failed"));
  est_set_log_handler(nullptr, nullptr);
}

TEST_P(AggregateTest, HooksAddOnlyUnreservedMetadataAndOnlyBeforeASave) {
  est_aggregate_store* astore = NewAggregateStore();
  std::vector<std::string> calls;
  HookSpec reserved{&calls, "r"};
  reserved.metadata = {{"estoria.trace", "x"}};
  ASSERT_EST_OK(est_aggregate_store_add_hook(astore, EST_HOOK_BEFORE_SAVE, RecordingHook, &reserved));
  est_aggregate* agg = New(astore, NewUuidV7());
  Queue(agg, "deposited", 1);
  EXPECT_EST_OK(est_aggregate_save(agg, nullptr));
  EXPECT_EQ(reserved.add_status, EST_ERR_INVALID_ARGUMENT);
  EXPECT_INVALID(est_hook_add_metadata(nullptr, "k", "v"));
}

// ----------------------------------------------------------- reserved keys

TEST_P(AggregateTest, AReservedMetadataKeyIsRefusedAtSaveWithNothingWritten) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  est_aggregate* agg = New(astore, uuid);
  Queue(agg, "deposited", 1);
  Queue(agg, "deposited", 2);
  ASSERT_EST_OK(est_aggregate_append_metadata(agg, "estoria.version", "7"));
  EXPECT_INVALID(est_aggregate_save(agg, nullptr));
  EXPECT_NE(std::string(est_last_error()).find("reserved"), std::string::npos) << est_last_error();
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).status, EST_ERR_NOT_FOUND);
  EXPECT_EQ(est_aggregate_version(agg), 0);
}

// ------------------------------------------------------- callback failures

TEST_P(AggregateTest, AHydrationErrorSurfacesWithTheCallbacksMessageAndNothingHalfApplied) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  Batch batch;
  batch.Add("deposited", "1").Add("poisoned", "2").Add("deposited", "3");
  ASSERT_EST_OK(Append(store_, FormatId(kType, uuid), batch.Bytes()).status);
  host_.fail_type = "poisoned";
  est_aggregate* agg = reinterpret_cast<est_aggregate*>(&host_);
  EXPECT_REJECTED(EST_ERR_INVALID_ARGUMENT, est_aggregate_load(astore, &uuid, 0, &agg));
  const std::string message = est_last_error();
  EXPECT_NE(message.find("refusing event of type poisoned"), std::string::npos) << message;
  EXPECT_TRUE(MentionsNumber(message, 2)) << "names the event's version: " << message;
  EXPECT_EQ(agg, nullptr);
  EXPECT_EQ(host_.live_states, 0) << "the half-built state is freed";
  EXPECT_EQ(Stats(astore).loads, 0);

  host_.fail_type.clear();
  EXPECT_EQ(StateOf(Load(astore, uuid)).balance, 6);
}

TEST_P(AggregateTest, AnApplyFailureAfterTheAppendIsAppliedPartially) {
  est_aggregate_store* astore = NewAggregateStore(0, /*cache_capacity=*/4);
  const est_uuid uuid = Written(astore, 1, 2);
  est_aggregate* agg = Load(astore, uuid);
  host_.fail_type = "poisoned";
  Queue(agg, "deposited", 5);
  Queue(agg, "poisoned", 1);
  est_append_result result = EST_APPEND_RESULT_INIT;
  EXPECT_REJECTED(EST_ERR_APPLIED_PARTIALLY, est_aggregate_save(agg, &result));
  EXPECT_NE(std::string(est_last_error()).find("refusing event of type poisoned"), std::string::npos)
      << est_last_error();
  EXPECT_EQ(result.first_version, 3);
  EXPECT_EQ(result.last_version, 4);
  EXPECT_EQ(ReadStream(store_, FormatId(kType, uuid)).events.size(), 4u) << "the events were appended";
  // Stale: no state, no further saves until reloaded.
  EXPECT_EQ(est_aggregate_state(agg), nullptr);
  EXPECT_EQ(est_aggregate_pending(agg), 0u);
  EXPECT_INVALID(est_aggregate_append(agg, "deposited", "1", 1, nullptr));
  EXPECT_INVALID(est_aggregate_save(agg, nullptr));

  host_.fail_type.clear();
  est_aggregate* reloaded = Load(astore, uuid);
  EXPECT_EQ(est_aggregate_version(reloaded), 4);
  EXPECT_EQ(StateOf(reloaded).balance, 2 + 5 + 1);
}

// --------------------------------------------------------------- bad input

TEST_P(AggregateTest, BadTypesAndOptionsAreRefused) {
  est_aggregate_store* astore = nullptr;
  est_aggregate_type type = Type();
  type.apply = nullptr;
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));
  type = Type();
  type.new_state = nullptr;
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));
  type = Type();
  type.free_state = nullptr;
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));
  type = Type();
  type.decode = nullptr;
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));
  type = Type();
  type.type_name = nullptr;
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));
  type.type_name = "_bad";
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));
  EXPECT_INVALID(est_aggregate_store_new(store_, nullptr, nullptr, &astore));
  type = Type();
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, nullptr));
  EXPECT_INVALID(est_aggregate_store_new(nullptr, &type, nullptr, &astore));
  type.struct_size = 4;
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, nullptr, &astore));

  // Snapshots or a cache need encode and decode.
  est_aggregate_type plain = Type(/*codec=*/false);
  est_aggregate_store_options options = EST_AGGREGATE_STORE_OPTIONS_INIT;
  options.snapshot_every = 10;
  EXPECT_INVALID(est_aggregate_store_new(store_, &plain, &options, &astore));
  options = EST_AGGREGATE_STORE_OPTIONS_INIT;
  options.cache_capacity = 10;
  EXPECT_INVALID(est_aggregate_store_new(store_, &plain, &options, &astore));
  options = EST_AGGREGATE_STORE_OPTIONS_INIT;
  options.snapshot_keep_last = -1;
  type = Type();
  EXPECT_INVALID(est_aggregate_store_new(store_, &type, &options, &astore));
  EXPECT_EQ(astore, nullptr);

  // Without a codec and without snapshots or cache it is fine.
  EXPECT_EST_OK(est_aggregate_store_new(store_, &plain, nullptr, &astore));
  est_aggregate_store_free(astore);
}

TEST_P(AggregateTest, BadCallsOnAggregatesAreRefused) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = NewUuidV7();
  est_aggregate* out = nullptr;
  EXPECT_INVALID(est_aggregate_load(astore, nullptr, 0, &out));
  EXPECT_INVALID(est_aggregate_load(astore, &uuid, -1, &out));
  EXPECT_INVALID(est_aggregate_load(astore, &uuid, 0, nullptr));
  EXPECT_INVALID(est_aggregate_load(nullptr, &uuid, 0, &out));
  EXPECT_INVALID(est_aggregate_new(nullptr, &uuid, &out));
  EXPECT_INVALID(est_aggregate_store_add_hook(astore, 7, RecordingHook, nullptr));
  EXPECT_INVALID(est_aggregate_store_add_hook(astore, EST_HOOK_AFTER_LOAD, nullptr, nullptr));

  est_aggregate* agg = New(astore, uuid);
  EXPECT_INVALID(est_aggregate_append_metadata(agg, "k", "v")) << "metadata before any event";
  EXPECT_INVALID(est_aggregate_append(agg, "bad type_", "1", 1, nullptr));
  EXPECT_INVALID(est_aggregate_append(agg, nullptr, "1", 1, nullptr));
  EXPECT_INVALID(est_aggregate_append(agg, "deposited", nullptr, 1, nullptr));
  EXPECT_INVALID(est_aggregate_append(nullptr, "deposited", "1", 1, nullptr));
  EXPECT_EQ(est_aggregate_pending(agg), 0u);
  Queue(agg, "deposited", 1);
  ASSERT_EST_OK(est_aggregate_append_metadata(agg, "k", "v"));
  EXPECT_INVALID(est_aggregate_append_metadata(agg, "k", "w"));
  EXPECT_INVALID(est_aggregate_append_metadata(agg, "", "w"));
  EXPECT_INVALID(est_aggregate_save(nullptr, nullptr));
  EXPECT_EQ(est_aggregate_state(nullptr), nullptr);
  EXPECT_EQ(est_aggregate_version(nullptr), 0);
  EXPECT_STREQ(est_aggregate_id(nullptr), "");
  est_aggregate_stats stats = EST_AGGREGATE_STATS_INIT;
  EXPECT_INVALID(est_aggregate_store_stats(nullptr, &stats));
  EXPECT_INVALID(est_aggregate_store_stats(astore, nullptr));
  EXPECT_INVALID(est_buffer_append(nullptr, "x", 1));
  est_aggregate_free(nullptr);
  est_aggregate_store_free(nullptr);
}

TEST_P(AggregateTest, AClosedStoreMakesItsAggregatesClosed) {
  est_aggregate_store* astore = NewAggregateStore();
  const est_uuid uuid = Written(astore, 1, 2);
  est_aggregate* agg = Load(astore, uuid);
  Queue(agg, "deposited", 1);
  CloseStore();
  est_aggregate* out = nullptr;
  EXPECT_REJECTED(EST_ERR_CLOSED, est_aggregate_load(astore, &uuid, 0, &out));
  EXPECT_EQ(out, nullptr);
  EXPECT_REJECTED(EST_ERR_CLOSED, est_aggregate_new(astore, &uuid, &out));
  EXPECT_REJECTED(EST_ERR_CLOSED, est_aggregate_save(agg, nullptr));
  EXPECT_EQ(est_aggregate_pending(agg), 1u);
  EXPECT_EQ(est_aggregate_version(agg), 2);
  // TearDown frees the handles after the store: any order is allowed.
}

}  // namespace
}  // namespace estoria::acceptance
