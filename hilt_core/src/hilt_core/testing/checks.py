"""Checks every provider's tests make of what HILT recorded: an error event, a stream that
ended early. Each says in its docstring what it asserts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["check_error", "check_partial", "raised"]

Event = dict[str, Any]


def raised(call: Callable[[], object]) -> BaseException:
    """What ``call()`` raised, to compare the app's exception with HILT and without
    (AssertionError if it raised nothing)."""
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError("no exception")


def check_error(
    prompt: Event, err: Event, *, actor: str, kind: str, status: int, model: str
) -> None:
    """``err`` records the failed call of ``prompt``: a system event by ``actor`` (the
    provider), in the prompt's conversation and linked to it, an ``api_error`` of type
    ``kind`` with HTTP ``status`` for the requested ``model``, with a text and a latency."""
    assert err["action"] == "system"
    assert err["actor"] == {"type": "system", "id": actor}
    assert err["session_id"] == prompt["session_id"]
    ext = err["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert ext["error_code"] == "api_error"
    assert ext["error_type"] == kind
    assert ext["status_code"] == status
    assert ext["request_model"] == model
    assert err["content"]["text"]
    assert err["metrics"]["latency_ms"] > 0


def check_partial(done: Event, *, end: str, seen: str, reply: str) -> None:
    """``done`` records a stream that ended early, as ``end`` says (``"closed"``, ``"gc"``,
    ...): partial, streamed, with the text the app had seen (``seen``, a beginning of the
    whole ``reply``), or no text when it had seen none."""
    ext = done["extensions"]
    assert ext["stream_end"] == end
    assert ext["partial"] is True
    assert ext["stream"] is True
    if seen:
        assert done["content"]["text"] == seen
        assert reply.startswith(seen)
    else:
        assert done["content"].get("text") is None
