// contract_test.go: the contract of Estoria's store interfaces, clause by
// clause, on memory: and on file:.
//
// Estoria's own acceptance suites (eventstore/storetest for the event store,
// the global reader and the stream deleter; snapshotstore/storetest) are in no
// version of github.com/go-estoria/estoria that the Go module proxy serves
// here: it serves v0.3.0 and v0.4.0, which predate them. This file states the
// same contract (doc/data-model.md, and Estoria's documentation of each
// interface) in the same form: one named subtest per clause, each on a store
// of its own, so a failure names the promise it breaks. When a later Estoria
// can be fetched, its suites run beside these.

package est

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
)

type clause struct {
	name string
	run  func(t *testing.T, s *Store)
}

// runClauses runs every clause on a fresh store of each backend. A fresh store
// per clause matters for the global reader, whose reads see every stream.
func runClauses(t *testing.T, clauses []clause) {
	t.Helper()
	for _, backend := range []string{"memory", "file"} {
		t.Run(backend, func(t *testing.T) {
			for _, c := range clauses {
				t.Run(c.name, func(t *testing.T) { c.run(t, openBackend(t, backend)) })
			}
		})
	}
}

func TestContractEventStore(t *testing.T) {
	runClauses(t, []clause{
		{"gives each appended event an ID of its type, its stream, a version from 1, a position and a timestamp", clauseAssignsFields},
		{"returns data byte for byte in append order", clauseRoundTripsData},
		{"returns metadata as written, and nil where there was none", clauseRoundTripsMetadata},
		{"leaves the caller's events unchanged", clauseKeepsCallerEvents},
		{"reports a stream never written as ErrStreamNotFound", clauseNeverWrittenIsNotFound},
		{"reads past the tip as an empty iterator that stays ended", clauseReadPastTip},
		{"reads forward after an exclusive version", clauseReadsForward},
		{"reads in reverse from the tip or from an inclusive version", clauseReadsReverse},
		{"limits a read to Count events in both directions", clauseCount},
		{"appends when ExpectVersion holds", clauseExpectVersionHolds},
		{"refuses a stale ExpectVersion with both versions and writes nothing", clauseExpectVersionStale},
		{"appends to a new stream under StreamMustNotExist", clauseMustNotExistNew},
		{"refuses StreamMustNotExist on an existing stream and writes nothing", clauseMustNotExistExisting},
		{"refuses ExpectVersion and StreamMustNotExist together", clauseBothExpectations},
	})
}

func TestContractGlobalReader(t *testing.T) {
	runClauses(t, []clause{
		{"reads every stream's events in ascending global order", clauseGlobalOrder},
		{"yields the positions stream reads report", clauseGlobalPositionsAgree},
		{"resumes after an exclusive position", clauseGlobalResumes},
		{"limits a read to the first Count events", clauseGlobalCount},
		{"fixes a read's frontier when ReadAll returns", clauseGlobalFrontier},
		{"fixes a resumed read's frontier when ReadAll returns", clauseGlobalResumedFrontier},
		{"keeps empty and caught-up reads empty while appends race them", clauseGlobalEmptyStaysEmpty},
		{"ends a read whose Count exceeds what is there at its frontier", clauseGlobalCountNotToppedUp},
		{"reads nothing as an empty iterator, not an error", clauseGlobalNothingToRead},
	})
}

func TestContractStreamDeleter(t *testing.T) {
	runClauses(t, []clause{
		{"deletes a stream and leaves the others alone", clauseDeletes},
		{"reports deleting a stream never written as ErrStreamNotFound", clauseDeleteNeverWritten},
		{"starts a deleted stream's ID again at version 1", clauseDeletedIDReusable},
		{"truncates at or below ToVersion and keeps the later versions", clauseTruncates},
		{"keeps a stream truncated empty, and its tip", clauseTruncatedEmptyKeepsTip},
		{"takes a deleted stream's snapshots with it", clauseDeleteTakesSnapshots},
		{"refuses a negative ToVersion and changes nothing", clauseNegativeToVersion},
	})
}

func TestContractSnapshotStore(t *testing.T) {
	runClauses(t, []clause{
		{"reports an aggregate never snapshotted as ErrSnapshotNotFound", clauseNeverSnapshotted},
		{"returns every field as written", clauseSnapshotRoundTrip},
		{"stamps a snapshot written without a timestamp", clauseSnapshotStamped},
		{"leaves the caller's snapshot unchanged", clauseKeepsCallerSnapshot},
		{"returns the newest snapshot by default", clauseNewestSnapshot},
		{"returns the newest at or below MaxVersion, never above", clauseSnapshotMaxVersion},
		{"keeps aggregates apart, even one UUID under two types", clauseSnapshotsApart},
	})
}

// --- fixtures -----------------------------------------------------------

// payload is the data of the i-th event (from 0) a clause writes; clauses
// rebuild expectations from it rather than from what they handed the store.
func payload(i int) []byte { return fmt.Appendf(nil, "event %d", i+1) }

func numbered(n int) []*eventstore.WritableEvent {
	out := make([]*eventstore.WritableEvent, n)
	for i := range out {
		out[i] = &eventstore.WritableEvent{Type: "numbered", Data: payload(i)}
	}
	return out
}

func mustAppend(t *testing.T, s *Store, id typeid.ID, n int, opts eventstore.AppendStreamOptions) {
	t.Helper()
	if err := s.AppendStream(ctx, id, numbered(n), opts); err != nil {
		t.Fatalf("appending %d events to %s: %v", n, id, err)
	}
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

func readGlobal(t *testing.T, s *Store, opts ReadAllOptions) []*eventstore.Event {
	t.Helper()
	it, err := s.ReadAll(ctx, opts)
	return drain(t, it, err)
}

func wantVersions(t *testing.T, evs []*eventstore.Event, want ...int64) {
	t.Helper()
	if got := versions(evs); !slices.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}
}

func ids(evs []*eventstore.Event) []typeid.ID {
	out := make([]typeid.ID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func wantEnd(t *testing.T, it eventstore.StreamIterator, what string) {
	t.Helper()
	if e, err := it.Next(ctx); !errors.Is(err, eventstore.ErrEndOfEventStream) {
		t.Errorf("%s: Next = %v, %v; want ErrEndOfEventStream", what, e, err)
	}
}

// interleave writes 7 events over three streams in five appends (a, b, a, c,
// b) and returns the streams with their event counts.
func interleave(t *testing.T, s *Store) map[typeid.ID]int {
	t.Helper()
	a, b, c := typeid.NewV4("a"), typeid.NewV4("b"), typeid.NewV4("c")
	for _, w := range []struct {
		id typeid.ID
		n  int
	}{{a, 2}, {b, 1}, {a, 1}, {c, 2}, {b, 1}} {
		mustAppend(t, s, w.id, w.n, eventstore.AppendStreamOptions{})
	}
	return map[typeid.ID]int{a: 3, b: 2, c: 2}
}

// --- the event store ----------------------------------------------------

func clauseAssignsFields(t *testing.T, s *Store) {
	before := time.Now().Add(-time.Second)
	id := newStream(t, s, 3)
	evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
	if len(evs) != 3 {
		t.Fatalf("read %d events, want 3", len(evs))
	}
	var last int64
	for i, e := range evs {
		if e.ID.UUID.IsNil() || e.ID.Type != "numbered" {
			t.Errorf("event %d: ID %s, want a non-nil UUID of type numbered", i, e.ID)
		}
		if e.StreamID != id || e.StreamVersion != int64(i+1) {
			t.Errorf("event %d: stream %s version %d, want %s version %d", i, e.StreamID, e.StreamVersion, id, i+1)
		}
		if e.GlobalPosition == nil || *e.GlobalPosition <= last {
			t.Errorf("event %d: global position %v, want one above %d", i, e.GlobalPosition, last)
		} else {
			last = *e.GlobalPosition
		}
		if e.Timestamp.Before(before) || e.Timestamp.After(time.Now().Add(time.Second)) {
			t.Errorf("event %d: timestamp %v, want about now", i, e.Timestamp)
		}
	}
}

func clauseRoundTripsData(t *testing.T, s *Store) {
	id := typeid.NewV4("contract")
	in := append(numbered(10), &eventstore.WritableEvent{Type: "empty"},
		&eventstore.WritableEvent{Type: "binary", Data: []byte{0, 0xff, 0, '\n'}})
	if err := s.AppendStream(ctx, id, in, eventstore.AppendStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
	if len(evs) != 12 {
		t.Fatalf("read %d events, want 12", len(evs))
	}
	for i := 0; i < 10; i++ {
		if !bytes.Equal(evs[i].Data, payload(i)) {
			t.Errorf("event %d: data %q, want %q", i, evs[i].Data, payload(i))
		}
	}
	if evs[10].Data == nil || len(evs[10].Data) != 0 || !bytes.Equal(evs[11].Data, []byte{0, 0xff, 0, '\n'}) {
		t.Errorf("empty and binary data read back as %#v and %q", evs[10].Data, evs[11].Data)
	}
}

func clauseRoundTripsMetadata(t *testing.T, s *Store) {
	id := typeid.NewV4("contract")
	want := map[string]string{"correlation": "c-42", "actor": "user 7", "empty": ""}
	in := []*eventstore.WritableEvent{
		{Type: "tagged", Data: payload(0), Metadata: maps.Clone(want)},
		{Type: "plain", Data: payload(1)},
	}
	if err := s.AppendStream(ctx, id, in, eventstore.AppendStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
	if len(evs) != 2 {
		t.Fatalf("read %d events, want 2", len(evs))
	}
	if !maps.Equal(evs[0].Metadata, want) {
		t.Errorf("metadata %v, want %v", evs[0].Metadata, want)
	}
	if evs[1].Metadata != nil {
		t.Errorf("metadata of an event written without any: %v, want nil", evs[1].Metadata)
	}
}

func clauseKeepsCallerEvents(t *testing.T, s *Store) {
	id := typeid.NewV4("contract")
	in := numbered(3)
	in[1].Metadata = map[string]string{"k": "v"}
	if err := s.AppendStream(ctx, id, in, eventstore.AppendStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, e := range in {
		if e.Type != "numbered" || !bytes.Equal(e.Data, payload(i)) {
			t.Errorf("event %d was changed: type %q data %q", i, e.Type, e.Data)
		}
	}
	if !maps.Equal(in[1].Metadata, map[string]string{"k": "v"}) || in[0].Metadata != nil {
		t.Errorf("metadata was changed: %v, %v", in[0].Metadata, in[1].Metadata)
	}
}

func clauseNeverWrittenIsNotFound(t *testing.T, s *Store) {
	it, err := s.ReadStream(ctx, typeid.NewV4("ghost"), eventstore.ReadStreamOptions{})
	if err == nil {
		it.Close(ctx)
	}
	if !errors.Is(err, eventstore.ErrStreamNotFound) || !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrStreamNotFound (and ErrNotFound)", err)
	}
}

func clauseReadPastTip(t *testing.T, s *Store) {
	id := newStream(t, s, 10)
	for _, opts := range []eventstore.ReadStreamOptions{{AfterVersion: 10}, {AfterVersion: 50}} {
		it, err := s.ReadStream(ctx, id, opts)
		if err != nil {
			t.Fatalf("read after version %d: %v, want an empty iterator", opts.AfterVersion, err)
		}
		wantEnd(t, it, "first Next")
		wantEnd(t, it, "second Next")
		it.Close(ctx)
	}
}

func clauseReadsForward(t *testing.T, s *Store) {
	id := newStream(t, s, 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3, 4, 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{AfterVersion: 2}), 3, 4, 5)
	if _, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{AfterVersion: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative AfterVersion: %v, want ErrInvalidArgument", err)
	}
}

func clauseReadsReverse(t *testing.T, s *Store) {
	id := newStream(t, s, 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Direction: eventstore.Reverse}), 5, 4, 3, 2, 1)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Direction: eventstore.Reverse, AfterVersion: 3}), 3, 2, 1)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Direction: eventstore.Reverse, AfterVersion: 9}), 5, 4, 3, 2, 1)
}

func clauseCount(t *testing.T, s *Store) {
	id := newStream(t, s, 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Count: 2}), 1, 2)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{AfterVersion: 1, Count: 2}), 2, 3)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Direction: eventstore.Reverse, Count: 2}), 5, 4)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Count: 9}), 1, 2, 3, 4, 5)
}

func clauseExpectVersionHolds(t *testing.T, s *Store) {
	id := typeid.NewV4("contract")
	mustAppend(t, s, id, 3, eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(0)})
	mustAppend(t, s, id, 1, eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(3)})
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3, 4)
}

func clauseExpectVersionStale(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	err := s.AppendStream(ctx, id, numbered(1), eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(2)})
	if !errors.Is(err, eventstore.StreamVersionMismatchError{}) {
		t.Fatalf("err = %v, want StreamVersionMismatchError", err)
	}
	// As well as Is: a pointer would satisfy Is (value receiver) but not As.
	var vm eventstore.StreamVersionMismatchError
	if !errors.As(err, &vm) {
		t.Fatalf("err = %T %v, does not unwrap to a StreamVersionMismatchError value", err, err)
	}
	if vm.StreamID != id || vm.ExpectedVersion != 2 || vm.ActualVersion != 3 {
		t.Errorf("mismatch %+v, want %s expected 2 actual 3", vm, id)
	}
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3)
}

func clauseMustNotExistNew(t *testing.T, s *Store) {
	id := typeid.NewV4("contract")
	mustAppend(t, s, id, 2, eventstore.AppendStreamOptions{StreamMustNotExist: true})
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2)
}

func clauseMustNotExistExisting(t *testing.T, s *Store) {
	id := newStream(t, s, 2)
	err := s.AppendStream(ctx, id, numbered(1), eventstore.AppendStreamOptions{StreamMustNotExist: true})
	var vm eventstore.StreamVersionMismatchError
	if !errors.As(err, &vm) || vm.ExpectedVersion != 0 || vm.ActualVersion != 2 {
		t.Fatalf("err = %v (%+v), want a mismatch expecting 0, actual 2", err, vm)
	}
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2)
}

func clauseBothExpectations(t *testing.T, s *Store) {
	id := typeid.NewV4("contract")
	both := eventstore.AppendStreamOptions{StreamMustNotExist: true, ExpectVersion: eventstore.VersionPtr(0)}
	if err := s.AppendStream(ctx, id, numbered(1), both); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("err = %v, want ErrInvalidArgument", err)
	}
	if _, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("the refused append wrote the stream: %v", err)
	}
}

// --- the global reader --------------------------------------------------

func clauseGlobalOrder(t *testing.T, s *Store) {
	streams := interleave(t, s)
	evs := readGlobal(t, s, ReadAllOptions{})
	if len(evs) != 7 {
		t.Fatalf("read %d events, want 7", len(evs))
	}
	var last int64
	tips := map[typeid.ID]int64{}
	counts := map[typeid.ID]int{}
	for i, e := range evs {
		if e.GlobalPosition == nil || *e.GlobalPosition <= last {
			t.Fatalf("event %d: position %v, want one above %d", i, e.GlobalPosition, last)
		}
		last = *e.GlobalPosition
		if e.StreamVersion != tips[e.StreamID]+1 {
			t.Errorf("event %d: %s at version %d after %d", i, e.StreamID, e.StreamVersion, tips[e.StreamID])
		}
		tips[e.StreamID] = e.StreamVersion
		counts[e.StreamID]++
	}
	if !maps.Equal(counts, streams) {
		t.Errorf("events per stream %v, want %v", counts, streams)
	}
}

func clauseGlobalPositionsAgree(t *testing.T, s *Store) {
	streams := interleave(t, s)
	byID := map[typeid.ID]int64{}
	for _, e := range readGlobal(t, s, ReadAllOptions{}) {
		byID[e.ID] = *e.GlobalPosition
	}
	for id := range streams {
		for _, e := range readStream(t, s, id, eventstore.ReadStreamOptions{}) {
			if p, ok := byID[e.ID]; !ok || e.GlobalPosition == nil || p != *e.GlobalPosition {
				t.Errorf("%s version %d: stream read position %v, global read %d (found %v)",
					id, e.StreamVersion, e.GlobalPosition, p, ok)
			}
		}
	}
}

func clauseGlobalResumes(t *testing.T, s *Store) {
	interleave(t, s)
	full := readGlobal(t, s, ReadAllOptions{})
	for k := range full {
		after := *full[k].GlobalPosition
		if got := ids(readGlobal(t, s, ReadAllOptions{AfterPosition: after})); !slices.Equal(got, ids(full[k+1:])) {
			t.Errorf("after position %d: %v, want %v", after, got, ids(full[k+1:]))
		}
	}
}

func clauseGlobalCount(t *testing.T, s *Store) {
	interleave(t, s)
	full := readGlobal(t, s, ReadAllOptions{})
	if got := ids(readGlobal(t, s, ReadAllOptions{Count: 3})); !slices.Equal(got, ids(full[:3])) {
		t.Errorf("Count 3: %v, want %v", got, ids(full[:3]))
	}
	after := *full[1].GlobalPosition
	if got := ids(readGlobal(t, s, ReadAllOptions{AfterPosition: after, Count: 2})); !slices.Equal(got, ids(full[2:4])) {
		t.Errorf("Count 2 after position %d: %v, want %v", after, got, ids(full[2:4]))
	}
}

// racingEvents is how many events frontierRead appends while its read runs:
// one before the first Next, two midway, one after the read has ended.
const racingEvents = 4

// frontierRead opens a read, appends while it drains (racingEvents), and
// checks that it yielded exactly want and stays ended.
func frontierRead(t *testing.T, s *Store, opts ReadAllOptions, want []*eventstore.Event) {
	t.Helper()
	it, err := s.ReadAll(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close(ctx)
	late := typeid.NewV4("late")
	mustAppend(t, s, late, 1, eventstore.AppendStreamOptions{})
	var got []*eventstore.Event
	for range 2 {
		e, err := it.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, e)
	}
	mustAppend(t, s, late, 2, eventstore.AppendStreamOptions{})
	rest, err := eventstore.ReadAll(ctx, it)
	if err != nil {
		t.Fatal(err)
	}
	if got = append(got, rest...); !slices.Equal(ids(got), ids(want)) {
		t.Errorf("read %v, want exactly the events from before ReadAll returned: %v", ids(got), ids(want))
	}
	mustAppend(t, s, late, 1, eventstore.AppendStreamOptions{})
	wantEnd(t, it, "an exhausted read after another append")
}

func clauseGlobalFrontier(t *testing.T, s *Store) {
	interleave(t, s)
	before := readGlobal(t, s, ReadAllOptions{})
	frontierRead(t, s, ReadAllOptions{}, before)
	if got := len(readGlobal(t, s, ReadAllOptions{})); got != len(before)+racingEvents {
		t.Errorf("the next read has %d events, want %d: racing appends are not lost", got, len(before)+racingEvents)
	}
}

func clauseGlobalResumedFrontier(t *testing.T, s *Store) {
	interleave(t, s)
	before := readGlobal(t, s, ReadAllOptions{})
	frontierRead(t, s, ReadAllOptions{AfterPosition: *before[1].GlobalPosition}, before[2:])
}

func clauseGlobalEmptyStaysEmpty(t *testing.T, s *Store) {
	empty, err := s.ReadAll(ctx, ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close(ctx)
	newStream(t, s, 1)
	wantEnd(t, empty, "a read of an empty store after a racing append")
	newStream(t, s, 1)
	wantEnd(t, empty, "the same read after another append")

	all := readGlobal(t, s, ReadAllOptions{})
	if len(all) != 2 {
		t.Fatalf("the next read has %d events, want both racing appends", len(all))
	}
	tip := *all[1].GlobalPosition
	caughtUp, err := s.ReadAll(ctx, ReadAllOptions{AfterPosition: tip})
	if err != nil {
		t.Fatal(err)
	}
	defer caughtUp.Close(ctx)
	id := newStream(t, s, 1)
	wantEnd(t, caughtUp, "a read from the tip after a racing append")
	next := readGlobal(t, s, ReadAllOptions{AfterPosition: tip})
	if len(next) != 1 || next[0].StreamID != id {
		t.Errorf("the next poll from the tip: %v, want the one racing event of %s", ids(next), id)
	}
}

func clauseGlobalCountNotToppedUp(t *testing.T, s *Store) {
	interleave(t, s)
	before := readGlobal(t, s, ReadAllOptions{})
	eligible := before[4:]
	opts := ReadAllOptions{AfterPosition: *before[3].GlobalPosition, Count: int64(len(eligible) + 2)}
	frontierRead(t, s, opts, eligible)
}

func clauseGlobalNothingToRead(t *testing.T, s *Store) {
	if evs := readGlobal(t, s, ReadAllOptions{}); len(evs) != 0 {
		t.Errorf("an empty store read %d events", len(evs))
	}
	interleave(t, s)
	all := readGlobal(t, s, ReadAllOptions{})
	tip := *all[len(all)-1].GlobalPosition
	for _, after := range []int64{tip, tip + 100} {
		if evs := readGlobal(t, s, ReadAllOptions{AfterPosition: after}); len(evs) != 0 {
			t.Errorf("a read after position %d (tip %d) read %d events", after, tip, len(evs))
		}
	}
}

// --- the stream deleter -------------------------------------------------

func clauseDeletes(t *testing.T, s *Store) {
	gone, kept := newStream(t, s, 3), newStream(t, s, 2)
	if err := s.DeleteStream(ctx, gone, DeleteStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadStream(ctx, gone, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("reading a deleted stream: %v, want ErrStreamNotFound", err)
	}
	wantVersions(t, readStream(t, s, kept, eventstore.ReadStreamOptions{}), 1, 2)
	for _, e := range readGlobal(t, s, ReadAllOptions{}) {
		if e.StreamID == gone {
			t.Errorf("the global read still yields %s version %d", gone, e.StreamVersion)
		}
	}
}

func clauseDeleteNeverWritten(t *testing.T, s *Store) {
	if err := s.DeleteStream(ctx, typeid.NewV4("ghost"), DeleteStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("err = %v, want ErrStreamNotFound", err)
	}
	if err := s.DeleteStream(ctx, typeid.NewV4("ghost"), DeleteStreamOptions{ToVersion: 3}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("truncating: err = %v, want ErrStreamNotFound", err)
	}
}

func clauseDeletedIDReusable(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	if err := s.DeleteStream(ctx, id, DeleteStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, id, 1, eventstore.AppendStreamOptions{StreamMustNotExist: true})
	evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
	wantVersions(t, evs, 1)
	if len(evs) == 1 && !bytes.Equal(evs[0].Data, payload(0)) {
		t.Errorf("the new version 1 reads %q", evs[0].Data)
	}
}

func clauseTruncates(t *testing.T, s *Store) {
	id := newStream(t, s, 5)
	if err := s.DeleteStream(ctx, id, DeleteStreamOptions{ToVersion: 2}); err != nil {
		t.Fatal(err)
	}
	evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
	wantVersions(t, evs, 3, 4, 5)
	for i, e := range evs {
		if !bytes.Equal(e.Data, payload(i+2)) {
			t.Errorf("version %d reads %q, want %q", e.StreamVersion, e.Data, payload(i+2))
		}
	}
	// Bounds still address versions, not places in what remains.
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{AfterVersion: 4}), 5)
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{Direction: eventstore.Reverse, AfterVersion: 4}), 4, 3)
}

func clauseTruncatedEmptyKeepsTip(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	if err := s.DeleteStream(ctx, id, DeleteStreamOptions{ToVersion: 10}); err != nil {
		t.Fatal(err)
	}
	it, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
	if err != nil {
		t.Fatalf("reading a stream truncated empty: %v, want an empty iterator", err)
	}
	wantEnd(t, it, "a stream truncated empty")
	it.Close(ctx)
	mustAppend(t, s, id, 1, eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(3)})
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 4)
}

func clauseDeleteTakesSnapshots(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	if err := s.WriteSnapshot(ctx, &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: 3, Data: []byte("s")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, id, DeleteStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
		t.Errorf("snapshot of a deleted stream: %v, want ErrSnapshotNotFound", err)
	}
}

func clauseNegativeToVersion(t *testing.T, s *Store) {
	id := newStream(t, s, 3)
	if err := s.DeleteStream(ctx, id, DeleteStreamOptions{ToVersion: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("err = %v, want ErrInvalidArgument", err)
	}
	wantVersions(t, readStream(t, s, id, eventstore.ReadStreamOptions{}), 1, 2, 3)
}

// --- the snapshot store -------------------------------------------------

func writeSnapshots(t *testing.T, s *Store, id typeid.ID, versions ...int64) {
	t.Helper()
	for _, v := range versions {
		snap := &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: v, Data: fmt.Appendf(nil, "at %d", v)}
		if err := s.WriteSnapshot(ctx, snap); err != nil {
			t.Fatalf("writing a snapshot at version %d: %v", v, err)
		}
	}
}

func clauseNeverSnapshotted(t *testing.T, s *Store) {
	if _, err := s.ReadSnapshot(ctx, typeid.NewV4("agg"), snapshotstore.ReadSnapshotOptions{}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
		t.Errorf("err = %v, want ErrSnapshotNotFound", err)
	}
}

func clauseSnapshotRoundTrip(t *testing.T, s *Store) {
	id := typeid.NewV4("agg")
	ts := time.Date(2026, time.March, 9, 10, 11, 12, 13, time.UTC)
	data := []byte{'{', 0, 0xfe, '}'}
	if err := s.WriteSnapshot(ctx, &snapshotstore.AggregateSnapshot{
		AggregateID: id, AggregateVersion: 7, Timestamp: ts, Data: slices.Clone(data)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.AggregateID != id || got.AggregateVersion != 7 || !got.Timestamp.Equal(ts) || !bytes.Equal(got.Data, data) {
		t.Errorf("read %+v, want %s version 7 at %v with %q", got, id, ts, data)
	}
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

func clauseKeepsCallerSnapshot(t *testing.T, s *Store) {
	id := typeid.NewV4("agg")
	ts := time.Date(2026, time.March, 9, 0, 0, 0, 0, time.UTC)
	snap := &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: 4, Timestamp: ts, Data: []byte("state")}
	if err := s.WriteSnapshot(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if snap.AggregateID != id || snap.AggregateVersion != 4 || !snap.Timestamp.Equal(ts) || string(snap.Data) != "state" {
		t.Errorf("the caller's snapshot was changed: %+v", snap)
	}
}

func clauseNewestSnapshot(t *testing.T, s *Store) {
	id := typeid.NewV4("agg")
	writeSnapshots(t, s, id, 1, 2, 3)
	got, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{})
	if err != nil || got.AggregateVersion != 3 || string(got.Data) != "at 3" {
		t.Errorf("read %+v, %v; want version 3", got, err)
	}
}

func clauseSnapshotMaxVersion(t *testing.T, s *Store) {
	id := typeid.NewV4("agg")
	writeSnapshots(t, s, id, 2, 5, 9)
	for _, c := range []struct{ max, want int64 }{{8, 5}, {5, 5}, {9, 9}, {100, 9}, {1, 0}} {
		got, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{MaxVersion: c.max})
		switch {
		case c.want == 0:
			if !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
				t.Errorf("MaxVersion %d: %+v, %v; want ErrSnapshotNotFound", c.max, got, err)
			}
		case err != nil || got.AggregateVersion != c.want:
			t.Errorf("MaxVersion %d: %+v, %v; want version %d", c.max, got, err, c.want)
		}
	}
}

func clauseSnapshotsApart(t *testing.T, s *Store) {
	id := typeid.NewV4("agg")
	writeSnapshots(t, s, id, 1)
	for _, other := range []typeid.ID{typeid.New("aggother", id.UUID), typeid.NewV4("agg")} {
		if _, err := s.ReadSnapshot(ctx, other, snapshotstore.ReadSnapshotOptions{}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
			t.Errorf("another aggregate %s read %v, want ErrSnapshotNotFound", other, err)
		}
	}
}
