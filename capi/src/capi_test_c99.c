/* capi_test_c99.c: the _INIT macros and struct sizes as a strict C99
 * compiler sees them (-pedantic-errors), for capi_test to compare with the
 * est_*_init functions and the C++ view of the same structs. A whole C99
 * program over the header is tests/abi/c99_header_test.c. */

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
