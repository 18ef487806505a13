// Transactions and idempotent appends through the safe API, on `memory:`
// and on a `file:` store.

mod common;

use common::{stores, stream};
use estoria::{AppendOptions, Batch, ErrorKind, Expect, Store, StoreOptions, Uuid};

fn one(event_type: &str, data: &str) -> Batch {
    let mut b = Batch::new().unwrap();
    b.add(event_type, data.as_bytes(), None).unwrap();
    b
}

fn with_ids(ids: &[Uuid]) -> Batch {
    let mut b = Batch::new().unwrap();
    for (i, id) in ids.iter().enumerate() {
        b.add("thing_happened", i.to_string().as_bytes(), None).unwrap();
        b.set_id(id).unwrap();
    }
    b
}

fn versions(store: &Store, id: &str) -> Vec<i64> {
    match store.read_stream(id, &Default::default()) {
        Ok(mut it) => it.collect_recorded().unwrap().iter().map(|e| e.stream_version).collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => vec![],
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn commit_writes_every_append_with_one_result_each() {
    for (kind, store, _dir) in stores("txn-commit") {
        let (a, b) = (stream("order"), stream("user"));
        store.append(&a, &one("placed", ""), &AppendOptions::default()).unwrap();
        let mut txn = store.transaction().unwrap();
        let mut two = one("paid", "1");
        two.add("shipped", b"2", None).unwrap();
        txn.append(&a, &two, &AppendOptions::expect_version(1)).unwrap();
        drop(two); // copied at once
        txn.append(&b, &one("registered", "3"), &AppendOptions::no_stream()).unwrap();
        txn.append(&a, &one("closed", "4"), &AppendOptions::expect_version(3)).unwrap();
        assert_eq!(txn.len(), 3);
        let r = txn.commit().unwrap();
        assert!(txn.is_empty());
        let got: Vec<(i64, i64, bool)> = r.iter().map(|r| (r.first_version, r.last_version, r.duplicate)).collect();
        assert_eq!(got, vec![(2, 3, false), (1, 1, false), (4, 4, false)], "{kind}");
        assert_eq!(r[0].last_position + 1, r[1].first_position, "{kind}");
        assert_eq!(r[1].last_position + 1, r[2].first_position, "{kind}");
        assert_eq!(versions(&store, &a), vec![1, 2, 3, 4], "{kind}");
        assert_eq!(versions(&store, &b), vec![1], "{kind}");
        // Reusable after a commit; an empty commit writes nothing.
        assert!(txn.commit().unwrap().is_empty());
    }
}

#[test]
fn one_failing_expectation_writes_nothing_and_names_the_stream() {
    for (kind, store, _dir) in stores("txn-mismatch") {
        let (a, b, c) = (stream("order"), stream("user"), stream("cart"));
        store.append(&b, &one("registered", ""), &AppendOptions::default()).unwrap();
        let mut txn = store.transaction().unwrap();
        txn.append(&a, &one("placed", ""), &AppendOptions::no_stream()).unwrap();
        txn.append(&b, &one("renamed", ""), &AppendOptions::expect_version(5)).unwrap();
        txn.append(&c, &one("created", ""), &AppendOptions::default()).unwrap();
        let e = txn.commit().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}: {e}");
        assert!(e.message().contains(&b), "{kind}: {e}");
        assert_eq!(e.stream_id(), Some(b.as_str()), "{kind}");
        assert_eq!((e.expected_version(), e.actual_version()), (Some(5), Some(1)), "{kind}");
        assert_eq!(versions(&store, &a), Vec::<i64>::new(), "{kind}");
        assert_eq!(versions(&store, &b), vec![1], "{kind}");
        assert_eq!(versions(&store, &c), Vec::<i64>::new(), "{kind}");
        assert_eq!(txn.len(), 3, "{kind}: a failed transaction keeps its appends");
    }
}

#[test]
fn stream_exists_expectation() {
    for (kind, store, _dir) in stores("txn-exists") {
        let a = stream("order");
        let e = store.append(&a, &one("placed", ""), &AppendOptions::stream_exists()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}");
        store.append(&a, &one("placed", ""), &AppendOptions::default()).unwrap();
        let opts = AppendOptions { expect: Expect::StreamExists, ..Default::default() };
        assert_eq!(store.append(&a, &one("paid", ""), &opts).unwrap().last_version, 2, "{kind}");
        let mut txn = store.transaction().unwrap();
        txn.append(&stream("user"), &one("x", ""), &opts).unwrap();
        assert_eq!(txn.commit().unwrap_err().kind(), ErrorKind::VersionMismatch, "{kind}");
    }
}

#[test]
fn a_retry_with_the_same_ids_is_a_duplicate_and_writes_nothing() {
    for (kind, store, _dir) in stores("txn-dup") {
        let (a, b) = (stream("order"), stream("user"));
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::v4().unwrap()).collect();
        let batch = with_ids(&ids[..2]);
        let first = store.append(&a, &batch, &AppendOptions::no_stream()).unwrap();
        assert!(!first.duplicate, "{kind}");
        let again = store.append(&a, &batch, &AppendOptions::no_stream()).unwrap();
        assert!(again.duplicate, "{kind}");
        assert_eq!(
            (again.first_version, again.last_version, again.first_position),
            (first.first_version, first.last_version, first.first_position),
            "{kind}"
        );
        let read: Vec<Uuid> = store
            .read_stream(&a, &Default::default())
            .unwrap()
            .collect_recorded()
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(read, ids[..2].to_vec(), "{kind}");

        let run = || {
            let mut txn = store.transaction().unwrap();
            txn.append(&a, &batch, &AppendOptions::no_stream()).unwrap();
            txn.append(&b, &with_ids(&ids[2..]), &AppendOptions::no_stream()).unwrap();
            txn.commit().unwrap().iter().map(|r| r.duplicate).collect::<Vec<_>>()
        };
        assert_eq!(run(), vec![true, false], "{kind}");
        assert_eq!(run(), vec![true, true], "{kind}");
        assert_eq!(versions(&store, &a), vec![1, 2], "{kind}");
        assert_eq!(versions(&store, &b), vec![1], "{kind}");
        assert_eq!(store.stats().unwrap().events, 3, "{kind}");
    }
}

#[test]
fn a_partial_overlap_is_a_version_mismatch() {
    for (kind, store, _dir) in stores("txn-partial") {
        let a = stream("order");
        let ids = [Uuid::v4().unwrap(), Uuid::v4().unwrap()];
        store.append(&a, &with_ids(&ids[..1]), &AppendOptions::default()).unwrap();
        let e = store.append(&a, &with_ids(&ids), &AppendOptions::no_stream()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}: {e}");
        assert_eq!(versions(&store, &a), vec![1], "{kind}");
        // Within a transaction too: nothing of it is written.
        let b = stream("user");
        let mut txn = store.transaction().unwrap();
        txn.append(&b, &one("registered", ""), &AppendOptions::default()).unwrap();
        txn.append(&a, &with_ids(&ids), &AppendOptions::no_stream()).unwrap();
        let e = txn.commit().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}: {e}");
        assert_eq!(e.stream_id(), Some(a.as_str()), "{kind}");
        assert_eq!(versions(&store, &a), vec![1], "{kind}");
        assert_eq!(versions(&store, &b), Vec::<i64>::new(), "{kind}");
    }
}

#[test]
fn a_transaction_after_the_store_closed_is_closed() {
    for (kind, store, _dir) in stores("txn-closed") {
        let mut txn = store.transaction().unwrap();
        txn.append(&stream("order"), &one("placed", ""), &AppendOptions::default()).unwrap();
        store.close();
        assert_eq!(txn.commit().unwrap_err().kind(), ErrorKind::Closed, "{kind}");
        let e = txn.append(&stream("order"), &one("placed", ""), &AppendOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{kind}");
    }
}

#[test]
fn invalid_appends_are_refused_at_once() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let mut txn = store.transaction().unwrap();
    let e = txn.append("not an id", &one("placed", ""), &AppendOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(txn.len(), 0);
}
