// bench_test.go: throughput through the binding beside Estoria's own memory
// store, on the workload of bench/estoria_bench.cc (100-byte payload, type
// "deposited", two metadata pairs per event). Not a test: run
//
//   go test -run XXX -bench . -benchtime 3x      (reads)
//
// ReadStream100k reads a 100,000-event stream per iteration; AppendBatch100
// appends 100 events per iteration. Both report events/s and ns/event.

package est

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/eventstore/memory"
	"github.com/go-estoria/estoria/typeid"
)

const benchStreamEvents = 100_000

func benchBatch(n int) []*eventstore.WritableEvent {
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = byte(i)
	}
	out := make([]*eventstore.WritableEvent, n)
	for i := range out {
		out[i] = &eventstore.WritableEvent{Type: "deposited", Data: payload,
			Metadata: map[string]string{"correlation": "c-1", "user": "u-1"}}
	}
	return out
}

// benchStores are the stores compared: the binding on memory and on file
// (SyncNone: the group-commit fsync is the file store's bench, not ours), and
// Estoria's in-memory event store.
func benchStores(b *testing.B) []struct {
	name  string
	store eventstore.Store
} {
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
	return []struct {
		name  string
		store eventstore.Store
	}{{"binding_memory", mem}, {"binding_file", file}, {"estoria_memory", estoriaMem}}
}

func report(b *testing.B, events int, elapsed time.Duration) {
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(events), "ns/event")
}

func BenchmarkReadStream100k(b *testing.B) {
	for _, s := range benchStores(b) {
		b.Run(s.name, func(b *testing.B) {
			id := typeid.NewV7("account")
			batch := benchBatch(100)
			for i := 0; i < benchStreamEvents; i += len(batch) {
				if err := s.store.AppendStream(ctx, id, batch, eventstore.AppendStreamOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				it, err := s.store.ReadStream(ctx, id, eventstore.ReadStreamOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := it.Next(ctx)
					if err != nil {
						break
					}
					n++
				}
				it.Close(ctx)
				if n != benchStreamEvents {
					b.Fatalf("read %d events", n)
				}
			}
			report(b, b.N*benchStreamEvents, time.Since(start))
		})
	}
}

func BenchmarkAppendBatch100(b *testing.B) {
	for _, s := range benchStores(b) {
		b.Run(s.name, func(b *testing.B) {
			batch := benchBatch(100)
			id := typeid.NewV7("account")
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := s.store.AppendStream(ctx, id, batch, eventstore.AppendStreamOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			report(b, b.N*len(batch), time.Since(start))
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
	batch := benchBatch(100)
	for i := 0; i < benchStreamEvents; i += len(batch) {
		if err := s.AppendStream(ctx, id, batch, eventstore.AppendStreamOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
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
	report(b, b.N*benchStreamEvents, time.Since(start))
}
