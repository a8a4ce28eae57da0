"""HILT's added time per call, measured call by call on a noisy machine.

    python benchmarks/alternate.py                 # workloads A and B
    python benchmarks/alternate.py --workloads A --calls 4000

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
- time in the garbage collector on the application's thread per recorded call, which
  the pairs cannot attribute either: objects HILT holds until the writer has built the
  event make collections run, and whichever call allocates next pays for them. The
  plain SDK loop allocates and frees in balance and runs almost none (check with
  ``--plain-gc``), so it is all counted as HILT's;
- the plain call's median, to scale the figures to another machine.
The log is checked to hold every recorded call.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def measure(workload: str, pairs: int, plain_gc: bool = False) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import _mock
    import openai

    import hilt
    from hilt_core import context

    logging.getLogger("hilt").setLevel(logging.ERROR)
    log = Path(tempfile.mkdtemp(prefix="hilt-alt-")) / "alt.jsonl"
    session = hilt.instrument(backend="local", filepath=log)
    client = openai.OpenAI(
        api_key="k",
        base_url="http://bench.invalid/v1",
        http_client=openai.DefaultHttpxClient(transport=_mock.transport()),
    )

    def one(i: int) -> None:
        msgs = [
            {"role": "system", "content": "You are a benchmark."},
            {"role": "user", "content": f"Say something short, please. q-{workload}{i}"},
        ]
        if workload == "B":
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=msgs,
                stream=True,
                stream_options={"include_usage": True},
            )
            assert sum(1 for _ in stream) == 21
        else:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            assert r.choices[0].message.content.endswith(f"q-{workload}{i}")

    warm = 100
    for i in range(warm):
        one(i)
    session.flush()
    # Pay the collector's debt from the imports now (a full collection is due after so
    # many new objects), so that the first collection HILT causes does not carry it.
    gc.collect()
    writer = session._pipeline._thread
    assert writer is not None
    assert writer.ident is not None
    clock = time.pthread_getcpuclockid(writer.ident)
    app = threading.get_ident()
    gc_time = [0.0, 0.0]  # total, start of the running collection

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != app:
            return
        if phase == "start":
            gc_time[1] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - gc_time[1]

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
            one(k)
            (on if recording else off).append(pc() - t)
    context.GLOBAL.session = session
    gc.callbacks.remove(on_gc)
    session.flush()
    writer_cpu = time.clock_gettime(clock) - w0
    hilt.uninstrument()
    recorded = warm + (0 if plain_gc else pairs)
    completions = sum(
        1 for line in log.read_bytes().splitlines() if json.loads(line)["action"] == "completion"
    )
    for f in log.parent.iterdir():
        f.unlink()
    log.parent.rmdir()
    diffs = [a - b for a, b in zip(on, off, strict=True)]
    return {
        "workload": workload,
        "pairs": pairs,
        "plain_median_us": statistics.median(off) * 1e6,
        "added_median_us": statistics.median(diffs) * 1e6,
        "added_mean_us": (statistics.fmean(on) - statistics.fmean(off)) * 1e6,
        "writer_cpu_us": writer_cpu / pairs * 1e6,
        "gc_us": gc_time[0] / pairs * 1e6,
        "check": "ok" if completions == recorded else f"{completions} of {recorded} logged",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="A,B")
    ap.add_argument("--calls", type=int, default=0, help="pairs per workload (A 3000, B 600)")
    ap.add_argument(
        "--plain-gc",
        action="store_true",
        help="record nothing in the measured loop: the GC column is then the plain SDK's",
    )
    args = ap.parse_args()
    print(
        "| workload | plain call, median µs | added on the app's thread, median of pairs µs "
        "| added, difference of means µs | writer CPU per call µs "
        "| GC on the app's thread per call µs | log |"
    )
    print("|---|---|---|---|---|---|---|")
    for wl in args.workloads.split(","):
        pairs = args.calls or (600 if wl == "B" else 3000)
        r = measure(wl, pairs, args.plain_gc)
        print(
            f"| {wl} | {r['plain_median_us']:,.0f} | {r['added_median_us']:+,.1f} "
            f"| {r['added_mean_us']:+,.1f} | {r['writer_cpu_us']:,.1f} | {r['gc_us']:,.1f} "
            f"| {r['check']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
