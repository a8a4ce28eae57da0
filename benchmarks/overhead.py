"""Per-call overhead of HILT on the real openai SDK, paired with the plain SDK in one run.

    python benchmarks/overhead.py                # A-D, 5 rounds, markdown on stdout
    python benchmarks/overhead.py --quick        # 1 round, fewer calls
    python benchmarks/overhead.py --workloads A --rounds 9

Workloads (the same as ../shared/bench, measured by our own harness):
  A  sync chat.completions.create, sequential
  B  sync stream=True with include_usage, 21 chunks, consumed fully
  C  AsyncOpenAI, 50 concurrent tasks on one client
  D  8 threads doing sync calls on one shared client

Each cell (mode x workload x round) runs in a fresh process: import, set up, warm up,
measure, flush. Modes are interleaved within each round so pairs are measured close in
time. Reported: median and p99 per-call latency, wall time per call (inverse throughput for
C and D), process CPU per call including HILT's writer thread and the final flush, RSS growth
over the measured calls, log bytes per call, and a check that the log holds every call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CALLS = {"A": 2000, "B": 400, "C": 2000, "D": 2000}
WARMUP = {"A": 100, "B": 40, "C": 100, "D": 100}


def _rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def worker(mode: str, workload: str, calls: int, warmup: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import _mock
    import openai

    log = Path(tempfile.mkdtemp(prefix="hilt-bench-")) / "log.jsonl"
    session = None
    if mode == "hilt":
        import hilt

        session = hilt.instrument(backend="local", filepath=log)
    is_async = workload == "C"
    if is_async:
        aclient = openai.AsyncOpenAI(
            api_key="k",
            base_url="http://bench.invalid/v1",
            http_client=openai.DefaultAsyncHttpxClient(transport=_mock.transport(True)),
        )
    else:
        client = openai.OpenAI(
            api_key="k",
            base_url="http://bench.invalid/v1",
            http_client=openai.DefaultHttpxClient(transport=_mock.transport()),
        )

    def msg(i: int) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": "You are a benchmark."},
            {"role": "user", "content": f"Say something short, please. q-{workload}{i}"},
        ]

    def one_sync(i: int) -> float:
        t = time.perf_counter()
        if workload == "B":
            s = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=msg(i),
                stream=True,
                stream_options={"include_usage": True},
            )
            n = sum(1 for _ in s)
            assert n == 21, n
        else:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=msg(i))
            assert r.choices[0].message.content.endswith(f"q-{workload}{i}")
        return time.perf_counter() - t

    async def one_async(i: int) -> float:
        t = time.perf_counter()
        r = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msg(i))
        assert r.choices[0].message.content.endswith(f"q-{workload}{i}")
        return time.perf_counter() - t

    def run(start: int, n: int) -> list[float]:
        if workload in ("A", "B"):
            return [one_sync(i) for i in range(start, start + n)]
        if workload == "C":

            async def main() -> list[float]:
                sem = asyncio.Semaphore(50)

                async def task(i: int) -> float:
                    async with sem:
                        return await one_async(i)

                return list(await asyncio.gather(*(task(i) for i in range(start, start + n))))

            return asyncio.run(main())
        out: list[float] = []
        lock = threading.Lock()
        per = n // 8

        def work(k: int) -> None:
            lat = [one_sync(i) for i in range(start + k * per, start + (k + 1) * per)]
            with lock:
                out.extend(lat)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    run(0, warmup)
    if session is not None:
        session.flush()
    rss0 = _rss_kib()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    lat = run(warmup, calls)
    wall = time.perf_counter() - t0
    if session is not None:
        session.flush()
    cpu = time.process_time() - cpu0
    rss1 = _rss_kib()
    result: dict[str, Any] = {
        "wall_us": wall / calls * 1e6,
        "cpu_us": cpu / calls * 1e6,
        "median_us": statistics.median(lat) * 1e6,
        "p99_us": sorted(lat)[int(len(lat) * 0.99) - 1] * 1e6,
        "rss_growth_kib": rss1 - rss0,
        "rss_kib": rss1,
    }
    if mode == "hilt":
        import hilt

        hilt.uninstrument()
        lines = log.read_bytes().splitlines()
        result["bytes_per_call"] = log.stat().st_size / (calls + warmup)
        prompts = completions = 0
        for line in lines:
            event = json.loads(line)
            text = (event.get("content") or {}).get("text") or ""
            if event["action"] == "prompt" and f"q-{workload}" in text:
                prompts += 1
            elif event["action"] == "completion" and f"reply-q-{workload}" in text:
                completions += 1
        total = calls + warmup
        result["check"] = (
            "ok"
            if prompts == completions == total and len(lines) == 2 * total
            else f"INCOMPLETE: {prompts} prompts, {completions} completions of {total}"
        )
        result["log_dir"] = str(log.parent)
    return result


def cell(mode: str, workload: str, scale: float) -> dict[str, Any]:
    calls = max(8, int(CALLS[workload] * scale) // 8 * 8)
    warm = max(8, int(WARMUP[workload] * scale) // 8 * 8)
    out = subprocess.run(
        [sys.executable, __file__, "--worker", mode, workload, str(calls), str(warm)],
        check=True,
        capture_output=True,
        text=True,
    )
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if "log_dir" in res:
        for f in Path(res["log_dir"]).iterdir():
            f.unlink()
        Path(res["log_dir"]).rmdir()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="A,B,C,D")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="1 round, 20%% of the calls")
    ap.add_argument("--json", help="also write raw results to this file")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        mode, wl, calls, warm = args.worker
        print(json.dumps(worker(mode, wl, int(calls), int(warm))))
        return 0
    if args.quick:
        args.rounds, args.scale = 1, 0.2
    workloads = args.workloads.split(",")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        w: {"plain": [], "hilt": []} for w in workloads
    }
    for r in range(args.rounds):
        for w in workloads:
            order = ["plain", "hilt"] if r % 2 == 0 else ["hilt", "plain"]
            for mode in order:
                results[w][mode].append(cell(mode, w, args.scale))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    import openai

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    print(
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}, openai {openai.__version__}; {args.rounds} rounds, "
        f"medians; calls per cell: "
        + ", ".join(f"{w} {max(8, int(CALLS[w] * args.scale) // 8 * 8)}" for w in workloads)
        + "\n"
    )
    print(
        "| workload | plain wall µs/call | HILT wall µs/call | Δ wall µs (round range) "
        "| Δ CPU µs/call | median / p99 µs (HILT) | RSS growth KiB | log B/call | check |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for w in workloads:
        plain, hilt_rows = results[w]["plain"], results[w]["hilt"]
        deltas = [h["wall_us"] - p["wall_us"] for p, h in zip(plain, hilt_rows, strict=True)]
        checks = {h["check"] for h in hilt_rows}
        print(
            f"| {w} | {med(plain, 'wall_us'):,.0f} | {med(hilt_rows, 'wall_us'):,.0f} "
            f"| {med(hilt_rows, 'wall_us') - med(plain, 'wall_us'):+,.1f} "
            f"({min(deltas):+,.0f}…{max(deltas):+,.0f}) "
            f"| {med(hilt_rows, 'cpu_us') - med(plain, 'cpu_us'):+,.1f} "
            f"| {med(hilt_rows, 'median_us'):,.0f} / {med(hilt_rows, 'p99_us'):,.0f} "
            f"| {med(hilt_rows, 'rss_growth_kib'):,.0f} "
            f"| {med(hilt_rows, 'bytes_per_call'):,.0f} | {', '.join(sorted(checks))} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
