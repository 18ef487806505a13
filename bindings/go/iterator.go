// iterator.go: an est_iter as an eventstore.StreamIterator.
//
// Events cross the boundary in batches: one est_iter_next_batch call fills up
// to batchSize views in a C-allocated array, and Next converts them one at a
// time into Go values (copies: the views die at the next C call on the
// iterator). One goroutine at a time, as the ABI says for iterators; a mutex
// turns a violation into serialisation rather than a crash.

package est

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

// batchSize is the number of event views fetched per crossing.
const batchSize = 256

// Iterator reads events from a stream read or a global read.
type Iterator struct {
	mu     sync.Mutex
	c      *C.est_iter
	views  *C.est_event // C array of capacity views
	cap    int          // batchSize, or fewer for an append's few written events
	n, i   int          // views filled, next view to convert
	done   bool         // EST_END seen
	closed bool
	conv   converter
}

var _ eventstore.StreamIterator = (*Iterator)(nil)

func newIterator(ctx context.Context, c *C.est_iter) (*Iterator, error) {
	return newIteratorOf(ctx, c, batchSize)
}

// newIteratorOf fetches up to capacity (1..batchSize) views per crossing: an
// append's written events are few, and zeroing 256 views for one was most
// of a one-event append's time.
func newIteratorOf(ctx context.Context, c *C.est_iter, capacity int) (*Iterator, error) {
	if err := ctx.Err(); err != nil {
		C.est_iter_close(c)
		return nil, err
	}
	views := (*C.est_event)(C.calloc(C.size_t(capacity), C.size_t(unsafe.Sizeof(C.est_event{}))))
	if views == nil {
		C.est_iter_close(c)
		return nil, errorf("read", StatusNoMemory, "allocating event views")
	}
	it := &Iterator{c: c, views: views, cap: capacity}
	it.conv.oneShot = capacity == 1 // one event: no slabs to carve it from
	runtime.SetFinalizer(it, func(it *Iterator) { it.free() })
	return it, nil
}

// Next returns the next event; eventstore.ErrEndOfEventStream when there is
// none (and on every later call), eventstore.ErrStreamIteratorClosed after
// Close, an error matching ErrClosed once the store is closed, ctx's error
// when it is done before a crossing.
func (it *Iterator) Next(ctx context.Context) (*eventstore.Event, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.closed {
		return nil, eventstore.ErrStreamIteratorClosed
	}
	if it.i >= it.n && !it.done {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return it.next()
}

// next is Next without the lock and the context (the caller holds or needs
// neither).
func (it *Iterator) next() (*eventstore.Event, error) {
	if it.i >= it.n {
		if it.done {
			return nil, eventstore.ErrEndOfEventStream
		}
		var count, needed C.size_t
		var msg *C.char
		st := C.gs_next_batch(it.c, it.views, C.size_t(it.cap), &count, it.conv.pairs, C.size_t(it.conv.pairsCap), &needed, &msg)
		switch {
		case st == C.EST_END:
			it.done = true
			it.n, it.i = 0, 0
			return nil, eventstore.ErrEndOfEventStream
		case st != C.EST_OK:
			it.n, it.i = 0, 0
			return nil, statusErr("next", st, msg)
		}
		if int(needed) > it.conv.pairsCap {
			if err := it.conv.grow(int(needed)); err != nil {
				return nil, err
			}
			if st := C.gs_fill_metadata(it.views, count, it.conv.pairs, &msg); st != C.EST_OK {
				return nil, statusErr("metadata", st, msg)
			}
		}
		it.conv.off = 0
		it.n, it.i = int(count), 0
	}
	// The views are an array of est_event (struct_size is its size): index it
	// in Go rather than with a cgo call per event.
	v := (*C.est_event)(unsafe.Add(unsafe.Pointer(it.views), uintptr(it.i)*unsafe.Sizeof(C.est_event{})))
	ev, err := it.conv.event(v, true)
	it.i++
	return ev, err
}

// Close frees the iterator; Next then returns ErrStreamIteratorClosed.
// Closing twice is a no-op.
func (it *Iterator) Close(context.Context) error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if !it.closed {
		it.closed = true
		it.free()
		runtime.SetFinalizer(it, nil)
	}
	return nil
}

func (it *Iterator) free() {
	if it.c != nil {
		C.est_iter_close(it.c)
		it.c = nil
	}
	if it.views != nil {
		C.free(unsafe.Pointer(it.views))
		it.views = nil
	}
	it.conv.free()
}

// converter copies event views into Go values. It remembers the last type
// names, and the metadata strings by slot, so that runs of events alike share
// Go strings instead of allocating new ones. Metadata pointers come in a C
// array: for a batch, filled by the same crossing that fetched the views.
//
// Events, their positions and their data are carved from slabs (slabEvents
// events, slabBytes of data) rather than allocated one by one: that halves the
// allocations per event. The cost is that an event kept alive keeps its slabs
// alive, at most about 80 KiB; copy events you keep for long, if that matters.
// A one-shot converter (an aggregate's apply callback) allocates each alone.
type converter struct {
	lastType, lastStreamType string
	lastContentType          string
	pairs                    **C.char // 2 pointers per pair
	pairsCap                 int      // in pairs
	off                      int      // the next event's first pair, within a batch
	keys, vals               []string // cached strings by pair slot of an event

	events    []eventstore.Event // unused rest of the current slabs
	positions []int64
	data      []byte
	oneShot   bool // converts one event (a callback's): no slabs
}

const (
	slabEvents = batchSize
	slabBytes  = 32 << 10
	ownBytes   = slabBytes / 4 // data longer than this gets an allocation of its own
)

// newEvent returns a zeroed event and a slot for its global position, from
// the slabs, or allocated alone by a one-shot converter.
func (cv *converter) newEvent() (*eventstore.Event, *int64) {
	if cv.oneShot {
		return new(eventstore.Event), new(int64)
	}
	if len(cv.events) == 0 {
		cv.events = make([]eventstore.Event, slabEvents)
		cv.positions = make([]int64, slabEvents)
	}
	ev, pos := &cv.events[0], &cv.positions[0]
	cv.events, cv.positions = cv.events[1:], cv.positions[1:]
	return ev, pos
}

// bytes copies n bytes at p into the data slab; the result's capacity is its
// length, so appending to it never writes over a neighbour. No data is an
// empty slice, never nil, as C.GoBytes gives.
func (cv *converter) bytes(p unsafe.Pointer, n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if cv.oneShot || n > ownBytes {
		return C.GoBytes(p, C.int(n))
	}
	if n > len(cv.data) {
		cv.data = make([]byte, slabBytes)
	}
	b := cv.data[:n:n]
	cv.data = cv.data[n:]
	copy(b, unsafe.Slice((*byte)(p), n))
	return b
}

func (cv *converter) free() {
	if cv.pairs != nil {
		C.free(unsafe.Pointer(cv.pairs))
		cv.pairs = nil
		cv.pairsCap = 0
	}
}

func (cv *converter) grow(n int) error {
	cv.free()
	cv.pairs = (**C.char)(C.malloc(C.size_t(2*n) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if cv.pairs == nil {
		return errorf("next", StatusNoMemory, "allocating metadata pointers")
	}
	cv.pairsCap = n
	return nil
}

// str returns the C string at p, reusing *cached when equal (no allocation).
func str(p *C.char, cached *string) string {
	base := unsafe.Pointer(p)
	n := 0
	for *(*byte)(unsafe.Add(base, n)) != 0 {
		n++
	}
	b := unsafe.Slice((*byte)(base), n)
	if string(b) == *cached {
		return *cached
	}
	*cached = string(b)
	return *cached
}

// event converts one view. prefetched: its metadata pointers are in cv.pairs
// at cv.off (a batch read); otherwise they are fetched now.
func (cv *converter) event(v *C.est_event, prefetched bool) (*eventstore.Event, error) {
	ev, pos := cv.newEvent()
	*ev = eventstore.Event{
		ID:            typeid.ID{Type: str(v._type, &cv.lastType), UUID: uuid.UUID(*(*[16]byte)(unsafe.Pointer(&v.id.bytes[0])))},
		StreamID:      typeid.ID{Type: str(v.stream_type, &cv.lastStreamType), UUID: uuid.UUID(*(*[16]byte)(unsafe.Pointer(&v.stream_uuid.bytes[0])))},
		StreamVersion: int64(v.stream_version),
		Timestamp:     time.Unix(0, int64(v.timestamp_ns)),
		Data:          cv.bytes(unsafe.Pointer(v.data), int(v.data_len)),
	}
	if v.content_type != nil && *v.content_type != 0 {
		ev.DataContentType = str(v.content_type, &cv.lastContentType)
	}
	if p := int64(v.global_position); p > 0 {
		*pos = p
		ev.GlobalPosition = pos
	}
	n := int(v.metadata_count)
	if n == 0 {
		return ev, nil
	}
	base := cv.off
	if prefetched {
		cv.off += n
	} else {
		if n > cv.pairsCap {
			if err := cv.grow(n); err != nil {
				return nil, err
			}
		}
		var msg *C.char
		if st := C.gs_metadata(v, cv.pairs, &msg); st != C.EST_OK {
			return nil, statusErr("metadata", st, msg)
		}
		base = 0
	}
	pairs := unsafe.Slice(cv.pairs, 2*(base+n))[2*base:]
	for len(cv.keys) < n {
		cv.keys = append(cv.keys, "")
		cv.vals = append(cv.vals, "")
	}
	ev.Metadata = make(map[string]string, n)
	for i := 0; i < n; i++ {
		ev.Metadata[str(pairs[2*i], &cv.keys[i])] = str(pairs[2*i+1], &cv.vals[i])
	}
	return ev, nil
}

// countRest drains the iterator by batches without converting the views; the
// benchmarks use it to separate the cost of crossing from that of copying
// into Estoria's Event values.
func (it *Iterator) countRest() (int, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	total := it.n - it.i
	it.i = it.n
	for !it.done && !it.closed {
		var count, needed C.size_t
		var msg *C.char
		st := C.gs_next_batch(it.c, it.views, C.size_t(it.cap), &count, it.conv.pairs, C.size_t(it.conv.pairsCap), &needed, &msg)
		if st == C.EST_END {
			it.done = true
			break
		} else if st != C.EST_OK {
			return total, statusErr("next", st, msg)
		}
		total += int(count)
	}
	return total, nil
}
