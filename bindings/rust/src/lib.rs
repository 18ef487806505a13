//! estoria: a safe Rust binding of the estoria event-sourcing engine,
//! over its C ABI (`estoria.h`, declared by hand in [`sys`]).
//!
//! The crate links `libestoria` found by `build.rs` (`ESTORIA_LIB_DIR`, else
//! pkg-config `estoria`). Handles free themselves on drop; views borrowed
//! from an iterator cannot outlive its next call (see [`EventIter`]).
#![doc = include_str!("../README.md")]

pub mod sys;

mod aggregate;
mod checkpoint;
mod error;
mod host;
mod id;
mod iter;
mod projection;
mod store;
mod subscription;
mod txn;

pub use aggregate::{
    Aggregate, AggregateState, AggregateStats, AggregateStore, AggregateStoreOptions, HookContext, HookFn, HookStage,
};
pub use checkpoint::Checkpoint;
pub use error::{status_name, Error, ErrorKind, Result};
pub use host::{use_rust_allocator, Host, MaintainReport, Threads};
pub use id::{format_id, parse_id, Uuid};
pub use iter::{Event, EventIter, Events, FlatbufferEvent, RecordedEvent, DEFAULT_BATCH};
pub use projection::{
    Projection, ProjectionOptions, ProjectionReport, ProjectionTxn, ProjectionWaker, PROJECTION_BATCH_MAX,
};
pub use store::{
    AppendOptions, AppendResult, Batch, CompactReport, Direction, Expect, ReadAllOptions, ReadOptions, Snapshot, Stats,
    Store, StoreOptions, SyncMode, VerifyReport,
};
pub use subscription::{SubscribeOptions, Subscription, SubscriptionWaker, POSITION_END};
pub use txn::Transaction;

/// The ABI version (major << 16 | minor) of the library actually loaded.
pub fn abi_version() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::est_abi_version() }
}
