"""HILT's added time per google-genai call, measured as benchmarks/alternate.py measures
the OpenAI plugin's.

    python benchmarks/gemini_overhead.py                 # workloads A and B
    python benchmarks/gemini_overhead.py --workloads A --calls 4000

The SDK talks to an in-process endpoint (an httpx2/httpx ``MockTransport`` given through
``HttpOptions(client_args={"transport": ...})``): A is one ``generate_content`` call with
a system instruction, B one ``generate_content_stream`` of 21 chunks, every chunk carrying
the usage so far as Gemini's do. Calls alternate, in random order within each pair,
between HILT recording and HILT switched off for that call (no session: the patch calls
the SDK untouched); the columns are alternate.py's (median of the paired differences,
difference of the means, the writer thread's CPU per recorded call, the time the app's
thread spent in the garbage collector per recorded call, the plain call's median). The
log is checked to hold every recorded call.
"""

from __future__ import annotations

import argparse
import gc
import importlib
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

PIECES = ["Sure", ",", " here", " is", " a", " short", " answer", " for", " you", ":"] + [
    f" w{i}" for i in range(11)
]  # 21 chunks


def _usage(candidates: int) -> dict[str, int]:
    return {
        "promptTokenCount": 24,
        "candidatesTokenCount": candidates,
        "totalTokenCount": 24 + candidates,
    }


def _response(text: str, usage: dict[str, int], finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "bench-response-id",
    }


def transport() -> Any:
    """A MockTransport of the HTTP library the installed SDK uses."""
    from google.genai import _api_client

    name = "httpx2" if getattr(_api_client, "httpx2", None) is not None else "httpx"
    httpx = importlib.import_module(name)

    def handle(request: Any) -> Any:
        body = json.loads(request.content)
        marker = body["contents"][-1]["parts"][0]["text"].rsplit(" ", 1)[-1]
        if ":streamGenerateContent" in request.url.path:
            events = []
            for i, piece in enumerate(PIECES):
                last = i == len(PIECES) - 1
                data = _response(piece, _usage(i + 1), "STOP" if last else None)
                events.append(f"data: {json.dumps(data)}\r\n\r\n")
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content="".join(events)
            )
        data = _response("Sure, here is an answer for " + marker, _usage(7), "STOP")
        return httpx.Response(200, json=data)

    return httpx.MockTransport(handle)


def measure(workload: str, pairs: int, plain_gc: bool = False) -> dict[str, Any]:
    from google import genai
    from google.genai import types

    import hilt
    from hilt_core import context

    logging.getLogger("hilt").setLevel(logging.ERROR)
    log = Path(tempfile.mkdtemp(prefix="hilt-gemini-")) / "gemini.jsonl"
    session = hilt.instrument(backend="local", filepath=log, providers=["gemini"])
    client = genai.Client(
        api_key="k",
        http_options=types.HttpOptions(
            base_url="http://bench.invalid", client_args={"transport": transport()}
        ),
    )
    config = types.GenerateContentConfig(system_instruction="You are a benchmark.")

    def one(i: int) -> None:
        text = f"Say something short, please. q-{workload}{i}"
        if workload == "B":
            stream = client.models.generate_content_stream(
                model="gemini-2.5-flash", contents=text, config=config
            )
            assert sum(1 for _ in stream) == len(PIECES)
        else:
            r = client.models.generate_content(
                model="gemini-2.5-flash", contents=text, config=config
            )
            assert r.text is not None
            assert r.text.endswith(f"q-{workload}{i}")

    warm = 100
    for i in range(warm):
        one(i)
    session.flush()
    gc.collect()  # pay the imports' collector debt now (see alternate.py)
    writer = session._pipeline._thread
    assert writer is not None
    assert writer.ident is not None
    clock = time.pthread_getcpuclockid(writer.ident)
    app = threading.get_ident()
    gc_time = [0.0, 0.0]

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
    from google.genai import version

    print(f"google-genai {version.__version__}, Python {sys.version.split()[0]}")
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
