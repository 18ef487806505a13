//! Live subscriptions: catch up from a position, then follow commits
//! (the header's experimental est_subscribe / est_subscription_*).
//!
//! Two ways to consume one:
//! - `poll(timeout)` lends the views of the next events, valid until the
//!   next poll: it takes `&mut self` and the views borrow it, so the borrow
//!   checker refuses a view kept across polls, as the ABI requires:
//!
//! ```compile_fail,E0499
//! # fn f(store: &estoria::Store) -> estoria::Result<()> {
//! let mut sub = store.subscribe(&Default::default())?;
//! let first = sub.poll(std::time::Duration::ZERO)?;
//! let second = sub.poll(std::time::Duration::ZERO); // error: `sub` is still borrowed
//! println!("{}", first.len());
//! # Ok(()) }
//! ```
//!
//! - as an `Iterator` of owned `RecordedEvent`s that waits for commits:
//!   `for event in &mut sub` blocks until the next event and ends when a
//!   `SubscriptionWaker` wakes it (from any thread).
//!
//! Ownership and threads: a `Subscription` owns its handle and closes it on
//! drop; it does not borrow the `Store` (closing the store makes it return
//! `Closed`, a waiting poll promptly). It is Send, not Sync (one thread at a
//! time). Its `SubscriptionWaker` is Send + Sync and may outlive it: a wake
//! after the subscription is gone is `Closed`, never a use after free.
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>() {}
//! shared::<estoria::Subscription>();
//! ```

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{check, Error, ErrorKind, Result};
use crate::id::c_string;
use crate::iter::{Events, RecordedEvent};
use crate::store::Store;
use crate::sys;

/// As `SubscribeOptions::after_position`: only what commits after the
/// subscription is made (EST_POSITION_END).
pub const POSITION_END: i64 = sys::EST_POSITION_END;

/// Options of `Store::subscribe`.
#[derive(Clone, Debug, Default)]
pub struct SubscribeOptions {
    /// Deliver the events after this global position: 0 = from the first,
    /// `POSITION_END` = only later commits; a subscription's `position()`
    /// resumes where it stopped.
    pub after_position: i64,
    /// Only streams whose ID ("type_uuid") starts with this; None or "" =
    /// every stream.
    pub stream_prefix: Option<String>,
    /// Only these event types (exact names); empty = every type.
    pub event_types: Vec<String>,
    /// Views fetched per crossing of the ABI (0 = `crate::DEFAULT_BATCH`).
    pub batch_size: usize,
}

impl SubscribeOptions {
    /// Every event after `position`.
    pub fn after(position: i64) -> SubscribeOptions {
        SubscribeOptions { after_position: position, ..Default::default() }
    }
    /// Only what commits from now on.
    pub fn from_end() -> SubscribeOptions {
        SubscribeOptions::after(POSITION_END)
    }
}

// The handle as the waker sees it: None once the subscription is closed. The
// close takes the lock, so no wake runs on a freed handle.
struct Shared {
    handle: Mutex<Option<SendPtr>>,
}

struct SendPtr(NonNull<sys::est_subscription>);
// SAFETY: est_subscription_wake may be called from any thread; the pointer is
// only used for it (under the mutex) and for the close.
unsafe impl Send for SendPtr {}

/// Wakes a subscription's waiting poll (or its next one) from any thread:
/// `poll` then returns no events, and the blocking iterator ends.
#[derive(Clone)]
pub struct SubscriptionWaker {
    shared: Arc<Shared>,
}

impl SubscriptionWaker {
    /// `Closed` once the subscription is closed or dropped.
    pub fn wake(&self) -> Result<()> {
        let guard = self.shared.handle.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            // SAFETY: the handle is live while it is in the mutex.
            Some(p) => check(unsafe { sys::est_subscription_wake(p.0.as_ptr()) }),
            None => Err(Error::new(ErrorKind::Closed, "the subscription is closed")),
        }
    }
}

impl std::fmt::Debug for SubscriptionWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionWaker").finish_non_exhaustive()
    }
}

/// A live subscription (see the module's documentation).
pub struct Subscription {
    raw: NonNull<sys::est_subscription>,
    shared: Arc<Shared>,
    buf: Vec<sys::est_event>,
    // Owned copies not yet handed out by the blocking iterator.
    pending: VecDeque<RecordedEvent>,
    // Set when the Store closes: the iterator then reports Closed rather than
    // copies it fetched before.
    store_closed: Arc<AtomicBool>,
    // The iterator returned an error: it ends (None) from then on, so that a
    // loop that ignores errors does not spin.
    failed: bool,
}

// SAFETY: the ABI allows a subscription to be used from one thread at a time
// (wake aside, which goes through the Sync waker); moving it is that.
unsafe impl Send for Subscription {}

fn timeout_us(timeout: Duration) -> i64 {
    i64::try_from(timeout.as_micros()).unwrap_or(i64::MAX)
}

impl Store {
    /// Subscribes to the store's events: those after
    /// `options.after_position` in global order, then every later commit,
    /// each once and in order, filtered by stream prefix and event types.
    pub fn subscribe(&self, options: &SubscribeOptions) -> Result<Subscription> {
        let prefix = options.stream_prefix.as_deref().map(|p| c_string("stream_prefix", p)).transpose()?;
        let types: Vec<CString> =
            options.event_types.iter().map(|t| c_string("event type", t)).collect::<Result<_>>()?;
        let type_ptrs: Vec<*const c_char> = types.iter().map(|t| t.as_ptr()).collect();
        let o = sys::est_subscribe_options {
            struct_size: std::mem::size_of::<sys::est_subscribe_options>() as u32,
            after_position: options.after_position,
            stream_prefix: prefix.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
            event_types: if type_ptrs.is_empty() { ptr::null() } else { type_ptrs.as_ptr() },
            event_types_len: type_ptrs.len(),
        };
        let mut raw = ptr::null_mut();
        // SAFETY: valid handle, options and out pointer; the library copies
        // the filters.
        check(unsafe { sys::est_subscribe(self.raw(), &o, &mut raw) })?;
        let raw = NonNull::new(raw).expect("est_subscribe returned EST_OK with NULL");
        let batch = if options.batch_size == 0 { crate::DEFAULT_BATCH } else { options.batch_size };
        Ok(Subscription {
            raw,
            shared: Arc::new(Shared { handle: Mutex::new(Some(SendPtr(raw))) }),
            buf: vec![sys::est_event::INIT; batch],
            pending: VecDeque::new(),
            store_closed: self.closed_flag(),
            failed: false,
        })
    }
}

impl Subscription {
    fn poll_raw(&mut self, timeout_us: i64) -> Result<usize> {
        if !self.pending.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the iterator holds {} events not handed out yet: take them first", self.pending.len()),
            ));
        }
        let mut count = 0usize;
        // SAFETY: buf holds buf.len() initialised views (buf[0].struct_size
        // gives the stride); they are read only through borrows of self,
        // which end before the next call.
        let s = unsafe {
            sys::est_subscription_poll(self.raw.as_ptr(), self.buf.as_mut_ptr(), self.buf.len(), &mut count, timeout_us)
        };
        check(s)?;
        Ok(count.min(self.buf.len()))
    }

    /// The views of the next events, waiting up to `timeout` for the first
    /// (`Duration::ZERO`: never wait, a host's frame). Empty on timeout or
    /// wake. The views are valid until the next poll (the borrow of self).
    /// `InvalidArgument` while the blocking iterator holds events it fetched
    /// but did not hand out yet (they would be skipped).
    pub fn poll(&mut self, timeout: Duration) -> Result<Events<'_>> {
        let n = self.poll_raw(timeout_us(timeout))?;
        // SAFETY: the first n views were filled by the library and stay
        // valid while the result borrows self.
        Ok(unsafe { Events::from_raw(&self.buf[..n]) })
    }

    /// As `poll`, waiting until events arrive, a wake (empty) or the
    /// store's close (`Closed`).
    pub fn wait(&mut self) -> Result<Events<'_>> {
        let n = self.poll_raw(-1)?;
        // SAFETY: as poll.
        Ok(unsafe { Events::from_raw(&self.buf[..n]) })
    }

    /// Every event at or below it was delivered or filtered out: a position
    /// to subscribe again from (`SubscribeOptions::after`). Events the
    /// blocking iterator fetched but has not handed out do not count.
    pub fn position(&self) -> i64 {
        if let Some(next) = self.pending.front() {
            return next.global_position - 1;
        }
        // SAFETY: valid handle.
        unsafe { sys::est_subscription_position(self.raw.as_ptr()) }
    }

    /// A descriptor that polls readable when events may be ready (for
    /// epoll or a host's loop); owned by the subscription: do not read or
    /// close it. Readable promises nothing: `poll(Duration::ZERO)` then.
    pub fn fd(&mut self) -> Result<std::os::raw::c_int> {
        let mut fd = -1;
        // SAFETY: valid handle and out pointer.
        check(unsafe { sys::est_subscription_fd(self.raw.as_ptr(), &mut fd) })?;
        Ok(fd)
    }

    /// Wakes this subscription's next poll (see `SubscriptionWaker` to wake
    /// one waiting on another thread).
    pub fn wake(&self) -> Result<()> {
        self.waker().wake()
    }

    /// A handle that wakes this subscription from any thread.
    pub fn waker(&self) -> SubscriptionWaker {
        SubscriptionWaker { shared: Arc::clone(&self.shared) }
    }

    /// Closes the subscription (as dropping it does).
    pub fn close(self) {}
}

impl Iterator for Subscription {
    type Item = Result<RecordedEvent>;

    /// The next event, waiting for it; None once a waker woke the wait (a
    /// later call waits again) or after an error (`Closed` when the store
    /// closed) was returned.
    fn next(&mut self) -> Option<Result<RecordedEvent>> {
        if self.failed {
            return None;
        }
        if self.store_closed.load(Ordering::Acquire) {
            self.pending.clear();
        }
        if let Some(e) = self.pending.pop_front() {
            return Some(Ok(e));
        }
        match self.poll_raw(-1) {
            Ok(0) => None,
            Ok(n) => {
                // SAFETY: the first n views are valid until the next poll,
                // and are copied here.
                let events = unsafe { Events::from_raw(&self.buf[..n]) };
                self.pending.extend(events.iter().map(|e| e.to_recorded()));
                self.pending.pop_front().map(Ok)
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // No waker may call into the handle from here on.
        self.shared.handle.lock().unwrap_or_else(|e| e.into_inner()).take();
        // SAFETY: owned, closed once, and no waker holds it any more.
        unsafe { sys::est_subscription_close(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("position", &self.position())
            .field("buffered", &self.pending.len())
            .finish()
    }
}
