// bench_c.go: the C side of bench_test.go and projection_bench_test.go. The
// same workloads through the C ABI alone, called once per iteration, so that
// one `go test -bench` run puts the binding beside C on the same store. cgo
// is not allowed in _test.go files, hence this file; it adds nothing to the
// package's API.

package est

/*
#define EST_EXPERIMENTAL 1
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

// The projection engine with a C handler (bench/projection_bench.cc's): a
// count and a byte sum of the inputs, passing over its own "totals" outputs;
// exactly once, one output event per call carrying them.
typedef struct gs_bench_totals {
  int64_t events, bytes;
  const char *out;
} gs_bench_totals;

static est_status gs_bench_handle(void *user, const est_event *events, size_t count, est_txn *tx) {
  gs_bench_totals *t = (gs_bench_totals *)user;
  const int64_t before = t->events;
  for (size_t i = 0; i < count; i++) {
    if (events[i].type[0] == 't' && strcmp(events[i].type, "totals") == 0) continue;
    t->bytes += (int64_t)events[i].data_len;
    t->events++;
  }
  if (tx != NULL && t->events > before) {
    int64_t out[2] = {t->events, t->bytes};
    est_batch *b = NULL;
    if (est_batch_new(&b) != EST_OK) return EST_ERR_NO_MEMORY;
    est_status st = est_batch_add(b, "totals", out, sizeof out, NULL);
    if (st == EST_OK) st = est_txn_append(tx, t->out, b, NULL);
    est_batch_free(b);
    return st;
  }
  return EST_OK;
}

// A fresh projection name_vVERSION catching up with budget-0 runs; *events
// and *bytes are what its handler counted.
static est_status gs_bench_catch_up(est_store *s, const char *name, int32_t version, uint32_t flags,
                                    uint32_t batch, const char *out, int64_t *events, int64_t *bytes, char **msg) {
  gs_bench_totals t = {0, 0, out};
  est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
  h.name = name;
  h.version = version;
  h.user = &t;
  h.handle = gs_bench_handle;
  est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
  o.batch_max = batch;
  o.flags = flags;
  est_projection *p = NULL;
  est_status st = est_projection_new(s, &h, &o, &p);
  est_projection_report r = EST_PROJECTION_REPORT_INIT;
  while (st == EST_OK && !r.caught_up) st = est_projection_run(p, 0, &r);
  if (st < 0) *msg = strdup(est_last_error());
  est_projection_free(p);
  *events = t.events;
  *bytes = t.bytes;
  return st;
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

// cProjectionCatchUp runs a fresh projection name_vVERSION with the C handler
// until it has caught up, in one crossing; it returns what the handler
// counted (events and data bytes, its own outputs left out).
func (s *Store) cProjectionCatchUp(name string, version int, exactlyOnce bool, batch int, out string) (int64, int64, error) {
	cname, cout := cString(name), cString(out)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cout))
	var flags C.uint32_t
	if exactlyOnce {
		flags = C.EST_PROJECTION_EXACTLY_ONCE
	}
	c, err := s.acquire("projection")
	if err != nil {
		return 0, 0, err
	}
	defer s.release()
	var events, bytes C.int64_t
	var msg *C.char
	if st := C.gs_bench_catch_up(c, cname, C.int32_t(version), flags, C.uint32_t(batch), cout, &events, &bytes, &msg); st != C.EST_OK {
		return 0, 0, statusErr("projection run", st, msg)
	}
	return int64(events), int64(bytes), nil
}
