"""What a prompt event carries: the new input of this turn, with roles, text and non-text
parts described (never their payload); ``capture_request=True`` adds the whole request."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hilt_openai.testing import FakeOpenAI

PAYLOAD = base64.b64encode(b"\x89PNG" + b"secret-pixels" * 40).decode()


def test_only_the_new_turn_is_recorded(client: Any, hi: Any, word: str) -> None:
    history = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": f"old question {word}"},
        {"role": "assistant", "content": "old answer"},
        {"role": "user", "content": "new question"},
    ]
    client.chat.completions.create(model="m", messages=history)
    prompt, _ = hi.one()
    assert prompt["content"] == {"text": "new question"}
    line = hi.lines()[0]
    assert "old question" not in line
    assert "be brief" not in line


def test_several_new_messages_keep_their_roles(client: Any, hi: Any, word: str) -> None:
    client.chat.completions.create(
        model="m",
        messages=[
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": f"hello {word}", "name": "ann"},
        ],
    )
    prompt, _ = hi.one()
    assert prompt["content"]["text"] == f"hello {word}"
    assert prompt["content"]["messages"] == [
        {"role": "developer", "text": "be brief"},
        {"role": "user", "text": f"hello {word}", "name": "ann"},
    ]


def test_multimodal_parts_described_without_payload(client: Any, hi: Any, word: str) -> None:
    content = [
        {"type": "text", "text": f"what is this {word}"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PAYLOAD}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": PAYLOAD, "format": "wav"}},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{PAYLOAD}"},
        },
    ]
    got = client.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])
    assert got.choices[0].message.content == f"Echo: what is this {word}"
    prompt, done = hi.one()
    assert done["action"] == "completion"
    assert prompt["content"]["text"] == f"what is this {word}"
    (message,) = prompt["content"]["messages"]
    assert message["parts"] == [
        {"type": "image_url", "url": "data:image/png;base64"},
        {"type": "image_url", "url": "https://example.com/cat.png"},
        {"type": "input_audio"},
        {"type": "file", "file": "a.pdf"},
    ]
    text = "\n".join(hi.lines())
    assert PAYLOAD[:40] not in text
    assert "secret" not in text


def test_tool_results_are_the_new_turn(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }
    history: list[Any] = [{"role": "user", "content": f"use tool {word}"}]
    first = client.chat.completions.create(model="m", messages=history, tools=[tool])
    call = (first.choices[0].message.tool_calls or [])[0]
    history.append(first.choices[0].message)  # the SDK object, as apps append it
    history.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"})
    history.append(
        {"role": "tool", "tool_call_id": "other", "content": [{"type": "text", "text": "42"}]}
    )
    client.chat.completions.create(model="m", messages=history, tools=[tool])
    (p1, c1), (p2, _) = hi.calls()
    assert p2["session_id"] == p1["session_id"]
    assert p2["extensions"]["reply_to"] == c1["event_id"]  # answers the tool-call completion
    assert p2["content"]["messages"] == [
        {"role": "tool", "text": "sunny, 21 C", "tool_call_id": call.id},
        {"role": "tool", "text": "42", "tool_call_id": "other"},
    ]
    assert p2["content"]["text"] == "sunny, 21 C\n42"


def test_a_single_tool_result_keeps_its_role(client: Any, hi: Any, word: str) -> None:
    client.chat.completions.create(
        model="m",
        messages=[
            {"role": "user", "content": f"weather {word}"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
    )
    prompt, _ = hi.one()
    assert prompt["content"]["text"] == "sunny"
    assert prompt["content"]["messages"] == [
        {"role": "tool", "text": "sunny", "tool_call_id": "c1"}
    ]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": []}],
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
        [{"role": "user", "content": ["bare", "strings"]}],
        [{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}],
        [{"role": "user", "content": [{"type": "mystery", "blob": PAYLOAD}]}],
        [{"role": "function", "name": "f", "content": "legacy function result"}],
        [{"role": "assistant", "content": "only an assistant"}],
        [{"role": "user", "content": "x", "audio": {"id": "a"}}, {"role": "user"}],
    ],
    ids=[
        "empty",
        "image-only",
        "strings",
        "refusal",
        "unknown-part",
        "function",
        "assistant",
        "odd",
    ],
)
def test_odd_messages_never_break_capture(client: Any, hi: Any, messages: Any) -> None:
    client.chat.completions.create(model="m", messages=messages)
    prompt, done = hi.one()
    assert done["action"] == "completion"
    assert prompt["session_id"].startswith("conv_")
    assert PAYLOAD[:40] not in "\n".join(hi.lines())


def test_responses_multimodal_input(client: Any, hi: Any, word: str) -> None:
    client.responses.create(
        model="m",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": f"see {word}"},
                    {"type": "input_image", "image_url": f"data:image/jpeg;base64,{PAYLOAD}"},
                    {"type": "input_file", "filename": "b.pdf", "file_data": PAYLOAD},
                ],
            }
        ],
    )
    prompt, done = hi.one()
    assert done["action"] == "completion"
    assert prompt["content"]["text"] == f"see {word}"
    assert prompt["content"]["messages"][0]["parts"] == [
        {"type": "input_image", "url": "data:image/jpeg;base64"},
        {"type": "input_file", "file": "b.pdf"},
    ]
    assert PAYLOAD[:40] not in "\n".join(hi.lines())


def test_responses_function_call_output(client: Any, hi: Any, word: str) -> None:
    client.responses.create(
        model="m",
        input=[
            {"role": "user", "content": f"weather {word}"},
            {"type": "function_call", "call_id": "c9", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c9", "output": "rainy"},
        ],
    )
    prompt, done = hi.one()
    assert done["action"] == "completion"
    assert prompt["content"]["messages"] == [
        {"role": "function_call_output", "text": "rainy", "tool_call_id": "c9"}
    ]


def test_capture_request_records_the_full_request(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    h.instrument(capture_request=True)
    history = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": f"old {word}"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "new"},
    ]
    client.chat.completions.create(model="m", messages=history, temperature=0.5, seed=7)
    prompt, _ = h.one()
    assert prompt["content"]["text"] == "new"
    assert prompt["content"]["request"] == srv.last_request.body
    assert prompt["content"]["request"]["messages"] == history


def test_request_not_recorded_by_default(client: Any, hi: Any, word: str) -> None:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": word}])
    prompt, _ = hi.one()
    assert "request" not in prompt["content"]
