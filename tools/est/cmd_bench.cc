// cmd_bench.cc: est bench: a quick append and read throughput check of the
// store at hand (not a benchmark suite: bench/ has those). Writes to fresh
// streams of type "est-bench" and deletes them afterwards unless --keep.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli.h"

namespace est {
namespace {

estoria::Batch BenchBatch(int64_t events, const std::string& payload) {
  estoria::Batch batch;
  for (int64_t k = 0; k < events; ++k) {
    Must(batch.Add("bench-event", payload, "application/octet-stream"), "making a batch");
  }
  return batch;
}

}  // namespace

Command AddBench(CLI::App& est) {
  struct Options {
    std::string store;
    int64_t events = 20000;
    int64_t batch = 100;
    int64_t size = 100;
    std::string sync = "always";
    bool keep = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "bench", "quick append/read throughput of the store at hand",
      "Appends N events in batches of SIZE-byte events to streams of type\n"
      "est-bench, reads them back, prints events/s and MB/s, and deletes the\n"
      "streams unless --keep.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory: (created if absent)")->required();
  cmd->add_option("--events", o->events, "events to append (default 20000)")->check(WholeNumber(1));
  cmd->add_option("--batch", o->batch, "events per batch (default 100)")->check(WholeNumber(1));
  cmd->add_option("--size", o->size, "bytes of data per event (default 100)")
      ->check(WholeNumber(0, int64_t{1} << 24))
      ->type_name("BYTES");
  AddSyncOption(cmd, &o->sync);
  cmd->add_flag("--keep", o->keep, "keep the streams written");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            const int64_t total = o->events;
            const int64_t per_batch = o->batch;
            constexpr int64_t kStreams = 10;

            estoria::Store store = OpenStore(uri, {.must_exist = false, .sync_mode = SyncModeNamed(o->sync)});
            // Only the streams that receive a batch exist.
            const int64_t batches = (total + per_batch - 1) / per_batch;
            std::vector<estoria::Id> streams;
            for (int64_t s = 0; s < std::min(kStreams, batches); ++s) {
              streams.push_back(Must(estoria::Id::NewV7("est-bench"), "making a stream ID"));
            }
            const std::string payload(static_cast<size_t>(o->size), 'x');
            const estoria::Batch full_batch = BenchBatch(per_batch, payload);

            int64_t written = 0;
            int64_t start = NowNs();
            {
              Progress progress("appending");
              for (int64_t b = 0; written < total; ++b) {
                const int64_t n = std::min(per_batch, total - written);
                const estoria::Batch last = n < per_batch ? BenchBatch(n, payload) : estoria::Batch();
                const estoria::Id& stream = streams[static_cast<size_t>(b) % streams.size()];
                Must(store.Append(stream, n < per_batch ? last : full_batch), "appending to " + stream.str());
                written += n;
                progress.Update(static_cast<uint64_t>(written), static_cast<uint64_t>(total));
              }
            }
            Must(store.Sync(), "syncing");
            const double append_s = static_cast<double>(NowNs() - start) / 1e9;

            int64_t read = 0;
            start = NowNs();
            {
              Progress progress("reading");
              for (const estoria::Id& stream : streams) {
                estoria::StreamIterator events = Must(store.ReadStream(stream), "reading " + stream.str());
                for (const estoria::EventView& e : events) {
                  static_cast<void>(e);
                  ++read;
                  progress.Update(static_cast<uint64_t>(read), static_cast<uint64_t>(total));
                }
                Must(events.status(), "reading " + stream.str());
              }
            }
            const double read_s = static_cast<double>(NowNs() - start) / 1e9;
            if (read != total) {
              Fail(kExitFailure, "read back " + std::to_string(read) + " events of " + std::to_string(total));
            }

            if (!o->keep) {
              for (const estoria::Id& stream : streams) {
                estoria::Result<void> deleted = store.DeleteStream(stream);
                if (!deleted.ok() && !deleted.error().is_not_found()) FailOn(deleted.error(), "deleting " + stream.str());
              }
            }
            const double mb = static_cast<double>(total) * static_cast<double>(o->size) / (1024.0 * 1024.0);
            std::printf("store %s, sync %s: %" PRId64 " events of %" PRId64 " bytes in batches of %" PRId64 "\n",
                        RedactedUri(uri.uri).c_str(), o->sync.c_str(), total, o->size, per_batch);
            std::printf("  append  %10.0f events/s  %8.1f MB/s  (%.3f s)\n", static_cast<double>(total) / append_s,
                        mb / append_s, append_s);
            std::printf("  read    %10.0f events/s  %8.1f MB/s  (%.3f s)\n", static_cast<double>(total) / read_s,
                        mb / read_s, read_s);
            return kExitOk;
          }};
}

}  // namespace est
