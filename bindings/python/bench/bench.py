#!/usr/bin/env python3
"""Bench of the Python binding against the same work done in C (not a ctest).

In one run, on a `memory:` store (and optionally a file store):
- appends per second, in batches of 100 events (100-byte payloads), through
  the package (Store.append with tuples) and from C (est_batch_new, 100 x
  est_batch_add, est_append_batch, est_batch_free: the calls the package makes);
- events read per second from a 100,000-event stream, through the package
  (read_stream: est_iter_next_batch into a ctypes array, each event copied
  into a RecordedEvent with bytes payload) and from C (est_iter_next_batch
  views, touching each payload: no copy);
- the difference per event: the cost of crossing into Python; and the same
  read with one event per crossing, to show what batching saves.

The C side is a small program compiled here with `cc` against the built
library (headers from capi/include). Usage:

    ESTORIA_LIB_DIR=build/release/capi python3 bindings/python/bench/bench.py [--events N] [--file]

Run it with the package installed, or it adds ../src to sys.path itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
try:
    import estoria
except ImportError:
    sys.path.insert(0, str(HERE.parent / "src"))
    import estoria

PAYLOAD = b"x" * 100
BATCH = 100

C_SOURCE = r"""
#include <estoria/estoria.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define CHECK(call) do { est_status s_ = (call); if (s_ < 0) { \
  fprintf(stderr, "%s: %s\n", #call, est_last_error()); exit(1); } } while (0)

int main(int argc, char **argv) {
  const char *uri = argv[1];
  long events = atol(argv[2]);
  int rounds = atoi(argv[3]);
  char payload[100];
  memset(payload, 'x', sizeof payload);
  double best_append = 1e30, best_read = 1e30;
  for (int r = 0; r < rounds; r++) {
    est_store *store = NULL;
    est_store_options options = EST_STORE_OPTIONS_INIT;
    options.sync_mode = EST_SYNC_NONE;
    char path[4096];
    snprintf(path, sizeof path, "%s%d", uri, r);
    CHECK(est_store_open(strcmp(uri, "memory:") == 0 ? uri : path, &options, &store));
    est_uuid u;
    CHECK(est_uuid_v7(&u));
    char id[EST_ID_MAX_LEN];
    CHECK(est_id_format("bench", &u, id, sizeof id));
    double t0 = now();
    for (long i = 0; i < events; i += 100) {
      est_batch *batch = NULL;
      CHECK(est_batch_new(&batch));
      for (int j = 0; j < 100; j++) CHECK(est_batch_add(batch, "Deposited", payload, sizeof payload, "application/octet-stream"));
      CHECK(est_append_batch(store, id, batch, NULL, NULL, NULL));
      est_batch_free(batch);
    }
    double t1 = now();
    est_iter *it = NULL;
    CHECK(est_read_stream(store, id, NULL, &it));
    est_event views[256];
    views[0].struct_size = sizeof(est_event);
    size_t count = 0, seen = 0, bytes = 0;
    while (1) {
      est_status s = est_iter_next_batch(it, views, 256, &count);
      if (s == EST_END) break;
      CHECK(s);
      for (size_t k = 0; k < count; k++) { bytes += views[k].data_len + (size_t)views[k].data[0]; }
      seen += count;
    }
    double t2 = now();
    est_iter_close(it);
    est_store_close(store);
    if (seen != (size_t)events) { fprintf(stderr, "read %zu of %ld events\n", seen, events); return 1; }
    if (t1 - t0 < best_append) best_append = t1 - t0;
    if (t2 - t1 < best_read) best_read = t2 - t1;
    (void)bytes;
  }
  printf("%.9f %.9f\n", best_append, best_read);
  return 0;
}
"""


def lib_dir() -> str:
    env = os.environ.get("ESTORIA_LIB_DIR")
    if env:
        return env
    out = subprocess.run(["pkg-config", "--variable=libdir", "estoria"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip()
    return str(REPO / "build" / "release" / "capi")


def run_c(uri: str, events: int, rounds: int, workdir: Path) -> Dict[str, float]:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise SystemExit("no C compiler (cc) for the C side of the bench")
    src = workdir / "bench_c.c"
    exe = workdir / "bench_c"
    src.write_text(C_SOURCE)
    libdir = lib_dir()
    subprocess.run(
        [cc, "-O2", "-std=c11", "-D_POSIX_C_SOURCE=200809L", f"-I{REPO / 'capi' / 'include'}", str(src),
         f"-L{libdir}", f"-Wl,-rpath,{libdir}", "-lestoria", "-o", str(exe)],
        check=True,
    )
    out = subprocess.run([str(exe), uri, str(events), str(rounds)], check=True, capture_output=True, text=True)
    append_s, read_s = (float(x) for x in out.stdout.split())
    return {"append_s": append_s, "read_s": read_s}


def run_python(uri: str, events: int, rounds: int) -> Dict[str, float]:
    best_append = best_read = best_read1 = float("inf")
    batch = [("Deposited", PAYLOAD, "application/octet-stream")] * BATCH
    for r in range(rounds):
        target = uri if uri == "memory:" else f"{uri}py{r}"
        with estoria.Store.open(target, sync_mode=estoria.SyncMode.NONE) as store:
            sid = estoria.new_id("bench")
            t0 = time.perf_counter()
            for _ in range(events // BATCH):
                store.append(sid, batch)
            t1 = time.perf_counter()
            seen = 0
            for event in store.read_stream(sid):
                seen += 1
            t2 = time.perf_counter()
            assert seen == events and event.data == PAYLOAD
            # The same read crossing once per event: what batching saves.
            for event in store.read_stream(sid, batch_size=1):
                pass
            t3 = time.perf_counter()
        best_append = min(best_append, t1 - t0)
        best_read = min(best_read, t2 - t1)
        best_read1 = min(best_read1, t3 - t2)
    return {"append_s": best_append, "read_s": best_read, "read1_s": best_read1}


def report(name: str, events: int, py: Dict[str, float], c: Dict[str, float]) -> List[str]:
    lines = [f"store {name}, {events} events of {len(PAYLOAD)} bytes, best of the rounds"]
    for what, key, unit in (("append (batches of 100)", "append_s", "events"), ("read_stream", "read_s", "events")):
        py_rate = events / py[key]
        c_rate = events / c[key]
        per_event = (py[key] - c[key]) / events * 1e9
        lines.append(
            f"  {what:24s} python {py_rate:12,.0f} {unit}/s   C {c_rate:12,.0f} {unit}/s   "
            f"ratio C/python {c_rate / py_rate:5.1f}x   crossing {per_event:7.0f} ns/event"
        )
    lines.append(
        f"  read_stream, batch_size=1  python {events / py['read1_s']:12,.0f} events/s   "
        f"({(py['read1_s'] - py['read_s']) / events * 1e9:.0f} ns/event more than batches of 256)"
    )
    appends_py = events / BATCH / py["append_s"]
    appends_c = events / BATCH / c["append_s"]
    lines.append(f"  appends/s (one append = 100 events): python {appends_py:,.0f}   C {appends_c:,.0f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", action="store_true", help="also on a file store in a temporary directory")
    args = parser.parse_args()
    print(f"estoria {estoria.__version__}, library ABI {estoria.abi_version():#x}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="estoria-pybench-") as tmp:
        work = Path(tmp)
        uris = [("memory", "memory:")]
        if args.file:
            uris.append(("file", f"file:{work}/store"))
        for name, uri in uris:
            py = run_python(uri, args.events, args.rounds)
            c = run_c(uri, args.events, args.rounds, work)
            print("\n".join(report(name, args.events, py, c)))


if __name__ == "__main__":
    main()
