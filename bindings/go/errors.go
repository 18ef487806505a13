// errors.go: estoria's statuses as Go errors.
//
// Every failure is an *Error carrying the est_status and the library's message.
// errors.Is matches it against this package's sentinels (ErrNotFound,
// ErrClosed, ...). Where Estoria defines the meaning, the store returns
// Estoria's own errors as well: a missing stream wraps
// eventstore.ErrStreamNotFound, a missing snapshot wraps
// snapshotstore.ErrSnapshotNotFound, a failed expectation is an
// eventstore.StreamVersionMismatchError value, and exhausted iterators return
// eventstore.ErrEndOfEventStream.

package est

import (
	"errors"
	"fmt"
)

// Status is an est_status code.
type Status int32

// The statuses of estoria.h.
const (
	StatusOK               Status = 0
	StatusEnd              Status = 1
	StatusInvalidArgument  Status = -1
	StatusNotFound         Status = -2
	StatusVersionMismatch  Status = -3
	StatusClosed           Status = -4
	StatusIO               Status = -5
	StatusCorruption       Status = -6
	StatusBusy             Status = -7
	StatusUnsupported      Status = -8
	StatusNoMemory         Status = -9
	StatusInternal         Status = -10
	StatusAppliedPartially Status = -11
	StatusCancelled        Status = -12
)

// Sentinels for errors.Is; an *Error matches the one of its Code.
var (
	ErrInvalidArgument  = errors.New("estoria: invalid argument")
	ErrNotFound         = errors.New("estoria: not found")
	ErrVersionMismatch  = errors.New("estoria: version mismatch")
	ErrClosed           = errors.New("estoria: closed")
	ErrIO               = errors.New("estoria: I/O error")
	ErrCorruption       = errors.New("estoria: corruption")
	ErrBusy             = errors.New("estoria: busy")
	ErrUnsupported      = errors.New("estoria: unsupported")
	ErrNoMemory         = errors.New("estoria: out of memory")
	ErrInternal         = errors.New("estoria: internal error")
	ErrAppliedPartially = errors.New("estoria: saved but not applied; reload the aggregate")
	ErrCancelled        = errors.New("estoria: cancelled; the store is as it was")
)

var sentinelOf = map[Status]error{
	StatusInvalidArgument:  ErrInvalidArgument,
	StatusNotFound:         ErrNotFound,
	StatusVersionMismatch:  ErrVersionMismatch,
	StatusClosed:           ErrClosed,
	StatusIO:               ErrIO,
	StatusCorruption:       ErrCorruption,
	StatusBusy:             ErrBusy,
	StatusUnsupported:      ErrUnsupported,
	StatusNoMemory:         ErrNoMemory,
	StatusInternal:         ErrInternal,
	StatusAppliedPartially: ErrAppliedPartially,
	StatusCancelled:        ErrCancelled,
}

// Error is a failed est_* call: the operation, the status and the library's
// message for it.
type Error struct {
	Op      string
	Code    Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("estoria: %s: %s", e.Op, StatusName(e.Code))
	}
	return fmt.Sprintf("estoria: %s: %s: %s", e.Op, StatusName(e.Code), e.Message)
}

// Is reports whether target is the sentinel of e's code.
func (e *Error) Is(target error) bool {
	s, ok := sentinelOf[e.Code]
	return ok && s == target
}

// errorf makes an *Error that did not come from the library (a binding-side
// check, such as a closed handle or a NUL inside a string).
func errorf(op string, code Status, format string, args ...any) error {
	return &Error{Op: op, Code: code, Message: fmt.Sprintf(format, args...)}
}

// both wraps two errors so that errors.Is matches either.
type both struct {
	outer error
	inner error
}

func (b *both) Error() string   { return b.inner.Error() }
func (b *both) Unwrap() []error { return []error{b.outer, b.inner} }
