// admin.go: the operator calls of the ABI: Verify, Compact (with progress
// callbacks), ListStreams and the process-wide log handler.
//
// Callbacks: a progress function lives behind a runtime/cgo.Handle whose
// integer value is the callback's user pointer for the one call; the log
// handler is a package-level value the C trampoline reads. Every exported
// callback recovers from a panic (a panic unwinding through C kills the
// process).

package est

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime/cgo"
	"strings"
	"sync/atomic"
	"unsafe"
)

// cancelOnDone makes ctx's end stop the store's running verifies and
// compactions (est_store_cancel) until the returned function is called; it
// returns after a cancel in flight, so c stays valid for it (the caller
// holds the store).
func cancelOnDone(ctx context.Context, c *C.est_store) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.gs_store_cancel(c, nil)
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}

// cancelledErr is the error of a call that failed: one matching ctx's error
// as well when ctx's end cancelled it.
func cancelledErr(ctx context.Context, op string, st C.est_status, msg *C.char) error {
	err := statusErr(op, st, msg)
	if st == C.EST_ERR_CANCELLED && ctx.Err() != nil {
		return &both{outer: ctx.Err(), inner: err}
	}
	return err
}

// Progress is told done of total units (bytes) of a long operation, on the
// calling goroutine's thread; it must not call back into the store.
type Progress func(done, total uint64)

// VerifyReport is est_verify_report.
type VerifyReport struct {
	Segments, Records, Events, Bytes int64
}

// Verify checks every record of the store (checksums and structure) with
// pread, while the store stays usable. Damage is an error matching
// ErrCorruption naming the segment and offset; the report is filled then too.
// progress may be nil. ctx's end stops it (est_store_cancel): an error
// matching ErrCancelled and ctx's error.
func (s *Store) Verify(ctx context.Context, progress Progress) (VerifyReport, error) {
	const op = "verify"
	if err := ctx.Err(); err != nil {
		return VerifyReport{}, err
	}
	h := s.progressHandle(progress)
	defer deleteHandle(h)
	c, err := s.acquire(op)
	if err != nil {
		return VerifyReport{}, err
	}
	var r C.est_verify_report
	var msg *C.char
	stop := cancelOnDone(ctx, c)
	st := C.gs_store_verify(c, C.uintptr_t(h), &r, &msg)
	stop()
	s.release()
	rep := VerifyReport{int64(r.segments), int64(r.records), int64(r.events), int64(r.bytes)}
	if st != C.EST_OK {
		return rep, cancelledErr(ctx, op, st, msg)
	}
	return rep, nil
}

// CompactReport is est_compact_report.
type CompactReport struct {
	SegmentsBefore, SegmentsAfter, BytesBefore, BytesAfter, EventsKept, EventsDropped int64
}

// Compact rewrites the file store's sealed segments without deleted and
// truncated events, online. ErrUnsupported on a read-only open and on
// backends that reclaim in place (memory, PostgreSQL). progress may be nil.
// ctx's end stops it (est_store_cancel; the store is left as it was): an
// error matching ErrCancelled and ctx's error. The cancel reaches every
// verify and compaction of the store running at that moment.
func (s *Store) Compact(ctx context.Context, progress Progress) (CompactReport, error) {
	const op = "compact"
	if err := ctx.Err(); err != nil {
		return CompactReport{}, err
	}
	h := s.progressHandle(progress)
	defer deleteHandle(h)
	c, err := s.acquire(op)
	if err != nil {
		return CompactReport{}, err
	}
	var r C.est_compact_report
	var msg *C.char
	stop := cancelOnDone(ctx, c)
	st := C.gs_store_compact(c, C.uintptr_t(h), &r, &msg)
	stop()
	s.release()
	if st != C.EST_OK {
		return CompactReport{}, cancelledErr(ctx, op, st, msg)
	}
	return CompactReport{int64(r.segments_before), int64(r.segments_after), int64(r.bytes_before),
		int64(r.bytes_after), int64(r.events_kept), int64(r.events_dropped)}, nil
}

// progressCall is what a progress callback's handle holds.
type progressCall struct {
	s *Store
	p Progress
}

func (s *Store) progressHandle(p Progress) cgo.Handle {
	if p == nil {
		return 0
	}
	return cgo.NewHandle(progressCall{s, p})
}

func deleteHandle(h cgo.Handle) {
	if h != 0 {
		h.Delete()
	}
}

//export goEstProgress
func goEstProgress(user C.uintptr_t, done, total C.uint64_t) {
	defer func() { _ = recover() }() // progress reports nothing back; never unwind into C
	if call, ok := cgo.Handle(user).Value().(progressCall); ok {
		call.s.callbacks.Add(1)
		defer call.s.callbacks.Add(-1)
		call.p(uint64(done), uint64(total))
	}
}

// StreamInfo is one est_stream_info: a live stream, its version (tip) and
// its live events (fewer than Version after truncation).
type StreamInfo struct {
	ID      string
	Version int64
	Events  int64
}

// listPage is the number of streams fetched per crossing.
const listPage = 256

// ListStreams lists the live streams in the byte order of their ID text,
// after afterID ("" = from the first), at most limit of them (0 = all).
// To page, pass the last ID of a page as the next afterID.
func (s *Store) ListStreams(ctx context.Context, afterID string, limit int) ([]StreamInfo, error) {
	const op = "list streams"
	if strings.IndexByte(afterID, 0) >= 0 {
		return nil, errorf(op, StatusInvalidArgument, "afterID contains NUL")
	}
	if limit < 0 {
		return nil, errorf(op, StatusInvalidArgument, "limit must be >= 0")
	}
	infos := (*C.est_stream_info)(C.calloc(listPage, C.size_t(unsafe.Sizeof(C.est_stream_info{}))))
	if infos == nil {
		return nil, errorf(op, StatusNoMemory, "allocating stream infos")
	}
	defer C.free(unsafe.Pointer(infos))
	page := unsafe.Slice(infos, listPage)
	var out []StreamInfo
	after := afterID
	for {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		want := listPage
		if limit > 0 && limit-len(out) < want {
			want = limit - len(out)
		}
		if want == 0 {
			return out, nil
		}
		cafter := cString(after)
		c, err := s.acquire(op)
		if err != nil {
			C.free(unsafe.Pointer(cafter))
			return out, err
		}
		var count C.size_t
		var msg *C.char
		st := C.gs_list_streams(c, cafter, infos, C.size_t(want), &count, &msg)
		s.release()
		C.free(unsafe.Pointer(cafter))
		if st != C.EST_OK {
			return out, statusErr(op, st, msg)
		}
		for i := 0; i < int(count); i++ {
			out = append(out, StreamInfo{
				ID:      C.GoString(&page[i].id[0]),
				Version: int64(page[i].version),
				Events:  int64(page[i].events),
			})
		}
		if int(count) < want {
			return out, nil
		}
		after = out[len(out)-1].ID
	}
}

// LogLevel is the level of a library log message.
type LogLevel int32

// The levels of est_log_fn.
const (
	LogError   LogLevel = C.EST_LOG_ERROR
	LogWarning LogLevel = C.EST_LOG_WARNING
	LogInfo    LogLevel = C.EST_LOG_INFO
)

// LogHandler receives what the library cannot return to a caller (a failed
// background flush, a failed snapshot write after a save, an after-hook's
// error, recovery cutting a torn tail). It is called from any thread,
// possibly concurrently, and must not call into the store.
type LogHandler func(level LogLevel, message string)

var logHandler atomic.Pointer[LogHandler]

// SetLogHandler sets the process-wide log handler (nil = discard, the
// library's default). The library never prints.
func SetLogHandler(h LogHandler) {
	if h == nil {
		C.gs_set_log_handler(0)
		logHandler.Store(nil)
		return
	}
	logHandler.Store(&h)
	C.gs_set_log_handler(1)
}

//export goEstLog
func goEstLog(level C.int32_t, message *C.char) {
	defer func() { _ = recover() }() // nothing to report to; never unwind into C
	if h := logHandler.Load(); h != nil && *h != nil {
		(*h)(LogLevel(level), C.GoString(message))
	}
}
