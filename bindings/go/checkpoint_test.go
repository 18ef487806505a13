// checkpoint_test.go: the binding's checkpoint store on every backend:
// Estoria v0.12.0's projection/checkpointstore/storetest suite, unchanged,
// over *Store; Estoria's own projection processor with *Store as both its
// event reader and its checkpoint store (across a restart of the
// processor); and Txn.Checkpoint, all or nothing with its appends.

package est

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-estoria/estoria/aggregatestore"
	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/projection"
	"github.com/go-estoria/estoria/projection/checkpointstore"
	checkpointtest "github.com/go-estoria/estoria/projection/checkpointstore/storetest"
	"github.com/go-estoria/estoria/projection/processor"
	"github.com/gofrs/uuid/v5"
)

func TestEstoriaCheckpointStoreSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		checkpointtest.RunCheckpointStoreSuite(t, func(t *testing.T) checkpointstore.Store { return openBackend(t, backend) })
	})
}

// runUntilCaughtUp runs p until it has caught up and its checkpoint reached
// `want`, then stops it.
func runUntilCaughtUp(t *testing.T, p *processor.Processor, s *Store, id projection.ID, want int64) {
	t.Helper()
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := s.Load(ctx, id)
		if err == nil && cp.Position == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %+v (%v), want position %d", cp, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Estoria's projection processor with the binding's store as its event
// reader and its checkpoint store: it catches up and checkpoints in the
// store; a new processor (a restart) resumes from that checkpoint and
// handles only what came after it.
func TestEstoriaProjectionProcessorCheckpointsInTheStore(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		accounts, err := aggregatestore.New(s, "account", newAccount,
			aggregatestore.WithEventTypes[account](fundsDeposited{}, fundsWithdrawn{}))
		if err != nil {
			t.Fatal(err)
		}
		ann := uuid.Must(uuid.NewV7())
		saveAccount(t, accounts, ann, fundsDeposited{Amount: 100})
		saveAccount(t, accounts, ann, fundsWithdrawn{Amount: 40})
		id := projection.ID{Name: "balances_" + uuid.Must(uuid.NewV4()).String()[:8], Version: 1}
		if _, err := s.Load(ctx, id); !errors.Is(err, checkpointstore.ErrCheckpointNotFound) {
			t.Fatalf("Load before any run: %v, want ErrCheckpointNotFound", err)
		}
		last := func() int64 {
			it, err := s.ReadAll(ctx, eventstore.ReadAllOptions{})
			all := drain(t, it, err)
			return *all[len(all)-1].GlobalPosition
		}

		first := &balances{}
		p, err := processor.New(s, s, id, first, processor.WithPollInterval(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		runUntilCaughtUp(t, p, s, id, last())
		if first.of(ann) != 60 {
			t.Fatalf("first run: ann %d, want 60", first.of(ann))
		}

		saveAccount(t, accounts, ann, fundsDeposited{Amount: 5})
		resumed := &balances{} // sees only what came after the checkpoint
		p, err = processor.New(s, s, id, resumed, processor.WithPollInterval(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		runUntilCaughtUp(t, p, s, id, last())
		if resumed.of(ann) != 5 {
			t.Fatalf("resumed run: ann %d, want 5 (only the event after the checkpoint)", resumed.of(ann))
		}
	})
}

func TestTxnCheckpointCommitsWithItsAppendsOrNotAtAll(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		stream := "account_" + uuid.Must(uuid.NewV7()).String()
		id := "txn_" + uuid.Must(uuid.NewV4()).String()[:8] + "_v1"
		txn, err := s.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Close()
		if err := txn.Append(stream, []NewEvent{{Type: "opened"}}, NoStream()); err != nil {
			t.Fatal(err)
		}
		if err := txn.Checkpoint(id, 1); err != nil {
			t.Fatal(err)
		}
		if err := txn.Checkpoint("Bad_v1", 1); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("bad ID: %v, want ErrInvalidArgument", err)
		}
		if _, err := txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if pos, _, err := s.LoadCheckpoint(ctx, id); err != nil || pos != 1 {
			t.Fatalf("after commit: %d, %v", pos, err)
		}
		// A failed expectation: neither the append nor the save.
		if err := txn.Append(stream, []NewEvent{{Type: "again"}}, NoStream()); err != nil {
			t.Fatal(err)
		}
		if err := txn.Checkpoint(id, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := txn.Commit(ctx); !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("commit: %v, want a version mismatch", err)
		}
		if pos, _, err := s.LoadCheckpoint(ctx, id); err != nil || pos != 1 {
			t.Fatalf("after a failed commit: %d, %v, want 1", pos, err)
		}
		// Only saves.
		only, err := s.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer only.Close()
		if err := only.Checkpoint(id, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := only.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if pos, _, err := s.LoadCheckpoint(ctx, id); err != nil || pos != 3 {
			t.Fatalf("after a commit of only a save: %d, %v, want 3", pos, err)
		}
		list, err := s.ListCheckpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range list {
			found = found || (c.ProjectionID == id && c.Position == 3 && !c.UpdatedAt.IsZero())
		}
		if !found {
			t.Fatalf("ListCheckpoints %+v lacks %s at 3", list, id)
		}
		if err := s.DeleteCheckpoint(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCheckpoint(ctx, id); !errors.Is(err, checkpointstore.ErrCheckpointNotFound) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete of none: %v", err)
		}
	})
}
