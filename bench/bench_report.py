"""What the benchmark report scripts share (ratios.py, file_ratios.py, file_read_ratios.py).

Reading Google Benchmark's JSON (from a file, standard input or a run of the
benchmark), picking one row per benchmark (the median with
--benchmark_repetitions, else the single run), formatting figures and ratios,
and the closing list of failures. Not a script: the scripts import it from
their own directory (Python puts a script's directory first on sys.path, so
`python3 bench/X.py` works from any working directory).
Python 3 standard library only; no state.
"""
import json
import os
import subprocess
import sys


def release_exe(name):
    """Where the release preset builds the benchmark `name`."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "release", "bench", name)


def split_args(argv):
    """Splits a script's argv into (its own arguments, the benchmark flags after "--")."""
    args = argv[1:]
    if "--" in args:
        i = args.index("--")
        return args[:i], args[i + 1:]
    return args, []


def run_benchmark(prog, exe, extra):
    """Runs the benchmark `exe` with `extra` flags and returns its JSON report; exits on failure."""
    if not os.path.exists(exe):
        print(f"{prog}: no benchmark executable at {exe}; build the release preset first", file=sys.stderr)
        sys.exit(2)
    run = subprocess.run([exe, "--benchmark_format=json", *extra], stdout=subprocess.PIPE, text=True)
    if run.returncode != 0:
        print(f"{prog}: {exe} exited with {run.returncode}", file=sys.stderr)
        sys.exit(1)
    return json.loads(run.stdout)


def load(prog, argv, default_exe, usage):
    """The report named by argv: RESULTS.json, "-" (standard input) or --run [EXE] [-- flags].

    Exits with `usage` when the arguments are none of these.
    """
    args, extra = split_args(argv)
    if args and args[0] == "--run":
        return run_benchmark(prog, args[1] if len(args) > 1 else default_exe, extra)
    if len(args) != 1:
        sys.exit(usage)
    if args[0] == "-":
        return json.load(sys.stdin)
    with open(args[0]) as f:
        return json.load(f)


def run_name(b):
    """A benchmark row's name without the aggregate's suffix."""
    return b.get("run_name", b["name"])


def workload_target(b):
    """(WORKLOAD, TARGET) of a row named WORKLOAD/TARGET[/...], else None."""
    parts = run_name(b).split("/")
    return (parts[0], parts[1]) if len(parts) >= 2 else None


def collect(report, key):
    """Maps key(row) to one row per benchmark and lists the failed benchmarks.

    Rows for which key returns None are left out. With repetitions the median
    aggregate stands for the benchmark, else its first run.
    """
    rows, medians, errors = {}, {}, []
    for b in report.get("benchmarks", []):
        if b.get("error_occurred"):
            errors.append(f"{b['name']}: {b.get('error_message', 'error')}")
            continue
        k = key(b)
        if k is None:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[k] = b
        else:
            rows.setdefault(k, b)
    rows.update(medians)
    return rows, errors


def fmt(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def verdict(met):
    return "-" if met is None else ("met" if met else "MISSED")


def print_setup(ctx):
    """The event shape and the directory the file benchmarks recorded in their context."""
    print(f"event shape: {ctx.get('event_shape', '(not recorded)')}")
    print(f"directory:   {ctx.get('bench_dir', '?')} (file system magic {ctx.get('bench_dir_fs_magic', '?')}), "
          f"{ctx.get('num_cpus', '?')} CPUs, {ctx.get('date', '')}")


def finish(errors, missing):
    """Lists failed benchmarks and missing rows on standard error; returns the exit status."""
    status = 0
    if errors:
        status = 1
        print("\nfailed benchmarks:", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
    if missing:
        status = 1
        print(f"\nmissing rows: {', '.join(sorted(set(missing)))}", file=sys.stderr)
    return status
