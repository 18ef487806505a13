/*
 * tests/abi/c99_header_test.c: estoria.h used from strict C99 (compiled with
 * -std=c99 -pedantic -Werror -Wall -Wextra). Opens a memory: store, builds a
 * batch, appends it, reads it back and checks the values, using the _INIT
 * macros as a C caller would; the experimental section too (a subscription
 * delivers what was appended, then a transaction across two streams). Exits
 * non-zero on the first failure.
 */
#define EST_EXPERIMENTAL
#include <stdio.h>
#include <string.h>

#include "estoria/estoria.h"

static int failures = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
              #cond, est_last_error());                                              \
      ++failures;                                                                    \
    }                                                                                \
  } while (0)

int main(void) {
  est_store *store = NULL;
  est_batch *batch = NULL;
  est_iter *iter = NULL;
  est_store_options store_options = EST_STORE_OPTIONS_INIT;
  est_append_options append_options = EST_APPEND_OPTIONS_INIT;
  est_append_result result = EST_APPEND_RESULT_INIT;
  est_read_options read_options = EST_READ_OPTIONS_INIT;
  est_event event = EST_EVENT_INIT;
  est_uuid uuid;
  char stream_id[EST_ID_MAX_LEN];
  char type[EST_TYPE_MAX_LEN + 1];
  est_uuid parsed;
  const uint8_t *bytes = NULL;
  size_t len = 0;
  const char *key = NULL;
  const char *value = NULL;
  static const uint8_t payload[4] = {'a', 0, 'b', 0xff};

  CHECK(est_abi_version() == EST_ABI_VERSION);
  CHECK(strcmp(est_status_name(EST_ERR_NOT_FOUND), "EST_ERR_NOT_FOUND") == 0);

  CHECK(est_store_open("memory:", &store_options, &store) == EST_OK);
  if (store == NULL) return 1;

  CHECK(est_uuid_v7(&uuid) == EST_OK);
  CHECK(est_id_format("account", &uuid, stream_id, sizeof stream_id) == EST_OK);
  CHECK(est_id_parse(stream_id, type, sizeof type, &parsed) == EST_OK);
  CHECK(strcmp(type, "account") == 0);
  CHECK(memcmp(parsed.bytes, uuid.bytes, sizeof uuid.bytes) == 0);

  CHECK(est_batch_new(&batch) == EST_OK);
  CHECK(est_batch_add(batch, "opened", payload, sizeof payload, "application/octet-stream") == EST_OK);
  CHECK(est_batch_add_metadata(batch, "source", "c99") == EST_OK);
  CHECK(est_batch_add(batch, "deposited", NULL, 0, NULL) == EST_OK);
  CHECK(est_batch_bytes(batch, &bytes, &len) == EST_OK);

  append_options.expect = EST_EXPECT_NO_STREAM;
  CHECK(est_append(store, stream_id, bytes, len, &append_options, &result, NULL) == EST_OK);
  CHECK(result.first_version == 1);
  CHECK(result.last_version == 2);
  CHECK(result.actual_version == 2);
  CHECK(result.last_position > result.first_position);

  /* The same expectation again is a mismatch that reports the tip. */
  result.actual_version = -1;
  CHECK(est_append(store, stream_id, bytes, len, &append_options, &result, NULL) == EST_ERR_VERSION_MISMATCH);
  CHECK(result.actual_version == 2);
  est_batch_free(batch);

  /* Bytes that are not a batch are refused with a message. */
  CHECK(est_append(store, stream_id, payload, sizeof payload, NULL, NULL, NULL) == EST_ERR_INVALID_ARGUMENT);
  CHECK(est_last_error()[0] != '\0');

  read_options.direction = EST_REVERSE;
  CHECK(est_read_stream(store, stream_id, &read_options, &iter) == EST_OK);
  CHECK(est_iter_next(iter, &event) == EST_OK);
  CHECK(event.stream_version == 2);
  CHECK(strcmp(event.type, "deposited") == 0);
  CHECK(event.data_len == 0);
  CHECK(strcmp(event.content_type, "") == 0);
  CHECK(event.record != NULL && event.record_len > 0);
  {
    /* The FlatBuffers form, on request (the memory store keeps compact records). */
    size_t fb_len = 0;
    uint64_t words[64];
    CHECK(est_event_flatbuffer(&event, NULL, 0, &fb_len) == EST_OK && fb_len > 0 && fb_len <= sizeof words);
    CHECK(est_event_flatbuffer(&event, (uint8_t *)words, sizeof words, &fb_len) == EST_OK);
  }
  CHECK(est_iter_next(iter, &event) == EST_OK);
  CHECK(event.stream_version == 1);
  CHECK(strcmp(event.type, "opened") == 0);
  CHECK(strcmp(event.stream_type, "account") == 0);
  CHECK(memcmp(event.stream_uuid.bytes, uuid.bytes, sizeof uuid.bytes) == 0);
  CHECK(event.data_len == sizeof payload && memcmp(event.data, payload, sizeof payload) == 0);
  CHECK(strcmp(event.content_type, "application/octet-stream") == 0);
  CHECK(event.metadata_count == 1);
  CHECK(est_event_metadata(&event, 0, &key, &value) == EST_OK);
  CHECK(key != NULL && strcmp(key, "source") == 0);
  CHECK(value != NULL && strcmp(value, "c99") == 0);
  CHECK(est_event_metadata(&event, 1, &key, &value) == EST_ERR_INVALID_ARGUMENT);
  CHECK(est_iter_next(iter, &event) == EST_END);
  CHECK(est_iter_next(iter, &event) == EST_END);
  est_iter_close(iter);

  {
    const char *const types[] = {"deposited"};
    est_subscribe_options sub_options = EST_SUBSCRIBE_OPTIONS_INIT;
    est_subscription *sub = NULL;
    est_event delivered[2];
    size_t count = 0;
    int fd = -1;
    sub_options.event_types = types;
    sub_options.event_types_len = 1;
    CHECK(est_subscribe(store, &sub_options, &sub) == EST_OK);
    CHECK(est_subscription_fd(sub, &fd) == EST_OK && fd >= 0);
    est_event_init(&delivered[0]);
    CHECK(est_subscription_poll(sub, delivered, 2, &count, 0) == EST_OK);
    CHECK(count == 1);
    CHECK(est_subscription_position(sub) == delivered[0].global_position);
    CHECK(est_subscription_wake(sub) == EST_OK);
    CHECK(est_subscription_poll(sub, delivered, 2, &count, -1) == EST_OK && count == 0);
    est_subscription_close(sub);
    CHECK(EST_POSITION_END == -1);
  }
  {
    est_txn *txn = NULL;
    est_batch *more = NULL;
    est_append_result results[2] = {EST_APPEND_RESULT_INIT, EST_APPEND_RESULT_INIT};
    est_append_options exists = EST_APPEND_OPTIONS_INIT;
    est_uuid other;
    char other_id[EST_ID_MAX_LEN];
    exists.expect = EST_EXPECT_STREAM_EXISTS;
    CHECK(est_uuid_v7(&other) == EST_OK);
    CHECK(est_id_format("order", &other, other_id, sizeof other_id) == EST_OK);
    CHECK(est_batch_new(&more) == EST_OK);
    CHECK(est_batch_add(more, "noted", NULL, 0, NULL) == EST_OK);
    CHECK(est_txn_new(store, &txn) == EST_OK);
    CHECK(est_txn_append(txn, stream_id, more, &exists) == EST_OK);
    CHECK(est_txn_append(txn, other_id, more, NULL) == EST_OK);
    est_batch_free(more); /* the transaction holds copies */
    CHECK(est_txn_size(txn) == 2);
    CHECK(est_txn_commit(txn, results, 2) == EST_OK);
    CHECK(results[0].first_version == 3 && results[1].first_version == 1);
    CHECK(results[0].flags == 0 && results[1].flags == 0);
    CHECK(results[1].first_position == results[0].last_position + 1);
    est_txn_free(txn);
  }

  est_store_close(store);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c99_header_test: ok\n");
  return 0;
}
