// doc.go: the package comment.

// Package est is the Go binding of estoria, an embeddable event-sourcing
// engine, over its C ABI (cgo). *Store implements the interfaces of
// github.com/go-estoria/estoria v0.12.0 (eventstore.Store,
// eventstore.GlobalReader, eventstore.StreamDeleter and
// snapshotstore.SnapshotStore), so that Estoria's aggregate stores, its
// event-stream snapshot store and its projection processor run on estoria
// unchanged, and Estoria's own acceptance suites test it. AggregateStore runs
// the engine's own aggregates with Go callbacks and hooks. See README.md for
// linking (estoria.pc or ESTORIA_LIB_DIR), errors and threading.
package est
