// use_rust_allocator: the library's buffers from Rust's global allocator.
// The choice is process-wide and made once, so this is a test binary of its
// own with a single test; a counting global allocator shows the memory
// store's events living in Rust's heap, and all of it coming back.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use estoria::{format_id, AppendOptions, Batch, ErrorKind, ReadAllOptions, Store, StoreOptions, Uuid};

struct Counting;

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const EVENTS: usize = 2000;
const PAYLOAD: usize = 100;

#[test]
fn the_librarys_buffers_come_from_rusts_allocator_and_go_back() {
    estoria::use_rust_allocator().expect("the first call");
    // Set once: a second call changes nothing.
    assert_eq!(estoria::use_rust_allocator().unwrap_err().kind(), ErrorKind::InvalidArgument);

    let id = format_id("account", &Uuid::v7().unwrap()).unwrap();
    let payload = vec![b'x'; PAYLOAD];
    let before = LIVE_BYTES.load(Ordering::SeqCst);
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    for _ in 0..EVENTS / 10 {
        let mut batch = Batch::new().unwrap();
        for _ in 0..10 {
            batch.add("deposited", &payload, None).unwrap();
        }
        store.append(&id, &batch, &AppendOptions::default()).unwrap();
    }
    // The memory store keeps every record (payload and envelope) in blocks
    // the library took from Rust's heap.
    let grown = LIVE_BYTES.load(Ordering::SeqCst) - before;
    assert!(grown >= (EVENTS * PAYLOAD) as i64, "the store grew by {grown} bytes of Rust's heap");

    let mut it = store.read_all(&ReadAllOptions::default()).unwrap();
    let mut read = 0;
    while let Some(event) = it.next() {
        assert_eq!(event.unwrap().data().len(), PAYLOAD);
        read += 1;
    }
    assert_eq!(read, EVENTS);
    drop(it);
    drop(store);
    assert_eq!(LIVE_BYTES.load(Ordering::SeqCst), before, "every block came back");
}
