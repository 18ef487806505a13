/*
 * quickstart.c: a tour of estoria's C ABI. Opens a store ("memory:" unless a
 * URI is given as the first argument), appends events with metadata to two
 * streams using expectations, provokes a version conflict, reads a stream
 * forward and in reverse, reads the whole store in global order, truncates
 * a stream, and writes and reads a snapshot. C99; only estoria/estoria.h.
 * Exits non-zero, with est_last_error(), on any unexpected failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estoria/estoria.h"

/* Stops the program when an est_* call fails, saying which and why. */
static void check(est_status status, const char *what) {
  char message[512];
  if (status == EST_OK) return;
  /* Copy the message first: the next est_* call may replace it. */
  snprintf(message, sizeof message, "%s", est_last_error());
  fprintf(stderr, "quickstart: %s failed: %s: %s\n", what, est_status_name(status), message);
  exit(1);
}

/* A fresh stream ID such as "account_0190f3c4-...". */
static void new_id(const char *type, char id[EST_ID_MAX_LEN]) {
  est_uuid uuid;
  check(est_uuid_v7(&uuid), "est_uuid_v7");
  check(est_id_format(type, &uuid, id, EST_ID_MAX_LEN), "est_id_format");
}

/* Appends one event per type (with its JSON data and a "user" metadata
 * pair) to stream, expecting the stream to be at `expected` (or not to exist
 * when expected is 0). Returns the status; fills *result. */
static est_status append(est_store *store, const char *stream, int64_t expected, int n, const char *types[],
                         const char *datas[], est_append_result *result) {
  est_batch *batch = NULL;
  const uint8_t *bytes = NULL;
  size_t len = 0;
  est_append_options options = EST_APPEND_OPTIONS_INIT;
  est_status status;
  int i;
  check(est_batch_new(&batch), "est_batch_new");
  for (i = 0; i < n; i++) {
    check(est_batch_add(batch, types[i], datas[i], strlen(datas[i]), "application/json"), "est_batch_add");
    check(est_batch_add_metadata(batch, "user", "ana"), "est_batch_add_metadata");
  }
  check(est_batch_bytes(batch, &bytes, &len), "est_batch_bytes");
  if (expected == 0) {
    options.expect = EST_EXPECT_NO_STREAM;
  } else {
    options.expect = EST_EXPECT_VERSION;
    options.expected_version = expected;
  }
  status = est_append(store, stream, bytes, len, &options, result, NULL);
  est_batch_free(batch); /* the store copied what it needed */
  return status;
}

/* Prints every event of an iterator, then closes it. */
static void print_events(est_iter *iter) {
  est_event event = EST_EVENT_INIT;
  est_status status;
  const char *key, *value;
  while ((status = est_iter_next(iter, &event)) == EST_OK) {
    printf("  %s_v%" PRId64 " @%" PRId64 "  %-9s %.*s", event.stream_type, event.stream_version,
           event.global_position, event.type, (int)event.data_len, (const char *)event.data);
    if (event.metadata_count > 0 && est_event_metadata(&event, 0, &key, &value) == EST_OK) {
      printf("  (%s=%s)", key, value);
    }
    printf("\n");
  }
  if (status != EST_END) check(status, "est_iter_next");
  est_iter_close(iter);
}

int main(int argc, char **argv) {
  const char *uri = argc > 1 ? argv[1] : "memory:";
  char account[EST_ID_MAX_LEN], order[EST_ID_MAX_LEN];
  const char *opened[] = {"opened", "deposited"};
  const char *opened_data[] = {"{\"owner\":\"ana\"}", "{\"amount\":100}"};
  const char *placed[] = {"placed"};
  const char *placed_data[] = {"{\"item\":\"book\"}"};
  const char *withdrawn[] = {"withdrawn"};
  const char *withdrawn_data[] = {"{\"amount\":30}"};
  est_append_result result = EST_APPEND_RESULT_INIT;
  est_read_options reverse = EST_READ_OPTIONS_INIT;
  est_store *store = NULL;
  est_iter *iter = NULL;
  est_snapshot *snapshot = NULL;
  const uint8_t *snap_data;
  size_t snap_len;
  est_status status;
  char message[512];

  printf("estoria ABI %u.%u: opening %s\n", (unsigned)(est_abi_version() >> 16),
         (unsigned)(est_abi_version() & 0xffff), uri);
  check(est_store_open(uri, NULL, &store), "est_store_open");
  new_id("account", account);
  new_id("order", order);

  printf("append 2 events to %s, expecting no stream\n", account);
  check(append(store, account, 0, 2, opened, opened_data, &result), "append");
  printf("  -> versions %" PRId64 "..%" PRId64 ", positions %" PRId64 "..%" PRId64 "\n", result.first_version,
         result.last_version, result.first_position, result.last_position);
  printf("append 1 event to %s, expecting no stream\n", order);
  check(append(store, order, 0, 1, placed, placed_data, &result), "append");
  printf("append 1 event to the account, expecting version 2\n");
  check(append(store, account, 2, 1, withdrawn, withdrawn_data, &result), "append");
  printf("  -> the account is at version %" PRId64 "\n", result.actual_version);

  printf("append to the account again, still expecting version 2 (a stale writer)\n");
  status = append(store, account, 2, 1, withdrawn, withdrawn_data, &result);
  if (status == EST_OK) {
    fprintf(stderr, "quickstart: the stale append was accepted\n");
    return 1;
  }
  if (status != EST_ERR_VERSION_MISMATCH) check(status, "the stale append");
  snprintf(message, sizeof message, "%s", est_last_error());
  printf("  -> refused: %s, the stream is at version %" PRId64 " (%s)\n", est_status_name(status),
         result.actual_version, message);

  printf("read the account forward:\n");
  check(est_read_stream(store, account, NULL, &iter), "est_read_stream");
  print_events(iter);
  printf("read the account in reverse:\n");
  reverse.direction = EST_REVERSE;
  check(est_read_stream(store, account, &reverse, &iter), "est_read_stream");
  print_events(iter);
  printf("read all events in global order:\n");
  check(est_read_all(store, NULL, &iter), "est_read_all");
  print_events(iter);

  printf("truncate the account to version 2 (events 1 and 2 go, the version stays):\n");
  check(est_delete_stream(store, account, 2), "est_delete_stream");
  check(est_read_stream(store, account, NULL, &iter), "est_read_stream");
  print_events(iter);

  printf("write a snapshot of the account at version 3, then read the newest:\n");
  check(est_snapshot_write(store, account, 3, "{\"balance\":70}", 14, "application/json", NULL),
        "est_snapshot_write");
  check(est_snapshot_read(store, account, 0, &snapshot), "est_snapshot_read");
  snap_data = est_snapshot_data(snapshot, &snap_len);
  printf("  version %" PRId64 ": %.*s (%s)\n", est_snapshot_version(snapshot), (int)snap_len,
         (const char *)snap_data, est_snapshot_content_type(snapshot));
  est_snapshot_free(snapshot);

  est_store_close(store);
  printf("done\n");
  return 0;
}
