// aggregate.go: the engine's aggregates (est_aggregate_*) with Go callbacks.
//
// The engine loads an aggregate (newest usable snapshot, then a fold of the
// later events) and saves it (append expecting the loaded version, apply,
// snapshot by policy), calling back into Go for new/apply/free/encode/decode.
// Go values never cross as raw pointers: the aggregate type and each state
// live behind a runtime/cgo.Handle whose value sits in a small C-allocated
// cell, and the cell's address is the void* the engine carries. Every
// exported callback recovers from a panic and turns it into an error status
// with est_set_error, since a panic unwinding through C kills the process.
//
// Ownership: an AggregateStore and its Aggregates may be freed in any order;
// the type's handle is deleted when the last of them is. An Aggregate is for
// one goroutine at a time (a mutex serialises misuse); an AggregateStore may
// be shared once created.

package est

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/aggregatestore"
	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

// AggregateType describes an aggregate type to the engine: how to make a
// state, fold an event into it and, optionally (both or neither), encode and
// decode it for snapshots and the cache.
type AggregateType[S any] struct {
	Name                string // the type name: its streams are "Name_uuid"
	New                 func(id uuid.UUID) (S, error)
	Apply               func(state S, event *eventstore.Event) (S, error)
	Encode              func(state S) ([]byte, error)
	Decode              func(data []byte) (S, error)
	SnapshotContentType string
}

// AggregateStoreOptions are est_aggregate_store_options.
type AggregateStoreOptions struct {
	SnapshotEvery          int64 // snapshot after a save crossing a multiple of N events; 0 = never
	SnapshotKeepLast       int64 // retention: keep the newest N; 0 = all
	SnapshotKeepMinVersion int64 // retention: drop snapshots below V; 0 = none
	CacheCapacity          int64 // aggregates cached (LRU); 0 = none
}

// adapter is an AggregateType with its state type erased, for the callbacks.
type adapter interface {
	newState(id uuid.UUID) (any, error)
	apply(state any, ev *eventstore.Event) (any, error)
	encode(state any) ([]byte, error)
	decode(data []byte) (any, error)
}

type typed[S any] struct{ t AggregateType[S] }

func (a typed[S]) newState(id uuid.UUID) (any, error) { return a.t.New(id) }
func (a typed[S]) apply(state any, ev *eventstore.Event) (any, error) {
	return a.t.Apply(state.(S), ev)
}
func (a typed[S]) encode(state any) ([]byte, error) { return a.t.Encode(state.(S)) }
func (a typed[S]) decode(data []byte) (any, error)  { return a.t.Decode(data) }

// typeRef owns the type's handle and its C cell, and those of the store's
// hooks, shared by the store and its aggregates (a save runs the hooks); the
// last release deletes them all.
type typeRef struct {
	cell  *C.uintptr_t
	refs  atomic.Int64
	mu    sync.Mutex
	hooks []*C.uintptr_t
}

func (r *typeRef) acquire() { r.refs.Add(1) }
func (r *typeRef) release() {
	if r.refs.Add(-1) == 0 {
		cgo.Handle(*r.cell).Delete()
		C.free(unsafe.Pointer(r.cell))
		r.mu.Lock()
		for _, h := range r.hooks {
			cgo.Handle(*h).Delete()
			C.free(unsafe.Pointer(h))
		}
		r.hooks = nil
		r.mu.Unlock()
	}
}

// newCell stores a handle to v in a C-allocated cell.
func newCell(v any) *C.uintptr_t {
	cell := (*C.uintptr_t)(C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0)))))
	*cell = C.uintptr_t(cgo.NewHandle(v))
	return cell
}

func cellValue(p unsafe.Pointer) any { return cgo.Handle(*(*C.uintptr_t)(p)).Value() }

// typeCell is what the type's cell holds: the adapter and the store whose
// callbacks it runs (so that Close from inside one is deferred, not a
// deadlock).
type typeCell struct {
	ad adapter
	s  *Store
}

// enter marks a callback of the store as running; the result undoes it.
func enter(s *Store) func() {
	s.callbacks.Add(1)
	return func() { s.callbacks.Add(-1) }
}

// stateBox holds one aggregate state; its cell is the engine's void *state.
type stateBox struct{ v any }

// AggregateStore is an est_aggregate_store for one aggregate type.
type AggregateStore[S any] struct {
	mu      sync.RWMutex // held shared around every C call, exclusively by Free
	c       *C.est_aggregate_store
	typ     *typeRef
	name    string
	s       *Store
	freeing atomic.Bool
}

// NewAggregateStore makes an aggregate store over s for type t. Snapshots or
// a cache need t.Encode and t.Decode.
func NewAggregateStore[S any](s *Store, t AggregateType[S], opts *AggregateStoreOptions) (*AggregateStore[S], error) {
	const op = "aggregate store"
	if t.New == nil || t.Apply == nil {
		return nil, errorf(op, StatusInvalidArgument, "AggregateType needs New and Apply")
	}
	if (t.Encode == nil) != (t.Decode == nil) {
		return nil, errorf(op, StatusInvalidArgument, "AggregateType needs both Encode and Decode, or neither")
	}
	if strings.IndexByte(t.Name, 0) >= 0 || strings.IndexByte(t.SnapshotContentType, 0) >= 0 {
		return nil, errorf(op, StatusInvalidArgument, "string contains NUL")
	}
	var o C.est_aggregate_store_options
	C.est_aggregate_store_options_init(&o)
	if opts != nil {
		o.snapshot_every = C.int64_t(opts.SnapshotEvery)
		o.snapshot_keep_last = C.int64_t(opts.SnapshotKeepLast)
		o.snapshot_keep_min_version = C.int64_t(opts.SnapshotKeepMinVersion)
		o.cache_capacity = C.int64_t(opts.CacheCapacity)
	}
	name := cString(t.Name)
	defer C.free(unsafe.Pointer(name))
	ct := cString(t.SnapshotContentType)
	defer C.free(unsafe.Pointer(ct))
	codec := C.int(0)
	if t.Encode != nil {
		codec = 1
	}
	ref := &typeRef{cell: newCell(typeCell{ad: typed[S]{t}, s: s})}
	ref.acquire()
	c, err := s.acquire(op)
	if err != nil {
		ref.release()
		return nil, err
	}
	var out *C.est_aggregate_store
	var msg *C.char
	st := C.gs_aggregate_store_new(c, name, unsafe.Pointer(ref.cell), codec, ct, &o, &out, &msg)
	s.release()
	if st != C.EST_OK {
		ref.release()
		return nil, statusErr(op, st, msg)
	}
	a := &AggregateStore[S]{c: out, typ: ref, name: t.Name, s: s}
	runtime.SetFinalizer(a, (*AggregateStore[S]).Free)
	return a, nil
}

// Free frees the aggregate store; its aggregates stay usable handles. Later
// calls on it fail with ErrClosed. Called from inside one of its own
// callbacks, it takes effect when the call in flight returns. Freeing twice
// is a no-op.
func (a *AggregateStore[S]) Free() {
	a.freeing.Store(true)
	if !a.mu.TryLock() {
		if a.s.callbacks.Load() > 0 {
			return // done() frees it once the call in flight ends
		}
		a.mu.Lock()
	}
	a.freeLocked()
	a.mu.Unlock()
}

func (a *AggregateStore[S]) freeLocked() {
	if a.c != nil {
		C.est_aggregate_store_free(a.c)
		a.c = nil
		a.typ.release()
		runtime.SetFinalizer(a, nil)
	}
}

// handle takes the shared lock and the store's (the store's Close waits for
// aggregate calls too) and returns the handle; done releases both.
func (a *AggregateStore[S]) handle(op string) (*C.est_aggregate_store, error) {
	a.mu.RLock()
	if a.c == nil || a.freeing.Load() {
		a.mu.RUnlock()
		return nil, errorf(op, StatusClosed, "the aggregate store is freed")
	}
	if _, err := a.s.acquire(op); err != nil {
		a.mu.RUnlock()
		return nil, err
	}
	return a.c, nil
}

func (a *AggregateStore[S]) done() {
	a.s.release()
	a.mu.RUnlock()
	if a.freeing.Load() && a.s.callbacks.Load() == 0 && a.mu.TryLock() {
		a.freeLocked()
		a.mu.Unlock()
	}
}

// New makes a new aggregate at version 0; a nil id asks for a new UUIDv7.
func (a *AggregateStore[S]) New(id *uuid.UUID) (*Aggregate[S], error) {
	c, err := a.handle("new aggregate")
	if err != nil {
		return nil, err
	}
	defer a.done()
	var cu *C.est_uuid
	if id != nil {
		cu = (*C.est_uuid)(C.malloc(16))
		defer C.free(unsafe.Pointer(cu))
		*(*[16]byte)(unsafe.Pointer(cu)) = *id
	}
	var out *C.est_aggregate
	var msg *C.char
	if st := C.gs_aggregate_new(c, cu, &out, &msg); st != C.EST_OK {
		return nil, statusErr("new aggregate", st, msg)
	}
	return a.wrap(out), nil
}

// Load loads aggregate id at toVersion (0 = the latest). An aggregate never
// written is an error matching aggregatestore.ErrAggregateNotFound and
// ErrNotFound. ctx is checked before the call.
func (a *AggregateStore[S]) Load(ctx context.Context, id uuid.UUID, toVersion int64) (*Aggregate[S], error) {
	const op = "load aggregate"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := a.handle(op)
	if err != nil {
		return nil, err
	}
	defer a.done()
	cu := (*C.est_uuid)(C.malloc(16))
	defer C.free(unsafe.Pointer(cu))
	*(*[16]byte)(unsafe.Pointer(cu)) = id
	var out *C.est_aggregate
	var msg *C.char
	if st := C.gs_aggregate_load(c, cu, C.int64_t(toVersion), &out, &msg); st != C.EST_OK {
		err := statusErr(op+" "+a.name+"_"+id.String(), st, msg)
		if st == C.EST_ERR_NOT_FOUND {
			return nil, &both{outer: aggregatestore.ErrAggregateNotFound, inner: err}
		}
		return nil, err
	}
	return a.wrap(out), nil
}

// LoadAt loads aggregate id as it was at asOf: the fold of its stream up to,
// not including, the first event stamped later than asOf, from no snapshot
// newer than that (doc/data-model.md, "Reads as of a time"). An aggregate
// with no event by then is an error matching
// aggregatestore.ErrAggregateNotFound and ErrNotFound; a zero asOf, or one
// at or before 1970, matches ErrInvalidArgument. Experimental in the C ABI
// (est_aggregate_load_at).
func (a *AggregateStore[S]) LoadAt(ctx context.Context, id uuid.UUID, asOf time.Time) (*Aggregate[S], error) {
	const op = "load aggregate as of"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var at int64
	if !asOf.IsZero() {
		at = asOf.UnixNano()
	}
	c, err := a.handle(op)
	if err != nil {
		return nil, err
	}
	defer a.done()
	cu := (*C.est_uuid)(C.malloc(16))
	defer C.free(unsafe.Pointer(cu))
	*(*[16]byte)(unsafe.Pointer(cu)) = id
	var out *C.est_aggregate
	var msg *C.char
	if st := C.gs_aggregate_load_at(c, cu, C.int64_t(at), &out, &msg); st != C.EST_OK {
		err := statusErr(op+" "+a.name+"_"+id.String(), st, msg)
		if st == C.EST_ERR_NOT_FOUND {
			return nil, &both{outer: aggregatestore.ErrAggregateNotFound, inner: err}
		}
		return nil, err
	}
	return a.wrap(out), nil
}

func (a *AggregateStore[S]) wrap(c *C.est_aggregate) *Aggregate[S] {
	a.typ.acquire()
	g := &Aggregate[S]{c: c, typ: a.typ, s: a.s}
	runtime.SetFinalizer(g, (*Aggregate[S]).Free)
	return g
}

// HookStage says when a hook runs.
type HookStage int32

// The stages of est_aggregate_store_add_hook.
const (
	HookBeforeLoad HookStage = C.EST_HOOK_BEFORE_LOAD
	HookAfterLoad  HookStage = C.EST_HOOK_AFTER_LOAD
	HookBeforeSave HookStage = C.EST_HOOK_BEFORE_SAVE
	HookAfterSave  HookStage = C.EST_HOOK_AFTER_SAVE
)

// HookContext is what a hook may act on; valid during the hook call only.
type HookContext struct {
	c     *C.est_hook_context
	Stage HookStage
}

// AddMetadata adds key=value to every event of the save, from a before-save
// hook only. Empty keys and keys starting "estoria." (reserved for the
// toolkit's own components) are ErrInvalidArgument; an event's own value for
// the key wins over the hook's.
func (h *HookContext) AddMetadata(key, value string) error {
	const op = "hook metadata"
	if h == nil || h.c == nil {
		return errorf(op, StatusInvalidArgument, "the hook context is used outside its hook call")
	}
	if strings.IndexByte(key, 0) >= 0 || strings.IndexByte(value, 0) >= 0 {
		return errorf(op, StatusInvalidArgument, "metadata contains NUL")
	}
	k, v := cString(key), cString(value)
	defer C.free(unsafe.Pointer(k))
	defer C.free(unsafe.Pointer(v))
	var msg *C.char
	if st := C.gs_hook_add_metadata(h.c, k, v, &msg); st != C.EST_OK {
		return statusErr(op, st, msg)
	}
	return nil
}

// hookCell is what a hook's cell holds.
type hookCell struct {
	hook Hook
	s    *Store
}

// Hook runs at its stage with the aggregate's ID and version (the requested
// to_version before a load). An error from a before-hook fails the operation
// with it (an *Error keeps its code; anything else is ErrInternal); an
// after-hook's error goes to the log handler (SetLogHandler). A panic is an
// error, never a crash.
type Hook func(ctx *HookContext, aggregateID string, version int64) error

// AddHook adds a hook for stage; hooks of one stage run in the order added.
// Add hooks before the store is shared between goroutines.
func (a *AggregateStore[S]) AddHook(stage HookStage, hook Hook) error {
	const op = "add hook"
	if hook == nil {
		return errorf(op, StatusInvalidArgument, "nil hook")
	}
	c, err := a.handle(op)
	if err != nil {
		return err
	}
	defer a.done()
	cell := newCell(hookCell{hook: hook, s: a.s})
	var msg *C.char
	if st := C.gs_aggregate_store_add_hook(c, C.int32_t(stage), unsafe.Pointer(cell), &msg); st != C.EST_OK {
		cgo.Handle(*cell).Delete()
		C.free(unsafe.Pointer(cell))
		return statusErr(op, st, msg)
	}
	a.typ.mu.Lock()
	a.typ.hooks = append(a.typ.hooks, cell)
	a.typ.mu.Unlock()
	return nil
}

//export goEstHook
func goEstHook(user unsafe.Pointer, stage C.int32_t, ctx *C.est_hook_context, id *C.char, version C.int64_t) (st C.est_status) {
	defer recovered("hook", &st)
	hc0 := cellValue(user).(hookCell)
	defer enter(hc0.s)()
	hook := hc0.hook
	hc := &HookContext{c: ctx, Stage: HookStage(stage)}
	defer func() { hc.c = nil }()
	if err := hook(hc, C.GoString(id), int64(version)); err != nil {
		return errStatus("hook", err)
	}
	return C.EST_OK
}

// AggregateStats are est_aggregate_stats.
type AggregateStats struct {
	Loads, EventsApplied, SnapshotsUsed, SnapshotsWritten, CacheHits, CacheMisses int64
}

// Stats returns the store's counters since it was created.
func (a *AggregateStore[S]) Stats() (AggregateStats, error) {
	c, err := a.handle("aggregate stats")
	if err != nil {
		return AggregateStats{}, err
	}
	defer a.done()
	var cs C.est_aggregate_stats
	var msg *C.char
	if st := C.gs_aggregate_store_stats(c, &cs, &msg); st != C.EST_OK {
		return AggregateStats{}, statusErr("aggregate stats", st, msg)
	}
	return AggregateStats{int64(cs.loads), int64(cs.events_applied), int64(cs.snapshots_used),
		int64(cs.snapshots_written), int64(cs.cache_hits), int64(cs.cache_misses)}, nil
}

// Aggregate is one loaded (or new) aggregate: its state, version and the
// events queued for the next Save.
type Aggregate[S any] struct {
	mu      sync.Mutex
	c       *C.est_aggregate
	typ     *typeRef
	s       *Store
	freeing atomic.Bool
}

func (g *Aggregate[S]) lock(op string) error {
	g.mu.Lock()
	if g.c == nil || g.freeing.Load() {
		g.mu.Unlock()
		return errorf(op, StatusClosed, "the aggregate is freed")
	}
	return nil
}

// unlock releases the lock; the last call in flight of an aggregate whose
// Free was deferred (called from inside one of its callbacks) frees it.
func (g *Aggregate[S]) unlock() {
	g.mu.Unlock()
	if g.freeing.Load() && g.s.callbacks.Load() == 0 && g.mu.TryLock() {
		g.freeLocked()
		g.mu.Unlock()
	}
}

// Append queues a domain event for the next Save.
func (g *Aggregate[S]) Append(eventType string, data []byte, metadata map[string]string) error {
	const op = "aggregate append"
	if strings.IndexByte(eventType, 0) >= 0 {
		return errorf(op, StatusInvalidArgument, "event type contains NUL")
	}
	var meta []byte
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := metadata[k]
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			return errorf(op, StatusInvalidArgument, "metadata contains NUL")
		}
		meta = append(append(append(append(meta, k...), 0), v...), 0)
	}
	if err := g.lock(op); err != nil {
		return err
	}
	defer g.unlock()
	ct := cString(eventType)
	defer C.free(unsafe.Pointer(ct))
	var dp, mp unsafe.Pointer
	if len(data) > 0 {
		dp = unsafe.Pointer(&data[0])
	}
	if len(meta) > 0 {
		mp = unsafe.Pointer(&meta[0])
	}
	var msg *C.char
	if st := C.gs_aggregate_append(g.c, ct, dp, C.size_t(len(data)), (*C.char)(mp), C.size_t(len(keys)), &msg); st != C.EST_OK {
		return statusErr(op, st, msg)
	}
	return nil
}

// Save appends the queued events expecting the aggregate's version and
// applies them. A failed expectation is an
// eventstore.StreamVersionMismatchError (nothing written; reload and retry);
// ErrAppliedPartially means written but not applied (reload). ctx is checked
// before the call.
func (g *Aggregate[S]) Save(ctx context.Context) error {
	const op = "aggregate save"
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := g.lock(op); err != nil {
		return err
	}
	defer g.unlock()
	if _, err := g.s.acquire(op); err != nil {
		return err
	}
	defer g.s.release()
	expected := int64(C.est_aggregate_version(g.c))
	var r C.est_append_result
	C.est_append_result_init(&r)
	var msg *C.char
	st := C.gs_aggregate_save(g.c, &r, &msg)
	switch st {
	case C.EST_OK:
		return nil
	case C.EST_ERR_VERSION_MISMATCH:
		takeMsg(msg)
		id, _ := parseID(C.GoString(C.est_aggregate_id(g.c)))
		return eventstore.StreamVersionMismatchError{StreamID: id, ExpectedVersion: expected, ActualVersion: int64(r.actual_version)}
	default:
		return statusErr(op, st, msg)
	}
}

// State returns the aggregate's state (the zero S after Free).
func (g *Aggregate[S]) State() S {
	var zero S
	if g.lock("state") != nil {
		return zero
	}
	defer g.unlock()
	p := C.est_aggregate_state(g.c)
	if p == nil {
		return zero
	}
	v, _ := cellValue(p).(*stateBox).v.(S) // a nil interface state gives the zero S
	return v
}

// Version is the aggregate's version (0 after Free).
func (g *Aggregate[S]) Version() int64 {
	if g.lock("version") != nil {
		return 0
	}
	defer g.unlock()
	return int64(C.est_aggregate_version(g.c))
}

// ID is the aggregate's stream ID (the zero ID after Free).
func (g *Aggregate[S]) ID() typeid.ID {
	if g.lock("id") != nil {
		return typeid.ID{}
	}
	defer g.unlock()
	id, _ := parseID(C.GoString(C.est_aggregate_id(g.c)))
	return id
}

// Pending is the number of events queued and not yet saved.
func (g *Aggregate[S]) Pending() int {
	if g.lock("pending") != nil {
		return 0
	}
	defer g.unlock()
	return int(C.est_aggregate_pending(g.c))
}

// Free frees the aggregate and its state; later calls fail with ErrClosed (or
// return zero values). Called from inside one of its own callbacks, it takes
// effect when the call in flight returns. Freeing twice is a no-op.
func (g *Aggregate[S]) Free() {
	g.freeing.Store(true)
	if !g.mu.TryLock() {
		if g.s.callbacks.Load() > 0 {
			return // unlock() frees it once the call in flight ends
		}
		g.mu.Lock()
	}
	g.freeLocked()
	g.mu.Unlock()
}

func (g *Aggregate[S]) freeLocked() {
	if g.c != nil {
		C.est_aggregate_free(g.c)
		g.c = nil
		g.typ.release()
		runtime.SetFinalizer(g, nil)
	}
}

// parseID splits "type_uuid" at its last '_'.
func parseID(s string) (typeid.ID, error) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 {
		return typeid.ID{}, fmt.Errorf("estoria: not an ID: %q", s)
	}
	u, err := uuid.FromString(s[i+1:])
	if err != nil {
		return typeid.ID{}, err
	}
	return typeid.ID{Type: s[:i], UUID: u}, nil
}

// ---------------------------------------------------------------- callbacks

// fail sets the thread's message for the status a callback is returning.
func fail(st C.est_status, format string, args ...any) C.est_status {
	m := cString(fmt.Sprintf(format, args...))
	C.est_set_error(m)
	C.free(unsafe.Pointer(m))
	return st
}

// errStatus is the status for an error from host code: an *Error keeps its
// code, anything else is EST_ERR_INTERNAL.
func errStatus(what string, err error) C.est_status {
	var e *Error
	if errors.As(err, &e) && e.Code < 0 {
		return fail(C.est_status(e.Code), "%s: %v", what, err)
	}
	return fail(C.EST_ERR_INTERNAL, "%s: %v", what, err)
}

// recovered turns a panic into EST_ERR_INTERNAL; deferred by every callback.
func recovered(what string, st *C.est_status) {
	if r := recover(); r != nil {
		*st = fail(C.EST_ERR_INTERNAL, "panic in %s callback: %v", what, r)
	}
}

//export goEstNewState
func goEstNewState(user unsafe.Pointer, id *C.est_uuid, state *unsafe.Pointer) (st C.est_status) {
	defer recovered("new state", &st)
	tc := cellValue(user).(typeCell)
	defer enter(tc.s)()
	ad := tc.ad
	v, err := ad.newState(uuid.UUID(*(*[16]byte)(unsafe.Pointer(id))))
	if err != nil {
		return errStatus("new state", err)
	}
	*state = unsafe.Pointer(newCell(&stateBox{v: v}))
	return C.EST_OK
}

//export goEstApply
func goEstApply(user unsafe.Pointer, state unsafe.Pointer, event *C.est_event) (st C.est_status) {
	defer recovered("apply", &st)
	tc := cellValue(user).(typeCell)
	defer enter(tc.s)()
	ad := tc.ad
	box := cellValue(state).(*stateBox)
	cv := converter{oneShot: true}
	defer cv.free()
	ev, err := cv.event(event, false)
	if err != nil {
		return errStatus("apply", err)
	}
	v, err := ad.apply(box.v, ev)
	if err != nil {
		return errStatus("apply", err)
	}
	box.v = v
	return C.EST_OK
}

//export goEstFreeState
func goEstFreeState(user unsafe.Pointer, state unsafe.Pointer) {
	defer func() { _ = recover() }() // nothing to report to; never unwind into C
	if state == nil {
		return
	}
	cgo.Handle(*(*C.uintptr_t)(state)).Delete()
	C.free(state)
}

//export goEstEncode
func goEstEncode(user unsafe.Pointer, state unsafe.Pointer, out *C.est_buffer) (st C.est_status) {
	defer recovered("encode", &st)
	tc := cellValue(user).(typeCell)
	defer enter(tc.s)()
	ad := tc.ad
	b, err := ad.encode(cellValue(state).(*stateBox).v)
	if err != nil {
		return errStatus("encode", err)
	}
	if len(b) == 0 {
		return C.EST_OK
	}
	return C.est_buffer_append(out, unsafe.Pointer(&b[0]), C.size_t(len(b)))
}

//export goEstDecode
func goEstDecode(user unsafe.Pointer, data *C.uint8_t, n C.size_t, state *unsafe.Pointer) (st C.est_status) {
	defer recovered("decode", &st)
	tc := cellValue(user).(typeCell)
	defer enter(tc.s)()
	ad := tc.ad
	v, err := ad.decode(C.GoBytes(unsafe.Pointer(data), C.int(n)))
	if err != nil {
		return errStatus("decode", err)
	}
	*state = unsafe.Pointer(newCell(&stateBox{v: v}))
	return C.EST_OK
}
