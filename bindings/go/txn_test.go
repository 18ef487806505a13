// txn_test.go: transactions (all or nothing across streams) and idempotent
// appends, on memory: and file:.

package est

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/gofrs/uuid/v5"
)

func ev(typ, data string) NewEvent { return NewEvent{Type: typ, Data: []byte(data)} }

func withIDs(ids ...uuid.UUID) []NewEvent {
	out := make([]NewEvent, len(ids))
	for i, id := range ids {
		out[i] = NewEvent{ID: id, Type: "thing_happened", Data: []byte{byte(i)}}
	}
	return out
}

func TestTxnCommitsEveryAppendWithOneResultEach(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		bg := context.Background()
		a, b := newStreamID("order"), newStreamID("user")
		s.Append(bg, a, []NewEvent{ev("placed", "")}, AnyVersion())
		txn, err := s.Begin(bg)
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Close()
		must(t, txn.Append(a, []NewEvent{ev("paid", "1"), ev("shipped", "2")}, AtVersion(1)))
		must(t, txn.Append(b, []NewEvent{ev("registered", "3")}, NoStream()))
		must(t, txn.Append(a, []NewEvent{ev("closed", "4")}, AtVersion(3)))
		if txn.Len() != 3 {
			t.Fatalf("Len() = %d", txn.Len())
		}
		rs, err := txn.Commit(bg)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 3 || rs[0].FirstVersion != 2 || rs[0].LastVersion != 3 || rs[1].LastVersion != 1 ||
			rs[2].FirstVersion != 4 || rs[0].Duplicate || rs[1].LastPosition+1 != rs[2].FirstPosition {
			t.Fatalf("results %+v", rs)
		}
		if txn.Len() != 0 {
			t.Errorf("Len() after commit = %d", txn.Len())
		}
		if st, _ := s.Stats(); st.Events != 5 {
			t.Errorf("events = %d, want 5", st.Events)
		}
	})
}

func TestTxnOneFailingExpectationWritesNothingAndNamesTheStream(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		bg := context.Background()
		a, b, c := newStreamID("order"), newStreamID("user"), newStreamID("cart")
		s.Append(bg, b, []NewEvent{ev("registered", "")}, AnyVersion())
		txn, _ := s.Begin(bg)
		defer txn.Close()
		must(t, txn.Append(a, []NewEvent{ev("placed", "")}, NoStream()))
		must(t, txn.Append(b, []NewEvent{ev("renamed", "")}, AtVersion(5)))
		must(t, txn.Append(c, []NewEvent{ev("created", "")}, AnyVersion()))
		_, err := txn.Commit(bg)
		var vm *VersionMismatchError
		if !errors.As(err, &vm) || !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("Commit: %v", err)
		}
		if vm.StreamID != b || vm.Index != 1 || vm.Expected != 5 || vm.Actual != 1 || !strings.Contains(err.Error(), b) {
			t.Errorf("mismatch %+v", vm)
		}
		if st, _ := s.Stats(); st.Events != 1 {
			t.Errorf("events = %d, want 1 (nothing written)", st.Events)
		}
		if txn.Len() != 3 {
			t.Errorf("a failed transaction keeps its appends: Len() = %d", txn.Len())
		}
	})
}

func TestStreamExistsExpectation(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		bg := context.Background()
		a := newStreamID("order")
		if _, err := s.Append(bg, a, []NewEvent{ev("placed", "")}, StreamExists()); !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("absent stream: %v", err)
		}
		s.Append(bg, a, []NewEvent{ev("placed", "")}, AnyVersion())
		if r, err := s.Append(bg, a, []NewEvent{ev("paid", "")}, StreamExists()); err != nil || r.LastVersion != 2 {
			t.Fatalf("existing stream: %+v %v", r, err)
		}
	})
}

func TestRetryWithTheSameIDsIsADuplicateAndWritesNothing(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		bg := context.Background()
		a, b := newStreamID("order"), newStreamID("user")
		ids := []uuid.UUID{uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4())}
		first, err := s.Append(bg, a, withIDs(ids[:2]...), NoStream())
		if err != nil || first.Duplicate {
			t.Fatalf("first: %+v %v", first, err)
		}
		again, err := s.Append(bg, a, withIDs(ids[:2]...), NoStream())
		if err != nil || !again.Duplicate || again.FirstPosition != first.FirstPosition || again.LastVersion != first.LastVersion {
			t.Fatalf("retry: %+v %v", again, err)
		}
		run := func() []bool {
			txn, _ := s.Begin(bg)
			defer txn.Close()
			must(t, txn.Append(a, withIDs(ids[:2]...), NoStream()))
			must(t, txn.Append(b, withIDs(ids[2]), NoStream()))
			rs, err := txn.Commit(bg)
			if err != nil {
				t.Fatal(err)
			}
			return []bool{rs[0].Duplicate, rs[1].Duplicate}
		}
		if got := run(); !got[0] || got[1] {
			t.Errorf("first transaction: duplicate %v", got)
		}
		if got := run(); !got[0] || !got[1] {
			t.Errorf("retried transaction: duplicate %v", got)
		}
		if st, _ := s.Stats(); st.Events != 3 {
			t.Errorf("events = %d, want 3", st.Events)
		}
	})
}

func TestPartialOverlapIsAVersionMismatch(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		bg := context.Background()
		a := newStreamID("order")
		ids := []uuid.UUID{uuid.Must(uuid.NewV4()), uuid.Must(uuid.NewV4())}
		must2(t)(s.Append(bg, a, withIDs(ids[0]), AnyVersion()))
		if _, err := s.Append(bg, a, withIDs(ids...), NoStream()); !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("partial overlap: %v", err)
		}
		if st, _ := s.Stats(); st.Events != 1 {
			t.Errorf("events = %d, want 1", st.Events)
		}
	})
}

func TestTxnAfterTheStoreClosedIsErrClosed(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		bg := context.Background()
		txn, _ := s.Begin(bg)
		defer txn.Close()
		must(t, txn.Append(newStreamID("order"), []NewEvent{ev("placed", "")}, AnyVersion()))
		s.Close()
		if _, err := txn.Commit(bg); !errors.Is(err, ErrClosed) {
			t.Errorf("Commit after the store closed: %v", err)
		}
		if err := txn.Append(newStreamID("order"), []NewEvent{ev("placed", "")}, AnyVersion()); !errors.Is(err, ErrClosed) {
			t.Errorf("Append after the store closed: %v", err)
		}
		if _, err := s.Begin(bg); !errors.Is(err, ErrClosed) {
			t.Errorf("Begin on a closed store: %v", err)
		}
		txn.Close()
		if _, err := txn.Commit(bg); !errors.Is(err, ErrClosed) {
			t.Errorf("Commit after Close: %v", err)
		}
	})
}

func TestTxnRefusesBadInputAtOnce(t *testing.T) {
	s := openLive(t)
	txn, _ := s.Begin(context.Background())
	defer txn.Close()
	for _, err := range []error{
		txn.Append("not an id", []NewEvent{ev("placed", "")}, AnyVersion()),
		txn.Append(newStreamID("order"), nil, AnyVersion()),
		txn.Append(newStreamID("order"), []NewEvent{ev("bad\x00type", "")}, AnyVersion()),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("bad input: %v", err)
		}
	}
	if txn.Len() != 0 {
		t.Errorf("Len() = %d", txn.Len())
	}
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := txn.Commit(c); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a cancelled context: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func must2(t *testing.T) func(AppendResult, error) {
	return func(_ AppendResult, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The README's subscription and transaction example, as a program.
func ExampleStore_Begin() {
	store, err := Open("memory:", nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	bg := context.Background()
	sub, _ := store.Subscribe(bg, SubscribeOptions{})
	defer sub.Close()

	order := "order_" + uuid.Must(uuid.NewV7()).String()
	stock := "stock_" + uuid.Must(uuid.NewV7()).String()
	placed := []NewEvent{{ID: uuid.Must(uuid.NewV4()), Type: "placed", Data: []byte(`{}`)}}
	commit := func() []AppendResult {
		txn, _ := store.Begin(bg)
		defer txn.Close()
		txn.Append(order, placed, NoStream())
		txn.Append(stock, []NewEvent{{ID: uuid.NewV5(uuid.NamespaceOID, "reserve-1"), Type: "reserved"}}, AnyVersion())
		results, err := txn.Commit(bg)
		if err != nil {
			panic(err)
		}
		return results
	}
	first := commit()
	retry := commit() // the same IDs: nothing is written again
	fmt.Println(first[0].LastVersion, first[1].LastVersion, first[0].Duplicate, retry[0].Duplicate, retry[1].Duplicate)

	n := 0
	for ev, err := range sub.Events(bg) {
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.ID.Type, ev.StreamVersion)
		if n++; n == 2 {
			break
		}
	}
	// Output:
	// 1 1 false true true
	// placed 1
	// reserved 1
}

func TestAggregateSaveWithEventIDsIsSafeToRetry(t *testing.T) {
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
		add(t, g, 1)
		retry, err := as.Load(ctx, g.ID().UUID, 0) // a second handle at version 1
		if err != nil {
			t.Fatal(err)
		}
		defer retry.Free()
		id := uuid.Must(uuid.NewV7())
		for _, h := range []*Aggregate[tally]{g, retry} {
			if err := h.Append("added", []byte("5"), nil); err != nil {
				t.Fatal(err)
			}
			if err := h.SetEventID(id); err != nil {
				t.Fatal(err)
			}
			if err := h.Save(ctx); err != nil {
				t.Fatalf("save: %v", err)
			}
		}
		if retry.Version() != 2 || retry.State().Sum != 6 {
			t.Errorf("the retrying handle: version %d state %+v", retry.Version(), retry.State())
		}
		evs := readStream(t, s, g.ID(), eventstore.ReadStreamOptions{})
		if len(evs) != 2 || evs[1].ID.UUID != id {
			t.Errorf("stream: %d events (want the retried one stored once, with its ID)", len(evs))
		}
		empty, err := as.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer empty.Free()
		if err := empty.SetEventID(id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("an ID before any queued event: %v", err)
		}
	})
}
