// admin_test.go: the operator calls (Sync, Stats, Verify, Compact with
// progress, ListStreams, the log handler) and misuse that must end in an
// error, never a crash or a hang: calls on a closed store, a store closed or
// an aggregate freed from inside its own callback, a panicking progress
// callback, a canceled context, a compaction ended by its context.

package est

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

func TestSyncStatsAndVerify(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		a, b := typeid.NewV4("acct"), typeid.NewV4("acct")
		mustAppend(t, s, a, 3, eventstore.AppendStreamOptions{})
		mustAppend(t, s, b, 2, eventstore.AppendStreamOptions{})
		writeSnapshots(t, s, a, 3)
		if err := s.Sync(ctx); err != nil {
			t.Fatalf("sync: %v", err)
		}
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.Events != 5 || st.Streams != 2 || st.Snapshots != 1 || st.LastPosition < 5 {
			t.Errorf("stats %+v: want 5 events, 2 streams, 1 snapshot, last position >= 5", st)
		}
		var seen [][2]uint64
		rep, err := s.Verify(ctx, func(done, total uint64) { seen = append(seen, [2]uint64{done, total}) })
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if st.Segments > 0 {
			if rep.Events < 5 || len(seen) == 0 || seen[len(seen)-1][0] != seen[len(seen)-1][1] {
				t.Errorf("verify report %+v, progress %v", rep, seen)
			}
		}
		if _, err := s.Verify(ctx, nil); err != nil {
			t.Errorf("verify without progress: %v", err)
		}
	})
}

func TestCompactReclaimsDeletedEventsAndKeepsTheRest(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		gone, kept := typeid.NewV4("o"), typeid.NewV4("o")
		for range 4 {
			mustAppend(t, s, gone, 3, eventstore.AppendStreamOptions{})
			mustAppend(t, s, kept, 2, eventstore.AppendStreamOptions{})
		}
		if err := s.DeleteStream(ctx, gone, eventstore.DeleteStreamOptions{}); err != nil {
			t.Fatal(err)
		}
		st, _ := s.Stats()
		var calls int
		rep, err := s.Compact(ctx, func(done, total uint64) { calls++ })
		switch {
		case st.Segments == 0 && errors.Is(err, ErrUnsupported):
			// memory and PostgreSQL reclaim in place
		case err != nil:
			t.Fatalf("compact: %v", err)
		case st.Segments > 0 && (rep.EventsDropped != 12 || rep.EventsKept != 8 || calls == 0):
			t.Errorf("compact report %+v after %d progress calls: want 12 dropped, 8 kept", rep, calls)
		}
		if n := len(readStream(t, s, kept, eventstore.ReadStreamOptions{})); n != 8 {
			t.Errorf("kept stream has %d events, want 8", n)
		}
		if _, err := s.ReadStream(ctx, gone, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("deleted stream: %v", err)
		}
	})
}

func TestListStreamsPagesInIDOrder(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		var want []string
		for i := range 300 {
			id := typeid.NewV4("list")
			mustAppend(t, s, id, 1+i%2, eventstore.AppendStreamOptions{})
			want = append(want, id.String())
		}
		slices.Sort(want)
		all, err := s.ListStreams(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, info := range all {
			got = append(got, info.ID)
			if info.Version < 1 || info.Events != info.Version {
				t.Errorf("%+v: want a version of 1 or 2 and as many events", info)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("listed %d streams, want the %d written in ID order", len(got), len(want))
		}
		page, err := s.ListStreams(ctx, want[9], 5)
		if err != nil || len(page) != 5 || page[0].ID != want[10] {
			t.Errorf("a page after the 10th: %+v, %v", page, err)
		}
		if _, err := s.ListStreams(ctx, "", -1); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("negative limit: %v", err)
		}
	})
}

func TestLogHandlerHearsAfterHookErrors(t *testing.T) {
	var mu sync.Mutex
	var heard []string
	SetLogHandler(func(level LogLevel, message string) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, fmt.Sprintf("%d %s", level, message))
	})
	defer SetLogHandler(nil)
	s := openBackend(t, "memory")
	as, err := NewAggregateStore(s, tallyType(false), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer as.Free()
	if err := as.AddHook(HookAfterSave, func(*HookContext, string, int64) error {
		return errors.New("audit trail unreachable")
	}); err != nil {
		t.Fatal(err)
	}
	g, _ := as.New(nil)
	defer g.Free()
	add(t, g, 1)
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(heard, func(m string) bool { return strings.Contains(m, "audit trail unreachable") }) {
		t.Errorf("the log handler heard %q; want the after-save hook's error", heard)
	}
}

func TestMisuseEndsInErrorsNotCrashes(t *testing.T) {
	t.Run("closed store", func(t *testing.T) {
		s := openBackend(t, "file")
		s.Close()
		checks := map[string]error{"sync": s.Sync(ctx)}
		_, checks["stats"] = s.Stats()
		_, checks["verify"] = s.Verify(ctx, nil)
		_, checks["compact"] = s.Compact(ctx, nil)
		_, checks["list"] = s.ListStreams(ctx, "", 0)
		_, checks["restore"] = s.Restore(ctx, typeid.NewV4("x"), []*eventstore.Event{{ID: typeid.NewV4("e")}}, RestoreOptions{})
		_, checks["aggregate store"] = NewAggregateStore(s, tallyType(false), nil)
		for name, err := range checks {
			if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s on a closed store: %v, want ErrClosed", name, err)
			}
		}
		if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
			t.Errorf("stats: %v, want ErrClosed", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		s := openBackend(t, "memory")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		checks := map[string]error{"sync": s.Sync(cctx),
			"delete": s.DeleteStream(cctx, typeid.NewV4("x"), eventstore.DeleteStreamOptions{})}
		_, checks["verify"] = s.Verify(cctx, nil)
		_, checks["compact"] = s.Compact(cctx, nil)
		_, checks["list"] = s.ListStreams(cctx, "", 0)
		_, checks["read all"] = s.ReadAll(cctx, eventstore.ReadAllOptions{})
		as, _ := NewAggregateStore(s, tallyType(false), nil)
		defer as.Free()
		_, checks["load"] = as.Load(cctx, uuid.Must(uuid.NewV7()), 0)
		for name, err := range checks {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a canceled context: %v, want context.Canceled", name, err)
			}
		}
	})
	t.Run("store closed from its own progress callback", func(t *testing.T) {
		s := openBackend(t, "file")
		mustAppend(t, s, typeid.NewV4("x"), 3, eventstore.AppendStreamOptions{})
		if _, err := s.Verify(ctx, func(uint64, uint64) { s.Close() }); err != nil {
			t.Errorf("verify: %v", err)
		}
		if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
			t.Errorf("after the deferred close: %v, want ErrClosed", err)
		}
	})
	t.Run("panicking progress callback", func(t *testing.T) {
		s := openBackend(t, "file")
		mustAppend(t, s, typeid.NewV4("x"), 3, eventstore.AppendStreamOptions{})
		if _, err := s.Verify(ctx, func(uint64, uint64) { panic("progress panics") }); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
	t.Run("store closed and handles freed from inside callbacks", func(t *testing.T) {
		s := openBackend(t, "memory")
		var as *AggregateStore[tally]
		typ := tallyType(false)
		typ.New = func(id uuid.UUID) (tally, error) {
			as.Free()
			return tally{ID: id}, nil
		}
		as, _ = NewAggregateStore(s, typ, nil)
		g, err := as.New(nil)
		if err != nil {
			t.Fatalf("new: %v", err)
		}
		if _, err := as.New(nil); !errors.Is(err, ErrClosed) {
			t.Errorf("new after a Free from inside new: %v, want ErrClosed", err)
		}
		var self *Aggregate[tally]
		typ2 := tallyType(false)
		typ2.Name = "selfish"
		typ2.Apply = func(st tally, _ *eventstore.Event) (tally, error) {
			self.Free()
			s.Close()
			return st, nil
		}
		as2, _ := NewAggregateStore(s, typ2, nil)
		defer as2.Free()
		self, _ = as2.New(nil)
		self.Append("added", []byte("1"), nil)
		if err := self.Save(ctx); err != nil {
			t.Errorf("save whose apply frees the aggregate and closes the store: %v", err)
		}
		if err := self.Append("added", []byte("1"), nil); !errors.Is(err, ErrClosed) {
			t.Errorf("the aggregate after its deferred free: %v, want ErrClosed", err)
		}
		if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
			t.Errorf("the store after its deferred close: %v, want ErrClosed", err)
		}
		g.Free()
	})
	t.Run("handles freed by the collector in any order", func(t *testing.T) {
		for i := range 20 {
			s, err := Open("file:"+filepath.Join(t.TempDir(), "s"), nil)
			if err != nil {
				t.Fatal(err)
			}
			id := typeid.NewV4("x")
			mustAppend(t, s, id, 2, eventstore.AppendStreamOptions{})
			it, _ := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
			as, _ := NewAggregateStore(s, tallyType(true), &AggregateStoreOptions{CacheCapacity: 2})
			g, _ := as.New(nil)
			switch i % 3 {
			case 0:
				s.Close()
				as.Free()
				it.Close(ctx)
				g.Free()
			case 1:
				g.Free()
				it.Close(ctx)
				as.Free()
				s.Close()
			default: // left to finalizers
			}
		}
	})
}

// A compaction stops when its context ends: ErrCancelled and the context's
// error, the store as it was.
func TestCompactStopsWhenItsContextEnds(t *testing.T) {
	s, err := Open("file:"+filepath.Join(t.TempDir(), "store")+"?segment_bytes=8192", &Options{SyncMode: SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gone, kept := typeid.NewV4("o"), typeid.NewV4("o")
	for range 100 {
		mustAppend(t, s, gone, 3, eventstore.AppendStreamOptions{})
		mustAppend(t, s, kept, 2, eventstore.AppendStreamOptions{})
	}
	if err := s.DeleteStream(ctx, gone, eventstore.DeleteStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = s.Compact(cctx, func(done, total uint64) {
		if cctx.Err() == nil {
			cancel()
			time.Sleep(100 * time.Millisecond) // the cancel lands while the compaction runs
		}
	})
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Compact: %v, want ErrCancelled and context.Canceled", err)
	}
	if n := len(readStream(t, s, kept, eventstore.ReadStreamOptions{})); n != 200 {
		t.Errorf("kept stream has %d events, want 200", n)
	}
	if rep, err := s.Compact(ctx, nil); err != nil || rep.EventsDropped != 300 {
		t.Fatalf("a compaction afterwards: %+v, %v; want the 300 deleted events dropped then", rep, err)
	}
}
