"""The method of HILT's per-call overhead benchmarks (alternate.py, gemini_overhead.py,
anthropic_overhead.py): each gives it a workload, this measures it and prints the table.

One process, one instrumented SDK. Calls alternate, in random order within each pair,
between HILT recording (the instrumented session in effect) and HILT switched off for that
call (no session: the patch calls the SDK untouched). The machine's speed drifts over
seconds on a shared VM, by a factor of two on the one this was written on; two calls a
millisecond apart see the same machine, so the median of the paired differences is
steady where separate runs are not.

Reported per call:
- added latency on the application's thread (median of paired differences, and the
  difference of the means, which includes the rare slow calls);
- CPU of HILT's writer thread per recorded call (its thread CPU clock), which the pairs
  cannot attribute because the writer runs between calls;
- time in the garbage collector on the application's threads (every thread but HILT's
  writer) per recorded call, which the pairs cannot attribute either: objects HILT holds
  until the writer has built the event make collections run, and whichever call
  allocates next pays for them. The plain SDK loop allocates and frees in balance and
  runs almost none (check with ``--plain-gc``), so it is all counted as HILT's;
- the plain call's median, to scale the figures to another machine.
The log is checked to hold every recorded call.

A unit of a pair is one call, or a batch of concurrent calls (``Workload.size``); then
the batch's wall time over its calls is the per-call figure (inverse throughput).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER = (
    "| workload | plain call, median µs | added on the app's thread, median of pairs µs "
    "| added, difference of means µs | writer CPU per call µs "
    "| GC on the app's thread per call µs | log |\n"
    "|---|---|---|---|---|---|---|"
)


@dataclass
class Workload:
    """What one script measures, made once HILT is instrumented (so that its clients are
    made as an application's would be)."""

    run: Callable[[int], None]  # one unit: the calls numbered start .. start + size - 1
    size: int = 1  # calls per unit
    close: Callable[[], None] = lambda: None  # after the measurement


def measure(
    make: Callable[[], Workload],
    pairs: int,
    providers: list[str] | None = None,
    plain_gc: bool = False,
) -> dict[str, Any]:
    """Alternate ``pairs`` pairs of units of ``make()``'s workload, recorded and not."""
    import hilt
    from hilt_core import context

    logging.getLogger("hilt").setLevel(logging.ERROR)
    log = Path(tempfile.mkdtemp(prefix="hilt-bench-")) / "bench.jsonl"
    chosen = {} if providers is None else {"providers": providers}
    session = hilt.instrument(backend="local", filepath=log, **chosen)
    work = make()
    size = work.size
    warm = 100 if size == 1 else 4
    for i in range(warm):
        work.run(i * size)
    session.flush()
    # Pay the collector's debt from the imports now (a full collection is due after so
    # many new objects), so that the first collection HILT causes does not carry it.
    gc.collect()
    writer = session._pipeline._thread
    assert writer is not None
    assert writer.ident is not None
    clock = time.pthread_getcpuclockid(writer.ident)
    writer_id = writer.ident
    gc_time = [0.0]
    gc_start: dict[int, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        me = threading.get_ident()
        if me == writer_id:
            return
        if phase == "start":
            gc_start[me] = time.perf_counter()
        elif me in gc_start:
            gc_time[0] += time.perf_counter() - gc_start.pop(me)

    gc.callbacks.append(on_gc)
    w0 = time.clock_gettime(clock)
    on: list[float] = []
    off: list[float] = []
    pc = time.perf_counter
    for k in range(warm, warm + pairs):
        first = random.random() < 0.5
        for recording in (first, not first):
            context.GLOBAL.session = session if recording and not plain_gc else None
            t = pc()
            work.run(k * size * 2 + (size if recording else 0))
            (on if recording else off).append((pc() - t) / size)
    context.GLOBAL.session = session
    gc.callbacks.remove(on_gc)
    session.flush()
    writer_cpu = time.clock_gettime(clock) - w0
    hilt.uninstrument()
    work.close()
    recorded = (warm + (0 if plain_gc else pairs)) * size
    completions = sum(
        1 for line in log.read_bytes().splitlines() if json.loads(line)["action"] == "completion"
    )
    for f in log.parent.iterdir():
        f.unlink()
    log.parent.rmdir()
    diffs = [a - b for a, b in zip(on, off, strict=True)]
    calls = pairs * size
    return {
        "pairs": pairs,
        "plain_median_us": statistics.median(off) * 1e6,
        "added_median_us": statistics.median(diffs) * 1e6,
        "added_mean_us": (statistics.fmean(on) - statistics.fmean(off)) * 1e6,
        "writer_cpu_us": writer_cpu / calls * 1e6,
        "gc_us": gc_time[0] / calls * 1e6,
        "check": "ok" if completions == recorded else f"{completions} of {recorded} logged",
    }


def cells(r: dict[str, Any]) -> str:
    """A result's cells of the table, from the plain call's median to the log check."""
    return (
        f"{r['plain_median_us']:,.0f} | {r['added_median_us']:+,.1f} "
        f"| {r['added_mean_us']:+,.1f} | {r['writer_cpu_us']:,.1f} | {r['gc_us']:,.1f} "
        f"| {r['check']}"
    )


def main(
    doc: str | None,
    workload: Callable[[str], Workload],
    providers: list[str] | None = None,
    banner: Callable[[], str] | None = None,
) -> int:
    """The command line of a single-process benchmark of workloads A (one call) and B (a
    stream): ``workload(name)`` makes the workload of that name."""
    ap = argparse.ArgumentParser(description=(doc or "").partition("\n\n")[0])
    ap.add_argument("--workloads", default="A,B")
    ap.add_argument("--calls", type=int, default=0, help="pairs per workload (A 3000, B 600)")
    ap.add_argument(
        "--plain-gc",
        action="store_true",
        help="record nothing in the measured loop: the GC column is then the plain SDK's",
    )
    args = ap.parse_args()
    if banner is not None:
        print(banner())
    print(HEADER)
    for wl in args.workloads.split(","):
        pairs = args.calls or (600 if wl == "B" else 3000)
        r = measure(functools.partial(workload, wl), pairs, providers, args.plain_gc)
        print(f"| {wl} | {cells(r)} |", flush=True)
    return 0
