// upstream_test.go: Estoria v0.12.0's own acceptance suites, unchanged, on
// every backend (memory:, file:, and PostgreSQL when ESTORIA_TEST_PG names
// the test server), each clause on a fresh store:
//
//   - eventstore/storetest: the event store, the global reader and the
//     stream deleter suites over *Store;
//   - snapshotstore/storetest over *Store's own snapshots, and over Estoria's
//     event-stream snapshot store (snapshotstore/eventstream, which keeps
//     snapshots as events with "estoria." metadata) running on *Store, with
//     and without its retention (WithMaxSnapshots, through StreamDeleter).
//
// Estoria's checkpoint store suite (projection/checkpointstore/storetest)
// runs in checkpoint_test.go.

package est

import (
	"testing"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/eventstore/storetest"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/snapshotstore/eventstream"
	snapshottest "github.com/go-estoria/estoria/snapshotstore/storetest"
)

// eachBackend runs f under a subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, backend := range backendNames() {
		t.Run(backend, func(t *testing.T) { f(t, backend) })
	}
}

func TestEstoriaEventStoreSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		storetest.RunEventStoreSuite(t, func(t *testing.T) eventstore.Store { return openBackend(t, backend) })
	})
}

func TestEstoriaGlobalReaderSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		storetest.RunGlobalReaderSuite(t, func(t *testing.T) storetest.GlobalStore { return openBackend(t, backend) })
	})
}

func TestEstoriaStreamDeleterSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		storetest.RunStreamDeleterSuite(t, func(t *testing.T) storetest.DeleterStore { return openBackend(t, backend) })
	})
}

func TestEstoriaSnapshotStoreSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		snapshottest.RunSnapshotStoreSuite(t, func(t *testing.T) snapshotstore.SnapshotStore { return openBackend(t, backend) })
	})
}

func TestEstoriaEventStreamSnapshotStoreSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		t.Run("unbounded", func(t *testing.T) {
			snapshottest.RunSnapshotStoreSuite(t, func(t *testing.T) snapshotstore.SnapshotStore {
				store, err := eventstream.New(openBackend(t, backend))
				if err != nil {
					t.Fatal(err)
				}
				return store
			})
		})
		t.Run("max 2 snapshots", func(t *testing.T) {
			snapshottest.RunSnapshotStoreSuite(t, func(t *testing.T) snapshotstore.SnapshotStore {
				store, err := eventstream.New(openBackend(t, backend), eventstream.WithMaxSnapshots(2))
				if err != nil {
					t.Fatal(err)
				}
				return store
			})
		})
	})
}
