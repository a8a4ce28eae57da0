"""Conversation threading (deterministic ids, reply_to links between turns) and concurrency
(threads, asyncio tasks): every call logged once, each completion paired with its prompt."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import openai

import hilt
from hilt_openai.testing import FakeOpenAI


def opening(word: str) -> Any:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"hi {word}"}]


def expected_id(system: str, user: str) -> str:
    """The documented id: SHA-256 over the first system and the first user message."""
    return "conv_" + hashlib.sha256(f"{system}\x1f{user}".encode()).hexdigest()[:12]


def converse(client: Any, word: str, turns: int, stream: bool = False) -> None:
    messages = opening(word)
    for turn in range(turns):
        if stream:
            text = "".join(
                c.choices[0].delta.content or ""
                for c in client.chat.completions.create(model="m", messages=messages, stream=True)
            )
        else:
            text = (
                client.chat.completions.create(model="m", messages=messages)
                .choices[0]
                .message.content
            )
        messages = [*messages, {"role": "assistant", "content": text}]
        messages.append({"role": "user", "content": f"turn {turn + 2}"})


def test_every_turn_same_id_and_linked(client: Any, hi: Any, word: str) -> None:
    converse(client, word, 3)
    pairs = hi.calls()
    assert len(pairs) == 3
    ids = {e["session_id"] for pair in pairs for e in pair}
    assert ids == {expected_id("be brief", f"hi {word}")}
    (p1, c1), (p2, c2), (p3, _) = pairs
    assert "reply_to" not in p1["extensions"]
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p3["extensions"]["reply_to"] == c2["event_id"]
    assert [p["content"]["text"] for p, _ in pairs] == [f"hi {word}", "turn 2", "turn 3"]


def test_turn_links_stay_bounded_and_keep_the_newest(client: Any, hi: Any, word: str) -> None:
    from hilt_core.provider import LINKS
    from hilt_core.provider.conversation import LINKS_MAX

    for i in range(LINKS_MAX + 100):  # a long-running app's older completions
        LINKS.remember(("old", i), f"e{i}", "conv_old")
    assert len(LINKS) == LINKS_MAX
    assert LINKS.get(("old", 99)) is None
    assert LINKS.get(("old", LINKS_MAX + 99)) == (f"e{LINKS_MAX + 99}", "conv_old")
    converse(client, word, 2)  # new turns are still linked once the map is full
    (_, c1), (p2, _) = hi.calls()
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert len(LINKS) == LINKS_MAX


def test_streamed_turns_are_linked_too(client: Any, hi: Any, word: str) -> None:
    converse(client, word, 2, stream=True)
    (p1, c1), (p2, _) = hi.calls()
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p2["session_id"] == p1["session_id"]


def test_different_conversations_different_ids(client: Any, hi: Any, word: str) -> None:
    client.chat.completions.create(model="m", messages=opening(word))
    client.chat.completions.create(model="m", messages=opening(word + "x"))
    other_system = [{"role": "system", "content": "be long"}, opening(word)[1]]
    client.chat.completions.create(model="m", messages=other_system)
    ids = [p["session_id"] for p, _ in hi.calls()]
    assert len(set(ids)) == 3


def test_app_conversation_id_wins(client: Any, hi: Any, word: str) -> None:
    with hilt.conversation("my-id"):
        client.chat.completions.create(model="m", messages=opening(word))
        client.responses.create(model="m", input=word)
    with hilt.scope(conversation_id="other-id"):
        client.embeddings.create(model="e", input=word)
    client.chat.completions.create(model="m", messages=opening(word))
    (p1, c1), (p2, c2), (p3, c3), (p4, _) = hi.calls()
    assert {p1["session_id"], c1["session_id"], p2["session_id"], c2["session_id"]} == {"my-id"}
    assert p3["session_id"] == c3["session_id"] == "other-id"
    assert p4["session_id"] == expected_id("be brief", f"hi {word}")


def test_same_id_in_another_thread(client: Any, hi: Any, word: str) -> None:
    first = client.chat.completions.create(model="m", messages=opening(word))
    history = [
        *opening(word),
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "more"},
    ]
    worker = threading.Thread(
        target=lambda: client.chat.completions.create(model="m", messages=history)
    )
    worker.start()
    worker.join()
    (p1, c1), (p2, c2) = hi.calls()
    assert p1["session_id"] == p2["session_id"] == c2["session_id"]
    assert p2["extensions"]["reply_to"] == c1["event_id"]


SCRIPT = """
import sys, openai, hilt
hilt.instrument(filepath=sys.argv[2], providers=["openai"])
client = openai.OpenAI(base_url=sys.argv[1], api_key="k", max_retries=0)
client.chat.completions.create(model="m", messages=[
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": sys.argv[3]},
    {"role": "assistant", "content": "earlier answer"},
    {"role": "user", "content": "next"},
])
hilt.uninstrument()
"""


def test_same_id_in_another_process_and_after_a_restart(
    srv: FakeOpenAI, client: Any, h: Any, tmp_path: Path, word: str
) -> None:
    h.instrument()
    client.chat.completions.create(model="m", messages=opening(word))
    mine = h.events()[0]["session_id"]
    hilt.uninstrument()
    h.path = tmp_path / "after-restart.jsonl"
    h.instrument()
    client.chat.completions.create(model="m", messages=opening(word))
    assert {e["session_id"] for e in h.events()} == {mine}
    other = tmp_path / "other-process.jsonl"
    subprocess.run(
        [sys.executable, "-c", SCRIPT, srv.base_url, str(other), f"hi {word}"],
        check=True,
        timeout=60,
        capture_output=True,
    )
    theirs = [json.loads(line) for line in other.read_text().splitlines()]
    assert len(theirs) == 2
    assert {e["session_id"] for e in theirs} == {mine}


def test_eight_threads(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    calls = 12
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(calls):
                messages = [{"role": "user", "content": f"{word} t{t} c{i}"}]
                if i % 3 == 0:
                    stream = client.chat.completions.create(
                        model="m", messages=messages, stream=True
                    )
                    for _ in stream:
                        pass
                elif i % 3 == 1:
                    client.chat.completions.create(model="m", messages=messages)
                else:
                    client.responses.create(model="m", input=f"{word} t{t} c{i}")
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors
    pairs = hi.calls()
    assert len(pairs) == 8 * calls
    assert len(hi.events()) == 2 * 8 * calls
    seen = set()
    for prompt, done in pairs:
        assert done["action"] == "completion"
        assert done["content"]["text"] == "Echo: " + prompt["content"]["text"]
        assert done["session_id"] == prompt["session_id"]
        seen.add(prompt["content"]["text"])
    assert len(seen) == 8 * calls


def test_fifty_asyncio_tasks(srv: FakeOpenAI, hi: Any, word: str) -> None:
    async def one(c: Any, i: int) -> str:
        messages = [{"role": "user", "content": f"{word} task {i}"}]
        if i % 2:
            stream = await c.chat.completions.create(model="m", messages=messages, stream=True)
            return "".join([ch.choices[0].delta.content or "" async for ch in stream])
        r = await c.chat.completions.create(model="m", messages=messages)
        return r.choices[0].message.content or ""

    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            with hilt.scope(tags=["async"]):
                return await asyncio.gather(*(one(c, i) for i in range(50)))

    texts = asyncio.run(run())
    assert texts == [f"Echo: {word} task {i}" for i in range(50)]
    pairs = hi.calls()
    assert len(pairs) == 50
    for prompt, done in pairs:
        assert done["content"]["text"] == "Echo: " + prompt["content"]["text"]
        assert prompt["extensions"]["tags"] == done["extensions"]["tags"] == ["async"]
