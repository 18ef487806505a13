"""Projection checkpoints: Estoria's semantics, the ID rules, and saves
committed with a transaction's appends or not at all."""

from __future__ import annotations

import pytest

import estoria


def test_save_load_list_delete_follow_estorias_semantics(store: estoria.Store) -> None:
    with pytest.raises(estoria.NotFound):
        store.load_checkpoint("orders_v1")
    store.save_checkpoint("orders_v1", 10)
    first = store.load_checkpoint("orders_v1")
    assert (first.projection_id, first.position) == ("orders_v1", 10)
    assert first.updated_at_ns > 0
    store.save_checkpoint("orders_v1", 10)  # an unchanged position still advances updated_at
    assert store.load_checkpoint("orders_v1").updated_at_ns > first.updated_at_ns
    store.save_checkpoint("orders_v1", 3)  # last write wins, lower too
    assert store.load_checkpoint("orders_v1").position == 3
    store.save_checkpoint("orders_v2", 0)
    assert [(c.projection_id, c.position) for c in store.list_checkpoints()] == [("orders_v1", 3), ("orders_v2", 0)]
    store.delete_checkpoint("orders_v1")
    with pytest.raises(estoria.NotFound):
        store.delete_checkpoint("orders_v1")
    with pytest.raises(estoria.NotFound):
        store.load_checkpoint("orders_v1")


@pytest.mark.parametrize("bad", ["Orders_v1", "orders", "orders_v0", "orders_v01", "orders__v1", "a" * 41 + "_v1"])
def test_bad_projection_ids_are_invalid(store: estoria.Store, bad: str) -> None:
    with pytest.raises(estoria.InvalidArgument):
        store.save_checkpoint(bad, 1)
    assert store.list_checkpoints() == []


def test_a_negative_position_is_invalid(store: estoria.Store) -> None:
    with pytest.raises(estoria.InvalidArgument):
        store.save_checkpoint("orders_v1", -1)


def test_a_transaction_saves_its_checkpoint_with_its_appends_or_not_at_all(store: estoria.Store) -> None:
    stream = estoria.new_id("account")
    with store.transaction() as txn:
        txn.append(stream, ("Opened", b""), expected=estoria.NO_STREAM)
        txn.checkpoint("balances_v1", 1)
        txn.commit()
    assert store.load_checkpoint("balances_v1").position == 1
    with store.transaction() as txn:
        txn.append(stream, ("Opened", b""), expected=estoria.NO_STREAM)  # the stream exists
        txn.checkpoint("balances_v1", 2)
        with pytest.raises(estoria.VersionMismatch):
            txn.commit()
    assert store.load_checkpoint("balances_v1").position == 1
    with store.transaction() as txn:
        txn.checkpoint("balances_v1", 5)
        with pytest.raises(estoria.InvalidArgument):
            txn.checkpoint("Bad_v1", 5)
        txn.commit()
    assert store.load_checkpoint("balances_v1").position == 5
