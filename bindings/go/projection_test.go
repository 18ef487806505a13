// projection_test.go: the engine's projections through the binding, on
// every backend where the behaviour is the store's (the PostgreSQL run picks
// up the TestProjection tests): catch-up then follow, resume after a reopen,
// filters, handler errors (stop, skip, panic), exactly-once outputs, budgets,
// wakes and contexts, closes, and versioned rebuilds.

package est

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/projection"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

// seen collects what a handler was handed, copied (the events are reused
// after each call).
type seen struct {
	mu        sync.Mutex
	positions []int64
	types     []string
	data      []string
	calls     int
}

func (s *seen) handler(_ context.Context, events []*eventstore.Event, _ *Txn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, e := range events {
		s.positions = append(s.positions, *e.GlobalPosition)
		s.types = append(s.types, e.ID.Type)
		s.data = append(s.data, string(e.Data))
	}
	return nil
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.positions)
}

func (s *seen) lastPosition() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.positions) == 0 {
		return 0
	}
	return s.positions[len(s.positions)-1]
}

// appendAcross appends n "numbered" events to `streams` new streams of type
// typ, round robin in batches of one, and returns their positions in order.
func appendAcross(t *testing.T, s *Store, typ string, streams, n int) []int64 {
	t.Helper()
	ids := make([]typeid.ID, streams)
	for i := range ids {
		ids[i] = typeid.NewV7(typ)
	}
	var out []int64
	for i := 0; i < n; i++ {
		written, err := s.AppendStream(ctx, ids[i%streams], []*eventstore.WritableEvent{{Type: "numbered", Data: payload(i)}},
			eventstore.AppendStreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *written[0].GlobalPosition)
	}
	return out
}

// lastPosition is the store's last global position.
func lastPosition(t *testing.T, s *Store) int64 {
	t.Helper()
	it, err := s.ReadAll(ctx, eventstore.ReadAllOptions{})
	all := drain(t, it, err)
	if len(all) == 0 {
		return 0
	}
	return *all[len(all)-1].GlobalPosition
}

func newProjection(t *testing.T, s *Store, name string, version int, h ProjectionHandler, opts *ProjectionOptions) *Projection {
	t.Helper()
	p, err := s.NewProjection(projection.ID{Name: name, Version: version}, h, opts)
	if err != nil {
		t.Fatalf("NewProjection(%s_v%d): %v", name, version, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// runCaughtUp runs p with budget 0 until it reports caught up.
func runCaughtUp(t *testing.T, p *Projection) ProjectionReport {
	t.Helper()
	for i := 0; i < 100; i++ {
		r, err := p.Run(ctx, 0)
		if err != nil {
			t.Fatalf("Run: %v (report %+v)", err, r)
		}
		if r.CaughtUp {
			return r
		}
	}
	t.Fatal("not caught up after 100 runs")
	return ProjectionReport{}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Catch-up hands every event once, in order, in calls of at most BatchMax;
// the checkpoint is at the head; a run until wake then follows new commits.
func TestProjectionCatchesUpThenFollows(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		want := appendAcross(t, s, "account", 3, 300)
		var got seen
		p := newProjection(t, s, "follower", 1, got.handler, &ProjectionOptions{BatchMax: 64})
		r, err := p.Run(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !r.CaughtUp || r.Handled != 300 || r.Position != want[299] || r.Head != want[299] || r.Skipped != 0 {
			t.Fatalf("report %+v, want 300 handled, caught up at %d", r, want[299])
		}
		if !slices.Equal(got.positions, want) || got.calls < 300/64 {
			t.Fatalf("handed %d events in %d calls, want the 300 appended in order", len(got.positions), got.calls)
		}
		if got.data[0] != "event 1" || got.data[299] != "event 300" || got.types[0] != "numbered" {
			t.Fatalf("first/last event: %q %q %q", got.types[0], got.data[0], got.data[299])
		}
		if pos, _, err := s.LoadCheckpoint(ctx, "follower_v1"); err != nil || pos != want[299] {
			t.Fatalf("checkpoint %d, %v; want %d", pos, err, want[299])
		}

		done := make(chan error, 1)
		var rep ProjectionReport
		go func() {
			var err error
			rep, err = p.Run(ctx, -1)
			done <- err
		}()
		more := appendAcross(t, s, "account", 2, 5)
		waitFor(t, "the followed events", func() bool { return got.count() == 305 })
		if err := p.Wake(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Run until wake: %v", err)
		}
		if !slices.Equal(got.positions[300:], more) || rep.Position != more[4] || rep.Handled != 5 {
			t.Fatalf("followed %v (report %+v), want %v", got.positions[300:], rep, more)
		}
	})
}

// A new projection of the same ID after a reopen starts at the checkpoint.
func TestProjectionResumesFromItsCheckpointAfterReopen(t *testing.T) {
	dir := "file:" + filepath.Join(t.TempDir(), "store")
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendAcross(t, s, "account", 2, 10)
	var first seen
	p, err := s.NewProjection(projection.ID{Name: "resumer", Version: 1}, first.handler, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Run(ctx, 0); err != nil || !r.CaughtUp || first.count() != 10 {
		t.Fatalf("first run: %+v, %v, %d handled", r, err, first.count())
	}
	p.Close()
	s.Close()

	s, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	later := appendAcross(t, s, "account", 1, 4)
	var second seen
	p = newProjection(t, s, "resumer", 1, second.handler, nil)
	r := runCaughtUp(t, p)
	if !slices.Equal(second.positions, later) || r.Position != later[3] {
		t.Fatalf("after reopen handed %v (report %+v), want only %v", second.positions, r, later)
	}
}

// Filters hand only the matching events, and what they leave out still moves
// the position to the head.
func TestProjectionFiltersByStreamPrefixAndEventType(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		order, stock := typeid.NewV7("order"), typeid.NewV7("stock")
		var want []int64
		for i := 0; i < 6; i++ {
			typ := []string{"placed", "shipped"}[i%2]
			w, err := s.AppendStream(ctx, order, []*eventstore.WritableEvent{{Type: typ}}, eventstore.AppendStreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if typ == "placed" {
				want = append(want, *w[0].GlobalPosition)
			}
			if _, err := s.AppendStream(ctx, stock, []*eventstore.WritableEvent{{Type: "placed"}}, eventstore.AppendStreamOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		var got seen
		p := newProjection(t, s, "placed_orders", 1, got.handler,
			&ProjectionOptions{StreamPrefix: "order_", EventTypes: []string{"placed", "cancelled"}})
		r := runCaughtUp(t, p)
		if !slices.Equal(got.positions, want) {
			t.Fatalf("handed %v, want the placed orders %v", got.positions, want)
		}
		if head := lastPosition(t, s); r.Position != head {
			t.Fatalf("position %d, want the head %d", r.Position, head)
		}
	})
}

var errRefused = errors.New("the read model refused it")

// A handler error stops the run with the checkpoint at the last call that
// succeeded; the next run hands the failed events again.
func TestProjectionHandlerErrorStopsAtTheLastSuccess(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		positions := appendAcross(t, s, "account", 1, 8)
		var got seen
		failAt := "event 4"
		h := func(ctx context.Context, events []*eventstore.Event, tx *Txn) error {
			if string(events[0].Data) == failAt {
				return fmt.Errorf("at %s: %w", failAt, errRefused)
			}
			return got.handler(ctx, events, tx)
		}
		p := newProjection(t, s, "stopper", 1, h, &ProjectionOptions{BatchMax: 1})
		r, err := p.Run(ctx, 0)
		if !errors.Is(err, errRefused) || !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("Run: %v, want the handler's error (and ErrInternal)", err)
		}
		if r.Position != positions[2] || r.CaughtUp || got.count() != 3 {
			t.Fatalf("report %+v after %d events, want the checkpoint at %d", r, got.count(), positions[2])
		}
		if pos, _, err := s.LoadCheckpoint(ctx, "stopper_v1"); err != nil || pos != positions[2] {
			t.Fatalf("checkpoint %d, %v; want %d", pos, err, positions[2])
		}
		// An *Error keeps its code.
		failAt = "event 5"
		h2 := func(ctx context.Context, events []*eventstore.Event, tx *Txn) error {
			if string(events[0].Data) == failAt {
				return errorf("read model", StatusBusy, "try later")
			}
			return got.handler(ctx, events, tx)
		}
		p.Close()
		p = newProjection(t, s, "stopper", 1, h2, &ProjectionOptions{BatchMax: 1})
		if _, err := p.Run(ctx, 0); !errors.Is(err, ErrBusy) {
			t.Fatalf("Run: %v, want ErrBusy", err)
		}
		failAt = ""
		runCaughtUp(t, p)
		if !slices.Equal(got.positions, positions) {
			t.Fatalf("handed %v, want each of %v once", got.positions, positions)
		}
	})
}

// ContinueOnError hands a failed call's events again one by one, skips
// those that fail, reports them to the log handler and counts them.
func TestProjectionContinueOnErrorSkipsAndCounts(t *testing.T) {
	var logged atomic.Int32
	SetLogHandler(func(level LogLevel, message string) {
		if strings.Contains(message, "refused") {
			logged.Add(1)
		}
	})
	defer SetLogHandler(nil)
	backends(t, func(t *testing.T, s *Store) {
		logged.Store(0)
		positions := appendAcross(t, s, "account", 2, 10)
		var got seen
		h := func(ctx context.Context, events []*eventstore.Event, tx *Txn) error {
			for _, e := range events {
				if d := string(e.Data); d == "event 3" || d == "event 7" {
					return errRefused
				}
			}
			return got.handler(ctx, events, tx)
		}
		p := newProjection(t, s, "skipper", 1, h, &ProjectionOptions{ContinueOnError: true})
		r := runCaughtUp(t, p)
		want := slices.Concat(positions[:2], positions[3:6], positions[7:])
		if r.Skipped != 2 || !slices.Equal(got.positions, want) || r.Position != positions[9] {
			t.Fatalf("report %+v, handled %v; want 2 skipped and the other 8 once", r, got.positions)
		}
		if n := logged.Load(); n != 2 {
			t.Errorf("the log handler heard %d skips, want 2", n)
		}
	})
}

// A panic in the handler is recovered: an error naming it, the checkpoint
// at the last success, the process alive.
func TestProjectionHandlerPanicBecomesAnError(t *testing.T) {
	s := openBackend(t, "memory")
	positions := appendAcross(t, s, "account", 1, 5)
	calls := 0
	h := func(_ context.Context, events []*eventstore.Event, _ *Txn) error {
		calls++
		if calls == 3 {
			panic("the fold broke at call 3")
		}
		return nil
	}
	p := newProjection(t, s, "panicky", 1, h, &ProjectionOptions{BatchMax: 1})
	r, err := p.Run(ctx, 0)
	if !errors.Is(err, ErrInternal) || !strings.Contains(err.Error(), "panic") ||
		!strings.Contains(err.Error(), "the fold broke at call 3") {
		t.Fatalf("Run: %v, want ErrInternal naming the panic", err)
	}
	if r.Position != positions[1] {
		t.Fatalf("report %+v, want the checkpoint at %d", r, positions[1])
	}
	if r := runCaughtUp(t, p); r.Position != positions[4] {
		t.Fatalf("after the panic: %+v", r)
	}
}

// ExactlyOnce: the handler's appends commit with the checkpoint; a failed
// call's are dropped; the outputs fold the inputs exactly once.
func TestProjectionExactlyOnceOutputsFoldTheInputs(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		account := typeid.NewV7("account")
		want := int64(0)
		for i := 1; i <= 40; i++ {
			data := binary.LittleEndian.AppendUint64(nil, uint64(i))
			if _, err := s.AppendStream(ctx, account, []*eventstore.WritableEvent{{Type: "deposited", Data: data}},
				eventstore.AppendStreamOptions{}); err != nil {
				t.Fatal(err)
			}
			want += int64(i)
		}
		out := "totals_" + uuid.Must(uuid.NewV7()).String()
		calls := 0
		h := func(_ context.Context, events []*eventstore.Event, tx *Txn) error {
			if tx == nil {
				return errors.New("no transaction in exactly-once mode")
			}
			calls++
			var sum int64
			for _, e := range events {
				sum += int64(binary.LittleEndian.Uint64(e.Data))
			}
			if err := tx.Append(out, []NewEvent{{Type: "summed", Data: binary.LittleEndian.AppendUint64(nil, uint64(sum))}},
				AnyVersion()); err != nil {
				return err
			}
			if _, err := tx.Commit(ctx); !errors.Is(err, ErrInvalidArgument) {
				return fmt.Errorf("the handler's commit: %v, want refused", err)
			}
			if err := tx.Close(); err != nil {
				return err
			}
			if calls == 3 { // after appending: this call's output must not land
				return errRefused
			}
			return nil
		}
		opts := &ProjectionOptions{ExactlyOnce: true, EventTypes: []string{"deposited"}, BatchMax: 7}
		p := newProjection(t, s, "totals", 1, h, opts)
		if _, err := p.Run(ctx, 0); !errors.Is(err, errRefused) {
			t.Fatalf("Run: %v, want the third call's error", err)
		}
		runCaughtUp(t, p)
		it, err := s.ReadAll(ctx, eventstore.ReadAllOptions{})
		var got, outputs int64
		for _, e := range drain(t, it, err) {
			if e.StreamID.String() == out {
				got += int64(binary.LittleEndian.Uint64(e.Data))
				outputs++
			}
		}
		if got != want || outputs != 6 { // 40 events in calls of 7
			t.Fatalf("outputs sum %d in %d events, want %d in 6", got, outputs, want)
		}
	})
}

// A positive budget ends the run once spent; runs resume where it stopped.
func TestProjectionBudgetedRunStopsWithinItsBudget(t *testing.T) {
	s := openBackend(t, "memory")
	appendAcross(t, s, "account", 4, 400)
	var got seen
	h := func(ctx context.Context, events []*eventstore.Event, tx *Txn) error {
		time.Sleep(time.Millisecond)
		return got.handler(ctx, events, tx)
	}
	p := newProjection(t, s, "budgeted", 1, h, &ProjectionOptions{BatchMax: 4})
	start := time.Now()
	r, err := p.Run(ctx, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.CaughtUp || r.Handled == 0 || r.Handled >= 400 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a 10 ms run: %+v in %v", r, time.Since(start))
	}
	runs := 1
	for !r.CaughtUp {
		if r, err = p.Run(ctx, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		runs++
	}
	if got.count() != 400 || runs < 3 {
		t.Fatalf("%d events in %d runs, want 400 once each", got.count(), runs)
	}
}

// A run until wake ends with its context, with Close from another goroutine
// or from the handler, and with the store's close.
func TestProjectionUntilWakeRunEndsWithContextAndCloses(t *testing.T) {
	s := openBackend(t, "memory")
	positions := appendAcross(t, s, "account", 1, 3)
	var got seen
	p := newProjection(t, s, "waiter", 1, got.handler, nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var rep ProjectionReport
	go func() {
		var err error
		rep, err = p.Run(runCtx, -1)
		done <- err
	}()
	waitFor(t, "the catch-up", func() bool { return got.count() == 3 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || rep.Position != positions[2] || !rep.CaughtUp {
			t.Fatalf("Run: %v, %+v; want context.Canceled at %d", err, rep, positions[2])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the context did not end the run")
	}
	if _, err := p.Run(runCtx, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a done context: %v", err)
	}

	// Close from another goroutine.
	go func() {
		_, err := p.Run(ctx, -1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Run ended by Close: %v, want ErrClosed", err)
	}
	if _, err := p.Run(ctx, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := p.Wake(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wake after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Close from inside the handler.
	var self *Projection
	self = newProjection(t, s, "selfcloser", 1, func(context.Context, []*eventstore.Event, *Txn) error {
		return self.Close()
	}, nil)
	if _, err := self.Run(ctx, -1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run closed by its handler: %v", err)
	}

	// The store's close.
	other := newProjection(t, s, "orphan", 1, got.handler, nil)
	go func() {
		_, err := other.Run(ctx, -1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Run after the store's close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the store did not end the run")
	}
}

// Rebuild, catch-up, cutover: the active version moves, the retired one's
// runs end with ErrNotFound, and out-of-order requests are refused.
func TestProjectionRebuildCutoverAndActiveVersion(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		appendAcross(t, s, "order", 2, 20)
		const name = "orders"
		if _, err := s.ActiveProjectionVersion(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("active version before any checkpoint: %v", err)
		}
		var v1, v2 seen
		p1 := newProjection(t, s, name, 1, v1.handler, nil)
		runCaughtUp(t, p1)
		if v, err := s.ActiveProjectionVersion(ctx, name); err != nil || v != 1 {
			t.Fatalf("active version %d, %v; want 1", v, err)
		}
		if err := s.RebuildProjection(ctx, name, 2, "a new read model"); err != nil {
			t.Fatal(err)
		}
		if err := s.RebuildProjection(ctx, name, 1, ""); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("a rebuild to version 1: %v, want ErrInvalidArgument", err)
		}
		p2 := newProjection(t, s, name, 2, v2.handler, nil)
		if err := s.CutoverProjection(ctx, name, 2); !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("cutover before catching up: %v, want ErrVersionMismatch", err)
		}
		runCaughtUp(t, p2)
		if v2.count() < 20 {
			t.Fatalf("the rebuild handled %d events, want the 20 from the first", v2.count())
		}
		if err := s.CutoverProjection(ctx, name, 2); err != nil {
			t.Fatal(err)
		}
		if v, err := s.ActiveProjectionVersion(ctx, name); err != nil || v != 2 {
			t.Fatalf("active version %d, %v; want 2", v, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := p1.Run(ctx, 0)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("the retired version's run: %v, want ErrNotFound", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := s.NewProjection(projection.ID{Name: name, Version: 1}, v1.handler, nil); err == nil {
			t.Fatal("a new projection of the retired version was made")
		}
		if _, _, err := s.LoadCheckpoint(ctx, "orders_v1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the retired version's checkpoint: %v", err)
		}
	})
}

func TestProjectionMisuseEndsInErrors(t *testing.T) {
	s := openBackend(t, "memory")
	h := func(context.Context, []*eventstore.Event, *Txn) error { return nil }
	for _, c := range []struct {
		id   projection.ID
		h    ProjectionHandler
		opts *ProjectionOptions
	}{
		{projection.ID{Name: "ok", Version: 1}, nil, nil},
		{projection.ID{Name: "Bad", Version: 1}, h, nil},
		{projection.ID{Name: "ok", Version: 0}, h, nil},
		{projection.ID{Name: "ok", Version: 1}, h, &ProjectionOptions{BatchMax: -1}},
		{projection.ID{Name: "ok", Version: 1}, h, &ProjectionOptions{StreamPrefix: "a\x00b"}},
		{projection.ID{Name: "ok", Version: 1}, h, &ProjectionOptions{EventTypes: []string{"x\x00"}}},
	} {
		if _, err := s.NewProjection(c.id, c.h, c.opts); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewProjection(%v, %+v): %v, want ErrInvalidArgument", c.id, c.opts, err)
		}
	}
	if err := s.RebuildProjection(ctx, "Bad", 2, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("rebuild of a bad name: %v", err)
	}
	// A wake before a run makes that run return at once.
	p := newProjection(t, s, "early", 1, h, nil)
	if err := p.Wake(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := p.Run(ctx, -1); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a woken projection's run did not return")
	}
	s.Close()
	if _, err := s.NewProjection(projection.ID{Name: "late", Version: 1}, h, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("NewProjection on a closed store: %v", err)
	}
	if _, err := p.Run(ctx, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Run on a closed store: %v", err)
	}
}

// A projection folding deposits, caught up in one run.
func ExampleStore_NewProjection() {
	store, err := Open("memory:", nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	deposits := []*eventstore.WritableEvent{{Type: "deposited", Data: []byte("30")}, {Type: "deposited", Data: []byte("12")}}
	if _, err := store.AppendStream(context.Background(), typeid.NewV7("account"), deposits, eventstore.AppendStreamOptions{}); err != nil {
		panic(err)
	}
	total := 0
	fold := func(_ context.Context, events []*eventstore.Event, _ *Txn) error {
		for _, e := range events {
			n, err := strconv.Atoi(string(e.Data))
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	}
	p, err := store.NewProjection(projection.ID{Name: "balances", Version: 1}, fold,
		&ProjectionOptions{EventTypes: []string{"deposited"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	r, err := p.Run(context.Background(), 0)
	fmt.Println(total, r.Handled, r.CaughtUp, err)
	// Output: 42 2 true <nil>
}
