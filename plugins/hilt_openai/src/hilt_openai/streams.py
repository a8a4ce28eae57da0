"""Streams: the SDK's own Stream object is handed back, with its iterator wrapped.

Keeping the object (instead of a proxy) keeps ``isinstance(s, openai.Stream)``,
``.response``, ``close()`` and ``with`` exactly as the SDK made them. Chunks are only
collected while the stream runs; the completion event is built once, when the stream ends:
exhausted, closed, left through ``break`` / ``with``, failed, or garbage-collected.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import Any

from hilt_openai import extract
from hilt_openai.call import Call

log = logging.getLogger("hilt")


class StreamRecord:
    __slots__ = (
        "__weakref__",
        "call",
        "chunks",
        "done",
        "gen",
        "hide_usage",
        "ident",
        "lock",
        "model",
        "ref",
        "response_id",
        "t_first",
    )

    def __init__(self, call: Call, hide_usage: bool) -> None:
        self.call = call
        self.chunks: list[Any] = []
        self.t_first = 0.0
        self.done = False
        self.hide_usage = hide_usage
        self.ident = False  # a chat chunk gave the model and the response id
        self.model: Any = None
        self.response_id: Any = None
        # The wrapping generator (weakly: it refers to this record). It is running while
        # the SDK produces the next chunk, and the SDK's own ``finally`` closes the HTTP
        # response when the body ends: that close is not the app leaving early.
        self.gen: weakref.ref[Any] | None = None
        self.lock = threading.Lock()
        self.ref: weakref.ref[Any] | None = None  # to the stream, while it is open

    def take(self, chunk: Any) -> bool:
        """Keep what the event needs of ``chunk``; False when the app must not see it (the
        usage chunk HILT asked for). Never raises: a chunk HILT cannot read is passed on
        untouched."""
        try:
            chunks = self.chunks
            api = self.call.api
            if not self.t_first and (api != "chat.completions" or chunk.choices):
                # the first token (Azure's first chunk, the prompt's filter results, is not)
                self.t_first = perf_counter()
            if api == "chat.completions":
                if not self.ident and chunk.model and chunk.id:
                    self.model, self.response_id = chunk.model, chunk.id
                    self.ident = True
                text = _text_only(chunk) if self.ident else None
                chunks.append(chunk if text is None else text)
            elif api == "responses":
                kind = getattr(chunk, "type", None)
                if kind == "response.output_text.delta":
                    chunks.append(getattr(chunk, "delta", "") or "")
                elif getattr(chunk, "response", None) is not None:
                    chunks.append(chunk)
            else:
                chunks.append(chunk)
        except Exception:
            log.exception("HILT could not read a stream chunk; the application is unaffected")
        if self.hide_usage:
            try:
                if chunk.usage is not None and not chunk.choices:
                    return False
                # The app did not ask for usage: "usage" must not count as a set field
                # (model_dump(exclude_unset=True) would differ from an uninstrumented run).
                chunk.__pydantic_fields_set__.discard("usage")
            except Exception:
                log.exception("HILT could not read a stream chunk; the application is unaffected")
        return True

    def closed_by_app(self) -> None:
        gen = self.gen() if self.gen is not None else None
        if gen is not None:
            running = gen.gi_running if hasattr(gen, "gi_running") else gen.ag_running
            if running:
                return  # the SDK closing the response at the end of the body
        self.finish("closed")

    def finish(self, how: str, exc: BaseException | None = None) -> None:
        with self.lock:
            if self.done:
                return
            self.done = True
        if self.ref is not None:
            _open.pop(self.ref, None)
            self.ref = None
        try:
            self._emit(how, exc)
        except Exception:
            log.exception("HILT could not record a stream; the application is unaffected")

    def _emit(self, how: str, exc: BaseException | None) -> None:
        call = self.call
        info: dict[str, Any] = {"stream": True}
        if self.t_first:
            info["ttft_ms"] = round((self.t_first - call.t0) * 1000.0, 3)
        if how != "complete":
            info["stream_end"] = how
        if exc is not None:
            info["error_type"] = type(exc).__name__
        chunks = self.chunks
        api = call.api
        model, rid = self.model, self.response_id  # not self: no cycle through the call

        def parts() -> dict[str, Any]:  # on the writer thread
            if api == "responses":
                found = _responses_parts(chunks)
            else:
                found = _chat_parts(chunks, api, model, rid)
            if how != "complete" or found["finish_reason"] is None:
                info["partial"] = True
            return {
                "content": found["content"],
                "finish_reason": found["finish_reason"],
                "usage": found["usage"],
                "model": found["model"],
                "response_id": found["id"],
                "stream": info,
            }

        call.completion(None, parts=parts)


def _text_only(chunk: Any) -> str | None:
    """The text of a chat chunk that carries nothing else the event needs: one choice,
    index 0, a text delta, no tool calls, refusal, finish reason or usage. Such chunks are
    kept as their text only: a long stream's chunk objects are not held until the
    event is built (memory, and work for the garbage collector)."""
    try:
        (choice,) = chunk.choices
        delta = choice.delta
        text = delta.content
        if (
            type(text) is str
            and chunk.usage is None
            and choice.finish_reason is None
            and not choice.index
            and not delta.tool_calls
            and not delta.refusal
        ):
            return text
    except Exception:
        pass
    return None


def _chat_parts(chunks: list[Any], api: str, model: Any = None, rid: Any = None) -> dict[str, Any]:
    texts: dict[int, list[str]] = {}
    refusals: dict[int, list[str]] = {}
    finish: dict[int, Any] = {}
    calls: dict[tuple[int, int], dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        if type(chunk) is str:  # the text of a text-only chunk of choice 0
            if chunk:
                texts.setdefault(0, []).append(chunk)
            continue
        if chunk.usage is not None:
            usage = chunk.usage
        model = model or chunk.model
        rid = rid or chunk.id
        for choice in chunk.choices:
            i = choice.index
            if api == "completions":
                piece = choice.text
            else:
                delta = choice.delta
                piece = delta.content if delta is not None else None
                tool_calls = delta.tool_calls if delta is not None else None
                refused = getattr(delta, "refusal", None)
                if refused:
                    refusals.setdefault(i, []).append(refused)
                if tool_calls:
                    for tc in tool_calls:
                        slot = calls.setdefault((i, tc.index), {"id": None, "name": None, "a": []})
                        if tc.id:
                            slot["id"] = tc.id
                        fn = tc.function
                        if fn is not None:
                            if fn.name:
                                slot["name"] = fn.name
                            if fn.arguments:
                                slot["a"].append(fn.arguments)
            if piece:
                texts.setdefault(i, []).append(piece)
            if choice.finish_reason is not None:
                finish[i] = choice.finish_reason
    indexes = sorted(set(texts) | set(finish) | set(refusals) | {i for i, _ in calls}) or [0]

    def calls_of(i: int) -> list[dict[str, Any]]:
        return [
            {"id": s["id"], "name": s["name"], "arguments": "".join(s["a"])}
            for (ci, _), s in sorted(calls.items())
            if ci == i
        ]

    first = indexes[0]
    content: dict[str, Any] = {"text": "".join(texts[first]) if first in texts else None}
    if first in refusals:
        content["refusal"] = "".join(refusals[first])
    if calls_of(first):
        content["tool_calls"] = calls_of(first)
    if len(indexes) > 1:
        content["choices"] = [
            {
                "index": i,
                "text": "".join(texts.get(i, ())) or None,
                "finish_reason": finish.get(i),
                **({"tool_calls": calls_of(i)} if calls_of(i) else {}),
            }
            for i in indexes
        ]
    return {
        "content": content,
        "finish_reason": finish.get(first),
        "usage": usage,
        "model": model,
        "id": rid,
    }


def _responses_parts(events: list[Any]) -> dict[str, Any]:
    final = None
    model = rid = None
    deltas: list[str] = []
    for ev in events:
        if type(ev) is str:  # an output_text delta
            deltas.append(ev)
            continue
        kind = getattr(ev, "type", None)
        resp = getattr(ev, "response", None)
        if resp is not None:
            model = model or getattr(resp, "model", None)
            rid = rid or getattr(resp, "id", None)
            if kind in ("response.completed", "response.incomplete", "response.failed"):
                final = resp
        elif kind == "response.output_text.delta":
            deltas.append(getattr(ev, "delta", "") or "")
    if final is not None:
        parts = extract.responses_output(final)
        return {**parts, "usage": final.usage, "model": final.model, "id": final.id}
    return {
        "content": {"text": "".join(deltas) or None},
        "finish_reason": None,
        "usage": None,
        "model": model,
        "id": rid,
    }


def _iterate(inner: Iterator[Any], rec: StreamRecord) -> Iterator[Any]:
    try:
        if rec.hide_usage or rec.call.api != "chat.completions":
            for chunk in inner:
                if rec.take(chunk):
                    yield chunk
        else:
            # After the chunks that name the model and response, keep each chunk's text,
            # or (rarely) the chunk. (With the usage chunk to hide, the default on
            # api.openai.com, every chunk goes through take().)
            append = rec.chunks.append
            for chunk in inner:
                rec.take(chunk)
                yield chunk
                if rec.ident:
                    break
            for chunk in inner:
                text = _text_only(chunk)
                append(chunk if text is None else text)
                yield chunk
    except GeneratorExit:
        rec.finish("closed")
        raise
    except BaseException as exc:
        rec.finish("error", exc)
        raise
    rec.finish("complete")


async def _aiterate(inner: AsyncIterator[Any], rec: StreamRecord) -> AsyncIterator[Any]:
    try:
        if rec.hide_usage or rec.call.api != "chat.completions":
            async for chunk in inner:
                if rec.take(chunk):
                    yield chunk
        else:
            append = rec.chunks.append
            async for chunk in inner:
                rec.take(chunk)
                yield chunk
                if rec.ident:
                    break
            async for chunk in inner:
                text = _text_only(chunk)
                append(chunk if text is None else text)
                yield chunk
    except GeneratorExit:
        rec.finish("closed")
        raise
    except BaseException as exc:
        rec.finish("error", exc)
        raise
    rec.finish("complete")


def _hook_close(http_response: Any, rec: StreamRecord, is_async: bool) -> None:
    """Finish the record when the HTTP response is closed by the app: ``Stream.close()``,
    ``with``, and the SDK's ``.stream()`` helpers, whose ``close()`` closes the response
    without going through the Stream.

    The hook reaches the response through a weak reference and its class's method: a
    closure over the bound method would make response and hook a reference cycle, and
    every stream (with its chunks) would then wait for the cyclic garbage collector
    instead of being freed at once, as it is without HILT.
    """
    ref = weakref.ref(http_response)
    if is_async:
        cls_aclose = type(http_response).aclose

        async def aclose(*args: Any, **kwargs: Any) -> Any:
            try:
                target = ref()
                return None if target is None else await cls_aclose(target, *args, **kwargs)
            finally:
                rec.closed_by_app()

        http_response.aclose = aclose
    else:
        cls_close = type(http_response).close

        def close(*args: Any, **kwargs: Any) -> Any:
            try:
                target = ref()
                return None if target is None else cls_close(target, *args, **kwargs)
            finally:
                rec.closed_by_app()

        http_response.close = close


def wrap_stream(stream: Any, call: Call, hide_usage: bool, is_async: bool) -> Any:
    """Wrap ``stream`` (an openai Stream / AsyncStream) in place and return it."""
    if getattr(stream, "_hilt_record", None) is not None:
        return stream
    rec = StreamRecord(call, hide_usage)
    inner = stream._iterator
    gen = _aiterate(inner, rec) if is_async else _iterate(inner, rec)
    rec.gen = weakref.ref(gen)
    stream._iterator = gen
    _hook_close(stream.response, rec, is_async)
    stream._hilt_record = rec
    # Recorded even if the app drops the stream unread: a weak reference whose callback
    # finishes the record (cheaper than weakref.finalize, and gone once the stream ends).
    rec.ref = ref = weakref.ref(stream, _collected)
    _open[ref] = rec
    return stream


# Streams not finished yet, by a weak reference to the stream.
_open: dict[weakref.ref[Any], StreamRecord] = {}


def _collected(ref: weakref.ref[Any]) -> None:
    rec = _open.pop(ref, None)
    if rec is not None:
        rec.finish("gc")


@atexit.register
def _finish_at_exit() -> None:
    # Streams still open when the interpreter exits are recorded as left unfinished
    # (registered after hilt_core's pipeline, so this runs before its exit flush).
    for rec in list(_open.values()):
        rec.finish("gc")
