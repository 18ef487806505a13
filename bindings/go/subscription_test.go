// subscription_test.go: live subscriptions on memory: and file: catch up then
// follow a concurrent writer, start positions, filters, waking, cancelling
// and closing while waiting, and the store closed under a waiting poll.

package est

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/gofrs/uuid/v5"
)

// liveStores runs f on a fresh memory store and a fresh file store.
func liveStores(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Helper()
	for _, backend := range []string{"memory", "file"} {
		t.Run(backend, func(t *testing.T) {
			uri := "memory:"
			if backend == "file" {
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

func newStreamID(t string) string { return t + "_" + uuid.Must(uuid.NewV7()).String() }

func appendTicks(t testing.TB, s *Store, stream string, from, n int) {
	for i := from; i < from+n; i++ {
		if _, err := s.Append(context.Background(), stream, []NewEvent{{Type: "tick", Data: []byte(strconv.Itoa(i))}}, AnyVersion()); err != nil {
			t.Errorf("append: %v", err)
			return
		}
	}
}

// pollN polls until n events arrived (10 s at most).
func pollN(t *testing.T, sub *Subscription, n int) []*eventstore.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var out []*eventstore.Event
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events arrived", len(out), n)
		}
		evs, err := sub.Poll(context.Background(), 200*time.Millisecond)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		out = append(out, evs...)
	}
	return out
}

func TestSubscriptionCatchesUpThenFollowsAConcurrentWriterOnceInOrder(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		stream := newStreamID("order")
		appendTicks(t, s, stream, 0, 50)
		sub, err := s.Subscribe(context.Background(), SubscribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		const total = 300
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); appendTicks(t, s, stream, 50, total-50) }()
		var got []*eventstore.Event
		for ev, err := range sub.Events(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev)
			if len(got) == total {
				break
			}
		}
		wg.Wait()
		for i, ev := range got {
			if ev.StreamVersion != int64(i+1) || string(ev.Data) != strconv.Itoa(i) {
				t.Fatalf("event %d: version %d data %q", i, ev.StreamVersion, ev.Data)
			}
			if i > 0 && *ev.GlobalPosition <= *got[i-1].GlobalPosition {
				t.Fatalf("positions out of order at %d", i)
			}
		}
		if p := sub.Position(); p != *got[total-1].GlobalPosition {
			t.Errorf("Position() = %d, want %d", p, *got[total-1].GlobalPosition)
		}
	})
}

func TestSubscriptionStartsAfterAPositionAndFromTheEnd(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		stream := newStreamID("order")
		appendTicks(t, s, stream, 0, 5)
		all, _ := s.Subscribe(context.Background(), SubscribeOptions{})
		defer all.Close()
		evs := pollN(t, all, 5)
		sub, err := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: *evs[2].GlobalPosition})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if got := pollN(t, sub, 2); got[0].StreamVersion != 4 || got[1].StreamVersion != 5 {
			t.Errorf("after position: versions %d, %d", got[0].StreamVersion, got[1].StreamVersion)
		}
		end, err := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: PositionEnd})
		if err != nil {
			t.Fatal(err)
		}
		defer end.Close()
		if evs, err := end.Poll(context.Background(), 0); err != nil || len(evs) != 0 {
			t.Fatalf("from the end: %d events, %v", len(evs), err)
		}
		appendTicks(t, s, stream, 5, 2)
		if got := pollN(t, end, 2); got[0].StreamVersion != 6 || got[1].StreamVersion != 7 {
			t.Errorf("from the end: versions %d, %d", got[0].StreamVersion, got[1].StreamVersion)
		}
	})
}

func TestSubscriptionFiltersByStreamPrefixAndEventTypes(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		order, user := newStreamID("order"), newStreamID("user")
		bg := context.Background()
		s.Append(bg, order, []NewEvent{{Type: "placed", Data: []byte("1")}, {Type: "paid", Data: []byte("2"), Metadata: map[string]string{"b": "2", "a": "1"}}}, AnyVersion())
		s.Append(bg, user, []NewEvent{{Type: "registered", Data: []byte("3")}, {Type: "paid", Data: []byte("4")}}, AnyVersion())
		data := func(evs []*eventstore.Event) string {
			out := ""
			for _, e := range evs {
				out += string(e.Data)
			}
			return out
		}
		cases := []struct {
			opts SubscribeOptions
			want string
		}{
			{SubscribeOptions{StreamPrefix: "order_"}, "12"},
			{SubscribeOptions{EventTypes: []string{"paid", "registered"}}, "234"},
			{SubscribeOptions{StreamPrefix: "user_", EventTypes: []string{"paid"}}, "4"},
		}
		for _, c := range cases {
			sub, err := s.Subscribe(bg, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := pollN(t, sub, len(c.want))
			if more, _ := sub.Poll(bg, 50*time.Millisecond); len(more) != 0 || data(got) != c.want {
				t.Errorf("%+v: got %q and %d more, want %q", c.opts, data(got), len(more), c.want)
			}
			if c.opts.StreamPrefix == "order_" && fmt.Sprint(got[1].Metadata) != "map[a:1 b:2]" {
				t.Errorf("metadata = %v", got[1].Metadata)
			}
			sub.Close()
		}
	})
}

func TestSubscriptionWakeFromAnotherGoroutineReturnsAWaitingPoll(t *testing.T) {
	s := openLive(t)
	sub, _ := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: PositionEnd})
	defer sub.Close()
	go func() { time.Sleep(50 * time.Millisecond); sub.Wake() }()
	start := time.Now()
	evs, err := sub.Poll(context.Background(), -1)
	if err != nil || len(evs) != 0 {
		t.Fatalf("woken poll: %d events, %v", len(evs), err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("wake took too long")
	}
}

func TestSubscriptionCancelledContextEndsAWaitingIteration(t *testing.T) {
	s := openLive(t)
	sub, _ := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: PositionEnd})
	defer sub.Close()
	c, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	var last error
	n := 0
	for _, err := range sub.Events(c) {
		n++
		last = err
	}
	if n != 1 || !errors.Is(last, context.Canceled) {
		t.Fatalf("got %d yields, last error %v; want one context.Canceled", n, last)
	}
	if _, err := sub.Poll(c, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("Poll with a cancelled context: %v", err)
	}
	// Still usable with a live context.
	appendTicks(t, s, newStreamID("order"), 0, 1)
	if got := pollN(t, sub, 1); len(got) != 1 {
		t.Errorf("after cancel: %d events", len(got))
	}
}

func TestSubscriptionCloseWhileWaitingEndsTheIteration(t *testing.T) {
	s := openLive(t)
	sub, _ := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: PositionEnd})
	done := make(chan int)
	go func() {
		n := 0
		for range sub.Events(context.Background()) {
			n++
		}
		done <- n
	}()
	time.Sleep(50 * time.Millisecond)
	sub.Close()
	select {
	case n := <-done:
		if n != 0 {
			t.Errorf("%d yields after close", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the waiting iteration")
	}
	if _, err := sub.Poll(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Poll after Close: %v", err)
	}
	if err := sub.Wake(); !errors.Is(err, ErrClosed) {
		t.Errorf("Wake after Close: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSubscriptionStoreClosedUnderAWaitingPollIsErrClosed(t *testing.T) {
	liveStores(t, func(t *testing.T, s *Store) {
		sub, _ := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: PositionEnd})
		defer sub.Close()
		done := make(chan error)
		go func() {
			var last error
			for _, err := range sub.Events(context.Background()) {
				last = err
			}
			done <- last
		}()
		time.Sleep(50 * time.Millisecond)
		s.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("waiting iteration ended with %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("closing the store did not end the waiting iteration")
		}
		if _, err := s.Subscribe(context.Background(), SubscribeOptions{}); !errors.Is(err, ErrClosed) {
			t.Errorf("Subscribe on a closed store: %v", err)
		}
	})
}

func TestSubscriptionRefusesBadOptions(t *testing.T) {
	s := openLive(t)
	for _, o := range []SubscribeOptions{{AfterPosition: -2}, {EventTypes: []string{"_bad"}}, {StreamPrefix: "a\x00"}} {
		if _, err := s.Subscribe(context.Background(), o); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if fd, err := func() (int, error) {
		sub, _ := s.Subscribe(context.Background(), SubscribeOptions{})
		defer sub.Close()
		return sub.FD()
	}(); err != nil || fd < 0 {
		t.Errorf("FD() = %d, %v", fd, err)
	}
}

func TestSubscriptionFDPollsReadableWhenEventsArrive(t *testing.T) {
	s := openLive(t)
	sub, _ := s.Subscribe(context.Background(), SubscribeOptions{AfterPosition: PositionEnd})
	defer sub.Close()
	fd, err := sub.FD()
	if err != nil {
		t.Fatal(err)
	}
	appendTicks(t, s, newStreamID("order"), 0, 1)
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	tv := syscall.Timeval{Sec: 5}
	if n, err := syscall.Select(fd+1, &set, nil, nil, &tv); n != 1 || err != nil {
		t.Fatalf("select(fd) = %d, %v: not readable", n, err)
	}
	if evs, err := sub.Poll(context.Background(), 0); len(evs) != 1 || err != nil {
		t.Fatalf("Poll after readable: %d events, %v", len(evs), err)
	}
}

func openLive(t *testing.T) *Store {
	t.Helper()
	s, err := Open("memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
