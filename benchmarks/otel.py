"""Writer throughput with the OpenTelemetry backend, and how fast spans reach a collector.

    python benchmarks/otel.py

Each run appends N model calls (a prompt and its completion, as the OpenAI provider
makes them: 2N events) to a fresh session in a fresh interpreter and reports:

- writer: events/s from the first append to ``flush()`` returning, for
  ``backend="jsonl"`` alone and for ``backend=["jsonl", "otel"]``. With the OTLP backend
  ``flush()`` returns once the JSONL file has the events and the spans are handed to the
  export thread (``otel_flush_timeout=0``, the default).
- export: spans/s from the first append until the collector has acknowledged the last
  span (``stats["spans_sent"]``), gzip (the default) and uncompressed.

The collector is a separate process on 127.0.0.1 that reads each request and answers
200 without decoding it, so its CPU is not the benchmark's. Medians of 3 runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

N = 20_000  # calls, 2 events each
RUNS = 3

SINK = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a):
            pass
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def _events(n: int) -> list[object]:
    from hilt_core import Actor, Content, Event, Metrics

    out: list[object] = []
    for i in range(n):
        prompt = Event(
            session_id="conv_0123456789ab",
            actor=Actor(type="human", id="user"),
            action="prompt",
            content=Content(text=f"question {i}"),
            extensions={
                "model": "gpt-4o-mini",
                "provider": "openai",
                "endpoint": "api.openai.com",
                "api": "chat.completions",
            },
        )
        done = Event(
            session_id="conv_0123456789ab",
            actor=Actor(type="agent", id="openai"),
            action="completion",
            content=Content(text=f"answer {i}"),
            metrics=Metrics(
                tokens={"prompt": 10, "completion": 5, "total": 15, "cached": 0, "reasoning": 0},
                latency_ms=412.5,
                cost_usd=0.0000045,
            ),
            extensions={
                "reply_to": prompt.event_id,
                "model": "gpt-4o-mini-2024-07-18",
                "request_model": "gpt-4o-mini",
                "provider": "openai",
                "endpoint": "api.openai.com",
                "api": "chat.completions",
                "status_code": 200,
                "attempts": 1,
                "stream": False,
                "response_id": f"chatcmpl-{i}",
                "finish_reason": "stop",
            },
        )
        out += [prompt, done]
    return out


def one(kind: str, port: int) -> tuple[float, float]:
    """(writer events/s, export spans/s or 0)."""
    import hilt

    path = Path(tempfile.mkdtemp(prefix="hilt-otel-bench-")) / "w.jsonl"
    options: dict[str, object] = {"max_queue": 2 * N + 10}
    if kind == "jsonl":
        session = hilt.Session(path, **options)
    else:
        session = hilt.Session(
            backend=["jsonl", "otel"],
            filepath=path,
            otel_endpoint=f"http://127.0.0.1:{port}/v1/traces",
            otel_compression="none" if kind == "otel-none" else "gzip",
            otel_max_queue=N + 10,
            **options,
        )
    events = _events(N)
    t0 = time.perf_counter()
    for e in events:
        session.append(e)  # type: ignore[arg-type]
    assert session.flush(timeout=120)
    writer = 2 * N / (time.perf_counter() - t0)
    export = 0.0
    if kind != "jsonl":
        otel = session.handle.children[1].handle
        while otel.stats["spans_sent"] < N:
            assert not otel.stats["failing"], otel.stats
            time.sleep(0.005)
        export = N / (time.perf_counter() - t0)
    assert session.close(timeout=60)
    assert sum(1 for _ in path.open("rb")) == 2 * N
    return writer, export


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        writer, export = one(sys.argv[2], int(sys.argv[3]))
        print(writer, export)
        return 0
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        results: dict[str, list[tuple[float, float]]] = {}
        for _ in range(RUNS):
            for kind in ("jsonl", "otel", "otel-none"):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", kind, str(port)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                w, e = (float(x) for x in out.stdout.split())
                results.setdefault(kind, []).append((w, e))
    finally:
        sink.terminate()
        sink.wait(10)
    print(f"{N:,} calls ({2 * N:,} events) per run, median of {RUNS} runs")
    for kind, label in (
        ("jsonl", 'backend="jsonl"'),
        ("otel", 'backend=["jsonl", "otel"], gzip'),
        ("otel-none", 'backend=["jsonl", "otel"], no compression'),
    ):
        ws = [w for w, _ in results[kind]]
        line = f"{label}: writer {statistics.median(ws):,.0f} events/s "
        line += f"(runs: {', '.join(f'{w:,.0f}' for w in ws)})"
        if kind != "jsonl":
            es = [e for _, e in results[kind]]
            line += f"; export {statistics.median(es):,.0f} spans/s "
            line += f"(runs: {', '.join(f'{e:,.0f}' for e in es)})"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
