// aggregate_test.go: the direct aggregate API (est_aggregate_*) with Go
// callbacks: folds, snapshots, the cache, conflicts, errors and panics in
// callbacks, and use after free.

package est

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-estoria/estoria/aggregatestore"
	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

// tally is a test state: the sum of "added" amounts and how many were folded.
type tally struct {
	ID    uuid.UUID
	Sum   int
	Folds int
}

func tallyType(codec bool) AggregateType[tally] {
	t := AggregateType[tally]{
		Name: "tally",
		New:  func(id uuid.UUID) (tally, error) { return tally{ID: id}, nil },
		Apply: func(s tally, ev *eventstore.Event) (tally, error) {
			switch ev.ID.Type {
			case "added":
				n, err := strconv.Atoi(string(ev.Data))
				if err != nil {
					return s, err
				}
				s.Sum += n
			case "panics":
				panic("apply was told to panic")
			case "fails":
				return s, errors.New("apply refuses this event")
			}
			s.Folds++
			return s, nil
		},
	}
	if codec {
		t.Encode = func(s tally) ([]byte, error) {
			return []byte(strconv.Itoa(s.Sum)), nil
		}
		t.Decode = func(b []byte) (tally, error) {
			n, err := strconv.Atoi(string(b))
			return tally{Sum: n}, err
		}
		t.SnapshotContentType = "text/plain"
	}
	return t
}

func add(t *testing.T, g *Aggregate[tally], amounts ...int) {
	t.Helper()
	for _, n := range amounts {
		if err := g.Append("added", []byte(strconv.Itoa(n)), map[string]string{"by": "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Save(ctx); err != nil {
		t.Fatalf("save: %v", err)
	}
}

func TestAggregateSaveThenLoadFoldsTheEvents(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		as, err := NewAggregateStore(s, tallyType(false), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer as.Free()
		g, err := as.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Free()
		add(t, g, 1, 2, 3)
		if g.Version() != 3 || g.State().Sum != 6 || g.Pending() != 0 {
			t.Errorf("after save: version %d state %+v pending %d", g.Version(), g.State(), g.Pending())
		}
		id := g.ID()
		if id.Type != "tally" {
			t.Errorf("ID %v", id)
		}
		h, err := as.Load(ctx, id.UUID, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Free()
		if h.Version() != 3 || h.State().Sum != 6 || h.State().ID != id.UUID {
			t.Errorf("loaded: version %d state %+v", h.Version(), h.State())
		}
		old, err := as.Load(ctx, id.UUID, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer old.Free()
		if old.State().Sum != 3 {
			t.Errorf("at version 2: %+v", old.State())
		}
		// The events went through the event store with their metadata.
		evs := readStream(t, s, id, eventstore.ReadStreamOptions{})
		if len(evs) != 3 || evs[0].Metadata["by"] != "test" {
			t.Errorf("stream: %d events, metadata %v", len(evs), evs[0].Metadata)
		}
		if _, err := as.Load(ctx, uuid.Must(uuid.NewV4()), 0); !errors.Is(err, aggregatestore.ErrAggregateNotFound) || !errors.Is(err, ErrNotFound) {
			t.Errorf("load of an aggregate never written: %v", err)
		}
	})
}

func TestAggregateSnapshotsAndCacheUseTheCodec(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		if _, err := NewAggregateStore(s, tallyType(false), &AggregateStoreOptions{SnapshotEvery: 2}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("snapshots without a codec: %v, want ErrInvalidArgument", err)
		}
		as, err := NewAggregateStore(s, tallyType(true), &AggregateStoreOptions{SnapshotEvery: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer as.Free()
		g, _ := as.New(nil)
		defer g.Free()
		add(t, g, 10, 20)
		add(t, g, 5)
		h, err := as.Load(ctx, g.ID().UUID, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Free()
		// From the snapshot at 2 (Sum 30, Folds 0 after decode) plus one fold.
		if h.State().Sum != 35 || h.State().Folds != 1 {
			t.Errorf("loaded from a snapshot: %+v", h.State())
		}
		st, err := as.Stats()
		if err != nil || st.SnapshotsWritten != 1 || st.SnapshotsUsed != 1 {
			t.Errorf("stats %+v, %v", st, err)
		}
	})
}

func TestStaleAggregateSaveIsAVersionMismatch(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		as, _ := NewAggregateStore(s, tallyType(false), nil)
		defer as.Free()
		g, _ := as.New(nil)
		defer g.Free()
		add(t, g, 1)
		a, _ := as.Load(ctx, g.ID().UUID, 0)
		defer a.Free()
		b, _ := as.Load(ctx, g.ID().UUID, 0)
		defer b.Free()
		add(t, a, 2)
		b.Append("added", []byte("3"), nil)
		var vm eventstore.StreamVersionMismatchError
		if err := b.Save(ctx); !errors.As(err, &vm) || vm.ExpectedVersion != 1 || vm.ActualVersion != 2 || vm.StreamID != g.ID() {
			t.Fatalf("stale save: %v (%+v)", err, vm)
		}
		if b.Pending() != 1 {
			t.Errorf("the stale aggregate lost its queue: %d pending", b.Pending())
		}
	})
}

func TestCallbackErrorsAndPanicsBecomeErrors(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		as, _ := NewAggregateStore(s, tallyType(false), nil)
		defer as.Free()
		for _, typ := range []string{"fails", "panics"} {
			g, _ := as.New(nil)
			g.Append(typ, nil, nil)
			err := g.Save(ctx)
			if !errors.Is(err, ErrAppliedPartially) {
				t.Errorf("%s in apply during save: %v, want ErrAppliedPartially", typ, err)
			}
			want := map[string]string{"fails": "apply refuses this event", "panics": "apply was told to panic"}[typ]
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message %v lacks %q", typ, err, want)
			}
			if _, err := as.Load(ctx, g.ID().UUID, 0); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s in apply during load: %v", typ, err)
			}
			g.Free()
		}
		panicky := tallyType(false)
		panicky.New = func(uuid.UUID) (tally, error) { panic("new was told to panic") }
		ps, _ := NewAggregateStore(s, panicky, nil)
		defer ps.Free()
		if _, err := ps.New(nil); !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "new was told to panic") {
			t.Errorf("panic in new: %v", err)
		}
	})
}

func TestFreedAndClosedHandlesEndInErrors(t *testing.T) {
	s, err := Open("memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	as, _ := NewAggregateStore(s, tallyType(true), &AggregateStoreOptions{CacheCapacity: 4})
	g, _ := as.New(nil)
	add(t, g, 4)
	live, _ := as.Load(ctx, g.ID().UUID, 0)
	g.Free()
	g.Free()
	if err := g.Append("added", []byte("1"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("append on a freed aggregate: %v", err)
	}
	if err := g.Save(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("save on a freed aggregate: %v", err)
	}
	if g.Version() != 0 || g.State() != (tally{}) {
		t.Errorf("a freed aggregate reports version %d state %+v", g.Version(), g.State())
	}
	// The store goes first; the aggregate outlives it and its calls fail.
	s.Close()
	if _, err := as.Load(ctx, live.ID().UUID, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("load after the store closed: %v", err)
	}
	live.Append("added", []byte("1"), nil)
	if err := live.Save(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("save after the store closed: %v", err)
	}
	as.Free()
	if _, err := as.New(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("new on a freed aggregate store: %v", err)
	}
	if live.State().Sum != 4 {
		t.Errorf("an aggregate outliving its store lost its state: %+v", live.State())
	}
	live.Free()
	if _, err := NewAggregateStore(s, tallyType(false), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("aggregate store on a closed store: %v", err)
	}
}

func TestHooksRunAddMetadataAndCanVeto(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		as, err := NewAggregateStore(s, tallyType(false), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer as.Free()
		var calls []string
		var kept *HookContext
		var reservedErr error
		if err := as.AddHook(HookBeforeSave, func(hc *HookContext, id string, version int64) error {
			calls = append(calls, "before-save "+strconv.FormatInt(version, 10))
			kept = hc
			reservedErr = hc.AddMetadata("estoria.trace", "x")
			return hc.AddMetadata("audit", "hook")
		}); err != nil {
			t.Fatal(err)
		}
		if err := as.AddHook(HookAfterSave, func(hc *HookContext, id string, version int64) error {
			calls = append(calls, "after-save "+strconv.FormatInt(version, 10))
			if err := hc.AddMetadata("late", "x"); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("metadata from an after-save hook: %v, want ErrInvalidArgument", err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := as.AddHook(HookBeforeLoad, func(hc *HookContext, id string, version int64) error {
			calls = append(calls, "before-load")
			if strings.Contains(id, "00000000-0000-0000-0000-000000000000") {
				return errorf("hook", StatusNotFound, "vetoed by the hook")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		g, _ := as.New(nil)
		defer g.Free()
		add(t, g, 2, 3)
		if !errors.Is(reservedErr, ErrInvalidArgument) || !strings.Contains(reservedErr.Error(), "reserved") {
			t.Errorf("a hook adding an estoria. key: %v, want ErrInvalidArgument naming the reservation", reservedErr)
		}
		if err := kept.AddMetadata("k", "v"); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("a hook context kept past its call: %v, want ErrInvalidArgument", err)
		}
		evs := readStream(t, s, g.ID(), eventstore.ReadStreamOptions{})
		for _, e := range evs {
			if e.Metadata["audit"] != "hook" || e.Metadata["by"] != "test" || e.Metadata["estoria.trace"] != "" {
				t.Errorf("event metadata %v: want the hook's and the event's own, no estoria. key", e.Metadata)
			}
		}
		if _, err := as.Load(ctx, g.ID().UUID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := as.Load(ctx, uuid.Nil, 0); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "vetoed by the hook") {
			t.Errorf("a vetoing before-load hook: %v", err)
		}
		want := []string{"before-save 0", "after-save 2", "before-load", "before-load"}
		if strings.Join(calls, ",") != strings.Join(want, ",") {
			t.Errorf("hook calls %v, want %v", calls, want)
		}
		if err := as.AddHook(HookStage(9), func(*HookContext, string, int64) error { return nil }); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("an unknown stage: %v", err)
		}
	})
}

// Estoria reserves "estoria." keys for its own components: the event store
// accepts them, the aggregate layer refuses them from user code.
func TestAggregateSaveRefusesReservedMetadataKeys(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		as, _ := NewAggregateStore(s, tallyType(false), nil)
		defer as.Free()
		g, _ := as.New(nil)
		defer g.Free()
		if err := g.Append("added", []byte("1"), map[string]string{"estoria.version": "7"}); err != nil {
			t.Fatal(err)
		}
		err := g.Save(ctx)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("save: %v, want ErrInvalidArgument naming the reserved key", err)
		}
		if _, err := s.ReadStream(ctx, g.ID(), eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("the refused save wrote something: %v", err)
		}
	})
}

// Reads and loads as of a time stop at the first event stamped later, also
// when stamps go back (doc/data-model.md, "Reads as of a time").
func TestReadsAndLoadAtStopAtTheFirstEventStampedLater(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		as, err := NewAggregateStore(s, tallyType(false), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer as.Free()
		t0 := time.Unix(1_700_000_000, 0)
		at := func(k int) time.Time { return t0.Add(time.Duration(k) * time.Microsecond) }
		u, _ := uuid.NewV7()
		id := typeid.New("tally", u)
		// Event 2 is stamped after event 3: as of at(2) only event 1 counts.
		var evs []*eventstore.Event
		for i, k := range []int{1, 3, 2, 4} {
			evs = append(evs, &eventstore.Event{ID: typeid.NewV4("added"), Timestamp: at(k), Data: []byte(strconv.Itoa(1 << i))})
		}
		if _, err := s.Restore(ctx, id, evs, RestoreOptions{}); err != nil {
			t.Fatal(err)
		}
		read := func(asOf time.Time) []*eventstore.Event {
			it, err := s.ReadStreamAsOf(ctx, id, eventstore.ReadStreamOptions{}, asOf)
			return drain(t, it, err)
		}
		wantVersions(t, read(at(2)), 1)
		wantVersions(t, read(at(3)), 1, 2, 3)
		wantVersions(t, read(time.Time{}), 1, 2, 3, 4)
		all, err := s.ReadAllAsOf(ctx, eventstore.ReadAllOptions{}, at(3))
		if got := drain(t, all, err); len(got) != 3 {
			t.Errorf("read all as of at(3): %d events, want 3", len(got))
		}
		g, err := as.LoadAt(ctx, u, at(2))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Free()
		if g.Version() != 1 || g.State().Sum != 1 {
			t.Errorf("as of at(2): version %d state %+v", g.Version(), g.State())
		}
		h, err := as.LoadAt(ctx, u, at(3))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Free()
		if h.Version() != 3 || h.State().Sum != 7 {
			t.Errorf("as of at(3): version %d state %+v", h.Version(), h.State())
		}
		if _, err := as.LoadAt(ctx, u, t0); !errors.Is(err, aggregatestore.ErrAggregateNotFound) {
			t.Errorf("before the first event: %v", err)
		}
		if _, err := as.LoadAt(ctx, u, time.Time{}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("the zero time: %v", err)
		}
	})
}
