// doc.go: the package comment.

// Package est is the Go binding of estoria, an embeddable event-sourcing
// engine, over its C ABI (cgo). *Store implements the interfaces of
// github.com/go-estoria/estoria v0.4.0 (eventstore.Store and
// snapshotstore.SnapshotStore), so that Estoria's aggregate stores run on
// estoria unchanged; AggregateStore runs the engine's own aggregates with Go
// callbacks. See README.md for linking (estoria.pc or ESTORIA_LIB_DIR),
// errors and threading.
package est
