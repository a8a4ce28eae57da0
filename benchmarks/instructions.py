"""HILT's added work per call, in CPU instructions counted by valgrind (callgrind).

    python benchmarks/instructions.py            # workloads A and B
    python benchmarks/instructions.py --workloads A --calls 200

Wall-clock overhead of a few tens of microseconds drowns in the noise of a shared 2-core
VM (paired rounds there spread over hundreds of microseconds). Instruction counts do not:
callgrind counts every instruction of every thread (HILT's writer included), the same for
the same inputs whatever else the machine does. Each mode runs twice, with a small and a
large number of calls; the difference divided by the extra calls is the per-call cost
without start-up. The ratio HILT / plain, times the plain SDK's measured time per call,
estimates HILT's added time per call on any machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CELL = """
import sys, tempfile, logging
sys.path.insert(0, {here!r})
import _mock, openai
mode, n, wl = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "hilt":
    import hilt
    logging.getLogger("hilt").setLevel(logging.ERROR)
    s = hilt.instrument(backend="local", filepath=tempfile.mkdtemp() + "/cg.jsonl")
client = openai.OpenAI(
    api_key="k", base_url="http://bench.invalid/v1",
    http_client=openai.DefaultHttpxClient(transport=_mock.transport()),
)
def msgs(i):
    return [{{"role": "system", "content": "You are a benchmark."}},
            {{"role": "user", "content": f"Say something short, please. q-{{wl}}{{i}}"}}]
for i in range(n):
    if wl == "B":
        st = client.chat.completions.create(model="gpt-4o-mini", messages=msgs(i),
            stream=True, stream_options={{"include_usage": True}})
        for _ in st:
            pass
    else:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs(i))
if mode == "hilt":
    s.flush()
    hilt.uninstrument()
"""


def count(mode: str, calls: int, workload: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cell.py"
        script.write_text(CELL.format(here=str(HERE)))
        out = subprocess.run(
            [
                "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
                sys.executable, str(script), mode, str(calls), workload,
            ],
            capture_output=True, text=True, check=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        )  # fmt: skip
    m = re.search(r"Collected : (\d+)", out.stderr)
    assert m, out.stderr[-2000:]
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="A,B")
    ap.add_argument("--calls", type=int, default=100, help="extra calls between the two runs")
    args = ap.parse_args()
    print("| workload | plain instructions/call | HILT instructions/call | added | ratio |")
    print("|---|---|---|---|---|")
    for wl in args.workloads.split(","):
        small = 20 if wl == "A" else 10
        per = {}
        for mode in ("plain", "hilt"):
            lo = count(mode, small, wl)
            hi = count(mode, small + args.calls, wl)
            per[mode] = (hi - lo) / args.calls
        added = per["hilt"] - per["plain"]
        print(
            f"| {wl} | {per['plain'] / 1e6:.3f} M | {per['hilt'] / 1e6:.3f} M "
            f"| {added / 1e6:+.3f} M | {per['hilt'] / per['plain']:.3f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
