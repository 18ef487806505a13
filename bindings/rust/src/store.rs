//! The store handle and what it does: appends (through a `Batch`), reads,
//! deletion, snapshots, sync, stats and verify.
//!
//! Ownership: `Store`, `Batch` and `Snapshot` each own one ABI handle and
//! free it on drop. Thread safety, as the ABI allows: `Store` is Send + Sync
//! (a store handle may be used from many threads at once); `Batch` and
//! `Snapshot` are Send, not Sync (one thread at a time).
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>() {}
//! shared::<estoria::Batch>();
//! ```
//!
//! A closed store cannot be used: `close` takes it by value.
//!
//! ```compile_fail,E0382
//! let store = estoria::Store::open("memory:", &Default::default()).unwrap();
//! store.close();
//! store.sync().unwrap(); // error: use of moved value
//! ```

use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{check, Error, ErrorKind, Result};
use crate::id::{c_string, Uuid};
use crate::iter::EventIter;
use crate::sys::{self, SizedStruct};

/// When appends become durable (EST_SYNC_*).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Durable before an append returns (the default).
    #[default]
    Always,
    /// Flushed in the background every `sync_interval_ms`.
    Interval,
    /// Written to the OS; flushed when it pleases.
    None,
}

/// Options of `Store::open`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreOptions {
    pub sync_mode: SyncMode,
    /// 0 = the default (100).
    pub sync_interval_ms: i32,
    pub read_only: bool,
    /// Whether the library may start threads (`Threads::None`: call `Store::maintain`).
    pub threads: crate::Threads,
}

/// What an append must find (EST_EXPECT_*).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expect {
    /// No check.
    #[default]
    Any,
    /// The stream's version must be this (0: the stream must not exist).
    Version(i64),
    /// The stream's version must be 0.
    NoStream,
    /// The stream must exist (written and not wholly deleted).
    StreamExists,
}

/// Options of an append.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppendOptions {
    pub expect: Expect,
    /// EST_APPEND_RESTORE: keep each event's ID and timestamp, and start a
    /// stream that does not exist at `first_version` (import).
    pub restore: bool,
    /// With `restore`; 0 = 1.
    pub first_version: i64,
}

impl AppendOptions {
    /// Expect the stream at `version`.
    pub fn expect_version(version: i64) -> AppendOptions {
        AppendOptions { expect: Expect::Version(version), ..Default::default() }
    }
    /// Expect the stream not to exist.
    pub fn no_stream() -> AppendOptions {
        AppendOptions { expect: Expect::NoStream, ..Default::default() }
    }
    /// Expect the stream to exist.
    pub fn stream_exists() -> AppendOptions {
        AppendOptions { expect: Expect::StreamExists, ..Default::default() }
    }

    pub(crate) fn raw(&self) -> sys::est_append_options {
        let (expect, expected_version) = match self.expect {
            Expect::Any => (sys::EST_EXPECT_ANY, 0),
            Expect::Version(v) => (sys::EST_EXPECT_VERSION, v),
            Expect::NoStream => (sys::EST_EXPECT_NO_STREAM, 0),
            Expect::StreamExists => (sys::EST_EXPECT_STREAM_EXISTS, 0),
        };
        sys::est_append_options {
            struct_size: std::mem::size_of::<sys::est_append_options>() as u32,
            expect,
            expected_version,
            flags: if self.restore { sys::EST_APPEND_RESTORE } else { 0 },
            first_version: self.first_version,
        }
    }

    pub(crate) fn expected(&self) -> i64 {
        match self.expect {
            Expect::Version(v) => v,
            _ => 0,
        }
    }
}

/// Where an append's events went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendResult {
    pub first_version: i64,
    pub last_version: i64,
    /// 0 where the backend has no global order.
    pub first_position: i64,
    pub last_position: i64,
    /// The stream's version after the call.
    pub actual_version: i64,
    /// The events were already in the stream (a retry of an append whose
    /// events all carry caller-set IDs, `Batch::set_id`): nothing was
    /// written and this is the original append's result.
    pub duplicate: bool,
}

impl AppendResult {
    pub(crate) fn from_raw(r: &sys::est_append_result) -> AppendResult {
        AppendResult {
            first_version: r.first_version,
            last_version: r.last_version,
            first_position: r.first_position,
            last_position: r.last_position,
            actual_version: r.actual_version,
            duplicate: r.flags & sys::EST_APPEND_DUPLICATE != 0,
        }
    }
}

/// Read direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    Forward,
    Reverse,
}

/// Options of a stream read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    pub direction: Direction,
    /// Forward: exclusive lower bound; reverse: inclusive upper bound, 0 = the tip.
    pub after_version: i64,
    /// At most this many events; 0 = all.
    pub count: i64,
    /// The stream as of this time (unix ns; 0 = no bound): its live events
    /// up to, not including, the first one stamped later
    /// (doc/data-model.md, "Reads as of a time").
    pub until_timestamp_ns: i64,
}

/// Options of a global read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadAllOptions {
    /// Exclusive.
    pub after_position: i64,
    /// 0 = all.
    pub count: i64,
    /// 0 = no bound; else the read ends before the first event after
    /// `after_position` stamped later than this (unix ns).
    pub until_timestamp_ns: i64,
}

/// Counters of a store (est_store_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub events: i64,
    pub streams: i64,
    pub bytes: i64,
    pub segments: i64,
    pub first_position: i64,
    pub last_position: i64,
    pub snapshots: i64,
}

/// What compact did (est_compact_report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactReport {
    pub segments_before: i64,
    pub segments_after: i64,
    pub bytes_before: i64,
    pub bytes_after: i64,
    pub events_kept: i64,
    pub events_dropped: i64,
}

/// What verify checked (est_verify_report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: i64,
    pub records: i64,
    pub events: i64,
    pub bytes: i64,
}

/// A batch of events to append. The library copies everything added.
pub struct Batch {
    pub(crate) raw: NonNull<sys::est_batch>,
}

// SAFETY: a batch may be used from one thread at a time (moved, not shared).
unsafe impl Send for Batch {}

impl Batch {
    pub fn new() -> Result<Batch> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid out pointer.
        check(unsafe { sys::est_batch_new(&mut raw) })?;
        Ok(Batch { raw: NonNull::new(raw).expect("est_batch_new returned EST_OK with NULL") })
    }

    /// Adds an event of type `event_type` with payload `data`.
    pub fn add(&mut self, event_type: &str, data: &[u8], content_type: Option<&str>) -> Result<()> {
        let t = c_string("type", event_type)?;
        let ct = content_type.map(|c| c_string("content_type", c)).transpose()?;
        // SAFETY: valid handle and strings; data is a valid byte range.
        check(unsafe {
            sys::est_batch_add(
                self.raw.as_ptr(),
                t.as_ptr(),
                data.as_ptr() as *const c_void,
                data.len(),
                ct.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            )
        })
    }

    /// Adds a metadata pair to the last added event.
    pub fn add_metadata(&mut self, key: &str, value: &str) -> Result<()> {
        let k = c_string("key", key)?;
        let v = c_string("value", value)?;
        // SAFETY: valid handle and strings.
        check(unsafe { sys::est_batch_add_metadata(self.raw.as_ptr(), k.as_ptr(), v.as_ptr()) })
    }

    /// Sets the last added event's ID; every append keeps it. A batch whose
    /// events all carry IDs is idempotent: appending it again finds them and
    /// returns the original result with `duplicate` set, writing nothing.
    pub fn set_id(&mut self, id: &Uuid) -> Result<()> {
        // SAFETY: valid handle and pointer.
        check(unsafe { sys::est_batch_set_id(self.raw.as_ptr(), &id.raw()) })
    }

    /// Sets the last added event's timestamp (kept by a restoring append only).
    pub fn set_timestamp(&mut self, timestamp_ns: i64) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::est_batch_set_timestamp(self.raw.as_ptr(), timestamp_ns) })
    }

    /// The batch as a FlatBuffers WritableEventBatch ("ESTB"); borrowed
    /// until the batch is next changed.
    pub fn bytes(&mut self) -> Result<&[u8]> {
        let mut p: *const u8 = ptr::null();
        let mut len = 0usize;
        // SAFETY: valid handle and out pointers; the bytes stay valid until
        // the next change of the batch, which needs &mut self.
        check(unsafe { sys::est_batch_bytes(self.raw.as_ptr(), &mut p, &mut len) })?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: len bytes at p, owned by the batch.
        Ok(unsafe { std::slice::from_raw_parts(p, len) })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::est_batch_free(self.raw.as_ptr()) }
    }
}

/// A snapshot read from the store.
pub struct Snapshot {
    raw: NonNull<sys::est_snapshot>,
}

// SAFETY: moved between threads, used from one at a time.
unsafe impl Send for Snapshot {}

impl Snapshot {
    pub fn version(&self) -> i64 {
        // SAFETY: valid handle.
        unsafe { sys::est_snapshot_version(self.raw.as_ptr()) }
    }
    pub fn timestamp_ns(&self) -> i64 {
        // SAFETY: valid handle.
        unsafe { sys::est_snapshot_timestamp_ns(self.raw.as_ptr()) }
    }
    pub fn data(&self) -> &[u8] {
        let mut len = 0usize;
        // SAFETY: valid handle; the data lives as long as the handle.
        let p = unsafe { sys::est_snapshot_data(self.raw.as_ptr(), &mut len) };
        if p.is_null() || len == 0 {
            return &[];
        }
        // SAFETY: len bytes at p.
        unsafe { std::slice::from_raw_parts(p, len) }
    }
    /// The content type, verbatim bytes ("" when undeclared).
    pub fn content_type(&self) -> &[u8] {
        // SAFETY: never NULL for a valid handle; lives as long as it.
        let p = unsafe { sys::est_snapshot_content_type(self.raw.as_ptr()) };
        if p.is_null() {
            return &[];
        }
        // SAFETY: NUL-terminated.
        unsafe { CStr::from_ptr(p) }.to_bytes()
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::est_snapshot_free(self.raw.as_ptr()) }
    }
}

/// An open store. Close it with `close` or by dropping it; iterators and
/// aggregate stores made from it stay valid and then return `Closed`.
pub struct Store {
    raw: NonNull<sys::est_store>,
    // Shared with the store's iterators (see EventIter).
    closed: Arc<AtomicBool>,
    // The host's callbacks, called by the library until the store closes
    // (dropped after est_store_close: fields drop after Drop::drop).
    _host: Option<Box<crate::Host>>,
}

// SAFETY: the ABI lets a store handle be used from many threads at once.
unsafe impl Send for Store {}
unsafe impl Sync for Store {}

fn check_abi() -> Result<()> {
    // SAFETY: no arguments.
    let loaded = unsafe { sys::est_abi_version() };
    if loaded >> 16 != sys::EST_ABI_VERSION_MAJOR {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "libestoria ABI {}.{} is loaded; this crate needs major version {}",
                loaded >> 16,
                loaded & 0xffff,
                sys::EST_ABI_VERSION_MAJOR
            ),
        ));
    }
    Ok(())
}

impl Store {
    /// Opens `uri`: "memory:" (a fresh private store), "file:PATH" or a
    /// bare path (the file store). Refuses a library of another ABI major.
    pub fn open(uri: &str, options: &StoreOptions) -> Result<Store> {
        Self::open_with_host(uri, options, None)
    }

    /// As `open`, with the host's clock, randomness and log for this store
    /// (doc/abi.md "Hosts"); the store keeps `host` until it is dropped.
    pub fn open_with_host(uri: &str, options: &StoreOptions, host: Option<crate::Host>) -> Result<Store> {
        check_abi()?;
        let u = c_string("uri", uri)?;
        let host = host.map(Box::new);
        let mut o = sys::est_store_options {
            struct_size: std::mem::size_of::<sys::est_store_options>() as u32,
            sync_mode: match options.sync_mode {
                SyncMode::Always => sys::EST_SYNC_ALWAYS,
                SyncMode::Interval => sys::EST_SYNC_INTERVAL,
                SyncMode::None => sys::EST_SYNC_NONE,
            },
            sync_interval_ms: options.sync_interval_ms,
            read_only: options.read_only as i32,
            threads: options.threads as i32,
            clock_ns: None,
            random_bytes: None,
            host_user: ptr::null_mut(),
            log: None,
            log_user: ptr::null_mut(),
        };
        if let Some(h) = &host {
            h.fill(&mut o);
        }
        let mut raw = ptr::null_mut();
        // SAFETY: valid string, options and out pointer.
        check(unsafe { sys::est_store_open(u.as_ptr(), &o, &mut raw) })?;
        Ok(Store {
            raw: NonNull::new(raw).expect("est_store_open returned EST_OK with NULL"),
            closed: Arc::new(AtomicBool::new(false)),
            _host: host,
        })
    }

    /// Does pending background work for about `budget_us` microseconds
    /// (est_store_maintain): with `Threads::None` all of it; in every mode
    /// the steps of a scheduled compaction. `ErrorKind::Cancelled` when that
    /// compaction was cancelled (abandoned; the store as it was).
    pub fn maintain(&self, budget_us: i64) -> Result<crate::MaintainReport> {
        let mut r = sys::est_maintain_report {
            struct_size: std::mem::size_of::<sys::est_maintain_report>() as u32,
            ..Default::default()
        };
        // SAFETY: valid handle and report.
        check(unsafe { sys::est_store_maintain(self.raw(), budget_us, &mut r) })?;
        Ok(crate::MaintainReport { pending: r.pending != 0, compacting: r.compacting != 0 })
    }

    /// Schedules a compaction that `maintain` runs in steps.
    pub fn compact_schedule(&self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::est_store_compact_schedule(self.raw()) }).map(|_| ())
    }

    /// Stops a running or scheduled compaction or verify (from any thread):
    /// it fails with `ErrorKind::Cancelled`. With nothing running, nothing happens.
    pub fn cancel(&self) -> Result<()> {
        // SAFETY: valid handle; the ABI allows any thread.
        check(unsafe { sys::est_store_cancel(self.raw()) }).map(|_| ())
    }

    /// Closes the store (as dropping it does).
    pub fn close(self) {}

    pub(crate) fn raw(&self) -> *mut sys::est_store {
        self.raw.as_ptr()
    }

    /// Shared with the store's children, set when the store closes.
    pub(crate) fn closed_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.closed)
    }

    fn append_impl(
        &self,
        stream_id: &str,
        batch: &Batch,
        options: &AppendOptions,
        written: Option<&mut *mut sys::est_iter>,
    ) -> Result<AppendResult> {
        let id = c_string("stream_id", stream_id)?;
        let o = options.raw();
        let mut r = sys::est_append_result::init();
        // SAFETY: valid handles and pointers. The ABI leaves the batch
        // unchanged, and Batch is not Sync, so no other thread uses it now.
        let s = unsafe {
            sys::est_append_batch(
                self.raw(),
                id.as_ptr(),
                batch.raw.as_ptr(),
                &o,
                &mut r,
                written.map_or(ptr::null_mut(), |w| w as *mut _),
            )
        };
        finish_append(s, &r, options)
    }

    /// Appends the batch's events to `stream_id` ("type_uuid"), all or none.
    pub fn append(&self, stream_id: &str, batch: &Batch, options: &AppendOptions) -> Result<AppendResult> {
        self.append_impl(stream_id, batch, options, None)
    }

    /// As `append`, also returning an iterator over the written events.
    pub fn append_written(
        &self,
        stream_id: &str,
        batch: &Batch,
        options: &AppendOptions,
    ) -> Result<(AppendResult, EventIter)> {
        let mut it = ptr::null_mut();
        let r = self.append_impl(stream_id, batch, options, Some(&mut it))?;
        // SAFETY: EST_OK gave a live iterator that we now own.
        Ok((r, unsafe { EventIter::from_raw(it, Arc::clone(&self.closed)) }))
    }

    /// Appends a FlatBuffers WritableEventBatch given as bytes (verified
    /// and copied by the library).
    pub fn append_bytes(&self, stream_id: &str, bytes: &[u8], options: &AppendOptions) -> Result<AppendResult> {
        let id = c_string("stream_id", stream_id)?;
        let o = options.raw();
        let mut r = sys::est_append_result::init();
        // SAFETY: valid pointers; bytes is a valid range.
        let s = unsafe {
            sys::est_append(self.raw(), id.as_ptr(), bytes.as_ptr(), bytes.len(), &o, &mut r, ptr::null_mut())
        };
        finish_append(s, &r, options)
    }

    /// Reads one stream. `NotFound` for a stream never written.
    pub fn read_stream(&self, stream_id: &str, options: &ReadOptions) -> Result<EventIter> {
        let id = c_string("stream_id", stream_id)?;
        let o = sys::est_read_options {
            struct_size: std::mem::size_of::<sys::est_read_options>() as u32,
            direction: match options.direction {
                Direction::Forward => sys::EST_FORWARD,
                Direction::Reverse => sys::EST_REVERSE,
            },
            after_version: options.after_version,
            count: options.count,
            until_timestamp_ns: options.until_timestamp_ns,
        };
        let mut it = ptr::null_mut();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_read_stream(self.raw(), id.as_ptr(), &o, &mut it) })?;
        // SAFETY: a live iterator we now own.
        Ok(unsafe { EventIter::from_raw(it, Arc::clone(&self.closed)) })
    }

    /// Reads every event in global order (finite: the frontier is fixed now).
    pub fn read_all(&self, options: &ReadAllOptions) -> Result<EventIter> {
        let o = sys::est_read_all_options {
            struct_size: std::mem::size_of::<sys::est_read_all_options>() as u32,
            after_position: options.after_position,
            count: options.count,
            until_timestamp_ns: options.until_timestamp_ns,
        };
        let mut it = ptr::null_mut();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_read_all(self.raw(), &o, &mut it) })?;
        // SAFETY: a live iterator we now own.
        Ok(unsafe { EventIter::from_raw(it, Arc::clone(&self.closed)) })
    }

    /// Deletes a stream wholly (`to_version` 0) or its events up to `to_version`.
    pub fn delete_stream(&self, stream_id: &str, to_version: i64) -> Result<()> {
        let id = c_string("stream_id", stream_id)?;
        // SAFETY: valid pointers.
        check(unsafe { sys::est_delete_stream(self.raw(), id.as_ptr(), to_version) })
    }

    /// Writes a snapshot of `aggregate_id` at `version` (> 0).
    /// `timestamp_ns` 0 lets the store stamp the write time.
    pub fn write_snapshot(
        &self,
        aggregate_id: &str,
        version: i64,
        data: &[u8],
        content_type: Option<&str>,
        timestamp_ns: i64,
    ) -> Result<()> {
        let id = c_string("aggregate_id", aggregate_id)?;
        let ct = content_type.map(|c| c_string("content_type", c)).transpose()?;
        let o = sys::est_snapshot_write_options {
            struct_size: std::mem::size_of::<sys::est_snapshot_write_options>() as u32,
            timestamp_ns,
        };
        // SAFETY: valid pointers and byte range.
        check(unsafe {
            sys::est_snapshot_write(
                self.raw(),
                id.as_ptr(),
                version,
                data.as_ptr() as *const c_void,
                data.len(),
                ct.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                &o,
            )
        })
    }

    /// The newest snapshot at or below `max_version` (0 = any); `NotFound`
    /// when there is none.
    pub fn read_snapshot(&self, aggregate_id: &str, max_version: i64) -> Result<Snapshot> {
        let id = c_string("aggregate_id", aggregate_id)?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_snapshot_read(self.raw(), id.as_ptr(), max_version, &mut raw) })?;
        Ok(Snapshot { raw: NonNull::new(raw).expect("est_snapshot_read returned EST_OK with NULL") })
    }

    /// Removes all but the `keep_last` newest snapshots (0 = no limit) and
    /// all below `min_version` (0 = no bound).
    pub fn prune_snapshots(&self, aggregate_id: &str, keep_last: i64, min_version: i64) -> Result<()> {
        let id = c_string("aggregate_id", aggregate_id)?;
        // SAFETY: valid pointers.
        check(unsafe { sys::est_snapshot_prune(self.raw(), id.as_ptr(), keep_last, min_version) })
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::est_store_sync(self.raw()) })
    }

    pub fn stats(&self) -> Result<Stats> {
        let mut s = sys::est_stats::init();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_store_stats(self.raw(), &mut s) })?;
        Ok(Stats {
            events: s.events,
            streams: s.streams,
            bytes: s.bytes,
            segments: s.segments,
            first_position: s.first_position,
            last_position: s.last_position,
            snapshots: s.snapshots,
        })
    }

    /// Checks every record of the store; `progress` hears (done, total)
    /// bytes on this thread. `Corruption` names the first damage.
    pub fn verify(&self, progress: Option<&mut dyn FnMut(u64, u64)>) -> Result<VerifyReport> {
        let mut r = sys::est_verify_report::init();
        // SAFETY: valid pointers; the callback and its user pointer come from with_progress.
        check(with_progress(progress, |f, user| unsafe { sys::est_store_verify(self.raw(), f, user, &mut r) }))?;
        Ok(VerifyReport { segments: r.segments, records: r.records, events: r.events, bytes: r.bytes })
    }

    /// Reclaims the space of deleted and truncated events, online (see
    /// est_store_compact); `progress` hears (done, total) bytes on this
    /// thread. The memory store has nothing to reclaim: an empty report.
    pub fn compact(&self, progress: Option<&mut dyn FnMut(u64, u64)>) -> Result<CompactReport> {
        let mut r = sys::est_compact_report::init();
        // SAFETY: valid pointers; the callback and its user pointer come from with_progress.
        check(with_progress(progress, |f, user| unsafe { sys::est_store_compact(self.raw(), f, user, &mut r) }))?;
        Ok(CompactReport {
            segments_before: r.segments_before,
            segments_after: r.segments_after,
            bytes_before: r.bytes_before,
            bytes_after: r.bytes_after,
            events_kept: r.events_kept,
            events_dropped: r.events_dropped,
        })
    }
}

/// Runs `call` with a C progress callback (and its user pointer) that calls
/// `progress` on this thread; a panic in it is caught, never unwound into C.
fn with_progress(
    progress: Option<&mut dyn FnMut(u64, u64)>,
    call: impl FnOnce(sys::est_progress_fn, *mut c_void) -> sys::est_status,
) -> sys::est_status {
    unsafe extern "C" fn trampoline(user: *mut c_void, done: u64, total: u64) {
        // SAFETY: user is the &mut &mut dyn FnMut below, alive for the call.
        let f = &mut *(user as *mut &mut dyn FnMut(u64, u64));
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(done, total)));
    }
    match progress {
        Some(mut f) => call(Some(trampoline), &mut f as *mut &mut dyn FnMut(u64, u64) as *mut c_void),
        None => call(None, ptr::null_mut()),
    }
}

fn finish_append(s: sys::est_status, r: &sys::est_append_result, options: &AppendOptions) -> Result<AppendResult> {
    if s == sys::EST_OK {
        return Ok(AppendResult::from_raw(r));
    }
    let e = Error::last(s);
    if s == sys::EST_ERR_VERSION_MISMATCH {
        return Err(e.with_versions(options.expected(), r.actual_version));
    }
    Err(e)
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: owned, closed once.
        unsafe { sys::est_store_close(self.raw.as_ptr()) }
        self.closed.store(true, Ordering::Release);
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("raw", &self.raw).finish()
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("raw", &self.raw).finish()
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("version", &self.version()).field("data_len", &self.data().len()).finish()
    }
}
