//! Raw declarations of the C ABI, `capi/include/estoria/estoria.h`, written
//! by hand and kept in the header's order. Everything here is `unsafe` to
//! call and follows the header's rules; the rest of the crate is the safe
//! wrapper over it.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_void};

pub type est_status = i32;

pub const EST_ABI_VERSION_MAJOR: u32 = 1;
pub const EST_ABI_VERSION_MINOR: u32 = 3;
pub const EST_ABI_VERSION: u32 = (EST_ABI_VERSION_MAJOR << 16) | EST_ABI_VERSION_MINOR;

pub const EST_OK: est_status = 0;
pub const EST_END: est_status = 1;
pub const EST_ERR_INVALID_ARGUMENT: est_status = -1;
pub const EST_ERR_NOT_FOUND: est_status = -2;
pub const EST_ERR_VERSION_MISMATCH: est_status = -3;
pub const EST_ERR_CLOSED: est_status = -4;
pub const EST_ERR_IO: est_status = -5;
pub const EST_ERR_CORRUPTION: est_status = -6;
pub const EST_ERR_BUSY: est_status = -7;
pub const EST_ERR_UNSUPPORTED: est_status = -8;
pub const EST_ERR_NO_MEMORY: est_status = -9;
pub const EST_ERR_INTERNAL: est_status = -10;
pub const EST_ERR_APPLIED_PARTIALLY: est_status = -11;
pub const EST_ERR_CANCELLED: est_status = -12;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct est_uuid {
    pub bytes: [u8; 16],
}

pub const EST_ID_MAX_LEN: usize = 293;
pub const EST_TYPE_MAX_LEN: usize = 255;

#[repr(C)]
pub struct est_store {
    _private: [u8; 0],
}

pub const EST_SYNC_ALWAYS: i32 = 0;
pub const EST_SYNC_INTERVAL: i32 = 1;
pub const EST_SYNC_NONE: i32 = 2;

pub const EST_THREADS_LIBRARY: i32 = 0;
pub const EST_THREADS_NONE: i32 = 1;

pub type est_clock_fn = Option<unsafe extern "C" fn(user: *mut c_void) -> i64>;
pub type est_random_fn = Option<unsafe extern "C" fn(user: *mut c_void, buf: *mut c_void, len: usize)>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_store_options {
    pub struct_size: u32,
    pub sync_mode: i32,
    pub sync_interval_ms: i32,
    pub read_only: i32,
    pub threads: i32,
    pub clock_ns: est_clock_fn,
    pub random_bytes: est_random_fn,
    pub host_user: *mut c_void,
    pub log: est_log_fn,
    pub log_user: *mut c_void,
}

// Experimental (EST_EXPERIMENTAL): the hosts' calls.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct est_maintain_report {
    pub struct_size: u32,
    pub pending: i32,
    pub compacting: i32,
}

pub type est_allocate_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, size: usize, alignment: usize) -> *mut c_void>;
pub type est_deallocate_fn = Option<unsafe extern "C" fn(user: *mut c_void, ptr: *mut c_void, size: usize)>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_allocator {
    pub struct_size: u32,
    pub allocate: est_allocate_fn,
    pub deallocate: est_deallocate_fn,
    pub user: *mut c_void,
}

#[repr(C)]
pub struct est_batch {
    _private: [u8; 0],
}

#[repr(C)]
pub struct est_iter {
    _private: [u8; 0],
}

pub const EST_EXPECT_ANY: i32 = 0;
pub const EST_EXPECT_VERSION: i32 = 1;
pub const EST_EXPECT_NO_STREAM: i32 = 2;
pub const EST_EXPECT_STREAM_EXISTS: i32 = 3;

pub const EST_APPEND_RESTORE: u32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_append_options {
    pub struct_size: u32,
    pub expect: i32,
    pub expected_version: i64,
    pub flags: u32,
    pub first_version: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct est_append_result {
    pub struct_size: u32,
    pub first_version: i64,
    pub last_version: i64,
    pub first_position: i64,
    pub last_position: i64,
    pub actual_version: i64,
    pub flags: u32,
}

pub const EST_APPEND_DUPLICATE: u32 = 1;

pub const EST_FORWARD: i32 = 0;
pub const EST_REVERSE: i32 = 1;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_read_options {
    pub struct_size: u32,
    pub direction: i32,
    pub after_version: i64,
    pub count: i64,
    pub until_timestamp_ns: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_read_all_options {
    pub struct_size: u32,
    pub after_position: i64,
    pub count: i64,
    pub until_timestamp_ns: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_metadata_pair {
    pub key: *const c_char,
    pub value: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_event {
    pub struct_size: u32,
    pub type_: *const c_char,
    pub id: est_uuid,
    pub stream_type: *const c_char,
    pub stream_uuid: est_uuid,
    pub stream_version: i64,
    pub global_position: i64,
    pub timestamp_ns: i64,
    pub data: *const u8,
    pub data_len: usize,
    pub content_type: *const c_char,
    pub metadata_count: usize,
    pub fb: *const u8,
    pub fb_len: usize,
    /// Since ABI 1.1: the metadata_count pairs (NULL when none, or from a
    /// library too old to fill it).
    pub metadata: *const est_metadata_pair,
    /// Since ABI 1.3: the stored record the view points into.
    pub record: *const u8,
    pub record_len: usize,
}

impl est_event {
    /// EST_EVENT_INIT.
    pub const INIT: est_event = est_event {
        struct_size: std::mem::size_of::<est_event>() as u32,
        type_: std::ptr::null(),
        id: est_uuid { bytes: [0; 16] },
        stream_type: std::ptr::null(),
        stream_uuid: est_uuid { bytes: [0; 16] },
        stream_version: 0,
        global_position: 0,
        timestamp_ns: 0,
        data: std::ptr::null(),
        data_len: 0,
        content_type: std::ptr::null(),
        metadata_count: 0,
        fb: std::ptr::null(),
        fb_len: 0,
        metadata: std::ptr::null(),
        record: std::ptr::null(),
        record_len: 0,
    };
}

#[repr(C)]
pub struct est_snapshot {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_snapshot_write_options {
    pub struct_size: u32,
    pub timestamp_ns: i64,
}

pub const EST_LOG_ERROR: i32 = 0;
pub const EST_LOG_WARNING: i32 = 1;
pub const EST_LOG_INFO: i32 = 2;

pub type est_log_fn = Option<unsafe extern "C" fn(user: *mut c_void, level: i32, message: *const c_char)>;
pub type est_progress_fn = Option<unsafe extern "C" fn(user: *mut c_void, done: u64, total: u64)>;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct est_stats {
    pub struct_size: u32,
    pub events: i64,
    pub streams: i64,
    pub bytes: i64,
    pub segments: i64,
    pub first_position: i64,
    pub last_position: i64,
    pub snapshots: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct est_verify_report {
    pub struct_size: u32,
    pub segments: i64,
    pub records: i64,
    pub events: i64,
    pub bytes: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct est_compact_report {
    pub struct_size: u32,
    pub segments_before: i64,
    pub segments_after: i64,
    pub bytes_before: i64,
    pub bytes_after: i64,
    pub events_kept: i64,
    pub events_dropped: i64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct est_stream_info {
    pub struct_size: u32,
    pub version: i64,
    pub events: i64,
    pub id: [c_char; EST_ID_MAX_LEN],
}

#[repr(C)]
pub struct est_buffer {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct est_aggregate_type {
    pub struct_size: u32,
    pub type_name: *const c_char,
    pub user: *mut c_void,
    pub new_state:
        Option<unsafe extern "C" fn(user: *mut c_void, id: *const est_uuid, state: *mut *mut c_void) -> est_status>,
    pub apply:
        Option<unsafe extern "C" fn(user: *mut c_void, state: *mut c_void, event: *const est_event) -> est_status>,
    pub free_state: Option<unsafe extern "C" fn(user: *mut c_void, state: *mut c_void)>,
    pub encode:
        Option<unsafe extern "C" fn(user: *mut c_void, state: *const c_void, out: *mut est_buffer) -> est_status>,
    pub decode: Option<
        unsafe extern "C" fn(user: *mut c_void, data: *const u8, len: usize, state: *mut *mut c_void) -> est_status,
    >,
    pub snapshot_content_type: *const c_char,
}

#[repr(C)]
pub struct est_hook_context {
    _private: [u8; 0],
}

pub const EST_HOOK_BEFORE_LOAD: i32 = 0;
pub const EST_HOOK_AFTER_LOAD: i32 = 1;
pub const EST_HOOK_BEFORE_SAVE: i32 = 2;
pub const EST_HOOK_AFTER_SAVE: i32 = 3;

pub type est_aggregate_hook_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        stage: i32,
        ctx: *mut est_hook_context,
        aggregate_id: *const c_char,
        version: i64,
    ) -> est_status,
>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_aggregate_store_options {
    pub struct_size: u32,
    pub snapshot_every: i64,
    pub snapshot_keep_last: i64,
    pub snapshot_keep_min_version: i64,
    pub cache_capacity: i64,
}

#[repr(C)]
pub struct est_aggregate_store {
    _private: [u8; 0],
}

#[repr(C)]
pub struct est_aggregate {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct est_aggregate_stats {
    pub struct_size: u32,
    pub loads: i64,
    pub events_applied: i64,
    pub snapshots_used: i64,
    pub snapshots_written: i64,
    pub cache_hits: i64,
    pub cache_misses: i64,
}

extern "C" {
    pub fn est_status_name(status: est_status) -> *const c_char;
    pub fn est_last_error() -> *const c_char;
    pub fn est_abi_version() -> u32;

    pub fn est_uuid_v4(out: *mut est_uuid) -> est_status;
    pub fn est_uuid_v7(out: *mut est_uuid) -> est_status;
    pub fn est_id_format(type_: *const c_char, uuid: *const est_uuid, buf: *mut c_char, buf_len: usize) -> est_status;
    pub fn est_id_parse(
        text: *const c_char,
        type_buf: *mut c_char,
        type_buf_len: usize,
        uuid: *mut est_uuid,
    ) -> est_status;

    pub fn est_store_options_init(options: *mut est_store_options);
    pub fn est_store_open(
        uri: *const c_char,
        options: *const est_store_options,
        out: *mut *mut est_store,
    ) -> est_status;
    pub fn est_store_close(store: *mut est_store);

    pub fn est_batch_new(out: *mut *mut est_batch) -> est_status;
    pub fn est_batch_add(
        batch: *mut est_batch,
        type_: *const c_char,
        data: *const c_void,
        data_len: usize,
        content_type: *const c_char,
    ) -> est_status;
    pub fn est_batch_add_metadata(batch: *mut est_batch, key: *const c_char, value: *const c_char) -> est_status;
    pub fn est_batch_set_id(batch: *mut est_batch, id: *const est_uuid) -> est_status;
    pub fn est_batch_set_timestamp(batch: *mut est_batch, timestamp_ns: i64) -> est_status;
    pub fn est_batch_bytes(batch: *mut est_batch, bytes: *mut *const u8, len: *mut usize) -> est_status;
    pub fn est_batch_free(batch: *mut est_batch);

    pub fn est_append_options_init(options: *mut est_append_options);
    pub fn est_append_result_init(result: *mut est_append_result);
    pub fn est_append(
        store: *mut est_store,
        stream_id: *const c_char,
        batch: *const u8,
        batch_len: usize,
        options: *const est_append_options,
        result: *mut est_append_result,
        written: *mut *mut est_iter,
    ) -> est_status;
    pub fn est_append_batch(
        store: *mut est_store,
        stream_id: *const c_char,
        batch: *mut est_batch,
        options: *const est_append_options,
        result: *mut est_append_result,
        written: *mut *mut est_iter,
    ) -> est_status;

    pub fn est_read_options_init(options: *mut est_read_options);
    pub fn est_read_all_options_init(options: *mut est_read_all_options);
    pub fn est_read_stream(
        store: *mut est_store,
        stream_id: *const c_char,
        options: *const est_read_options,
        out: *mut *mut est_iter,
    ) -> est_status;
    pub fn est_read_all(
        store: *mut est_store,
        options: *const est_read_all_options,
        out: *mut *mut est_iter,
    ) -> est_status;

    pub fn est_event_init(event: *mut est_event);
    pub fn est_iter_next(iter: *mut est_iter, event: *mut est_event) -> est_status;
    pub fn est_iter_next_batch(
        iter: *mut est_iter,
        events: *mut est_event,
        capacity: usize,
        count: *mut usize,
    ) -> est_status;
    pub fn est_event_metadata(
        event: *const est_event,
        index: usize,
        key: *mut *const c_char,
        value: *mut *const c_char,
    ) -> est_status;
    pub fn est_event_flatbuffer(event: *const est_event, buf: *mut u8, buf_len: usize, fb_len: *mut usize)
        -> est_status;
    pub fn est_iter_close(iter: *mut est_iter);

    pub fn est_delete_stream(store: *mut est_store, stream_id: *const c_char, to_version: i64) -> est_status;

    pub fn est_snapshot_write_options_init(options: *mut est_snapshot_write_options);
    pub fn est_snapshot_write(
        store: *mut est_store,
        aggregate_id: *const c_char,
        version: i64,
        data: *const c_void,
        data_len: usize,
        content_type: *const c_char,
        options: *const est_snapshot_write_options,
    ) -> est_status;
    pub fn est_snapshot_read(
        store: *mut est_store,
        aggregate_id: *const c_char,
        max_version: i64,
        out: *mut *mut est_snapshot,
    ) -> est_status;
    pub fn est_snapshot_version(snapshot: *const est_snapshot) -> i64;
    pub fn est_snapshot_timestamp_ns(snapshot: *const est_snapshot) -> i64;
    pub fn est_snapshot_data(snapshot: *const est_snapshot, len: *mut usize) -> *const u8;
    pub fn est_snapshot_content_type(snapshot: *const est_snapshot) -> *const c_char;
    pub fn est_snapshot_free(snapshot: *mut est_snapshot);

    pub fn est_snapshot_prune(
        store: *mut est_store,
        aggregate_id: *const c_char,
        keep_last: i64,
        min_version: i64,
    ) -> est_status;

    pub fn est_store_sync(store: *mut est_store) -> est_status;
    pub fn est_set_log_handler(handler: est_log_fn, user: *mut c_void);
    pub fn est_stats_init(stats: *mut est_stats);
    pub fn est_store_stats(store: *mut est_store, stats: *mut est_stats) -> est_status;
    pub fn est_verify_report_init(report: *mut est_verify_report);
    pub fn est_store_verify(
        store: *mut est_store,
        progress: est_progress_fn,
        progress_user: *mut c_void,
        report: *mut est_verify_report,
    ) -> est_status;

    pub fn est_compact_report_init(report: *mut est_compact_report);
    pub fn est_store_compact(
        store: *mut est_store,
        progress: est_progress_fn,
        progress_user: *mut c_void,
        report: *mut est_compact_report,
    ) -> est_status;

    pub fn est_stream_info_init(info: *mut est_stream_info);
    pub fn est_list_streams(
        store: *mut est_store,
        after_id: *const c_char,
        streams: *mut est_stream_info,
        capacity: usize,
        count: *mut usize,
    ) -> est_status;

    pub fn est_set_error(message: *const c_char);
    pub fn est_buffer_append(buffer: *mut est_buffer, data: *const c_void, len: usize) -> est_status;
    pub fn est_aggregate_type_init(type_: *mut est_aggregate_type);
    pub fn est_hook_add_metadata(ctx: *mut est_hook_context, key: *const c_char, value: *const c_char) -> est_status;
    pub fn est_aggregate_store_options_init(options: *mut est_aggregate_store_options);
    pub fn est_aggregate_store_new(
        store: *mut est_store,
        type_: *const est_aggregate_type,
        options: *const est_aggregate_store_options,
        out: *mut *mut est_aggregate_store,
    ) -> est_status;
    pub fn est_aggregate_store_free(astore: *mut est_aggregate_store);
    pub fn est_aggregate_store_add_hook(
        astore: *mut est_aggregate_store,
        stage: i32,
        hook: est_aggregate_hook_fn,
        user: *mut c_void,
    ) -> est_status;
    pub fn est_aggregate_new(
        astore: *mut est_aggregate_store,
        uuid: *const est_uuid,
        out: *mut *mut est_aggregate,
    ) -> est_status;
    pub fn est_aggregate_load(
        astore: *mut est_aggregate_store,
        uuid: *const est_uuid,
        to_version: i64,
        out: *mut *mut est_aggregate,
    ) -> est_status;
    pub fn est_aggregate_append(
        agg: *mut est_aggregate,
        type_: *const c_char,
        data: *const c_void,
        data_len: usize,
        content_type: *const c_char,
    ) -> est_status;
    pub fn est_aggregate_append_metadata(
        agg: *mut est_aggregate,
        key: *const c_char,
        value: *const c_char,
    ) -> est_status;
    pub fn est_aggregate_save(agg: *mut est_aggregate, result: *mut est_append_result) -> est_status;
    pub fn est_aggregate_state(agg: *mut est_aggregate) -> *mut c_void;
    pub fn est_aggregate_version(agg: *const est_aggregate) -> i64;
    pub fn est_aggregate_id(agg: *const est_aggregate) -> *const c_char;
    pub fn est_aggregate_pending(agg: *const est_aggregate) -> usize;
    pub fn est_aggregate_free(agg: *mut est_aggregate);
    pub fn est_aggregate_stats_init(stats: *mut est_aggregate_stats);
    pub fn est_aggregate_store_stats(astore: *mut est_aggregate_store, stats: *mut est_aggregate_stats) -> est_status;
}

// ---------------------------------------------------------------------
// The header's experimental section (EST_EXPERIMENTAL): subscriptions,
// transactions, checkpoints and projections. Their symbols carry the ESTORIA_EXPERIMENTAL version.

#[repr(C)]
pub struct est_subscription {
    _private: [u8; 0],
}

pub const EST_POSITION_END: i64 = -1;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_subscribe_options {
    pub struct_size: u32,
    pub after_position: i64,
    pub stream_prefix: *const c_char,
    pub event_types: *const *const c_char,
    pub event_types_len: usize,
}

#[repr(C)]
pub struct est_txn {
    _private: [u8; 0],
}

pub const EST_TXN_MAX_APPENDS: usize = 10000;
pub const EST_TXN_MAX_EVENTS: usize = 100000;

extern "C" {
    pub fn est_subscribe_options_init(options: *mut est_subscribe_options);
    pub fn est_subscribe(
        store: *mut est_store,
        options: *const est_subscribe_options,
        out: *mut *mut est_subscription,
    ) -> est_status;
    pub fn est_subscription_poll(
        sub: *mut est_subscription,
        events: *mut est_event,
        capacity: usize,
        count: *mut usize,
        timeout_us: i64,
    ) -> est_status;
    pub fn est_subscription_position(sub: *const est_subscription) -> i64;
    pub fn est_subscription_fd(sub: *mut est_subscription, fd: *mut i32) -> est_status;
    pub fn est_subscription_wake(sub: *mut est_subscription) -> est_status;
    pub fn est_subscription_close(sub: *mut est_subscription);

    pub fn est_txn_new(store: *mut est_store, out: *mut *mut est_txn) -> est_status;
    pub fn est_txn_append(
        txn: *mut est_txn,
        stream_id: *const c_char,
        batch: *mut est_batch,
        options: *const est_append_options,
    ) -> est_status;
    pub fn est_txn_commit(txn: *mut est_txn, results: *mut est_append_result, results_len: usize) -> est_status;
    pub fn est_txn_size(txn: *const est_txn) -> usize;
    pub fn est_txn_free(txn: *mut est_txn);
    pub fn est_aggregate_set_event_id(agg: *mut est_aggregate, id: *const est_uuid) -> est_status;
    pub fn est_aggregate_load_at(
        astore: *mut est_aggregate_store,
        uuid: *const est_uuid,
        timestamp_ns: i64,
        out: *mut *mut est_aggregate,
    ) -> est_status;
    pub fn est_store_maintain(store: *mut est_store, budget_us: i64, report: *mut est_maintain_report) -> est_status;
    pub fn est_store_compact_schedule(store: *mut est_store) -> est_status;
    pub fn est_store_cancel(store: *mut est_store) -> est_status;
    pub fn est_allocator_init(allocator: *mut est_allocator);
    pub fn est_set_allocator(allocator: *const est_allocator) -> est_status;
    pub fn est_txn_checkpoint(txn: *mut est_txn, projection_id: *const c_char, position: i64) -> est_status;

    pub fn est_checkpoint_save(store: *mut est_store, projection_id: *const c_char, position: i64) -> est_status;
    pub fn est_checkpoint_load(
        store: *mut est_store,
        projection_id: *const c_char,
        position: *mut i64,
        updated_at_ns: *mut i64,
    ) -> est_status;
    pub fn est_checkpoint_delete(store: *mut est_store, projection_id: *const c_char) -> est_status;
    pub fn est_checkpoint_list(store: *mut est_store, visit: est_checkpoint_visit_fn, user: *mut c_void) -> est_status;
}

/// `est_checkpoint_visit_fn`: one checkpoint of `est_checkpoint_list`.
pub type est_checkpoint_visit_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        projection_id: *const c_char,
        position: i64,
        updated_at_ns: i64,
    ) -> est_status,
>;

// Projections (experimental): the engine over the global order.

#[repr(C)]
pub struct est_projection {
    _private: [u8; 0],
}

/// `est_projection_handler.handle`: a run of `count` (>= 1) events in
/// position order, valid during the call; `tx` is non-NULL in exactly-once
/// mode.
pub type est_projection_handle_fn = Option<
    unsafe extern "C" fn(user: *mut c_void, events: *const est_event, count: usize, tx: *mut est_txn) -> est_status,
>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_projection_handler {
    pub struct_size: u32,
    pub name: *const c_char,
    pub version: i32,
    pub user: *mut c_void,
    pub handle: est_projection_handle_fn,
}

pub const EST_PROJECTION_EXACTLY_ONCE: u32 = 1;
pub const EST_PROJECTION_CONTINUE_ON_ERROR: u32 = 2;
pub const EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP: u32 = 4;
pub const EST_PROJECTION_BATCH_MAX: u32 = 4096;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct est_projection_options {
    pub struct_size: u32,
    pub stream_prefix: *const c_char,
    pub event_types: *const *const c_char,
    pub event_types_len: usize,
    pub batch_max: u32,
    pub checkpoint_every: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct est_projection_report {
    pub struct_size: u32,
    pub position: i64,
    pub head: i64,
    pub handled: i64,
    pub caught_up: i32,
    pub skipped: i64,
}

extern "C" {
    pub fn est_projection_handler_init(handler: *mut est_projection_handler);
    pub fn est_projection_options_init(options: *mut est_projection_options);
    pub fn est_projection_report_init(report: *mut est_projection_report);
    pub fn est_projection_new(
        store: *mut est_store,
        handler: *const est_projection_handler,
        options: *const est_projection_options,
        out: *mut *mut est_projection,
    ) -> est_status;
    pub fn est_projection_run(p: *mut est_projection, budget_us: i64, report: *mut est_projection_report)
        -> est_status;
    pub fn est_projection_wake(p: *mut est_projection) -> est_status;
    pub fn est_projection_free(p: *mut est_projection);
    pub fn est_projection_rebuild(
        store: *mut est_store,
        name: *const c_char,
        next_version: i32,
        reason: *const c_char,
    ) -> est_status;
    pub fn est_projection_cutover(store: *mut est_store, name: *const c_char, version: i32) -> est_status;
    pub fn est_projection_active_version(store: *mut est_store, name: *const c_char, version: *mut i32) -> est_status;
}

/// An ABI struct whose first field is `struct_size`: what the header's
/// `EST_*_INIT` macros give, for the output structs (all integers, so zero is
/// their initial value).
pub(crate) trait SizedStruct: Default {
    fn init() -> Self;
}

macro_rules! sized_structs {
    ($($t:ident),*) => {$(
        impl SizedStruct for $t {
            fn init() -> Self {
                $t { struct_size: std::mem::size_of::<$t>() as u32, ..Default::default() }
            }
        }
    )*};
}
sized_structs!(
    est_append_result,
    est_stats,
    est_verify_report,
    est_compact_report,
    est_aggregate_stats,
    est_projection_report
);
