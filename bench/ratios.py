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
import json
import os
import subprocess
import sys

DEFAULT_EXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "release", "bench",
                           "estoria_bench")


def main(argv):
    args = argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    exe = args[0] if args else DEFAULT_EXE
    if not os.path.exists(exe):
        print(f"ratios.py: no benchmark executable at {exe}; build the release preset first", file=sys.stderr)
        return 2
    run = subprocess.run([exe, "--benchmark_format=json", *extra], stdout=subprocess.PIPE, text=True)
    if run.returncode != 0:
        print(f"ratios.py: {exe} exited with {run.returncode}", file=sys.stderr)
        return 1
    report = json.loads(run.stdout)

    # Seconds per event for each benchmark. With --benchmark_repetitions the
    # median aggregate stands for the benchmark; otherwise the single run.
    per_event = {}
    medians = {}
    for b in report.get("benchmarks", []):
        if b.get("error_occurred"):
            print(f"ratios.py: {b['name']}: {b.get('error_message', 'error')}", file=sys.stderr)
            continue
        items = b.get("items_per_second")
        if not items:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[b["run_name"]] = 1.0 / items
        else:
            per_event.setdefault(b.get("run_name", b["name"]), 1.0 / items)
    per_event.update(medians)

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
