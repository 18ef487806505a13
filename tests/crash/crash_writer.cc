// crash_writer: the helper process of tests/crash. It uses only the C ABI
// (estoria.h), so what it proves holds for every host.
//
//   crash_writer write DIR ROUND [SYNC]
//                                  opens file:DIR with sync mode SYNC (always,
//                                  the default, interval or none), prints
//                                  "ready PID", then appends batches of 1-5
//                                  events to a few fixed streams from several
//                                  threads until it is killed (or 20 s pass)
//   crash_writer txn DIR ROUND [SYNC]
//                                  as write, but commits transactions of 2 to
//                                  10 streams (of 12, 1-3 events each) and
//                                  acknowledges each with
//                                  "txnack MARKER EVENTS FIRST_POS LAST_POS"
//   crash_writer ckpt DIR ROUND    as write, but each thread T alternates a
//                                  transaction (one event "T V" in its stream
//                                  and projection checkpoint crashT_v1 saved
//                                  at V, V even) and a standalone save (V
//                                  odd), from V = one past the checkpoint it
//                                  finds, acknowledging each with
//                                  "ckptack T V"
//   crash_writer hold DIR          opens file:DIR, prints "ready PID", and
//                                  keeps the store open until stdin closes
//
// Protocol (stdout, one write(2) per line, so a SIGKILL never leaves half a
// line that looks whole; every line is shorter than PIPE_BUF):
//   ready PID
//   ack STREAM_INDEX FIRST_VERSION LAST_VERSION FIRST_POSITION LAST_POSITION MARKER COUNT
//   error STATUS_NAME MESSAGE            (then exit status 2)
// An ack line is written only after est_append returned EST_OK: once the
// batch is durable (always), or handed to the OS (interval, none), which a
// process crash does not undo.
//
// Each event's data is "s=S v=V m=MARKER i=I n=N" (stream index, version,
// batch marker, index in the batch, batch size) and its metadata is
// {"batch": MARKER, "n": N}, so the checker can verify content and batch
// atomicity from what it reads back. Versions are written with
// EST_EXPECT_VERSION, learning each stream's tip from mismatches, so that the
// payload can name the version before the store assigns it.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#define EST_EXPERIMENTAL 1
#include "estoria/estoria.h"
#include "tests/common/child_process.h"

namespace {

constexpr int kStreams = 6;
constexpr int kThreads = 4;
constexpr auto kMaxRunTime = std::chrono::seconds(20);  // a lost parent never leaves us running

// The protocol's lines, and the stream IDs shared with the checker.
using estoria::test::CrashStreamId;
using estoria::test::Fail;
using estoria::test::WriteLine;

std::atomic<int64_t> tips[kStreams];

void RaiseTip(int stream, int64_t version) {
  int64_t seen = tips[stream].load();
  while (seen < version && !tips[stream].compare_exchange_weak(seen, version)) {
  }
}

void Writer(est_store* store, const std::string& round, int thread) {
  std::mt19937_64 rng(std::random_device{}() ^ (static_cast<uint64_t>(thread) << 32));
  std::vector<std::string> ids;
  for (int s = 0; s < kStreams; ++s) ids.push_back(CrashStreamId(s));
  for (uint64_t seq = 0;; ++seq) {
    int stream = static_cast<int>(rng() % kStreams);
    int n = 1 + static_cast<int>(rng() % 5);
    std::string marker = round + "." + std::to_string(getpid()) + "." + std::to_string(thread) + "." +
                         std::to_string(seq);
    for (;;) {  // until the batch lands; a mismatch teaches the tip
      int64_t tip = tips[stream].load();
      est_batch* batch = nullptr;
      est_status st = est_batch_new(&batch);
      if (st != EST_OK) Fail("est_batch_new", st);
      for (int i = 0; i < n; ++i) {
        std::string data = "s=" + std::to_string(stream) + " v=" + std::to_string(tip + 1 + i) + " m=" + marker +
                           " i=" + std::to_string(i) + " n=" + std::to_string(n);
        if ((st = est_batch_add(batch, "tick", data.data(), data.size(), "text/plain")) != EST_OK) {
          Fail("est_batch_add", st);
        }
        if ((st = est_batch_add_metadata(batch, "batch", marker.c_str())) != EST_OK) {
          Fail("est_batch_add_metadata", st);
        }
        if ((st = est_batch_add_metadata(batch, "n", std::to_string(n).c_str())) != EST_OK) {
          Fail("est_batch_add_metadata", st);
        }
      }
      est_append_options options = EST_APPEND_OPTIONS_INIT;
      options.expect = EST_EXPECT_VERSION;
      options.expected_version = tip;
      est_append_result result = EST_APPEND_RESULT_INIT;
      st = est_append_batch(store, ids[stream].c_str(), batch, &options, &result, nullptr);
      est_batch_free(batch);
      if (st == EST_OK) {
        WriteLine("ack " + std::to_string(stream) + " " + std::to_string(result.first_version) + " " +
                  std::to_string(result.last_version) + " " + std::to_string(result.first_position) + " " +
                  std::to_string(result.last_position) + " " + marker + " " + std::to_string(n));
        RaiseTip(stream, result.last_version);
        break;
      }
      if (st != EST_ERR_VERSION_MISMATCH) Fail("est_append_batch", st);
      RaiseTip(stream, result.actual_version);
    }
  }
}

constexpr int kTxnStreams = 12;

// Transactions: each event's data is "m=MARKER i=I n=N" (N: the
// transaction's events), with metadata {"batch": MARKER, "n": N}.
void TxnWriter(est_store* store, const std::string& round, int thread) {
  std::mt19937_64 rng(std::random_device{}() ^ (static_cast<uint64_t>(thread) << 32));
  for (uint64_t seq = 0;; ++seq) {
    std::string marker = "x" + round + "." + std::to_string(getpid()) + "." + std::to_string(thread) + "." +
                         std::to_string(seq);
    std::vector<int> streams;
    for (int s = 0; s < kTxnStreams; ++s) streams.push_back(s);
    std::shuffle(streams.begin(), streams.end(), rng);
    streams.resize(2 + rng() % 9);
    std::vector<int> sizes;
    int total = 0;
    for (size_t k = 0; k < streams.size(); ++k) {
      sizes.push_back(1 + static_cast<int>(rng() % 3));
      total += sizes.back();
    }
    est_txn* txn = nullptr;
    est_status st = est_txn_new(store, &txn);
    if (st != EST_OK) Fail("est_txn_new", st);
    int index = 0;
    for (size_t k = 0; k < streams.size(); ++k) {
      est_batch* batch = nullptr;
      if ((st = est_batch_new(&batch)) != EST_OK) Fail("est_batch_new", st);
      for (int e = 0; e < sizes[k]; ++e, ++index) {
        std::string data = "m=" + marker + " i=" + std::to_string(index) + " n=" + std::to_string(total);
        if ((st = est_batch_add(batch, "tick", data.data(), data.size(), "text/plain")) != EST_OK) {
          Fail("est_batch_add", st);
        }
        if ((st = est_batch_add_metadata(batch, "batch", marker.c_str())) != EST_OK) Fail("metadata", st);
        if ((st = est_batch_add_metadata(batch, "n", std::to_string(total).c_str())) != EST_OK) {
          Fail("metadata", st);
        }
      }
      const std::string id = CrashStreamId(100 + streams[k]);
      st = est_txn_append(txn, id.c_str(), batch, nullptr);
      est_batch_free(batch);
      if (st != EST_OK) Fail("est_txn_append", st);
    }
    std::vector<est_append_result> results(streams.size());
    for (auto& r : results) est_append_result_init(&r);
    st = est_txn_commit(txn, results.data(), results.size());
    est_txn_free(txn);
    if (st != EST_OK) Fail("est_txn_commit", st);
    WriteLine("txnack " + marker + " " + std::to_string(total) + " " + std::to_string(results.front().first_position) +
              " " + std::to_string(results.back().last_position));
  }
}

// Projection checkpoints: see the usage at the top.
void CheckpointWriter(est_store* store, const std::string& /*round*/, int thread) {
  const std::string checkpoint = "crash" + std::to_string(thread) + "_v1";
  const std::string stream = CrashStreamId(200 + thread);
  int64_t v = 0;
  est_status st = est_checkpoint_load(store, checkpoint.c_str(), &v, nullptr);
  if (st != EST_OK && st != EST_ERR_NOT_FOUND) Fail("est_checkpoint_load", st);
  for (++v;; ++v) {
    if (v % 2 == 0) {
      est_txn* txn = nullptr;
      if ((st = est_txn_new(store, &txn)) != EST_OK) Fail("est_txn_new", st);
      est_batch* batch = nullptr;
      if ((st = est_batch_new(&batch)) != EST_OK) Fail("est_batch_new", st);
      const std::string data = std::to_string(thread) + " " + std::to_string(v);
      if ((st = est_batch_add(batch, "handled", data.data(), data.size(), "text/plain")) != EST_OK) {
        Fail("est_batch_add", st);
      }
      if ((st = est_txn_append(txn, stream.c_str(), batch, nullptr)) != EST_OK) Fail("est_txn_append", st);
      est_batch_free(batch);
      if ((st = est_txn_checkpoint(txn, checkpoint.c_str(), v)) != EST_OK) Fail("est_txn_checkpoint", st);
      st = est_txn_commit(txn, nullptr, 0);
      est_txn_free(txn);
      if (st != EST_OK) Fail("est_txn_commit", st);
    } else if ((st = est_checkpoint_save(store, checkpoint.c_str(), v)) != EST_OK) {
      Fail("est_checkpoint_save", st);
    }
    WriteLine("ckptack " + std::to_string(thread) + " " + std::to_string(v));
  }
}

int Usage() {
  std::fprintf(stderr, "usage: crash_writer write|txn|ckpt DIR ROUND [always|interval|none] | crash_writer hold DIR\n");
  return 64;
}

// EST_SYNC_* of a name; -1 for none of them.
int32_t SyncModeNamed(const std::string& name) {
  if (name == "always") return EST_SYNC_ALWAYS;
  if (name == "interval") return EST_SYNC_INTERVAL;
  if (name == "none") return EST_SYNC_NONE;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::string mode = argv[1];
  std::string uri = std::string("file:") + argv[2];
  if (mode != "write" && mode != "txn" && mode != "ckpt" && mode != "hold") return Usage();
  if (mode != "hold" && argc < 4) return Usage();

  est_store_options options = EST_STORE_OPTIONS_INIT;
  options.sync_mode = EST_SYNC_ALWAYS;
  if (mode != "hold" && argc >= 5) {
    options.sync_mode = SyncModeNamed(argv[4]);
    if (options.sync_mode < 0) return Usage();
    // Short enough that a round sees background flushes between appends.
    if (options.sync_mode == EST_SYNC_INTERVAL) options.sync_interval_ms = 5;
  }
  est_store* store = nullptr;
  est_status st = est_store_open(uri.c_str(), &options, &store);
  if (st != EST_OK) Fail("est_store_open", st);
  WriteLine("ready " + std::to_string(getpid()));

  if (mode == "hold") {
    char c;
    while (read(STDIN_FILENO, &c, 1) > 0) {
    }
    est_store_close(store);
    return 0;
  }

  std::string round = argv[3];
  auto* writer = mode == "txn" ? TxnWriter : mode == "ckpt" ? CheckpointWriter : Writer;
  for (int t = 0; t < kThreads; ++t) std::thread(writer, store, round, t).detach();
  std::this_thread::sleep_for(kMaxRunTime);
  // Never reached in the test (the parent kills us first). Leave without
  // destructors: the writers are still running.
  _exit(0);
}
