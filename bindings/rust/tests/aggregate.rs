// The aggregate store over a Rust state type: save and load, snapshots and
// the cache (with a codec), hooks, version mismatch, callback errors and
// panics turned into error statuses, and use after the store is closed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::stores;
use estoria::{
    parse_id, AggregateState, AggregateStore, AggregateStoreOptions, ErrorKind, Event, HookStage, ReadOptions, Store,
    StoreOptions, Uuid,
};

/// A bank account: "deposited" adds the payload's number, "withdrawn"
/// subtracts it and refuses to go negative; "boom" panics.
#[derive(Debug, Default, PartialEq)]
struct Account {
    balance: i64,
    applied: u32,
}

fn amount(event: &Event<'_>) -> Result<i64, String> {
    std::str::from_utf8(event.data()).map_err(|e| e.to_string())?.parse().map_err(|e| format!("bad amount: {e}"))
}

impl AggregateState for Account {
    const HAS_CODEC: bool = true;

    fn new(_id: Uuid) -> Self {
        Account::default()
    }

    fn apply(&mut self, event: &Event<'_>) -> Result<(), String> {
        match event.event_type() {
            "deposited" => self.balance += amount(event)?,
            "withdrawn" => {
                let a = amount(event)?;
                if a > self.balance {
                    return Err(format!("overdrawn by {}", a - self.balance));
                }
                self.balance -= a;
            }
            "boom" => panic!("the apply callback panicked on purpose"),
            other => return Err(format!("unknown event {other}")),
        }
        self.applied += 1;
        Ok(())
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(format!("{}:{}", self.balance, self.applied).as_bytes());
        Ok(())
    }

    fn decode(data: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
        let (b, n) = text.split_once(':').ok_or_else(|| format!("not an account snapshot: {text:?}"))?;
        Ok(Account { balance: b.parse().map_err(|_| "balance")?, applied: n.parse().map_err(|_| "applied")? })
    }
}

/// A state without a codec.
#[derive(Default)]
struct Plain(u32);

impl AggregateState for Plain {
    fn new(_id: Uuid) -> Self {
        Plain(0)
    }
    fn apply(&mut self, _event: &Event<'_>) -> Result<(), String> {
        self.0 += 1;
        Ok(())
    }
}

fn uuid_of(id: &str) -> Uuid {
    parse_id(id).unwrap().1
}

#[test]
fn a_save_with_event_ids_is_safe_to_retry() {
    for (kind, store, _dir) in stores("aggid") {
        let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
        let mut a = accounts.create(None).unwrap();
        a.append("deposited", b"100", None).unwrap();
        a.save().unwrap();
        // The same save made twice from two handles at version 1, as a retry
        // after a lost reply would.
        let mut retry = accounts.load(uuid_of(a.id()), 0).unwrap();
        let id = Uuid::v7().unwrap();
        a.append("withdrawn", b"30", None).unwrap();
        a.set_event_id(&id).unwrap();
        let first = a.save().unwrap();
        assert!(!first.duplicate, "{kind}");
        retry.append("withdrawn", b"30", None).unwrap();
        retry.set_event_id(&id).unwrap();
        let again = retry.save().unwrap();
        assert!(again.duplicate, "{kind}");
        assert_eq!((again.first_version, again.last_version), (first.first_version, first.last_version));
        assert_eq!((retry.state().balance, retry.version()), (70, 2), "{kind}");
        let events = store.read_stream(a.id(), &ReadOptions::default()).unwrap().collect_recorded().unwrap();
        assert_eq!(events.len(), 2, "{kind}: stored once");

        let mut empty = accounts.create(None).unwrap();
        let e = empty.set_event_id(&id).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{kind}: nothing queued");
    }
}

#[test]
fn save_then_load_folds_the_events() {
    for (kind, store, _dir) in stores("agg") {
        let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
        let mut a = accounts.create(None).unwrap();
        assert_eq!((a.version(), a.pending()), (0, 0));
        a.append("deposited", b"100", None).unwrap();
        a.append_metadata("by", "test").unwrap();
        a.append("withdrawn", b"30", None).unwrap();
        assert_eq!(a.pending(), 2);
        let r = a.save().unwrap();
        assert_eq!((r.first_version, r.last_version), (1, 2), "{kind}");
        assert_eq!((a.state().balance, a.version(), a.pending()), (70, 2, 0), "{kind}");

        let loaded = accounts.load(uuid_of(a.id()), 0).unwrap();
        assert_eq!(*loaded.state(), Account { balance: 70, applied: 2 }, "{kind}");
        let at1 = accounts.load(uuid_of(a.id()), 1).unwrap();
        assert_eq!((at1.state().balance, at1.version()), (100, 1));
        // The events are in the aggregate's stream, metadata included.
        let ev = store.read_stream(a.id(), &ReadOptions::default()).unwrap().collect_recorded().unwrap();
        assert_eq!(ev[0].metadata, vec![(b"by".to_vec(), b"test".to_vec())]);
        assert!(a.id().starts_with("account_"));

        let e = accounts.load(Uuid::v4().unwrap(), 0).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{kind}");
        let e = accounts.load(uuid_of(a.id()), 9).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{kind}");
    }
}

#[test]
fn concurrent_saves_give_a_version_mismatch_with_versions() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
    let mut a = accounts.create(None).unwrap();
    a.append("deposited", b"10", None).unwrap();
    a.save().unwrap();
    let id = uuid_of(a.id());
    let mut first = accounts.load(id, 0).unwrap();
    let mut second = accounts.load(id, 0).unwrap();
    first.append("deposited", b"1", None).unwrap();
    first.save().unwrap();
    second.append("deposited", b"2", None).unwrap();
    let e = second.save().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::VersionMismatch);
    assert_eq!((e.expected_version(), e.actual_version()), (Some(1), Some(2)));
    // Nothing written; the queue is kept.
    assert_eq!(second.pending(), 1);
    assert_eq!(accounts.load(id, 0).unwrap().state().balance, 11);
}

#[test]
fn apply_error_and_panic_become_error_statuses() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();

    // A save whose apply fails: written but not applied.
    let mut a = accounts.create(None).unwrap();
    a.append("withdrawn", b"5", None).unwrap();
    let e = a.save().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AppliedPartially, "{e}");
    // A load over the same event fails with apply's message.
    let e = accounts.load(uuid_of(a.id()), 0).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.message().contains("overdrawn by 5"), "{e}");

    // A panic in apply does not cross into C: it is an error status.
    let mut b = accounts.create(None).unwrap();
    b.append("boom", b"", None).unwrap();
    assert_eq!(b.save().unwrap_err().kind(), ErrorKind::AppliedPartially);
    let e = accounts.load(uuid_of(b.id()), 0).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.message().contains("panicked: the apply callback panicked on purpose"), "{e}");
}

#[test]
fn snapshots_are_written_and_used_by_loads() {
    for (kind, store, _dir) in stores("aggsnap") {
        let options = AggregateStoreOptions {
            snapshot_every: 2,
            snapshot_content_type: Some("text/plain"),
            ..Default::default()
        };
        let accounts = AggregateStore::<Account>::new(&store, "account", &options).unwrap();
        let mut a = accounts.create(None).unwrap();
        for _ in 0..5 {
            a.append("deposited", b"1", None).unwrap();
            a.save().unwrap();
        }
        let st = accounts.stats().unwrap();
        assert_eq!(st.snapshots_written, 2, "{kind}: {st:?}");
        let snap = store.read_snapshot(a.id(), 0).unwrap();
        assert_eq!((snap.version(), snap.data(), snap.content_type()), (4, &b"4:4"[..], &b"text/plain"[..]));

        let loaded = accounts.load(uuid_of(a.id()), 0).unwrap();
        assert_eq!(*loaded.state(), Account { balance: 5, applied: 5 });
        let st = accounts.stats().unwrap();
        assert_eq!((st.loads, st.snapshots_used, st.events_applied), (1, 1, 1), "{kind}: {st:?}");

        // A snapshot that does not decode fails the load as corruption.
        store.write_snapshot(a.id(), 5, b"garbage", Some("text/plain"), 0).unwrap();
        let e = accounts.load(uuid_of(a.id()), 0).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Corruption, "{kind}: {e}");
        assert!(e.message().contains("not an account snapshot"), "{e}");
    }
}

#[test]
fn the_cache_serves_repeated_loads() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let options = AggregateStoreOptions { cache_capacity: 8, ..Default::default() };
    let accounts = AggregateStore::<Account>::new(&store, "account", &options).unwrap();
    let mut a = accounts.create(None).unwrap();
    a.append("deposited", b"3", None).unwrap();
    a.save().unwrap();
    let id = uuid_of(a.id());
    for _ in 0..3 {
        assert_eq!(accounts.load(id, 0).unwrap().state().balance, 3);
    }
    let st = accounts.stats().unwrap();
    assert!(st.cache_hits >= 2, "{st:?}");
}

#[test]
fn snapshots_without_a_codec_are_refused() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let options = AggregateStoreOptions { snapshot_every: 1, ..Default::default() };
    let e = AggregateStore::<Plain>::new(&store, "plain", &options).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = AggregateStore::<Plain>::new(&store, "_bad", &AggregateStoreOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let plain = AggregateStore::<Plain>::new(&store, "plain", &AggregateStoreOptions::default()).unwrap();
    let mut p = plain.create(None).unwrap();
    p.append("x", b"", None).unwrap();
    p.save().unwrap();
    assert_eq!(p.state().0, 1);
}

#[test]
fn hooks_run_add_metadata_and_can_veto() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let mut accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    accounts
        .add_hook(HookStage::BeforeSave, move |stage, ctx, id, _version| {
            assert_eq!(stage, HookStage::BeforeSave);
            assert!(id.starts_with("account_"));
            c.fetch_add(1, Ordering::SeqCst);
            ctx.add_metadata("tenant", "acme").map_err(|e| e.to_string())
        })
        .unwrap();
    accounts
        .add_hook(
            HookStage::BeforeLoad,
            |_, _, _, version| {
                if version == 1 {
                    Err("version 1 is off limits".into())
                } else {
                    Ok(())
                }
            },
        )
        .unwrap();
    let mut a = accounts.create(None).unwrap();
    a.append("deposited", b"1", None).unwrap();
    a.append("deposited", b"1", None).unwrap();
    a.save().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let ev = store.read_stream(a.id(), &ReadOptions::default()).unwrap().collect_recorded().unwrap();
    assert!(ev.iter().all(|e| e.metadata == vec![(b"tenant".to_vec(), b"acme".to_vec())]));
    let e = accounts.load(uuid_of(a.id()), 1).err().unwrap();
    assert!(e.message().contains("off limits"), "{e}");
    assert!(accounts.load(uuid_of(a.id()), 2).is_ok());

    // An aggregate outlives its store's handle; its hooks stay alive.
    drop(accounts);
    a.append("deposited", b"1", None).unwrap();
    a.save().unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn closed_store_makes_aggregate_calls_fail_closed() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
    let mut a = accounts.create(None).unwrap();
    a.append("deposited", b"1", None).unwrap();
    store.close();
    assert_eq!(a.save().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(accounts.create(None).err().unwrap().kind(), ErrorKind::Closed);
    assert_eq!(accounts.load(Uuid::v4().unwrap(), 0).err().unwrap().kind(), ErrorKind::Closed);
}

#[test]
fn aggregate_store_is_shared_between_threads() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10 {
                    let mut a = accounts.create(None).unwrap();
                    a.append("deposited", b"2", None).unwrap();
                    a.save().unwrap();
                    let id = uuid_of(a.id());
                    // An aggregate moves between threads (Send).
                    let b = std::thread::spawn(move || a.state().balance).join().unwrap();
                    assert_eq!(b, 2);
                    assert_eq!(accounts.load(id, 0).unwrap().state().balance, 2);
                }
            });
        }
    });
    assert_eq!(store.stats().unwrap().streams, 40);
}

#[test]
fn load_at_and_reads_as_of_a_time_stop_at_the_first_event_stamped_later() {
    const T0: i64 = 1_700_000_000_000_000_000;
    for (kind, store, _dir) in stores("asof") {
        let accounts = AggregateStore::<Account>::new(&store, "account", &AggregateStoreOptions::default()).unwrap();
        let uuid = Uuid::v7().unwrap();
        let id = estoria::format_id("account", &uuid).unwrap();
        // Event 2 is stamped after event 3: as of T0 + 2 only event 1 counts.
        let mut b = estoria::Batch::new().unwrap();
        for (amount, stamp) in [(1, T0 + 1), (2, T0 + 3), (4, T0 + 2), (8, T0 + 4)] {
            b.add("deposited", amount.to_string().as_bytes(), None).unwrap();
            b.set_timestamp(stamp).unwrap();
        }
        let restore = estoria::AppendOptions { restore: true, ..Default::default() };
        store.append(&id, &b, &restore).unwrap();

        let at = |t: i64| {
            let mut it = store.read_stream(&id, &ReadOptions { until_timestamp_ns: t, ..Default::default() }).unwrap();
            let mut v = Vec::new();
            while let Some(e) = it.next() {
                v.push(e.unwrap().stream_version());
            }
            v
        };
        assert_eq!(at(T0 + 2), vec![1], "{kind}");
        assert_eq!(at(T0 + 3), vec![1, 2, 3], "{kind}");
        assert_eq!(at(0), vec![1, 2, 3, 4], "{kind}");
        let all = store
            .read_all(&estoria::ReadAllOptions { until_timestamp_ns: T0 + 3, ..Default::default() })
            .unwrap()
            .collect_recorded()
            .unwrap();
        assert_eq!(all.len(), 3, "{kind}");

        let a = accounts.load_at(uuid, T0 + 2).unwrap();
        assert_eq!((a.state().balance, a.version()), (1, 1), "{kind}");
        let a = accounts.load_at(uuid, T0 + 3).unwrap();
        assert_eq!((a.state().balance, a.version()), (7, 3), "{kind}");
        assert_eq!(accounts.load_at(uuid, T0).err().unwrap().kind(), ErrorKind::NotFound, "{kind}");
        assert_eq!(accounts.load_at(uuid, 0).err().unwrap().kind(), ErrorKind::InvalidArgument, "{kind}");
    }
}
