"""Writer throughput and start-up time.

    python benchmarks/writer.py

Writer: typical completion events (as the OpenAI provider makes them) appended through a
Session's pipeline to a JSONL file, ``flush()`` included, on the enrichers and redactors
installed (the default install prices each event with hilt-costs). Reported as events/s
sustained, median of 5 runs of 200,000 events.

Start-up: ``import hilt`` + ``instrument()`` in a fresh interpreter (openai imported first,
as an application does), median of 7 runs.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N = 200_000


def writer_run() -> float:
    import hilt
    from hilt_core.testing import make_event

    path = Path(tempfile.mkdtemp(prefix="hilt-writer-")) / "w.jsonl"
    session = hilt.Session(path, max_queue=N + 10)
    events = [
        make_event(i, extensions={"reply_to": "p", "model": "gpt-4o-mini", "status_code": 200})
        for i in range(N)
    ]
    t0 = time.perf_counter()
    for e in events:
        session.append(e)
    assert session.flush()
    elapsed = time.perf_counter() - t0
    session.close()
    lines = sum(1 for _ in path.open("rb"))
    assert lines == N, lines
    path.unlink()
    return N / elapsed


STARTUP = """
import time, tempfile
import openai
t = time.perf_counter()
import hilt
hilt.instrument(filepath=tempfile.mkdtemp() + "/s.jsonl")
print((time.perf_counter() - t) * 1000)
"""


def startup_ms() -> float:
    out = subprocess.run(
        [sys.executable, "-c", STARTUP], check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(writer_run())
        return 0
    rates = []
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, __file__, "--one"], check=True, capture_output=True, text=True
        )
        rates.append(float(out.stdout.strip().splitlines()[-1]))
    starts = [startup_ms() for _ in range(7)]
    print(
        f"writer: {statistics.median(rates):,.0f} events/s "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})"
    )
    print(
        f"start-up (import hilt + instrument()): {statistics.median(starts):.1f} ms "
        f"(runs: {', '.join(f'{s:.0f}' for s in starts)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
