"""Gemini streams on the provider contract's StreamRecord.

The SDK's ``request_streamed`` yields one ``SdkHttpResponse`` per SSE event, its body the
event's JSON text (releases before 1.22 yield the decoded dict). The record keeps that
text (a string, not the SDK's objects) and decodes it on the writer thread. Usage is the
LAST non-empty ``usageMetadata``: every Gemini chunk carries the counts so far, so summing
them would overcount.

A stream that fails before its first chunk (an HTTP error, an error event first) is
recorded as an error, as the same failure of a call that is not streamed is; one that
fails later is a partial answer with ``stream_end: "error"``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from hilt_core.internal import internal_error
from hilt_core.provider import Call, Completion, StreamRecord
from hilt_gemini import extract


class Marker:
    """What :meth:`StreamRecord.watch` follows: held by the wrapping generator's frame
    only, it is freed when the generator is, after the generator's own ``close()``
    (a stream the app left is ``closed``, not ``gc``)."""

    __slots__ = ("__weakref__",)


class GeminiStream(StreamRecord):
    # What the record holds lives until the writer builds the event; every object made
    # for one call counts towards the application's next garbage collection
    # (docs/performance.md, "Objects in flight"): the chunks' text, not the SDK's response
    # objects, and the patcher every call shares, not a bound method of it.
    __slots__ = ("bodies", "patcher")

    def __init__(self, call: Call, patcher: Any) -> None:
        super().__init__(call)
        self.bodies: list[Any] = []  # str bodies (dicts before google-genai 1.22)
        self.patcher = patcher  # its record_error(call, exc) writes the call's error event

    def take(self, chunk: Any) -> bool:
        try:
            if not self.t_first:
                self.first_token()
            body = getattr(chunk, "body", chunk)  # google-genai before 1.22: the dict
            if isinstance(body, str | dict):
                self.bodies.append(body)
        except Exception:
            internal_error("read a stream chunk")
        return True

    def parts(self, how: str, info: dict[str, Any]) -> Completion:  # on the writer thread
        texts: list[str] = []
        thoughts: list[str] = []
        calls: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        usage: Any = None
        finish = model = response_id = None
        for data in _decode(self.bodies):
            if not isinstance(data, dict):
                continue
            if data.get("usageMetadata"):
                usage = data["usageMetadata"]
            model = model or data.get("modelVersion")
            response_id = response_id or data.get("responseId")
            candidates = data.get("candidates")
            if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
                first = candidates[0]
                content = first.get("content")
                parts = content.get("parts") if isinstance(content, dict) else None
                if (
                    type(parts) is list
                    and len(parts) == 1
                    and type(parts[0]) is dict
                    and len(parts[0]) == 1
                    and type(parts[0].get("text")) is str
                ):
                    texts.append(parts[0]["text"])  # the common chunk: one text part
                elif isinstance(parts, list):
                    t, th, c, o = extract.split_parts(parts)
                    texts += t
                    thoughts += th
                    calls += c
                    others += o
                if first.get("finishReason"):
                    finish = first["finishReason"]
            elif isinstance(data.get("promptFeedback"), dict):
                finish = finish or data["promptFeedback"].get("blockReason")
        if finish is None:
            info["partial"] = True
        return {
            "content": extract.answer(texts, thoughts, calls, others),
            "finish_reason": finish,
            "tokens": extract.usage_tokens(usage),
            "model": model,
            "response_id": response_id,
            "stream": info,
        }

    def _emit(self, how: str, exc: BaseException | None) -> None:
        if how == "error" and exc is not None and not self.t_first:
            self.patcher.record_error(self.call, exc)  # failed before any chunk
            return
        super()._emit(how, exc)

    def run(self, inner: Iterator[Any], marker: Marker, calls: Any) -> Iterator[Any]:
        """The generator that replaces the SDK's ``request_streamed`` generator. The
        request (and its retries) happens at the first ``next()``: ``calls`` (the
        patch's context variable) names the call meanwhile, to count the attempts."""
        take = self.take
        with self:
            token = calls.set(self.call)
            try:
                first = next(inner)
            except StopIteration:
                return
            finally:
                calls.reset(token)
            take(first)
            yield first
            # The chunk's body (a str the SDK made; a dict before 1.22), read inline: the
            # app's thread pays one attribute read per chunk.
            append = self.bodies.append
            for chunk in inner:
                append(getattr(chunk, "body", chunk))
                yield chunk

    async def arun(self, inner: AsyncIterator[Any], marker: Marker) -> AsyncIterator[Any]:
        """The async generator that replaces the one ``async_request_streamed`` returns
        (the request was made by then)."""
        append = self.bodies.append
        with self:
            async for chunk in inner:
                if not self.t_first:
                    self.first_token()
                append(getattr(chunk, "body", chunk))
                yield chunk


def _decode(bodies: list[Any]) -> list[Any]:
    """The chunks' JSON, decoded in one call when all are text (half the time of one
    ``json.loads`` per chunk); one by one, skipping what does not decode, otherwise."""
    if all(type(b) is str for b in bodies):
        try:
            found: list[Any] = json.loads("[" + ",".join(bodies) + "]")
            return found
        except ValueError:
            pass
    out = []
    for body in bodies:
        try:
            out.append(json.loads(body) if isinstance(body, str | bytes) else body)
        except ValueError:
            continue
    return out
