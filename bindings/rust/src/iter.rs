//! Reading: borrowed event views and the iterator that lends them.
//!
//! The ABI's rule is that a view stays valid until the next call on its
//! iterator. `EventIter::next` takes `&mut self` and returns an `Event<'_>`
//! borrowing the iterator, so the borrow checker refuses any use of a view
//! after the next call:
//!
//! ```compile_fail,E0499
//! # fn f(store: &estoria::Store) -> estoria::Result<()> {
//! let mut it = store.read_stream("order_00000000-0000-0000-0000-000000000001", &Default::default())?;
//! let first = it.next().unwrap()?;
//! let second = it.next(); // error: `it` is still borrowed by `first`
//! println!("{}", first.stream_version());
//! # Ok(()) }
//! ```
//!
//! Views do not outlive the iterator either:
//!
//! ```compile_fail,E0597
//! # fn f(store: &estoria::Store) -> estoria::Result<()> {
//! let data: &[u8] = {
//!     let mut it = store.read_all(&Default::default())?;
//!     let event = it.next().unwrap()?;
//!     event.data()
//! }; // error: `it` dropped while borrowed
//! # Ok(()) }
//! ```
//!
//! An iterator may move to another thread (Send) but is not shared (not Sync):
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>() {}
//! shared::<estoria::EventIter>();
//! ```
//!
//! Ownership: an `EventIter` owns its `est_iter` and closes it on drop. It
//! does not borrow the `Store` (the ABI lets iterators outlive their store;
//! they then return `Closed`).

use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{check, Error, Result};
use crate::id::{format_id, Uuid};
use crate::sys;

/// A view of one event, valid as long as the borrow it came from (an
/// iterator until its next call, or an aggregate's apply callback).
#[derive(Clone, Copy)]
pub struct Event<'a> {
    raw: &'a sys::est_event,
}

/// # Safety
/// `p` is NULL or a NUL-terminated string living for 'a.
#[inline]
unsafe fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        &[]
    } else {
        CStr::from_ptr(p).to_bytes()
    }
}

#[inline]
fn type_str(bytes: &[u8]) -> &str {
    // Type names are checked to be UTF-8 by the library on the way in.
    std::str::from_utf8(bytes).unwrap_or("")
}

impl<'a> Event<'a> {
    /// # Safety
    /// `raw` was filled by the library and stays valid for 'a.
    #[inline]
    pub(crate) unsafe fn from_raw(raw: &'a sys::est_event) -> Event<'a> {
        Event { raw }
    }

    /// The event's type name.
    pub fn event_type(&self) -> &'a str {
        // SAFETY: the view is valid for 'a (from_raw's contract).
        type_str(unsafe { c_bytes(self.raw.type_) })
    }

    pub fn id(&self) -> Uuid {
        Uuid(self.raw.id.bytes)
    }

    pub fn stream_type(&self) -> &'a str {
        // SAFETY: as event_type.
        type_str(unsafe { c_bytes(self.raw.stream_type) })
    }

    pub fn stream_uuid(&self) -> Uuid {
        Uuid(self.raw.stream_uuid.bytes)
    }

    /// The stream's ID, "type_uuid".
    pub fn stream_id(&self) -> String {
        format_id(self.stream_type(), &self.stream_uuid()).unwrap_or_default()
    }

    #[inline]
    pub fn stream_version(&self) -> i64 {
        self.raw.stream_version
    }

    /// The global position; 0 where the backend has no global order.
    #[inline]
    pub fn global_position(&self) -> i64 {
        self.raw.global_position
    }

    /// Unix time in nanoseconds.
    pub fn timestamp_ns(&self) -> i64 {
        self.raw.timestamp_ns
    }

    /// The payload.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        if self.raw.data_len == 0 {
            return &[];
        }
        // SAFETY: the library gives data_len bytes at data, valid for 'a.
        unsafe { std::slice::from_raw_parts(self.raw.data, self.raw.data_len) }
    }

    /// The content type as stored (verbatim bytes; empty when undeclared).
    pub fn content_type(&self) -> &'a [u8] {
        // SAFETY: as event_type.
        unsafe { c_bytes(self.raw.content_type) }
    }

    /// The content type when it is UTF-8.
    pub fn content_type_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.content_type()).ok()
    }

    /// How many metadata pairs the event carries.
    pub fn metadata_len(&self) -> usize {
        self.raw.metadata_count
    }

    /// The metadata pairs as the library lays them out (ABI 1.1: one array
    /// per view), or None from a library that does not fill the array.
    fn metadata_pairs(&self) -> Option<&'a [sys::est_metadata_pair]> {
        if self.raw.metadata_count == 0 || self.raw.metadata.is_null() {
            return None;
        }
        // SAFETY: the library gives metadata_count pairs at metadata, valid
        // as long as the view ('a).
        Some(unsafe { std::slice::from_raw_parts(self.raw.metadata, self.raw.metadata_count) })
    }

    /// The index-th metadata pair (sorted by key), as verbatim bytes.
    pub fn metadata(&self, index: usize) -> Option<(&'a [u8], &'a [u8])> {
        if index >= self.raw.metadata_count {
            return None;
        }
        if let Some(pairs) = self.metadata_pairs() {
            let p = &pairs[index];
            // SAFETY: the strings live as long as the view.
            return Some(unsafe { (c_bytes(p.key), c_bytes(p.value)) });
        }
        // A library older than ABI 1.1: one call per pair.
        let mut key: *const c_char = std::ptr::null();
        let mut value: *const c_char = std::ptr::null();
        // SAFETY: a view the library filled, still valid; out pointers valid.
        let s = unsafe { sys::est_event_metadata(self.raw, index, &mut key, &mut value) };
        if s != sys::EST_OK {
            return None;
        }
        // SAFETY: the strings live as long as the view.
        Some(unsafe { (c_bytes(key), c_bytes(value)) })
    }

    /// Every metadata pair, in key order: one pass over the view's array.
    pub fn metadata_iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let this = *self;
        let pairs = this.metadata_pairs();
        let fallback = if pairs.is_some() { 0 } else { this.metadata_len() };
        // SAFETY (map): the strings live as long as the view.
        pairs
            .unwrap_or(&[])
            .iter()
            .map(|p| unsafe { (c_bytes(p.key), c_bytes(p.value)) })
            .chain((0..fallback).filter_map(move |i| this.metadata(i)))
    }

    /// The event as a FlatBuffers `estoria.Event` (schema/estoria.fbs), in
    /// 8-byte aligned words (a store that keeps compact records builds it on
    /// this call); its `len` bytes are the buffer.
    pub fn flatbuffer(&self) -> Result<FlatbufferEvent> {
        let mut len = 0usize;
        // SAFETY: the view is one the library filled; a size query writes only len.
        check(unsafe { sys::est_event_flatbuffer(self.raw, std::ptr::null_mut(), 0, &mut len) })?;
        let mut words = vec![0u64; len.div_ceil(8)];
        // SAFETY: words holds len bytes, 8-byte aligned.
        check(unsafe { sys::est_event_flatbuffer(self.raw, words.as_mut_ptr().cast(), words.len() * 8, &mut len) })?;
        Ok(FlatbufferEvent { words, len })
    }

    /// A copy that owns its data and outlives the view.
    pub fn to_recorded(&self) -> RecordedEvent {
        RecordedEvent {
            event_type: self.event_type().to_owned(),
            id: self.id(),
            stream_type: self.stream_type().to_owned(),
            stream_uuid: self.stream_uuid(),
            stream_version: self.stream_version(),
            global_position: self.global_position(),
            timestamp_ns: self.timestamp_ns(),
            data: self.data().to_vec(),
            content_type: self.content_type().to_vec(),
            metadata: self.metadata_iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
        }
    }
}

impl std::fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type())
            .field("stream_type", &self.stream_type())
            .field("stream_uuid", &self.stream_uuid().to_string())
            .field("stream_version", &self.stream_version())
            .field("global_position", &self.global_position())
            .field("data_len", &self.data().len())
            .finish()
    }
}

/// An owned copy of an event (Event::to_recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub event_type: String,
    pub id: Uuid,
    pub stream_type: String,
    pub stream_uuid: Uuid,
    pub stream_version: i64,
    pub global_position: i64,
    pub timestamp_ns: i64,
    pub data: Vec<u8>,
    pub content_type: Vec<u8>,
    pub metadata: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Views fetched by one batched crossing (`EventIter::next_batch`,
/// `Subscription::poll`).
#[derive(Clone, Copy)]
pub struct Events<'a> {
    raw: &'a [sys::est_event],
}

impl<'a> Events<'a> {
    /// # Safety
    /// Every element was filled by the library and stays valid for 'a.
    pub(crate) unsafe fn from_raw(raw: &'a [sys::est_event]) -> Events<'a> {
        Events { raw }
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    pub fn get(&self, index: usize) -> Option<Event<'a>> {
        // SAFETY: filled by the library, valid for 'a.
        self.raw.get(index).map(|e| unsafe { Event::from_raw(e) })
    }
    pub fn iter(&self) -> impl Iterator<Item = Event<'a>> + 'a {
        // SAFETY: as get.
        self.raw.iter().map(|e| unsafe { Event::from_raw(e) })
    }
}

/// Views fetched per crossing of the ABI by default.
pub const DEFAULT_BATCH: usize = 64;

/// An iterator over events (a stream read, a global read, or the events an
/// append wrote). A lending iterator: each view borrows it until the next
/// call. Events cross the ABI `batch_size` at a time (est_iter_next_batch).
pub struct EventIter {
    raw: NonNull<sys::est_iter>,
    buf: Vec<sys::est_event>,
    pos: usize,
    len: usize,
    ended: bool,
    // Set when the Store is closed. Views fetched before the close are not
    // handed out after it: the ABI makes every call after a close
    // EST_ERR_CLOSED, and so does this iterator (the next crossing reports it).
    store_closed: Arc<AtomicBool>,
}

// SAFETY: the ABI allows an iterator to be used from one thread at a time;
// moving it to another thread is that. It is not Sync: &EventIter gives no
// access to the handle anyway, but views borrowed from it must stay on the
// thread that fetched them.
unsafe impl Send for EventIter {}

impl EventIter {
    /// # Safety
    /// `raw` is a live iterator handle that this value now owns.
    pub(crate) unsafe fn from_raw(raw: *mut sys::est_iter, store_closed: Arc<AtomicBool>) -> EventIter {
        EventIter {
            raw: NonNull::new(raw).expect("the library returned EST_OK with a NULL iterator"),
            buf: vec![sys::est_event::INIT; DEFAULT_BATCH],
            pos: 0,
            len: 0,
            ended: false,
            store_closed,
        }
    }

    /// Sets how many views cross the ABI per call (at least 1). Views
    /// already fetched are still handed out first.
    pub fn set_batch_size(&mut self, n: usize) {
        let n = n.max(1);
        if self.pos == self.len {
            self.buf = vec![sys::est_event::INIT; n];
            self.pos = 0;
            self.len = 0;
        } else if n > self.buf.len() {
            self.buf.resize(n, sys::est_event::INIT);
        }
    }

    /// Fetches the next views; Ok(false) at the end.
    fn refill(&mut self) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        let mut count = 0usize;
        // SAFETY: buf holds buf.len() initialised est_events (buf[0] carries
        // struct_size); the views stay valid until the next call on raw,
        // which only happens through &mut self, after every Event borrowed
        // from this iterator is gone.
        let s =
            unsafe { sys::est_iter_next_batch(self.raw.as_ptr(), self.buf.as_mut_ptr(), self.buf.len(), &mut count) };
        self.pos = 0;
        self.len = 0;
        if s == sys::EST_END {
            self.ended = true;
            return Ok(false);
        }
        if s != sys::EST_OK {
            return Err(Error::last(s));
        }
        self.len = count.min(self.buf.len());
        Ok(self.len > 0)
    }

    /// The next event; None at the end. The view borrows the iterator.
    #[inline]
    #[allow(clippy::should_implement_trait)] // a lending iterator cannot be an Iterator
    pub fn next(&mut self) -> Option<Result<Event<'_>>> {
        if self.pos == self.len || self.store_closed.load(Ordering::Acquire) {
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let i = self.pos;
        self.pos += 1;
        // SAFETY: buf[i] was filled by the library and stays valid while
        // the returned view borrows self.
        Some(Ok(unsafe { Event::from_raw(&self.buf[i]) }))
    }

    /// The views of the next batched crossing (or those of the last one not
    /// yet handed out); None at the end.
    pub fn next_batch(&mut self) -> Option<Result<Events<'_>>> {
        if self.pos == self.len || self.store_closed.load(Ordering::Acquire) {
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let (from, to) = (self.pos, self.len);
        self.pos = self.len;
        Some(Ok(Events { raw: &self.buf[from..to] }))
    }

    /// Calls `f` with every remaining event, stopping at the first error.
    pub fn for_each(&mut self, mut f: impl FnMut(Event<'_>)) -> Result<()> {
        while let Some(batch) = self.next_batch() {
            for event in batch?.iter() {
                f(event);
            }
        }
        Ok(())
    }

    /// Owned copies of every remaining event.
    pub fn collect_recorded(&mut self) -> Result<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        self.for_each(|e| out.push(e.to_recorded()))?;
        Ok(out)
    }
}

impl Drop for EventIter {
    fn drop(&mut self) {
        // SAFETY: owned, closed once.
        unsafe { sys::est_iter_close(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for EventIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventIter").field("buffered", &(self.len - self.pos)).field("ended", &self.ended).finish()
    }
}

impl std::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::{format_id, AppendOptions, Batch, Store, Uuid};

    #[test]
    fn metadata_comes_from_the_views_array() {
        let store = Store::open("memory:", &Default::default()).unwrap();
        let id = format_id("order", &Uuid::v7().unwrap()).unwrap();
        let mut b = Batch::new().unwrap();
        b.add("placed", b"", None).unwrap();
        b.add_metadata("b", "2").unwrap();
        b.add_metadata("a", "1").unwrap();
        store.append(&id, &b, &AppendOptions::default()).unwrap();
        let mut it = store.read_stream(&id, &Default::default()).unwrap();
        let e = it.next().unwrap().unwrap();
        // ABI 1.1: the library filled est_event.metadata, so no call per pair.
        let pairs = e.metadata_pairs().expect("est_event.metadata is filled");
        assert_eq!(pairs.len(), 2);
        let md: Vec<(&[u8], &[u8])> = e.metadata_iter().collect();
        assert_eq!(md, vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"2"[..])]);
    }
}

/// A FlatBuffers `estoria.Event`, owned and 8-byte aligned (as its data
/// field asks).
#[derive(Clone, Debug)]
pub struct FlatbufferEvent {
    words: Vec<u64>,
    len: usize,
}

impl FlatbufferEvent {
    /// The buffer's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: words holds at least len initialized bytes.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), self.len) }
    }
}
