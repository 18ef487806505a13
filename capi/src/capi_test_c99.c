/* capi_test_c99.c: estoria.h compiled as strict C99 (-pedantic-errors), and
 * the _INIT macros as a C compiler sees them, for capi_test to compare with
 * the est_*_init functions and the C++ view of the same structs. */
#include <string.h>

#include "estoria/estoria.h"

/* Each copies the C initialiser of one struct into *out. */
void capi_c99_store_options(est_store_options *out) {
  est_store_options v = EST_STORE_OPTIONS_INIT;
  *out = v;
}
void capi_c99_append_options(est_append_options *out) {
  est_append_options v = EST_APPEND_OPTIONS_INIT;
  *out = v;
}
void capi_c99_append_result(est_append_result *out) {
  est_append_result v = EST_APPEND_RESULT_INIT;
  *out = v;
}
void capi_c99_read_options(est_read_options *out) {
  est_read_options v = EST_READ_OPTIONS_INIT;
  *out = v;
}
void capi_c99_read_all_options(est_read_all_options *out) {
  est_read_all_options v = EST_READ_ALL_OPTIONS_INIT;
  *out = v;
}
void capi_c99_event(est_event *out) {
  est_event v = EST_EVENT_INIT;
  *out = v;
}
void capi_c99_snapshot_write_options(est_snapshot_write_options *out) {
  est_snapshot_write_options v = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
  *out = v;
}

/* The sizes a C compiler gives the structs (they must equal C++'s). */
size_t capi_c99_sizeof_event(void) { return sizeof(est_event); }
size_t capi_c99_sizeof_append_options(void) { return sizeof(est_append_options); }

/* A whole round trip in C, so that the header's calls are usable from C:
 * returns EST_OK when an append and a read of one event agree. */
est_status capi_c99_round_trip(void) {
  est_store *store = NULL;
  est_batch *batch = NULL;
  est_iter *iter = NULL;
  est_event event = EST_EVENT_INIT;
  est_append_result result = EST_APPEND_RESULT_INIT;
  est_uuid uuid;
  char id[EST_ID_MAX_LEN];
  const uint8_t *bytes = NULL;
  size_t len = 0;
  est_status status;

  if ((status = est_store_open("memory:", NULL, &store)) != EST_OK) return status;
  if ((status = est_uuid_v7(&uuid)) != EST_OK) goto done;
  if ((status = est_id_format("c99", &uuid, id, sizeof id)) != EST_OK) goto done;
  if ((status = est_batch_new(&batch)) != EST_OK) goto done;
  if ((status = est_batch_add(batch, "said", "hi", 2, NULL)) != EST_OK) goto done;
  if ((status = est_batch_bytes(batch, &bytes, &len)) != EST_OK) goto done;
  if ((status = est_append(store, id, bytes, len, NULL, &result, NULL)) != EST_OK) goto done;
  if ((status = est_read_stream(store, id, NULL, &iter)) != EST_OK) goto done;
  if ((status = est_iter_next(iter, &event)) != EST_OK) goto done;
  if (event.data_len != 2 || memcmp(event.data, "hi", 2) != 0 || strcmp(event.type, "said") != 0 ||
      event.stream_version != 1 || result.last_version != 1) {
    status = EST_ERR_INTERNAL;
    goto done;
  }
  status = est_iter_next(iter, &event) == EST_END ? EST_OK : EST_ERR_INTERNAL;
done:
  est_iter_close(iter);
  est_batch_free(batch);
  est_store_close(store);
  return status;
}
