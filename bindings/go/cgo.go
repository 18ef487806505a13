// cgo.go: the C side of the binding. Every fallible est_* call goes through a
// shim below that returns the status and, on failure, a malloc'd copy of
// est_last_error() taken in the same C call: a goroutine may move to another
// OS thread between two cgo calls, and est_last_error() is per thread.
//
// Memory rules (checked by GOEXPERIMENT=cgocheck2 in one test run): Go memory
// handed to C never contains Go pointers (byte buffers, option structs, int64
// descriptors); event views are read from a C-allocated array owned by the
// iterator; Go values reached from C callbacks go through runtime/cgo.Handle
// values stored in C-allocated cells.

package est

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"unsafe"
)

// cString is a NUL-terminated copy of s in C memory; free it with C.free.
func cString(s string) *C.char { return C.CString(s) }

// takeMsg converts and frees a message returned by a shim.
func takeMsg(msg *C.char) string {
	if msg == nil {
		return ""
	}
	s := C.GoString(msg)
	C.free(unsafe.Pointer(msg))
	return s
}

// statusErr turns a failed status and its message into an *Error.
func statusErr(op string, st C.est_status, msg *C.char) error {
	return &Error{Op: op, Code: Status(st), Message: takeMsg(msg)}
}

// ABIVersion is est_abi_version() of the library actually loaded.
func ABIVersion() uint32 { return uint32(C.est_abi_version()) }

// StatusName is est_status_name(code).
func StatusName(code Status) string { return C.GoString(C.est_status_name(C.est_status(code))) }

const abiMajor = C.EST_ABI_VERSION_MAJOR
