"""HILT's added time per call on the anthropic SDK, beside the openai SDK, in one run.

    python benchmarks/anthropic_overhead.py                    # A-D, anthropic and openai
    python benchmarks/anthropic_overhead.py --sdks anthropic --workloads A,B
    python benchmarks/anthropic_overhead.py --quick            # a fifth of the calls

The method of ``_method.py`` (``alternate.py``'s), on an in-process transport
(``_mock_anthropic.py``, ``_mock.py``: no socket, so only the SDK's and HILT's work is
timed). One fresh process per (SDK, workload); one instrumented SDK in it; calls
alternate, in random order within each pair, between HILT recording (the session in
effect) and HILT switched off for that call (no session: the patch calls the SDK
untouched). On a VM whose speed drifts by a factor of two over seconds, calls a
millisecond apart see the same machine, so the median of the paired differences is steady
where separate runs are not.

Workloads (as in ``overhead.py`` and ../shared/bench):
  A  sync messages.create (chat.completions.create), sequential
  B  sync stream=True, 21 events (chunks), consumed fully
  C  async: batches of 50 concurrent calls on one client; a pair is two batches
  D  8 threads sharing one client: batches of 40 calls; a pair is two batches
For C and D a batch's wall time over its calls is the per-call figure (inverse throughput).

Reported per call: the plain call's median; added time (median of paired differences, and
difference of the means); CPU of HILT's writer thread per recorded call and time in the
garbage collector on the app's threads per recorded call, which the pairs cannot attribute
(see _method.py); and a check that the log holds every recorded call.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _method
from _method import Workload

PAIRS = {"A": 3000, "B": 600, "C": 60, "D": 60}
BATCH = {"C": 50, "D": 40}


def _clients(sdk: str) -> tuple[Any, Any]:
    """A sync and an async client of ``sdk``, on the in-process endpoint."""
    if sdk == "anthropic":
        import _mock_anthropic as mock
        import anthropic as module

        sync, aio, base = module.Anthropic, module.AsyncAnthropic, "http://bench.invalid"
    else:
        import _mock as mock
        import openai as module

        sync, aio, base = module.OpenAI, module.AsyncOpenAI, "http://bench.invalid/v1"
    return (
        sync(
            api_key="k",
            base_url=base,
            http_client=module.DefaultHttpxClient(transport=mock.transport()),
        ),
        aio(
            api_key="k",
            base_url=base,
            http_client=module.DefaultAsyncHttpxClient(transport=mock.transport(True)),
        ),
    )


def workload(sdk: str, name: str) -> Workload:
    client, aclient = _clients(sdk)
    system = "You are a benchmark."

    def text(i: int) -> str:
        return f"Say something short, please. q-{name}{i}"

    def one(i: int) -> None:
        if sdk == "anthropic":
            msgs: list[dict[str, str]] = [{"role": "user", "content": text(i)}]
            if name == "B":
                stream = client.messages.create(
                    model="claude-haiku-4-5", max_tokens=100, system=system, messages=msgs,
                    stream=True,
                )  # fmt: skip
                assert sum(1 for _ in stream) == 21
            else:
                r = client.messages.create(
                    model="claude-haiku-4-5", max_tokens=100, system=system, messages=msgs
                )
                assert r.content[0].text.endswith(f"q-{name}{i}")
            return
        msgs = [{"role": "system", "content": system}, {"role": "user", "content": text(i)}]
        if name == "B":
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=msgs, stream=True,
                stream_options={"include_usage": True},
            )  # fmt: skip
            assert sum(1 for _ in stream) == 21
        else:
            r = client.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            assert r.choices[0].message.content.endswith(f"q-{name}{i}")

    async def one_async(i: int) -> None:
        if sdk == "anthropic":
            r = await aclient.messages.create(
                model="claude-haiku-4-5", max_tokens=100, system=system,
                messages=[{"role": "user", "content": text(i)}],
            )  # fmt: skip
            assert r.content[0].text.endswith(f"q-{name}{i}")
        else:
            msgs = [{"role": "system", "content": system}, {"role": "user", "content": text(i)}]
            r = await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs)
            assert r.choices[0].message.content.endswith(f"q-{name}{i}")

    size = BATCH.get(name, 1)
    if name == "C":
        loop = asyncio.new_event_loop()

        def gather(start: int) -> None:
            async def calls() -> None:
                await asyncio.gather(*(one_async(start + k) for k in range(size)))

            loop.run_until_complete(calls())

        def close() -> None:
            loop.run_until_complete(aclient.close())
            loop.close()

        return Workload(gather, size, close)
    if name == "D":
        pool = ThreadPoolExecutor(8)

        def threads(start: int) -> None:
            list(pool.map(one, range(start, start + size)))

        return Workload(threads, size, pool.shutdown)
    return Workload(one)


def measure(sdk: str, name: str, pairs: int) -> dict[str, Any]:
    r = _method.measure(functools.partial(workload, sdk, name), pairs, [sdk])
    return {"sdk": sdk, "workload": name, **r}


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
            print(f"| {sdk} | {wl} | {_method.cells(r)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
