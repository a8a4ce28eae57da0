"""How long ``hilt report`` takes on a million-event log, and how big the page is.

    python benchmarks/bench_report.py                 # 1,000,000 events
    python benchmarks/bench_report.py --events 200000 --keep /tmp/hilt-bench.jsonl

The log is the one of ``bench_stats.py`` (written by the library's own JSONL writer: half
prompts, half answers, 2% errors, three models, 200 users, ten calls per conversation,
over seven days; ``--keep`` reuses it). Each command runs in a fresh process, timed from
start to exit (the best of ``--repeat`` runs: wall-clock, CPU and peak memory), then the
page is opened in headless Chromium (``--dump-dom``, the browser's start included) when
one is installed. The figures go in docs/cli.md.
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

sys.path.insert(0, str(Path(__file__).parent))

from bench_stats import write_log

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def timed(argv: list[str], repeat: int) -> tuple[float, float, float]:
    """Best wall and CPU seconds of ``argv`` over ``repeat`` runs, and its peak memory
    (MB, the largest run's: os.wait4 gives each child's own figures)."""
    best = (float("inf"), float("inf"))
    peak = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"{argv} exited {proc.returncode}")
        best = min(best, (wall, usage.ru_utime + usage.ru_stime))
        peak = max(peak, usage.ru_maxrss / 1024)
    return best[0], best[1], peak


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", metavar="PATH", help="write the log here and keep it (reused)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command; the best counts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "bench.jsonl"
        if not (args.keep and path.exists()):
            t0 = time.perf_counter()
            write_log(path, args.events)
            print(f"wrote {args.events:,} events in {time.perf_counter() - t0:.1f} s")
        size = path.stat().st_size
        print(f"log: {size / 1e6:,.0f} MB, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        hilt = [sys.executable, "-m", "hilt"]
        runs = [
            ("hilt report FILE -o page.html", [], "page.html"),
            ("hilt report FILE --conversations 2000", ["--conversations", "2000"], "page2k.html"),
            ("hilt report FILE --conversations 0", ["--conversations", "0"], "page0.html"),
            ("hilt stats FILE -j 1 (for comparison)", None, None),
        ]
        chromium = shutil.which("chromium")
        print(f"{'':<42} {'wall':>7} {'CPU':>7} {'peak MB':>8} {'page MB':>8} {'open s':>7}")
        for label, extra, out in runs:
            if extra is None:
                argv = [*hilt, "stats", str(path), "-j", "1"]
            else:
                argv = [*hilt, "report", str(path), "-o", str(Path(tmp) / str(out)), *extra]
            wall, cpu, peak = timed(argv, args.repeat)
            page_mb = opened = float("nan")
            if out is not None:
                page = Path(tmp) / out
                page_mb = page.stat().st_size / 1e6
                if chromium:
                    profile = tempfile.mkdtemp(dir=tmp)
                    t0 = time.perf_counter()
                    subprocess.run(
                        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                         "--dump-dom", page.as_uri()],
                        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    opened = time.perf_counter() - t0
            print(f"{label:<42} {wall:6.1f}s {cpu:6.1f}s {peak:8.0f} {page_mb:8.2f} {opened:7.1f}")


if __name__ == "__main__":
    main()
