"""Objects HILT holds per call until its writer runs, and the collections they cause.

    python benchmarks/in_flight.py                # workloads A (plain) and B (stream)
    python benchmarks/in_flight.py --calls 6000
    python benchmarks/in_flight.py --sdk anthropic   # or gemini (default: openai)

Counts, not timings, so they hold on a noisy machine:
- objects in flight: the garbage-collector-tracked objects one call leaves alive while
  the writer sleeps (the writer is held back, 20 calls are made, and the youngest
  generation is counted, by type);
- collections per 1,000 calls with the writer running as usual, for HILT and for the
  plain SDK. CPython collects generation 0 after 700 net allocations of tracked objects;
  the writer wakes every 128 queued events (64 calls), so a call that holds more than
  about ten such objects makes the application's collector run every few calls, and
  promotes HILT's objects towards the full collections the application pays for (60-150
  ms each with openai and pydantic loaded). See docs/performance.md, "Objects in flight".
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hilt


def client_of(sdk: str) -> tuple[Any, str]:
    """A client of ``sdk`` on the benchmarks' in-process endpoint, and its version line."""
    if sdk == "anthropic":
        import _mock_anthropic
        import anthropic

        http = anthropic.DefaultHttpxClient(transport=_mock_anthropic.transport())
        client = anthropic.Anthropic(api_key="k", base_url="http://bench.invalid", http_client=http)
        return client, f"anthropic {anthropic.__version__}"
    if sdk == "gemini":
        import gemini_overhead
        from google import genai
        from google.genai import types, version

        options = types.HttpOptions(
            base_url="http://bench.invalid",
            client_args={"transport": gemini_overhead.transport()},
        )
        return genai.Client(api_key="k", http_options=options), (
            f"google-genai {version.__version__}"
        )
    import _mock
    import openai

    client = openai.OpenAI(
        api_key="sk-bench",
        base_url="http://bench.invalid/v1",
        http_client=openai.DefaultHttpxClient(transport=_mock.transport()),
    )
    return client, f"openai {openai.__version__}"


def make_call(client: Any, stream: bool, sdk: str = "openai") -> Any:
    if sdk == "anthropic":
        return _anthropic_call(client, stream)
    if sdk == "gemini":
        return _gemini_call(client, stream)

    def one(i: int) -> None:
        messages = [{"role": "user", "content": f"hello {i}"}]
        if stream:
            chunks = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            for _ in chunks:
                pass
        else:
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    return one


def _anthropic_call(client: Any, stream: bool) -> Any:
    def one(i: int) -> None:
        messages = [{"role": "user", "content": f"hello {i}"}]
        if stream:
            for _ in client.messages.create(
                model="claude-haiku-4-5", max_tokens=100, messages=messages, stream=True
            ):
                pass
        else:
            client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=messages)

    return one


def _gemini_call(client: Any, stream: bool) -> Any:
    def one(i: int) -> None:
        text = f"hello {i}"
        if stream:
            for _ in client.models.generate_content_stream(model="gemini-2.5-flash", contents=text):
                pass
        else:
            client.models.generate_content(model="gemini-2.5-flash", contents=text)

    return one


def collections_per_1000(one: Any, calls: int) -> tuple[float, float, float]:
    """(gen-0, gen-1, gen-2 collections) per 1,000 calls."""
    counts: collections.Counter[int] = collections.Counter()

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            counts[info["generation"]] += 1

    for i in range(200):  # warm up
        one(i)
    gc.callbacks.append(seen)
    try:
        for i in range(calls):
            one(i)
    finally:
        gc.callbacks.remove(seen)
    return tuple(counts[g] * 1000 / calls for g in range(3))  # type: ignore[return-value]


def in_flight(session: Any, one: Any) -> tuple[float, list[tuple[str, float]]]:
    pipeline = session._pipeline
    for i in range(100):  # warm up: HILT's own first-call caches are not per call
        one(i)
    session.flush()
    wake_at, pipeline._wake_at = pipeline._wake_at, 10**9
    catch_up, pipeline._catch_up_at = pipeline._catch_up_at, 10**9
    interval, pipeline.flush_interval = pipeline.flush_interval, 10**9
    time.sleep(0.3)  # the writer goes back to its (now endless) wait
    gc.collect()
    gc.disable()
    try:
        for i in range(20):
            one(i)
        young = gc.get_objects(generation=0)
    finally:
        gc.enable()
        pipeline._wake_at, pipeline._catch_up_at = wake_at, catch_up
        pipeline.flush_interval = interval
        pipeline._wake.set()
        session.flush()
    kinds = collections.Counter(type(o).__qualname__ for o in young)
    return len(young) / 20, [(k, n / 20) for k, n in kinds.most_common(12)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--workloads", default="A,B")
    ap.add_argument("--sdk", choices=("openai", "anthropic", "gemini"), default="openai")
    args = ap.parse_args()
    client, version = client_of(args.sdk)
    print(f"{version}, {args.calls} calls per count")
    for workload in args.workloads.split(","):
        one = make_call(client, workload == "B", args.sdk)
        plain = collections_per_1000(one, args.calls)
        with tempfile.TemporaryDirectory() as tmp:
            session = hilt.instrument(
                backend="jsonl", filepath=str(Path(tmp) / "log.jsonl"), providers=[args.sdk]
            )
            try:
                per_call, kinds = in_flight(session, one)
                with_hilt = collections_per_1000(one, args.calls)
            finally:
                hilt.uninstrument()
        print(f"\n{workload}: objects in flight per call: {per_call:.1f}")
        print("   by type: " + ", ".join(f"{k} {n:.1f}" for k, n in kinds))
        print("   collections per 1000 calls (gen 0 / 1 / 2):")
        print("     plain SDK  " + " / ".join(f"{x:.1f}" for x in plain))
        print("     with HILT  " + " / ".join(f"{x:.1f}" for x in with_hilt))


if __name__ == "__main__":
    main()
