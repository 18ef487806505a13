// cmd_bench.cc: est bench: a quick append and read throughput check of the
// store at hand (not a benchmark suite: bench/ has those). Writes to fresh
// streams of type "est-bench" and deletes them afterwards unless --keep.
#include <cinttypes>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli.h"

namespace est {
namespace {
using StorePtr = std::unique_ptr<est_store, StoreCloser>;
using IterPtr = std::unique_ptr<est_iter, IterCloser>;
}  // namespace

int CmdBench(const std::vector<std::string>& argv) {
  Args args(argv, {"--events", "--batch", "--size", "--sync"}, {"--keep"});
  args.ExpectPositional(1, 1);
  StoreUri uri = ParseStoreUri(args.positional()[0]);
  int64_t total = args.GetInt("--events", 20000, 1);
  int64_t per_batch = args.GetInt("--batch", 100, 1);
  int64_t size = args.GetInt("--size", 100, 0);
  if (size > (1 << 24)) UsageError("--size is at most 16777216");
  int32_t sync_mode = EST_SYNC_ALWAYS;
  std::string sync_name = args.get("--sync").value_or("always");
  if (sync_name == "interval") {
    sync_mode = EST_SYNC_INTERVAL;
  } else if (sync_name == "none") {
    sync_mode = EST_SYNC_NONE;
  } else if (sync_name != "always") {
    UsageError("--sync is always, interval or none");
  }
  constexpr int64_t kStreams = 10;

  StorePtr store(OpenStore(uri, {.must_exist = false, .sync_mode = sync_mode}));
  std::vector<std::string> streams;
  for (int64_t s = 0; s < kStreams; ++s) {
    est_uuid u;
    if (est_status st = est_uuid_v7(&u); st != EST_OK) FailStatus(st, "making a stream ID");
    char buf[EST_ID_MAX_LEN];
    est_id_format("est-bench", &u, buf, sizeof buf);
    streams.push_back(buf);
  }
  std::string payload(static_cast<size_t>(size), 'x');
  est_batch* raw_batch = nullptr;
  if (est_status st = est_batch_new(&raw_batch); st != EST_OK) FailStatus(st, "making a batch");
  std::unique_ptr<est_batch, void (*)(est_batch*)> full_batch(raw_batch, est_batch_free);
  for (int64_t k = 0; k < per_batch; ++k) {
    est_batch_add(full_batch.get(), "bench-event", payload.data(), payload.size(), "application/octet-stream");
  }

  // Only the streams that receive a batch exist.
  int64_t batches = (total + per_batch - 1) / per_batch;
  streams.resize(static_cast<size_t>(std::min(kStreams, batches)));

  int64_t written = 0;
  int64_t start = NowNs();
  {
    Progress progress("appending");
    for (int64_t b = 0; written < total; ++b) {
      int64_t n = std::min(per_batch, total - written);
      std::unique_ptr<est_batch, void (*)(est_batch*)> last(nullptr, est_batch_free);
      est_batch* batch = full_batch.get();
      if (n < per_batch) {
        est_batch* r = nullptr;
        est_batch_new(&r);
        last.reset(r);
        for (int64_t k = 0; k < n; ++k) {
          est_batch_add(r, "bench-event", payload.data(), payload.size(), "application/octet-stream");
        }
        batch = r;
      }
      const std::string& stream = streams[static_cast<size_t>(b) % streams.size()];
      if (est_status st = est_append_batch(store.get(), stream.c_str(), batch, nullptr, nullptr, nullptr);
          st != EST_OK) {
        FailStatus(st, "appending to " + stream);
      }
      written += n;
      progress.Update(static_cast<uint64_t>(written), static_cast<uint64_t>(total));
    }
  }
  if (est_status st = est_store_sync(store.get()); st != EST_OK) FailStatus(st, "syncing");
  double append_s = static_cast<double>(NowNs() - start) / 1e9;

  int64_t read = 0;
  start = NowNs();
  {
    Progress progress("reading");
    for (const std::string& stream : streams) {
      est_iter* raw = nullptr;
      if (est_status st = est_read_stream(store.get(), stream.c_str(), nullptr, &raw); st != EST_OK) {
        FailStatus(st, "reading " + stream);
      }
      IterPtr iter(raw);
      est_event events[64];
      events[0] = EST_EVENT_INIT;
      for (;;) {
        size_t count = 0;
        est_status st = est_iter_next_batch(iter.get(), events, 64, &count);
        if (st == EST_END) break;
        if (st != EST_OK) FailStatus(st, "reading " + stream);
        read += static_cast<int64_t>(count);
        progress.Update(static_cast<uint64_t>(read), static_cast<uint64_t>(total));
      }
    }
  }
  double read_s = static_cast<double>(NowNs() - start) / 1e9;
  if (read != total) Fail(kExitFailure, "read back " + std::to_string(read) + " events of " + std::to_string(total));

  if (!args.has("--keep")) {
    for (const std::string& stream : streams) {
      est_status st = est_delete_stream(store.get(), stream.c_str(), 0);
      if (st != EST_OK && st != EST_ERR_NOT_FOUND) FailStatus(st, "deleting " + stream);
    }
  }
  double mb = static_cast<double>(total) * static_cast<double>(size) / (1024.0 * 1024.0);
  std::printf("store %s, sync %s: %" PRId64 " events of %" PRId64 " bytes in batches of %" PRId64 "\n",
              RedactedUri(uri.uri).c_str(), sync_name.c_str(), total, size, per_batch);
  std::printf("  append  %10.0f events/s  %8.1f MB/s  (%.3f s)\n", static_cast<double>(total) / append_s,
              mb / append_s, append_s);
  std::printf("  read    %10.0f events/s  %8.1f MB/s  (%.3f s)\n", static_cast<double>(total) / read_s, mb / read_s,
              read_s);
  return kExitOk;
}

}  // namespace est
