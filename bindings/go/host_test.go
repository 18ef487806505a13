package est

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/typeid"
)

// The host's clock and randomness stamp events and IDs; a panicking clock
// never unwinds into C.
func TestHostClockAndRandomnessStampEventsAndIDs(t *testing.T) {
	const start = int64(1_700_000_000_000_000_000)
	now := start
	s, err := Open("memory:", &Options{
		Clock: func() int64 { now += int64(time.Millisecond); return now },
		Random: func(b []byte) {
			for i := range b {
				b[i] = 0xAB
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := typeid.NewV4("account")
	events := mustAppend(t, s, id, 2, eventstore.AppendStreamOptions{})
	for _, e := range events {
		ts := e.Timestamp.UnixNano()
		if ts <= start || ts > now {
			t.Errorf("timestamp %d is not the host's clock (%d..%d]", ts, start, now)
		}
		u := e.ID.UUID.Bytes()
		for i := 9; i < 16; i++ {
			if u[i] != 0xAB {
				t.Fatalf("ID byte %d = %#x, not the host's randomness", i, u[i])
			}
		}
	}

	broken, err := Open("memory:", &Options{Clock: func() int64 { panic("the clock broke") }})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	if got := mustAppend(t, broken, typeid.NewV4("account"), 1, eventstore.AppendStreamOptions{}); got[0].Timestamp.UnixNano() <= start {
		t.Errorf("the system's clock should stand in after a panic")
	}
}

// ThreadsNone with Maintain, a stepped compaction and Cancel with nothing running.
func TestHostMaintainSchedulesAndCancels(t *testing.T) {
	s, err := Open("file:"+filepath.Join(t.TempDir(), "store")+"?segment_bytes=8192", &Options{Threads: ThreadsNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := typeid.NewV4("account")
	for i := 0; i < 40; i++ {
		mustAppend(t, s, id, 2, eventstore.AppendStreamOptions{})
	}
	if err := s.Cancel(); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, id, eventstore.DeleteStreamOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.ScheduleCompaction(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		r, err := s.Maintain(time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Compacting && !r.Pending {
			break
		}
		if i > 10000 {
			t.Fatal("maintenance never finished")
		}
	}
	if _, err := s.Maintain(-time.Millisecond); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a negative budget: %v", err)
	}
}
