"""OpenAI streams on the provider contract's StreamRecord: what each chunk leaves for the
event (the text of a text chunk, not the chunk object), and the completion read from it
on the writer thread. The SDK's own Stream object is handed back with its iterator
wrapped (hilt_core.provider.stainless); the record finishes however the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from hilt_core.internal import internal_error
from hilt_core.provider import Call, Completion, StreamRecord
from hilt_openai import extract


class OpenAIStream(StreamRecord):
    __slots__ = ("chunks", "hide_usage", "ident", "model", "response_id")

    def __init__(self, call: Call, hide_usage: bool) -> None:
        super().__init__(call)
        self.chunks: list[Any] = []
        self.hide_usage = hide_usage
        self.ident = False  # a chat chunk gave the model and the response id
        self.model: Any = None
        self.response_id: Any = None

    def take(self, chunk: Any) -> bool:
        """Keep what the event needs of ``chunk``; False when the app must not see it (the
        usage chunk HILT asked for). Never raises: a chunk HILT cannot read is passed on
        untouched."""
        try:
            chunks = self.chunks
            api = self.call.api
            if not self.t_first and (api != "chat.completions" or chunk.choices):
                # the first token (Azure's first chunk, the prompt's filter results, is not)
                self.first_token()
            if api == "chat.completions":
                if not self.ident and chunk.model and chunk.id:
                    self.model, self.response_id = chunk.model, chunk.id
                    self.ident = True
                chunks.append(_keep(chunk) if self.ident else chunk)
            elif api == "responses":
                kind = getattr(chunk, "type", None)
                if kind == "response.output_text.delta":
                    chunks.append(getattr(chunk, "delta", "") or "")
                elif getattr(chunk, "response", None) is not None:
                    chunks.append(chunk)
            else:
                chunks.append(chunk)
        except Exception:
            internal_error("read a stream chunk")
        if self.hide_usage:
            try:
                if chunk.usage is not None and not chunk.choices:
                    return False
                # The app did not ask for usage: "usage" must not count as a set field
                # (model_dump(exclude_unset=True) would differ from an uninstrumented run).
                chunk.__pydantic_fields_set__.discard("usage")
            except Exception:
                internal_error("read a stream chunk")
        return True

    def parts(self, how: str, info: dict[str, Any]) -> Completion:  # on the writer thread
        api = self.call.api
        if api == "responses":
            found = _responses_parts(self.chunks)
            tokens = extract.chat_usage(found["usage"])
        else:
            found = _chat_parts(self.chunks, api, self.model, self.response_id)
            tokens = found["tokens"]
        if found["finish_reason"] is None:
            info["partial"] = True
        completion: Completion = {
            "content": found["content"],
            "finish_reason": found["finish_reason"],
            "tokens": tokens,
            "model": found["model"],
            "response_id": found["id"],
            "stream": info,
        }
        if api == "responses" and found["id"]:
            completion["link_id"] = found["id"]
        return completion

    def iterate(self, inner: Iterator[Any]) -> Iterator[Any]:
        if self.hide_usage or self.call.api != "chat.completions":
            yield from super().iterate(inner)
            return
        # After the chunks that name the model and response, keep each chunk's text, or
        # its values (see _keep). (With the usage chunk to hide, the default on
        # api.openai.com, every chunk goes through take().)
        append = self.chunks.append
        with self:
            for chunk in inner:
                self.take(chunk)
                yield chunk
                if self.ident:
                    break
            for chunk in inner:
                append(_keep(chunk))
                yield chunk

    async def aiterate(self, inner: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if self.hide_usage or self.call.api != "chat.completions":
            async for chunk in super().aiterate(inner):
                yield chunk
            return
        append = self.chunks.append
        with self:
            async for chunk in inner:
                self.take(chunk)
                yield chunk
                if self.ident:
                    break
            async for chunk in inner:
                append(_keep(chunk))
                yield chunk


def _keep(chunk: Any) -> Any:
    """What a chat chunk leaves for the event, on the application's thread: the text of
    a chunk that carries nothing else (one choice, index 0, a text delta, no tool calls,
    refusal, finish reason or usage), or else the few values the event reads of it (see
    :func:`_compact`). Never the chunk object: the SDK's chunk is a tree of pydantic
    models, and holding a stream's chunks until the writer wakes made the garbage
    collector's youngest generation overflow every few calls, promoting them towards the
    full collections the application pays for. A chunk that cannot be read is kept as it
    is (and read, or reported, on the writer thread)."""
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
    try:
        return _compact(chunk, "chat.completions")
    except Exception:
        return chunk


# One chunk as one flat tuple of plain values: model, id, tokens (or None), then five
# values a choice: index, text, refusal, finish_reason, tool calls (a tuple of
# (index, id, name, arguments), or None). One tuple, not one a choice: see _keep.
_HEAD = 3


def _compact(chunk: Any, api: str) -> tuple[Any, ...]:
    usage = chunk.usage
    values: list[Any] = [
        chunk.model,
        chunk.id,
        None if usage is None else extract.chat_usage(usage),
    ]
    for choice in chunk.choices:
        if api == "completions":
            values += (choice.index, choice.text, None, choice.finish_reason, None)
            continue
        delta = choice.delta
        if delta is None:
            values += (choice.index, None, None, choice.finish_reason, None)
            continue
        tool_calls = delta.tool_calls
        calls = None
        if tool_calls:
            calls = tuple(
                (
                    tc.index,
                    tc.id,
                    None if tc.function is None else tc.function.name,
                    None if tc.function is None else tc.function.arguments,
                )
                for tc in tool_calls
            )
        refused = getattr(delta, "refusal", None)
        values += (choice.index, delta.content, refused, choice.finish_reason, calls)
    return tuple(values)


def _chat_parts(chunks: list[Any], api: str, model: Any = None, rid: Any = None) -> dict[str, Any]:
    texts: dict[int, list[str]] = {}
    refusals: dict[int, list[str]] = {}
    finish: dict[int, Any] = {}
    calls: dict[tuple[int, int], dict[str, Any]] = {}
    tokens = None
    for chunk in chunks:
        if type(chunk) is str:  # the text of a text-only chunk of choice 0
            if chunk:
                texts.setdefault(0, []).append(chunk)
            continue
        # a tuple made on the app's thread, or a chunk object read here
        values = chunk if type(chunk) is tuple else _compact(chunk, api)
        if values[2] is not None:
            tokens = values[2]
        model = model or values[0]
        rid = rid or values[1]
        for at in range(_HEAD, len(values), 5):
            i, piece, refused, finish_reason, tool_calls = values[at : at + 5]
            if refused:
                refusals.setdefault(i, []).append(refused)
            if tool_calls:
                for index, call_id, name, arguments in tool_calls:
                    slot = calls.setdefault((i, index), {"id": None, "name": None, "a": []})
                    if call_id:
                        slot["id"] = call_id
                    if name:
                        slot["name"] = name
                    if arguments:
                        slot["a"].append(arguments)
            if piece:
                texts.setdefault(i, []).append(piece)
            if finish_reason is not None:
                finish[i] = finish_reason
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
        "tokens": tokens,
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
