// txn.go: transactions (the header's experimental est_txn_*: appends to
// several streams, each with its own expectation, all or nothing) and
// idempotent appends (events carrying caller-set IDs: a retry of a batch
// already written returns the original result, marked Duplicate), also for
// aggregate saves (Aggregate.SetEventID).
//
// Estoria's WritableEvent has no ID, so these take this package's NewEvent.
// A *Txn is for one goroutine at a time (a mutex serialises misuse); it does
// not keep the store open: once the store is closed its calls fail with
// ErrClosed.

package est

/*
#define EST_EXPERIMENTAL
#include <stdlib.h>
#include <string.h>
#include <estoria/estoria.h>

// Builds a batch from a packed buffer: desc holds 5 int64 per event (type
// offset, data offset, data length, metadata count, has an ID); the metadata
// pairs follow the data as "key\0value\0"; ids holds 16 bytes per event.
static est_status gs_build(const char *buf, const int64_t *desc, const uint8_t *ids, size_t n,
                           est_batch **out) {
  est_batch *b = NULL;
  est_status st = est_batch_new(&b);
  if (st != EST_OK) return st;
  for (size_t i = 0; i < n && st == EST_OK; i++) {
    const int64_t *d = desc + 5 * i;
    st = est_batch_add(b, buf + d[0], buf + d[1], (size_t)d[2], NULL);
    const char *p = buf + d[1] + d[2];
    for (int64_t m = 0; m < d[3] && st == EST_OK; m++) {
      const char *k = p;
      const char *v = k + strlen(k) + 1;
      p = v + strlen(v) + 1;
      st = est_batch_add_metadata(b, k, v);
    }
    if (st == EST_OK && d[4]) {
      est_uuid id;
      memcpy(id.bytes, ids + 16 * i, 16);
      st = est_batch_set_id(b, &id);
    }
  }
  if (st != EST_OK) {
    est_batch_free(b);
    return st;
  }
  *out = b;
  return EST_OK;
}

static est_status gs_txn_append(est_txn *t, const char *stream_id, const char *buf, const int64_t *desc,
                                const uint8_t *ids, size_t n, const est_append_options *o, char **msg) {
  est_batch *b = NULL;
  est_status st = gs_build(buf, desc, ids, n, &b);
  if (st == EST_OK) st = est_txn_append(t, stream_id, b, o);
  if (st != EST_OK) *msg = strdup(est_last_error());
  est_batch_free(b);
  return st;
}

static est_status gs_append_ids(est_store *s, const char *stream_id, const char *buf, const int64_t *desc,
                                const uint8_t *ids, size_t n, const est_append_options *o,
                                est_append_result *r, char **msg) {
  est_batch *b = NULL;
  est_status st = gs_build(buf, desc, ids, n, &b);
  if (st == EST_OK) st = est_append_batch(s, stream_id, b, o, r, NULL);
  if (st != EST_OK) *msg = strdup(est_last_error());
  est_batch_free(b);
  return st;
}

static est_status gs_txn_new(est_store *s, est_txn **out, char **msg) {
  est_status st = est_txn_new(s, out);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static est_status gs_aggregate_set_event_id(est_aggregate *agg, const uint8_t *id, char **msg) {
  est_uuid u;
  memcpy(u.bytes, id, 16);
  est_status st = est_aggregate_set_event_id(agg, &u);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static est_status gs_txn_commit(est_txn *t, est_append_result *r, size_t n, char **msg) {
  for (size_t i = 0; i < n; i++) {
    r[i].struct_size = sizeof(est_append_result);
    r[i].flags = 0;
  }
  est_status st = est_txn_commit(t, r, n);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/gofrs/uuid/v5"
)

// NewEvent is an event to append with an optional caller-set ID: when every
// event of a batch carries one, the append is idempotent.
type NewEvent struct {
	ID       uuid.UUID // uuid.Nil: the store assigns a UUIDv7
	Type     string
	Data     []byte
	Metadata map[string]string
}

// Expectation is what an append requires of its stream (est_append_options).
type Expectation struct {
	kind    C.int32_t
	version int64
}

// AnyVersion: no check (the zero Expectation).
func AnyVersion() Expectation { return Expectation{kind: C.EST_EXPECT_ANY} }

// AtVersion: the stream's version must be v (0: the stream must be empty).
func AtVersion(v int64) Expectation { return Expectation{kind: C.EST_EXPECT_VERSION, version: v} }

// NoStream: the stream must not exist.
func NoStream() Expectation { return Expectation{kind: C.EST_EXPECT_NO_STREAM} }

// StreamExists: the stream must exist (written and not wholly deleted).
func StreamExists() Expectation { return Expectation{kind: C.EST_EXPECT_STREAM_EXISTS} }

// AppendResult says where an append's events went.
type AppendResult struct {
	FirstVersion, LastVersion   int64
	FirstPosition, LastPosition int64
	ActualVersion               int64 // the stream's version after the call
	// Duplicate: the events (all carrying IDs) were already in the stream;
	// nothing was written and this is the original append's result.
	Duplicate bool
}

func resultOf(r *C.est_append_result) AppendResult {
	return AppendResult{
		FirstVersion: int64(r.first_version), LastVersion: int64(r.last_version),
		FirstPosition: int64(r.first_position), LastPosition: int64(r.last_position),
		ActualVersion: int64(r.actual_version), Duplicate: r.flags&C.EST_APPEND_DUPLICATE != 0,
	}
}

// VersionMismatchError is a failed expectation of Append or Txn.Commit: the
// stream, the append's index within a transaction (0 for Append) and the
// versions. It matches ErrVersionMismatch.
type VersionMismatchError struct {
	StreamID         string
	Index            int
	Expected, Actual int64
	Message          string
}

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("estoria: version mismatch on stream %s (append %d: expected %d, actual %d): %s",
		e.StreamID, e.Index, e.Expected, e.Actual, e.Message)
}

// Is matches ErrVersionMismatch.
func (e *VersionMismatchError) Is(target error) bool { return target == ErrVersionMismatch }

// packNew lays out the stream ID and events for the shims: one byte buffer,
// 5 int64 per event and 16 ID bytes per event; none holds a Go pointer.
func packNew(op, streamID string, events []NewEvent) ([]byte, []int64, []byte, error) {
	if len(events) == 0 {
		return nil, nil, nil, errorf(op, StatusInvalidArgument, "no events to append")
	}
	if strings.IndexByte(streamID, 0) >= 0 {
		return nil, nil, nil, errorf(op, StatusInvalidArgument, "stream ID contains NUL")
	}
	buf := append([]byte(streamID), 0)
	desc := make([]int64, 0, 5*len(events))
	ids := make([]byte, 16*len(events))
	var keys []string
	for i, e := range events {
		if strings.IndexByte(e.Type, 0) >= 0 {
			return nil, nil, nil, errorf(op, StatusInvalidArgument, "event type contains NUL")
		}
		typeOff := len(buf)
		buf = append(append(buf, e.Type...), 0)
		dataOff := len(buf)
		buf = append(buf, e.Data...)
		keys = keys[:0]
		for k := range e.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := e.Metadata[k]
			if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
				return nil, nil, nil, errorf(op, StatusInvalidArgument, "metadata contains NUL")
			}
			buf = append(append(append(append(buf, k...), 0), v...), 0)
		}
		hasID := int64(0)
		if e.ID != uuid.Nil {
			hasID = 1
			copy(ids[16*i:], e.ID[:])
		}
		desc = append(desc, int64(typeOff), int64(dataOff), int64(len(e.Data)), int64(len(keys)), hasID)
	}
	return buf, desc, ids, nil
}

func (x Expectation) options() C.est_append_options {
	var o C.est_append_options
	C.est_append_options_init(&o)
	o.expect = x.kind
	o.expected_version = C.int64_t(x.version)
	return o
}

// Append appends events to streamID ("type_uuid") atomically with an
// expectation, keeping every event's ID: when all carry one, a retry of an
// append already written writes nothing and returns the original result
// with Duplicate set (some but not all of them there is a version
// mismatch). A failed expectation is a *VersionMismatchError.
func (s *Store) Append(ctx context.Context, streamID string, events []NewEvent, expect Expectation) (AppendResult, error) {
	const op = "append"
	if err := ctx.Err(); err != nil {
		return AppendResult{}, err
	}
	buf, desc, ids, err := packNew(op, streamID, events)
	if err != nil {
		return AppendResult{}, err
	}
	o := expect.options()
	c, err := s.acquire(op)
	if err != nil {
		return AppendResult{}, err
	}
	var r C.est_append_result
	C.est_append_result_init(&r)
	var msg *C.char
	st := C.gs_append_ids(c, (*C.char)(unsafe.Pointer(&buf[0])), (*C.char)(unsafe.Pointer(&buf[0])),
		(*C.int64_t)(unsafe.Pointer(&desc[0])), (*C.uint8_t)(unsafe.Pointer(&ids[0])), C.size_t(len(events)), &o, &r, &msg)
	s.release()
	runtime.KeepAlive(buf)
	runtime.KeepAlive(desc)
	runtime.KeepAlive(ids)
	switch st {
	case C.EST_OK:
		return resultOf(&r), nil
	case C.EST_ERR_VERSION_MISMATCH:
		return AppendResult{}, &VersionMismatchError{StreamID: streamID, Expected: expect.version,
			Actual: int64(r.actual_version), Message: takeMsg(msg)}
	default:
		return AppendResult{}, statusErr(op+" "+streamID, st, msg)
	}
}

type txnAppend struct {
	streamID string
	expected int64
}

// Txn is a transaction; Store.Begin starts one. Close it when done (an
// unclosed one that is garbage collected is freed by a finalizer).
type Txn struct {
	mu          sync.Mutex
	c           *C.est_txn
	appends     []txnAppend
	checkpoints int  // saves added since the last commit (checkpoint.go)
	borrowed    bool // an exactly-once projection's (projection.go): the engine commits and frees it
}

// lend makes a borrowed transaction the engine's tx for one handler call
// (nil: the call is over, and later calls fail with ErrClosed).
func (t *Txn) lend(c *C.est_txn) {
	t.mu.Lock()
	t.c = c
	t.appends = t.appends[:0]
	t.checkpoints = 0
	t.mu.Unlock()
}

// Begin starts an empty transaction.
func (s *Store) Begin(ctx context.Context) (*Txn, error) {
	const op = "begin"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var out *C.est_txn
	var msg *C.char
	st := C.gs_txn_new(c, &out, &msg)
	s.release()
	if st != C.EST_OK {
		return nil, statusErr(op, st, msg)
	}
	t := &Txn{c: out}
	runtime.SetFinalizer(t, func(t *Txn) { t.free() })
	return t, nil
}

// Append adds an append of events to streamID with its expectation. The
// inputs are checked and copied now; the expectation at Commit. A later
// append to the same stream sees the earlier ones.
func (t *Txn) Append(streamID string, events []NewEvent, expect Expectation) error {
	const op = "txn append"
	buf, desc, ids, err := packNew(op, streamID, events)
	if err != nil {
		return err
	}
	o := expect.options()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return errorf(op, StatusClosed, "the transaction is closed")
	}
	var msg *C.char
	st := C.gs_txn_append(t.c, (*C.char)(unsafe.Pointer(&buf[0])), (*C.char)(unsafe.Pointer(&buf[0])),
		(*C.int64_t)(unsafe.Pointer(&desc[0])), (*C.uint8_t)(unsafe.Pointer(&ids[0])), C.size_t(len(events)), &o, &msg)
	runtime.KeepAlive(buf)
	runtime.KeepAlive(desc)
	runtime.KeepAlive(ids)
	if st != C.EST_OK {
		return statusErr(op+" "+streamID, st, msg)
	}
	t.appends = append(t.appends, txnAppend{streamID, expect.version})
	return nil
}

// Len is the number of appends not yet committed.
func (t *Txn) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return 0
	}
	return int(C.est_txn_size(t.c))
}

// Commit checks every expectation and writes every append, or none: one
// result per append, in order (Duplicate for an append already written).
// The transaction is then empty and may be reused. A failed expectation is a
// *VersionMismatchError naming the stream; the transaction keeps its appends.
// ctx is checked before the call.
func (t *Txn) Commit(ctx context.Context) ([]AppendResult, error) {
	const op = "txn commit"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return nil, errorf(op, StatusClosed, "the transaction is closed")
	}
	if t.borrowed {
		return nil, errorf(op, StatusInvalidArgument, "a projection's transaction commits with its checkpoint, not by the handler")
	}
	n := int(C.est_txn_size(t.c))
	if n == 0 {
		if t.checkpoints > 0 { // only checkpoint saves
			var msg *C.char
			if st := C.gs_txn_commit(t.c, nil, 0, &msg); st != C.EST_OK {
				return nil, statusErr(op, st, msg)
			}
			t.checkpoints = 0
		}
		return []AppendResult{}, nil
	}
	raw := (*C.est_append_result)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.est_append_result{}))))
	if raw == nil {
		return nil, errorf(op, StatusNoMemory, "allocating results")
	}
	defer C.free(unsafe.Pointer(raw))
	results := unsafe.Slice(raw, n)
	var msg *C.char
	st := C.gs_txn_commit(t.c, raw, C.size_t(n), &msg)
	switch st {
	case C.EST_OK:
		out := make([]AppendResult, n)
		for i := range results {
			out[i] = resultOf(&results[i])
		}
		t.appends = t.appends[:0]
		t.checkpoints = 0
		return out, nil
	case C.EST_ERR_VERSION_MISMATCH:
		m := takeMsg(msg)
		// The library's message names "append I to stream S: ".
		if at := strings.Index(m, "append "); at >= 0 {
			rest := m[at+len("append "):]
			if i, err := strconv.Atoi(strings.SplitN(rest, " ", 2)[0]); err == nil && i >= 0 && i < n && i < len(t.appends) {
				a := t.appends[i]
				return nil, &VersionMismatchError{StreamID: a.streamID, Index: i, Expected: a.expected,
					Actual: int64(results[i].actual_version), Message: m}
			}
		}
		return nil, &Error{Op: op, Code: StatusVersionMismatch, Message: m}
	default:
		return nil, statusErr(op, st, msg)
	}
}

// Close frees the transaction, dropping uncommitted appends. Closing twice
// is a no-op, as is closing a projection's (the engine owns it).
func (t *Txn) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.borrowed {
		return nil
	}
	t.free()
	runtime.SetFinalizer(t, nil)
	return nil
}

func (t *Txn) free() {
	if t.c != nil {
		C.est_txn_free(t.c)
		t.c = nil
	}
}

// SetEventID gives the event queued last a caller-chosen ID. A save whose
// events all carry IDs is safe to retry: when they are already stored right
// after the aggregate's version (a save whose reply was lost), Save writes
// nothing and applies them as a save does.
func (g *Aggregate[S]) SetEventID(id uuid.UUID) error {
	const op = "aggregate set event id"
	if err := g.lock(op); err != nil {
		return err
	}
	defer g.unlock()
	var msg *C.char
	if st := C.gs_aggregate_set_event_id(g.c, (*C.uint8_t)(unsafe.Pointer(&id[0])), &msg); st != C.EST_OK {
		return statusErr(op, st, msg)
	}
	return nil
}
