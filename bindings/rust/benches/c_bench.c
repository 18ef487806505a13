/* c_bench.c: the C side of the Rust binding's bench (benches/run.sh): the
 * same two workloads as examples/bench.rs, straight through estoria.h.
 *   read:   events read per second from one 100,000-event stream in a
 *           memory store (est_iter_next_batch, 64 views per call);
 *   append: events appended per second in batches of 100 (one prebuilt
 *           est_batch, est_append_batch, EST_EXPECT_ANY, memory store).
 * Each figure is the best of kReadReps (reads are short) or kReps runs. Output: "c <name> <per second>". */
#include <estoria/estoria.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kReadEvents = 100000, kBatch = 100, kAppendBatches = 2000, kReps = 7, kReadReps = 50, kViews = 64 };
static const char kStream[] = "bench_00000000-0000-7000-8000-000000000001";

static double Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void Check(est_status s, const char *what) {
  if (s < 0) {
    fprintf(stderr, "%s: %s: %s\n", what, est_status_name(s), est_last_error());
    exit(1);
  }
}

int main(void) {
  est_batch *batch = NULL;
  Check(est_batch_new(&batch), "est_batch_new");
  unsigned char payload[64];
  memset(payload, 'x', sizeof(payload));
  for (int i = 0; i < kBatch; i++) Check(est_batch_add(batch, "bench_event", payload, sizeof(payload), NULL), "add");

  est_store *store = NULL;
  Check(est_store_open("memory:", NULL, &store), "open");
  for (int i = 0; i < kReadEvents / kBatch; i++) {
    Check(est_append_batch(store, kStream, batch, NULL, NULL, NULL), "append");
  }
  est_event views[kViews];
  for (int i = 0; i < kViews; i++) est_event_init(&views[i]);
  double best_read = 1e30;
  for (int r = 0; r < kReadReps; r++) {
    double t = Now();
    est_iter *it = NULL;
    Check(est_read_stream(store, kStream, NULL, &it), "read");
    size_t n = 0, count = 0;
    long long sum = 0;
    est_status s;
    while ((s = est_iter_next_batch(it, views, kViews, &count)) == EST_OK) {
      for (size_t i = 0; i < count; i++) sum += views[i].stream_version + (long long)views[i].data_len;
      n += count;
    }
    Check(s, "next_batch");
    est_iter_close(it);
    double dt = Now() - t;
    if (n != kReadEvents || sum == 0) {
      fprintf(stderr, "read %zu events\n", n);
      return 1;
    }
    if (dt < best_read) best_read = dt;
  }
  est_store_close(store);

  double best_append = 1e30;
  for (int r = 0; r < kReps; r++) {
    Check(est_store_open("memory:", NULL, &store), "open");
    double t = Now();
    for (int i = 0; i < kAppendBatches; i++) {
      Check(est_append_batch(store, kStream, batch, NULL, NULL, NULL), "append");
    }
    double dt = Now() - t;
    est_store_close(store);
    if (dt < best_append) best_append = dt;
  }
  est_batch_free(batch);

  printf("c read_events_per_s %.0f\n", kReadEvents / best_read);
  printf("c append_events_per_s %.0f\n", (double)kAppendBatches * kBatch / best_append);
  return 0;
}
