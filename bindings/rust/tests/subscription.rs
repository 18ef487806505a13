// Live subscriptions through the safe API, on `memory:` and on a `file:`
// store: catch up then follow a concurrent writer, start positions, filters,
// waking from another thread, closing, and the store closed under a waiting
// subscription.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{stores, stream};
use estoria::{
    AppendOptions, Batch, ErrorKind, RecordedEvent, Store, StoreOptions, SubscribeOptions, Subscription, POSITION_END,
};

fn one(event_type: &str, data: &str) -> Batch {
    let mut b = Batch::new().unwrap();
    b.add(event_type, data.as_bytes(), None).unwrap();
    b
}

fn append_n(store: &Store, id: &str, n: usize) {
    for i in 0..n {
        store.append(id, &one("tick", &i.to_string()), &AppendOptions::default()).unwrap();
    }
}

/// Polls (with a timeout) until `n` events arrived, copying them.
fn collect(sub: &mut Subscription, n: usize) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(Instant::now() < deadline, "only {} of {n} events arrived", out.len());
        let events = sub.poll(Duration::from_millis(200)).unwrap();
        out.extend(events.iter().map(|e| e.to_recorded()));
    }
    out
}

#[test]
fn catch_up_then_follow_a_concurrent_writer_delivers_every_event_once_in_order() {
    for (kind, store, _dir) in stores("sub-follow") {
        let id = stream("order");
        append_n(&store, &id, 50);
        let total = 300usize;
        let mut sub = store.subscribe(&SubscribeOptions::default()).unwrap();
        let got: Vec<RecordedEvent> = thread::scope(|s| {
            s.spawn(|| append_n(&store, &id, total - 50));
            // The blocking iterator: waits for each next event.
            (&mut sub).take(total).map(|e| e.unwrap()).collect()
        });
        let versions: Vec<i64> = got.iter().map(|e| e.stream_version).collect();
        assert_eq!(versions, (1..=total as i64).collect::<Vec<_>>(), "{kind}");
        assert!(got.windows(2).all(|w| w[0].global_position < w[1].global_position), "{kind}");
        let data: Vec<String> = got.iter().map(|e| String::from_utf8(e.data.clone()).unwrap()).collect();
        let want: Vec<String> = (0..50).chain(0..total - 50).map(|i| i.to_string()).collect();
        assert_eq!(data, want, "{kind}");
        assert_eq!(sub.position(), got.last().unwrap().global_position, "{kind}");
        assert!(sub.poll(Duration::ZERO).unwrap().is_empty(), "{kind}");
    }
}

#[test]
fn starts_after_a_position_and_from_the_end() {
    for (kind, store, _dir) in stores("sub-start") {
        let id = stream("order");
        append_n(&store, &id, 5);
        let third = {
            let mut it = store.read_all(&Default::default()).unwrap();
            let mut p = 0;
            for _ in 0..3 {
                p = it.next().unwrap().unwrap().global_position();
            }
            p
        };
        let mut sub = store.subscribe(&SubscribeOptions::after(third)).unwrap();
        let v: Vec<i64> = collect(&mut sub, 2).iter().map(|e| e.stream_version).collect();
        assert_eq!(v, vec![4, 5], "{kind}");

        let mut end = store.subscribe(&SubscribeOptions::from_end()).unwrap();
        assert!(end.poll(Duration::ZERO).unwrap().is_empty(), "{kind}");
        append_n(&store, &id, 2);
        let v: Vec<i64> = collect(&mut end, 2).iter().map(|e| e.stream_version).collect();
        assert_eq!(v, vec![6, 7], "{kind}");
        assert_eq!(POSITION_END, -1);
    }
}

#[test]
fn filters_by_stream_prefix_and_event_types() {
    for (kind, store, _dir) in stores("sub-filter") {
        let (order, user) = (stream("order"), stream("user"));
        let mut b = one("placed", "1");
        b.add("paid", b"2", None).unwrap();
        store.append(&order, &b, &AppendOptions::default()).unwrap();
        let mut b = one("registered", "3");
        b.add("paid", b"4", None).unwrap();
        store.append(&user, &b, &AppendOptions::default()).unwrap();

        let opts = SubscribeOptions { stream_prefix: Some("order_".into()), ..Default::default() };
        let mut sub = store.subscribe(&opts).unwrap();
        let got: Vec<String> = collect(&mut sub, 2).iter().map(|e| e.event_type.clone()).collect();
        assert_eq!(got, vec!["placed", "paid"], "{kind}");
        assert!(sub.poll(Duration::from_millis(50)).unwrap().is_empty(), "{kind}");

        let opts = SubscribeOptions { event_types: vec!["paid".into(), "registered".into()], ..Default::default() };
        let mut sub = store.subscribe(&opts).unwrap();
        let got: Vec<Vec<u8>> = collect(&mut sub, 3).into_iter().map(|e| e.data).collect();
        assert_eq!(got, vec![b"2".to_vec(), b"3".to_vec(), b"4".to_vec()], "{kind}");

        let opts = SubscribeOptions {
            stream_prefix: Some("user_".into()),
            event_types: vec!["paid".into()],
            ..Default::default()
        };
        let mut sub = store.subscribe(&opts).unwrap();
        assert_eq!(collect(&mut sub, 1)[0].data, b"4".to_vec(), "{kind}");
        assert!(sub.poll(Duration::from_millis(50)).unwrap().is_empty(), "{kind}");
        assert_eq!(sub.position(), store.stats().unwrap().last_position, "{kind}");
    }
}

#[test]
fn views_carry_metadata_and_every_field() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let mut sub = store.subscribe(&SubscribeOptions::default()).unwrap();
    let id = stream("order");
    let mut b = one("placed", "x");
    b.add_metadata("b", "2").unwrap();
    b.add_metadata("a", "1").unwrap();
    store.append(&id, &b, &AppendOptions::default()).unwrap();
    let events = sub.poll(Duration::from_secs(5)).unwrap();
    let e = events.get(0).unwrap();
    assert_eq!(e.stream_id(), id);
    assert_eq!(e.event_type(), "placed");
    let md: Vec<(&[u8], &[u8])> = e.metadata_iter().collect();
    assert_eq!(md, vec![(&b"a"[..], &b"1"[..]), (&b"b"[..], &b"2"[..])]);
    assert_eq!(e.metadata(1), Some((&b"b"[..], &b"2"[..])));
}

#[test]
fn a_waker_on_another_thread_ends_a_waiting_iteration() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let mut sub = store.subscribe(&SubscribeOptions::from_end()).unwrap();
    let waker = sub.waker();
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let n = (&mut sub).count();
        tx.send(n).unwrap();
        sub
    });
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "the iteration did not wait");
    // The waker is Send + Sync: shared by reference with another thread.
    thread::scope(|s| {
        s.spawn(|| waker.wake().unwrap());
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).expect("wake did not end the iteration"), 0);
    let mut sub = t.join().unwrap();
    // A wake also makes a waiting poll return no events.
    let w = sub.waker();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        w.wake().unwrap();
    });
    assert!(sub.wait().unwrap().is_empty());
    h.join().unwrap();
    // After the subscription is gone, its waker reports Closed.
    drop(sub);
    assert_eq!(waker.wake().unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn dropping_the_store_under_a_waiting_subscription_is_closed() {
    for (kind, store, _dir) in stores("sub-closed") {
        let mut sub = store.subscribe(&SubscribeOptions::from_end()).unwrap();
        let t = thread::spawn(move || {
            let first = sub.next();
            let after = sub.next();
            (first, after, sub.poll(Duration::ZERO).map(|e| e.len()))
        });
        thread::sleep(Duration::from_millis(100));
        drop(store);
        let (first, after, poll) = t.join().unwrap();
        let e = first.expect("an error, not the end").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{kind}: {e}");
        assert!(e.to_string().to_lowercase().contains("closed"), "{kind}: {e}");
        assert!(after.is_none(), "{kind}: the iterator ends after its error");
        assert_eq!(poll.unwrap_err().kind(), ErrorKind::Closed, "{kind}");
    }
}

#[test]
fn the_descriptor_polls_readable_when_events_arrive() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let mut sub = store.subscribe(&SubscribeOptions::from_end()).unwrap();
    let fd = sub.fd().unwrap();
    assert!(fd >= 0);
    store.append(&stream("order"), &one("placed", ""), &AppendOptions::default()).unwrap();
    let mut pfd = PollFd { fd, events: 1, revents: 0 };
    // SAFETY: one valid pollfd.
    let n = unsafe { poll(&mut pfd, 1, 5000) };
    assert_eq!(n, 1, "the descriptor did not become readable");
    assert_eq!(sub.poll(Duration::ZERO).unwrap().len(), 1);
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}
extern "C" {
    fn poll(fds: *mut PollFd, nfds: u64, timeout: i32) -> i32;
}

#[test]
fn the_iterators_buffered_events_are_neither_skipped_nor_counted_as_delivered() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let id = stream("order");
    append_n(&store, &id, 3);
    let mut sub = store.subscribe(&SubscribeOptions::default()).unwrap();
    let first = sub.next().unwrap().unwrap();
    // The other two crossed in the same poll but were not handed out.
    assert_eq!(sub.position(), first.global_position);
    let e = sub.poll(Duration::ZERO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let rest: Vec<i64> = (&mut sub).take(2).map(|e| e.unwrap().stream_version).collect();
    assert_eq!(rest, vec![2, 3]);
    assert!(sub.poll(Duration::ZERO).unwrap().is_empty());
}

#[test]
fn the_waker_is_send_and_sync_and_the_subscription_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<estoria::SubscriptionWaker>();
    send::<Subscription>();
    send::<estoria::Transaction>();
}

#[test]
fn invalid_options_are_refused() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let e = store.subscribe(&SubscribeOptions::after(-2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let opts = SubscribeOptions { event_types: vec!["_bad".into()], ..Default::default() };
    assert_eq!(store.subscribe(&opts).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let opts = SubscribeOptions { stream_prefix: Some("a\0b".into()), ..Default::default() };
    assert_eq!(store.subscribe(&opts).unwrap_err().kind(), ErrorKind::InvalidArgument);
}
