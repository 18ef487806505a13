// store_test.go: the event store, global reader, deleter and snapshot store
// against the contract written in Estoria v0.4.0's doc comments (its
// acceptance suites, eventstore/storetest, are in no version the module proxy
// serves), on memory: and on file:.

package est

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
)

var ctx = context.Background()

// backends runs f on a fresh memory store and a fresh file store.
func backends(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	for _, name := range []string{"memory", "file"} {
		t.Run(name, func(t *testing.T) {
			uri := "memory:"
			if name == "file" {
				uri = "file:" + filepath.Join(t.TempDir(), "store")
			}
			s, err := Open(uri, &Options{SyncMode: SyncNone})
			if err != nil {
				t.Fatalf("Open(%s): %v", uri, err)
			}
			t.Cleanup(func() { s.Close() })
			f(t, s)
		})
	}
}

func writable(typ string, n int) []*eventstore.WritableEvent {
	out := make([]*eventstore.WritableEvent, n)
	for i := range out {
		out[i] = &eventstore.WritableEvent{Type: typ, Data: []byte(fmt.Sprintf("%s-%d", typ, i))}
	}
	return out
}

// readAll(t)(s.ReadStream(...)) drains an iterator, failing t on an error.
func readAll(t *testing.T) func(eventstore.StreamIterator, error) []*eventstore.Event {
	return func(it eventstore.StreamIterator, err error) []*eventstore.Event {
		t.Helper()
		return drain(t, it, err)
	}
}

func drain(t *testing.T, it eventstore.StreamIterator, err error) []*eventstore.Event {
	t.Helper()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer it.Close(ctx)
	evs, err := eventstore.ReadAll(ctx, it)
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

func eq(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestAppendedEventsReadBackExactly(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("account")
		in := []*eventstore.WritableEvent{
			{Type: "opened", Data: []byte(`{"owner":"ann"}`), Metadata: map[string]string{"b": "2", "a": "1"}},
			{Type: "deposited", Data: nil},
			{Type: "deposited", Data: []byte{0, 1, 2, 0}},
		}
		before := time.Now().Add(-time.Second)
		if err := s.AppendStream(ctx, id, in, eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		evs := readAll(t)(s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}))
		if len(evs) != 3 {
			t.Fatalf("got %d events, want 3", len(evs))
		}
		var lastPos int64
		for i, e := range evs {
			if e.ID.Type != in[i].Type || !bytes.Equal(e.Data, in[i].Data) || e.StreamID != id ||
				e.StreamVersion != int64(i+1) {
				t.Errorf("event %d = %+v, want type %s data %q version %d", i, e, in[i].Type, in[i].Data, i+1)
			}
			if e.GlobalPosition == nil || *e.GlobalPosition <= lastPos {
				t.Errorf("event %d: global position %v not increasing past %d", i, e.GlobalPosition, lastPos)
			} else {
				lastPos = *e.GlobalPosition
			}
			if e.Timestamp.Before(before) || e.Timestamp.After(time.Now().Add(time.Second)) {
				t.Errorf("event %d: timestamp %v not near now", i, e.Timestamp)
			}
		}
		if got := evs[0].Metadata; len(got) != 2 || got["a"] != "1" || got["b"] != "2" {
			t.Errorf("metadata = %v", got)
		}
		if evs[1].Metadata != nil {
			t.Errorf("metadata of an event without any = %v, want nil", evs[1].Metadata)
		}
	})
}

func TestReadOfNeverWrittenStreamIsErrStreamNotFound(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		_, err := s.ReadStream(ctx, typeid.NewV4("ghost"), eventstore.ReadStreamOptions{})
		if !errors.Is(err, eventstore.ErrStreamNotFound) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrStreamNotFound and ErrNotFound", err)
		}
	})
}

func TestFilteredReadPastTheTipIsAnEmptyIterator(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if err := s.AppendStream(ctx, id, writable("e", 3), eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		it, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{AfterVersion: 3})
		if err != nil {
			t.Fatalf("ReadStream past the tip: %v (want an empty iterator)", err)
		}
		defer it.Close(ctx)
		for i := 0; i < 2; i++ { // EST_END repeats
			if _, err := it.Next(ctx); !errors.Is(err, eventstore.ErrEndOfEventStream) {
				t.Fatalf("Next #%d = %v, want ErrEndOfEventStream", i, err)
			}
		}
	})
}

func TestReadOptionsBoundDirectionAndCount(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if err := s.AppendStream(ctx, id, writable("e", 5), eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			opts eventstore.ReadStreamOptions
			want []int64
		}{
			{eventstore.ReadStreamOptions{AfterVersion: 2}, []int64{3, 4, 5}},
			{eventstore.ReadStreamOptions{AfterVersion: 1, Count: 2}, []int64{2, 3}},
			{eventstore.ReadStreamOptions{Direction: eventstore.Reverse}, []int64{5, 4, 3, 2, 1}},
			{eventstore.ReadStreamOptions{Direction: eventstore.Reverse, AfterVersion: 3}, []int64{3, 2, 1}},
			{eventstore.ReadStreamOptions{Direction: eventstore.Reverse, AfterVersion: 9, Count: 2}, []int64{5, 4}},
		}
		for _, c := range cases {
			if got := versions(readAll(t)(s.ReadStream(ctx, id, c.opts))); !eq(got, c.want) {
				t.Errorf("%+v: versions %v, want %v", c.opts, got, c.want)
			}
		}
		if _, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{AfterVersion: -1}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("negative AfterVersion: err = %v, want ErrInvalidArgument", err)
		}
	})
}

func TestExpectVersionMismatchReportsBothVersionsAndWritesNothing(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if err := s.AppendStream(ctx, id, writable("e", 2), eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(0)}); err != nil {
			t.Fatal(err)
		}
		err := s.AppendStream(ctx, id, writable("x", 1), eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(1)})
		var vm eventstore.StreamVersionMismatchError
		if !errors.Is(err, eventstore.StreamVersionMismatchError{}) || !errors.As(err, &vm) {
			t.Fatalf("err = %v, want StreamVersionMismatchError", err)
		}
		if vm.ExpectedVersion != 1 || vm.ActualVersion != 2 || vm.StreamID != id {
			t.Errorf("mismatch = %+v, want expected 1 actual 2 on %s", vm, id)
		}
		if err := s.AppendStream(ctx, id, writable("e", 1), eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(2)}); err != nil {
			t.Errorf("append at the right version: %v", err)
		}
		if got := versions(readAll(t)(s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}))); !eq(got, []int64{1, 2, 3}) {
			t.Errorf("versions after the failed append: %v", got)
		}
	})
}

func TestStreamMustNotExist(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		must := eventstore.AppendStreamOptions{StreamMustNotExist: true}
		if err := s.AppendStream(ctx, id, writable("e", 1), must); err != nil {
			t.Fatalf("first append: %v", err)
		}
		var vm eventstore.StreamVersionMismatchError
		if err := s.AppendStream(ctx, id, writable("e", 1), must); !errors.As(err, &vm) || vm.ExpectedVersion != 0 || vm.ActualVersion != 1 {
			t.Fatalf("second append: err = %v (%+v), want mismatch expected 0 actual 1", err, vm)
		}
		both := eventstore.AppendStreamOptions{StreamMustNotExist: true, ExpectVersion: eventstore.VersionPtr(1)}
		if err := s.AppendStream(ctx, id, writable("e", 1), both); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("both expectations: err = %v, want ErrInvalidArgument", err)
		}
	})
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		bad := map[string][]*eventstore.WritableEvent{
			"empty batch":     {},
			"nil event":       {nil},
			"NUL in type":     {{Type: "a\x00b"}},
			"bad type name":   {{Type: "_x"}},
			"reserved key":    {{Type: "ok", Metadata: map[string]string{"estoria.x": "1"}}},
			"NUL in metadata": {{Type: "ok", Metadata: map[string]string{"k": "v\x00"}}},
			"one bad of two":  {{Type: "ok"}, {Type: ""}},
		}
		for name, evs := range bad {
			if err := s.AppendStream(ctx, id, evs, eventstore.AppendStreamOptions{}); !errors.Is(err, ErrInvalidArgument) {
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
			if err := s.AppendStream(ctx, id, writable("e", k), eventstore.AppendStreamOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		evs := readAll(t)(s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}))
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

func TestReadAllIsInGlobalOrderAndMatchesStreamPositions(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		a, b := typeid.NewV4("a"), typeid.NewV4("b")
		for i := 0; i < 3; i++ {
			for _, id := range []typeid.ID{a, b} {
				if err := s.AppendStream(ctx, id, writable("e", 2), eventstore.AppendStreamOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		all := readAll(t)(s.ReadAll(ctx, ReadAllOptions{}))
		if len(all) != 12 {
			t.Fatalf("ReadAll gave %d events, want 12", len(all))
		}
		pos := map[string]int64{}
		for i, e := range all {
			if i > 0 && *e.GlobalPosition <= *all[i-1].GlobalPosition {
				t.Fatalf("positions not ascending at %d", i)
			}
			pos[fmt.Sprint(e.StreamID, e.StreamVersion)] = *e.GlobalPosition
		}
		for _, e := range readAll(t)(s.ReadStream(ctx, a, eventstore.ReadStreamOptions{})) {
			if pos[fmt.Sprint(e.StreamID, e.StreamVersion)] != *e.GlobalPosition {
				t.Errorf("%s v%d: stream read position %d, global read %d", e.StreamID, e.StreamVersion,
					*e.GlobalPosition, pos[fmt.Sprint(e.StreamID, e.StreamVersion)])
			}
		}
		page := readAll(t)(s.ReadAll(ctx, ReadAllOptions{AfterPosition: *all[4].GlobalPosition, Count: 3}))
		if len(page) != 3 || *page[0].GlobalPosition != *all[5].GlobalPosition {
			t.Errorf("page after position %d: %d events", *all[4].GlobalPosition, len(page))
		}
	})
}

func TestDeleteAndTruncate(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if err := s.AppendStream(ctx, id, writable("e", 5), eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.TruncateStream(ctx, id, 3); err != nil {
			t.Fatal(err)
		}
		if got := versions(readAll(t)(s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}))); !eq(got, []int64{4, 5}) {
			t.Errorf("after truncation to 3: %v", got)
		}
		if err := s.TruncateStream(ctx, id, 9); err != nil {
			t.Fatal(err)
		}
		// Emptied, the stream keeps its tip: the next append is version 6.
		if err := s.AppendStream(ctx, id, writable("e", 1), eventstore.AppendStreamOptions{ExpectVersion: eventstore.VersionPtr(5)}); err != nil {
			t.Errorf("append after emptying: %v", err)
		}
		if err := s.DeleteStream(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("read after delete: %v", err)
		}
		if err := s.DeleteStream(ctx, typeid.NewV4("ghost")); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("delete of a stream never written: %v", err)
		}
		if err := s.AppendStream(ctx, id, writable("e", 1), eventstore.AppendStreamOptions{StreamMustNotExist: true}); err != nil {
			t.Errorf("a deleted ID is reusable from version 1: %v", err)
		}
	})
}

func TestSnapshotsNewestAtOrBelowMaxVersion(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("agg")
		if _, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
			t.Fatalf("no snapshot: err = %v, want ErrSnapshotNotFound", err)
		}
		ts := time.Unix(1700000000, 123)
		for _, v := range []int64{2, 5, 9} {
			snap := &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: v, Timestamp: ts, Data: []byte(fmt.Sprint("v", v))}
			if err := s.WriteSnapshot(ctx, snap); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{})
		if err != nil || got.AggregateVersion != 9 || string(got.Data) != "v9" || !got.Timestamp.Equal(ts) || got.AggregateID != id {
			t.Errorf("newest = %+v, %v", got, err)
		}
		got, err = s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{MaxVersion: 8})
		if err != nil || got.AggregateVersion != 5 {
			t.Errorf("at or below 8 = %+v, %v", got, err)
		}
		if _, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{MaxVersion: 1}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
			t.Errorf("below the oldest: %v", err)
		}
		if err := s.PruneSnapshots(ctx, id, 1, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadSnapshot(ctx, id, snapshotstore.ReadSnapshotOptions{MaxVersion: 8}); !errors.Is(err, snapshotstore.ErrSnapshotNotFound) {
			t.Errorf("after keeping the last one, version 5 remains: %v", err)
		}
		if err := s.WriteSnapshot(ctx, &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: 0}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("version 0: %v", err)
		}
	})
}

func TestCanceledContextStopsCalls(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if err := s.AppendStream(ctx, id, writable("e", 3), eventstore.AppendStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		it, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close(ctx)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.AppendStream(cctx, id, writable("e", 1), eventstore.AppendStreamOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("append: %v", err)
		}
		if _, err := s.ReadStream(cctx, id, eventstore.ReadStreamOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("read: %v", err)
		}
		if _, err := it.Next(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("next: %v", err)
		}
		if got := versions(readAll(t)(s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}))); !eq(got, []int64{1, 2, 3}) {
			t.Errorf("the canceled append wrote: %v", got)
		}
	})
}

func TestClosedStoreAndIteratorsEndInErrors(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		id := typeid.NewV4("s")
		if err := s.AppendStream(ctx, id, writable("e", 600), eventstore.AppendStreamOptions{}); err != nil {
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
			"append":   s.AppendStream(ctx, id, writable("e", 1), eventstore.AppendStreamOptions{}),
			"delete":   s.DeleteStream(ctx, id),
			"snapshot": s.WriteSnapshot(ctx, &snapshotstore.AggregateSnapshot{AggregateID: id, AggregateVersion: 1}),
			"sync":     s.Sync(ctx),
		}
		_, checks["read"] = s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		_, checks["read all"] = s.ReadAll(ctx, ReadAllOptions{})
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
	if err := s.AppendStream(ctx, id, writable("e", 4), eventstore.AppendStreamOptions{}); err != nil {
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
	if got := versions(readAll(t)(s.ReadStream(ctx, id, eventstore.ReadStreamOptions{}))); !eq(got, []int64{1, 2, 3, 4}) {
		t.Errorf("after reopen: %v", got)
	}
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
					err = s.AppendStream(ctx, typeid.NewV4("s"), []*eventstore.WritableEvent{{Type: "_" + typ}}, eventstore.AppendStreamOptions{})
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
