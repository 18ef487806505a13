// example_aggregate_test.go: the README's program putting Estoria's
// aggregate store on estoria's file store, run by go test (its output is
// checked).

package est_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	est "github.com/estoria-dev/estoria-go"
	"github.com/go-estoria/estoria"
	"github.com/go-estoria/estoria/aggregatestore"
	"github.com/go-estoria/estoria/snapshotstore"
	"github.com/gofrs/uuid/v5"
)

// Account is the aggregate's state.
type Account struct{ Balance int }

// Deposited and Withdrawn are its domain events (stored as JSON).
type Deposited struct{ Amount int }
type Withdrawn struct{ Amount int }

func (Deposited) EventType() string                 { return "deposited" }
func (Deposited) New() estoria.DomainEvent[Account] { return &Deposited{} }
func (e Deposited) ApplyTo(a Account) Account       { a.Balance += e.Amount; return a }
func (Withdrawn) EventType() string                 { return "withdrawn" }
func (Withdrawn) New() estoria.DomainEvent[Account] { return &Withdrawn{} }
func (e Withdrawn) ApplyTo(a Account) Account       { a.Balance -= e.Amount; return a }
func newAccountState(uuid.UUID) Account             { return Account{} }
func must[T any](v T, err error) T                  { check(err); return v }
func check(err error) {
	if err != nil {
		panic(err)
	}
}

// accounts is Estoria's aggregate store of accounts on an estoria store:
// events and snapshots (every 2 events) both kept by estoria.
func accounts(store *est.Store) *aggregatestore.SnapshottingStore[Account] {
	events := must(aggregatestore.New(store, "account", newAccountState,
		aggregatestore.WithEventTypes[Account](Deposited{}, Withdrawn{})))
	return must(aggregatestore.NewSnapshottingStore(events, store, snapshotstore.EventCountSnapshotPolicy{N: 2}))
}

func Example_aggregateStoreOnTheFileStore() {
	ctx := context.Background()
	dir := must(os.MkdirTemp("", "estoria-example"))
	defer os.RemoveAll(dir)
	uri := "file:" + filepath.Join(dir, "events") // the embedded, durable store

	store := must(est.Open(uri, nil))
	id := uuid.Must(uuid.NewV7())
	acct := accounts(store).New(id)
	acct.Append(Deposited{Amount: 100}, Withdrawn{Amount: 30})
	check(accounts(store).Save(ctx, acct, nil))
	acct.Append(Deposited{Amount: 5})
	check(accounts(store).Save(ctx, acct, nil))
	check(store.Close())

	// Reopened: the aggregate loads from its snapshot (version 2) plus the
	// event after it.
	store = must(est.Open(uri, nil))
	defer store.Close()
	loaded := must(accounts(store).Load(ctx, id, nil))
	fmt.Println(loaded.ID().Type, "version", loaded.Version(), "balance", loaded.State().Balance)
	snap := must(store.ReadSnapshot(ctx, loaded.ID(), snapshotstore.ReadSnapshotOptions{}))
	fmt.Println("snapshot at version", snap.AggregateVersion, snap.DataContentType)
	// Output:
	// account version 3 balance 75
	// snapshot at version 2 application/json
}
