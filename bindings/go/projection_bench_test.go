// projection_bench_test.go: a projection catching up over the same N events
// (default 200,000; ESTORIA_BENCH_PROJECTION_EVENTS=n for another count)
// through this binding's projection engine and through Estoria v0.12.0's own
// projection processor, in one run:
//
//   go test -run XXX -bench ProjectionCatchUp -benchtime 3x
//
// The events have bench/projection_bench.cc's shape (bench/event_shape.h:
// 100-byte payload, type "deposited", content type
// application/octet-stream, two metadata pairs), appended in batches of 1000
// over 100 streams. Each handler counts the events and sums their data
// bytes. Targets, each a fresh projection (a new version) per iteration:
//
//   estoria_processor/memory      Estoria's processor.New over its memory
//                                 event store and memory checkpoint store:
//                                 one ReadAll (its default batch size, 0),
//                                 a checkpoint every 4096 events; the base
//   estoria_processor/binding_memory  the same processor over this binding's
//                                 memory store (*Store as its GlobalReader
//                                 and its checkpoint store)
//   go_handler/<store>/<mode>     the engine (est_projection_*) with a Go
//                                 handler: calls of 4096 events, a checkpoint
//                                 per call; exactly_once appends one output
//                                 per call through the handler's transaction
//   c_handler/memory/<mode>       the same engine with bench/projection_bench.cc's
//                                 C handler (bench_c.go), one crossing for the
//                                 whole catch-up: the engine's own speed
//
// Each reports events/s, ns/event, allocs/event and x_estoria (its events/s
// over Estoria's processor's); a table at the end sums the ratios up.

package est

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-estoria/estoria/eventstore"
	"github.com/go-estoria/estoria/eventstore/memory"
	"github.com/go-estoria/estoria/projection"
	"github.com/go-estoria/estoria/projection/checkpointstore"
	cpmemory "github.com/go-estoria/estoria/projection/checkpointstore/memory"
	"github.com/go-estoria/estoria/projection/processor"
	"github.com/go-estoria/estoria/typeid"
	"github.com/gofrs/uuid/v5"
)

const projectionBenchBatch = 4096

// projectionBenchBase is the target the others are compared with.
const projectionBenchBase = "estoria_processor/memory"

func projectionBenchEvents(b *testing.B) int {
	n := 200_000
	if v := os.Getenv("ESTORIA_BENCH_PROJECTION_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 || n%1000 != 0 {
			b.Fatalf("ESTORIA_BENCH_PROJECTION_EVENTS=%q: want a multiple of 1000", v)
		}
	}
	return n
}

// fillCommonShape appends n events of the common shape in batches of 1000
// over 100 streams.
func fillCommonShape(b *testing.B, s eventstore.StreamWriter, n int) {
	payload := make([]byte, 100)
	for i := range payload {
		payload[i] = byte(i*7 + 1)
	}
	batch := make([]*eventstore.WritableEvent, 1000)
	for i := range batch {
		batch[i] = &eventstore.WritableEvent{Type: "deposited", Data: payload, DataContentType: "application/octet-stream",
			Metadata: map[string]string{"correlation_id": "c-0190f3c4-8d1e", "user": "bench"}}
	}
	streams := make([]typeid.ID, 100)
	for i := range streams {
		streams[i] = typeid.New("account", uuid.Must(uuid.FromString(fmt.Sprintf("0190f3c4-8d1e-7c3a-9b2f-%012x", i))))
	}
	for i := 0; i < n/1000; i++ {
		if _, err := s.AppendStream(context.Background(), streams[i%100], batch, eventstore.AppendStreamOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTotals is the Go handler's work: a count and a byte sum of the
// inputs, passing over its own outputs.
type benchTotals struct {
	events, bytes int64
	out           string
	buf           []byte
}

func (t *benchTotals) handle(_ context.Context, events []*eventstore.Event, tx *Txn) error {
	before := t.events
	for _, e := range events {
		if e.ID.Type == "totals" {
			continue
		}
		t.events++
		t.bytes += int64(len(e.Data))
	}
	if tx != nil && t.events > before {
		t.buf = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(t.buf[:0], uint64(t.events)), uint64(t.bytes))
		return tx.Append(t.out, []NewEvent{{Type: "totals", Data: t.buf}}, AnyVersion())
	}
	return nil
}

func BenchmarkProjectionCatchUp(b *testing.B) {
	n := projectionBenchEvents(b)
	setup := time.Now()
	estoriaEvents, err := memory.NewEventStore()
	if err != nil {
		b.Fatal(err)
	}
	fillCommonShape(b, estoriaEvents, n)
	mem, err := Open("memory:", nil)
	if err != nil {
		b.Fatal(err)
	}
	file, err := Open("file:"+filepath.Join(b.TempDir(), "store"), &Options{SyncMode: SyncNone})
	if err != nil {
		b.Fatal(err)
	}
	defer mem.Close()
	defer file.Close()
	fillCommonShape(b, mem, n)
	fillCommonShape(b, file, n)
	if err := file.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("projection catch-up: %d events of the common shape in each store (setup %v)\n", n,
		time.Since(setup).Round(time.Millisecond))

	rates := map[string]float64{}
	var order []string
	version := 0
	out := "totals_" + uuid.Must(uuid.NewV7()).String()
	// run measures one target: catchUp makes a fresh projection, runs it
	// until caught up and returns the events its handler counted.
	run := func(name string, catchUp func(version int) (int64, error)) {
		b.Run(name, func(b *testing.B) {
			allocs := mallocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				version++
				got, err := catchUp(version)
				if err != nil {
					b.Fatal(err)
				}
				if got != int64(n) {
					b.Fatalf("the handler counted %d events, want %d", got, n)
				}
			}
			elapsed := time.Since(start)
			report(b, b.N*n, elapsed, allocs)
			rate := float64(b.N*n) / elapsed.Seconds()
			if base := rates[projectionBenchBase]; base > 0 && name != projectionBenchBase {
				b.ReportMetric(rate/base, "x_estoria")
			}
			if _, ok := rates[name]; !ok {
				order = append(order, name)
			}
			rates[name] = rate
		})
	}

	// Estoria's processor until it reports caught up; its handler passes
	// over the exactly-once runs' outputs, as the others do.
	processorCatchUp := func(events eventstore.GlobalReader, checkpoints checkpointstore.Store, version int) (int64, error) {
		var count, bytes int64
		h := projection.EventHandlerFunc(func(_ context.Context, e *eventstore.Event) error {
			if e.ID.Type != "totals" {
				count++
				bytes += int64(len(e.Data))
			}
			return nil
		})
		p, err := processor.New(events, checkpoints, projection.ID{Name: "bench_totals", Version: version}, h,
			processor.WithCheckpointEvery(projectionBenchBatch), processor.WithPollInterval(time.Hour))
		if err != nil {
			return 0, err
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(runCtx) }()
		select {
		case <-p.CaughtUp():
		case err := <-done:
			cancel()
			return 0, err
		}
		cancel()
		<-done
		return count, nil
	}
	run(projectionBenchBase, func(version int) (int64, error) {
		return processorCatchUp(estoriaEvents, cpmemory.NewCheckpointStore(), version)
	})
	run("estoria_processor/binding_memory", func(version int) (int64, error) {
		return processorCatchUp(mem, mem, version)
	})
	for _, target := range []struct {
		name string
		s    *Store
	}{{"memory", mem}, {"file", file}} {
		for _, exactlyOnce := range []bool{false, true} {
			mode := map[bool]string{false: "at_least_once", true: "exactly_once"}[exactlyOnce]
			s := target.s
			run("go_handler/"+target.name+"/"+mode, func(version int) (int64, error) {
				t := &benchTotals{out: out}
				p, err := s.NewProjection(projection.ID{Name: "bench_totals", Version: version}, t.handle,
					&ProjectionOptions{BatchMax: projectionBenchBatch, ExactlyOnce: exactlyOnce})
				if err != nil {
					return 0, err
				}
				defer p.Close()
				for {
					r, err := p.Run(ctx, 0)
					if err != nil {
						return 0, err
					}
					if r.CaughtUp {
						return t.events, nil
					}
				}
			})
		}
	}
	for _, exactlyOnce := range []bool{false, true} {
		mode := map[bool]string{false: "at_least_once", true: "exactly_once"}[exactlyOnce]
		run("c_handler/memory/"+mode, func(version int) (int64, error) {
			events, _, err := mem.cProjectionCatchUp("bench_totals", version, exactlyOnce, projectionBenchBatch, out)
			return events, err
		})
	}

	base := rates[projectionBenchBase]
	if base == 0 {
		return
	}
	// b.Log of a benchmark with sub-benchmarks is not shown: print.
	var sum strings.Builder
	fmt.Fprintf(&sum, "projection catch-up over %d events: events/s, and x Estoria's processor on its memory store\n", n)
	for _, name := range order {
		fmt.Fprintf(&sum, "  %-34s %10.0f  %7.2fx\n", name, rates[name], rates[name]/base)
	}
	fmt.Print(sum.String())
}
