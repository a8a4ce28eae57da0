"""The patch: one choke point, ``SyncAPIClient.request`` / ``AsyncAPIClient.request``.

Every endpoint method of the SDK (``create``, ``parse``, ``stream``, ``with_raw_response``,
``with_streaming_response``, Azure, any ``base_url``) ends in ``request``, once per logical
call, whatever the number of retries. Patching it on the base classes also covers clients
created before ``instrument()``. ``BaseClient._build_request`` runs once per HTTP attempt:
wrapping it counts the attempts. The originals are kept and put back by the undo handle.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from hilt_core import Recorder, current_session
from hilt_openai.call import Call
from hilt_openai.streams import wrap_stream

log = logging.getLogger("hilt")

ENDPOINTS = {
    "/chat/completions": "chat.completions",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/completions": "completions",
}
RAW_HEADER = "X-Stainless-Raw-Response"
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "hilt_openai_call", default=None
)
# Result types seen to be parsed models (ChatCompletion...): neither a stream nor a raw or
# streaming response. Bounded: a few SDK classes, or one per structured-output model.
_PARSED: set[type] = set()
_clients: weakref.WeakKeyDictionary[Any, tuple[Any, tuple[str, str]]] = weakref.WeakKeyDictionary()


def client_info(client: Any) -> tuple[str, str]:
    """(provider, endpoint) of a client: "openai", "azure" or "openai-compatible"."""
    base = client._base_url
    try:
        cached = _clients.get(client)
    except TypeError:
        cached = None
    if cached is not None and cached[0] is base:
        return cached[1]
    parts = urlsplit(str(base))
    netloc, host = parts.netloc, (parts.hostname or "")
    if (
        "Azure" in type(client).__name__
        or hasattr(client, "_azure_deployment")
        or host.endswith(AZURE_HOSTS)  # Azure's v1 API, reached with the plain OpenAI client
    ):
        info = ("azure", netloc)
    elif netloc == "api.openai.com":
        info = ("openai", netloc)
    else:
        info = ("openai-compatible", netloc)
    with contextlib.suppress(TypeError):  # a client class that cannot be weakly referenced
        _clients[client] = (base, info)
    return info


def _inject_usage(options: Any, body: dict[str, Any], provider: str, setting: Any) -> bool:
    """Ask for the usage chunk of a chat stream the app did not ask it for.

    Default: only on api.openai.com (some compatible servers and old Azure API versions
    reject ``stream_options``); ``include_usage=True`` forces it, ``False`` turns it off.
    """
    if setting is False or (setting is None and provider != "openai"):
        return False
    so = body.get("stream_options")
    if isinstance(so, dict) and so.get("include_usage") is not None:
        return False
    options.json_data = {**body, "stream_options": {**(so or {}), "include_usage": True}}
    return True


def _record_unparsed(response: Any, call: Call) -> None:
    """A ``with_streaming_response`` closed without ``parse()``: read what the app read."""
    http = response.http_response
    is_stream = bool(getattr(response, "_is_sse_stream", False))
    body: Any = None
    if not is_stream and getattr(http, "_content", None) is not None:  # read by the app
        with contextlib.suppress(ValueError):
            body = http.json()
    if isinstance(body, dict):
        call.completion(body)
    else:
        call.completion(
            None,
            content={"text": None},
            stream={"stream": is_stream, "partial": True, "unparsed": True},
        )


class _Patcher:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.undo_list: list[tuple[Any, str, Any]] = []

    def _begin(self, client: Any, options: Any) -> tuple[Call, bool, bool] | None:
        api = ENDPOINTS.get(options.url)
        if api is None:
            return None
        session = current_session()
        if session is None:
            return None
        body = options.json_data
        if not isinstance(body, dict):
            return None
        info = client_info(client)
        call = Call(api, body, session, self.recorder, info)
        call.start()
        headers = options.headers
        raw = headers.get(RAW_HEADER) if isinstance(headers, dict) else None
        injected = False
        if body.get("stream") is True and api in ("chat.completions", "completions") and not raw:
            injected = _inject_usage(
                options, body, info[0], self.recorder.options.get("include_usage")
            )
        return call, injected, bool(raw)

    def _end(self, call: Call, result: Any, injected: bool, is_async: bool) -> Any:
        kind = type(result)
        if kind in _PARSED:  # the common case: a parsed model, recorded as it is
            call.completion(result)
            return result
        from openai import AsyncStream, Stream

        if isinstance(result, (Stream, AsyncStream)):
            return wrap_stream(result, call, injected, is_async)
        module = kind.__module__
        if module.startswith("openai._legacy_response"):
            parsed = result.parse()  # cached by the SDK: the app gets this same object
            if isinstance(parsed, (Stream, AsyncStream)):
                wrap_stream(parsed, call, False, is_async)
            else:
                call.completion(parsed)
            return result
        if module.startswith("openai._response"):
            self._wrap_parse(result, call, is_async)
            return result
        call.completion(result)
        if len(_PARSED) < 64:
            _PARSED.add(kind)
        return result

    def _wrap_parse(self, response: Any, call: Call, is_async: bool) -> None:
        """``with_streaming_response``: the body is the app's to read. Record the parsed
        object when the app parses it; when it closes the response without parsing, record
        what the body says if it was read, else a completion marked ``unparsed``."""
        orig_parse = response.parse
        orig_close = response.close
        done: list[bool] = []

        def seen(parsed: Any) -> None:
            if done:
                return
            done.append(True)
            try:
                from openai import AsyncStream, Stream

                if isinstance(parsed, (Stream, AsyncStream)):
                    wrap_stream(parsed, call, False, is_async)
                else:
                    call.completion(parsed)
            except Exception:
                log.exception("HILT could not record a response; the application is unaffected")

        def closed() -> None:
            if done:
                return
            done.append(True)
            try:
                _record_unparsed(response, call)
            except Exception:
                log.exception("HILT could not record a response; the application is unaffected")

        if is_async:

            async def aparse(*args: Any, **kwargs: Any) -> Any:
                parsed = await orig_parse(*args, **kwargs)
                if not args and not kwargs:
                    seen(parsed)
                return parsed

            async def aclose(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await orig_close(*args, **kwargs)
                finally:
                    closed()

            response.parse = aparse
            response.close = aclose
        else:

            def parse(*args: Any, **kwargs: Any) -> Any:
                parsed = orig_parse(*args, **kwargs)
                if not args and not kwargs:
                    seen(parsed)
                return parsed

            def close(*args: Any, **kwargs: Any) -> Any:
                try:
                    return orig_close(*args, **kwargs)
                finally:
                    closed()

            response.parse = parse
            response.close = close

    def make_sync(self, original: Callable[..., Any]) -> Callable[..., Any]:
        begin, end = self._begin, self._end

        def request(client: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                started = begin(client, options)
            except Exception:
                log.exception("HILT could not record a call; the application is unaffected")
                started = None
            if started is None:
                return original(client, cast_to, options, *args, **kwargs)
            call, injected, _raw = started
            token = _CALL.set(call)
            try:
                result = original(client, cast_to, options, *args, **kwargs)
            except BaseException as exc:
                _CALL.reset(token)
                try:
                    call.error(exc)
                except Exception:
                    log.exception("HILT could not record an error")
                raise
            _CALL.reset(token)
            try:
                return end(call, result, injected, False)
            except Exception:
                log.exception("HILT could not record a response; the application is unaffected")
                return result

        request.__hilt__ = True  # type: ignore[attr-defined]
        request.__wrapped__ = original  # type: ignore[attr-defined]
        return request

    def make_async(self, original: Callable[..., Any]) -> Callable[..., Any]:
        begin, end = self._begin, self._end

        async def request(
            client: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any
        ) -> Any:
            try:
                started = begin(client, options)
            except Exception:
                log.exception("HILT could not record a call; the application is unaffected")
                started = None
            if started is None:
                return await original(client, cast_to, options, *args, **kwargs)
            call, injected, _raw = started
            token = _CALL.set(call)
            try:
                result = await original(client, cast_to, options, *args, **kwargs)
            except BaseException as exc:
                _CALL.reset(token)
                try:
                    call.error(exc)
                except Exception:
                    log.exception("HILT could not record an error")
                raise
            _CALL.reset(token)
            try:
                return end(call, result, injected, True)
            except Exception:
                log.exception("HILT could not record a response; the application is unaffected")
                return result

        request.__hilt__ = True  # type: ignore[attr-defined]
        request.__wrapped__ = original  # type: ignore[attr-defined]
        return request

    @staticmethod
    def make_build_request(original: Callable[..., Any]) -> Callable[..., Any]:
        def _build_request(client: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
            call = _CALL.get()
            if call is not None:
                call.attempts = int(kwargs.get("retries_taken", 0)) + 1
            return original(client, options, *args, **kwargs)

        _build_request.__hilt__ = True  # type: ignore[attr-defined]
        _build_request.__wrapped__ = original  # type: ignore[attr-defined]
        return _build_request

    def _set(self, owner: Any, name: str, new: Callable[..., Any]) -> None:
        original = owner.__dict__[name]
        self.undo_list.append((owner, name, original))
        setattr(owner, name, new)

    def apply(self) -> Callable[[], None]:
        from openai import _base_client as base

        if getattr(base.SyncAPIClient.__dict__.get("request"), "__hilt__", False):
            log.warning("HILT: the OpenAI SDK is already instrumented; not patching twice")
            return lambda: None
        self._set(base.SyncAPIClient, "request", self.make_sync(base.SyncAPIClient.request))
        self._set(base.AsyncAPIClient, "request", self.make_async(base.AsyncAPIClient.request))
        self._set(
            base.BaseClient,
            "_build_request",
            self.make_build_request(base.BaseClient._build_request),
        )
        return self.undo

    def undo(self) -> None:
        while self.undo_list:
            owner, name, original = self.undo_list.pop()
            setattr(owner, name, original)


def patch(recorder: Recorder) -> Callable[[], None]:
    return _Patcher(recorder).apply()
