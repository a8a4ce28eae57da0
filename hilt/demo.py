"""``hilt demo``: real OpenAI and Anthropic SDK calls against embedded local endpoints,
logged by HILT.

No API key and no network: :class:`hilt_openai.testing.FakeOpenAI` and
:class:`hilt_anthropic.testing.FakeAnthropic` answer on 127.0.0.1 with bodies built from
each SDK's own types. The demo makes a plain call, a second turn of the same conversation,
a streamed call, two concurrent async calls, a third turn of that conversation on Claude
(the same conversation id; its prompt answers the OpenAI completion), a streamed Claude
call through ``messages.stream()``, and one call that fails with HTTP 429, then prints the
log it wrote. The Claude calls are made when ``anthropic`` and ``hilt-anthropic`` are
installed (requirements.txt installs both).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

DEFAULT_LOG = "hilt-demo-logs/demo.jsonl"


def _run_calls(base_url: str) -> list[Any]:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="demo-key", max_retries=0)
    history: list[Any] = [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Give me three onboarding tips"},
    ]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=history)
    history += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Now make them shorter"},
    ]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=history)
    history.append({"role": "assistant", "content": second.choices[0].message.content})
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Stream a haiku about logs"}],
        stream=True,
    )
    for _chunk in stream:
        pass

    async def concurrent() -> None:
        aclient = openai.AsyncOpenAI(base_url=base_url, api_key="demo-key")
        await asyncio.gather(
            *(
                aclient.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"Async {i}"}]
                )
                for i in (1, 2)
            )
        )
        await aclient.close()

    asyncio.run(concurrent())
    return history


def _has_claude() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("anthropic", "hilt_anthropic"))


def _run_claude(base_url: str, history: list[Any]) -> None:
    """The conversation's next turn on Claude, then a streamed Claude call."""
    import anthropic

    client = anthropic.Anthropic(base_url=base_url, api_key="demo-key", max_retries=0)
    system, *turns = history
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=300,
        system=system["content"],
        messages=[*turns, {"role": "user", "content": "Say it again, Claude"}],
    )
    with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=300,
        messages=[{"role": "user", "content": "Stream a haiku about Claude"}],
    ) as stream:
        for _text in stream.text_stream:
            pass


def _show(path: Path) -> None:
    width = shutil.get_terminal_size((100, 20)).columns
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        ext = event.get("extensions") or {}
        metrics = event.get("metrics") or {}
        tokens = metrics.get("tokens") or {}
        text = ((event.get("content") or {}).get("text") or "").replace("\n", " ")
        bits = [
            event["timestamp"][11:23],
            event["session_id"],
            f"{event['actor']['type']}:{event['actor']['id']}",
            event["action"],
        ]
        if "status_code" in ext:
            bits.append(str(ext["status_code"]))
        if tokens:
            bits.append(f"{tokens.get('prompt', 0)}+{tokens.get('completion', 0)} tok")
        if metrics.get("cost_usd") is not None:
            bits.append(f"${metrics['cost_usd']:.6f}")
        head = "  ".join(bits) + "  "
        room = max(10, width - len(head))
        print(head + (text[: room - 1] + "…" if len(text) > room else text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hilt demo", description=__doc__)
    parser.add_argument("--file", default=DEFAULT_LOG, help=f"log to write (default {DEFAULT_LOG})")
    args = parser.parse_args(argv)

    import openai

    import hilt
    import hilt_costs
    from hilt_openai.testing import FakeOpenAI

    # The embedded endpoint is a local server, which no price table knows (HILT records
    # "no cost" and why rather than guess); price its models as OpenAI lists them.
    hilt_costs.set_price("gpt-4o-mini", input_per_mtok=0.15, output_per_mtok=0.60)
    hilt_costs.set_price("gpt-4o-2024-08-06", input_per_mtok=2.50, output_per_mtok=10.00)
    hilt_costs.set_price("claude-haiku-4-5-20251001", input_per_mtok=1.00, output_per_mtok=5.00)
    path = Path(args.file)
    if path.exists():
        path.unlink()
    claude = _has_claude()
    with contextlib.ExitStack() as servers:
        server = servers.enter_context(FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}))
        session = hilt.instrument(backend="local", filepath=path, include_usage=True)
        history = _run_calls(server.base_url)
        if claude:
            from hilt_anthropic.testing import FakeAnthropic

            fake_claude = FakeAnthropic(model_map={"claude-haiku-4-5": "claude-haiku-4-5-20251001"})
            _run_claude(servers.enter_context(fake_claude).base_url, history)
        server.fail_next(status=429)
        client = openai.OpenAI(base_url=server.base_url, api_key="demo-key", max_retries=0)
        try:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "This one fails"}]
            )
        except openai.RateLimitError as exc:
            print(f"(the app saw {type(exc).__name__}, as it would without HILT)\n")
        session.flush()
        hilt.uninstrument()
    print(f"HILT wrote {sum(1 for _ in path.open(encoding='utf-8'))} events to {path}:\n")
    _show(path)
    print(f"\nEach line of {path} is one JSON event; see docs/format.md.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
