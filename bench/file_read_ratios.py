#!/usr/bin/env python3
"""Prints the read benchmark's figures, its ratios to SQLite and LMDB, and targets.

Usage:
  bench/file_read_ratios.py RESULTS.json      (from --benchmark_out=FILE, or
                                               --benchmark_format=json > FILE;
                                               "-" reads standard input)
  bench/file_read_ratios.py --run [PATH_TO_file_read_bench] [-- extra benchmark flags]
  e.g. build/release/bench/file_read_bench --benchmark_out=/tmp/r.json && bench/file_read_ratios.py /tmp/r.json

Reads the rows of file_read_bench (WORKLOAD/TARGET; see the header of
bench/file_read_bench.cc) and prints the read throughput of every target with
the ratios estoria/SQLite and estoria/LMDB (above 1 favours estoria), the open
time of the big store and its resident index per event, each against the file
store's target with whether this run met it. With --benchmark_repetitions the
median stands for each benchmark. Exits 1 when a benchmark failed or a row is
missing (the other figures are still printed), else 0 whatever the targets say.
Python 3 standard library only.
"""
import sys

# bench_report.py sits beside this script (its directory is first on sys.path).
from bench_report import (collect, finish, fmt, fmt_ratio, load, print_setup, ratio, release_exe, verdict,
                          workload_target)

PEERS = ("sqlite", "lmdb")

# The file store's read targets: what it aims for on the development machine.
TARGET_READ_STREAM = 30e6    # events/s reading one 10,000-event stream
TARGET_READ_ALL = 20e6       # events/s reading all events in global order
TARGET_OPEN_SECONDS = 1.0    # est_store_open + first est_store_stats, 10M events
TARGET_INDEX_BYTES = 24.0    # resident index bytes per event

TO_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def main(argv):
    report = load("file_read_ratios.py", argv, release_exe("file_read_bench"), __doc__)
    rows, errors = collect(report, workload_target)
    missing = []

    def get(workload, target, field="items_per_second"):
        row = rows.get((workload, target))
        if row is None:
            missing.append(f"{workload}/{target}")
            return None
        return row.get(field)

    def seconds(workload, target):
        row = rows.get((workload, target))
        if row is None:
            missing.append(f"{workload}/{target}")
            return None
        return row.get("real_time", 0.0) * TO_SECONDS.get(row.get("time_unit", "ns"), 1e-9)

    ctx = report.get("context", {})
    est_events = int(ctx.get("estoria_events", 0) or 0)
    peer_events = int(ctx.get("peer_events", 0) or 0)
    print_setup(ctx)
    print(f"stores:      estoria {fmt(est_events)} events, sqlite and lmdb {fmt(peer_events)} events; "
          f"{ctx.get('layout', '?')}")
    if peer_events and est_events and peer_events < est_events:
        print(f"             (the peers were built smaller: read_all reads "
              f"{fmt(int(ctx.get('read_all_events', 0) or 0))} events from each store)")
    print()

    # ---------------------------------------------------------------- reads
    print("Reads from a warm store (events/s; every event's data touched in place)")
    print(f"  {'workload':<30}  {'estoria':>12}  {'sqlite':>12}  {'lmdb':>12}  {'est/sqlite':>10}  {'est/lmdb':>10}"
          f"  {'target':>12}  result")
    labels = {
        "read_stream": "one 10,000-event stream",
        "read_all": f"all, global order ({fmt(int(ctx.get('read_all_events', 0) or 0))})",
    }
    for workload, target in (("read_stream", TARGET_READ_STREAM), ("read_all", TARGET_READ_ALL)):
        est = get(workload, "estoria")
        peers = {p: get(workload, p) for p in PEERS}
        met = None if est is None else est >= target
        print(f"  {labels[workload]:<30}  {fmt(est):>12}  {fmt(peers['sqlite']):>12}  {fmt(peers['lmdb']):>12}"
              f"  {fmt_ratio(ratio(est, peers['sqlite'])):>10}  {fmt_ratio(ratio(est, peers['lmdb'])):>10}"
              f"  {'>= ' + fmt(target):>12}  {verdict(met)}")
    # On a shared machine a read waits for a CPU: the wall-clock rates above
    # then understate the code. Events per CPU second say what it costs.
    busy = []
    for workload in ("read_stream", "read_all"):
        per_cpu = {}
        for t in ("estoria",) + PEERS:
            row = rows.get((workload, t))
            if row and row.get("cpu_time") and row.get("real_time") and row.get("items_per_second"):
                per_cpu[t] = row["items_per_second"] * row["real_time"] / row["cpu_time"]
                busy.append(row["real_time"] / row["cpu_time"])
        if per_cpu:
            print(f"  {labels[workload]:<30}  " + "  ".join(f"{fmt(per_cpu.get(t)):>12}" for t in ("estoria",) + PEERS)
                  + "  (per CPU second)")
    if busy and max(busy) > 1.3:
        print(f"  (wall-clock time was up to {max(busy):.1f}x the CPU time: the machine was busy with other work, "
              f"so the wall-clock rates understate the code)")
    print()

    # ---------------------------------------------------------------- open
    print(f"Opening the estoria store of {fmt(est_events)} events (est_store_open + first est_store_stats; "
          f"the close not timed)")
    for target, label in (("estoria", "files in the page cache"), ("estoria_cold", "files evicted first")):
        s = seconds("open", target)
        met = None if s is None else s < TARGET_OPEN_SECONDS
        print(f"  {label:<24}  {fmt(None if s is None else s * 1e3, 1):>10} ms   target < "
              f"{fmt(TARGET_OPEN_SECONDS * 1e3)} ms: {verdict(met)}")
    index = get("open", "estoria", "index_bytes_per_event")
    index_cold = rows.get(("open", "estoria_cold"), {}).get("index_bytes_per_event")
    met = None if index is None else index <= TARGET_INDEX_BYTES
    print(f"  resident index (RssAnon grown by the open, per event): {fmt(index, 1)} B/event"
          + (f" (cold open: {fmt(index_cold, 1)})" if index_cold is not None else "")
          + f"   target <= {TARGET_INDEX_BYTES:.0f}: {verdict(met)}")

    return finish(errors, missing)

if __name__ == "__main__":
    sys.exit(main(sys.argv))
