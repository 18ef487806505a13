// The projection engine through the safe API, on `memory:` and on a `file:`
// store: catch up then follow, resume from the checkpoint after a reopen,
// filters, handler errors and panics (stop, or skip and count), exactly
// once (outputs and checkpoint commit together), budgeted runs, waking a
// run from another thread, and versioned rebuilds.

mod common;

use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{stores, stream, TempDir};
use estoria::{
    AppendOptions, Batch, Error, ErrorKind, Events, Projection, ProjectionOptions, ProjectionReport, ProjectionTxn,
    ProjectionWaker, ReadAllOptions, ReadOptions, Store, StoreOptions,
};

fn one(event_type: &str, data: &str) -> Batch {
    let mut b = Batch::new().unwrap();
    b.add(event_type, data.as_bytes(), None).unwrap();
    b
}

/// Appends events of type `event_type` with data `from`, `from + 1`, ...
/// (one append each); returns their global positions.
fn append_seq(store: &Store, id: &str, event_type: &str, range: std::ops::Range<i64>) -> Vec<i64> {
    range
        .map(|i| store.append(id, &one(event_type, &i.to_string()), &AppendOptions::default()).unwrap().last_position)
        .collect()
}

fn data_of(events: &Events<'_>) -> Vec<i64> {
    events.iter().map(|e| std::str::from_utf8(e.data()).unwrap().parse().unwrap()).collect()
}

fn head(store: &Store) -> i64 {
    store.stats().unwrap().last_position
}

fn checkpoint(store: &Store, id: &str) -> i64 {
    store.load_checkpoint(id).unwrap().position
}

#[test]
fn catches_up_then_follows_new_commits_each_event_once_in_order() {
    for (kind, store, _dir) in stores("proj-follow") {
        let id = stream("order");
        append_seq(&store, &id, "tick", 0..50);
        // The handler borrows local state (the projection's lifetime).
        let seen: Mutex<Vec<(i64, i64)>> = Mutex::new(Vec::new());
        let largest = AtomicI64::new(0);
        let opts = ProjectionOptions { batch_max: 16, ..Default::default() };
        let mut p = store
            .projection("orders", 1, &opts, |events, tx| {
                assert!(tx.is_none(), "at least once gets no transaction");
                largest.fetch_max(events.len() as i64, Ordering::Relaxed);
                let mut seen = seen.lock().unwrap();
                for (e, d) in events.iter().zip(data_of(&events)) {
                    seen.push((e.global_position(), d));
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(p.id(), "orders_v1");
        assert!(p.last_report().is_none());

        let r = p.run(Duration::ZERO).unwrap();
        assert_eq!(r.handled, 50, "{kind}");
        assert!(r.caught_up, "{kind}");
        assert_eq!((r.position, r.head, r.skipped), (head(&store), head(&store), 0), "{kind}");
        assert_eq!(checkpoint(&store, "orders_v1"), r.position, "{kind}");
        assert_eq!(p.last_report(), Some(r));
        assert_eq!(largest.load(Ordering::Relaxed), 16, "{kind}: batch_max bounds a call");
        // Nothing new: a run hands nothing.
        assert_eq!(p.run(Duration::ZERO).unwrap().handled, 0, "{kind}");

        // Follow: a writer commits while the run waits; a watcher wakes the
        // run once every event has arrived.
        let waker = p.waker();
        let r = thread::scope(|s| {
            s.spawn(|| append_seq(&store, &id, "tick", 50..200));
            s.spawn(|| {
                let deadline = Instant::now() + Duration::from_secs(20);
                while seen.lock().unwrap().len() < 200 && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(5));
                }
                waker.wake().unwrap();
            });
            p.run_until_wake().unwrap()
        });
        drop(p);
        let seen = seen.into_inner().unwrap();
        let data: Vec<i64> = seen.iter().map(|s| s.1).collect();
        assert_eq!(data, (0..200).collect::<Vec<_>>(), "{kind}: every event once, in order");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{kind}");
        assert_eq!(r.handled, 150, "{kind}");
        assert_eq!(r.position, seen.last().unwrap().0, "{kind}");
        assert_eq!(checkpoint(&store, "orders_v1"), r.position, "{kind}");
    }
}

#[test]
fn a_reopened_file_store_resumes_from_the_checkpoint() {
    let dir = TempDir::new("proj-resume");
    let uri = format!("file:{}", dir.0.display());
    let id = stream("order");
    let opts = ProjectionOptions { batch_max: 7, ..Default::default() };
    let first_positions = {
        let store = Store::open(&uri, &StoreOptions::default()).unwrap();
        let positions = append_seq(&store, &id, "tick", 0..20);
        let mut calls: Vec<Vec<i64>> = Vec::new();
        let mut p = store
            .projection("orders", 1, &opts, |events, _| {
                calls.push(data_of(&events));
                Ok(())
            })
            .unwrap();
        let r = p.run(Duration::ZERO).unwrap();
        assert_eq!((r.handled, r.position), (20, *positions.last().unwrap()));
        drop(p);
        let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![7, 7, 6]);
        positions
    };

    let store = Store::open(&uri, &StoreOptions::default()).unwrap();
    assert_eq!(checkpoint(&store, "orders_v1"), *first_positions.last().unwrap());
    let later = append_seq(&store, &id, "tick", 20..25);
    let mut got = Vec::new();
    let mut p = store
        .projection("orders", 1, &opts, |events, _| {
            got.extend(data_of(&events));
            Ok(())
        })
        .unwrap();
    let r = p.run(Duration::ZERO).unwrap();
    drop(p);
    assert_eq!(got, (20..25).collect::<Vec<_>>(), "only what followed the checkpoint");
    assert_eq!((r.handled, r.position, r.caught_up), (5, *later.last().unwrap(), true));
}

#[test]
fn filters_by_stream_prefix_and_event_types_and_still_reach_the_head() {
    for (kind, store, _dir) in stores("proj-filter") {
        let (order, user) = (stream("order"), stream("user"));
        let mut b = one("placed", "1");
        b.add("paid", b"2", None).unwrap();
        store.append(&order, &b, &AppendOptions::default()).unwrap();
        let mut b = one("registered", "3");
        b.add("paid", b"4", None).unwrap();
        store.append(&user, &b, &AppendOptions::default()).unwrap();

        let cases: Vec<(ProjectionOptions, Vec<i64>)> = vec![
            (ProjectionOptions { stream_prefix: Some("order_".into()), ..Default::default() }, vec![1, 2]),
            (ProjectionOptions { event_types: vec!["paid".into()], ..Default::default() }, vec![2, 4]),
            (
                ProjectionOptions {
                    stream_prefix: Some("user_".into()),
                    event_types: vec!["paid".into(), "placed".into()],
                    ..Default::default()
                },
                vec![4],
            ),
            (ProjectionOptions::default(), vec![1, 2, 3, 4]),
        ];
        for (i, (opts, want)) in cases.into_iter().enumerate() {
            let mut got = Vec::new();
            let mut p = store
                .projection("filtered", i as i32 + 1, &opts, |events, _| {
                    got.extend(data_of(&events));
                    Ok(())
                })
                .unwrap();
            let r = p.run(Duration::ZERO).unwrap();
            drop(p);
            assert_eq!(got, want, "{kind} case {i}");
            assert_eq!(r.handled, want.len() as i64, "{kind} case {i}");
            assert!(r.caught_up && r.position == head(&store), "{kind} case {i}: filtered events move the position");
        }
    }
}

#[test]
fn a_handler_error_stops_the_run_with_the_checkpoint_at_the_last_success() {
    for (kind, store, _dir) in stores("proj-error") {
        let positions = append_seq(&store, &stream("order"), "tick", 1..11);
        let failing = AtomicBool::new(true);
        let mut firsts = Vec::new();
        let opts = ProjectionOptions { batch_max: 4, ..Default::default() };
        let mut p = store
            .projection("orders", 1, &opts, |events, _| {
                let data = data_of(&events);
                firsts.push(data[0]);
                if failing.load(Ordering::Relaxed) && data.contains(&6) {
                    return Err(Error::new(ErrorKind::Busy, "cannot handle 6 yet"));
                }
                Ok(())
            })
            .unwrap();
        for attempt in 0..2 {
            let e = p.run(Duration::ZERO).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Busy, "{kind}: the handler's status comes back: {e}");
            assert!(e.message().contains("cannot handle 6 yet"), "{kind}: {e}");
            let r = p.last_report().unwrap();
            assert_eq!(r.position, positions[3], "{kind} attempt {attempt}: the checkpoint stays at event 4");
            assert!(!r.caught_up, "{kind}");
            assert_eq!(checkpoint(&store, "orders_v1"), positions[3], "{kind}");
        }
        failing.store(false, Ordering::Relaxed);
        let r = p.run(Duration::ZERO).unwrap();
        drop(p);
        assert_eq!((r.handled, r.position, r.caught_up), (6, positions[9], true), "{kind}");
        // The failed call's events were handed again, from event 5 each time.
        assert_eq!(firsts, vec![1, 5, 5, 5, 9], "{kind}");
    }
}

// The process-wide log handler, where a projection reports what it skipped
// (est_set_log_handler; a store's own log does not get them).
static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn log_to_vec(_user: *mut c_void, _level: i32, message: *const c_char) {
    // SAFETY: a NUL-terminated message, valid during the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
    if let Ok(mut logged) = LOGGED.lock() {
        logged.push(text);
    }
}

#[test]
fn continue_on_error_skips_the_failing_events_and_counts_them() {
    // SAFETY: a callback that only takes a lock, for the rest of the process.
    unsafe { estoria::sys::est_set_log_handler(Some(log_to_vec), ptr::null_mut()) };
    let all = stores("proj-skip");
    let n = all.len();
    for (kind, store, _dir) in all {
        let positions = append_seq(&store, &stream("order"), "tick", 1..11);
        let mut done: Vec<i64> = Vec::new();
        let mut handed = 0i64;
        let opts = ProjectionOptions { batch_max: 4, continue_on_error: true, ..Default::default() };
        let mut p = store
            .projection("orders", 1, &opts, |events, _| {
                handed += events.len() as i64;
                let data = data_of(&events);
                if data.contains(&3) {
                    return Err(Error::new(ErrorKind::InvalidArgument, "3 is refused"));
                }
                if data.contains(&7) {
                    panic!("7 is unlucky");
                }
                done.extend(data); // only calls that succeed
                Ok(())
            })
            .unwrap();
        let r = p.run(Duration::ZERO).unwrap();
        drop(p);
        assert_eq!(done, vec![1, 2, 4, 5, 6, 8, 9, 10], "{kind}: the others each once, in order");
        assert_eq!(r.skipped, 2, "{kind}");
        // The report counts each event the run took once; the failing
        // calls' events were handed again one at a time.
        assert_eq!(r.handled, 10, "{kind}");
        assert_eq!(handed, 4 + 4 + 4 + 4 + 2, "{kind}");
        assert_eq!((r.position, r.caught_up), (positions[9], true), "{kind}");
        assert_eq!(checkpoint(&store, "orders_v1"), positions[9], "{kind}");
    }
    let logged = LOGGED.lock().unwrap();
    let skipped: Vec<&String> = logged.iter().filter(|m| m.contains("orders_v1") && m.contains("skipped")).collect();
    assert_eq!(skipped.iter().filter(|m| m.contains("3 is refused")).count(), n, "{skipped:?}");
    assert_eq!(skipped.iter().filter(|m| m.contains("panicked: 7 is unlucky")).count(), n, "{skipped:?}");
}

#[test]
fn a_panicking_handler_becomes_an_internal_error_and_the_process_survives() {
    for (kind, store, _dir) in stores("proj-panic") {
        let positions = append_seq(&store, &stream("order"), "tick", 1..7);
        let armed = AtomicBool::new(true);
        let mut got = Vec::new();
        let opts = ProjectionOptions { batch_max: 2, ..Default::default() };
        let mut p = store
            .projection("orders", 1, &opts, |events, _| {
                let data = data_of(&events);
                if armed.load(Ordering::Relaxed) && data.contains(&4) {
                    panic!("boom at {}", 4);
                }
                got.extend(data);
                Ok(())
            })
            .unwrap();
        let e = p.run(Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal, "{kind}: {e}");
        assert!(e.message().contains("panicked: boom at 4"), "{kind}: {e}");
        assert_eq!(p.last_report().unwrap().position, positions[1], "{kind}");
        assert_eq!(checkpoint(&store, "orders_v1"), positions[1], "{kind}");
        // The projection and the process go on.
        armed.store(false, Ordering::Relaxed);
        let r = p.run(Duration::ZERO).unwrap();
        drop(p);
        assert_eq!((r.handled, r.position), (4, positions[5]), "{kind}");
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6], "{kind}");
    }
}

/// The balance projection's output stream as (input position, running total).
fn outputs(store: &Store, out: &str) -> Vec<(i64, i64)> {
    let mut it = match store.read_stream(out, &ReadOptions::default()) {
        Ok(it) => it,
        Err(e) if e.kind() == ErrorKind::NotFound => return vec![],
        Err(e) => panic!("{e}"),
    };
    it.collect_recorded()
        .unwrap()
        .iter()
        .map(|e| {
            let text = String::from_utf8(e.data.clone()).unwrap();
            let (p, t) = text.split_once(' ').unwrap();
            (p.parse().unwrap(), t.parse().unwrap())
        })
        .collect()
}

/// What the outputs must be: one per input at or below the checkpoint,
/// carrying the fold (a running sum) of the inputs so far.
fn expected_outputs(inputs: &[(i64, i64)], checkpoint: i64) -> Vec<(i64, i64)> {
    let mut total = 0;
    inputs
        .iter()
        .filter(|(p, _)| *p <= checkpoint)
        .map(|(p, amount)| {
            total += amount;
            (*p, total)
        })
        .collect()
}

/// A balance projection in exactly-once mode: each deposit appends the new
/// balance to `out` through the engine's transaction. Its state is read back
/// from its own output stream at each call (what a restarted projection
/// does), so a dropped call leaves nothing behind.
fn balances<'h>(
    store: &'h Store,
    out: &'h str,
    fail_on: &'h AtomicI64,
) -> impl FnMut(Events<'_>, Option<&mut ProjectionTxn>) -> estoria::Result<()> + Send + 'h {
    move |events, tx| {
        let tx = tx.expect("exactly once hands a transaction");
        let before = outputs(store, out);
        let (mut version, mut total) = (before.len() as i64, before.last().map_or(0, |o| o.1));
        for (e, amount) in events.iter().zip(data_of(&events)) {
            total += amount;
            let data = format!("{} {}", e.global_position(), total);
            tx.append(out, &one("balance", &data), &AppendOptions::expect_version(version))?;
            version += 1;
            if amount == fail_on.load(Ordering::Relaxed) {
                return Err(Error::new(ErrorKind::Io, format!("the read model refused {amount}")));
            }
        }
        assert_eq!(tx.len(), events.len());
        Ok(())
    }
}

#[test]
fn exactly_once_outputs_commit_with_the_checkpoint_and_equal_the_fold_of_the_inputs() {
    for (kind, mut store, dir) in stores("proj-once") {
        let (account, out) = (stream("account"), stream("balance"));
        let mut inputs: Vec<(i64, i64)> = Vec::new();
        let mut deposit = |store: &Store, range: std::ops::Range<i64>| {
            let ps = append_seq(store, &account, "deposited", range.clone());
            inputs.extend(ps.into_iter().zip(range));
            inputs.clone()
        };
        let fail_on = AtomicI64::new(8);
        let opts = ProjectionOptions {
            exactly_once: true,
            batch_max: 3,
            stream_prefix: Some("account_".into()),
            ..Default::default()
        };

        let now = deposit(&store, 1..11);
        let mut p = store.projection("balances", 1, &opts, balances(&store, &out, &fail_on)).unwrap();
        let e = p.run(Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{kind}: {e}");
        assert!(e.message().contains("the read model refused 8"), "{kind}: {e}");
        // Calls [1 2 3] [4 5 6] committed; [7 8 9] failed after appending 7
        // and 8, which were dropped with it.
        let cp = checkpoint(&store, "balances_v1");
        assert_eq!(cp, now[5].0, "{kind}");
        assert_eq!(outputs(&store, &out), expected_outputs(&now, cp), "{kind}");
        assert_eq!(outputs(&store, &out).len(), 6, "{kind}");

        fail_on.store(-1, Ordering::Relaxed);
        let now = deposit(&store, 11..13);
        let r = p.run(Duration::ZERO).unwrap();
        drop(p);
        let cp = checkpoint(&store, "balances_v1");
        assert_eq!(r.position, cp, "{kind}");
        assert!(cp >= now.last().unwrap().0, "{kind}");
        let outs = outputs(&store, &out);
        assert_eq!(outs, expected_outputs(&now, cp), "{kind}");
        assert_eq!(outs.last().unwrap().1, (1..13).sum::<i64>(), "{kind}");

        // A restart (the file store reopened) continues without a repeat.
        if let Some(dir) = &dir {
            drop(store);
            store = Store::open(&format!("file:{}", dir.0.display()), &StoreOptions::default()).unwrap();
        }
        let now = deposit(&store, 13..15);
        let mut p = store.projection("balances", 1, &opts, balances(&store, &out, &fail_on)).unwrap();
        let r = p.run(Duration::ZERO).unwrap();
        drop(p);
        assert_eq!(r.handled, 2, "{kind}: only the new deposits");
        let cp = checkpoint(&store, "balances_v1");
        assert_eq!(outputs(&store, &out), expected_outputs(&now, cp), "{kind}");
        assert_eq!(outputs(&store, &out).len(), 14, "{kind}");
    }
}

#[test]
fn exactly_once_a_failed_expectation_writes_nothing_of_that_call() {
    for (kind, store, _dir) in stores("proj-once-mismatch") {
        let (account, marker) = (stream("account"), stream("marker"));
        append_seq(&store, &account, "opened", 0..1);
        let opts =
            ProjectionOptions { exactly_once: true, stream_prefix: Some("account_".into()), ..Default::default() };
        let mut p = store
            .projection("markers", 1, &opts, |_, tx| {
                // Right once: the stream must not exist yet.
                tx.unwrap().append(&marker, &one("marked", "x"), &AppendOptions::no_stream())
            })
            .unwrap();
        let r = p.run(Duration::ZERO).unwrap();
        // The marker committed with the checkpoint; the run then passed it
        // (filtered out) to the head.
        let at = head(&store);
        assert_eq!((r.position, checkpoint(&store, "markers_v1")), (at, at), "{kind}");
        append_seq(&store, &account, "closed", 1..2);
        let e = p.run(Duration::ZERO).unwrap_err();
        drop(p);
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}: {e}");
        assert_eq!(checkpoint(&store, "markers_v1"), at, "{kind}: the checkpoint did not move");
        assert!(e.message().contains("markers_v1"), "{kind}: {e}");
        let n = store.read_stream(&marker, &ReadOptions::default()).unwrap().collect_recorded().unwrap().len();
        assert_eq!(n, 1, "{kind}: nothing of the failed call was written");
    }
}

#[test]
fn a_budgeted_run_returns_and_the_next_runs_go_on_from_there() {
    for (kind, store, _dir) in stores("proj-budget") {
        let positions = append_seq(&store, &stream("order"), "tick", 0..100);
        let handled = Mutex::new(Vec::new());
        let opts = ProjectionOptions { batch_max: 1, ..Default::default() };
        let mut p = store
            .projection("slow", 1, &opts, |events, _| {
                thread::sleep(Duration::from_millis(3));
                handled.lock().unwrap().extend(data_of(&events));
                Ok(())
            })
            .unwrap();
        let start = Instant::now();
        let r = p.run(Duration::from_millis(20)).unwrap();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{kind}: a 20 ms run took {took:?}");
        assert!(r.handled >= 1 && r.handled < 100, "{kind}: {r:?}");
        assert!(!r.caught_up && r.position < r.head, "{kind}: {r:?}");
        assert_eq!(r.position, positions[r.handled as usize - 1], "{kind}");

        let mut total = r.handled;
        let mut runs = 1;
        while total < 100 {
            let r = p.run(Duration::from_millis(20)).unwrap();
            assert!(r.handled > 0, "{kind}: a run with events ready hands some");
            total += r.handled;
            runs += 1;
            assert!(runs < 1000, "{kind}: no progress");
        }
        assert!(runs > 2, "{kind}: 100 calls of 3 ms cannot fit in two 20 ms runs");
        let r = p.last_report().unwrap();
        drop(p);
        assert!(r.caught_up && r.position == positions[99], "{kind}: {r:?}");
        assert_eq!(handled.into_inner().unwrap(), (0..100).collect::<Vec<_>>(), "{kind}");
    }
}

#[test]
fn a_waker_ends_a_run_until_wake_from_another_thread() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<ProjectionWaker>();
    send::<Projection<'static>>();

    for (kind, store, _dir) in stores("proj-wake") {
        append_seq(&store, &stream("order"), "tick", 0..3);
        let mut p = store.projection("waiting", 1, &ProjectionOptions::default(), |_, _| Ok(())).unwrap();
        let waker = p.waker();
        let start = Instant::now();
        let r = thread::scope(|s| {
            s.spawn(move || {
                thread::sleep(Duration::from_millis(200));
                waker.wake().unwrap();
            });
            p.run_until_wake().unwrap()
        });
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(150), "{kind}: the run waited for the wake, {took:?}");
        assert!(took < Duration::from_secs(10), "{kind}: {took:?}");
        assert_eq!((r.handled, r.caught_up), (3, true), "{kind}");

        // A wake before the run makes the next run return at once.
        p.wake().unwrap();
        let start = Instant::now();
        p.run_until_wake().unwrap();
        assert!(start.elapsed() < Duration::from_secs(5), "{kind}");

        let waker = p.waker();
        drop(p);
        assert_eq!(waker.wake().unwrap_err().kind(), ErrorKind::Closed, "{kind}: a waker outlives its projection");
    }
}

#[test]
fn closing_the_store_ends_a_waiting_run_with_closed() {
    for (kind, store, _dir) in stores("proj-close") {
        let mut p = store.projection("waiting", 1, &ProjectionOptions::default(), |_, _| Ok(())).unwrap();
        let e = thread::scope(|s| {
            s.spawn(move || {
                thread::sleep(Duration::from_millis(100));
                store.close();
            });
            p.run_until_wake().unwrap_err()
        });
        assert_eq!(e.kind(), ErrorKind::Closed, "{kind}: {e}");
        assert_eq!(p.run(Duration::ZERO).unwrap_err().kind(), ErrorKind::Closed, "{kind}");
    }
}

/// A handler that counts the events it is handed into `n`.
fn count(n: &AtomicI64) -> impl FnMut(Events<'_>, Option<&mut ProjectionTxn>) -> estoria::Result<()> + Send + '_ {
    move |events, _| {
        n.fetch_add(events.len() as i64, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn rebuild_then_cutover_makes_the_next_version_active_and_retires_the_old() {
    for (kind, store, _dir) in stores("proj-rebuild") {
        append_seq(&store, &stream("account"), "deposited", 0..5);
        let (n1, n2) = (AtomicI64::new(0), AtomicI64::new(0));
        assert_eq!(store.active_projection_version("balances").unwrap_err().kind(), ErrorKind::NotFound, "{kind}");
        let mut v1 = store.projection("balances", 1, &ProjectionOptions::default(), count(&n1)).unwrap();
        assert!(v1.run(Duration::ZERO).unwrap().caught_up, "{kind}");
        assert_eq!(store.active_projection_version("balances").unwrap(), 1, "{kind}");

        store.rebuild_projection("balances", 2, Some("balances in cents")).unwrap();
        store.rebuild_projection("balances", 2, None).unwrap(); // requested already: ok
        assert_eq!(store.rebuild_projection("balances", 1, None).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(store.active_projection_version("balances").unwrap(), 1, "{kind}: not before the cutover");
        let e = store.cutover_projection("balances", 2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VersionMismatch, "{kind}: v2 has not caught up: {e}");

        let mut v2 = store.projection("balances", 2, &ProjectionOptions::default(), count(&n2)).unwrap();
        let r = v2.run(Duration::ZERO).unwrap();
        assert!(r.caught_up, "{kind}");
        assert!(n2.load(Ordering::Relaxed) >= 5, "{kind}: v2 ran from the first event");
        store.cutover_projection("balances", 2).unwrap();
        store.cutover_projection("balances", 2).unwrap(); // active already: ok
        assert_eq!(store.active_projection_version("balances").unwrap(), 2, "{kind}");
        assert_eq!(store.load_checkpoint("balances_v1").unwrap_err().kind(), ErrorKind::NotFound, "{kind}");

        // The retired version's runs fail within a second or so.
        let deadline = Instant::now() + Duration::from_secs(5);
        let e = loop {
            match v1.run(Duration::ZERO) {
                Err(e) => break e,
                Ok(_) => {
                    assert!(Instant::now() < deadline, "{kind}: the retired v1 still runs");
                    thread::sleep(Duration::from_millis(50));
                }
            }
        };
        assert_eq!(e.kind(), ErrorKind::NotFound, "{kind}: {e}");
        drop(v1);
        let refused = store.projection("balances", 1, &ProjectionOptions::default(), count(&n1)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::NotFound, "{kind}: {refused}");

        // The history is in the store, as events of the projection's stream.
        let mut it = store.read_all(&ReadAllOptions::default()).unwrap();
        let history: Vec<String> = it
            .collect_recorded()
            .unwrap()
            .into_iter()
            .filter(|e| e.stream_type == "estoria.projection")
            .map(|e| e.event_type)
            .collect();
        assert_eq!(history, vec!["rebuildcreated", "caughtup", "promoted", "previousretired"], "{kind}");

        // A rebuild flagged to cut over on its own does so once caught up.
        store.rebuild_projection("balances", 3, None).unwrap();
        let opts = ProjectionOptions { cutover_when_caught_up: true, ..Default::default() };
        let n3 = AtomicI64::new(0);
        let mut v3 = store.projection("balances", 3, &opts, count(&n3)).unwrap();
        assert!(v3.run(Duration::ZERO).unwrap().caught_up, "{kind}");
        assert_eq!(store.active_projection_version("balances").unwrap(), 3, "{kind}");
        drop((v2, v3));
    }
}

#[test]
fn bad_names_versions_and_filters_are_refused() {
    let store = Store::open("memory:", &StoreOptions::default()).unwrap();
    let opts = ProjectionOptions::default();
    for (name, version) in [("Orders", 1), ("orders_", 1), ("", 1), ("orders", 0), ("orders", -3), ("or\0ders", 1)] {
        let e = store.projection(name, version, &opts, |_, _| Ok(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{name:?} v{version}: {e}");
    }
    let long = "a".repeat(41);
    assert_eq!(store.projection(&long, 1, &opts, |_, _| Ok(())).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let bad = ProjectionOptions { event_types: vec!["a\0b".into()], ..Default::default() };
    assert_eq!(store.projection("orders", 1, &bad, |_, _| Ok(())).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(store.rebuild_projection("Orders", 2, None).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(store.cutover_projection("orders", 2).unwrap_err().kind(), ErrorKind::VersionMismatch);
    // A refused projection left nothing behind: a good one is made after.
    let mut p = store.projection("orders", 1, &opts, |_, _| Ok(())).unwrap();
    assert_eq!(p.run(Duration::ZERO).unwrap(), ProjectionReport { caught_up: true, ..Default::default() });
}
