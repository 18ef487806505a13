//! Aggregates over the library's aggregate engine: the host state is a Rust
//! type implementing `AggregateState`; the engine calls back into it to
//! create, apply, free, and (optionally) encode and decode states.
//!
//! Every callback catches panics (a panic must not unwind into C) and turns
//! them and returned errors into an error status with `est_set_error`:
//! `apply`/`encode` errors and panics become `Internal`, `decode` errors
//! `Corruption`, so a load or save fails with that status and message.
//!
//! Ownership: `AggregateStore<S>` owns its `est_aggregate_store`,
//! `Aggregate<S>` its `est_aggregate` (the state `S` is owned by the engine
//! and freed through the free_state callback). Hooks are shared (Arc) by the
//! store and every aggregate made from it, because the engine may run them
//! on behalf of an aggregate after its store handle is freed.
//! Thread safety: `AggregateStore<S>` is Send + Sync (adding hooks needs
//! `&mut`, so they are all added before the store is shared); `Aggregate<S>`
//! is Send, not Sync:
//!
//! ```compile_fail,E0277
//! # use estoria::{AggregateState, Event, Uuid};
//! # struct S;
//! # impl AggregateState for S {
//! #     fn new(_: Uuid) -> S { S }
//! #     fn apply(&mut self, _: &Event<'_>) -> Result<(), String> { Ok(()) }
//! # }
//! fn shared<T: Sync>() {}
//! shared::<estoria::Aggregate<S>>();
//! ```
//!
//! The state borrowed from an aggregate cannot be held across a save:
//!
//! ```compile_fail,E0502
//! # use estoria::{Aggregate, AggregateState, Event, Uuid};
//! # struct S;
//! # impl AggregateState for S {
//! #     fn new(_: Uuid) -> S { S }
//! #     fn apply(&mut self, _: &Event<'_>) -> Result<(), String> { Ok(()) }
//! # }
//! # fn f(agg: &mut Aggregate<S>) {
//! let state = agg.state();
//! agg.save().unwrap(); // error: `agg` is borrowed by `state`
//! let _ = state;
//! # }
//! ```

use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};

use crate::error::{check, fail, panic_message, Error, ErrorKind, Result};
use crate::id::{c_string, Uuid};
use crate::iter::Event;
use crate::store::{AppendResult, Store};
use crate::sys::{self, SizedStruct};

/// The host state of an aggregate type.
pub trait AggregateState: Sized + Send + 'static {
    /// Whether `encode` and `decode` are implemented (needed for snapshots
    /// and the cache).
    const HAS_CODEC: bool = false;

    /// A new, empty state for aggregate `id`.
    fn new(id: Uuid) -> Self;

    /// Applies one event; an error fails the load (or makes a save
    /// `AppliedPartially`).
    fn apply(&mut self, event: &Event<'_>) -> std::result::Result<(), String>;

    /// The state as bytes (with HAS_CODEC).
    fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        let _ = out;
        Err("this aggregate state has no codec".into())
    }

    /// A state from `encode`'s bytes (with HAS_CODEC).
    fn decode(data: &[u8]) -> std::result::Result<Self, String> {
        let _ = data;
        Err("this aggregate state has no codec".into())
    }
}

/// Options of an aggregate store.
#[derive(Clone, Copy, Debug, Default)]
pub struct AggregateStoreOptions {
    /// Snapshot after a save crossing a multiple of N events; 0 = never.
    pub snapshot_every: i64,
    /// Retention: keep the newest N snapshots; 0 = all.
    pub snapshot_keep_last: i64,
    /// Retention: drop snapshots below V; 0 = none.
    pub snapshot_keep_min_version: i64,
    /// Aggregates cached (LRU, encoded state); 0 = no cache.
    pub cache_capacity: i64,
    /// Content type of the snapshots; None = "".
    pub snapshot_content_type: Option<&'static str>,
}

/// Counters of an aggregate store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggregateStats {
    pub loads: i64,
    pub events_applied: i64,
    pub snapshots_used: i64,
    pub snapshots_written: i64,
    pub cache_hits: i64,
    pub cache_misses: i64,
}

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookStage {
    BeforeLoad,
    AfterLoad,
    BeforeSave,
    AfterSave,
}

impl HookStage {
    fn raw(self) -> i32 {
        match self {
            HookStage::BeforeLoad => sys::EST_HOOK_BEFORE_LOAD,
            HookStage::AfterLoad => sys::EST_HOOK_AFTER_LOAD,
            HookStage::BeforeSave => sys::EST_HOOK_BEFORE_SAVE,
            HookStage::AfterSave => sys::EST_HOOK_AFTER_SAVE,
        }
    }
    fn from_raw(s: i32) -> Option<HookStage> {
        Some(match s {
            sys::EST_HOOK_BEFORE_LOAD => HookStage::BeforeLoad,
            sys::EST_HOOK_AFTER_LOAD => HookStage::AfterLoad,
            sys::EST_HOOK_BEFORE_SAVE => HookStage::BeforeSave,
            sys::EST_HOOK_AFTER_SAVE => HookStage::AfterSave,
            _ => return None,
        })
    }
}

/// What a hook may do during its call.
pub struct HookContext<'a> {
    raw: *mut sys::est_hook_context,
    _call: PhantomData<&'a mut ()>,
}

impl HookContext<'_> {
    /// From a before-save hook: adds metadata to every event of the save.
    pub fn add_metadata(&mut self, key: &str, value: &str) -> Result<()> {
        let k = c_string("key", key)?;
        let v = c_string("value", value)?;
        // SAFETY: the context is valid during the hook call ('a).
        check(unsafe { sys::est_hook_add_metadata(self.raw, k.as_ptr(), v.as_ptr()) })
    }
}

/// A hook: (stage, context, aggregate ID, version) -> Ok or an error
/// message. An error from a before-hook fails the operation (`Internal`).
pub type HookFn = dyn Fn(HookStage, &mut HookContext<'_>, &str, i64) -> std::result::Result<(), String> + Send + Sync;

// Boxed hooks; their addresses (the user pointers given to C) stay fixed
// while the Vec grows, and none is removed before the last owner goes.
type Hooks = Mutex<Vec<Box<Box<HookFn>>>>;

unsafe extern "C" fn new_state_cb<S: AggregateState>(
    _user: *mut c_void,
    id: *const sys::est_uuid,
    state: *mut *mut c_void,
) -> sys::est_status {
    let uuid = Uuid((*id).bytes);
    match catch_unwind(|| S::new(uuid)) {
        Ok(s) => {
            *state = Box::into_raw(Box::new(s)) as *mut c_void;
            sys::EST_OK
        }
        Err(p) => fail(sys::EST_ERR_INTERNAL, &format!("new_state {}", panic_message(&*p))),
    }
}

unsafe extern "C" fn apply_cb<S: AggregateState>(
    _user: *mut c_void,
    state: *mut c_void,
    event: *const sys::est_event,
) -> sys::est_status {
    // SAFETY: state is one of ours (new_state/decode), used by one thread
    // at a time; the event view is valid during the call.
    let s = &mut *(state as *mut S);
    let ev = Event::from_raw(&*event);
    match catch_unwind(AssertUnwindSafe(|| s.apply(&ev))) {
        Ok(Ok(())) => sys::EST_OK,
        Ok(Err(m)) => fail(sys::EST_ERR_INTERNAL, &m),
        Err(p) => fail(sys::EST_ERR_INTERNAL, &format!("apply {}", panic_message(&*p))),
    }
}

unsafe extern "C" fn free_state_cb<S: AggregateState>(_user: *mut c_void, state: *mut c_void) {
    if state.is_null() {
        return;
    }
    // SAFETY: state came from Box::into_raw in new_state/decode.
    let b = Box::from_raw(state as *mut S);
    // A panicking Drop must not unwind into C.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
}

unsafe extern "C" fn encode_cb<S: AggregateState>(
    _user: *mut c_void,
    state: *const c_void,
    out: *mut sys::est_buffer,
) -> sys::est_status {
    let s = &*(state as *const S);
    let mut bytes = Vec::new();
    match catch_unwind(AssertUnwindSafe(|| s.encode(&mut bytes))) {
        Ok(Ok(())) => {
            // est_buffer_append sets its own message on failure.
            sys::est_buffer_append(out, bytes.as_ptr() as *const c_void, bytes.len())
        }
        Ok(Err(m)) => fail(sys::EST_ERR_INTERNAL, &m),
        Err(p) => fail(sys::EST_ERR_INTERNAL, &format!("encode {}", panic_message(&*p))),
    }
}

unsafe extern "C" fn decode_cb<S: AggregateState>(
    _user: *mut c_void,
    data: *const u8,
    len: usize,
    state: *mut *mut c_void,
) -> sys::est_status {
    let bytes: &[u8] = if data.is_null() || len == 0 { &[] } else { std::slice::from_raw_parts(data, len) };
    match catch_unwind(|| S::decode(bytes)) {
        Ok(Ok(s)) => {
            *state = Box::into_raw(Box::new(s)) as *mut c_void;
            sys::EST_OK
        }
        Ok(Err(m)) => fail(sys::EST_ERR_CORRUPTION, &m),
        Err(p) => fail(sys::EST_ERR_INTERNAL, &format!("decode {}", panic_message(&*p))),
    }
}

unsafe extern "C" fn hook_cb(
    user: *mut c_void,
    stage: i32,
    ctx: *mut sys::est_hook_context,
    aggregate_id: *const c_char,
    version: i64,
) -> sys::est_status {
    // SAFETY: user is a &Box<HookFn> kept alive by the Hooks Arc that the
    // store and every aggregate hold.
    let f = &*(user as *const Box<HookFn>);
    let Some(stage) = HookStage::from_raw(stage) else {
        return fail(sys::EST_ERR_INTERNAL, &format!("unknown hook stage {stage}"));
    };
    let id = CStr::from_ptr(aggregate_id).to_string_lossy();
    let mut context = HookContext { raw: ctx, _call: PhantomData };
    match catch_unwind(AssertUnwindSafe(|| f(stage, &mut context, &id, version))) {
        Ok(Ok(())) => sys::EST_OK,
        Ok(Err(m)) => fail(sys::EST_ERR_INTERNAL, &m),
        Err(p) => fail(sys::EST_ERR_INTERNAL, &format!("hook {}", panic_message(&*p))),
    }
}

/// An aggregate store for one aggregate type `S`.
pub struct AggregateStore<S: AggregateState> {
    raw: NonNull<sys::est_aggregate_store>,
    hooks: Arc<Hooks>,
    _state: PhantomData<fn() -> S>,
}

// SAFETY: the engine is shareable; callbacks are plain functions over S
// (Send) and hooks are Send + Sync.
unsafe impl<S: AggregateState> Send for AggregateStore<S> {}
unsafe impl<S: AggregateState> Sync for AggregateStore<S> {}

impl<S: AggregateState> AggregateStore<S> {
    /// An aggregate store over `store` whose aggregates' streams are
    /// "type_name_uuid". Snapshots or a cache need `S::HAS_CODEC`.
    pub fn new(store: &Store, type_name: &str, options: &AggregateStoreOptions) -> Result<AggregateStore<S>> {
        let name = c_string("type_name", type_name)?;
        let ct = options.snapshot_content_type.map(|c| c_string("snapshot_content_type", c)).transpose()?;
        let t = sys::est_aggregate_type {
            struct_size: std::mem::size_of::<sys::est_aggregate_type>() as u32,
            type_name: name.as_ptr(),
            user: ptr::null_mut(),
            new_state: Some(new_state_cb::<S>),
            apply: Some(apply_cb::<S>),
            free_state: Some(free_state_cb::<S>),
            encode: if S::HAS_CODEC { Some(encode_cb::<S>) } else { None },
            decode: if S::HAS_CODEC { Some(decode_cb::<S>) } else { None },
            snapshot_content_type: ct.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
        };
        let o = sys::est_aggregate_store_options {
            struct_size: std::mem::size_of::<sys::est_aggregate_store_options>() as u32,
            snapshot_every: options.snapshot_every,
            snapshot_keep_last: options.snapshot_keep_last,
            snapshot_keep_min_version: options.snapshot_keep_min_version,
            cache_capacity: options.cache_capacity,
        };
        let mut raw = ptr::null_mut();
        // SAFETY: valid pointers; the library copies the strings.
        check(unsafe { sys::est_aggregate_store_new(store.raw(), &t, &o, &mut raw) })?;
        Ok(AggregateStore {
            raw: NonNull::new(raw).expect("est_aggregate_store_new returned EST_OK with NULL"),
            hooks: Arc::new(Mutex::new(Vec::new())),
            _state: PhantomData,
        })
    }

    /// Adds a hook for `stage` (hooks of one stage run in the order added).
    pub fn add_hook<F>(&mut self, stage: HookStage, hook: F) -> Result<()>
    where
        F: Fn(HookStage, &mut HookContext<'_>, &str, i64) -> std::result::Result<(), String> + Send + Sync + 'static,
    {
        let boxed: Box<Box<HookFn>> = Box::new(Box::new(hook));
        let user = &*boxed as *const Box<HookFn> as *mut c_void;
        let mut hooks = self.hooks.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: user stays valid as long as the hooks Arc, which outlives
        // every call the engine can make (store and aggregates hold it).
        check(unsafe { sys::est_aggregate_store_add_hook(self.raw.as_ptr(), stage.raw(), Some(hook_cb), user) })?;
        hooks.push(boxed);
        Ok(())
    }

    fn wrap(&self, raw: *mut sys::est_aggregate) -> Aggregate<S> {
        Aggregate {
            raw: NonNull::new(raw).expect("the library returned EST_OK with a NULL aggregate"),
            _hooks: Arc::clone(&self.hooks),
            _state: PhantomData,
        }
    }

    /// A new aggregate at version 0; `uuid` None = a new UUIDv7.
    pub fn create(&self, uuid: Option<Uuid>) -> Result<Aggregate<S>> {
        let u = uuid.map(|u| u.raw());
        let mut raw = ptr::null_mut();
        // SAFETY: valid pointers.
        check(unsafe {
            sys::est_aggregate_new(self.raw.as_ptr(), u.as_ref().map_or(ptr::null(), |u| u as *const _), &mut raw)
        })?;
        Ok(self.wrap(raw))
    }

    /// Loads aggregate `uuid` at `to_version` (0 = the latest).
    pub fn load(&self, uuid: Uuid, to_version: i64) -> Result<Aggregate<S>> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_aggregate_load(self.raw.as_ptr(), &uuid.raw(), to_version, &mut raw) })?;
        Ok(self.wrap(raw))
    }

    /// Loads aggregate `uuid` as of `timestamp_ns` (unix ns, > 0): the fold
    /// of its stream up to, not including, the first event stamped later,
    /// from no snapshot newer than that. `NotFound` when it had no event by
    /// then. Experimental in the C ABI (est_aggregate_load_at).
    pub fn load_at(&self, uuid: Uuid, timestamp_ns: i64) -> Result<Aggregate<S>> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_aggregate_load_at(self.raw.as_ptr(), &uuid.raw(), timestamp_ns, &mut raw) })?;
        Ok(self.wrap(raw))
    }

    pub fn stats(&self) -> Result<AggregateStats> {
        let mut s = sys::est_aggregate_stats::init();
        // SAFETY: valid pointers.
        check(unsafe { sys::est_aggregate_store_stats(self.raw.as_ptr(), &mut s) })?;
        Ok(AggregateStats {
            loads: s.loads,
            events_applied: s.events_applied,
            snapshots_used: s.snapshots_used,
            snapshots_written: s.snapshots_written,
            cache_hits: s.cache_hits,
            cache_misses: s.cache_misses,
        })
    }
}

impl<S: AggregateState> Drop for AggregateStore<S> {
    fn drop(&mut self) {
        // SAFETY: owned, freed once. Hooks stay alive through the Arc.
        unsafe { sys::est_aggregate_store_free(self.raw.as_ptr()) }
    }
}

/// One aggregate: its state, version, and the events queued to save.
pub struct Aggregate<S: AggregateState> {
    raw: NonNull<sys::est_aggregate>,
    // Declared after raw; the handle is freed in Drop before this goes.
    _hooks: Arc<Hooks>,
    _state: PhantomData<S>,
}

// SAFETY: an aggregate is used from one thread at a time; S is Send.
unsafe impl<S: AggregateState> Send for Aggregate<S> {}

impl<S: AggregateState> Aggregate<S> {
    /// The state (valid until the next save or the aggregate's drop; the
    /// borrow enforces it).
    pub fn state(&self) -> &S {
        // SAFETY: the engine owns a state made by new_state/decode for as
        // long as the aggregate lives; only save replaces or mutates it,
        // and save needs &mut self.
        unsafe {
            let p = sys::est_aggregate_state(self.raw.as_ptr());
            assert!(!p.is_null(), "aggregate without a state");
            &*(p as *const S)
        }
    }

    pub fn version(&self) -> i64 {
        // SAFETY: valid handle.
        unsafe { sys::est_aggregate_version(self.raw.as_ptr()) }
    }

    /// "type_uuid".
    pub fn id(&self) -> &str {
        // SAFETY: valid as long as the handle; type names are UTF-8.
        unsafe { CStr::from_ptr(sys::est_aggregate_id(self.raw.as_ptr())) }.to_str().unwrap_or("")
    }

    /// Events queued and not yet saved.
    pub fn pending(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::est_aggregate_pending(self.raw.as_ptr()) }
    }

    /// Queues a domain event.
    pub fn append(&mut self, event_type: &str, data: &[u8], content_type: Option<&str>) -> Result<()> {
        let t = c_string("type", event_type)?;
        let ct = content_type.map(|c| c_string("content_type", c)).transpose()?;
        // SAFETY: valid handle, strings and byte range.
        check(unsafe {
            sys::est_aggregate_append(
                self.raw.as_ptr(),
                t.as_ptr(),
                data.as_ptr() as *const c_void,
                data.len(),
                ct.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            )
        })
    }

    /// Adds metadata to the last queued event.
    pub fn append_metadata(&mut self, key: &str, value: &str) -> Result<()> {
        let k = c_string("key", key)?;
        let v = c_string("value", value)?;
        // SAFETY: valid handle and strings.
        check(unsafe { sys::est_aggregate_append_metadata(self.raw.as_ptr(), k.as_ptr(), v.as_ptr()) })
    }

    /// Gives the last queued event a caller-chosen ID. A save whose events
    /// all carry IDs is safe to retry: when they are already stored right
    /// after the aggregate's version (a save whose reply was lost), nothing
    /// is written and the result is the original one, flagged `duplicate`.
    pub fn set_event_id(&mut self, id: &Uuid) -> Result<()> {
        // SAFETY: valid handle and pointer.
        check(unsafe { sys::est_aggregate_set_event_id(self.raw.as_ptr(), &id.raw()) })
    }

    /// Appends the queued events expecting the aggregate's version, then
    /// applies them. `VersionMismatch` (with expected and actual versions):
    /// nothing written, reload and retry. `AppliedPartially`: written but
    /// not applied, reload.
    pub fn save(&mut self) -> Result<AppendResult> {
        let expected = self.version();
        let mut r = sys::est_append_result::init();
        // SAFETY: valid handle and pointer.
        let s = unsafe { sys::est_aggregate_save(self.raw.as_ptr(), &mut r) };
        if s == sys::EST_OK {
            return Ok(AppendResult::from_raw(&r));
        }
        let e = Error::last(s);
        if e.kind() == ErrorKind::VersionMismatch {
            return Err(e.with_versions(expected, r.actual_version));
        }
        Err(e)
    }
}

impl<S: AggregateState> Drop for Aggregate<S> {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe { sys::est_aggregate_free(self.raw.as_ptr()) }
    }
}

impl<S: AggregateState> std::fmt::Debug for AggregateStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateStore").field("raw", &self.raw).finish()
    }
}

impl<S: AggregateState> std::fmt::Debug for Aggregate<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregate").field("id", &self.id()).field("version", &self.version()).finish()
    }
}
