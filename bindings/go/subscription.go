// subscription.go: live subscriptions (the header's experimental
// est_subscribe / est_subscription_*): catch up from a position, then follow
// commits, every event once and in global order.
//
// A *Subscription is consumed with Poll (a timeout, a context) or with
// Events, an iter.Seq2 that waits for each next event. Cancelling the context
// wakes a waiting poll through est_subscription_wake, as does Wake (any
// goroutine) and Close (any goroutine: it wakes the waiter, waits for it to
// return, then frees the handle). Closing the store makes a waiting poll
// return an error matching ErrClosed.
//
// Thread safety: polls are serialised by a mutex (the ABI allows one thread
// at a time); Wake and Close may be called from any goroutine.

package est

/*
#define EST_EXPERIMENTAL
#include <stdlib.h>
#include <string.h>
#include <estoria/estoria.h>

// Copies the metadata pointers of events[0..count) into pairs (2 per pair):
// from est_event.metadata (ABI 1.1, one array per view), or one
// est_event_metadata call per pair where the library left it NULL.
static est_status gs_sub_pairs(const est_event *ev, size_t count, const char **pairs, char **msg) {
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < ev[i].metadata_count; j++) {
      if (ev[i].metadata != NULL) {
        *pairs++ = ev[i].metadata[j].key;
        *pairs++ = ev[i].metadata[j].value;
        continue;
      }
      est_status st = est_event_metadata(&ev[i], j, &pairs[0], &pairs[1]);
      if (st != EST_OK) {
        *msg = strdup(est_last_error());
        return st;
      }
      pairs += 2;
    }
  }
  return EST_OK;
}

// Polls and, in the same crossing, copies the metadata pointers of every
// event into pairs when pairs_cap (in pairs) suffices; *pairs_needed says
// how many there are.
static est_status gs_sub_poll(est_subscription *sub, est_event *ev, size_t cap, size_t *count,
                              int64_t timeout_us, const char **pairs, size_t pairs_cap,
                              size_t *pairs_needed, char **msg) {
  ev[0].struct_size = sizeof(est_event);
  est_status st = est_subscription_poll(sub, ev, cap, count, timeout_us);
  if (st != EST_OK) {
    *msg = strdup(est_last_error());
    return st;
  }
  size_t need = 0;
  for (size_t i = 0; i < *count; i++) need += ev[i].metadata_count;
  *pairs_needed = need;
  if (need == 0 || need > pairs_cap) return EST_OK;
  return gs_sub_pairs(ev, *count, pairs, msg);
}

static est_status gs_subscribe(est_store *s, int64_t after, const char *prefix, const char **types,
                               size_t ntypes, est_subscription **out, char **msg) {
  est_subscribe_options o = EST_SUBSCRIBE_OPTIONS_INIT;
  o.after_position = after;
  o.stream_prefix = prefix;
  o.event_types = types;
  o.event_types_len = ntypes;
  est_status st = est_subscribe(s, &o, out);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}

static est_status gs_sub_fd(est_subscription *sub, int *fd, char **msg) {
  est_status st = est_subscription_fd(sub, fd);
  if (st != EST_OK) *msg = strdup(est_last_error());
  return st;
}
*/
import "C"

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-estoria/estoria/eventstore"
)

// PositionEnd as SubscribeOptions.AfterPosition: only what commits after the
// subscription is made.
const PositionEnd int64 = C.EST_POSITION_END

// SubscribeOptions are est_subscribe_options; the zero value is every event
// from the first.
type SubscribeOptions struct {
	// AfterPosition: deliver the events after this global position; 0 = from
	// the first, PositionEnd = only later commits, a Position() = resume.
	AfterPosition int64
	// StreamPrefix keeps the streams whose ID ("type_uuid") starts with it.
	StreamPrefix string
	// EventTypes keeps these types (exact names); empty = every type.
	EventTypes []string
}

// Subscription is a live subscription; Store.Subscribe makes one. Close it
// when done (an unclosed one that is garbage collected is closed by a
// finalizer).
type Subscription struct {
	mu      sync.Mutex // held by a poll, and by Close before it frees
	wmu     sync.Mutex // guards c and closing for Wake and Close
	c       *C.est_subscription
	closing bool
	views   *C.est_event // C array of batchSize
	conv    converter
	pending []*eventstore.Event // fetched, not yet handed out by Events
}

// Subscribe subscribes to the store's events: those after opts.AfterPosition
// in global order, then every later commit, each once and in order.
func (s *Store) Subscribe(ctx context.Context, opts SubscribeOptions) (*Subscription, error) {
	const op = "subscribe"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var prefix *C.char
	if opts.StreamPrefix != "" {
		if strings.IndexByte(opts.StreamPrefix, 0) >= 0 {
			return nil, errorf(op, StatusInvalidArgument, "stream prefix contains NUL")
		}
		prefix = cString(opts.StreamPrefix)
		defer C.free(unsafe.Pointer(prefix))
	}
	var types **C.char
	if n := len(opts.EventTypes); n > 0 {
		// A C array: Go memory handed to C must not hold Go pointers.
		types = (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		if types == nil {
			return nil, errorf(op, StatusNoMemory, "allocating event types")
		}
		cells := unsafe.Slice(types, n)
		defer func() {
			for _, p := range cells {
				C.free(unsafe.Pointer(p))
			}
			C.free(unsafe.Pointer(types))
		}()
		for i, t := range opts.EventTypes {
			if strings.IndexByte(t, 0) >= 0 {
				return nil, errorf(op, StatusInvalidArgument, "event type contains NUL")
			}
			cells[i] = cString(t)
		}
	}
	c, err := s.acquire(op)
	if err != nil {
		return nil, err
	}
	var out *C.est_subscription
	var msg *C.char
	st := C.gs_subscribe(c, C.int64_t(opts.AfterPosition), prefix, types, C.size_t(len(opts.EventTypes)), &out, &msg)
	s.release()
	if st != C.EST_OK {
		return nil, statusErr(op, st, msg)
	}
	views := (*C.est_event)(C.calloc(batchSize, C.size_t(unsafe.Sizeof(C.est_event{}))))
	if views == nil {
		C.est_subscription_close(out)
		return nil, errorf(op, StatusNoMemory, "allocating event views")
	}
	sub := &Subscription{c: out, views: views}
	runtime.SetFinalizer(sub, func(sub *Subscription) { sub.free() })
	return sub, nil
}

// errSubClosed is what a call on a closed subscription returns.
func errSubClosed(op string) error { return errorf(op, StatusClosed, "the subscription is closed") }

// fetch runs one poll (sub.mu held) into sub.pending; timeout < 0 waits until
// events, a wake or the store's close.
func (sub *Subscription) fetch(timeout time.Duration) (int, error) {
	const op = "subscription poll"
	if sub.c == nil || sub.isClosing() {
		return 0, errSubClosed(op)
	}
	us := int64(-1)
	if timeout >= 0 {
		us = timeout.Microseconds()
	}
	var count, needed C.size_t
	var msg *C.char
	st := C.gs_sub_poll(sub.c, sub.views, batchSize, &count, C.int64_t(us), sub.conv.pairs,
		C.size_t(sub.conv.pairsCap), &needed, &msg)
	if st != C.EST_OK {
		return 0, statusErr(op, st, msg)
	}
	if int(needed) > sub.conv.pairsCap {
		if err := sub.conv.grow(int(needed)); err != nil {
			return 0, err
		}
		// The views are valid until the next poll: take their pointers now.
		if st := C.gs_sub_pairs(sub.views, count, sub.conv.pairs, &msg); st != C.EST_OK {
			return 0, statusErr("metadata", st, msg)
		}
	}
	sub.conv.off = 0
	for i := 0; i < int(count); i++ {
		ev, err := sub.conv.event(sub.view(i), true)
		if err != nil {
			return 0, err
		}
		sub.pending = append(sub.pending, ev)
	}
	return int(count), nil
}

func (sub *Subscription) view(i int) *C.est_event {
	return (*C.est_event)(unsafe.Add(unsafe.Pointer(sub.views), uintptr(i)*unsafe.Sizeof(C.est_event{})))
}

func (sub *Subscription) isClosing() bool {
	sub.wmu.Lock()
	defer sub.wmu.Unlock()
	return sub.closing
}

// wait polls with timeout (< 0: no limit) until events arrive, the timeout
// passes, a wake, or ctx is done (ctx's error then). The cancellation wakes
// the C poll.
func (sub *Subscription) wait(ctx context.Context, timeout time.Duration) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if timeout == 0 || ctx.Done() == nil {
		return sub.fetch(timeout)
	}
	stop := context.AfterFunc(ctx, func() { _ = sub.Wake() })
	n, err := sub.fetch(timeout)
	stop()
	if n == 0 && err == nil {
		err = ctx.Err()
	}
	return n, err
}

// Poll returns the events ready now, waiting up to timeout for the first
// (0: never wait, a host's frame; < 0: until events, a Wake, ctx's end or
// the store's close). No events and a nil error on timeout or wake; ctx's
// error once it is done; an error matching ErrClosed after Close or the
// store's close.
func (sub *Subscription) Poll(ctx context.Context, timeout time.Duration) ([]*eventstore.Event, error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.pending) == 0 {
		if _, err := sub.wait(ctx, timeout); err != nil {
			return nil, err
		}
	}
	out := sub.pending
	sub.pending = nil
	return out, nil
}

// Events yields each next event, waiting for it. It ends when ctx is done
// (yielding ctx's error), after Close (quietly), or with the error that
// stopped it (one matching ErrClosed when the store closes). A Wake does not
// end it. Stopping the loop (break) keeps the events not yet yielded for the
// next Poll or Events.
func (sub *Subscription) Events(ctx context.Context) iter.Seq2[*eventstore.Event, error] {
	return func(yield func(*eventstore.Event, error) bool) {
		for {
			sub.mu.Lock()
			for len(sub.pending) == 0 {
				_, err := sub.wait(ctx, -1)
				if err == nil {
					continue
				}
				closedByUs := errors.Is(err, ErrClosed) && sub.isClosing()
				sub.mu.Unlock()
				if !closedByUs {
					yield(nil, err)
				}
				return
			}
			ev := sub.pending[0]
			sub.pending = sub.pending[1:]
			sub.mu.Unlock()
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// Position: every event at or below it was delivered or filtered out, a
// position to subscribe again from. Events fetched but not yet handed out
// do not count.
func (sub *Subscription) Position() int64 {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.pending) > 0 && sub.pending[0].GlobalPosition != nil {
		return *sub.pending[0].GlobalPosition - 1
	}
	if sub.c == nil {
		return -1
	}
	return int64(C.est_subscription_position(sub.c))
}

// FD is a descriptor that polls readable when events may be ready (for
// epoll or a host's loop); owned by the subscription: do not read or close
// it. Readable promises nothing: Poll with timeout 0 then. Like Position, it
// waits for a poll in progress on another goroutine: take it before waiting.
func (sub *Subscription) FD() (int, error) {
	sub.mu.Lock() // one goroutine at a time on the handle (the ABI's rule)
	defer sub.mu.Unlock()
	if sub.c == nil || sub.isClosing() {
		return -1, errSubClosed("subscription fd")
	}
	var fd C.int
	var msg *C.char
	if st := C.gs_sub_fd(sub.c, &fd, &msg); st != C.EST_OK {
		return -1, statusErr("subscription fd", st, msg)
	}
	return int(fd), nil
}

// Wake makes a waiting Poll (or the next one) return no events; from any
// goroutine. An error matching ErrClosed after Close.
func (sub *Subscription) Wake() error {
	sub.wmu.Lock()
	defer sub.wmu.Unlock()
	if sub.c == nil || sub.closing {
		return errSubClosed("subscription wake")
	}
	if st := C.est_subscription_wake(sub.c); st != C.EST_OK {
		return errorf("subscription wake", Status(st), "%s", StatusName(Status(st)))
	}
	return nil
}

// Close ends the subscription from any goroutine: a waiting poll returns
// (Events ends quietly, Poll fails with ErrClosed), then the handle is freed.
// Closing twice is a no-op.
func (sub *Subscription) Close() error {
	sub.wmu.Lock()
	if sub.c == nil || sub.closing {
		sub.wmu.Unlock()
		return nil
	}
	sub.closing = true
	C.est_subscription_wake(sub.c)
	sub.wmu.Unlock()
	sub.mu.Lock() // the waiter has returned
	defer sub.mu.Unlock()
	sub.wmu.Lock()
	sub.free()
	sub.wmu.Unlock()
	sub.pending = nil
	runtime.SetFinalizer(sub, nil)
	return nil
}

func (sub *Subscription) free() {
	if sub.c != nil {
		C.est_subscription_close(sub.c)
		sub.c = nil
	}
	if sub.views != nil {
		C.free(unsafe.Pointer(sub.views))
		sub.views = nil
	}
	sub.conv.free()
}
