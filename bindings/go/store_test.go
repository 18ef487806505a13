// store_test.go: the backends every test runs on (memory:, file:, and the
// PostgreSQL test server when ESTORIA_TEST_PG names one), and what the
// binding adds to the contract of Estoria's suites (upstream_test.go): bad
// input, reads that cross in several batches, snapshot pruning, contexts,
// closed handles, reopening, and error messages that stay with their call.

package est

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

var ctx = context.Background()

// pgBase is the PostgreSQL test server's URI (tests/postgres/run_pg_tests.sh
// sets ESTORIA_TEST_PG), or "" when there is none.
var pgBase = os.Getenv("ESTORIA_TEST_PG")

// backendNames are the backends the tests run on: memory and file always,
// postgres when the test server is up.
func backendNames() []string {
	if pgBase != "" {
		return []string{"memory", "file", "postgres"}
	}
	return []string{"memory", "file"}
}

// openBackend opens a fresh store of the named backend ("memory", "file" or
// "postgres": a schema of its own on the test server, dropped afterwards),
// closed when t ends.
func openBackend(t *testing.T, backend string) *Store {
	t.Helper()
	var uri, schema string
	switch backend {
	case "memory":
		uri = "memory:"
	case "file":
		uri = "file:" + filepath.Join(t.TempDir(), "store")
	case "postgres":
		if pgBase == "" {
			t.Skip("ESTORIA_TEST_PG is not set (run through tests/postgres/run_pg_tests.sh)")
		}
		schema = "go_" + strings.ReplaceAll(uuid.Must(uuid.NewV4()).String()[:13], "-", "")
		sep := "?"
		if strings.Contains(pgBase, "?") {
			sep = "&"
		}
		uri = pgBase + sep + "schema=" + schema
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	s, err := Open(uri, &Options{SyncMode: SyncNone})
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() {
		s.Close()
		if schema != "" {
			dropSchema(pgBase, schema)
		}
	})
	return s
}

// dropSchema drops a test schema with psql when psql is on PATH (the server
// is a throwaway one: a schema left behind goes with it).
func dropSchema(base, schema string) {
	if _, err := exec.LookPath("psql"); err != nil {
		return
	}
	_ = exec.Command("psql", "-q", "-X", "-d", base, "-c", `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`).Run()
}

// backends runs f on a fresh store of each backend.
func backends(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	for _, backend := range backendNames() {
		t.Run(backend, func(t *testing.T) { f(t, openBackend(t, backend)) })
	}
}

func drain(t *testing.T, it eventstore.StreamIterator, err error) []*eventstore.Event {
	t.Helper()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer it.Close(ctx)
	evs, err := eventstore.Collect(ctx, it)
	if err != nil {
		t.Fatalf("iterate: %v", err)
	}
	return evs
}

func versions(evs []*eventstore.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.StreamVersion
	}
	return out
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		bad := map[string][]*eventstore.WritableEvent{
			"empty batch":        {},
			"nil event":          {nil},
			"NUL in type":        {{Type: "a\x00b"}},
			"bad type name":      {{Type: "_x"}},
			"NUL in content":     {{Type: "ok", DataContentType: "a\x00"}},
			"NUL in metadata":    {{Type: "ok", Metadata: map[string]string{"k": "v\x00"}}},
			"empty metadata key": {{Type: "ok", Metadata: map[string]string{"z": "1", "": "v", "a": "2"}}},
			"one bad of two":     {{Type: "ok"}, {Type: ""}},
		}
		for name, evs := range bad {
			if _, err := s.AppendStream(ctx, id, evs, eventstore.AppendStreamOptions{}); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
			}
		}
		if _, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("after refused appends the stream exists: %v", err)
		}
	})
}

func TestManyEventsCrossInSeveralBatches(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		const n = 3*batchSize + 7
		for i := 0; i < n; i += 100 {
			k := min(100, n-i)
			if _, err := s.AppendStream(ctx, id, numbered(k), eventstore.AppendStreamOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
		if len(evs) != n {
			t.Fatalf("read %d events, want %d", len(evs), n)
		}
		for i, e := range evs {
			if e.StreamVersion != int64(i+1) {
				t.Fatalf("event %d has version %d", i, e.StreamVersion)
			}
		}
	})
}

// PruneSnapshots applies est_snapshot_prune's rules; a snapshot at version 0
// is refused (the contract's clauses are in contract_test.go).
func TestPruneSnapshotsAndRefuseVersionZero(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("agg")
		writeSnapshots(t, s, id, 2, 5, 9)
		if err := s.PruneSnapshots(ctx, id, 1, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{MaxVersion: 8}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
			t.Errorf("after keeping the last one, version 5 remains: %v", err)
		}
		if got, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{}); err != nil || got.AggregateVersion != 9 {
			t.Errorf("after keeping the last one: %+v, %v; want version 9", got, err)
		}
		if err := s.WriteSnapshot(ctx, &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: 0}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("version 0: %v, want ErrInvalidArgument", err)
		}
	})
}

func TestCanceledContextStopsCalls(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if _, err := s.AppendStream(ctx, id, numbered(3), eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		it, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close(ctx)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.AppendStream(cctx, id, numbered(1), eventstore.AppendStreamOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("append: %v", err)
		}
		if _, err := s.ReadStream(cctx, id, eventstore.ReadStreamOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("read: %v", err)
		}
		if _, err := it.Next(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("next: %v", err)
		}
		// The canceled append wrote nothing.
		wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3)
	})
}

func TestClosedStoreAndIteratorsEndInErrors(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if _, err := s.AppendStream(ctx, id, numbered(600), eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		open, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		closed, _ := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		closed.Close(ctx)
		closed.Close(ctx) // twice is fine
		if _, err := closed.Next(ctx); !errors.Is(err, eventstore.ErrStreamIteratorClosed) {
			t.Errorf("Next after Close: %v", err)
		}
		s.Close()
		s.Close()
		if _, err := open.Next(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Next after the store closed: %v, want ErrClosed", err)
		}
		open.Close(ctx)
		checks := map[string]error{
			"delete":   s.DeleteStream(ctx, id, eventstore.DeleteStreamOptions{}),
			"snapshot": s.WriteSnapshot(ctx, &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: 1}),
			"sync":     s.Sync(ctx),
		}
		_, checks["read"] = s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		_, checks["append"] = s.AppendStream(ctx, id, numbered(1), eventstore.AppendStreamOptions{})
		_, checks["read all"] = s.ReadAll(ctx, eventstore.ReadAllOptions{})
		_, checks["read snapshot"] = s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{})
		for name, err := range checks {
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s on a closed store: %v, want ErrClosed", name, err)
			}
		}
	})
}

func TestFileStoreKeepsEventsAcrossReopen(t *testing.T) {
	dir := "file:" + filepath.Join(t.TempDir(), "store")
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := typeid.NewV4("s")
	if _, err := s.AppendStream(ctx, id, numbered(4), eventstore.AppendStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("second open of a held store: %v, want ErrBusy", err)
	}
	s.Close()
	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3, 4)
}

func TestOpenRefusesBadURIs(t *testing.T) {
	for _, uri := range []string{"nosuch://x", "memory:\x00"} {
		if _, err := Open(uri, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Open(%q) = %v, want ErrInvalidArgument", uri, err)
		}
	}
}

// Failures on many goroutines at once each carry their own message: the shim
// reads est_last_error() in the same C call as the failure.
func TestErrorMessagesStayWithTheirCallAcrossGoroutines(t *testing.T) {
	s, err := Open("memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				typ := fmt.Sprintf("t%dx%d", g, i)
				var err error
				if i%2 == 0 {
					_, err = s.AppendStream(ctx, typeid.NewV4("s"), []*eventstore.WritableEvent{{Type: "_" + typ}}, eventstore.AppendStreamOptions{})
				} else {
					id := typeid.NewV4(typ)
					_, err = s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
					if err != nil && !strings.Contains(err.Error(), id.String()) {
						errs <- fmt.Errorf("read of %s failed with %v", id, err)
						return
					}
				}
				var e *Error
				if !errors.As(err, &e) || e.Message == "" {
					errs <- fmt.Errorf("goroutine %d call %d: %v has no message", g, i, err)
					return
				}
				if i%2 == 0 && !strings.Contains(e.Message, typ) {
					errs <- fmt.Errorf("append of type _%s failed with another call's message: %q", typ, e.Message)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
