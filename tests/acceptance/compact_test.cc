// est_store_compact: rewriting the log without deleted and truncated events
// keeps everything live exactly as it reads (every stream's events with their
// versions, positions, ids, types, data, metadata, content types and
// timestamps; the global order; the stream list; snapshots; stats), across a
// reopen too, while appends, reads and iterators begun earlier go on. The
// report and the progress callback account for what was reclaimed.
//
// Per backend: the file store reclaims (its segments are made small here, so
// that what is deleted lies in sealed segments, the only ones compaction
// rewrites); memory has nothing to reclaim (EST_OK, a zeroed report,
// everything unchanged); PostgreSQL reclaims in place (VACUUM) and refuses
// with EST_ERR_UNSUPPORTED, so its tests stop there.
#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/acceptance/acceptance.h"

namespace estoria::acceptance {
namespace {

// Small enough that one round of Populate's appends (a few KiB) spans less
// than a segment, so that every sealed segment holds deleted events.
constexpr int kSegmentBytes = 8192;
constexpr int kRounds = 25;     // Populate: batches per stream
constexpr int kPerBatch = 2;    // events per batch
constexpr int kTip = kRounds * kPerBatch;
constexpr int kTruncatedTo = 20;

// Everything a reader can observe of a store, for before/after comparisons.
struct Image {
  struct Listed {
    std::string id;
    int64_t version = 0;
    int64_t events = 0;
    bool operator==(const Listed&) const = default;
  };
  std::map<std::string, std::pair<est_status, std::vector<Event>>> streams;  // forward reads
  std::map<std::string, std::vector<Event>> reversed;                        // reverse reads of live streams
  std::vector<Event> all;
  std::vector<Listed> listed;
  std::map<std::pair<std::string, int64_t>, SnapshotRead> snapshots;  // (id, max_version)
  int64_t events = 0, stream_count = 0, first_position = 0, last_position = 0, snapshot_count = 0;
};

// Field by field, so that a failure says which part differs.
void ExpectSameImage(const Image& a, const Image& b, const std::string& when) {
  SCOPED_TRACE(when);
  for (const auto& [id, read] : a.streams) {
    auto other = b.streams.find(id);
    ASSERT_NE(other, b.streams.end()) << id;
    EXPECT_EQ(read.first, other->second.first) << "read status of " << id;
    EXPECT_EQ(read.second, other->second.second) << "events of " << id;
  }
  EXPECT_EQ(a.reversed, b.reversed) << "reverse reads";
  EXPECT_EQ(a.all.size(), b.all.size());
  EXPECT_TRUE(a.all == b.all) << "read_all differs";
  EXPECT_TRUE(a.listed == b.listed) << "est_list_streams differs";
  EXPECT_TRUE(a.snapshots == b.snapshots) << "snapshots differ";
  EXPECT_EQ(a.events, b.events) << "stats.events";
  EXPECT_EQ(a.stream_count, b.stream_count) << "stats.streams";
  EXPECT_EQ(a.first_position, b.first_position) << "stats.first_position";
  EXPECT_EQ(a.last_position, b.last_position) << "stats.last_position";
  EXPECT_EQ(a.snapshot_count, b.snapshot_count) << "stats.snapshots";
}

struct ProgressLog {
  std::vector<std::pair<uint64_t, uint64_t>> calls;  // (done, total)
  static void Record(void* user, uint64_t done, uint64_t total) {
    static_cast<ProgressLog*>(user)->calls.emplace_back(done, total);
  }
};

class CompactTest : public Acceptance {
 protected:
  void SetUp() override {
    Acceptance::SetUp();
    if (HasFatalFailure()) return;
    if (GetParam().name == "postgres") {
      const std::vector<Event> before = Everything();
      est_compact_report report = EST_COMPACT_REPORT_INIT;
      EXPECT_REJECTED(EST_ERR_UNSUPPORTED, est_store_compact(store_, nullptr, nullptr, &report));
      EXPECT_EQ(Everything(), before);
      GTEST_SKIP() << "PostgreSQL reclaims in place (VACUUM): compaction is unsupported there";
    }
    if (Reclaims()) {  // reopen the fresh directory with small segments
      base_uri_ = uri_;
      CloseStore();
      uri_ = base_uri_ + "?segment_bytes=" + std::to_string(kSegmentBytes);
      ASSERT_EST_OK(est_store_open(uri_.c_str(), nullptr, &store_)) << uri_;
    }
    for (const char* type : {"account", "account", "ledger", "ledger", "order", "order", "import"}) {
      ids_.push_back(NewStreamId(type));
    }
    filler_ = NewStreamId("filler");
  }

  void TearDown() override {
    if (!base_uri_.empty()) uri_ = base_uri_;  // cleanup removes the directory, not "dir?query"
    Acceptance::TearDown();
  }

  bool Reclaims() const { return GetParam().name == "file"; }

  const std::string& rich() const { return ids_[0]; }          // live, varied events
  const std::string& plain() const { return ids_[1]; }         // live
  const std::string& truncated() const { return ids_[2]; }     // truncated to kTruncatedTo
  const std::string& emptied() const { return ids_[3]; }       // truncated to its tip
  const std::string& doomed() const { return ids_[4]; }        // deleted wholly
  const std::string& doomed_too() const { return ids_[5]; }    // deleted wholly
  const std::string& restored() const { return ids_[6]; }      // written with EST_APPEND_RESTORE

  // kRounds rounds of one kPerBatch-event batch to each stream, interleaved
  // so that every segment holds events of the streams deleted later; then
  // snapshots, some pruned.
  void Populate() {
    for (int round = 0; round < kRounds; ++round) {
      for (size_t s = 0; s < ids_.size(); ++s) {
        Batch batch;
        for (int i = 0; i < kPerBatch; ++i) {
          NewEvent e;
          const std::string tag = std::to_string(s) + "." + std::to_string(round) + "." + std::to_string(i);
          e.type = (i % 2 == 0) ? "deposited" : "withdrawn";
          e.data = "payload " + tag + " " + std::string(48, static_cast<char>('a' + s));
          if (s == 0) {  // binary data, metadata and content types
            e.data = std::string("\0\x01\xff", 3) + tag + std::string(1, '\0') + std::string(40, '\x80');
            e.content_type = (i % 2 == 0) ? "application/octet-stream" : "";
            e.metadata = {{"causation", "c-" + tag}, {"correlation", "line\nbreak " + tag}};
          } else if (s == 1) {
            e.content_type = "application/json";
            e.data = "{\"n\":\"" + tag + "\"}";
          }
          if (s == 6) {
            e.has_id = true;
            e.id = NewUuidV7();
            e.timestamp_ns = 1600000000000000000 + round * 1000 + i;
          }
          batch.Add(e);
        }
        if (s == 6) {
          const est_append_options restore = Restore(round == 0 ? 1000 : 0);
          ASSERT_EST_OK(Append(store_, ids_[s], batch.Bytes(), &restore).status);
        } else {
          ASSERT_EST_OK(Append(store_, ids_[s], batch.Bytes()).status);
        }
      }
    }
    for (int64_t v : {10, 20, 30, 40}) {
      const std::string data = "state@" + std::to_string(v);
      ASSERT_EST_OK(est_snapshot_write(store_, rich().c_str(), v, data.data(), data.size(), "text/plain", nullptr));
    }
    ASSERT_EST_OK(est_snapshot_prune(store_, rich().c_str(), 2, 0));  // keeps 30 and 40
    ASSERT_EST_OK(est_snapshot_write(store_, truncated().c_str(), 5, "t5", 2, nullptr, nullptr));
    ASSERT_EST_OK(est_snapshot_write(store_, truncated().c_str(), 30, "t30", 3, nullptr, nullptr));
    ASSERT_EST_OK(est_snapshot_write(store_, doomed().c_str(), 7, "d7", 2, nullptr, nullptr));
    ASSERT_EST_OK(est_snapshot_write(store_, plain().c_str(), 50, std::string("\0bin", 4).data(), 4,
                                     "application/octet-stream", nullptr));
  }

  // Deletes two streams wholly and truncates two (one to its tip); returns
  // how many events that removed.
  int64_t DeleteSome() {
    EXPECT_EST_OK(est_delete_stream(store_, doomed().c_str(), 0));
    EXPECT_EST_OK(est_delete_stream(store_, doomed_too().c_str(), 0));
    EXPECT_EST_OK(est_delete_stream(store_, truncated().c_str(), kTruncatedTo));  // drops snapshot 5
    EXPECT_EST_OK(est_delete_stream(store_, emptied().c_str(), kTip));
    return 2 * kTip + kTruncatedTo + kTip;
  }

  // On the file store: appends one-event batches to a filler stream until a
  // new segment begins, so that everything deleted so far lies in sealed
  // segments. Returns the filler events appended (0 elsewhere).
  int64_t SealTheActiveSegment() {
    if (!Reclaims()) return 0;
    est_stats stats = EST_STATS_INIT;
    EXPECT_EST_OK(est_store_stats(store_, &stats));
    const int64_t segments = stats.segments;
    int64_t filler = 0;
    while (stats.segments == segments && filler < 10000) {
      AppendN(store_, filler_, 1, "filler");
      ++filler;
      EXPECT_EST_OK(est_store_stats(store_, &stats));
    }
    EXPECT_GT(stats.segments, segments) << "the log never rolled to a new segment";
    return filler;
  }

  Image TakeImage(const std::vector<std::string>& extra_ids = {}) {
    Image image;
    std::vector<std::string> ids = ids_;
    ids.insert(ids.end(), extra_ids.begin(), extra_ids.end());
    for (const std::string& id : ids) {
      ReadResult forward = ReadStream(store_, id);
      image.streams[id] = {forward.status, forward.events};
      if (forward.status == EST_OK) image.reversed[id] = ReadStream(store_, id, EST_REVERSE).events;
      for (int64_t max_version : {0, 5, 10, 20, 30, 35, 50, 100}) {
        image.snapshots[{id, max_version}] = ReadSnapshot(store_, id, max_version);
      }
    }
    image.all = ReadAll(store_).events;
    std::string after;
    for (;;) {
      est_stream_info page[4];
      page[0] = EST_STREAM_INFO_INIT;
      size_t count = 0;
      EXPECT_EST_OK(est_list_streams(store_, after.empty() ? nullptr : after.c_str(), page, 4, &count));
      for (size_t i = 0; i < count; ++i) image.listed.push_back({page[i].id, page[i].version, page[i].events});
      if (count < 4) break;
      after = page[count - 1].id;
    }
    est_stats stats = EST_STATS_INIT;
    EXPECT_EST_OK(est_store_stats(store_, &stats));
    image.events = stats.events;
    image.stream_count = stats.streams;
    image.first_position = stats.first_position;
    image.last_position = stats.last_position;
    image.snapshot_count = stats.snapshots;
    return image;
  }

  est_stats Stats() {
    est_stats stats = EST_STATS_INIT;
    EXPECT_EST_OK(est_store_stats(store_, &stats));
    return stats;
  }

  // Checks that `log` is a proper progress sequence ending at its total.
  void ExpectProgressRisesToItsTotal(const ProgressLog& log, const est_compact_report& report) {
    if (!Reclaims()) return;  // memory has no bytes to report progress in
    ASSERT_FALSE(log.calls.empty()) << "the progress callback was never called";
    const uint64_t total = log.calls.front().second;
    uint64_t done = 0;
    for (const auto& [d, t] : log.calls) {
      EXPECT_EQ(t, total) << "the total changed during compaction";
      EXPECT_GE(d, done) << "progress went backwards";
      EXPECT_LE(d, t);
      done = d;
    }
    EXPECT_EQ(log.calls.back().first, total) << "progress did not end at its total";
    EXPECT_EQ(static_cast<int64_t>(total), report.bytes_before) << "progress counts the old segments' bytes";
  }

  void ExpectZeroReport(const est_compact_report& report) {
    EXPECT_EQ(report.struct_size, sizeof(est_compact_report));
    EXPECT_EQ(report.segments_before, 0);
    EXPECT_EQ(report.segments_after, 0);
    EXPECT_EQ(report.bytes_before, 0);
    EXPECT_EQ(report.bytes_after, 0);
    EXPECT_EQ(report.events_kept, 0);
    EXPECT_EQ(report.events_dropped, 0);
  }

  std::vector<std::string> ids_;
  std::string filler_;
  std::string base_uri_;
};

TEST_P(CompactTest, KeepsEverythingLiveIdenticalAndReportsWhatItReclaimed) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const int64_t deleted = DeleteSome();
  const int64_t filler = SealTheActiveSegment();
  ASSERT_FALSE(HasFailure());
  const Image before = TakeImage({filler_});
  const est_stats stats_before = Stats();
  ASSERT_EQ(before.events, 3 * kTip + (kTip - kTruncatedTo) + filler);
  ASSERT_EQ(before.snapshot_count, 4);  // rich 30 and 40, truncated 30, plain 50

  ProgressLog progress;
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store_, &ProgressLog::Record, &progress, &report));

  ExpectSameImage(before, TakeImage({filler_}), "after compaction");
  if (Reclaims()) {
    EXPECT_EQ(report.events_dropped, deleted);
    EXPECT_LE(report.events_kept, before.events);
    // Only the active segment's events, all filler, may be left out.
    EXPECT_GE(report.events_kept, before.events - filler);
    EXPECT_GT(report.segments_before, 0);
    EXPECT_GT(report.segments_after, 0);
    EXPECT_LT(report.bytes_after, report.bytes_before);
    EXPECT_GT(report.bytes_after, 0);
    EXPECT_LT(Stats().bytes, stats_before.bytes) << "the store's files did not shrink";
    ExpectProgressRisesToItsTotal(progress, report);
  } else {
    ExpectZeroReport(report);
  }

  // Appends go on where the streams were, at new positions; the stream
  // truncated to its tip keeps its version.
  const est_append_options at_tip = ExpectVersion(kTip);
  AppendOutcome more = Append(store_, emptied(), SimpleBatch(2, "after"), &at_tip);
  ASSERT_EST_OK(more.status);
  EXPECT_EQ(more.result.first_version, kTip + 1);
  EXPECT_GT(more.result.first_position, before.last_position);
  EXPECT_EQ(Versions(ReadStream(store_, emptied()).events), Range(kTip + 1, kTip + 2));
  const est_append_options at_truncated_tip = ExpectVersion(kTip);
  AppendOutcome also = Append(store_, truncated(), SimpleBatch(1, "after"), &at_truncated_tip);
  ASSERT_EST_OK(also.status);
  EXPECT_EQ(also.result.first_version, kTip + 1);
  EXPECT_GT(also.result.first_position, more.result.last_position);
  EXPECT_EQ(Versions(ReadStream(store_, truncated()).events), Range(kTruncatedTo + 1, kTip + 1));
  // A deleted stream's ID starts again at version 1.
  const est_append_options no_stream = ExpectNoStream();
  AppendOutcome reborn = Append(store_, doomed(), SimpleBatch(1, "reborn"), &no_stream);
  ASSERT_EST_OK(reborn.status);
  EXPECT_EQ(reborn.result.first_version, 1);
  const ReadResult tail = ReadAll(store_, before.last_position);
  EXPECT_EQ(tail.events.size(), 4u);
}

TEST_P(CompactTest, ASecondCompactionWithNothingNewToReclaimDropsNothing) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  DeleteSome();
  SealTheActiveSegment();
  est_compact_report first = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, &first));
  const Image before = TakeImage({filler_});

  ProgressLog progress;
  est_compact_report second = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store_, &ProgressLog::Record, &progress, &second));
  EXPECT_EQ(second.events_dropped, 0);
  EXPECT_LE(second.bytes_after, second.bytes_before);
  if (!Reclaims()) ExpectZeroReport(second);
  ExpectSameImage(before, TakeImage({filler_}), "after the second compaction");

  // NULL progress and report are fine too.
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, nullptr));
  ExpectSameImage(before, TakeImage({filler_}), "after the third compaction");
}

TEST_P(CompactTest, ACompactedStoreReopensIdenticallyAndContinues) {
  if (!GetParam().persistent) GTEST_SKIP() << GetParam().name << " does not persist";
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  DeleteSome();
  SealTheActiveSegment();
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, nullptr));
  const Image before = TakeImage({filler_});

  ReopenStore();
  ExpectSameImage(before, TakeImage({filler_}), "after reopening the compacted store");

  const est_append_options at_tip = ExpectVersion(kTip);
  AppendOutcome more = Append(store_, plain(), SimpleBatch(3, "reopened"), &at_tip);
  ASSERT_EST_OK(more.status);
  EXPECT_EQ(more.result.first_version, kTip + 1);
  EXPECT_GT(more.result.first_position, before.last_position) << "a position was reused after compaction";
  AppendOutcome emptied_more = Append(store_, emptied(), SimpleBatch(1, "reopened"), &at_tip);
  ASSERT_EST_OK(emptied_more.status);
  EXPECT_EQ(emptied_more.result.first_version, kTip + 1) << "the emptied stream lost its tip";

  // Deleting more after the reopen, compacting and reopening again keeps
  // what is live.
  ASSERT_EST_OK(est_delete_stream(store_, rich().c_str(), 0));
  SealTheActiveSegment();
  const Image second = TakeImage({filler_});
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, &report));
  if (Reclaims()) {
    EXPECT_EQ(report.events_dropped, kTip) << "the deleted stream's events";
  }
  ReopenStore();
  ExpectSameImage(second, TakeImage({filler_}), "after the second compaction and reopen");
}

TEST_P(CompactTest, IteratorsAndViewsBegunBeforeCompactionReadWhatTheyBeganWith) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  const std::vector<Event> all_before = Everything();
  const std::vector<Event> doomed_before = ReadStream(store_, doomed()).events;
  const std::vector<Event> truncated_before = ReadStream(store_, truncated()).events;
  ASSERT_EQ(doomed_before.size(), static_cast<size_t>(kTip));

  // Begun before the deletions: each has handed out one view.
  est_iter* all = nullptr;
  est_iter* gone = nullptr;
  est_iter* cut = nullptr;
  ASSERT_EST_OK(est_read_all(store_, nullptr, &all));
  ASSERT_EST_OK(est_read_stream(store_, doomed().c_str(), nullptr, &gone));
  ASSERT_EST_OK(est_read_stream(store_, truncated().c_str(), nullptr, &cut));
  est_event all_view = EST_EVENT_INIT;
  est_event gone_view = EST_EVENT_INIT;
  est_event cut_view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(all, &all_view));
  ASSERT_EST_OK(est_iter_next(gone, &gone_view));
  ASSERT_EST_OK(est_iter_next(cut, &cut_view));
  ASSERT_EQ(CopyEvent(all_view), all_before.front());

  DeleteSome();
  SealTheActiveSegment();
  // Begun after the deletions, before compaction.
  est_iter* live = nullptr;
  ASSERT_EST_OK(est_read_all(store_, nullptr, &live));
  const std::vector<Event> live_before = ReadAll(store_).events;
  est_event live_view = EST_EVENT_INIT;
  ASSERT_EST_OK(est_iter_next(live, &live_view));

  est_compact_report report = EST_COMPACT_REPORT_INIT;
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, &report));
  if (Reclaims()) {
    EXPECT_GT(report.events_dropped, 0);
  }

  // The views are still readable, and the same.
  EXPECT_EQ(CopyEvent(all_view), all_before.front());
  EXPECT_EQ(CopyEvent(gone_view), doomed_before.front());
  EXPECT_EQ(CopyEvent(cut_view), truncated_before.front());
  EXPECT_EQ(CopyEvent(live_view), live_before.front());
  // The iterators go on with what they began with, deleted events included.
  auto rest = [](est_iter* it, const est_event& first_view) {
    std::vector<Event> out{CopyEvent(first_view)};
    for (Event& e : Drain(it)) out.push_back(std::move(e));
    return out;
  };
  EXPECT_TRUE(rest(all, all_view) == all_before) << "read_all iterator begun before compaction";
  EXPECT_TRUE(rest(gone, gone_view) == doomed_before) << "iterator over a stream deleted and compacted away";
  EXPECT_TRUE(rest(cut, cut_view) == truncated_before) << "iterator over a stream truncated and compacted";
  EXPECT_TRUE(rest(live, live_view) == live_before) << "read_all iterator begun after the deletions";
}

TEST_P(CompactTest, CompactionBesideConcurrentAppendsLosesNothing) {
  Populate();
  ASSERT_FALSE(HasFatalFailure());
  DeleteSome();
  SealTheActiveSegment();
  const Image before = TakeImage({filler_});

  // Another thread appends to two new streams while this one compacts.
  const std::vector<std::string> busy = {NewStreamId("busy"), NewStreamId("busy")};
  constexpr int kBatches = 150;
  constexpr int kSize = 3;
  std::vector<est_append_result> results(kBatches);
  std::vector<est_status> statuses(kBatches, EST_OK);
  std::atomic<bool> finished{false};
  std::thread appender([&] {
    for (int b = 0; b < kBatches; ++b) {
      Batch batch;
      for (int i = 0; i < kSize; ++i) batch.Add("ticked", "b" + std::to_string(b) + "." + std::to_string(i));
      results[b] = EST_APPEND_RESULT_INIT;
      statuses[b] = est_append_batch(store_, busy[b % 2].c_str(), batch.get(), nullptr, &results[b], nullptr);
    }
    finished = true;
  });
  int compactions = 0;
  do {
    est_compact_report report = EST_COMPACT_REPORT_INIT;
    EXPECT_EST_OK(est_store_compact(store_, nullptr, nullptr, &report));
    ++compactions;
  } while (!finished && compactions < 50);
  appender.join();
  EXPECT_GE(compactions, 1);

  // Every append landed whole, where its result said, with its data.
  int64_t last_position = before.last_position;
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_EQ(statuses[b], EST_OK) << "batch " << b << ": " << est_status_name(statuses[b]);
    EXPECT_EQ(results[b].first_version, b / 2 * kSize + 1) << "batch " << b;
    EXPECT_GT(results[b].first_position, last_position) << "batch " << b;
    last_position = results[b].last_position;
  }
  for (int s = 0; s < 2; ++s) {
    const std::vector<Event> events = ReadStream(store_, busy[s]).events;
    ASSERT_EQ(events.size(), static_cast<size_t>(kBatches / 2 * kSize)) << busy[s];
    for (size_t k = 0; k < events.size(); ++k) {
      const int b = static_cast<int>(k / kSize) * 2 + s;
      const int i = static_cast<int>(k % kSize);
      EXPECT_EQ(events[k].stream_version, static_cast<int64_t>(k) + 1);
      EXPECT_EQ(events[k].data, "b" + std::to_string(b) + "." + std::to_string(i));
      if (i == 0) {
        EXPECT_EQ(events[k].global_position, results[b].first_position) << "batch " << b;
      }
      if (i == kSize - 1) {
        EXPECT_EQ(events[k].global_position, results[b].last_position) << "batch " << b;
      }
    }
  }
  // What was there before is unchanged; read_all holds both, in order.
  Image after = TakeImage({filler_});
  std::vector<Event> old_part;
  std::set<std::string> busy_ids(busy.begin(), busy.end());
  int64_t previous = 0;
  for (const Event& e : after.all) {
    EXPECT_GT(e.global_position, previous);
    previous = e.global_position;
    if (busy_ids.count(FormatId(e.stream_type, e.stream_uuid)) == 0) old_part.push_back(e);
  }
  EXPECT_EQ(after.all.size(), before.all.size() + static_cast<size_t>(kBatches * kSize));
  EXPECT_TRUE(old_part == before.all) << "events present before the concurrent appends changed";
  EXPECT_EQ(after.streams, before.streams);
  EXPECT_TRUE(after.snapshots == before.snapshots);
  EXPECT_EQ(after.events, before.events + kBatches * kSize);
}

TEST_P(CompactTest, ANullStoreIsInvalid) {
  est_compact_report report = EST_COMPACT_REPORT_INIT;
  EXPECT_INVALID(est_store_compact(nullptr, nullptr, nullptr, &report));
  EXPECT_INVALID(est_store_compact(nullptr, &ProgressLog::Record, nullptr, nullptr));
  // An empty store has nothing to reclaim.
  ASSERT_EST_OK(est_store_compact(store_, nullptr, nullptr, &report));
  EXPECT_EQ(report.events_dropped, 0);
  EXPECT_EQ(report.events_kept, 0);
  EXPECT_TRUE(Everything().empty());
}

ESTORIA_ACCEPTANCE_SUITE(CompactTest);

}  // namespace
}  // namespace estoria::acceptance
