// Store-level behaviour through the safe API, on `memory:` and on a `file:`
// store: append, reads (stream, reverse, bounded, global, batched), delete,
// snapshots, stats/verify/sync, error mapping, and misuse ending in an error.

mod common;

use common::{stores, stream, TempDir};
use estoria::{
    parse_id, AppendOptions, Batch, CompactReport, Direction, ErrorKind, EventIter, Expect, ReadAllOptions,
    ReadOptions, Store, StoreOptions, Uuid,
};

fn batch_of(n: usize, prefix: &str) -> Batch {
    let mut b = Batch::new().unwrap();
    for i in 0..n {
        b.add("thing_happened", format!("{prefix}{i}").as_bytes(), Some("text/plain")).unwrap();
    }
    b
}

fn versions(it: &mut EventIter) -> Vec<i64> {
    let mut out = Vec::new();
    while let Some(e) = it.next() {
        out.push(e.unwrap().stream_version());
    }
    out
}

#[test]
fn append_then_read_returns_every_field() {
    for (kind, store, _dir) in stores("fields") {
        let id = stream("order");
        let mut b = Batch::new().unwrap();
        b.add("order_placed", b"payload", Some("application/json")).unwrap();
        b.add_metadata("b", "2").unwrap();
        b.add_metadata("a", "1").unwrap();
        b.add("order_paid", b"", None).unwrap();
        let r = store.append(&id, &b, &AppendOptions::default()).unwrap();
        assert_eq!((r.first_version, r.last_version, r.actual_version), (1, 2, 2), "{kind}");
        assert!(r.first_position > 0 && r.last_position > r.first_position, "{kind}");

        let events = store.read_stream(&id, &ReadOptions::default()).unwrap().collect_recorded().unwrap();
        assert_eq!(events.len(), 2, "{kind}");
        let (t, u) = parse_id(&id).unwrap();
        let e = &events[0];
        assert_eq!(e.event_type, "order_placed");
        assert_eq!((e.stream_type.as_str(), e.stream_uuid), (t.as_str(), u));
        assert_eq!(e.data, b"payload");
        assert_eq!(e.content_type, b"application/json");
        assert_eq!(e.metadata, vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
        assert_eq!(e.global_position, r.first_position);
        assert!(e.timestamp_ns > 0);
        assert_ne!(e.id, Uuid::default());
        assert_eq!(events[1].data, b"");
        assert_eq!(events[1].content_type, b"");
        assert_eq!(events[1].stream_version, 2);

        // The view gives the stream ID and the FlatBuffers Event, built on
        // request where the store keeps compact records: its root offset
        // points inside it, and the payload's bytes are in it.
        let mut it = store.read_stream(&id, &ReadOptions::default()).unwrap();
        let ev = it.next().unwrap().unwrap();
        assert_eq!(ev.stream_id(), id);
        let fb = ev.flatbuffer().unwrap();
        let bytes = fb.as_bytes();
        assert!(bytes.len() > ev.data().len());
        let root = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert!(root < bytes.len());
        assert!(bytes.windows(ev.data().len().max(1)).any(|w| w == ev.data()));
        assert_eq!(ev.content_type_str(), Some("application/json"));
    }
}

#[test]
fn written_iterator_matches_a_later_read() {
    for (kind, store, _dir) in stores("written") {
        let id = stream("order");
        let (r, mut written) = store.append_written(&id, &batch_of(3, "w"), &AppendOptions::default()).unwrap();
        assert_eq!(r.last_version, 3);
        let a = written.collect_recorded().unwrap();
        let b = store.read_stream(&id, &ReadOptions::default()).unwrap().collect_recorded().unwrap();
        assert_eq!(a, b, "{kind}");
    }
}

#[test]
fn reads_honour_direction_bounds_and_count() {
    for (kind, store, _dir) in stores("bounds") {
        let id = stream("order");
        store.append(&id, &batch_of(10, "x"), &AppendOptions::default()).unwrap();
        let fwd = ReadOptions { after_version: 3, count: 4, ..Default::default() };
        assert_eq!(versions(&mut store.read_stream(&id, &fwd).unwrap()), vec![4, 5, 6, 7], "{kind}");
        let rev = ReadOptions { direction: Direction::Reverse, after_version: 5, count: 2, ..Default::default() };
        assert_eq!(versions(&mut store.read_stream(&id, &rev).unwrap()), vec![5, 4], "{kind}");
        let past = ReadOptions { after_version: 10, ..Default::default() };
        assert!(store.read_stream(&id, &past).unwrap().next().is_none(), "{kind}");
    }
}

#[test]
fn iteration_crosses_in_batches_and_ends_for_good() {
    for (kind, store, _dir) in stores("batches") {
        let id = stream("order");
        store.append(&id, &batch_of(100, "b"), &AppendOptions::default()).unwrap();
        let mut it = store.read_stream(&id, &ReadOptions::default()).unwrap();
        it.set_batch_size(7);
        let mut sizes = Vec::new();
        let mut seen = Vec::new();
        while let Some(batch) = it.next_batch() {
            let batch = batch.unwrap();
            sizes.push(batch.len());
            seen.extend(batch.iter().map(|e| e.stream_version()));
        }
        assert_eq!(seen, (1..=100).collect::<Vec<_>>(), "{kind}");
        assert!(sizes.iter().all(|&n| (1..=7).contains(&n)), "{kind}: {sizes:?}");
        // After the end, every later call is the end again.
        assert!(it.next().is_none());
        assert!(it.next_batch().is_none());

        let mut count = 0;
        store.read_stream(&id, &ReadOptions::default()).unwrap().for_each(|_| count += 1).unwrap();
        assert_eq!(count, 100);
    }
}

#[test]
fn read_all_is_in_global_order_across_streams() {
    for (kind, store, _dir) in stores("all") {
        let a = stream("order");
        let b = stream("account");
        store.append(&a, &batch_of(2, "a"), &AppendOptions::default()).unwrap();
        store.append(&b, &batch_of(2, "b"), &AppendOptions::default()).unwrap();
        store.append(&a, &batch_of(1, "c"), &AppendOptions::default()).unwrap();
        let all = store.read_all(&ReadAllOptions::default()).unwrap().collect_recorded().unwrap();
        let data: Vec<_> = all.iter().map(|e| String::from_utf8(e.data.clone()).unwrap()).collect();
        assert_eq!(data, ["a0", "a1", "b0", "b1", "c0"], "{kind}");
        assert!(all.windows(2).all(|w| w[0].global_position < w[1].global_position));
        let after = ReadAllOptions { after_position: all[1].global_position, count: 2, ..Default::default() };
        let some = store.read_all(&after).unwrap().collect_recorded().unwrap();
        assert_eq!(some, all[2..4].to_vec(), "{kind}");
    }
}

#[test]
fn version_mismatch_carries_expected_and_actual() {
    for (kind, store, _dir) in stores("mismatch") {
        let id = stream("order");
        store.append(&id, &batch_of(3, "v"), &AppendOptions::no_stream()).unwrap();
        let e = store.append(&id, &batch_of(1, "v"), &AppendOptions::expect_version(1)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}");
        assert_eq!(e.status(), -3);
        assert_eq!(e.status_name(), "EST_ERR_VERSION_MISMATCH");
        assert_eq!((e.expected_version(), e.actual_version()), (Some(1), Some(3)));
        assert!(e.to_string().contains("expected version 1, actual 3"), "{e}");
        let e = store.append(&id, &batch_of(1, "v"), &AppendOptions::no_stream()).unwrap_err();
        assert_eq!((e.expected_version(), e.actual_version()), (Some(0), Some(3)));
        // The stream is unchanged, and the right expectation succeeds.
        let r =
            store.append(&id, &batch_of(1, "v"), &AppendOptions { expect: Expect::Version(3), ..Default::default() });
        assert_eq!(r.unwrap().last_version, 4);
    }
}

#[test]
fn errors_map_to_their_status_with_a_message() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let e = store.read_stream(&stream("order"), &ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!e.message().is_empty());
    assert_eq!(e.expected_version(), None);

    let e = store.read_stream("not an id", &ReadOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = store.append(&stream("order"), &Batch::new().unwrap(), &AppendOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "an empty batch: {e}");
    let mut b = Batch::new().unwrap();
    assert_eq!(b.add("_bad", b"", None).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(b.add_metadata("k", "v").unwrap_err().kind(), ErrorKind::InvalidArgument, "metadata before an event");
    b.add("ok", b"", None).unwrap();
    // "estoria." keys belong to the toolkit's own components: a store accepts them.
    b.add_metadata("estoria.x", "v").unwrap();
    assert_eq!(b.add("nul\0inside", b"", None).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let e = store.append_bytes(&stream("order"), b"not a flatbuffer", &AppendOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let neg = ReadOptions { after_version: -1, ..Default::default() };
    let id = stream("order");
    store.append(&id, &b, &AppendOptions::default()).unwrap();
    assert_eq!(store.read_stream(&id, &neg).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(store.delete_stream(&id, -1).unwrap_err().kind(), ErrorKind::InvalidArgument);

    let e = Store::open("nosuchscheme://x", &StoreOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // No server answers on this socket directory: the PostgreSQL store says
    // so. A library built without it (ESTORIA_WITH_POSTGRES=OFF, which
    // ctest passes on) refuses the scheme and names the option.
    let e =
        Store::open("postgresql:///x?host=/nonexistent-estoria-socket-dir", &StoreOptions::default()).err().unwrap();
    if std::env::var("ESTORIA_WITH_POSTGRES").as_deref() == Ok("OFF") {
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("ESTORIA_WITH_POSTGRES"), "{e}");
    } else {
        assert_eq!(e.kind(), ErrorKind::Io);
    }
    assert_eq!(estoria::status_name(-11), "EST_ERR_APPLIED_PARTIALLY");
    assert_eq!(estoria::status_name(-99), "EST_UNKNOWN");
    assert_eq!(ErrorKind::from_status(-99), ErrorKind::Unknown(-99));
    assert_eq!(estoria::abi_version() >> 16, 1);
}

#[test]
fn batch_bytes_append_like_the_batch() {
    for (kind, store, _dir) in stores("bytes") {
        let mut b = batch_of(2, "y");
        let bytes = b.bytes().unwrap().to_vec();
        assert_eq!(&bytes[4..8], b"ESTB", "{kind}");
        let id = stream("order");
        let r = store.append_bytes(&id, &bytes, &AppendOptions::default()).unwrap();
        assert_eq!(r.last_version, 2);
    }
}

#[test]
fn restore_keeps_ids_and_timestamps() {
    for (kind, store, _dir) in stores("restore") {
        let id = stream("order");
        let eid = Uuid::v4().unwrap();
        let mut b = Batch::new().unwrap();
        b.add("imported", b"1", None).unwrap();
        b.set_id(&eid).unwrap();
        b.set_timestamp(1_000_000_000).unwrap();
        let o = AppendOptions { restore: true, first_version: 5, ..Default::default() };
        let r = store.append(&id, &b, &o).unwrap();
        assert_eq!(r.first_version, 5, "{kind}");
        let e = &store.read_stream(&id, &ReadOptions::default()).unwrap().collect_recorded().unwrap()[0];
        assert_eq!((e.id, e.timestamp_ns, e.stream_version), (eid, 1_000_000_000, 5));
    }
}

#[test]
fn delete_truncates_or_removes_the_stream() {
    for (kind, store, _dir) in stores("delete") {
        let id = stream("order");
        store.append(&id, &batch_of(5, "d"), &AppendOptions::default()).unwrap();
        // An iterator taken before the deletion still yields everything.
        let mut before = store.read_stream(&id, &ReadOptions::default()).unwrap();
        store.delete_stream(&id, 2).unwrap();
        assert_eq!(versions(&mut store.read_stream(&id, &ReadOptions::default()).unwrap()), vec![3, 4, 5], "{kind}");
        assert_eq!(versions(&mut before), vec![1, 2, 3, 4, 5], "{kind}");
        store.delete_stream(&id, 0).unwrap();
        assert_eq!(store.read_stream(&id, &ReadOptions::default()).unwrap_err().kind(), ErrorKind::NotFound);
        // Wholly deleted: the ID starts again from version 1.
        let r = store.append(&id, &batch_of(1, "d"), &AppendOptions::no_stream()).unwrap();
        assert_eq!(r.first_version, 1);
        assert_eq!(store.delete_stream(&stream("order"), 0).unwrap_err().kind(), ErrorKind::NotFound);
    }
}

#[test]
fn snapshots_write_read_and_prune() {
    for (kind, store, _dir) in stores("snap") {
        let id = stream("counter");
        assert_eq!(store.read_snapshot(&id, 0).err().unwrap().kind(), ErrorKind::NotFound, "{kind}");
        for v in 1..=4 {
            store.write_snapshot(&id, v, format!("s{v}").as_bytes(), Some("text/plain"), 0).unwrap();
        }
        let s = store.read_snapshot(&id, 0).unwrap();
        assert_eq!((s.version(), s.data(), s.content_type()), (4, &b"s4"[..], &b"text/plain"[..]), "{kind}");
        assert!(s.timestamp_ns() > 0);
        assert_eq!(store.read_snapshot(&id, 2).unwrap().data(), b"s2");
        store.write_snapshot(&id, 9, b"t", None, 123).unwrap();
        assert_eq!(store.read_snapshot(&id, 0).unwrap().timestamp_ns(), 123);
        assert_eq!(store.write_snapshot(&id, 0, b"", None, 0).unwrap_err().kind(), ErrorKind::InvalidArgument);
        store.prune_snapshots(&id, 2, 0).unwrap();
        assert_eq!(store.read_snapshot(&id, 3).err().unwrap().kind(), ErrorKind::NotFound, "{kind}");
        assert_eq!(store.read_snapshot(&id, 4).unwrap().version(), 4);
        assert_eq!(store.stats().unwrap().snapshots, 2, "{kind}");
    }
}

#[test]
fn stats_sync_and_verify_report_the_store() {
    for (kind, store, _dir) in stores("ops") {
        store.append(&stream("order"), &batch_of(4, "s"), &AppendOptions::default()).unwrap();
        store.append(&stream("order"), &batch_of(2, "s"), &AppendOptions::default()).unwrap();
        store.sync().unwrap();
        let st = store.stats().unwrap();
        assert_eq!((st.events, st.streams), (6, 2), "{kind}");
        assert!(st.last_position >= 6);
        let mut calls = 0;
        let mut progress = |_done: u64, _total: u64| calls += 1;
        match store.verify(Some(&mut progress)) {
            Ok(report) => {
                if kind == "file" {
                    assert!(report.events >= 6 && report.bytes > 0, "{report:?}");
                }
            }
            // The memory store has nothing to verify on disk.
            Err(e) => assert!(kind == "memory" && e.kind() == ErrorKind::Unsupported, "{kind}: {e}"),
        }
    }
}

#[test]
fn compact_reclaims_deleted_events_and_keeps_the_rest() {
    for (kind, store, _dir) in stores("compact") {
        let gone = stream("order");
        let kept = stream("order");
        for _ in 0..5 {
            store.append(&gone, &batch_of(3, "g"), &AppendOptions::default()).unwrap();
            store.append(&kept, &batch_of(2, "k"), &AppendOptions::default()).unwrap();
        }
        store.delete_stream(&gone, 0).unwrap();
        let mut last = (0u64, 0u64);
        let mut progress = |done: u64, total: u64| last = (done, total);
        let report = store.compact(Some(&mut progress)).unwrap();
        if kind == "file" {
            assert_eq!(report.events_dropped, 15, "{report:?}");
            assert_eq!(report.events_kept, 10, "{report:?}");
            assert!(report.bytes_after < report.bytes_before, "{report:?}");
            assert_eq!(last.0, last.1, "progress ends at its total");
        } else {
            assert_eq!(report, CompactReport::default(), "{kind}");
        }
        assert_eq!(store.stats().unwrap().events, 10, "{kind}");
        assert_eq!(store.read_stream(&gone, &ReadOptions::default()).err().unwrap().kind(), ErrorKind::NotFound);
    }
}

#[test]
fn file_store_keeps_events_across_reopen() {
    let dir = TempDir::new("reopen");
    let uri = format!("file:{}", dir.0.display());
    let id = stream("order");
    {
        let store = Store::open(&uri, &StoreOptions::default()).unwrap();
        store.append(&id, &batch_of(3, "p"), &AppendOptions::default()).unwrap();
        // A second writer is refused while the first holds the store.
        let e = Store::open(&uri, &StoreOptions::default()).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
        store.close();
    }
    let store = Store::open(&uri, &StoreOptions::default()).unwrap();
    assert_eq!(versions(&mut store.read_stream(&id, &ReadOptions::default()).unwrap()), vec![1, 2, 3]);
    let r = store.append(&id, &batch_of(1, "p"), &AppendOptions::expect_version(3)).unwrap();
    assert_eq!(r.last_version, 4);
}

#[test]
fn iterator_outliving_its_store_returns_closed() {
    for (kind, store, _dir) in stores("closed") {
        let id = stream("order");
        store.append(&id, &batch_of(200, "c"), &AppendOptions::default()).unwrap();
        let mut it = store.read_stream(&id, &ReadOptions::default()).unwrap();
        assert_eq!(it.next().unwrap().unwrap().stream_version(), 1);
        drop(store);
        // Views already fetched (the first crossing brought 64) are not
        // handed out after the close either.
        let e = it.next().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{kind}: {e}");
        assert!(e.message().contains("closed"), "{e}");
        assert_eq!(it.next_batch().unwrap().unwrap_err().kind(), ErrorKind::Closed);
    }
}

#[test]
fn store_is_shared_between_threads() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let id = stream("order");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (store, id) = (&store, &id);
            s.spawn(move || {
                for _ in 0..25 {
                    store.append(id, &batch_of(2, &format!("t{t}")), &AppendOptions::default()).unwrap();
                }
            });
        }
    });
    let mut it = store.read_stream(&id, &ReadOptions::default()).unwrap();
    // An iterator moves to another thread (Send).
    let n = std::thread::spawn(move || {
        let mut n = 0;
        while let Some(e) = it.next() {
            e.unwrap();
            n += 1;
        }
        n
    })
    .join()
    .unwrap();
    assert_eq!(n, 200);
}

#[test]
fn ids_format_and_parse() {
    let u = Uuid::v7().unwrap();
    let text = estoria::format_id("order", &u).unwrap();
    assert_eq!(text, format!("order_{u}"));
    assert_eq!(parse_id(&text).unwrap(), ("order".to_string(), u));
    assert_eq!(parse_id("order_NOTAUUID").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(estoria::format_id("", &u).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert!(Uuid::v7().unwrap() > u);
}

#[test]
fn handles_are_send_and_sync_where_the_abi_allows() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Store>();
    send::<EventIter>();
    send::<Batch>();
    send::<estoria::Snapshot>();
    // (The negative cases, not Sync, are compile_fail doctests.)
}
