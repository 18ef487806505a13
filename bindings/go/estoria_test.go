// estoria_test.go: Estoria v0.12.0's own aggregate stores and projections,
// unchanged, end to end over the binding on every backend: the whole
// aggregate store chain (EventSourcedStore, SnapshottingStore, CachedStore,
// HookableStore) with snapshots kept by *Store itself or by Estoria's
// event-stream snapshot store on *Store, and the projection processor and
// fold over *Store's ReadAll. The domain and the assertions follow Estoria's
// own end-to-end test of the chain.

package est

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-estoria/estoria"
	"github.com/go-estoria/estoria/aggregatestore"
	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/projection"
	checkpointmemory "github.com/go-estoria/estoria/projection/checkpointstore/memory"
	"github.com/go-estoria/estoria/projection/processor"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/snapshotstore/eventstream"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

type account struct {
	ID      typeid.ID
	Balance int
}

func newAccount(id uuid.UUID) account { return account{ID: typeid.New("account", id)} }

type fundsDeposited struct{ Amount int }

func (fundsDeposited) EventType() string                 { return "fundsdeposited" }
func (fundsDeposited) New() estoria.DomainEvent[account] { return &fundsDeposited{} }
func (e fundsDeposited) ApplyTo(a account) account {
	a.Balance += e.Amount
	return a
}

type fundsWithdrawn struct{ Amount int }

func (fundsWithdrawn) EventType() string                 { return "fundswithdrawn" }
func (fundsWithdrawn) New() estoria.DomainEvent[account] { return &fundsWithdrawn{} }
func (e fundsWithdrawn) ApplyTo(a account) account {
	a.Balance -= e.Amount
	return a
}

// mapCache is an aggregatestore.AggregateCache in a map.
type mapCache struct {
	mu      sync.Mutex
	entries map[string]aggregatestore.CachedAggregate[account]
}

func (c *mapCache) GetAggregate(_ context.Context, id typeid.ID) (*aggregatestore.CachedAggregate[account], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	entry, ok := c.entries[id.String()]
	if !ok {
		return nil, nil //nolint:nilnil // a miss is a nil entry and a nil error
	}
	return &entry, nil
}

func (c *mapCache) PutAggregate(_ context.Context, id typeid.ID, entry aggregatestore.CachedAggregate[account]) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]aggregatestore.CachedAggregate[account]{}
	}
	c.entries[id.String()] = entry
	return nil
}

type hookCounts struct{ beforeLoad, afterLoad, beforeSave, afterSave int }

// chain composes Estoria's aggregate stores over s, with snapshots in snaps
// every 3 events.
func chain(t *testing.T, s *Store, snaps snapshotstore.SnapshotStore, counts *hookCounts) *aggregatestore.HookableStore[account] {
	t.Helper()
	eventSourced, err := aggregatestore.New(s, "account", newAccount,
		aggregatestore.WithEventTypes[account](fundsDeposited{}, fundsWithdrawn{}))
	if err != nil {
		t.Fatal(err)
	}
	snapshotting, err := aggregatestore.NewSnapshottingStore(eventSourced, snaps, snapshotstore.EventCountSnapshotPolicy{N: 3})
	if err != nil {
		t.Fatal(err)
	}
	cached, err := aggregatestore.NewCachedStore(snapshotting, &mapCache{})
	if err != nil {
		t.Fatal(err)
	}
	hookable, err := aggregatestore.NewHookableStore(cached)
	if err != nil {
		t.Fatal(err)
	}
	hookable.BeforeLoad(func(context.Context, uuid.UUID) error { counts.beforeLoad++; return nil })
	hookable.AfterLoad(func(context.Context, *aggregatestore.Aggregate[account]) error { counts.afterLoad++; return nil })
	hookable.BeforeSave(func(context.Context, *aggregatestore.Aggregate[account]) error { counts.beforeSave++; return nil })
	hookable.AfterSave(func(context.Context, *aggregatestore.Aggregate[account]) error { counts.afterSave++; return nil })
	return hookable
}

func TestEstoriaAggregateStoreChainRunsOnTheBinding(t *testing.T) {
	snapshotStores := map[string]func(s *Store) (snapshotstore.SnapshotStore, error){
		"binding snapshots":      func(s *Store) (snapshotstore.SnapshotStore, error) { return s, nil },
		"event-stream snapshots": func(s *Store) (snapshotstore.SnapshotStore, error) { return eventstream.New(s) },
	}
	backends(t, func(t *testing.T, s *Store) {
		for name, makeSnaps := range snapshotStores {
			t.Run(name, func(t *testing.T) {
				snaps, err := makeSnaps(s)
				if err != nil {
					t.Fatal(err)
				}
				testChain(t, s, snaps)
			})
		}
	})
}

func testChain(t *testing.T, s *Store, snaps snapshotstore.SnapshotStore) {
	counts := &hookCounts{}
	store := chain(t, s, snaps, counts)
	id := uuid.Must(uuid.NewV4())
	wantID := typeid.New("account", id)

	agg := store.New(id)
	agg.Append(fundsDeposited{Amount: 100}, fundsDeposited{Amount: 50})
	if err := store.Save(ctx, agg, nil); err != nil {
		t.Fatalf("first save: %v", err)
	}
	agg.AppendWithMetadata(map[string]string{"by": "teller"},
		fundsWithdrawn{Amount: 30}, fundsDeposited{Amount: 10}, fundsDeposited{Amount: 5})
	if err := store.Save(ctx, agg, nil); err != nil {
		t.Fatalf("second save: %v", err)
	}
	if agg.Version() != 5 || agg.State().Balance != 135 {
		t.Fatalf("after two saves: version %d balance %d, want 5 and 135", agg.Version(), agg.State().Balance)
	}

	// The events as the binding stores them: Estoria's JSON codec declared its
	// content type, and the metadata is there.
	events := readStream(t, s, wantID, eventstore.ReadStreamOptions{})
	if len(events) != 5 || events[0].DataContentType != estoria.ContentTypeJSON || events[2].Metadata["by"] != "teller" {
		t.Errorf("stored events %+v: want 5 with content type %q and metadata", events, estoria.ContentTypeJSON)
	}

	// The snapshot policy fired at version 3.
	snap, err := snaps.ReadSnapshot(ctx, wantID, snapshotstore.ReadSnapshotOptions{})
	if err != nil || snap.AggregateVersion != 3 || snap.DataContentType != estoria.ContentTypeJSON {
		t.Fatalf("snapshot: %+v, %v; want version 3 with content type %q", snap, err, estoria.ContentTypeJSON)
	}

	loaded, err := store.Load(ctx, id, nil) // a cache hit
	if err != nil || loaded.ID() != wantID || loaded.Version() != 5 || loaded.State().Balance != 135 {
		t.Fatalf("cached load: %v; want %s at 5 with 135", err, wantID)
	}

	// A cold cache hydrates from the snapshot and the events after it.
	coldCounts := &hookCounts{}
	cold := chain(t, s, snaps, coldCounts)
	reloaded, err := cold.Load(ctx, id, nil)
	if err != nil || reloaded.ID() != wantID || reloaded.Version() != 5 || reloaded.State().Balance != 135 {
		t.Fatalf("cold load: %v; want %s at 5 with 135", err, wantID)
	}

	// Time travel replays from the start (no snapshot at or below 2).
	past, err := store.Load(ctx, id, &aggregatestore.LoadOptions{ToVersion: 2})
	if err != nil || past.Version() != 2 || past.State().Balance != 150 {
		t.Fatalf("load at version 2: %v; want 2 with 150", err)
	}

	if _, err := store.Load(ctx, uuid.Must(uuid.NewV4()), nil); !errors.Is(err, aggregatestore.ErrAggregateNotFound) {
		t.Errorf("unknown aggregate: %v, want ErrAggregateNotFound", err)
	}

	// A stale aggregate's save fails with Estoria's version mismatch.
	stale := cold.New(id)
	stale.Append(fundsDeposited{Amount: 1})
	if err := cold.Save(ctx, stale, nil); !errors.Is(err, eventstore.StreamVersionMismatchError{}) {
		t.Errorf("stale save: %v, want a StreamVersionMismatchError", err)
	}

	// Estoria's aggregate store refuses reserved keys from user code itself.
	agg.AppendWithMetadata(map[string]string{"estoria.trace": "x"}, fundsDeposited{Amount: 1})
	if err := store.Save(ctx, agg, nil); err == nil {
		t.Error("a reserved metadata key was saved")
	}

	if counts.beforeSave != 3 || counts.afterSave != 2 {
		t.Errorf("save hooks %d/%d, want 3/2", counts.beforeSave, counts.afterSave)
	}
	if counts.beforeLoad != 3 || counts.afterLoad != 2 {
		t.Errorf("load hooks %d/%d, want 3/2", counts.beforeLoad, counts.afterLoad)
	}
	if coldCounts.beforeLoad != 1 || coldCounts.afterLoad != 1 {
		t.Errorf("cold load hooks %d/%d, want 1/1", coldCounts.beforeLoad, coldCounts.afterLoad)
	}
}

// balances is a read model: each account's balance, from the JSON events.
type balances struct {
	mu sync.Mutex
	by map[uuid.UUID]int
}

func (b *balances) Handle(_ context.Context, e *eventstore.Event) error {
	var amount struct{ Amount int }
	if err := json.Unmarshal(e.Data, &amount); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.by == nil {
		b.by = map[uuid.UUID]int{}
	}
	switch e.ID.Type {
	case "fundsdeposited":
		b.by[e.StreamID.UUID] += amount.Amount
	case "fundswithdrawn":
		b.by[e.StreamID.UUID] -= amount.Amount
	}
	return nil
}

func (b *balances) of(id uuid.UUID) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.by[id]
}

// saveAccount appends events to an account through Estoria's event-sourced
// store, creating it when new.
func saveAccount(t *testing.T, accounts *aggregatestore.EventSourcedStore[account], id uuid.UUID,
	events ...estoria.DomainEvent[account]) {
	t.Helper()
	agg, err := accounts.Load(ctx, id, nil)
	if errors.Is(err, aggregatestore.ErrAggregateNotFound) {
		agg, err = accounts.New(id), nil
	}
	if err != nil {
		t.Fatal(err)
	}
	agg.Append(events...)
	if err := accounts.Save(ctx, agg, nil); err != nil {
		t.Fatal(err)
	}
}

// Estoria's projection processor over the binding's ReadAll: it catches up,
// checkpoints (here in Estoria's memory checkpoint store; checkpoint_test.go
// runs it with the binding's own), then tails the store by polling.
func TestEstoriaProjectionProcessorRunsOverReadAll(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		accounts, err := aggregatestore.New(s, "account", newAccount,
			aggregatestore.WithEventTypes[account](fundsDeposited{}, fundsWithdrawn{}))
		if err != nil {
			t.Fatal(err)
		}
		ann, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		saveAccount(t, accounts, ann, fundsDeposited{Amount: 100})
		saveAccount(t, accounts, bob, fundsDeposited{Amount: 7})
		saveAccount(t, accounts, ann, fundsWithdrawn{Amount: 40})

		model := &balances{}
		checkpoints := checkpointmemory.NewCheckpointStore()
		id := projection.ID{Name: "balances", Version: 1}
		p, err := processor.New(s, checkpoints, id, model, processor.WithPollInterval(5*time.Millisecond),
			processor.WithBatchSize(2))
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(runCtx) }()
		defer func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v, want context.Canceled", err)
			}
		}()
		select {
		case <-p.CaughtUp():
		case err := <-done:
			t.Fatalf("Run ended before catching up: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("not caught up after 10 s")
		}
		if model.of(ann) != 60 || model.of(bob) != 7 {
			t.Fatalf("caught up: ann %d bob %d, want 60 and 7", model.of(ann), model.of(bob))
		}
		saveAccount(t, accounts, bob, fundsDeposited{Amount: 3})
		deadline := time.Now().Add(10 * time.Second)
		for model.of(bob) != 10 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if model.of(bob) != 10 {
			t.Fatalf("tailing: bob %d, want 10", model.of(bob))
		}
		it, err := s.ReadAll(ctx, eventstore.ReadAllOptions{})
		all := drain(t, it, err)
		last := *all[len(all)-1].GlobalPosition
		deadline = time.Now().Add(10 * time.Second)
		for {
			cp, err := checkpoints.Load(ctx, id)
			if err == nil && cp.Position == last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoint %+v (%v), want position %d", cp, err, last)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// Estoria's one-shot fold over a ReadAll resumed from a position.
func TestEstoriaFoldRunsOverReadAll(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		accounts, err := aggregatestore.New(s, "account", newAccount,
			aggregatestore.WithEventTypes[account](fundsDeposited{}, fundsWithdrawn{}))
		if err != nil {
			t.Fatal(err)
		}
		ann := uuid.Must(uuid.NewV7())
		saveAccount(t, accounts, ann, fundsDeposited{Amount: 100}, fundsWithdrawn{Amount: 1})
		model := &balances{}
		var after int64
		fold := func() int64 {
			t.Helper()
			it, err := s.ReadAll(ctx, eventstore.ReadAllOptions{AfterPosition: after})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close(ctx)
			f, err := projection.NewFold(it)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Project(ctx, projection.EventHandlerFunc(func(ctx context.Context, e *eventstore.Event) error {
				after = *e.GlobalPosition
				return model.Handle(ctx, e)
			}))
			if err != nil {
				t.Fatal(err)
			}
			return res.NumProjectedEvents
		}
		if n := fold(); n != 2 || model.of(ann) != 99 {
			t.Fatalf("first fold: %d events, balance %d; want 2, 99", n, model.of(ann))
		}
		saveAccount(t, accounts, ann, fundsDeposited{Amount: 1})
		if n := fold(); n != 1 || model.of(ann) != 100 {
			t.Errorf("resumed fold: %d events, balance %d; want 1, 100", n, model.of(ann))
		}
	})
}
