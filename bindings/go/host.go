// host.go: the host's side of a store (doc/abi.md "Hosts"): no library
// threads with Maintain, stepped compactions, Cancel, and the host's clock,
// randomness and log for one store (Options.Clock, Random, Log).
//
// Callbacks: the Options' functions live behind a runtime/cgo.Handle in a
// C-allocated cell (cgo.go's rules), whose address is the store's host_user
// and log_user; the cell is freed after est_store_close. A panic in one never
// unwinds into C: it is recovered, and the system's clock or randomness
// stands in for that call (a log line is dropped).

package est

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	crand "crypto/rand"
	"runtime/cgo"
	"time"
	"unsafe"
)

// Threads says whether the library may start threads for a store.
type Threads int32

// The threading modes of est_store_options.
const (
	ThreadsLibrary Threads = C.EST_THREADS_LIBRARY // the threads it needs (default)
	ThreadsNone    Threads = C.EST_THREADS_NONE    // none: call Maintain from the host's loop
)

// MaintainReport is what one Maintain call left.
type MaintainReport struct {
	Pending    bool // background work remains that a call now would do
	Compacting bool // a scheduled compaction is unfinished
}

type hostFuncs struct {
	clock  func() int64
	random func([]byte)
	log    LogHandler
}

// hostCell makes the cell of opts' callbacks and points o at them; nil when
// there are none.
func hostCell(opts *Options, o *C.est_store_options) *C.uintptr_t {
	if opts == nil || (opts.Clock == nil && opts.Random == nil && opts.Log == nil) {
		return nil
	}
	cell := newCell(&hostFuncs{opts.Clock, opts.Random, opts.Log})
	flag := func(set bool) C.int {
		if set {
			return 1
		}
		return 0
	}
	C.gs_host_options(o, unsafe.Pointer(cell), flag(opts.Clock != nil), flag(opts.Random != nil), flag(opts.Log != nil))
	return cell
}

func freeHostCell(cell *C.uintptr_t) {
	if cell != nil {
		cgo.Handle(*cell).Delete()
		C.free(unsafe.Pointer(cell))
	}
}

//export goEstClock
func goEstClock(user unsafe.Pointer) (now C.int64_t) {
	defer func() {
		if recover() != nil {
			now = C.int64_t(time.Now().UnixNano())
		}
	}()
	return C.int64_t(cellValue(user).(*hostFuncs).clock())
}

//export goEstRandom
func goEstRandom(user unsafe.Pointer, buf unsafe.Pointer, n C.size_t) {
	out := unsafe.Slice((*byte)(buf), int(n))
	defer func() {
		if recover() != nil {
			_, _ = crand.Read(out)
		}
	}()
	cellValue(user).(*hostFuncs).random(out)
}

//export goEstStoreLog
func goEstStoreLog(user unsafe.Pointer, level C.int32_t, message *C.char) {
	defer func() { _ = recover() }() // nothing to report to; never unwind into C
	cellValue(user).(*hostFuncs).log(LogLevel(level), C.GoString(message))
}

// Maintain does the store's pending background work for about budget
// (est_store_maintain): with ThreadsNone all of it (zeros ahead of the log,
// the interval flush, index checkpoints), in every mode the steps of a
// scheduled compaction; ErrCancelled when that compaction was cancelled.
func (s *Store) Maintain(budget time.Duration) (MaintainReport, error) {
	const op = "maintain"
	c, err := s.acquire(op)
	if err != nil {
		return MaintainReport{}, err
	}
	var pending, compacting C.int32_t
	var msg *C.char
	st := C.gs_store_maintain(c, C.int64_t(budget/time.Microsecond), &pending, &compacting, &msg)
	s.release()
	if st != C.EST_OK {
		return MaintainReport{}, statusErr(op, st, msg)
	}
	return MaintainReport{Pending: pending != 0, Compacting: compacting != 0}, nil
}

// ScheduleCompaction schedules a compaction that Maintain runs in steps (a
// host compacts a live store a few milliseconds per frame).
func (s *Store) ScheduleCompaction() error {
	const op = "compact_schedule"
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_store_compact_schedule(c, &msg)
	s.release()
	if st != C.EST_OK {
		return statusErr(op, st, msg)
	}
	return nil
}

// Cancel stops a running or scheduled compaction or verify of the store
// (from any goroutine, also a progress callback): it returns ErrCancelled
// and leaves the store as it was. With nothing running, nothing happens.
func (s *Store) Cancel() error {
	const op = "cancel"
	c, err := s.acquire(op)
	if err != nil {
		return err
	}
	var msg *C.char
	st := C.gs_store_cancel(c, &msg)
	s.release()
	if st != C.EST_OK {
		return statusErr(op, st, msg)
	}
	return nil
}
