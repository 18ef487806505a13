// store.go: Store, an estoria store (est_store) under Estoria's Go interfaces.
//
// *Store implements, of github.com/go-estoria/estoria v0.12.0,
// eventstore.Store (StreamReader + StreamWriter), eventstore.GlobalReader,
// eventstore.StreamDeleter and snapshotstore.SnapshotStore; beyond them it
// offers Restore, PruneSnapshots, Sync, Stats, Verify, Compact and
// ListStreams (admin.go).
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
	"maps"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
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
	// The host's side (host.go, doc/abi.md "Hosts"): ThreadsNone starts no
	// library thread (call Maintain from your loop); Clock (unix ns), Random
	// and Log replace the system's clock and randomness and the process-wide
	// log handler for this store. nil = the system's.
	Threads Threads
	Clock   func() int64
	Random  func(buf []byte)
	Log     LogHandler
}

// Store is an open estoria store. Open one with Open; Close it when done (a
// store that is garbage collected unclosed is closed by a finalizer).
type Store struct {
	mu        sync.RWMutex // held shared around every C call, exclusively by Close
	c         *C.est_store
	host      *C.uintptr_t // the host's callbacks (host.go), freed after est_store_close
	closing   atomic.Bool  // set by Close: new calls are refused
	callbacks atomic.Int32 // progress callbacks of this store running now
}

var (
	_ eventstore.Store            = (*Store)(nil)
	_ eventstore.GlobalReader     = (*Store)(nil)
	_ eventstore.StreamDeleter    = (*Store)(nil)
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
		o.threads = C.int32_t(opts.Threads)
	}
	host := hostCell(opts, &o)
	curi := cString(uri)
	defer C.free(unsafe.Pointer(curi))
	var out *C.est_store
	var msg *C.char
	if st := C.gs_store_open(curi, &o, &out, &msg); st != C.EST_OK {
		freeHostCell(host)
		return nil, statusErr("open "+uri, st, msg)
	}
	s := &Store{c: out, host: host}
	runtime.SetFinalizer(s, (*Store).Close)
	return s, nil
}

// Close closes the store; later calls on it fail with ErrClosed. It waits
// for calls in flight, except when called from inside a progress callback of
// this store's own Verify or Compact: then the store closes when that call
// returns. Closing twice is a no-op. It returns nil: est_store_close reports
// nothing (call Sync first to hear of a failed flush).
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	s.closing.Store(true)
	if !s.mu.TryLock() {
		if s.callbacks.Load() > 0 {
			return nil // release() closes it once the call in flight ends
		}
		s.mu.Lock()
	}
	s.closeLocked()
	s.mu.Unlock()
	return nil
}

func (s *Store) closeLocked() {
	if s.c != nil {
		C.est_store_close(s.c)
		s.c = nil
		freeHostCell(s.host) // the library calls it no more
		s.host = nil
		runtime.SetFinalizer(s, nil)
	}
}

// acquire takes the shared lock and returns the handle, or an ErrClosed error
// (with the lock released).
func (s *Store) acquire(op string) (*C.est_store, error) {
	if s == nil {
		return nil, errorf(op, StatusInvalidArgument, "nil store")
	}
	// Only Close takes the lock exclusively, after setting closing: a TryRLock
	// that fails means the store is closing, and waiting would deadlock a
	// call made from inside a callback of a call in flight.
	if s.closing.Load() || !s.mu.TryRLock() {
		return nil, errorf(op, StatusClosed, "the store is closed")
	}
	if s.c == nil || s.closing.Load() {
		s.release()
		return nil, errorf(op, StatusClosed, "the store is closed")
	}
	return s.c, nil
}

// release drops the shared lock; the last call in flight of a store whose
// Close was deferred closes it.
func (s *Store) release() {
	s.mu.RUnlock()
	if s.closing.Load() && s.callbacks.Load() == 0 && s.mu.TryLock() {
		s.closeLocked()
		s.mu.Unlock()
	}
}

// AppendStream appends events to a stream atomically (all or none), as
// eventstore.StreamWriter says, and returns the written events exactly as a
// later read returns them (from the ABI's written iterator, in the same
// call: no read-back). An expectation that fails returns an
// eventstore.StreamVersionMismatchError with the expected and actual
// versions. ExpectVersion and StreamMustNotExist together are refused, as is
// an empty batch (the ABI's rule) and a string containing NUL. Content types
// and metadata are kept verbatim (keys starting "estoria." included: they
// are the toolkit's own). ctx is checked before the call: an append that has
// started is not undone.
func (s *Store) AppendStream(ctx context.Context, streamID typeid.ID, events []*eventstore.WritableEvent,
	opts eventstore.AppendStreamOptions) ([]*eventstore.Event, error) {
	if len(events) == 0 {
		return nil, errorf("append", StatusInvalidArgument, "no events to append")
	}
	in := make([]appendEvent, len(events))
	for i, e := range events {
		if e == nil {
			return nil, errorf("append", StatusInvalidArgument, "nil event")
		}
		in[i] = appendEvent{Type: e.Type, Data: e.Data, ContentType: e.DataContentType, Metadata: e.Metadata}
	}
	return s.appendEvents(ctx, streamID, in, opts, 0, false)
}

// RestoreOptions are the options of Restore.
type RestoreOptions struct {
	eventstore.AppendStreamOptions
	// FirstVersion is the version a stream that does not exist starts at
	// (0 = 1): an import of a stream whose earlier events were truncated.
	FirstVersion int64
}

// Restore appends events read from another store (an import or a copy),
// keeping each event's ID, type (ID.Type) and timestamp as given, with the
// est_append EST_APPEND_RESTORE flag; StreamID, StreamVersion and
// GlobalPosition of the given events are ignored (the store assigns them).
// It returns the written events, as AppendStream does.
func (s *Store) Restore(ctx context.Context, streamID typeid.ID, events []*eventstore.Event,
	opts RestoreOptions) ([]*eventstore.Event, error) {
	if len(events) == 0 {
		return nil, errorf("restore", StatusInvalidArgument, "no events to append")
	}
	if opts.FirstVersion < 0 {
		return nil, errorf("restore", StatusInvalidArgument, "FirstVersion must be >= 0")
	}
	in := make([]appendEvent, len(events))
	for i, e := range events {
		if e == nil {
			return nil, errorf("restore", StatusInvalidArgument, "nil event")
		}
		if e.Timestamp.UnixNano() <= 0 {
			return nil, errorf("restore", StatusInvalidArgument, "event %d has no timestamp after 1970", i+1)
		}
		in[i] = appendEvent{Type: e.ID.Type, Data: e.Data, ContentType: e.DataContentType, Metadata: e.Metadata,
			ID: e.ID.UUID, Timestamp: e.Timestamp.UnixNano(), restore: true}
	}
	return s.appendEvents(ctx, streamID, in, opts.AppendStreamOptions, opts.FirstVersion, true)
}

// appendEvent is one event for gs_append.
type appendEvent struct {
	Type, ContentType string
	Data              []byte
	Metadata          map[string]string
	ID                uuid.UUID
	Timestamp         int64
	restore           bool
}

func (s *Store) appendEvents(ctx context.Context, streamID typeid.ID, events []appendEvent,
	opts eventstore.AppendStreamOptions, firstVersion int64, restore bool) ([]*eventstore.Event, error) {
	const op = "append"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o C.est_append_options
	C.est_append_options_init(&o)
	var expected int64
	switch {
	case opts.ExpectVersion != nil && opts.StreamMustNotExist:
		return nil, errorf(op, StatusInvalidArgument, "ExpectVersion and StreamMustNotExist are mutually exclusive")
	case opts.ExpectVersion != nil:
		expected = *opts.ExpectVersion
		o.expect = C.EST_EXPECT_VERSION
		o.expected_version = C.int64_t(expected)
	case opts.StreamMustNotExist:
		o.expect = C.EST_EXPECT_NO_STREAM
	}
	if restore {
		o.flags = C.EST_APPEND_RESTORE
		o.first_version = C.int64_t(firstVersion)
	}
	buf, desc, err := pack(streamID.String(), events)
	if err != nil {
		return nil, err
	}
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var r C.est_append_result
	C.est_append_result_init(&r)
	var written *C.est_iter
	var msg *C.char
	stamps := make([]int64, C.GS_STAMP*len(events))
	st := C.gs_append(c, (*C.char)(unsafe.Pointer(&buf[0])), (*C.char)(unsafe.Pointer(&buf[0])),
		(*C.int64_t)(unsafe.Pointer(&desc[0])), C.size_t(len(events)), &o, &r, &written,
		(*C.int64_t)(unsafe.Pointer(&stamps[0])), &msg)
	s.release()
	runtime.KeepAlive(buf)
	runtime.KeepAlive(desc)
	switch st {
	case C.EST_OK:
		if written != nil { // a duplicate: the original events, which may differ from these
			return collectWritten(written, len(events))
		}
		return writtenFrom(streamID, events, stamps), nil
	case C.EST_ERR_VERSION_MISMATCH:
		takeMsg(msg)
		return nil, eventstore.StreamVersionMismatchError{
			StreamID:        streamID,
			ExpectedVersion: expected,
			ActualVersion:   int64(r.actual_version),
		}
	default:
		return nil, statusErr(op+" "+streamID.String(), st, msg)
	}
}

// collectWritten converts the written iterator of an append (n events) and
// closes it.
func collectWritten(c *C.est_iter, n int) ([]*eventstore.Event, error) {
	it, err := newIteratorOf(context.Background(), c, min(n, batchSize))
	if err != nil {
		return nil, err
	}
	defer it.Close(context.Background())
	out := make([]*eventstore.Event, 0, n)
	for {
		ev, err := it.next()
		if err == eventstore.ErrEndOfEventStream {
			return out, nil
		} else if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

// writtenFrom builds the events an append wrote from the events it was given
// and what the store gave each one (stamps, C.GS_STAMP int64 per event: ID,
// timestamp, version, position): the values a read returns, without reading
// them back through the boundary. Data and metadata are copies, as a read's
// are; the data of the whole batch shares one allocation.
func writtenFrom(streamID typeid.ID, events []appendEvent, stamps []int64) []*eventstore.Event {
	n := len(events)
	evs := make([]eventstore.Event, n)
	positions := make([]int64, n)
	out := make([]*eventstore.Event, n)
	size := 0
	for i := range events {
		size += len(events[i].Data)
	}
	data := make([]byte, size)
	for i := range events {
		e, st, ev := &events[i], stamps[C.GS_STAMP*i:C.GS_STAMP*(i+1)], &evs[i]
		d := data[:len(e.Data):len(e.Data)]
		data = data[len(e.Data):]
		copy(d, e.Data)
		*ev = eventstore.Event{
			ID:              typeid.ID{Type: e.Type, UUID: uuid.UUID(*(*[16]byte)(unsafe.Pointer(&st[0])))},
			StreamID:        streamID,
			StreamVersion:   st[3],
			Timestamp:       time.Unix(0, st[2]),
			Data:            d,
			DataContentType: e.ContentType,
		}
		if len(e.Metadata) > 0 {
			ev.Metadata = maps.Clone(e.Metadata)
		}
		if st[4] > 0 {
			positions[i] = st[4]
			ev.GlobalPosition = &positions[i]
		}
		out[i] = ev
	}
	return out
}

// pack lays out the stream ID and the events for gs_append: one byte buffer
// (the stream ID first, then per event "type\0", "content type\0", the
// 16-byte ID when restoring, the data, and the metadata as "key\0value\0"
// in the map's order: the batch sorts them) and C.GS_DESC int64 per event.
// Neither holds a Go pointer, so both may cross to C.
func pack(streamID string, events []appendEvent) ([]byte, []int64, error) {
	const op = "append"
	size := len(streamID) + 1
	for i := range events {
		e := &events[i]
		size += len(e.Type) + len(e.ContentType) + 2 + len(e.Data) + 16
		for k, v := range e.Metadata {
			size += len(k) + len(v) + 2
		}
	}
	buf := make([]byte, 0, size)
	buf = append(append(buf, streamID...), 0)
	desc := make([]int64, 0, C.GS_DESC*len(events))
	for i := range events {
		e := &events[i]
		if strings.IndexByte(e.Type, 0) >= 0 {
			return nil, nil, errorf(op, StatusInvalidArgument, "event type contains NUL")
		}
		if strings.IndexByte(e.ContentType, 0) >= 0 {
			return nil, nil, errorf(op, StatusInvalidArgument, "content type contains NUL")
		}
		typeOff := len(buf)
		buf = append(append(buf, e.Type...), 0)
		ctOff := len(buf)
		buf = append(append(buf, e.ContentType...), 0)
		idOff := -1
		if e.restore {
			idOff = len(buf)
			buf = append(buf, e.ID[:]...)
		}
		dataOff := len(buf)
		buf = append(buf, e.Data...)
		for k, v := range e.Metadata {
			if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
				return nil, nil, errorf(op, StatusInvalidArgument, "metadata contains NUL")
			}
			buf = append(append(append(append(buf, k...), 0), v...), 0)
		}
		desc = append(desc, int64(typeOff), int64(ctOff), int64(dataOff), int64(len(e.Data)), int64(len(e.Metadata)),
			int64(idOff), e.Timestamp)
	}
	return buf, desc, nil
}

// ReadStream reads one stream, as eventstore.StreamReader says: a stream never
// written (or wholly deleted) is an error matching eventstore.ErrStreamNotFound;
// an existing stream with nothing past the bound gives an empty iterator. The
// iterator is a snapshot taken now. ctx is checked before and after the call,
// and by every Next.
func (s *Store) ReadStream(ctx context.Context, id typeid.ID, opts eventstore.ReadStreamOptions) (eventstore.StreamIterator, error) {
	return s.ReadStreamAsOf(ctx, id, opts, time.Time{})
}

// ReadStreamAsOf reads the stream as it was at asOf (the zero time: no
// bound): its events up to, not including, the first one stamped later than
// asOf, as ReadStream would read a stream holding just those. An event
// stamped earlier that follows one stamped later is not read either: stamps
// need not ascend with versions (doc/data-model.md, "Reads as of a time").
func (s *Store) ReadStreamAsOf(ctx context.Context, id typeid.ID, opts eventstore.ReadStreamOptions, asOf time.Time) (eventstore.StreamIterator, error) {
	const op = "read stream"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	until, err := untilNanos(asOf)
	if err != nil {
		return nil, err
	}
	var o C.est_read_options
	C.est_read_options_init(&o)
	o.direction = C.int32_t(opts.Direction)
	o.after_version = C.int64_t(opts.AfterVersion)
	o.count = C.int64_t(opts.Count)
	o.until_timestamp_ns = C.int64_t(until)
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

// ReadAll reads every event in ascending global position
// (eventstore.GlobalReader): a finite iterator whose frontier is fixed when
// ReadAll returns, so events appended while it drains wait for the next read.
// Nothing to read is an empty iterator, never an error. Positions form a
// stable prefix, by the library's construction (the file store publishes
// commit groups in position order; PostgreSQL reads only rows of
// transactions below the snapshot's xmin): this binding adds no ordering of
// its own.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) (eventstore.StreamIterator, error) {
	return s.ReadAllAsOf(ctx, opts, time.Time{})
}

// ReadAllAsOf is ReadAll ending before the first event after
// opts.AfterPosition stamped later than asOf (the zero time: no bound).
func (s *Store) ReadAllAsOf(ctx context.Context, opts eventstore.ReadAllOptions, asOf time.Time) (eventstore.StreamIterator, error) {
	const op = "read all"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	until, err := untilNanos(asOf)
	if err != nil {
		return nil, err
	}
	var o C.est_read_all_options
	C.est_read_all_options_init(&o)
	o.after_position = C.int64_t(opts.AfterPosition)
	o.count = C.int64_t(opts.Count)
	o.until_timestamp_ns = C.int64_t(until)
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

// untilNanos is a read's time bound in unix ns: 0 for the zero time (no
// bound), an ErrInvalidArgument error for a time at or before 1970.
func untilNanos(asOf time.Time) (int64, error) {
	if asOf.IsZero() {
		return 0, nil
	}
	ns := asOf.UnixNano()
	if ns <= 0 {
		return 0, &Error{Op: "read as of", Code: StatusInvalidArgument, Message: "the time " + asOf.String() + " is not after 1970"}
	}
	return ns, nil
}

// DeleteStream deletes or truncates a stream (eventstore.StreamDeleter).
// ToVersion 0 deletes the stream wholly: it then reads as never written, its
// snapshots go with it, and its ID is reusable from version 1. A positive
// ToVersion truncates: events at or below it are removed, later events keep
// their versions, snapshots below it go, and the stream keeps its tip even
// when emptied, so the next append continues from it. A stream never written
// is an error matching eventstore.ErrStreamNotFound; a negative ToVersion is
// ErrInvalidArgument.
func (s *Store) DeleteStream(ctx context.Context, id typeid.ID, opts eventstore.DeleteStreamOptions) error {
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
// DataContentType is kept verbatim, empty included. snap is not modified.
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
	if strings.IndexByte(snap.DataContentType, 0) >= 0 {
		return errorf(op, StatusInvalidArgument, "content type contains NUL")
	}
	cid := cString(snap.AggregateID.String())
	defer C.free(unsafe.Pointer(cid))
	cct := cString(snap.DataContentType)
	defer C.free(unsafe.Pointer(cct))
	var data unsafe.Pointer
	if len(snap.Data) > 0 {
		data = unsafe.Pointer(&snap.Data[0])
	}
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_snapshot_write(c, cid, C.int64_t(snap.AggregateVersion), data, C.size_t(len(snap.Data)), cct,
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
		DataContentType:  C.GoString(C.est_snapshot_content_type(out)),
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
