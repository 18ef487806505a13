//! Projections: the library's one projection engine (the header's
//! experimental est_projection_*; doc/data-model.md "Projections" and
//! "Rebuilds"). A projection `name_vN` hands a Rust closure runs of events in
//! global order: it resumes from its checkpoint, catches up, then follows new
//! commits, and saves the checkpoint as it goes.
//!
//! The handler is `FnMut(Events<'_>, Option<&mut ProjectionTxn>) -> Result<()>`.
//! The views are valid during the call only (they borrow it), and the
//! transaction is `Some` in exactly-once mode: what the handler appends
//! through it commits with the checkpoint. A handler's `Err` and a panic in
//! it (caught: it never unwinds into C) stop the run, which returns an error
//! carrying the status and message (a panic is `Internal`, "panicked: ...");
//! with `continue_on_error` the failing events are skipped and counted.
//!
//! Ownership and threads: a `Projection` owns its handle and its handler,
//! and frees both on drop (the checkpoint stays in the store). It does not
//! borrow the `Store` (closing the store makes `run` return `Closed`), but
//! it may borrow what the handler captures (its lifetime `'h`). It is Send,
//! not Sync: one thread runs it; its `ProjectionWaker` is Send + Sync, ends a
//! run from any thread and may outlive it (a wake after the drop is `Closed`).
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>() {}
//! shared::<estoria::Projection<'static>>();
//! ```
//!
//! The views do not outlive the handler's call:
//!
//! ```compile_fail,E0521
//! # fn f(store: &estoria::Store) -> estoria::Result<()> {
//! let mut kept = Vec::new();
//! let p = store.projection("totals", 1, &Default::default(), |events, _| {
//!     kept.push(events.get(0).unwrap().data()); // error: borrowed data escapes the closure
//!     Ok(())
//! })?;
//! # Ok(()) }
//! ```

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{check, fail, panic_message, Error, ErrorKind, Result};
use crate::id::c_string;
use crate::iter::Events;
use crate::store::{AppendOptions, Batch, Store};
use crate::sys::{self, SizedStruct};

/// Most events one handler call receives (a larger `batch_max` is clamped).
pub const PROJECTION_BATCH_MAX: u32 = sys::EST_PROJECTION_BATCH_MAX;

/// Options of `Store::projection`. The default: every event, batches of
/// 256, a checkpoint after every call, at least once, stop on an error.
#[derive(Clone, Debug, Default)]
pub struct ProjectionOptions {
    /// Only streams whose ID ("type_uuid") starts with this; None or "" =
    /// every stream. What a filter leaves out still moves the position.
    pub stream_prefix: Option<String>,
    /// Only these event types (exact names); empty = every type.
    pub event_types: Vec<String>,
    /// Events per handler call; 0 = 256, at most `PROJECTION_BATCH_MAX`.
    pub batch_max: u32,
    /// Events between checkpoints; 0 = after every call. The checkpoint is
    /// also saved whenever the projection reaches the head and at the end of
    /// every run.
    pub checkpoint_every: u32,
    /// The handler gets a `ProjectionTxn`; its appends commit with the
    /// checkpoint, all or nothing.
    pub exactly_once: bool,
    /// A failing call's events are handed again one at a time, and those
    /// that fail are skipped (reported to the store's log, counted in
    /// `ProjectionReport::skipped`) instead of stopping the run.
    pub continue_on_error: bool,
    /// A requested rebuild of this version cuts over on its own once it has
    /// caught up.
    pub cutover_when_caught_up: bool,
}

/// What a run did and where it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProjectionReport {
    /// The checkpoint: every event at or below it was handled, skipped or
    /// filtered out.
    pub position: i64,
    /// The store's last visible position when the run ended.
    pub head: i64,
    /// Events handed to the handler in the run (a failed call's too).
    pub handled: i64,
    /// Events skipped after handler errors (`continue_on_error`).
    pub skipped: i64,
    /// The position reached the head.
    pub caught_up: bool,
}

impl ProjectionReport {
    fn from_raw(r: &sys::est_projection_report) -> ProjectionReport {
        ProjectionReport {
            position: r.position,
            head: r.head,
            handled: r.handled,
            skipped: r.skipped,
            caught_up: r.caught_up != 0,
        }
    }
}

/// The exactly-once transaction, lent to the handler for its call: what it
/// appends commits with the checkpoint (the engine commits it; a failed
/// call's appends are dropped).
pub struct ProjectionTxn {
    raw: NonNull<sys::est_txn>,
}

impl ProjectionTxn {
    /// Adds an append of `batch` to `stream_id` (as `Transaction::append`).
    /// An expectation that fails at the commit fails the run with
    /// `VersionMismatch`, nothing of that call written.
    pub fn append(&mut self, stream_id: &str, batch: &Batch, options: &AppendOptions) -> Result<()> {
        let id = c_string("stream_id", stream_id)?;
        let o = options.raw();
        // SAFETY: the engine's transaction, valid during the handler's call
        // (which this borrow cannot outlive); the library copies the batch.
        check(unsafe { sys::est_txn_append(self.raw.as_ptr(), id.as_ptr(), batch.raw.as_ptr(), &o) })
    }

    /// The appends this call has added so far.
    pub fn len(&self) -> usize {
        // SAFETY: as append.
        unsafe { sys::est_txn_size(self.raw.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for ProjectionTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionTxn").field("appends", &self.len()).finish()
    }
}

type Handler<'h> = dyn FnMut(Events<'_>, Option<&mut ProjectionTxn>) -> Result<()> + Send + 'h;

/// The C handler: calls the Rust one, catching its panics, and turns its
/// error into a status and a message (est_set_error).
unsafe extern "C" fn handle_cb(
    user: *mut c_void,
    events: *const sys::est_event,
    count: usize,
    tx: *mut sys::est_txn,
) -> sys::est_status {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `user` is the projection's boxed handler, alive while its
        // handle is, and called by one run at a time (run takes &mut self).
        let handler = unsafe { &mut *(user as *mut Box<Handler<'_>>) };
        let views: &[sys::est_event] = if events.is_null() || count == 0 {
            &[]
        } else {
            // SAFETY: the library passes `count` filled views, valid during
            // the call; the Events borrow ends with it.
            unsafe { std::slice::from_raw_parts(events, count) }
        };
        // SAFETY: as above.
        let events = unsafe { Events::from_raw(views) };
        let mut txn = NonNull::new(tx).map(|raw| ProjectionTxn { raw });
        handler(events, txn.as_mut())
    }));
    match outcome {
        Ok(Ok(())) => sys::EST_OK,
        // Only negative statuses are errors; anything else would read as success.
        Ok(Err(e)) => fail(if e.status() < 0 { e.status() } else { sys::EST_ERR_INTERNAL }, e.message()),
        Err(p) => fail(sys::EST_ERR_INTERNAL, &format!("the projection handler {}", panic_message(&*p))),
    }
}

// The handle as the waker sees it: None once the projection is freed. The
// free takes the lock, so no wake runs on a freed handle.
struct Shared {
    handle: Mutex<Option<SendPtr>>,
}

struct SendPtr(NonNull<sys::est_projection>);
// SAFETY: est_projection_wake may be called from any thread; the pointer is
// only used for it (under the mutex) and for the free.
unsafe impl Send for SendPtr {}

/// Ends a projection's running `run` (or makes its next one return at once)
/// from any thread.
#[derive(Clone)]
pub struct ProjectionWaker {
    shared: Arc<Shared>,
}

impl ProjectionWaker {
    /// `Closed` once the projection is dropped.
    pub fn wake(&self) -> Result<()> {
        let guard = self.shared.handle.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            // SAFETY: the handle is live while it is in the mutex.
            Some(p) => check(unsafe { sys::est_projection_wake(p.0.as_ptr()) }),
            None => Err(Error::new(ErrorKind::Closed, "the projection is dropped")),
        }
    }
}

impl std::fmt::Debug for ProjectionWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionWaker").finish_non_exhaustive()
    }
}

/// A projection (see the module's documentation). `Store::projection`
/// makes one.
pub struct Projection<'h> {
    raw: NonNull<sys::est_projection>,
    // The handler, boxed twice so that the C user pointer is thin; freed
    // after the handle (Drop), never while the engine may call it.
    handler: *mut Box<Handler<'h>>,
    shared: Arc<Shared>,
    id: String,
    last: Option<ProjectionReport>,
}

// SAFETY: the ABI allows a projection to be used from one thread at a time
// (wake aside, which goes through the Sync waker), and the handler is Send.
unsafe impl Send for Projection<'_> {}

impl Store {
    /// A projection `name_v{version}` of this store driven by `handler`,
    /// resumed from its checkpoint (none: from the first event). Nothing
    /// runs until `Projection::run`. `InvalidArgument` for a bad name or
    /// version or bad filters, `NotFound` for a version retired by a
    /// cutover.
    pub fn projection<'h, F>(
        &self,
        name: &str,
        version: i32,
        options: &ProjectionOptions,
        handler: F,
    ) -> Result<Projection<'h>>
    where
        F: FnMut(Events<'_>, Option<&mut ProjectionTxn>) -> Result<()> + Send + 'h,
    {
        let c_name = c_string("name", name)?;
        let prefix = options.stream_prefix.as_deref().map(|p| c_string("stream_prefix", p)).transpose()?;
        let types: Vec<CString> =
            options.event_types.iter().map(|t| c_string("event type", t)).collect::<Result<_>>()?;
        let type_ptrs: Vec<*const c_char> = types.iter().map(|t| t.as_ptr()).collect();
        let flags = if options.exactly_once { sys::EST_PROJECTION_EXACTLY_ONCE } else { 0 }
            | if options.continue_on_error { sys::EST_PROJECTION_CONTINUE_ON_ERROR } else { 0 }
            | if options.cutover_when_caught_up { sys::EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP } else { 0 };
        let o = sys::est_projection_options {
            struct_size: std::mem::size_of::<sys::est_projection_options>() as u32,
            stream_prefix: prefix.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
            event_types: if type_ptrs.is_empty() { ptr::null() } else { type_ptrs.as_ptr() },
            event_types_len: type_ptrs.len(),
            batch_max: options.batch_max,
            checkpoint_every: options.checkpoint_every,
            flags,
        };
        let boxed: Box<Handler<'h>> = Box::new(handler);
        let user = Box::into_raw(Box::new(boxed));
        let h = sys::est_projection_handler {
            struct_size: std::mem::size_of::<sys::est_projection_handler>() as u32,
            name: c_name.as_ptr(),
            version,
            user: user as *mut c_void,
            handle: Some(handle_cb),
        };
        let mut raw = ptr::null_mut();
        // SAFETY: valid handle, handler, options and out pointer; the library
        // copies the name and filters and keeps only `user`, which lives
        // until the projection is freed.
        let s = unsafe { sys::est_projection_new(self.raw(), &h, &o, &mut raw) };
        if s != sys::EST_OK {
            let e = Error::last(s);
            // SAFETY: from Box::into_raw above; the library kept nothing.
            drop(unsafe { Box::from_raw(user) });
            return Err(e);
        }
        let raw = NonNull::new(raw).expect("est_projection_new returned EST_OK with NULL");
        Ok(Projection {
            raw,
            handler: user,
            shared: Arc::new(Shared { handle: Mutex::new(Some(SendPtr(raw))) }),
            id: format!("{name}_v{version}"),
            last: None,
        })
    }

    /// Records the request to build `next_version` of projection `name`
    /// beside its active version (`reason` is kept in the history). Ok also
    /// when that rebuild is requested already; `InvalidArgument` when
    /// `next_version` is not above every active, requested and retired
    /// version; `VersionMismatch` on a racing change (retry).
    pub fn rebuild_projection(&self, name: &str, next_version: i32, reason: Option<&str>) -> Result<()> {
        let n = c_string("name", name)?;
        let r = reason.map(|r| c_string("reason", r)).transpose()?;
        // SAFETY: valid handle and C strings (reason NULL ok).
        check(unsafe {
            sys::est_projection_rebuild(
                self.raw(),
                n.as_ptr(),
                next_version,
                r.as_ref().map_or(ptr::null(), |r| r.as_ptr()),
            )
        })
    }

    /// Makes `version` of projection `name` the active one and retires the
    /// previous (its checkpoint is deleted; its runs then fail with
    /// `NotFound`). Ok also when it is active already; `VersionMismatch`
    /// when no such rebuild is pending or it has not caught up yet.
    pub fn cutover_projection(&self, name: &str, version: i32) -> Result<()> {
        let n = c_string("name", name)?;
        // SAFETY: valid handle and C string.
        check(unsafe { sys::est_projection_cutover(self.raw(), n.as_ptr(), version) })
    }

    /// The active version of projection `name`: the last cutover's; for one
    /// never cut over, the lowest version with a checkpoint. `NotFound` when
    /// no version of it ever saved a checkpoint.
    pub fn active_projection_version(&self, name: &str) -> Result<i32> {
        let n = c_string("name", name)?;
        let mut version = 0i32;
        // SAFETY: valid handle, C string and out pointer.
        check(unsafe { sys::est_projection_active_version(self.raw(), n.as_ptr(), &mut version) })?;
        Ok(version)
    }
}

impl Projection<'_> {
    /// Catches up and follows for at most `budget` (a host's frame: a few
    /// milliseconds): no handler call starts after it is spent.
    /// `Duration::ZERO` handles everything ready now without waiting for a
    /// commit. The run then saves the checkpoint and reports. Errors: the
    /// handler's (its status and message; a panic is `Internal`), `Closed`,
    /// `Io`, `VersionMismatch` (exactly once: an expectation of the
    /// handler's appends failed), `NotFound` (this version was retired).
    /// `last_report` says where a failed run stopped.
    pub fn run(&mut self, budget: Duration) -> Result<ProjectionReport> {
        self.run_us(i64::try_from(budget.as_micros()).unwrap_or(i64::MAX))
    }

    /// As `run`, without a budget: catches up, then follows until a
    /// `ProjectionWaker` (or `wake`) ends it, the store closes (`Closed`)
    /// or an error stops it.
    pub fn run_until_wake(&mut self) -> Result<ProjectionReport> {
        self.run_us(-1)
    }

    fn run_us(&mut self, budget_us: i64) -> Result<ProjectionReport> {
        let mut r = sys::est_projection_report::init();
        // SAFETY: valid handle and report; the handler it calls is ours and
        // alive (it is freed after the handle).
        let s = unsafe { sys::est_projection_run(self.raw.as_ptr(), budget_us, &mut r) };
        // Read the thread's message before any other call.
        let error = (s < 0).then(|| Error::last(s));
        let report = ProjectionReport::from_raw(&r);
        self.last = Some(report);
        match error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// The report of the last run, also of one that failed (where it
    /// stopped: its checkpoint, the events it handed over); None before the
    /// first run.
    pub fn last_report(&self) -> Option<ProjectionReport> {
        self.last
    }

    /// The projection's ID, "name_vN" (its checkpoint's).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Makes the running `run` (or the next one) return; see
    /// `ProjectionWaker` to wake it from another thread.
    pub fn wake(&self) -> Result<()> {
        self.waker().wake()
    }

    /// A handle that wakes this projection from any thread.
    pub fn waker(&self) -> ProjectionWaker {
        ProjectionWaker { shared: Arc::clone(&self.shared) }
    }
}

impl Drop for Projection<'_> {
    fn drop(&mut self) {
        // No waker may call into the handle from here on.
        self.shared.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        // SAFETY: owned, freed once, no waker holds it; then the handler,
        // which the freed handle can no longer call.
        unsafe {
            sys::est_projection_free(self.raw.as_ptr());
            drop(Box::from_raw(self.handler));
        }
    }
}

impl std::fmt::Debug for Projection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projection").field("id", &self.id).field("last_report", &self.last).finish()
    }
}
