// projection.go: the engine's projections (the header's experimental
// est_projection_*): a Go handler over the store's global order, resumed
// from its checkpoint, catching up and then following commits, at least
// once or exactly once (the handler's appends commit with the checkpoint),
// and versioned rebuilds (doc/data-model.md "Projections", "Rebuilds").
//
// The engine calls the handler from inside est_projection_run with runs of
// event views. A C trampoline (shim.c) first lays out every string of the
// run with its length, so that goEstProject turns the views into Estoria
// Event values without a crossing per event: values held by the projection
// and reused from call to call. Strings are Go strings (compared with the
// previous event's, then interned), the data is copied into one Go buffer
// per call (nothing handed to the handler points into C memory), events
// whose metadata equals the previous event's share its map, and nothing is
// allocated per event once the buffers have grown. The events are valid
// during the call only and read-only: copy what is kept (CloneEvent). The
// handler lives behind a runtime/cgo.Handle in a C-allocated cell, the
// engine's user pointer; a panic in it is recovered and becomes an error
// status, never an unwind through C.
//
// Thread safety: Run is for one goroutine at a time (a mutex serialises
// misuse); Wake and Close may be called from any goroutine, Close also from
// inside the handler.

package est

/*
#ifndef EST_EXPERIMENTAL
#define EST_EXPERIMENTAL 1
#endif
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/projection"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

// ProjectionHandler handles a run of events in global position order. ctx is
// the running Run's. The events (their data and metadata too) are valid
// during the call only and read-only: the projection reuses them for the
// next call, and events with equal metadata share one map. Copy what you
// keep (CloneEvent). tx is nil unless the projection is
// ExactlyOnce: then what the handler appends through tx commits with the
// checkpoint, and the handler must not commit or close it. A returned error,
// or a panic, fails the call (ProjectionOptions.ContinueOnError says what
// follows).
type ProjectionHandler func(ctx context.Context, events []*eventstore.Event, tx *Txn) error

// ProjectionOptions are est_projection_options; the zero value is every
// event, 256 per call, a checkpoint per call, at least once, and a stop at
// the first handler error.
type ProjectionOptions struct {
	// StreamPrefix keeps the streams whose ID ("type_uuid") starts with it;
	// EventTypes keeps these types (exact names). What they leave out still
	// moves the position.
	StreamPrefix string
	EventTypes   []string
	// BatchMax is the most events per handler call (0 = 256; at most 4096).
	BatchMax int
	// CheckpointEvery is the events between checkpoints (0 = after every
	// call). A checkpoint is saved at the head and at the end of every run too.
	CheckpointEvery int
	// ExactlyOnce hands the handler a transaction whose appends commit with
	// the checkpoint (a backend with transactions: every one of estoria's).
	ExactlyOnce bool
	// ContinueOnError hands a failed call's events again one at a time and
	// skips each that fails (reported to the log handler, counted in
	// ProjectionReport.Skipped) instead of stopping the run.
	ContinueOnError bool
	// CutoverWhenCaughtUp makes a requested rebuild's version (see
	// Store.RebuildProjection) active as soon as it has caught up.
	CutoverWhenCaughtUp bool
}

// ProjectionReport is est_projection_report: how a run ended.
type ProjectionReport struct {
	Position int64 // checkpointed: every event at or below it handled, skipped or filtered out
	Head     int64 // the store's last visible position when the run ended
	Handled  int64 // events handed to the handler in the run (a failed call's too)
	Skipped  int64 // events skipped after handler errors (ContinueOnError)
	CaughtUp bool  // Position reached Head
}

// Projection is a projection of a store; Store.NewProjection makes one.
// Close it when done (an unclosed one that is garbage collected is freed by
// a finalizer). Its checkpoint stays in the store.
type Projection struct {
	mu      sync.Mutex // held by Run, and by Close before it frees
	wmu     sync.Mutex // guards c, closing and running for Wake and Close
	c       *C.est_projection
	closing bool
	running bool // inside est_projection_run: a wake now ends this run
	cell    *C.gs_projection_cell
	state   *projectionState
	id      projection.ID
}

// projectionState is what the cell's handle holds: the handler and the
// buffers its calls reuse.
type projectionState struct {
	handler ProjectionHandler
	ctx     context.Context // the running Run's
	inCall  atomic.Int32    // a handler call is in progress
	txn     *Txn            // borrowed by each call in exactly-once mode

	// The last call's failure: the handler's error and the status it became.
	err    error
	status C.est_status

	events []eventstore.Event
	ptrs   []*eventstore.Event
	pos    []int64
	data   []byte
	meta   []map[string]string // event i's map, when it needs one of its own
	// The strings of the event converted last, by slot (an event's type,
	// stream type, content type; metadata key and value by pair index): a
	// run of events alike costs a comparison per string, no lookup.
	typ, streamType, contentType string
	keys, vals                   []string
	strs                         map[string]string // interned strings
}

// maxInterned bounds the interned strings; past it a string is allocated
// for each use.
const maxInterned = 4096

// NewProjection makes the projection id ("name_vN", Estoria's projection.ID
// rules) of the store, driven by handler and resumed from its checkpoint
// (none: from the first event). opts may be nil. Nothing runs until Run.
// ErrInvalidArgument for a bad ID or options; a version retired by a
// cutover is refused; ErrUnsupported for ExactlyOnce on a backend without
// transactions.
func (s *Store) NewProjection(id projection.ID, handler ProjectionHandler, opts *ProjectionOptions) (*Projection, error) {
	const op = "projection"
	if handler == nil {
		return nil, errorf(op, StatusInvalidArgument, "nil handler")
	}
	if err := id.Validate(); err != nil {
		return nil, errorf(op, StatusInvalidArgument, "projection ID %q: %v", id.String(), err)
	}
	var o ProjectionOptions
	if opts != nil {
		o = *opts
	}
	if o.BatchMax < 0 || o.CheckpointEvery < 0 || uint64(o.CheckpointEvery) > math.MaxUint32 {
		return nil, errorf(op, StatusInvalidArgument, "BatchMax and CheckpointEvery must be >= 0")
	}
	batch := o.BatchMax
	if batch > C.EST_PROJECTION_BATCH_MAX {
		batch = C.EST_PROJECTION_BATCH_MAX
	}
	var flags C.uint32_t
	if o.ExactlyOnce {
		flags |= C.EST_PROJECTION_EXACTLY_ONCE
	}
	if o.ContinueOnError {
		flags |= C.EST_PROJECTION_CONTINUE_ON_ERROR
	}
	if o.CutoverWhenCaughtUp {
		flags |= C.EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP
	}
	name := cString(id.Name)
	defer C.free(unsafe.Pointer(name))
	var prefix *C.char
	if o.StreamPrefix != "" {
		if strings.IndexByte(o.StreamPrefix, 0) >= 0 {
			return nil, errorf(op, StatusInvalidArgument, "stream prefix contains NUL")
		}
		prefix = cString(o.StreamPrefix)
		defer C.free(unsafe.Pointer(prefix))
	}
	types, freeTypes, err := cStrings(op, o.EventTypes)
	if err != nil {
		return nil, err
	}
	defer freeTypes()

	state := &projectionState{handler: handler, strs: map[string]string{}}
	if o.ExactlyOnce {
		state.txn = &Txn{borrowed: true}
	}
	cell := C.gs_projection_cell_new(C.uintptr_t(cgo.NewHandle(state)))
	if cell == nil {
		return nil, errorf(op, StatusNoMemory, "allocating the projection's cell")
	}
	c, err := s.acquire(op)
	if err != nil {
		freeCell(cell)
		return nil, err
	}
	var out *C.est_projection
	var msg *C.char
	st := C.gs_projection_new(c, name, C.int32_t(id.Version), unsafe.Pointer(cell), prefix, types,
		C.size_t(len(o.EventTypes)), C.uint32_t(batch), C.uint32_t(o.CheckpointEvery), flags, &out, &msg)
	s.release()
	if st != C.EST_OK {
		freeCell(cell)
		return nil, statusErr(op+" "+id.String(), st, msg)
	}
	p := &Projection{c: out, cell: cell, state: state, id: id}
	runtime.SetFinalizer(p, func(p *Projection) { p.free() })
	return p, nil
}

// cStrings is a C array of C copies of ss (nil when ss is empty) and the
// function that frees it: Go memory handed to C must not hold Go pointers.
func cStrings(op string, ss []string) (**C.char, func(), error) {
	if len(ss) == 0 {
		return nil, func() {}, nil
	}
	arr := (**C.char)(C.calloc(C.size_t(len(ss)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if arr == nil {
		return nil, nil, errorf(op, StatusNoMemory, "allocating strings")
	}
	cells := unsafe.Slice(arr, len(ss))
	free := func() {
		for _, p := range cells {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(arr))
	}
	for i, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			free()
			return nil, nil, errorf(op, StatusInvalidArgument, "string contains NUL")
		}
		cells[i] = cString(s)
	}
	return arr, free, nil
}

func freeCell(cell *C.gs_projection_cell) {
	cgo.Handle(cell.handle).Delete()
	C.gs_projection_cell_free(cell)
}

// ID is the projection's ID.
func (p *Projection) ID() projection.ID { return p.id }

func errProjectionClosed(op string) error {
	return errorf(op, StatusClosed, "the projection is closed")
}

// Run catches up and follows for at most budget: 0 handles everything ready
// now without waiting for a commit (a host's frame: a few milliseconds);
// < 0 runs until Wake, ctx's end, Close or the store's close. It then saves
// the checkpoint and reports where it stopped (also with an error).
//
// Errors: a handler's error or panic stops the run (without
// ContinueOnError) with an *Error of the handler's status (an *Error's own
// Code, else StatusInternal: ErrInternal), whose message names the error or
// the panic; errors.Is matches the handler's error too. The checkpoint is
// then at the last call that succeeded, and the next run hands the failed
// events again. ctx's error when ctx ended the run (the checkpoint saved as
// for a wake); ErrClosed after Close or the store's close; ErrNotFound once
// this version was retired by a cutover; ErrVersionMismatch when an
// expectation of the handler's appends failed (ExactlyOnce: nothing of that
// call was written).
//
// A wake (Wake, or ctx's end) that comes as a run returns applies to the
// next run, which then returns at once: the ABI's rule.
func (p *Projection) Run(ctx context.Context, budget time.Duration) (ProjectionReport, error) {
	op := "projection run " + p.id.String()
	if err := ctx.Err(); err != nil {
		return ProjectionReport{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wmu.Lock()
	if p.c == nil || p.closing {
		p.wmu.Unlock()
		return ProjectionReport{}, errProjectionClosed(op)
	}
	p.running = true
	c := p.c
	p.wmu.Unlock()

	us := int64(-1)
	if budget >= 0 {
		us = budget.Microseconds()
		if us == 0 && budget > 0 {
			us = 1 // a positive budget, however short, never means "everything ready"
		}
	}
	state := p.state
	state.ctx, state.err, state.status = ctx, nil, C.EST_OK
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { p.wakeRunning() })
	}
	var r C.est_projection_report
	var msg *C.char
	st := C.gs_projection_run(c, C.int64_t(us), &r, &msg)
	stop()
	state.ctx = nil

	p.wmu.Lock()
	p.running = false
	closing := p.closing
	p.wmu.Unlock()
	if closing { // Close came during the run: it left the free to us
		defer p.free()
	}

	rep := ProjectionReport{Position: int64(r.position), Head: int64(r.head), Handled: int64(r.handled),
		Skipped: int64(r.skipped), CaughtUp: r.caught_up != 0}
	if st != C.EST_OK {
		err := statusErr(op, st, msg)
		if state.err != nil && st == state.status {
			err = &both{outer: state.err, inner: err}
		}
		state.err = nil
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if closing {
		return rep, errProjectionClosed(op)
	}
	return rep, nil
}

// wakeRunning wakes the run in progress, if any (ctx's end).
func (p *Projection) wakeRunning() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.c != nil && p.running {
		C.est_projection_wake(p.c)
	}
}

// Wake makes a running Run (or the next one) return; from any goroutine. An
// error matching ErrClosed after Close.
func (p *Projection) Wake() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.c == nil || p.closing {
		return errProjectionClosed("projection wake")
	}
	if st := C.est_projection_wake(p.c); st != C.EST_OK {
		return errorf("projection wake", Status(st), "%s", StatusName(Status(st)))
	}
	return nil
}

// Close frees the projection (its checkpoint stays in the store), from any
// goroutine: a running Run is woken and returns an error matching ErrClosed,
// and Close waits for it. Called from inside the handler, it returns at once
// and the run frees the projection as it returns. Closing twice is a no-op.
func (p *Projection) Close() error {
	p.wmu.Lock()
	if p.c == nil || p.closing {
		p.wmu.Unlock()
		return nil
	}
	p.closing = true
	C.est_projection_wake(p.c)
	p.wmu.Unlock()
	if p.state.inCall.Load() > 0 {
		return nil // maybe from the handler: Run frees it as it returns
	}
	p.mu.Lock() // the run has returned
	defer p.mu.Unlock()
	p.free()
	return nil
}

func (p *Projection) free() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.c != nil {
		C.est_projection_free(p.c)
		p.c = nil
		freeCell(p.cell) // the engine calls it no more
		p.cell = nil
		runtime.SetFinalizer(p, nil)
	}
}

// RebuildProjection records the request to build version nextVersion of
// projection name beside its active version: run that version's projection
// (it starts from the first event under its own checkpoint), then
// CutoverProjection once it has caught up. reason is kept in the history.
// nil also when that rebuild is already requested; ErrInvalidArgument when
// nextVersion is not above the active, requested and retired versions;
// ErrVersionMismatch on a racing change (retry).
func (s *Store) RebuildProjection(ctx context.Context, name string, nextVersion int, reason string) error {
	if strings.IndexByte(reason, 0) >= 0 {
		return errorf("projection rebuild", StatusInvalidArgument, "reason contains NUL")
	}
	creason := cString(reason)
	defer C.free(unsafe.Pointer(creason))
	return s.projectionCall(ctx, "projection rebuild", name, nextVersion, func(c *C.est_store, cname *C.char, msg **C.char) C.est_status {
		return C.gs_projection_rebuild(c, cname, C.int32_t(nextVersion), creason, msg)
	})
}

// CutoverProjection makes version the active version of projection name and
// retires the previous one (its checkpoint is deleted; its runs then fail
// with ErrNotFound within a second). nil also when it is active already;
// ErrVersionMismatch when no such rebuild is pending or it has not caught up.
func (s *Store) CutoverProjection(ctx context.Context, name string, version int) error {
	return s.projectionCall(ctx, "projection cutover", name, version, func(c *C.est_store, cname *C.char, msg **C.char) C.est_status {
		return C.gs_projection_cutover(c, cname, C.int32_t(version), msg)
	})
}

// ActiveProjectionVersion is the active version of projection name: the last
// cutover's, or, for a projection never cut over, the lowest version with a
// checkpoint. ErrNotFound when no version of it ever saved one.
func (s *Store) ActiveProjectionVersion(ctx context.Context, name string) (int, error) {
	var v C.int32_t
	err := s.projectionCall(ctx, "projection active version", name, 1, func(c *C.est_store, cname *C.char, msg **C.char) C.est_status {
		return C.gs_projection_active_version(c, cname, &v, msg)
	})
	return int(v), err
}

// projectionCall runs one call on projection name: the context check, the
// name as a C string, the store held for the call, and the error.
func (s *Store) projectionCall(ctx context.Context, op, name string, version int,
	call func(c *C.est_store, cname *C.char, msg **C.char) C.est_status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if strings.IndexByte(name, 0) >= 0 {
		return errorf(op, StatusInvalidArgument, "projection name contains NUL")
	}
	if version < 0 || version > 1<<31-1 {
		return errorf(op, StatusInvalidArgument, "version %d out of range", version)
	}
	cname := cString(name)
	defer C.free(unsafe.Pointer(cname))
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := call(c, cname, &msg)
	s.release()
	if st != C.EST_OK {
		return statusErr(op+" "+name, st, msg)
	}
	return nil
}

// CloneEvent is a deep copy of e, for a handler that keeps an event beyond
// its call.
func CloneEvent(e *eventstore.Event) *eventstore.Event {
	if e == nil {
		return nil
	}
	out := *e
	if e.GlobalPosition != nil {
		p := *e.GlobalPosition
		out.GlobalPosition = &p
	}
	if e.Data != nil {
		out.Data = append([]byte{}, e.Data...)
	}
	if e.Metadata != nil {
		out.Metadata = make(map[string]string, len(e.Metadata))
		for k, v := range e.Metadata {
			out.Metadata[k] = v
		}
	}
	return &out
}

// ---------------------------------------------------------------- callback

//export goEstProject
func goEstProject(user unsafe.Pointer, views unsafe.Pointer, count C.size_t, tx unsafe.Pointer, strs unsafe.Pointer,
	lens unsafe.Pointer) (st C.est_status) {
	var state *projectionState
	defer func() { // first: nothing unwinds into C
		if r := recover(); r != nil {
			err := fmt.Errorf("panic in projection handler: %v", r)
			st = fail(C.EST_ERR_INTERNAL, "%v", err)
			if state != nil {
				state.err = err
			}
		}
		if state != nil {
			state.status = st
		}
	}()
	state, ok := cellValue(user).(*projectionState)
	if !ok {
		return fail(C.EST_ERR_INTERNAL, "projection callback: not a projection's cell")
	}
	state.inCall.Add(1)
	defer state.inCall.Add(-1)
	state.err, state.status = nil, C.EST_OK
	events := state.convert((*C.est_event)(views), int(count), (**C.char)(strs), (*C.size_t)(lens))
	var txn *Txn
	if tx != nil && state.txn != nil {
		txn = state.txn
		txn.lend((*C.est_txn)(tx))
		defer txn.lend(nil)
	}
	ctx := state.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if err := state.handler(ctx, events, txn); err != nil {
		state.err = err
		return errStatus("projection handler", err)
	}
	return C.EST_OK
}

// convert fills the reused events from count views and the trampoline's
// string table (strs[k] is lens[k] bytes long; shim.h says the order).
func (state *projectionState) convert(views *C.est_event, count int, strs **C.char, lens *C.size_t) []*eventstore.Event {
	if cap(state.events) < count {
		state.events = make([]eventstore.Event, count)
		state.ptrs = make([]*eventstore.Event, count)
		state.pos = make([]int64, count)
		for i := range state.ptrs {
			state.ptrs[i] = &state.events[i]
		}
	}
	vs := unsafe.Slice(views, count)
	total, nstr := 0, 0
	for i := range vs {
		total += int(vs[i].data_len)
		nstr += 3 + 2*int(vs[i].metadata_count)
	}
	if cap(state.data) < total {
		state.data = make([]byte, total+total/4)
	}
	ss, ls := unsafe.Slice(strs, nstr), unsafe.Slice(lens, nstr)
	k := 0
	next := func(slot *string) (string, bool) {
		b := unsafe.Slice((*byte)(unsafe.Pointer(ss[k])), int(ls[k]))
		k++
		if string(b) == *slot { // no allocation for the comparison
			return *slot, true
		}
		*slot = state.intern(b)
		return *slot, false
	}
	var shared map[string]string // the last metadata map built, while its pairs are in the slots
	data := state.data[:total]
	off := 0
	for i := range vs {
		v := &vs[i]
		n := int(v.data_len)
		b := data[off : off+n : off+n]
		if n > 0 {
			copy(b, unsafe.Slice((*byte)(unsafe.Pointer(v.data)), n))
		}
		off += n
		ev := &state.events[i]
		typ, _ := next(&state.typ)
		streamType, _ := next(&state.streamType)
		contentType, _ := next(&state.contentType)
		*ev = eventstore.Event{
			ID:              typeid.ID{Type: typ, UUID: uuid.UUID(*(*[16]byte)(unsafe.Pointer(&v.id.bytes[0])))},
			StreamID:        typeid.ID{Type: streamType, UUID: uuid.UUID(*(*[16]byte)(unsafe.Pointer(&v.stream_uuid.bytes[0])))},
			StreamVersion:   int64(v.stream_version),
			Timestamp:       time.Unix(0, int64(v.timestamp_ns)),
			Data:            b,
			DataContentType: contentType,
		}
		if p := int64(v.global_position); p > 0 {
			state.pos[i] = p
			ev.GlobalPosition = &state.pos[i]
		}
		m := int(v.metadata_count)
		if m == 0 {
			continue
		}
		for len(state.keys) < m {
			state.keys = append(state.keys, "")
			state.vals = append(state.vals, "")
		}
		same := true
		for j := 0; j < m; j++ {
			_, hit := next(&state.keys[j])
			same = hit && same
			_, hit = next(&state.vals[j])
			same = hit && same
		}
		if same && shared != nil && len(shared) == m {
			ev.Metadata = shared // the previous event's pairs: one map for both
			continue
		}
		for len(state.meta) <= i {
			state.meta = append(state.meta, nil)
		}
		md := state.meta[i]
		if md == nil {
			md = make(map[string]string, m)
			state.meta[i] = md
		} else {
			clear(md)
		}
		for j := 0; j < m; j++ {
			md[state.keys[j]] = state.vals[j]
		}
		ev.Metadata = md
		shared = md
	}
	return state.ptrs[:count]
}

// intern returns b as a string, the same one for equal bytes (no
// allocation once seen), up to maxInterned of them.
func (state *projectionState) intern(b []byte) string {
	if s, ok := state.strs[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	if len(state.strs) < maxInterned {
		state.strs[s] = s
	}
	return s
}
