// bench_test.go: throughput through the binding beside Estoria v0.12.0's own
// memory store and beside C, on the workload of bench/estoria_bench.cc
// (100-byte payload, type "deposited", content type "application/json", two
// metadata pairs per event). Not a test: run
//
//   go test -run XXX -bench . -benchmem -benchtime 3x
//
// ReadStream100k reads a 100,000-event stream per iteration; AppendBatch100
// and AppendBatch1 append 100 events, and one, per iteration. Both report events/s, ns/event and
// allocs/event, for each target: the binding on memory and on file, Estoria's
// memory store, and the same estoria stores driven from C alone (bench_c.go),
// the floor the binding's crossing cost is measured against.

package est

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/eventstore/memory"
	"github.com/go-estoria/estoria/typeid"
)

const benchStreamEvents = 100_000

var benchPayload = func() []byte {
	p := make([]byte, 100)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}()

func benchBatch(n int) []*eventstore.WritableEvent {
	out := make([]*eventstore.WritableEvent, n)
	for i := range out {
		out[i] = &eventstore.WritableEvent{Type: "deposited", Data: benchPayload, DataContentType: "application/json",
			Metadata: map[string]string{"correlation": "c-1", "user": "u-1"}}
	}
	return out
}

// A benchTarget runs the two workloads one way: appends of a batch of n
// events, and a read of a whole stream that returns how many it read.
type benchTarget struct {
	name   string
	append func(id typeid.ID, n int) error
	read   func(id typeid.ID) (int, error)
}

// viaGo drives an eventstore.Store through Estoria's interfaces.
func viaGo(name string, s eventstore.Store) benchTarget {
	batches := map[int][]*eventstore.WritableEvent{}
	return benchTarget{
		name: name,
		append: func(id typeid.ID, n int) error {
			if batches[n] == nil {
				batches[n] = benchBatch(n)
			}
			_, err := s.AppendStream(ctx, id, batches[n], eventstore.AppendStreamOptions{})
			return err
		},
		read: func(id typeid.ID) (int, error) {
			it, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
			if err != nil {
				return 0, err
			}
			defer it.Close(ctx)
			n := 0
			for {
				if _, err := it.Next(ctx); err == eventstore.ErrEndOfEventStream {
					return n, nil
				} else if err != nil {
					return n, err
				}
				n++
			}
		},
	}
}

// viaC drives the same estoria store from C alone.
func viaC(name string, s *Store) benchTarget {
	return benchTarget{
		name:   name,
		append: func(id typeid.ID, n int) error { return s.cAppend(id.String(), benchPayload, n) },
		read: func(id typeid.ID) (int, error) {
			n, _, err := s.cReadStream(id.String())
			return int(n), err
		},
	}
}

// benchTargets opens the stores compared: estoria on memory and on file
// (SyncNone: the group-commit fsync is the file store's bench, not ours), each
// through the binding and from C, and Estoria's in-memory event store.
func benchTargets(b *testing.B) []benchTarget {
	mem, err := Open("memory:", nil)
	if err != nil {
		b.Fatal(err)
	}
	file, err := Open("file:"+filepath.Join(b.TempDir(), "store"), &Options{SyncMode: SyncNone})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mem.Close(); file.Close() })
	estoriaMem, err := memory.NewEventStore()
	if err != nil {
		b.Fatal(err)
	}
	return []benchTarget{
		viaGo("binding_memory", mem), viaGo("binding_file", file), viaGo("estoria_memory", estoriaMem),
		viaC("c_memory", mem), viaC("c_file", file),
	}
}

// mallocs is the process's count of heap allocations so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// report adds the per-event metrics; allocs counts from a mallocs() taken
// when the timer was reset.
func report(b *testing.B, events int, elapsed time.Duration, allocs uint64) {
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(mallocs()-allocs)/float64(events), "allocs/event")
}

func BenchmarkReadStream100k(b *testing.B) {
	for _, target := range benchTargets(b) {
		b.Run(target.name, func(b *testing.B) {
			id := typeid.NewV7("account")
			for i := 0; i < benchStreamEvents; i += 100 {
				if err := target.append(id, 100); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			allocs := mallocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if n, err := target.read(id); err != nil || n != benchStreamEvents {
					b.Fatalf("read %d events: %v", n, err)
				}
			}
			report(b, b.N*benchStreamEvents, time.Since(start), allocs)
		})
	}
}

func BenchmarkAppendBatch100(b *testing.B) { benchAppend(b, 100) }

// BenchmarkAppendBatch1 is one event per append: the per-call costs
// (crossing, lock, plan) that batching amortizes.
func BenchmarkAppendBatch1(b *testing.B) { benchAppend(b, 1) }

func benchAppend(b *testing.B, batch int) {
	for _, target := range benchTargets(b) {
		b.Run(target.name, func(b *testing.B) {
			id := typeid.NewV7("account")
			b.ResetTimer()
			allocs := mallocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := target.append(id, batch); err != nil {
					b.Fatal(err)
				}
			}
			report(b, b.N*batch, time.Since(start), allocs)
		})
	}
}

// BenchmarkReadStream100kCrossingOnly is the binding's read with the views
// counted, not converted: the cost of the boundary itself (one cgo call per
// 256 events plus the C iterator), beside which ReadStream100k shows the cost
// of building Estoria's Event values (allocations, the metadata map).
func BenchmarkReadStream100kCrossingOnly(b *testing.B) {
	s, err := Open("memory:", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	id := typeid.NewV7("account")
	target := viaGo("binding_memory", s)
	for i := 0; i < benchStreamEvents; i += 100 {
		if err := target.append(id, 100); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	allocs := mallocs()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		it, err := s.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n, err := it.(*Iterator).countRest()
		it.Close(ctx)
		if err != nil || n != benchStreamEvents {
			b.Fatalf("read %d events: %v", n, err)
		}
	}
	report(b, b.N*benchStreamEvents, time.Since(start), allocs)
}
