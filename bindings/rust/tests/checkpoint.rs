// Projection checkpoints through the safe API, on `memory:` and on a
// `file:` store: Estoria's semantics, the ID rules, and saves committed
// with a transaction's appends (or not at all).

mod common;

use common::{stores, stream};
use estoria::{AppendOptions, Batch, ErrorKind, Expect};

#[test]
fn save_load_list_delete_follow_estorias_semantics() {
    for (name, store, _dir) in stores("ckpt") {
        assert_eq!(store.load_checkpoint("orders_v1").unwrap_err().kind(), ErrorKind::NotFound, "{name}");
        store.save_checkpoint("orders_v1", 10).unwrap();
        let first = store.load_checkpoint("orders_v1").unwrap();
        assert_eq!(first.position, 10);
        assert!(first.updated_at_ns > 0);
        store.save_checkpoint("orders_v1", 10).unwrap();
        let second = store.load_checkpoint("orders_v1").unwrap();
        assert!(second.updated_at_ns > first.updated_at_ns, "{name}: a save at an unchanged position advances");
        store.save_checkpoint("orders_v1", 3).unwrap();
        assert_eq!(store.load_checkpoint("orders_v1").unwrap().position, 3, "{name}: last write wins");
        store.save_checkpoint("orders_v2", 0).unwrap();
        let ids: Vec<String> = store.list_checkpoints().unwrap().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, vec!["orders_v1".to_string(), "orders_v2".to_string()]);
        for bad in ["Orders_v1", "orders", "orders_v0", "orders__v1", "orders_v01"] {
            assert_eq!(store.save_checkpoint(bad, 1).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        assert_eq!(store.save_checkpoint("orders_v1", -1).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(store.save_checkpoint("orders\0_v1", 1).unwrap_err().kind(), ErrorKind::InvalidArgument);
        store.delete_checkpoint("orders_v1").unwrap();
        assert_eq!(store.delete_checkpoint("orders_v1").unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(store.load_checkpoint("orders_v1").unwrap_err().kind(), ErrorKind::NotFound);
    }
}

#[test]
fn a_transaction_saves_its_checkpoint_with_its_appends_or_not_at_all() {
    for (name, store, _dir) in stores("ckpt_txn") {
        let id = stream("account");
        let mut b = Batch::new().unwrap();
        b.add("opened", b"x", None).unwrap();
        let mut txn = store.transaction().unwrap();
        txn.append(&id, &b, &AppendOptions::default()).unwrap();
        txn.checkpoint("balances_v1", 1).unwrap();
        txn.commit().unwrap();
        assert_eq!(store.load_checkpoint("balances_v1").unwrap().position, 1, "{name}");

        let stale = AppendOptions { expect: Expect::Version(0), ..Default::default() };
        txn.append(&id, &b, &stale).unwrap();
        txn.checkpoint("balances_v1", 2).unwrap();
        assert_eq!(txn.commit().unwrap_err().kind(), ErrorKind::VersionMismatch);
        assert_eq!(store.load_checkpoint("balances_v1").unwrap().position, 1, "{name}: nothing saved");

        let mut only = store.transaction().unwrap();
        only.checkpoint("balances_v1", 5).unwrap();
        assert_eq!(only.checkpoint("Bad_v1", 5).unwrap_err().kind(), ErrorKind::InvalidArgument);
        only.commit().unwrap();
        assert_eq!(store.load_checkpoint("balances_v1").unwrap().position, 5, "{name}");
    }
}
