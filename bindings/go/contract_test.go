// contract_test.go: the clauses of the store contract that Estoria
// v0.12.0's own suites (upstream_test.go) leave unsaid, one named subtest per
// clause, each on a fresh store of every backend: forward reads after a
// version and negative bounds, snapshots that go with a deleted stream,
// negative ToVersion, snapshots stamped by the store, metadata keys of the
// toolkit's own components, and restoring appends.

package est

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

type clause struct {
	name string
	run  func(t *testing.T, s *Store)
}

// runClauses runs every clause on a fresh store of each backend.
func runClauses(t *testing.T, clauses []clause) {
	t.Helper()
	for _, backend := range backendNames() {
		t.Run(backend, func(t *testing.T) {
			for _, c := range clauses {
				t.Run(c.name, func(t *testing.T) { c.run(t, openBackend(t, backend)) })
			}
		})
	}
}

func TestContractBeyondEstoriasSuites(t *testing.T) {
	runClauses(t, []clause{
		{"reads forward after an exclusive version and refuses a negative one", clauseReadsForward},
		{"takes a deleted stream's snapshots with it", clauseDeleteTakesSnapshots},
		{"refuses a negative ToVersion and changes nothing", clauseNegativeToVersion},
		{"stamps a snapshot written without a timestamp", clauseSnapshotStamped},
		{"stores the toolkit's own estoria. metadata keys", clauseToolkitMetadata},
		{"restores events with their IDs, types and timestamps", clauseRestores},
		{"restores a stream from a first version", clauseRestoresFromVersion},
		{"returns from an append the events a read returns, not the caller's", clauseAppendReturnsWhatAReadReturns},
		{"returns the original events from a duplicate restore", clauseDuplicateRestoreReturnsOriginals},
	})
}

// --- fixtures -----------------------------------------------------------

// payload is the data of the i-th event (from 0) a clause writes.
func payload(i int) []byte { return fmt.Appendf(nil, "event %d", i+1) }

func numbered(n int) []*eventstore.WritableEvent {
	out := make([]*eventstore.WritableEvent, n)
	for i := range out {
		out[i] = &eventstore.WritableEvent{Type: "numbered", Data: payload(i)}
	}
	return out
}

func mustAppend(t *testing.T, s *Store, id typeid.ID, n int, opts eventstore.AppendStreamOptions) []*eventstore.Event {
	t.Helper()
	written, err := s.AppendStream(ctx, id, numbered(n), opts)
	if err != nil {
		t.Fatalf("appending %d events to %s: %v", n, id, err)
	}
	return written
}

func newStream(t *testing.T, s *Store, n int) typeid.ID {
	t.Helper()
	id := typeid.NewV4("contract")
	mustAppend(t, s, id, n, eventstore.AppendStreamOptions{})
	return id
}

func readStream(t *testing.T, s *Store, id typeid.ID, opts eventstore.ReadStreamOptions) []*eventstore.Event {
	t.Helper()
	it, err := s.ReadStream(ctx, id, opts)
	return drain(t, it, err)
}

func wantVersions(t *testing.T, evs []*eventstore.Event, want ...int64) {
	t.Helper()
	if got := versions(evs); !slices.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
}

func writeSnapshots(t *testing.T, s *Store, id typeid.ID, versions ...int64) {
	t.Helper()
	for _, v := range versions {
		snap := &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: v, Data: fmt.Appendf(nil, "at %d", v)}
		if err := s.WriteSnapshot(ctx, snap); err != nil {
			t.Fatalf("writing a snapshot at version %d: %v", v, err)
		}
	}
}

// --- clauses ------------------------------------------------------------

func clauseReadsForward(t *testing.T, s *Store) {
	id := newStream(t, s, 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{AfterVersion: 2}), 3, 4, 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{AfterVersion: 2, Count: 2}), 3, 4)
	if _, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{AfterVersion: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative AfterVersion: %v, want ErrInvalidArgument", err)
	}
}

func clauseDeleteTakesSnapshots(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	writeSnapshots(t, s, id, 3)
	if err := s.DeleteStream(ctx, id, eventstore.DeleteStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
		t.Errorf("snapshot of a deleted stream: %v, want ErrSnapshotNotFound", err)
	}
}

func clauseNegativeToVersion(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	if err := s.DeleteStream(ctx, id, eventstore.DeleteStreamOptions{ToVersion: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("err = %v, want ErrInvalidArgument", err)
	}
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3)
}

func clauseSnapshotStamped(t *testing.T, s *Store) {
	id := typeid.NewV4("agg")
	before := time.Now().Add(-time.Second)
	writeSnapshots(t, s, id, 1)
	got, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Timestamp.Before(before) || got.Timestamp.After(time.Now().Add(time.Second)) {
		t.Errorf("timestamp %v, want about now", got.Timestamp)
	}
}

// Estoria reserves "estoria." keys for its own components, which write them
// through the event store (snapshotstore/eventstream); the store keeps them.
func clauseToolkitMetadata(t *testing.T, s *Store) {
	id := typeid.NewV4("accountsnapshot")
	meta := map[string]string{"estoria.snapshot_version": "7", "other": "x"}
	written, err := s.AppendStream(ctx, id, []*eventstore.WritableEvent{{Type: "accountsnapshot", Metadata: meta}},
		eventstore.AppendStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read := readStream(t, s, id, eventstore.ReadStreamOptions{})
	if len(read) != 1 || len(written) != 1 || read[0].Metadata["estoria.snapshot_version"] != "7" ||
		written[0].Metadata["estoria.snapshot_version"] != "7" {
		t.Errorf("written %+v, read %+v; want the estoria. key kept", written, read)
	}
}

func clauseRestores(t *testing.T, s *Store) {
	src := typeid.NewV4("account")
	original := mustAppend(t, s, src, 3, eventstore.AppendStreamOptions{})
	original[1].DataContentType = "application/x-restored"
	original[2].Metadata = map[string]string{"k": "v"}
	dst := typeid.NewV4("account")
	restored, err := s.Restore(ctx, dst, original, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	read := readStream(t, s, dst, eventstore.ReadStreamOptions{})
	if len(read) != 3 || len(restored) != 3 {
		t.Fatalf("restored %d, read %d events; want 3", len(restored), len(read))
	}
	for i, e := range read {
		o := original[i]
		if e.ID != o.ID || !e.Timestamp.Equal(o.Timestamp) || e.StreamID != dst || e.StreamVersion != int64(i+1) ||
			string(e.Data) != string(o.Data) || e.DataContentType != o.DataContentType || e.Metadata["k"] != o.Metadata["k"] {
			t.Errorf("event %d: read %+v, want the original %+v in %s", i, e, o, dst)
		}
		if restored[i].ID != e.ID || restored[i].StreamVersion != e.StreamVersion {
			t.Errorf("event %d: Restore returned %+v, a read %+v", i, restored[i], e)
		}
	}
	bad := []*eventstore.Event{{ID: typeid.New("x", uuid.Must(uuid.NewV4()))}}
	if _, err := s.Restore(ctx, typeid.NewV4("account"), bad, RestoreOptions{}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("an event without a timestamp: %v, want ErrInvalidArgument", err)
	}
}

func clauseRestoresFromVersion(t *testing.T, s *Store) {
	src := typeid.NewV4("account")
	original := mustAppend(t, s, src, 2, eventstore.AppendStreamOptions{})
	dst := typeid.NewV4("account")
	if _, err := s.Restore(ctx, dst, original, RestoreOptions{FirstVersion: 5}); err != nil {
		t.Fatal(err)
	}
	wantVersions(t, readStream(t, s, dst, eventstore.ReadStreamOptions{}), 5, 6)
}

// An append returns what a read of the same events returns (the binding
// builds them from the batch and what the store gave each event), as copies:
// changing the batch afterwards changes neither.
func clauseAppendReturnsWhatAReadReturns(t *testing.T, s *Store) {
	id := typeid.NewV4("account")
	mustAppend(t, s, id, 2, eventstore.AppendStreamOptions{}) // later versions and positions
	batch := []*eventstore.WritableEvent{
		{Type: "opened", Data: []byte("first"), DataContentType: "application/json",
			Metadata: map[string]string{"user": "u-1", "correlation": "c-1", "a": ""}},
		{Type: "empty"},
		{Type: "noted", Data: []byte("third"), Metadata: map[string]string{}},
	}
	written, err := s.AppendStream(ctx, id, batch, eventstore.AppendStreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	batch[0].Data[0] = 'X'
	batch[0].Metadata["user"] = "changed"
	read := readStream(t, s, id, eventstore.ReadStreamOptions{AfterVersion: 2})
	if len(read) != 3 || len(written) != 3 {
		t.Fatalf("written %d, read %d events; want 3", len(written), len(read))
	}
	for i := range read {
		if !reflect.DeepEqual(written[i], read[i]) {
			t.Errorf("event %d: the append returned %+v, a read %+v", i, written[i], read[i])
		}
	}
	if string(written[0].Data) != "first" || written[0].Metadata["user"] != "u-1" {
		t.Errorf("the returned event changed with the batch: %+v", written[0])
	}
	if written[0].GlobalPosition == nil || written[2].GlobalPosition == nil ||
		*written[2].GlobalPosition <= *written[0].GlobalPosition {
		t.Errorf("positions %v, %v; want ascending ones", written[0].GlobalPosition, written[2].GlobalPosition)
	}
}

// A restore whose events are already in the stream at the expected place
// writes nothing and returns the events stored, not the ones given, which
// may differ in everything but their IDs.
func clauseDuplicateRestoreReturnsOriginals(t *testing.T, s *Store) {
	original := mustAppend(t, s, typeid.NewV4("account"), 2, eventstore.AppendStreamOptions{})
	dst := typeid.NewV4("account")
	first, err := s.Restore(ctx, dst, original, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again := make([]*eventstore.Event, len(original))
	for i, e := range original {
		c := *e
		c.Data = []byte("other data")
		again[i] = &c
	}
	second, err := s.Restore(ctx, dst, again, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("the duplicate restore returned %+v, want the original %+v", second, first)
	}
	wantVersions(t, readStream(t, s, dst, eventstore.ReadStreamOptions{}), 1, 2)
}
