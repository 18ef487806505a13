//! The host's side of a store (doc/abi.md "Hosts"): whether the library may
//! start threads, and the clock, randomness and log a store takes from its
//! host instead of the system's. Same callbacks, same calls: byte-identical
//! stores (deterministic replay).
//!
//! `use_rust_allocator` sends the library's own large buffers to Rust's
//! global allocator (est_set_allocator).
//!
//! The callbacks are called from the thread making a call on the store (or
//! from `Store::maintain`), possibly from several at once, and must not call
//! into estoria. A panic in one never unwinds into C: it is caught, and for
//! that call the system's clock or randomness stands in (a log line is dropped).

use std::collections::hash_map::RandomState;
use std::ffi::{c_char, c_void, CStr};
use std::hash::{BuildHasher, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sys;

/// Whether the library may start threads for a store (est_store_options.threads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(i32)]
pub enum Threads {
    /// The threads it needs (preallocation, interval flush, index checkpoints).
    #[default]
    Library = sys::EST_THREADS_LIBRARY,
    /// None: the host calls `Store::maintain` from its own loop.
    None = sys::EST_THREADS_NONE,
}

/// What one `Store::maintain` call left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// Background work remains that a call now would do.
    pub pending: bool,
    /// A scheduled compaction is unfinished.
    pub compacting: bool,
}

type ClockFn = dyn Fn() -> i64 + Send + Sync;
type RandomFn = dyn Fn(&mut [u8]) + Send + Sync;
type LogFn = dyn Fn(i32, &str) + Send + Sync;

/// A store's host callbacks; each is optional (the system's, or the
/// process-wide log handler).
#[derive(Default)]
pub struct Host {
    clock: Option<Box<ClockFn>>,
    random: Option<Box<RandomFn>>,
    log: Option<Box<LogFn>>,
}

impl Host {
    pub fn new() -> Host {
        Host::default()
    }
    /// Unix nanoseconds: event and snapshot timestamps, UUIDv7 times.
    pub fn clock(mut self, f: impl Fn() -> i64 + Send + Sync + 'static) -> Host {
        self.clock = Some(Box::new(f));
        self
    }
    /// Fills the buffer with random bytes: the random bits of new IDs.
    pub fn random_bytes(mut self, f: impl Fn(&mut [u8]) + Send + Sync + 'static) -> Host {
        self.random = Some(Box::new(f));
        self
    }
    /// This store's log: (level, message).
    pub fn log(mut self, f: impl Fn(i32, &str) + Send + Sync + 'static) -> Host {
        self.log = Some(Box::new(f));
        self
    }

    /// Points `o`'s host fields at this (boxed, so its address is stable).
    pub(crate) fn fill(self: &Box<Host>, o: &mut sys::est_store_options) {
        let user = &**self as *const Host as *mut c_void;
        if self.clock.is_some() {
            o.clock_ns = Some(on_clock);
        }
        if self.random.is_some() {
            o.random_bytes = Some(on_random);
        }
        o.host_user = user;
        if self.log.is_some() {
            o.log = Some(on_log);
            o.log_user = user;
        }
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("clock", &self.clock.is_some())
            .field("random_bytes", &self.random.is_some())
            .field("log", &self.log.is_some())
            .finish()
    }
}

fn system_nanos() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

unsafe extern "C" fn on_clock(user: *mut c_void) -> i64 {
    // SAFETY: `user` is the Host the store keeps alive while it may call.
    let host = unsafe { &*(user as *const Host) };
    catch_unwind(AssertUnwindSafe(|| host.clock.as_ref().map_or_else(system_nanos, |f| f())))
        .unwrap_or_else(|_| system_nanos())
}

unsafe extern "C" fn on_random(user: *mut c_void, buf: *mut c_void, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    // SAFETY: as on_clock; the library passes `len` writable bytes.
    let host = unsafe { &*(user as *const Host) };
    let out = unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, len) };
    let ok = catch_unwind(AssertUnwindSafe(|| {
        if let Some(f) = &host.random {
            f(out)
        }
    }))
    .is_ok();
    if !ok {
        // The system's randomness, as std hands it out (per-process random keys).
        for chunk in out.chunks_mut(8) {
            let mut h = RandomState::new().build_hasher();
            h.write_i64(system_nanos());
            let bytes = h.finish().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

unsafe extern "C" fn on_log(user: *mut c_void, level: i32, message: *const c_char) {
    // SAFETY: as on_clock; `message` is NUL-terminated for the call.
    let host = unsafe { &*(user as *const Host) };
    if message.is_null() {
        return;
    }
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(f) = &host.log {
            f(level, &text)
        }
    }));
}

/// Routes the library's own large buffers (stored events, index arrays,
/// batches, snapshots, iterator buffers: the list is at `est_set_allocator`
/// in estoria.h) through Rust's global allocator (`std::alloc::alloc` and
/// `dealloc`), for the rest of the process (experimental, as
/// `est_set_allocator`).
///
/// Call it first: once a `Store` was opened or a `Batch` made in this
/// process (whatever that returned), or once an allocator was set, it fails
/// with `InvalidArgument` and nothing changes.
pub fn use_rust_allocator() -> crate::Result<()> {
    let allocator = sys::est_allocator {
        struct_size: std::mem::size_of::<sys::est_allocator>() as u32,
        allocate: Some(rust_allocate),
        deallocate: Some(rust_deallocate),
        user: std::ptr::null_mut(),
    };
    // SAFETY: the struct is valid for the call and copied by it; the
    // functions below are thread-safe (the global allocator is), never
    // unwind and never call into estoria.
    crate::error::check(unsafe { sys::est_set_allocator(&allocator) })
}

// `dealloc` needs the layout `alloc` was given, and the library's release
// passes the size alone: each block is preceded by one alignment unit (at
// least 16 bytes) whose last word holds the alignment.
const MIN_HEADER: usize = 16;

unsafe extern "C" fn rust_allocate(_user: *mut c_void, size: usize, alignment: usize) -> *mut c_void {
    let align = alignment.max(MIN_HEADER);
    let Some(total) = size.checked_add(align) else {
        return std::ptr::null_mut();
    };
    let Ok(layout) = std::alloc::Layout::from_size_align(total, align) else {
        return std::ptr::null_mut();
    };
    // SAFETY: total > 0 (align >= 16).
    let base = unsafe { std::alloc::alloc(layout) };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the block starts `align` bytes into the allocation, and the
    // word before it (aligned: align >= 16) is within the header.
    unsafe {
        let block = base.add(align);
        block.cast::<usize>().sub(1).write(align);
        block.cast()
    }
}

unsafe extern "C" fn rust_deallocate(_user: *mut c_void, ptr: *mut c_void, size: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: ptr came from rust_allocate(size, ..), which wrote the
    // alignment before it and allocated size + align bytes at ptr - align.
    unsafe {
        let block = ptr.cast::<u8>();
        let align = block.cast::<usize>().sub(1).read();
        let layout = std::alloc::Layout::from_size_align_unchecked(size + align, align);
        std::alloc::dealloc(block.sub(align), layout);
    }
}
