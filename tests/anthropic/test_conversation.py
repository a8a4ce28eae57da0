"""One conversation, one id, whether its turns went to OpenAI or to Anthropic (the contract's
rule: the id comes from the system text and the first user text), and the next turn's
prompt links to the completion it follows up, whichever provider wrote it."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from hilt_anthropic.testing import FakeAnthropic
from hilt_core.provider import opening_id
from hilt_openai.testing import FakeOpenAI

from .conftest import MODEL, Harness

SYSTEM = "You are a travel agent."


@pytest.fixture
def oai() -> Any:
    with (
        FakeOpenAI() as server,
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c,
    ):
        yield c


@pytest.mark.parametrize("capture", ["full", "hash"])
def test_openai_then_anthropic(oai: Any, client: Any, h: Harness, word: str, capture: str) -> None:
    h.instrument(providers=["openai", "anthropic"], capture=capture)
    opening = f"Plan a trip to {word}"
    first = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": opening}],
    )
    said = first.choices[0].message.content
    client.messages.create(
        model=MODEL,
        max_tokens=100,
        system=SYSTEM,
        messages=[
            {"role": "user", "content": opening},
            {"role": "assistant", "content": said},
            {"role": "user", "content": "Cheaper, please"},
        ],
    )
    (p1, d1), (p2, d2) = h.calls()
    assert d1["actor"]["id"] == "openai"
    assert d2["actor"]["id"] == "anthropic"
    assert p1["session_id"] == d1["session_id"] == p2["session_id"] == d2["session_id"]
    if capture == "full":
        assert p1["session_id"] == opening_id(SYSTEM, opening)
    assert p2["extensions"]["reply_to"] == d1["event_id"]


def test_anthropic_then_openai(oai: Any, client: Any, h: Harness, word: str) -> None:
    h.instrument(providers=["openai", "anthropic"])
    opening = f"Plan a trip to {word}"
    # system as blocks, the user's text as a text block: the same opening
    first = client.messages.create(
        model=MODEL,
        max_tokens=100,
        system=[{"type": "text", "text": SYSTEM}],
        messages=[{"role": "user", "content": [{"type": "text", "text": opening}]}],
    )
    oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": opening},
            {"role": "assistant", "content": first.content[0].text},
            {"role": "user", "content": "Cheaper, please"},
        ],
    )
    (p1, d1), (p2, _) = h.calls()
    assert d1["actor"]["id"] == "anthropic"
    assert p1["session_id"] == p2["session_id"] == opening_id(SYSTEM, opening)
    assert p2["extensions"]["reply_to"] == d1["event_id"]


def test_a_stream_answer_links_the_next_turn(client: Any, hi: Harness, word: str) -> None:
    history: list[Any] = [{"role": "user", "content": f"Hello {word}"}]
    with client.messages.stream(model=MODEL, max_tokens=100, messages=history) as stream:
        final = stream.get_final_message()
    history += [
        {"role": "assistant", "content": final.content},
        {"role": "user", "content": "And then?"},
    ]
    client.messages.create(model=MODEL, max_tokens=100, messages=history)
    (p1, d1), (p2, _) = hi.calls()
    assert p2["session_id"] == p1["session_id"]
    assert p2["extensions"]["reply_to"] == d1["event_id"]


def test_the_application_sets_the_conversation(client: Any, hi: Harness, word: str) -> None:
    import hilt

    with hilt.conversation(f"ticket-{word}"):
        client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    prompt, done = hi.one()
    assert prompt["session_id"] == done["session_id"] == f"ticket-{word}"


def test_bedrock_and_first_party_share_an_opening(srv: FakeAnthropic, hi: Harness) -> None:
    vertex = anthropic.AnthropicVertex(
        region="us-east5", project_id="p", access_token="t", base_url=srv.vertex_base_url
    )
    messages = [{"role": "user", "content": "same opening"}]
    vertex.messages.create(model="claude-haiku-4-5@20251001", max_tokens=10, messages=messages)
    with anthropic.Anthropic(base_url=srv.base_url, api_key="k") as c:
        c.messages.create(model=MODEL, max_tokens=10, messages=messages)
    (p1, _), (p2, _) = hi.calls()
    assert p1["session_id"] == p2["session_id"] == opening_id("", "same opening")
