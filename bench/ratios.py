#!/usr/bin/env python3
"""Runs estoria_bench and prints what the C ABI and the SDK cost over the core.

Usage: bench/ratios.py [PATH_TO_estoria_bench] [-- extra benchmark flags]
  e.g. bench/ratios.py build/release/bench/estoria_bench -- --benchmark_min_time=0.2

Benchmarks are named NAME/.../LAYER with LAYER one of core, capi, sdk; peers
share everything before the last "/". For each set of peers it prints the
time per event of every other layer (capi, capi_bytes, sdk) divided by the core's (1.10 = 10%
slower than calling the core directly), from Google Benchmark's items/s
(CPU time). Python 3 standard library only.
"""
import sys

# bench_report.py sits beside this script (its directory is first on sys.path).
from bench_report import collect, release_exe, run_benchmark, run_name, split_args


def main(argv):
    args, extra = split_args(argv)
    report = run_benchmark("ratios.py", args[0] if args else release_exe("estoria_bench"), extra)

    # One row per benchmark that counted items (the median with
    # --benchmark_repetitions), as seconds per event.
    rows, errors = collect(report, lambda b: run_name(b) if b.get("items_per_second") else None)
    for e in errors:
        print(f"ratios.py: {e}", file=sys.stderr)
    per_event = {name: 1.0 / b["items_per_second"] for name, b in rows.items()}

    groups = {}
    for name, seconds in per_event.items():
        head, _, layer = name.rpartition("/")
        groups.setdefault(head, {})[layer] = seconds

    layers_seen = sorted({layer for g in groups.values() for layer in g if layer != "core"})
    width = max((len(h) for h in groups), default=10)
    print(f"{'benchmark':<{width}}  {'core ns/event':>13}" + "".join(f"  {l + '/core':>15}" for l in layers_seen))
    status = 0
    for head in sorted(groups):
        layers = groups[head]
        core = layers.get("core")
        if core is None:
            status = 1
            print(f"{head:<{width}}  {'(no core run)':>13}")
            continue
        cells = "".join(f"  {layers[l] / core:15.2f}" if l in layers else f"  {'-':>15}" for l in layers_seen)
        print(f"{head:<{width}}  {core * 1e9:13.1f}{cells}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
