// The host's options and calls (doc/abi.md "Hosts"): no library threads with
// Store::maintain, the host's clock and randomness stamping events and IDs,
// callbacks that panic without unwinding into C, and cancel with nothing running.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use common::{stream, TempDir};
use estoria::{AppendOptions, Batch, ErrorKind, Host, MaintainReport, ReadOptions, Store, StoreOptions, Threads};

const START: i64 = 1_700_000_000_000_000_000;

fn one_event() -> Batch {
    let mut b = Batch::new().unwrap();
    b.add("opened", b"x", None).unwrap();
    b
}

#[test]
fn threads_none_maintain_drains_to_nothing_pending() {
    let dir = TempDir::new("host-none");
    let options = StoreOptions { threads: Threads::None, ..Default::default() };
    let store = Store::open(&format!("file:{}", dir.0.display()), &options).unwrap();
    store.append(&stream("account"), &one_event(), &AppendOptions::default()).unwrap();
    let mut report = store.maintain(1_000_000).unwrap();
    for _ in 0..100 {
        if !report.pending {
            break;
        }
        report = store.maintain(1_000_000).unwrap();
    }
    assert_eq!(report, MaintainReport::default());
    assert_eq!(store.maintain(-1).unwrap_err().kind(), ErrorKind::InvalidArgument);
    store.cancel().unwrap();
    store.verify(None).unwrap();
}

#[test]
fn the_hosts_clock_and_randomness_stamp_events_and_ids() {
    let now = Arc::new(AtomicI64::new(START));
    let clock = Arc::clone(&now);
    let host = Host::new()
        .clock(move || clock.fetch_add(1_000_000, Ordering::SeqCst) + 1_000_000)
        .random_bytes(|buf| buf.fill(0xAB));
    let store = Store::open_with_host("memory:", &StoreOptions::default(), Some(host)).unwrap();
    let id = stream("account");
    store.append(&id, &one_event(), &AppendOptions::default()).unwrap();
    let mut it = store.read_stream(&id, &ReadOptions::default()).unwrap();
    let e = it.next().unwrap().unwrap();
    assert!(e.timestamp_ns() > START && e.timestamp_ns() <= now.load(Ordering::SeqCst));
    let bytes = e.id().0;
    assert_eq!(&bytes[9..], &[0xABu8; 7]);
    let ms = bytes[..6].iter().fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
    assert_eq!(ms, e.timestamp_ns() / 1_000_000);
}

#[test]
fn a_panicking_clock_does_not_unwind_into_c() {
    let host = Host::new().clock(|| panic!("the clock broke")).random_bytes(|_| panic!("so did randomness"));
    let store = Store::open_with_host("memory:", &StoreOptions::default(), Some(host)).unwrap();
    let id = stream("account");
    store.append(&id, &one_event(), &AppendOptions::default()).unwrap();
    let mut it = store.read_stream(&id, &ReadOptions::default()).unwrap();
    assert!(it.next().unwrap().unwrap().timestamp_ns() > START, "the system's clock stood in");
}
