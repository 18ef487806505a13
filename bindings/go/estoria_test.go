// estoria_test.go: Estoria's own aggregate stores (v0.4.0's
// aggregatestore.EventSourcedStore and SnapshottingStore) and its projection,
// unchanged, over the binding, running a small bank-account domain on memory:
// and file:.

package est

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/go-estoria/estoria"
	"github.com/go-estoria/estoria/aggregatestore"
	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/eventstore/projection"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

type account struct {
	ID      uuid.UUID
	Owner   string
	Balance int
}

func (a *account) EntityID() typeid.ID { return typeid.New("account", a.ID) }

func newAccount(id uuid.UUID) *account { return &account{ID: id} }

type opened struct{ Owner string }

func (opened) EventType() string                  { return "opened" }
func (opened) New() estoria.EntityEvent[*account] { return &opened{} }
func (e *opened) ApplyTo(_ context.Context, a *account) (*account, error) {
	a.Owner = e.Owner
	return a, nil
}

type deposited struct{ Amount int }

func (deposited) EventType() string                  { return "deposited" }
func (deposited) New() estoria.EntityEvent[*account] { return &deposited{} }
func (e *deposited) ApplyTo(_ context.Context, a *account) (*account, error) {
	a.Balance += e.Amount
	return a, nil
}

type withdrawn struct{ Amount int }

func (withdrawn) EventType() string                  { return "withdrawn" }
func (withdrawn) New() estoria.EntityEvent[*account] { return &withdrawn{} }
func (e *withdrawn) ApplyTo(_ context.Context, a *account) (*account, error) {
	if e.Amount > a.Balance {
		return a, fmt.Errorf("insufficient funds: %d > %d", e.Amount, a.Balance)
	}
	a.Balance -= e.Amount
	return a, nil
}

// newAccounts is Estoria's EventSourcedStore of accounts over s.
func newAccounts(t *testing.T, s *Store) *aggregatestore.EventSourcedStore[*account] {
	t.Helper()
	accounts, err := aggregatestore.New(s, newAccount,
		aggregatestore.WithEventTypes[*account](&opened{}, &deposited{}, &withdrawn{}))
	if err != nil {
		t.Fatal(err)
	}
	return accounts
}

func TestEstoriaEventSourcedStoreRunsOnTheBinding(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		accounts := newAccounts(t, s)
		id := uuid.Must(uuid.NewV7())
		agg := accounts.New(id)
		agg.Append(&opened{Owner: "ann"}, &deposited{Amount: 100}, &withdrawn{Amount: 30})
		if err := accounts.Save(ctx, agg, nil); err != nil {
			t.Fatal(err)
		}
		if agg.Version() != 3 || agg.Entity().Balance != 70 {
			t.Errorf("after save: version %d balance %d", agg.Version(), agg.Entity().Balance)
		}
		loaded, err := accounts.Load(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Version() != 3 || loaded.Entity().Balance != 70 || loaded.Entity().Owner != "ann" {
			t.Errorf("loaded: version %d %+v", loaded.Version(), loaded.Entity())
		}
		past, err := accounts.Load(ctx, id, &aggregatestore.LoadOptions{ToVersion: 2})
		if err != nil || past.Entity().Balance != 100 {
			t.Errorf("at version 2: %v, %v", past, err)
		}
		// A concurrent writer: the stale aggregate's save fails with Estoria's error.
		loaded.Append(&deposited{Amount: 5})
		if err := accounts.Save(ctx, loaded, nil); err != nil {
			t.Fatal(err)
		}
		agg.Append(&deposited{Amount: 1})
		var vm eventstore.StreamVersionMismatchError
		if err := accounts.Save(ctx, agg, nil); !errors.As(err, &vm) || vm.ExpectedVersion != 3 || vm.ActualVersion != 4 {
			t.Errorf("stale save: %v", err)
		}
		if _, err := accounts.Load(ctx, uuid.Must(uuid.NewV7()), nil); !errors.Is(err, aggregatestore.ErrAggregateNotFound) {
			t.Errorf("missing aggregate: %v", err)
		}
	})
}

func TestEstoriaSnapshottingStoreRunsOnTheBinding(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		accounts, err := aggregatestore.NewSnapshottingStore(newAccounts(t, s), s, snapshotstore.EventCountSnapshotPolicy{N: 4})
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.Must(uuid.NewV7())
		agg := accounts.New(id)
		agg.Append(&opened{Owner: "bob"})
		for i := 0; i < 4; i++ {
			agg.Append(&deposited{Amount: 10})
		}
		if err := accounts.Save(ctx, agg, nil); err != nil {
			t.Fatal(err)
		}
		snap, err := s.ReadSnapshot(ctx, agg.ID(), snapshotstore.ReadSnapshotOptions{})
		if err != nil || snap.AggregateVersion != 4 {
			t.Fatalf("snapshot after 5 events with N=4: %+v, %v", snap, err)
		}
		// Prove the load starts from the snapshot: truncate the events it covers.
		if err := s.DeleteStream(ctx, agg.ID(), DeleteStreamOptions{ToVersion: 4}); err != nil {
			t.Fatal(err)
		}
		loaded, err := accounts.Load(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Version() != 5 || loaded.Entity().Balance != 40 || loaded.Entity().Owner != "bob" {
			t.Errorf("loaded from the snapshot: version %d %+v", loaded.Version(), loaded.Entity())
		}
	})
}

// Estoria's projection over the global read: a read model of every account's
// balance, built by one pass and brought up to date by a second pass that
// resumes after the first one's last position, as a poll loop would.
func TestEstoriaProjectionRunsOverTheGlobalRead(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		accounts := newAccounts(t, s)
		save := func(id uuid.UUID, events ...estoria.EntityEvent[*account]) {
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
		ann, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		save(ann, &opened{Owner: "ann"}, &deposited{Amount: 100})
		save(bob, &opened{Owner: "bob"}, &deposited{Amount: 7})
		save(ann, &withdrawn{Amount: 40})

		balances := map[uuid.UUID]int{}
		var checkpoint int64
		pass := func() int64 {
			t.Helper()
			it, err := s.ReadAll(ctx, ReadAllOptions{AfterPosition: checkpoint})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close(ctx)
			p, err := projection.New(it)
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Project(ctx, projection.EventHandlerFunc(func(_ context.Context, e *eventstore.Event) error {
				var amount struct{ Amount int }
				if err := json.Unmarshal(e.Data, &amount); err != nil {
					return err
				}
				switch e.ID.Type {
				case "deposited":
					balances[e.StreamID.UUID] += amount.Amount
				case "withdrawn":
					balances[e.StreamID.UUID] -= amount.Amount
				}
				checkpoint = *e.GlobalPosition
				return nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			return res.NumProjectedEvents
		}
		if n := pass(); n != 5 || balances[ann] != 60 || balances[bob] != 7 {
			t.Fatalf("first pass: %d events, balances ann %d bob %d; want 5, 60, 7", n, balances[ann], balances[bob])
		}
		save(bob, &deposited{Amount: 3})
		if n := pass(); n != 1 || balances[ann] != 60 || balances[bob] != 10 {
			t.Errorf("second pass: %d events, balances ann %d bob %d; want 1, 60, 10", n, balances[ann], balances[bob])
		}
		if n := pass(); n != 0 {
			t.Errorf("a caught-up pass projected %d events", n)
		}
	})
}
