// follow_writer: the writer process of tests/readers (and of the unclean-stop
// part of tests/acceptance/large_store_test.cc). It uses only the C ABI, so
// what the readers prove holds for every host. One thread appends; the
// reader under test is another process that opened the directory read-only.
//
//   follow_writer DIR [key=value ...]
//     streams=K        live streams written, round robin with jumps (default 3)
//     batches=N        batches to append; 0 = until killed (default 200)
//     segment_bytes=N  passed in the URI, so that small values roll segments
//     sync=always|none durability (default always)
//     pause_us=N       sleep between batches (default 0)
//     doomed_every=N   every Nth batch goes to the doomed stream (default 0 =
//                      no doomed stream)
//     compact_at=N     after batch N: delete the doomed stream wholly, print
//                      "deleted", call est_store_compact and print
//                      "compacted KEPT DROPPED" (default 0 = never)
//     hold=1           after the last batch print "done" and obey stdin
//                      commands until it closes: "delete" (the doomed
//                      stream), "compact", "append K" (K more batches);
//                      each answered by its line below
//     seed=N           batch sizes (default: random)
//     txn=K            each batch is a transaction (est_txn_*) of 2 to K
//                      appends to distinct live streams (K >= 2, at most
//                      `streams`; no doomed stream)
//
// Protocol (stdout; one write(2) per line, each shorter than PIPE_BUF, so a
// SIGKILL never leaves half a line that looks whole):
//   ready PID
//   ack BATCH STREAM SIZE FIRST_VERSION LAST_VERSION FIRST_POSITION LAST_POSITION
//   deleted
//   compacted EVENTS_KEPT EVENTS_DROPPED BYTES_BEFORE BYTES_AFTER
//   appended            (after "append K" finished)
//   done                (with hold=1, once the batches are in)
//   closed              (the store is closed; the process exits 0)
//   error STATUS_NAME MESSAGE             (then exit status 2)
// An ack is written only after est_append returned EST_OK: under sync=always
// the batch is durable and published to readers by then. STREAM is the
// stream's index, K (= streams) for the doomed stream.
//
// Every event's data is "b=BATCH i=INDEX n=SIZE s=STREAM v=VERSION" and its
// type "tick"; batch sizes are 1..50. A transaction's events are numbered
// across its appends (INDEX 0..SIZE-1 over every stream it writes), so a
// reader checks it whole exactly as a batch; its ack names the first
// append's stream and first version and the last append's last version,
// which is what a reader sees of it in position order. Batches are numbered from 1 and appended
// in that order, one at a time, so their positions ascend with their numbers.
#define EST_EXPERIMENTAL 1  // est_txn_*

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "estoria/estoria.h"
#include "tests/common/child_process.h"

namespace {

constexpr int kMaxBatch = 50;
constexpr auto kMaxRunTime = std::chrono::seconds(120);  // a lost parent never leaves us running

// The protocol's lines, and the stream IDs shared with the checkers
// (reader_process_test.cc and large_store_test.cc).
using estoria::test::Fail;
using estoria::test::FollowStreamId;
using estoria::test::WriteLine;

struct Settings {
  std::string dir;
  int streams = 3;
  int64_t batches = 200;
  int64_t segment_bytes = 0;
  bool sync_always = true;
  int64_t pause_us = 0;
  int64_t doomed_every = 0;
  int64_t compact_at = 0;
  bool hold = false;
  uint64_t seed = 0;
  bool seeded = false;
  int txn = 0;  // 0: plain appends; else at most this many appends per transaction
};

bool Parse(int argc, char** argv, Settings* s) {
  if (argc < 2) return false;
  s->dir = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (eq == std::string::npos) return false;
    std::string key = arg.substr(0, eq);
    std::string value = arg.substr(eq + 1);
    long long n = std::strtoll(value.c_str(), nullptr, 10);
    if (key == "streams" && n > 0) {
      s->streams = static_cast<int>(n);
    } else if (key == "batches" && n >= 0) {
      s->batches = n;
    } else if (key == "segment_bytes") {
      s->segment_bytes = n;
    } else if (key == "sync" && (value == "always" || value == "none")) {
      s->sync_always = value == "always";
    } else if (key == "pause_us" && n >= 0) {
      s->pause_us = n;
    } else if (key == "doomed_every" && n >= 0) {
      s->doomed_every = n;
    } else if (key == "compact_at" && n >= 0) {
      s->compact_at = n;
    } else if (key == "hold") {
      s->hold = n != 0;
    } else if (key == "txn" && n >= 2) {
      s->txn = static_cast<int>(n);
    } else if (key == "seed") {
      s->seed = static_cast<uint64_t>(n);
      s->seeded = true;
    } else {
      return false;
    }
  }
  // A transaction writes distinct live streams; the doomed one is not among them.
  return s->txn == 0 || (s->txn <= s->streams && s->doomed_every == 0 && s->compact_at == 0);
}

class Writer {
 public:
  Writer(est_store* store, const Settings& settings)
      : store_(store), settings_(settings), tips_(static_cast<size_t>(settings.streams) + 1, 0) {
    rng_.seed(settings.seeded ? settings.seed : std::random_device{}());
  }

  // `count` events of batch b for `stream` at its tip: indexes from
  // first_index, of a batch of n events in all.
  static est_batch* Ticks(int64_t b, int first_index, int count, int n, int stream, int64_t tip) {
    est_batch* batch = nullptr;
    est_status st = est_batch_new(&batch);
    if (st != EST_OK) Fail("est_batch_new", st);
    for (int i = 0; i < count; ++i) {
      const std::string data = "b=" + std::to_string(b) + " i=" + std::to_string(first_index + i) +
                               " n=" + std::to_string(n) + " s=" + std::to_string(stream) +
                               " v=" + std::to_string(tip + 1 + i);
      if ((st = est_batch_add(batch, "tick", data.data(), data.size(), "text/plain")) != EST_OK) {
        Fail("est_batch_add", st);
      }
    }
    return batch;
  }

  // Appends batch number next_batch_ (and advances it).
  void AppendOne() {
    if (settings_.txn > 0) return CommitTxn();
    const int64_t b = next_batch_++;
    int stream = static_cast<int>(rng_() % static_cast<uint64_t>(settings_.streams));
    if (settings_.doomed_every > 0 && !doomed_deleted_ && b % settings_.doomed_every == 0) {
      stream = settings_.streams;
    }
    const int n = 1 + static_cast<int>(rng_() % kMaxBatch);
    const int64_t tip = tips_[static_cast<size_t>(stream)];
    est_batch* batch = Ticks(b, 0, n, n, stream, tip);
    // The version is named in the payload before the store assigns it: the
    // expectation makes a disagreement an error instead of a wrong payload.
    est_append_options options = EST_APPEND_OPTIONS_INIT;
    options.expect = EST_EXPECT_VERSION;
    options.expected_version = tip;
    est_append_result result = EST_APPEND_RESULT_INIT;
    est_status st =
        est_append_batch(store_, FollowStreamId(stream, settings_.streams).c_str(), batch, &options, &result, nullptr);
    est_batch_free(batch);
    if (st != EST_OK) Fail("est_append_batch", st);
    tips_[static_cast<size_t>(stream)] = result.last_version;
    Acknowledge(b, stream, n, result, result);
  }

  // Batch number next_batch_ as one transaction of 2..txn appends to
  // distinct streams, each expecting its stream's tip.
  void CommitTxn() {
    const int64_t b = next_batch_++;
    std::vector<int> streams(static_cast<size_t>(settings_.streams));
    for (int i = 0; i < settings_.streams; ++i) streams[static_cast<size_t>(i)] = i;
    std::shuffle(streams.begin(), streams.end(), rng_);
    streams.resize(static_cast<size_t>(2 + rng_() % static_cast<uint64_t>(settings_.txn - 1)));
    std::vector<int> sizes;
    int n = 0;
    for (size_t k = 0; k < streams.size(); ++k) {
      sizes.push_back(1 + static_cast<int>(rng_() % (kMaxBatch / streams.size())));
      n += sizes.back();
    }
    est_txn* txn = nullptr;
    est_status st = est_txn_new(store_, &txn);
    if (st != EST_OK) Fail("est_txn_new", st);
    int index = 0;
    for (size_t k = 0; k < streams.size(); ++k) {
      const int stream = streams[k];
      const int64_t tip = tips_[static_cast<size_t>(stream)];
      est_batch* batch = Ticks(b, index, sizes[k], n, stream, tip);
      index += sizes[k];
      est_append_options options = EST_APPEND_OPTIONS_INIT;
      options.expect = EST_EXPECT_VERSION;
      options.expected_version = tip;
      st = est_txn_append(txn, FollowStreamId(stream, settings_.streams).c_str(), batch, &options);
      est_batch_free(batch);
      if (st != EST_OK) Fail("est_txn_append", st);
    }
    std::vector<est_append_result> results(streams.size());
    for (est_append_result& r : results) r = EST_APPEND_RESULT_INIT;
    st = est_txn_commit(txn, results.data(), results.size());
    est_txn_free(txn);
    if (st != EST_OK) Fail("est_txn_commit", st);
    for (size_t k = 0; k < streams.size(); ++k) tips_[static_cast<size_t>(streams[k])] = results[k].last_version;
    Acknowledge(b, streams.front(), n, results.front(), results.back());
  }

  // The ack line of batch b, from the results of its first and last append
  // (one and the same for a plain append); then the pause.
  void Acknowledge(int64_t b, int stream, int n, const est_append_result& first, const est_append_result& last) {
    WriteLine("ack " + std::to_string(b) + " " + std::to_string(stream) + " " + std::to_string(n) + " " +
              std::to_string(first.first_version) + " " + std::to_string(last.last_version) + " " +
              std::to_string(first.first_position) + " " + std::to_string(last.last_position));
    if (settings_.pause_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(settings_.pause_us));
  }

  void DeleteDoomed() {
    est_status st = est_delete_stream(store_, FollowStreamId(settings_.streams, settings_.streams).c_str(), 0);
    // A doomed stream never written (no batch landed on it) is NOT_FOUND.
    if (st != EST_OK && st != EST_ERR_NOT_FOUND) Fail("est_delete_stream", st);
    doomed_deleted_ = true;
    WriteLine("deleted");
  }

  void Compact() {
    est_compact_report report = EST_COMPACT_REPORT_INIT;
    est_status st = est_store_compact(store_, nullptr, nullptr, &report);
    if (st != EST_OK) Fail("est_store_compact", st);
    WriteLine("compacted " + std::to_string(report.events_kept) + " " + std::to_string(report.events_dropped) +
              " " + std::to_string(report.bytes_before) + " " + std::to_string(report.bytes_after));
  }

  int64_t appended() const { return next_batch_ - 1; }

 private:
  est_store* store_;
  const Settings& settings_;
  std::vector<int64_t> tips_;  // by stream index; the doomed stream last
  std::mt19937_64 rng_;
  int64_t next_batch_ = 1;
  bool doomed_deleted_ = false;
};

// Reads one line of stdin ("" at EOF); byte by byte, so nothing is read
// ahead of a command.
bool ReadCommand(std::string* line) {
  line->clear();
  char c;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line->empty();
    if (c == '\n') return true;
    *line += c;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  if (!Parse(argc, argv, &settings)) {
    std::fprintf(stderr,
                 "usage: follow_writer DIR [streams=K] [batches=N] [segment_bytes=N] [sync=always|none] "
                 "[pause_us=N] [doomed_every=N] [compact_at=N] [hold=1] [seed=N] [txn=K]\n");
    return 64;
  }
  std::string uri = "file:" + settings.dir;
  if (settings.segment_bytes > 0) uri += "?segment_bytes=" + std::to_string(settings.segment_bytes);
  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.sync_mode = settings.sync_always ? EST_SYNC_ALWAYS : EST_SYNC_NONE;
  est_store* store = nullptr;
  est_status st = est_store_open(uri.c_str(), &options, &store);
  if (st != EST_OK) Fail("est_store_open", st);
  WriteLine("ready " + std::to_string(getpid()));

  const auto deadline = std::chrono::steady_clock::now() + kMaxRunTime;
  Writer writer(store, settings);
  while (settings.batches == 0 || writer.appended() < settings.batches) {
    if (std::chrono::steady_clock::now() > deadline) Fail("ran out of time", EST_ERR_INTERNAL);
    writer.AppendOne();
    if (settings.compact_at > 0 && writer.appended() == settings.compact_at) {
      writer.DeleteDoomed();
      writer.Compact();
    }
  }
  if (settings.hold) {
    WriteLine("done");
    std::string command;
    while (ReadCommand(&command)) {
      if (command == "delete") {
        writer.DeleteDoomed();
      } else if (command == "compact") {
        writer.Compact();
      } else if (command.rfind("append ", 0) == 0) {
        const long long k = std::strtoll(command.c_str() + 7, nullptr, 10);
        for (long long i = 0; i < k; ++i) writer.AppendOne();
        WriteLine("appended");
      } else {
        Fail(("unknown command \"" + command + "\"").c_str(), EST_ERR_INVALID_ARGUMENT);
      }
    }
  }
  est_store_close(store);
  WriteLine("closed");
  return 0;
}
