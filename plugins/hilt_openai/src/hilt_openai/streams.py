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
        else:
            found = _chat_parts(self.chunks, api, self.model, self.response_id)
        if found["finish_reason"] is None:
            info["partial"] = True
        completion: Completion = {
            "content": found["content"],
            "finish_reason": found["finish_reason"],
            "tokens": extract.chat_usage(found["usage"]),
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
        try:
            # After the chunks that name the model and response, keep each chunk's text,
            # or (rarely) the chunk. (With the usage chunk to hide, the default on
            # api.openai.com, every chunk goes through take().)
            append = self.chunks.append
            for chunk in inner:
                self.take(chunk)
                yield chunk
                if self.ident:
                    break
            for chunk in inner:
                text = _text_only(chunk)
                append(chunk if text is None else text)
                yield chunk
        except GeneratorExit:
            self.finish("closed")
            raise
        except BaseException as exc:
            self.finish("error", exc)
            raise
        self.finish("complete")

    async def aiterate(self, inner: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if self.hide_usage or self.call.api != "chat.completions":
            async for chunk in super().aiterate(inner):
                yield chunk
            return
        try:
            append = self.chunks.append
            async for chunk in inner:
                self.take(chunk)
                yield chunk
                if self.ident:
                    break
            async for chunk in inner:
                text = _text_only(chunk)
                append(chunk if text is None else text)
                yield chunk
        except GeneratorExit:
            self.finish("closed")
            raise
        except BaseException as exc:
            self.finish("error", exc)
            raise
        self.finish("complete")


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
