"""In-process Anthropic endpoint for the benchmarks: an httpx(2) MockTransport with a canned
Messages reply and a 21-event SSE stream, so only SDK + logging cost is measured."""

from __future__ import annotations

import json
from typing import Any

from _mock import mock_transport

USAGE = {
    "input_tokens": 24,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 21,
    "service_tier": "standard",
}
PIECES = ["Sure", ",", " here", " is", " a", " short", " answer", " for", " you", ":"] + [
    f" w{i}" for i in range(6)
]  # message_start, block start, 16 deltas, block stop, message_delta, message_stop: 21


def _marker(body: dict[str, Any]) -> str:
    text = body["messages"][-1]["content"]
    return str(text).rsplit(" ", 1)[-1]


def message(body: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": "".join(PIECES) + " reply-" + _marker(body)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": USAGE,
        }
    ).encode()


def stream(body: dict[str, Any]) -> bytes:
    start = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**USAGE, "output_tokens": 1},
    }
    pieces = [*PIECES[:-1], PIECES[-1] + " reply-" + _marker(body)]
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in pieces
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 21},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def transport(is_async: bool = False) -> Any:
    import anthropic

    return mock_transport(anthropic.DefaultHttpxClient, message, stream)
