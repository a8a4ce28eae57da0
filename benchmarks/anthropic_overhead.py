"""HILT's added time per call on the anthropic SDK, beside the openai SDK, in one run.

    python benchmarks/anthropic_overhead.py                    # A-D, anthropic and openai
    python benchmarks/anthropic_overhead.py --sdks anthropic --workloads A,B
    python benchmarks/anthropic_overhead.py --quick            # a fifth of the calls

The method of ``alternate.py``, on an in-process transport (``_mock_anthropic.py``,
``_mock.py``: no socket, so only the SDK's and HILT's work is timed). One fresh process per
(SDK, workload); one instrumented SDK in it; calls alternate, in random order within each
pair, between HILT recording (the session in effect) and HILT switched off for that call
(no session: the patch calls the SDK untouched). On a VM whose speed drifts by a factor of
two over seconds, calls a millisecond apart see the same machine, so the median of the
paired differences is steady where separate runs are not.

Workloads (as in ``overhead.py`` and ../shared/bench):
  A  sync messages.create (chat.completions.create), sequential
  B  sync stream=True, 21 events (chunks), consumed fully
  C  async: batches of 50 concurrent calls on one client; a pair is two batches
  D  8 threads sharing one client: batches of 40 calls; a pair is two batches
For C and D a batch's wall time over its calls is the per-call figure (inverse throughput).

Reported per call: the plain call's median; added time (median of paired differences, and
difference of the means); CPU of HILT's writer thread per recorded call and time in the
garbage collector on the app's threads per recorded call, which the pairs cannot attribute
(see alternate.py); and a check that the log holds every recorded call.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAIRS = {"A": 3000, "B": 600, "C": 60, "D": 60}
BATCH = {"C": 50, "D": 40}


def _clients(sdk: str) -> tuple[Any, Any]:
    sys.path.insert(0, str(HERE))
    if sdk == "anthropic":
        import _mock_anthropic as mock
        import anthropic

        return (
            anthropic.Anthropic(
                api_key="k",
                base_url="http://bench.invalid",
                http_client=anthropic.DefaultHttpxClient(transport=mock.transport()),
            ),
            anthropic.AsyncAnthropic(
                api_key="k",
                base_url="http://bench.invalid",
                http_client=anthropic.DefaultAsyncHttpxClient(transport=mock.transport(True)),
            ),
        )
    import _mock as mock
    import openai

    return (
        openai.OpenAI(
            api_key="k",
            base_url="http://bench.invalid/v1",
            http_client=openai.DefaultHttpxClient(transport=mock.transport()),
        ),
        openai.AsyncOpenAI(
            api_key="k",
            base_url="http://bench.invalid/v1",
            http_client=openai.DefaultAsyncHttpxClient(transport=mock.transport(True)),
        ),
    )


def measure(sdk: str, workload: str, pairs: int) -> dict[str, Any]:
    import hilt
    from hilt_core import context

    logging.getLogger("hilt").setLevel(logging.ERROR)
    log = Path(tempfile.mkdtemp(prefix="hilt-anth-")) / "bench.jsonl"
    session = hilt.instrument(backend="local", filepath=log, providers=[sdk])
    client, aclient = _clients(sdk)
    system = "You are a benchmark."

    def text(i: int) -> str:
        return f"Say something short, please. q-{workload}{i}"

    def one(i: int) -> None:
        if sdk == "anthropic":
            msgs: list[dict[str, str]] = [{"role": "user", "content": text(i)}]
            if workload == "B":
                stream = client.messages.create(
                    model="claude-haiku-4-5", max_tokens=100, system=system, messages=msgs,
                    stream=True,
                )  # fmt: skip
                assert sum(1 for _ in stream) == 21
            else:
                r = client.messages.create(
                    model="claude-haiku-4-5", max_tokens=100, system=system, messages=msgs
                )
                assert r.content[0].text.endswith(f"q-{workload}{i}")
            return
        msgs = [{"role": "system", "content": system}, {"role": "user", "content": text(i)}]
        if workload == "B":
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=msgs, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            assert sum(1 for _ in stream) == 21
        else:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            assert r.choices[0].message.content.endswith(f"q-{workload}{i}")

    async def one_async(i: int) -> None:
        if sdk == "anthropic":
            r = await aclient.messages.create(
                model="claude-haiku-4-5", max_tokens=100, system=system,
                messages=[{"role": "user", "content": text(i)}],
            )  # fmt: skip
            assert r.content[0].text.endswith(f"q-{workload}{i}")
        else:
            msgs = [{"role": "system", "content": system}, {"role": "user", "content": text(i)}]
            r = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            assert r.choices[0].message.content.endswith(f"q-{workload}{i}")

    pool = ThreadPoolExecutor(8) if workload == "D" else None
    loop = asyncio.new_event_loop() if workload == "C" else None
    size = BATCH.get(workload, 1)

    def batch(start: int) -> None:
        """One unit of a pair: a call (A, B) or a batch of concurrent calls (C, D)."""
        if workload in ("A", "B"):
            one(start)
        elif loop is not None:

            async def gather() -> None:
                await asyncio.gather(*(one_async(start + k) for k in range(size)))

            loop.run_until_complete(gather())
        else:
            assert pool is not None
            list(pool.map(one, range(start, start + size)))

    warm = 100 if size == 1 else 4
    for i in range(warm):
        batch(i * size)
    session.flush()
    gc.collect()  # the imports' collector debt, paid before measuring
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
            context.GLOBAL.session = session if recording else None
            t = pc()
            batch(k * size * 2 + (size if recording else 0))
            (on if recording else off).append((pc() - t) / size)
    context.GLOBAL.session = session
    gc.callbacks.remove(on_gc)
    session.flush()
    writer_cpu = time.clock_gettime(clock) - w0
    hilt.uninstrument()
    if pool is not None:
        pool.shutdown()
    if loop is not None:
        loop.run_until_complete(aclient.close())
        loop.close()
    recorded_calls = (warm + pairs) * size
    completions = sum(
        1 for line in log.read_bytes().splitlines() if json.loads(line)["action"] == "completion"
    )
    for f in log.parent.iterdir():
        f.unlink()
    log.parent.rmdir()
    diffs = [a - b for a, b in zip(on, off, strict=True)]
    calls = pairs * size
    return {
        "sdk": sdk,
        "workload": workload,
        "pairs": pairs,
        "plain_median_us": statistics.median(off) * 1e6,
        "added_median_us": statistics.median(diffs) * 1e6,
        "added_mean_us": (statistics.fmean(on) - statistics.fmean(off)) * 1e6,
        "writer_cpu_us": writer_cpu / calls * 1e6,
        "gc_us": gc_time[0] / calls * 1e6,
        "check": "ok" if completions == recorded_calls else f"{completions} of {recorded_calls}",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdks", default="anthropic,openai")
    ap.add_argument("--workloads", default="A,B,C,D")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the pairs")
    ap.add_argument("--quick", action="store_true", help="a fifth of the pairs")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        sdk, wl, pairs = args.worker
        print(json.dumps(measure(sdk, wl, int(pairs))))
        return 0
    scale = 0.2 if args.quick else args.scale
    versions = {}
    for sdk in args.sdks.split(","):
        out = subprocess.run(
            [sys.executable, "-c", f"import {sdk}; print({sdk}.__version__)"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        versions[sdk] = out.stdout.strip()
    print(
        f"Python {platform.python_version()}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + "; in-process transport; per call, µs\n"
    )
    print(
        "| SDK | workload | plain call, median | added, median of pairs "
        "| added, difference of means | writer CPU | GC on the app's threads | log |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for wl in args.workloads.split(","):
        for sdk in args.sdks.split(","):
            pairs = max(4, int(PAIRS[wl] * scale))
            out = subprocess.run(
                [sys.executable, __file__, "--worker", sdk, wl, str(pairs)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {sdk} | {wl} | {r['plain_median_us']:,.0f} | {r['added_median_us']:+,.1f} "
                f"| {r['added_mean_us']:+,.1f} | {r['writer_cpu_us']:,.1f} | {r['gc_us']:,.1f} "
                f"| {r['check']} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
