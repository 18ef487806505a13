// bench_c.go: the C side of bench_test.go. The same workloads through the C
// ABI alone, called once per iteration, so that one `go test -bench` run puts
// the binding beside C on the same store. cgo is not allowed in _test.go
// files, hence this file; it adds nothing to the package's API.

package est

/*
#include <stdlib.h>
#include <string.h>
#include "shim.h"

// Appends one batch of n events shaped like bench_test.go's: type
// "deposited", the payload, content type application/json, metadata
// correlation=c-1 and user=u-1. The batch
// is built the way a C caller builds one.
static est_status gs_bench_append(est_store *s, const char *stream, const void *data, size_t len, int n,
                                  char **msg) {
  est_batch *b = NULL;
  est_status st = est_batch_new(&b);
  for (int i = 0; i < n && st == EST_OK; i++) {
    st = est_batch_add(b, "deposited", data, len, "application/json");
    if (st == EST_OK) st = est_batch_add_metadata(b, "correlation", "c-1");
    if (st == EST_OK) st = est_batch_add_metadata(b, "user", "u-1");
  }
  if (st == EST_OK) st = est_append_batch(s, stream, b, NULL, NULL, NULL);
  if (st < 0) *msg = strdup(est_last_error());
  est_batch_free(b);
  return st;
}

// Reads a whole stream by batches of 256 views, touching every event's data
// and metadata; *events is how many it read, *sum a value that depends on
// every byte touched.
static est_status gs_bench_read(est_store *s, const char *stream, int64_t *events, uint64_t *sum,
                                char **msg) {
  enum { kBatch = 256 };
  est_event views[kBatch];
  est_iter *it = NULL;
  est_status st = est_read_stream(s, stream, NULL, &it);
  views[0].struct_size = sizeof(est_event);
  size_t n = 0;
  while (st == EST_OK && (st = est_iter_next_batch(it, views, kBatch, &n)) == EST_OK) {
    for (size_t i = 0; i < n; i++) {
      const est_event *e = &views[i];
      *sum += e->data_len;
      if (e->data_len > 0) *sum += e->data[0] + e->data[e->data_len - 1];
      for (size_t m = 0; m < e->metadata_count && st == EST_OK; m++) {
        const char *k, *v;
        st = est_event_metadata(e, m, &k, &v);
        if (st == EST_OK) *sum += (unsigned char)k[0] + (unsigned char)v[0];
      }
    }
    *events += (int64_t)n;
  }
  if (st < 0) *msg = strdup(est_last_error());
  est_iter_close(it);
  return st == EST_END ? EST_OK : st;
}
*/
import "C"

import "unsafe"

// cAppend appends one batch of n events of data's shape through C alone.
func (s *Store) cAppend(stream string, data []byte, n int) error {
	id := cString(stream)
	defer C.free(unsafe.Pointer(id))
	c, err := s.acquire("append")
	if err != nil {
		return err
	}
	defer s.release()
	var msg *C.char
	if st := C.gs_bench_append(c, id, unsafe.Pointer(&data[0]), C.size_t(len(data)), C.int(n), &msg); st != C.EST_OK {
		return statusErr("append", st, msg)
	}
	return nil
}

// cReadStream reads a whole stream through C alone; it returns the events
// read and a sum over what it touched.
func (s *Store) cReadStream(stream string) (int64, uint64, error) {
	id := cString(stream)
	defer C.free(unsafe.Pointer(id))
	c, err := s.acquire("read stream")
	if err != nil {
		return 0, 0, err
	}
	defer s.release()
	var events C.int64_t
	var sum C.uint64_t
	var msg *C.char
	if st := C.gs_bench_read(c, id, &events, &sum, &msg); st != C.EST_OK {
		return 0, 0, statusErr("read stream", st, msg)
	}
	return int64(events), uint64(sum), nil
}
