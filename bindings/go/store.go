// store.go: Store, an estoria store (est_store) under Estoria's Go interfaces.
//
// *Store implements eventstore.Store (StreamReader + StreamWriter) and
// snapshotstore.SnapshotStore of github.com/go-estoria/estoria v0.4.0, plus
// GlobalReader and StreamDeleter (interfaces.go: the shapes later Estoria
// versions give them), PruneSnapshots, Sync and Stats.
//
// Thread safety: a *Store may be used from many goroutines at once (the C
// store is thread-safe). Close waits for calls in flight, and every later call
// returns an error matching ErrClosed. Iterators are for one goroutine at a
// time and stay valid handles after Close (their Next then fails with
// ErrClosed, as the ABI says).

package est

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
)

// SyncMode says when appends become durable (file store).
type SyncMode int32

// The sync modes of est_store_options.
const (
	SyncAlways   SyncMode = C.EST_SYNC_ALWAYS
	SyncInterval SyncMode = C.EST_SYNC_INTERVAL
	SyncNone     SyncMode = C.EST_SYNC_NONE
)

// Options are est_store_options; the zero value is the library's defaults.
type Options struct {
	SyncMode     SyncMode
	SyncInterval time.Duration // with SyncInterval; 0 = the library's default (100 ms)
	ReadOnly     bool
}

// Store is an open estoria store. Open one with Open; Close it when done (a
// store that is garbage collected unclosed is closed by a finalizer).
type Store struct {
	mu sync.RWMutex // held shared around every C call, exclusively by Close
	c  *C.est_store
}

var (
	_ eventstore.Store            = (*Store)(nil)
	_ snapshotstore.SnapshotStore = (*Store)(nil)
)

// Open opens the store at uri: "memory:" (a fresh private store), "file:PATH"
// or a bare path (a directory, created if absent). opts may be nil.
func Open(uri string, opts *Options) (*Store, error) {
	if major := ABIVersion() >> 16; major != abiMajor {
		return nil, errorf("open", StatusUnsupported, "libestoria has ABI major %d, this binding needs %d", major, abiMajor)
	}
	if strings.IndexByte(uri, 0) >= 0 {
		return nil, errorf("open", StatusInvalidArgument, "uri contains NUL")
	}
	var o C.est_store_options
	C.est_store_options_init(&o)
	if opts != nil {
		o.sync_mode = C.int32_t(opts.SyncMode)
		o.sync_interval_ms = C.int32_t(opts.SyncInterval / time.Millisecond)
		if opts.ReadOnly {
			o.read_only = 1
		}
	}
	curi := cString(uri)
	defer C.free(unsafe.Pointer(curi))
	var out *C.est_store
	var msg *C.char
	if st := C.gs_store_open(curi, &o, &out, &msg); st != C.EST_OK {
		return nil, statusErr("open "+uri, st, msg)
	}
	s := &Store{c: out}
	runtime.SetFinalizer(s, (*Store).Close)
	return s, nil
}

// Close closes the store; later calls on it fail with ErrClosed. Closing
// twice is a no-op. It returns nil: est_store_close reports nothing (call
// Sync first to hear of a failed flush).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		C.est_store_close(s.c)
		s.c = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

// acquire takes the shared lock and returns the handle, or an ErrClosed error
// (with the lock released).
func (s *Store) acquire(op string) (*C.est_store, error) {
	if s == nil {
		return nil, errorf(op, StatusInvalidArgument, "nil store")
	}
	s.mu.RLock()
	if s.c == nil {
		s.mu.RUnlock()
		return nil, errorf(op, StatusClosed, "the store is closed")
	}
	return s.c, nil
}

func (s *Store) release() { s.mu.RUnlock() }

// AppendStream appends events to a stream atomically (all or none), as
// eventstore.StreamWriter says. An expectation that fails returns an
// eventstore.StreamVersionMismatchError with the expected and actual
// versions. ExpectVersion and StreamMustNotExist together are refused, as is
// an empty batch (the ABI's rule) and a string containing NUL.
// ctx is checked before the call: an append that has started is not undone.
func (s *Store) AppendStream(ctx context.Context, streamID typeid.ID, events []*eventstore.WritableEvent,
	opts eventstore.AppendStreamOptions) error {
	const op = "append"
	if err := ctx.Err(); err != nil {
		return err
	}
	var o C.est_append_options
	C.est_append_options_init(&o)
	var expected int64
	switch {
	case opts.ExpectVersion != nil && opts.StreamMustNotExist:
		return errorf(op, StatusInvalidArgument, "ExpectVersion and StreamMustNotExist are mutually exclusive")
	case opts.ExpectVersion != nil:
		expected = *opts.ExpectVersion
		o.expect = C.EST_EXPECT_VERSION
		o.expected_version = C.int64_t(expected)
	case opts.StreamMustNotExist:
		o.expect = C.EST_EXPECT_NO_STREAM
	}
	buf, desc, err := pack(streamID.String(), events)
	if err != nil {
		return err
	}
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var r C.est_append_result
	C.est_append_result_init(&r)
	var msg *C.char
	st := C.gs_append(c, (*C.char)(unsafe.Pointer(&buf[0])), (*C.char)(unsafe.Pointer(&buf[0])),
		(*C.int64_t)(unsafe.Pointer(&desc[0])), C.size_t(len(events)), &o, &r, &msg)
	s.release()
	runtime.KeepAlive(buf)
	runtime.KeepAlive(desc)
	switch st {
	case C.EST_OK:
		return nil
	case C.EST_ERR_VERSION_MISMATCH:
		takeMsg(msg)
		return eventstore.StreamVersionMismatchError{
			StreamID:        streamID,
			ExpectedVersion: expected,
			ActualVersion:   int64(r.actual_version),
		}
	default:
		return statusErr(op+" "+streamID.String(), st, msg)
	}
}

// pack lays out the stream ID and the events for gs_append: one byte buffer
// (the stream ID first, then per event "type\0", the data, and the metadata
// as "key\0value\0" sorted by key) and 4 int64 per event. Neither holds a Go
// pointer, so both may cross to C.
func pack(streamID string, events []*eventstore.WritableEvent) ([]byte, []int64, error) {
	const op = "append"
	if len(events) == 0 {
		return nil, nil, errorf(op, StatusInvalidArgument, "no events to append")
	}
	size := len(streamID) + 1
	for _, e := range events {
		if e == nil {
			return nil, nil, errorf(op, StatusInvalidArgument, "nil event")
		}
		size += len(e.Type) + 1 + len(e.Data)
		for k, v := range e.Metadata {
			size += len(k) + len(v) + 2
		}
	}
	buf := make([]byte, 0, size)
	buf = append(append(buf, streamID...), 0)
	desc := make([]int64, 0, 4*len(events))
	var keys []string
	for _, e := range events {
		if strings.IndexByte(e.Type, 0) >= 0 {
			return nil, nil, errorf(op, StatusInvalidArgument, "event type contains NUL")
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
				return nil, nil, errorf(op, StatusInvalidArgument, "metadata contains NUL")
			}
			buf = append(append(append(append(buf, k...), 0), v...), 0)
		}
		desc = append(desc, int64(typeOff), int64(dataOff), int64(len(e.Data)), int64(len(keys)))
	}
	return buf, desc, nil
}

// ReadStream reads one stream, as eventstore.StreamReader says: a stream never
// written (or wholly deleted) is an error matching eventstore.ErrStreamNotFound;
// an existing stream with nothing past the bound gives an empty iterator. The
// iterator is a snapshot taken now. ctx is checked before and after the call,
// and by every Next.
func (s *Store) ReadStream(ctx context.Context, id typeid.ID, opts eventstore.ReadStreamOptions) (eventstore.StreamIterator, error) {
	const op = "read stream"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o C.est_read_options
	C.est_read_options_init(&o)
	o.direction = C.int32_t(opts.Direction)
	o.after_version = C.int64_t(opts.AfterVersion)
	o.count = C.int64_t(opts.Count)
	cid := cString(id.String())
	defer C.free(unsafe.Pointer(cid))
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var out *C.est_iter
	var msg *C.char
	st := C.gs_read_stream(c, cid, &o, &out, &msg)
	s.release()
	if st != C.EST_OK {
		err := statusErr(op+" "+id.String(), st, msg)
		if st == C.EST_ERR_NOT_FOUND {
			return nil, &both{outer: eventstore.ErrStreamNotFound, inner: err}
		}
		return nil, err
	}
	return newIterator(ctx, out)
}

// ReadAllOptions are est_read_all_options.
type ReadAllOptions struct {
	AfterPosition int64 // exclusive lower bound on the global position
	Count         int64 // at most this many events; 0 = all
}

// ReadAll reads every event in ascending global position (GlobalReader): a
// finite iterator whose frontier is fixed when ReadAll returns, so events
// appended while it drains wait for the next read. Nothing to read is an
// empty iterator, never an error.
func (s *Store) ReadAll(ctx context.Context, opts ReadAllOptions) (eventstore.StreamIterator, error) {
	const op = "read all"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o C.est_read_all_options
	C.est_read_all_options_init(&o)
	o.after_position = C.int64_t(opts.AfterPosition)
	o.count = C.int64_t(opts.Count)
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var out *C.est_iter
	var msg *C.char
	st := C.gs_read_all(c, &o, &out, &msg)
	s.release()
	if st != C.EST_OK {
		return nil, statusErr(op, st, msg)
	}
	return newIterator(ctx, out)
}

// DeleteStreamOptions are the options of DeleteStream (Estoria's later
// eventstore.DeleteStreamOptions).
type DeleteStreamOptions struct {
	// ToVersion 0 deletes the stream wholly: it then reads as never written,
	// its snapshots go with it, and its ID is reusable from version 1. A
	// positive ToVersion truncates: events at or below it are removed, later
	// events keep their versions, and the stream keeps its tip even when
	// emptied, so the next append continues from it.
	ToVersion int64
}

// DeleteStream deletes or truncates a stream (StreamDeleter). A stream never
// written is an error matching eventstore.ErrStreamNotFound; a negative
// ToVersion is ErrInvalidArgument.
func (s *Store) DeleteStream(ctx context.Context, id typeid.ID, opts DeleteStreamOptions) error {
	if opts.ToVersion < 0 {
		return errorf("delete stream", StatusInvalidArgument, "ToVersion must be >= 0 (0 deletes wholly)")
	}
	return s.deleteStream(ctx, id, opts.ToVersion)
}

func (s *Store) deleteStream(ctx context.Context, id typeid.ID, to int64) error {
	const op = "delete stream"
	if err := ctx.Err(); err != nil {
		return err
	}
	cid := cString(id.String())
	defer C.free(unsafe.Pointer(cid))
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_delete_stream(c, cid, C.int64_t(to), &msg)
	s.release()
	if st != C.EST_OK {
		err := statusErr(op+" "+id.String(), st, msg)
		if st == C.EST_ERR_NOT_FOUND {
			return &both{outer: eventstore.ErrStreamNotFound, inner: err}
		}
		return err
	}
	return nil
}

// WriteSnapshot writes a snapshot (snapshotstore.SnapshotWriter). A zero
// Timestamp lets the store stamp the write time. The stream need not exist.
func (s *Store) WriteSnapshot(ctx context.Context, snap *snapshotstore.AggregateSnapshot) error {
	const op = "write snapshot"
	if err := ctx.Err(); err != nil {
		return err
	}
	if snap == nil {
		return errorf(op, StatusInvalidArgument, "nil snapshot")
	}
	var ts int64
	if !snap.Timestamp.IsZero() {
		ts = snap.Timestamp.UnixNano()
	}
	cid := cString(snap.AggregateID.String())
	defer C.free(unsafe.Pointer(cid))
	var data unsafe.Pointer
	if len(snap.Data) > 0 {
		data = unsafe.Pointer(&snap.Data[0])
	}
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_snapshot_write(c, cid, C.int64_t(snap.AggregateVersion), data, C.size_t(len(snap.Data)), nil,
		C.int64_t(ts), &msg)
	s.release()
	if st != C.EST_OK {
		return statusErr(op+" "+snap.AggregateID.String(), st, msg)
	}
	return nil
}

// ReadSnapshot reads the newest snapshot (highest version, then the latest
// written) at or below opts.MaxVersion (0 = any); none is an error matching
// snapshotstore.ErrSnapshotNotFound.
func (s *Store) ReadSnapshot(ctx context.Context, aggregateID typeid.ID,
	opts snapshotstore.ReadSnapshotOptions) (*snapshotstore.AggregateSnapshot, error) {
	const op = "read snapshot"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cid := cString(aggregateID.String())
	defer C.free(unsafe.Pointer(cid))
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var out *C.est_snapshot
	var msg *C.char
	st := C.gs_snapshot_read(c, cid, C.int64_t(opts.MaxVersion), &out, &msg)
	s.release()
	if st != C.EST_OK {
		err := statusErr(op+" "+aggregateID.String(), st, msg)
		if st == C.EST_ERR_NOT_FOUND {
			return nil, &both{outer: snapshotstore.ErrSnapshotNotFound, inner: err}
		}
		return nil, err
	}
	defer C.est_snapshot_free(out)
	var n C.size_t
	p := C.est_snapshot_data(out, &n)
	return &snapshotstore.AggregateSnapshot{
		AggregateID:      aggregateID,
		AggregateVersion: int64(C.est_snapshot_version(out)),
		Timestamp:        time.Unix(0, int64(C.est_snapshot_timestamp_ns(out))),
		Data:             C.GoBytes(unsafe.Pointer(p), C.int(n)),
	}, nil
}

// PruneSnapshots removes the snapshots of aggregateID but the keepLast newest
// (0 = no count limit) and those below minVersion (0 = no bound).
func (s *Store) PruneSnapshots(ctx context.Context, aggregateID typeid.ID, keepLast, minVersion int64) error {
	const op = "prune snapshots"
	if err := ctx.Err(); err != nil {
		return err
	}
	cid := cString(aggregateID.String())
	defer C.free(unsafe.Pointer(cid))
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_snapshot_prune(c, cid, C.int64_t(keepLast), C.int64_t(minVersion), &msg)
	s.release()
	if st != C.EST_OK {
		return statusErr(op, st, msg)
	}
	return nil
}

// Sync makes everything written so far durable (est_store_sync).
func (s *Store) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := s.acquire("sync")
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_store_sync(c, &msg)
	s.release()
	if st != C.EST_OK {
		return statusErr("sync", st, msg)
	}
	return nil
}

// Stats are est_stats.
type Stats struct {
	Events, Streams, Bytes, Segments, FirstPosition, LastPosition, Snapshots int64
}

// Stats returns the store's counters.
func (s *Store) Stats() (Stats, error) {
	c, err := s.acquire("stats")
	if err != nil {
		return Stats{}, err
	}
	var cs C.est_stats
	var msg *C.char
	st := C.gs_store_stats(c, &cs, &msg)
	s.release()
	if st != C.EST_OK {
		return Stats{}, statusErr("stats", st, msg)
	}
	return Stats{int64(cs.events), int64(cs.streams), int64(cs.bytes), int64(cs.segments),
		int64(cs.first_position), int64(cs.last_position), int64(cs.snapshots)}, nil
}
