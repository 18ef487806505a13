// tests/abi/cxx_header_test.cc: estoria.h used from C++ under -Werror
// -pedantic -Wall -Wextra (plus the stricter C++ warnings below): the _INIT
// macros are valid braced initializers, the declarations have C linkage, and
// a call through the header works. Exits non-zero on failure.
#include <cstdio>
#include <cstring>

#include "estoria/estoria.h"

// C linkage: the functions have plain C types.
static_assert(sizeof(est_uuid) == 16, "est_uuid is 16 bytes");
using OpenFn = est_status (*)(const char*, const est_store_options*, est_store**);
static constexpr OpenFn kOpen = &est_store_open;

int main() {
  est_store_options store_options = EST_STORE_OPTIONS_INIT;
  est_append_options append_options = EST_APPEND_OPTIONS_INIT;
  est_append_result result = EST_APPEND_RESULT_INIT;
  est_read_options read_options = EST_READ_OPTIONS_INIT;
  est_read_all_options read_all_options = EST_READ_ALL_OPTIONS_INIT;
  est_event event = EST_EVENT_INIT;
  est_snapshot_write_options snapshot_options = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
  (void)append_options;
  (void)result;
  (void)read_options;
  (void)snapshot_options;

  est_store* store = nullptr;
  if (kOpen("memory:", &store_options, &store) != EST_OK || store == nullptr) {
    std::fprintf(stderr, "open: %s\n", est_last_error());
    return 1;
  }
  est_iter* iter = nullptr;
  int rc = 0;
  if (est_read_all(store, &read_all_options, &iter) != EST_OK || est_iter_next(iter, &event) != EST_END) {
    std::fprintf(stderr, "read_all of an empty store: %s\n", est_last_error());
    rc = 1;
  }
  est_iter_close(iter);
  est_store_close(store);
  if (std::strcmp(est_status_name(EST_END), "EST_END") != 0) rc = 1;
  if (rc == 0) std::printf("cxx_header_test: ok\n");
  return rc;
}
