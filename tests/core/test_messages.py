"""The provider contract's reading of messages (hilt_core.provider.messages), shared by the
OpenAI provider and the LiteLLM integration (and, for ``get`` and ``content_of_turn``, the
Anthropic provider): the branches their own tests, which drive the real SDKs, do not
reach."""

from __future__ import annotations

import itertools
from collections import UserDict
from types import SimpleNamespace
from typing import Any

from hilt_core.provider import messages as m

CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
SHAPES: list[Any] = [
    {"role": "user", "content": "hello"},
    {"role": "system", "content": "be brief"},
    {"role": "tool", "content": "42"},
    {"role": "user", "content": "hi", "name": "bob"},
    {"content": "no role", "name": "bob"},  # two keys, no role: not the plain shape
    {"content": "no role", "type": "message"},
    {"role": "", "content": "empty role"},
    {"role": "user", "content": [{"type": "text", "text": "a"}, "b"]},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"type": "function_call_output", "call_id": "c9", "output": "rainy"},
    SimpleNamespace(role="user", content="an object"),
]


def test_get_reads_dicts_mappings_and_objects() -> None:
    assert m.get({"a": 1}, "a") == 1
    assert m.get(UserDict(a=2), "a") == 2  # a Mapping that is not a dict
    assert UserDict not in m.ATTRIBUTE_TYPES
    obj = SimpleNamespace(a=3)
    assert m.get(obj, "a") == 3
    assert SimpleNamespace in m.ATTRIBUTE_TYPES
    assert m.get(obj, "b", "none") == "none"  # the cached path
    assert m.get(None, "a") is None


def test_the_short_paths_read_as_the_whole_reading_does() -> None:
    # turn_content skips describe_message for plain messages: what it writes must be what
    # the whole reading writes, for every turn of up to three of these messages.
    for n in (1, 2, 3):
        for turn in itertools.product(SHAPES, repeat=n):
            whole = m.content_of_turn([m.describe_message(x) for x in turn])
            assert m.turn_content(list(turn)) == whole, turn


def test_a_message_without_a_role_keeps_what_it_says() -> None:
    assert m.turn_content([{"content": "x", "name": "bob"}]) == {
        "text": "x",
        "messages": [{"role": "user", "text": "x", "name": "bob"}],
    }
    assert m.turn_content([{"content": "x", "name": "bob"}, {"role": "user", "content": "y"}])[
        "messages"
    ] == [{"role": "user", "text": "x", "name": "bob"}, {"role": "user", "text": "y"}]


def test_content_of_turn() -> None:
    assert m.content_of_turn([{"role": "user", "text": "hi"}]) == {"text": "hi"}
    # No user text: every text joined, the entries kept.
    tool = [{"role": "tool", "text": "a"}, {"role": "tool", "text": "b"}]
    assert m.content_of_turn(tool) == {"text": "a\nb", "messages": tool}
    assert m.content_of_turn([{"role": "tool"}]) == {"text": None, "messages": [{"role": "tool"}]}
    assert m.content_of_turn([]) == {"text": None}


def test_parts_are_described_without_their_payload() -> None:
    text, parts = m.message_text(
        [
            {"type": "input_text", "text": "look"},
            {"text": "untyped"},
            {"type": "refusal", "refusal": None},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "input_image", "image_url": "https://x/y.png"},
            {"type": "file", "file": {"file_id": "file_1", "file_data": "zzz"}},
            {"type": "input_file", "filename": "a.pdf"},
            {"type": "input_audio", "input_audio": {"data": "zzz"}},
            {"no": "type"},
        ]
    )
    assert text == "look\nuntyped\n"
    assert parts == [
        {"type": "image_url", "url": "data:image/png;base64"},
        {"type": "input_image", "url": "https://x/y.png"},
        {"type": "file", "file": "file_1"},
        {"type": "input_file", "file": "a.pdf"},
        {"type": "input_audio"},
        {"type": "unknown"},
    ]
    assert m.message_text(42) == (None, None)  # neither a string nor parts


def test_opening_and_the_turn() -> None:
    msgs = [
        {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": "https://x"}]},
        {"role": "assistant", "content": "seen"},
        {"role": "user", "content": "and now?"},
    ]
    found = m.chat_prompt(msgs)
    assert found["opening"] == ("rules", repr([{"type": "image_url", "url": "https://x"}]))
    assert found["content"] == {"text": "and now?"}
    assert found["said"] == "seen"
    assert "said" not in m.chat_prompt(msgs[:2])
    # Responses API items the model produced end the history too.
    items = [{"role": "user", "content": "q"}, {"type": "reasoning"}, {"type": "x_call"}]
    assert m.new_turn(items) == ([], {"type": "x_call"})


def test_responses_prompt() -> None:
    found = m.responses_prompt({"input": "hi", "instructions": "be brief"})
    assert found == {"content": {"text": "hi"}, "opening": ("be brief", "hi")}
    found = m.responses_prompt({"input": None, "previous_response_id": "resp_1"})
    assert found == {"content": {"text": None}, "opening": ("", ""), "previous": "resp_1"}
    # A developer item opens the conversation when there are no instructions.
    dev = {"role": "developer", "content": "rules"}
    assert m.responses_prompt({"input": [dev, {"role": "user", "content": "q"}]})["opening"] == (
        "rules",
        "q",
    )


def test_inputs_prompt() -> None:
    assert m.inputs_prompt("embeddings", "a") == {
        "content": {"text": "a"},
        "thread": ("embeddings", "a"),
    }
    assert m.inputs_prompt("embeddings", ["a", "b"]) == {
        "content": {"text": "a", "inputs": 2},
        "thread": ("embeddings", "a"),
    }
    assert m.inputs_prompt("completions", [[1, 2]]) == {
        "content": {"text": None},
        "thread": ("completions", ""),
    }


def choice(index: int, **message: Any) -> dict[str, Any]:
    return {"index": index, "finish_reason": "stop", "message": {"role": "assistant", **message}}


def as_objects(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{k: as_objects(v) for k, v in value.items()})
    if isinstance(value, list):
        return [as_objects(v) for v in value]
    return value


def test_chat_choices_read_dicts_and_objects_alike() -> None:
    cases = [
        [],
        [choice(0, content="a", refusal=None)],
        [choice(0, content=None, refusal="no", tool_calls=[CALL])],
        [choice(0, content="a"), choice(1, content=None, tool_calls=[CALL])],
    ]
    for choices in cases:
        assert m.chat_choices(as_objects(choices)) == m.chat_choices(choices)
    assert m.chat_choices(cases[3]) == {
        "content": {
            "text": "a",
            "choices": [
                {"index": 0, "text": "a", "finish_reason": "stop"},
                {
                    "index": 1,
                    "text": None,
                    "finish_reason": "stop",
                    "tool_calls": [{"id": "c1", "name": "f", "arguments": "{}"}],
                },
            ],
        },
        "finish_reason": "stop",
    }
    # An object choice whose message is a dict (a response assembled by hand).
    mixed = [SimpleNamespace(index=0, finish_reason="stop", message={"content": "d"})]
    assert m.chat_choices(mixed)["content"] == {"text": "d"}


def test_responses_output_and_embeddings() -> None:
    resp = {
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [
            {"type": "reasoning"},
            {"type": "message", "content": [{"type": "output_text", "text": "a"}]},
            {"type": "message", "content": [{"type": "refusal", "refusal": "b"}]},
            {"type": "function_call", "call_id": "c", "id": "fc", "name": "f", "arguments": "1"},
        ],
    }
    assert m.responses_output(resp) == {
        "content": {"text": "ab", "tool_calls": [{"id": "c", "name": "f", "arguments": "1"}]},
        "finish_reason": "max_output_tokens",
    }
    assert m.responses_output({"status": "completed"}) == {
        "content": {"text": None},
        "finish_reason": "completed",
    }
    assert m.embeddings_read({"data": [{"embedding": [0.5, 1.5]}, {}]}) == {
        "embeddings": 2,
        "dimensions": 2,
    }
    assert m.embeddings_read({"data": [{"embedding": "base64"}]}) == {"embeddings": 1}
    assert m.embeddings_read(SimpleNamespace(data=None)) == {"embeddings": 0}
