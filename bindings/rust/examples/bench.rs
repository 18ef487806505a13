// The crate's side of the binding bench (benches/run.sh runs it next to
// benches/c_bench.c, which does the same work straight from C):
//   read:   events read per second from one 100,000-event stream in a
//           memory store (lending iterator, 64 views per crossing);
//   append: events appended per second in batches of 100 (one prebuilt
//           Batch appended again and again, EXPECT_ANY, memory store).
// Each figure is the best of READ_REPS (reads are short) or REPS runs. Output: "rust <name> <per second>".
use std::time::Instant;

use estoria::{AppendOptions, Batch, ReadOptions, Store, StoreOptions};

const READ_EVENTS: usize = 100_000;
const BATCH: usize = 100;
const APPEND_BATCHES: usize = 2_000;
const REPS: usize = 7;
const READ_REPS: usize = 50;
const STREAM: &str = "bench_00000000-0000-7000-8000-000000000001";

fn batch() -> Batch {
    let mut b = Batch::new().unwrap();
    let payload = [b'x'; 64];
    for _ in 0..BATCH {
        b.add("bench_event", &payload, None).unwrap();
    }
    b
}

fn main() {
    let opts = StoreOptions::default();
    let b = batch();

    let store = Store::open("memory:", &opts).unwrap();
    for _ in 0..READ_EVENTS / BATCH {
        store.append(STREAM, &b, &AppendOptions::default()).unwrap();
    }
    let mut best_read = f64::MAX;
    for _ in 0..READ_REPS {
        let t = Instant::now();
        let mut it = store.read_stream(STREAM, &ReadOptions::default()).unwrap();
        let (mut n, mut sum) = (0usize, 0i64);
        while let Some(e) = it.next() {
            let e = e.unwrap();
            sum += e.stream_version() + e.data().len() as i64;
            n += 1;
        }
        let dt = t.elapsed().as_secs_f64();
        assert_eq!(n, READ_EVENTS);
        std::hint::black_box(sum);
        best_read = best_read.min(dt);
    }
    drop(store);

    let mut best_append = f64::MAX;
    for _ in 0..REPS {
        let store = Store::open("memory:", &opts).unwrap();
        let t = Instant::now();
        for _ in 0..APPEND_BATCHES {
            store.append(STREAM, &b, &AppendOptions::default()).unwrap();
        }
        best_append = best_append.min(t.elapsed().as_secs_f64());
    }

    println!("rust read_events_per_s {:.0}", READ_EVENTS as f64 / best_read);
    println!("rust append_events_per_s {:.0}", (APPEND_BATCHES * BATCH) as f64 / best_append);
}
