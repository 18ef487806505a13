/* no_postgres_test.c: a library built with -DESTORIA_WITH_POSTGRES=OFF
 * refuses postgresql:// and postgres:// as EST_ERR_UNSUPPORTED, naming the
 * build option, with the URI's password hidden and no handle made. C99,
 * estoria/estoria.h only; run by without_postgres.sh. */
#include <stdio.h>
#include <string.h>

#include "estoria/estoria.h"

int main(void) {
  static const char *const uris[] = {"postgresql://alice:SECRET@db.example/events", "postgres:///events?host=/tmp"};
  int failures = 0;
  for (size_t i = 0; i < sizeof uris / sizeof uris[0]; ++i) {
    est_store *store = (est_store *)&failures; /* must come back NULL */
    est_status status = est_store_open(uris[i], NULL, &store);
    const char *message = est_last_error();
    if (status != EST_ERR_UNSUPPORTED) {
      fprintf(stderr, "FAIL: %s: %s, not EST_ERR_UNSUPPORTED (%s)\n", uris[i], est_status_name(status), message);
      ++failures;
    }
    if (strstr(message, "ESTORIA_WITH_POSTGRES") == NULL) {
      fprintf(stderr, "FAIL: %s: the message does not name ESTORIA_WITH_POSTGRES: %s\n", uris[i], message);
      ++failures;
    }
    if (strstr(message, "SECRET") != NULL) {
      fprintf(stderr, "FAIL: %s: the message shows the password: %s\n", uris[i], message);
      ++failures;
    }
    if (store != NULL) {
      fprintf(stderr, "FAIL: %s: *out was not set to NULL\n", uris[i]);
      ++failures;
    }
    if (failures == 0) printf("%s: %s: %s\n", uris[i], est_status_name(status), message);
  }
  /* The rest of the library works: a file-less store opens. */
  est_store *memory = NULL;
  if (est_store_open("memory:", NULL, &memory) != EST_OK) {
    fprintf(stderr, "FAIL: memory: %s\n", est_last_error());
    ++failures;
  }
  est_store_close(memory);
  return failures == 0 ? 0 : 1;
}
