#!/usr/bin/env python3
"""Prints the file store benchmark's figures and its ratios to SQLite and LMDB.

Usage:
  bench/file_ratios.py RESULTS.json           (from --benchmark_out=FILE, or
                                               --benchmark_format=json > FILE;
                                               "-" reads standard input)
  bench/file_ratios.py --run [PATH_TO_file_store_bench] [-- extra benchmark flags]
  e.g. build/release/bench/file_store_bench --benchmark_out=/tmp/f.json && bench/file_ratios.py /tmp/f.json

Reads the rows of file_store_bench (WORKLOAD/TARGET/...; see the header of
bench/file_store_bench.cc) and prints, for each workload, every target's
figure, the ratios estoria/SQLite and estoria/LMDB, and the file store's
target with whether this run met it. Throughput ratios above 1 favour estoria;
latency ratios below 1 do. With --benchmark_repetitions the median stands for
each benchmark. Exits 1 when a benchmark failed or a row is missing (the other
figures are still printed), else 0 whatever the targets say.
Python 3 standard library only.
"""
import sys

# bench_report.py sits beside this script (its directory is first on sys.path).
from bench_report import (collect, finish, fmt, fmt_ratio, load, print_setup, ratio, release_exe, verdict,
                          workload_target)

MIB = 1024.0 * 1024.0
PEERS = ("sqlite", "lmdb")

# The file store's append targets: what it aims for on the development machine.
TARGET_SINGLE_THREAD = 5000.0    # durable appends/s from 1 thread
TARGET_16_THREADS = 50000.0      # durable appends/s from 16 threads
TARGET_BULK_BANDWIDTH = 0.70     # bulk bytes/s over durable sequential bytes/s
TARGET_P99_OVER_FDATASYNC = 2.0  # append p99 over fdatasync p99


def workload_target_threads(b):
    wt = workload_target(b)
    return None if wt is None else wt + (int(b.get("threads", 1)),)


def main(argv):
    report = load("file_ratios.py", argv, release_exe("file_store_bench"), __doc__)
    rows, errors = collect(report, workload_target_threads)
    missing = []

    def get(workload, target, threads=1, field="items_per_second"):
        row = rows.get((workload, target, threads))
        if row is None:
            missing.append(f"{workload}/{target}" + (f" threads:{threads}" if threads != 1 else ""))
            return None
        return row.get(field)

    ctx = report.get("context", {})
    print_setup(ctx)
    print()

    # ---------------------------------------------------------------- the disk
    sync_ops = get("baseline", "fdatasync_4KiB")
    sync_p50 = get("baseline", "fdatasync_4KiB", field="p50_us")
    sync_p99 = get("baseline", "fdatasync_4KiB", field="p99_us")
    print("The disk")
    print(f"  pwrite 4 KiB into a zero-filled synced file + fdatasync: {fmt(sync_ops)} ops/s, "
          f"p50 {fmt(sync_p50, 1)} us, p99 {fmt(sync_p99, 1)} us")
    again = rows.get(("baseline", "fdatasync_4KiB_again", 1))
    if again is not None:
        p50_again = again.get("p50_us")
        drift = sync_p50 and p50_again and max(p50_again / sync_p50, sync_p50 / p50_again) > 1.5
        print(f"  the same, again after all the stores ran:               {fmt(again.get('items_per_second'))} ops/s, "
              f"p50 {fmt(again.get('p50_us'), 1)} us, p99 {fmt(again.get('p99_us'), 1)} us"
              + ("  (p50 moved by more than 1.5x: the disk was shared with other work)" if drift else ""))
    seq_best, seq_best_name = None, None
    for target in sorted(t for (w, t, _) in rows if w == "baseline" and t.startswith("seq_write_")):
        bps = get("baseline", target, field="bytes_per_second")
        mibs = None if bps is None else bps / MIB
        print(f"  durable sequential write ({target[len('seq_write_'):]} chunks + fdatasync): {fmt(mibs, 1)} MiB/s")
        if bps is not None and (seq_best is None or bps > seq_best):
            seq_best, seq_best_name = bps, target
    print()

    # ---------------------------------------------------------------- durable appends
    print("Durable appends, one event per call (events/s; every thread its own stream, one shared store)")
    header = f"  {'threads':>7}  {'estoria':>10}  {'sqlite':>10}  {'lmdb':>10}  {'est/sqlite':>10}  {'est/lmdb':>10}" \
             f"  {'target':>10}  result"
    print(header)
    for threads in (1, 4, 16):
        est = get("durable_append", "estoria", threads)
        peers = {p: get("durable_append", p, threads) for p in PEERS}
        target = {1: TARGET_SINGLE_THREAD, 16: TARGET_16_THREADS}.get(threads)
        met = None if target is None or est is None else est >= target
        print(f"  {threads:>7}  {fmt(est):>10}  {fmt(peers['sqlite']):>10}  {fmt(peers['lmdb']):>10}"
              f"  {fmt_ratio(ratio(est, peers['sqlite'])):>10}  {fmt_ratio(ratio(est, peers['lmdb'])):>10}"
              f"  {('>= ' + fmt(target)) if target else '':>10}  {verdict(met)}")
    print()

    print("Latency of one durable append (us; p50 / p99 of every call)")
    print(f"  {'threads':>7}  {'':>9}  {'estoria':>10}  {'sqlite':>10}  {'lmdb':>10}  {'est/sqlite':>10}"
          f"  {'est/lmdb':>10}")
    for threads in (1, 4, 16):
        for q in ("p50_us", "p99_us"):
            est = get("durable_append", "estoria", threads, q)
            peers = {p: get("durable_append", p, threads, q) for p in PEERS}
            print(f"  {threads:>7}  {q[:3]:>9}  {fmt(est, 1):>10}  {fmt(peers['sqlite'], 1):>10}"
                  f"  {fmt(peers['lmdb'], 1):>10}  {fmt_ratio(ratio(est, peers['sqlite'])):>10}"
                  f"  {fmt_ratio(ratio(est, peers['lmdb'])):>10}")
    est_p99 = get("durable_append", "estoria", 1, "p99_us")
    r = ratio(est_p99, sync_p99)
    met = None if r is None else r <= TARGET_P99_OVER_FDATASYNC
    print(f"  single-thread estoria p99 / fdatasync p99 = {fmt_ratio(r)} "
          f"(target <= {TARGET_P99_OVER_FDATASYNC:.1f}x): {verdict(met)}")
    for p in PEERS:
        print(f"  single-thread {p} p99 / fdatasync p99 = "
              f"{fmt_ratio(ratio(get('durable_append', p, 1, 'p99_us'), sync_p99))}")
    print()

    # ---------------------------------------------------------------- bulk appends
    bulk = next((w for (w, _, _) in rows if w.startswith("bulk_append_")), "bulk_append_1000")
    for threads in sorted({t for (w, _, t) in rows if w == bulk} or {1}):
        print(f"Bulk appends, {bulk[len('bulk_append_'):]}-event batches, one append per batch, "
              + ("one thread" if threads == 1 else f"{threads} threads (each its own stream)"))
        print(f"  {'target':<18}  {'events/s':>10}  {'bytes/event':>11}  {'MiB/s':>8}  {'est/target':>10}"
              f"  {'of seq. bw':>10}")
        est_bulk = get(bulk, "estoria", threads)
        for target in ("estoria", "estoria_sync_none", "sqlite", "lmdb"):
            eps = get(bulk, target, threads)
            bpe = get(bulk, target, threads, field="bytes_per_event")
            # The store's growth over the wall clock: events/s times bytes per event.
            bps = None if eps is None or bpe is None else eps * bpe
            vs = ratio(est_bulk, eps) if target in PEERS else None
            label = target + (" (durable)" if target == "estoria" else "")
            print(f"  {label:<18}  {fmt(eps):>10}  {fmt(bpe, 1):>11}  {fmt(None if bps is None else bps / MIB, 1):>8}"
                  f"  {fmt_ratio(vs):>10}  {fmt_ratio(ratio(bps, seq_best)):>10}")
        est_eps = get(bulk, "estoria", threads)
        est_bpe = get(bulk, "estoria", threads, field="bytes_per_event")
        r = ratio(None if est_eps is None or est_bpe is None else est_eps * est_bpe, seq_best)
        print(f"  estoria durable bulk bytes/s over durable sequential bandwidth ({seq_best_name}) = {fmt_ratio(r)} "
              f"(target >= {TARGET_BULK_BANDWIDTH:.2f}x): {verdict(None if r is None else r >= TARGET_BULK_BANDWIDTH)}")
        # A batch's frame is about 232 KiB: the disk's own rate for durable
        # writes of that size is what one frame per fdatasync can reach.
        frame_sized = rows.get(("baseline", "seq_write_256KiB", 1), {}).get("bytes_per_second")
        if frame_sized:
            print(f"  the same over durable 256 KiB writes (about one batch's frame per fdatasync) = "
                  f"{fmt_ratio(ratio(None if est_eps is None or est_bpe is None else est_eps * est_bpe, frame_sized))}")
        print()
    print("  (estoria_sync_none: EST_SYNC_NONE, not durable: written to the OS only; shown for scale)")

    return finish(errors, missing)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
