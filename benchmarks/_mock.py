"""In-process OpenAI endpoint for the benchmarks: an httpx(2) MockTransport with canned
chat completions (and 21-chunk SSE streams), so only SDK + logging cost is measured."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

USAGE = {
    "prompt_tokens": 24,
    "completion_tokens": 21,
    "total_tokens": 45,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
PIECES = ["Sure", ",", " here", " is", " a", " short", " answer", " for", " you", ":"] + [
    f" w{i}" for i in range(8)
]  # 18 content deltas + role + finish + usage = 21 chunks


def httpx_module(client_class: type) -> Any:
    """The HTTP library of a Stainless SDK's ``DefaultHttpxClient``: httpx (openai 1.x/2.x,
    anthropic 0.x) or httpx2 (openai 3.x, anthropic from 1.0)."""
    for base in client_class.__mro__[1:]:
        root = base.__module__.split(".")[0]
        if root in ("httpx", "httpx2"):
            return sys.modules[root]
    raise RuntimeError("cannot find the SDK's HTTP library")


def mock_transport(
    client_class: type, reply: Callable[[dict[str, Any]], bytes], stream: Callable[..., bytes]
) -> Any:
    """A MockTransport of ``client_class``'s HTTP library: ``stream(body)`` (an SSE body)
    answers a request with ``"stream": true``, ``reply(body)`` (JSON) the others."""
    httpx = httpx_module(client_class)

    def handler(request: Any) -> Any:
        body = json.loads(request.content)
        if body.get("stream"):
            return httpx.Response(
                200, content=stream(body), headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(
            200, content=reply(body), headers={"content-type": "application/json"}
        )

    return httpx.MockTransport(handler)


def _marker(body: dict[str, Any]) -> str:
    text = body["messages"][-1]["content"]
    return str(text).rsplit(" ", 1)[-1]


def completion(body: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1735689600,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(PIECES) + " reply-" + _marker(body),
                        "refusal": None,
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
            "system_fingerprint": "fp_bench",
        }
    ).encode()


def stream(body: dict[str, Any]) -> bytes:
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1735689600,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_bench",
    }
    usage = bool((body.get("stream_options") or {}).get("include_usage"))
    chunks: list[dict[str, Any]] = []

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    chunks.append({"choices": [choice({"role": "assistant", "content": ""})]})
    pieces = [*PIECES[:-1], PIECES[-1] + " reply-" + _marker(body)]
    chunks += [{"choices": [choice({"content": p})]} for p in pieces]
    chunks.append({"choices": [choice({}, "stop")]})
    if usage:
        for c in chunks:
            c["usage"] = None
        chunks.append({"choices": [], "usage": USAGE})
    lines = [b"data: " + json.dumps({**base, **c}).encode() + b"\n\n" for c in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


def transport(is_async: bool = False) -> Any:
    import openai

    return mock_transport(openai.DefaultHttpxClient, completion, stream)
