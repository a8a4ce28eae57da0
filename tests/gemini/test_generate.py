"""generate_content on every surface and both API flavours: what the app sees is
unchanged, and each call writes a prompt and a completion with what the issue asks for
(new input and system instruction, parts described, the model asked for and the model
that answered, finish reason, thoughts, tokens in HILT's meaning, timing, status)."""

from __future__ import annotations

import asyncio
import base64
import gc
from typing import Any

import pytest
from google import genai
from google.genai import types

from hilt_core.provider import Call
from hilt_gemini.testing import FakeGemini, Reply

from .conftest import MODEL, Harness, same


def test_the_app_sees_the_same_response(h: Harness, any_client: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="be brief", temperature=0.1)
    plain = any_client.models.generate_content(model=MODEL, contents="same", config=config)
    h.instrument()
    got = any_client.models.generate_content(model=MODEL, contents="same", config=config)
    same(plain, got)


def test_one_call_one_linked_pair_with_its_fields(
    hi: Harness, any_client: genai.Client, srv: FakeGemini
) -> None:
    vertex = bool(any_client.vertexai)
    any_client.models.generate_content(
        model=MODEL,
        contents="hello there",
        config=types.GenerateContentConfig(system_instruction="be brief"),
    )
    prompt, done = hi.one()
    assert prompt["content"]["text"] == "hello there"
    assert prompt["content"]["messages"] == [
        {"role": "system", "text": "be brief"},
        {"role": "user", "text": "hello there"},
    ]
    ext = done["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert done["session_id"] == prompt["session_id"]
    assert done["actor"] == {"type": "agent", "id": "gemini"}
    assert prompt["extensions"]["provider"] == ext["provider"]
    assert ext["provider"] == ("gcp.vertex_ai" if vertex else "gcp.gen_ai")
    assert ext["endpoint"] == f"127.0.0.1:{srv.port}"
    assert ext["api"] == "generate_content"
    # The model asked for and the model that answered, under the OpenAI plugin's keys.
    assert prompt["extensions"]["model"] == MODEL
    assert ext["request_model"] == MODEL
    assert ext["model"] == "gemini-2.5-flash-001"
    assert ext["finish_reason"] == "STOP"
    assert ext["response_id"]
    assert ext["status_code"] == 200
    assert ext["attempts"] == 1
    assert ext["stream"] is False
    assert done["content"] == {"text": "Echo: hello there"}
    assert done["metrics"]["tokens"] == {"prompt": 4, "completion": 3, "total": 7}
    assert done["metrics"]["latency_ms"] > 0


def test_a_call_leaves_nothing_made_for_it_but_the_body_text(
    hi: Harness, client: genai.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Until the writer builds the completion, what the call keeps for it (its ``parts``)
    # holds the response's JSON text and objects every call shares, nothing made for this
    # call alone: a closure (a function, its cells) would be five objects more towards the
    # application's next garbage collection (docs/performance.md, "Objects in flight").
    kept: list[Any] = []
    completion = Call.completion

    def seen(call: Call, *args: Any, **kwargs: Any) -> None:
        kept.append(kwargs.get("parts"))
        completion(call, *args, **kwargs)

    monkeypatch.setattr(Call, "completion", seen)
    for contents in ("one", "two"):
        client.models.generate_content(model=MODEL, contents=contents)
    first, second = kept
    assert callable(first)
    shared = gc.get_referents(second)
    for value in gc.get_referents(first):
        assert type(value) in (str, bytes) or any(value is v for v in shared), value
    (_, one), (_, two) = hi.calls()
    assert one["content"]["text"] == "Echo: one"
    assert two["content"]["text"] == "Echo: two"


def test_a_client_made_after_instrument_is_recorded(hi: Harness, srv: FakeGemini) -> None:
    late = srv.client()
    late.models.generate_content(model=MODEL, contents="late")
    prompt, done = hi.one()
    assert prompt["content"]["text"] == "late"
    assert done["content"]["text"] == "Echo: late"


def test_the_model_prefixes_are_not_part_of_the_model(hi: Harness, client: genai.Client) -> None:
    client.models.generate_content(model=f"models/{MODEL}", contents="prefixed")
    prompt, _ = hi.one()
    assert prompt["extensions"]["model"] == MODEL


def test_tokens_in_hilt_semantics(hi: Harness, client: genai.Client, srv: FakeGemini) -> None:
    # Gemini: promptTokenCount includes the cached tokens; candidates exclude thoughts;
    # the tool-use prompt is beside the prompt. total = prompt + candidates + tool + thoughts.
    usage = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 600,
        "candidatesTokenCount": 50,
        "thoughtsTokenCount": 200,
        "toolUsePromptTokenCount": 30,
        "totalTokenCount": 1280,
    }
    srv.script(Reply(text="ok", usage=usage))
    client.models.generate_content(model=MODEL, contents="count")
    _, done = hi.one()
    assert done["metrics"]["tokens"] == {
        "prompt": 1030,
        "completion": 250,
        "total": 1280,
        "cached": 600,
        "reasoning": 200,
    }


def test_thought_parts_are_recorded_as_reasoning(
    hi: Harness, client: genai.Client, srv: FakeGemini
) -> None:
    srv.script(Reply(text="forty-two", thought="Let me think about the question."))
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True)
    )
    r = client.models.generate_content(model=MODEL, contents="why", config=config)
    assert r.text == "forty-two"  # the SDK leaves thoughts out of .text; so does HILT's
    _, done = hi.one()
    assert done["content"] == {
        "text": "forty-two",
        "reasoning": "Let me think about the question.",
    }
    assert done["metrics"]["tokens"]["reasoning"] == 6


def test_parts_are_described_without_their_payload(hi: Harness, client: genai.Client) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    contents = [
        types.Part.from_text(text="what is in this picture?"),
        types.Part.from_bytes(data=png, mime_type="image/png"),
        types.Part.from_uri(file_uri="gs://bucket/doc.pdf", mime_type="application/pdf"),
    ]
    client.models.generate_content(model=MODEL, contents=contents)
    prompt, _ = hi.one()
    assert prompt["content"]["text"] == "what is in this picture?"
    (message,) = prompt["content"]["messages"]
    assert message["parts"] == [
        {"type": "inline_data", "mime_type": "image/png", "bytes": len(png)},
        {"type": "file_data", "mime_type": "application/pdf", "uri": "gs://bucket/doc.pdf"},
    ]
    assert base64.b64encode(png).decode()[:20] not in hi.path.read_text(encoding="utf-8")


def test_function_calls_and_responses_sent_by_the_app(
    hi: Harness, client: genai.Client, srv: FakeGemini
) -> None:
    fn = types.FunctionDeclaration(
        name="lookup",
        description="Look a word up.",
        parameters=types.Schema(
            type=types.Type.OBJECT, properties={"word": types.Schema(type=types.Type.STRING)}
        ),
    )
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[fn])])
    first = client.models.generate_content(model=MODEL, contents="use tool now", config=config)
    assert first.function_calls
    call = first.function_calls[0]
    history: list[Any] = [
        types.Content(role="user", parts=[types.Part.from_text(text="use tool now")]),
        first.candidates[0].content,
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="lookup", response={"def": "a"})],
        ),
    ]
    client.models.generate_content(model=MODEL, contents=history, config=config)
    (p1, c1), (p2, c2) = hi.calls()
    assert c1["content"]["tool_calls"] == [
        {"id": call.id, "name": "lookup", "arguments": '{"word": "x"}'}
    ]
    assert c1["extensions"]["tool_calls"] == 1
    assert p2["content"]["messages"] == [{"role": "tool", "name": "lookup", "text": '{"def": "a"}'}]
    assert p2["extensions"]["reply_to"] == c1["event_id"]  # the exchange reads as one
    assert p2["session_id"] == p1["session_id"] == c2["session_id"]


def test_a_safety_stop_without_text(hi: Harness, client: genai.Client, srv: FakeGemini) -> None:
    srv.script(Reply(text=None, finish_reason="SAFETY"))
    r = client.models.generate_content(model=MODEL, contents="something")
    assert r.text is None
    _, done = hi.one()
    assert done["extensions"]["finish_reason"] == "SAFETY"
    assert not done["content"].get("text")


def test_async_generate_content(h: Harness, srv: FakeGemini, any_client: genai.Client) -> None:
    vertexai = bool(any_client.vertexai)

    async def ask() -> Any:
        client = srv.client(vertexai=vertexai)  # one per event loop (google-genai < 2.2x)
        return await client.aio.models.generate_content(model=MODEL, contents="async one")

    plain = asyncio.run(ask())
    h.instrument()
    got = asyncio.run(ask())
    same(plain, got)
    prompt, done = h.one()
    assert prompt["content"]["text"] == "async one"
    assert done["content"]["text"] == "Echo: async one"
    assert done["extensions"]["status_code"] == 200


@pytest.mark.parametrize("capture", ["hash", "metadata"])
def test_capture_modes_keep_the_labels(h: Harness, client: genai.Client, capture: str) -> None:
    h.instrument(capture=capture)
    client.models.generate_content(model=MODEL, contents="private words")
    _, done = h.one()
    assert "private words" not in h.path.read_text(encoding="utf-8")
    assert done["extensions"]["provider"] == "gcp.gen_ai"
    assert done["extensions"]["model"] == "gemini-2.5-flash-001"
    assert done["metrics"]["tokens"]["total"] == 5


def test_capture_request_writes_the_body(h: Harness, client: genai.Client) -> None:
    h.instrument(capture_request=True)
    client.models.generate_content(model=MODEL, contents="whole body")
    prompt, _ = h.one()
    assert prompt["content"]["request"]["contents"] == [
        {"parts": [{"text": "whole body"}], "role": "user"}
    ]
