"""The patch of ``google-genai``: one :class:`~hilt_core.provider.Call` per HTTP call.

``google-genai`` is not generated like ``openai``; its choke point is
``google.genai._api_client.BaseApiClient``: ``request``, ``request_streamed`` (a generator
function), ``async_request`` and ``async_request_streamed`` (a coroutine returning an
async generator), each taking ``(http_method, path, request_dict, http_options)``. Every
public method ends there (``models.generate_content[_stream]``, ``chats``, ``client.aio``,
``embed_content``), once per HTTP call; patching the class covers clients made before
``instrument()`` too. Above it, ``generate_content`` runs the automatic function calling
loop: one application call, several HTTP calls, each recorded with its own usage, the
next round trip's prompt linked to the answer it follows (the contract's ``said``).
``_request_once`` / ``_async_request_once`` run once per attempt (retries are
``tenacity``'s, above them): wrapping them counts the attempts.

The application gets the SDK's own objects back, untouched; the response body (JSON text)
is kept as the string it is and decoded on the writer thread.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from contextvars import Token
from typing import Any

from hilt_core.context import current_session
from hilt_core.internal import internal_error
from hilt_core.provider import Call, Completion
from hilt_core.recorder import Recorder
from hilt_gemini.adapter import GeminiAdapter
from hilt_gemini.streams import GeminiStream, Marker

log = logging.getLogger("hilt")

_CALLS: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "hilt_gemini_call", default=None
)
PATCHED = ("request", "request_streamed", "async_request", "async_request_streamed")
ATTEMPTS = ("_request_once", "_async_request_once")


def _request_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``(path, request_dict, http_options)`` of a call to one of the patched methods."""
    n = len(args)
    path = args[1] if n > 1 else kwargs.get("path")
    body = args[2] if n > 2 else kwargs.get("request_dict")
    http_options = args[3] if n > 3 else kwargs.get("http_options")
    return path, body, http_options


class _Response:
    """A response's body, read as the call's completion on the writer thread (the call's
    ``parts``). One object held until the writer runs, where a closure over the reader,
    the API and the body would be five (docs/performance.md, "Objects in flight")."""

    __slots__ = ("api", "body", "read")

    def __init__(self, read: Callable[[str, Any], Completion], api: str, body: Any) -> None:
        self.read = read
        self.api = api
        self.body = body

    def __call__(self) -> Completion:
        return self.read(self.api, self.body)


class Patcher:
    """The patch of ``google.genai._api_client.BaseApiClient`` for one adapter."""

    def __init__(self, adapter: GeminiAdapter, recorder: Recorder) -> None:
        from google.genai import _api_client, errors

        self.adapter = adapter
        self.recorder = recorder
        self.base = _api_client.BaseApiClient
        self.api_error = errors.APIError
        self.undo_list: list[tuple[Any, str, Any]] = []

    # -- a call --------------------------------------------------------------------------
    def begin(self, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        """The started Call of a patched method's call; None when it is not recorded (HILT
        off, a path HILT does not read) or HILT failed to start it."""
        try:
            path, body, http_options = _request_args(args, kwargs)
            if not isinstance(path, str) or not isinstance(body, dict):
                return None
            adapter = self.adapter
            found = adapter.api_of(path, body)
            if found is None:
                return None
            session = current_session()
            if session is None:
                return None
            api, model = found
            info = adapter.client_info(client, http_options)
            call = Call(adapter, api, body, session, self.recorder, info, request_model=model)
            call.attempts = 0  # counted by _request_once; 1 if the request never got there
            call.start()
            return call
        except Exception:
            internal_error("record a call")
            return None

    def error(self, call: Call, exc: BaseException) -> None:
        """Record ``exc`` as the call's error: the HTTP status of an APIError (``code``)
        and Google's status name (``RESOURCE_EXHAUSTED``) as its detail."""
        if not call.attempts:
            call.attempts = 1
        if isinstance(exc, self.api_error):
            code = exc.code
            status = exc.status
            call.error(
                exc,
                status=code if type(code) is int else None,
                detail=status if isinstance(status, str) else None,
            )
        else:
            call.error(exc)

    def record_error(self, call: Call, exc: BaseException) -> None:
        try:
            self.error(call, exc)
        except Exception:
            internal_error("record an error")

    def failed(self, call: Call, token: Token[Call | None], exc: BaseException) -> None:
        """The SDK raised ``exc`` for ``call`` (before a stream's first chunk, for a
        stream)."""
        _CALLS.reset(token)
        self.record_error(call, exc)

    def answered(self, call: Call, token: Token[Call | None], response: Any) -> Any:
        """The SDK's response to ``call``: recorded (its body decoded on the writer thread),
        and returned as it is."""
        _CALLS.reset(token)
        try:
            if not call.attempts:
                call.attempts = 1
            call.completion(parts=_Response(self.adapter.read, call.api, response.body))
        except Exception:
            internal_error("record a response")
        return response

    def opened(self, call: Call, token: Token[Call | None], inner: Any) -> Any:
        """The async stream the SDK opened for ``call`` (the request answered), wrapped."""
        _CALLS.reset(token)
        if not call.attempts:
            call.attempts = 1
        return self.follow(call, inner, True)

    def follow(self, call: Call, inner: Any, is_async: bool) -> Any:
        """The generator that gives the app ``inner``'s chunks and records them; ``inner``
        itself when HILT fails to set it up."""
        try:
            rec = GeminiStream(call, self)
            marker = Marker()
            gen = rec.arun(inner, marker) if is_async else rec.run(inner, marker, _CALLS)
            rec.watch(marker)
        except Exception:
            internal_error("record a stream")
            return inner
        return gen

    # -- the patch -----------------------------------------------------------------------
    def make_request(self, original: Callable[..., Any]) -> Callable[..., Any]:
        begin, failed, answered = self.begin, self.failed, self.answered

        def request(client: Any, *args: Any, **kwargs: Any) -> Any:
            call = begin(client, args, kwargs)
            if call is None:
                return original(client, *args, **kwargs)
            token = _CALLS.set(call)
            try:
                response = original(client, *args, **kwargs)
            except BaseException as exc:
                failed(call, token, exc)
                raise
            return answered(call, token, response)

        return _mark(request, original)

    def make_streamed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        begin, follow = self.begin, self.follow

        def request_streamed(client: Any, *args: Any, **kwargs: Any) -> Any:
            call = begin(client, args, kwargs)
            inner = original(client, *args, **kwargs)  # a generator: nothing sent yet
            if call is None:
                return inner
            return follow(call, inner, False)

        return _mark(request_streamed, original)

    def make_async(
        self, then: Callable[[Call, Token[Call | None], Any], Any]
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """The patch of an async method: ``async_request`` (``then``: :meth:`answered`)
        or ``async_request_streamed`` (:meth:`opened`), given what it returned."""
        begin, failed = self.begin, self.failed

        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            async def patched(client: Any, *args: Any, **kwargs: Any) -> Any:
                call = begin(client, args, kwargs)
                if call is None:
                    return await original(client, *args, **kwargs)
                token = _CALLS.set(call)
                try:
                    result = await original(client, *args, **kwargs)
                except BaseException as exc:
                    failed(call, token, exc)
                    raise
                return then(call, token, result)

            return _mark(patched, original)

        return make

    @staticmethod
    def make_attempt(original: Callable[..., Any]) -> Callable[..., Any]:
        def attempt(client: Any, *args: Any, **kwargs: Any) -> Any:
            call = _CALLS.get()
            if call is not None:
                call.attempts += 1
            return original(client, *args, **kwargs)

        return _mark(attempt, original)

    @staticmethod
    def make_async_attempt(original: Callable[..., Any]) -> Callable[..., Any]:
        async def attempt(client: Any, *args: Any, **kwargs: Any) -> Any:
            call = _CALLS.get()
            if call is not None:
                call.attempts += 1
            return await original(client, *args, **kwargs)

        return _mark(attempt, original)

    def _set(self, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        owner = self.base
        original = owner.__dict__.get(name)
        if original is None:  # a release without it: nothing to count there
            log.debug("HILT: google-genai has no BaseApiClient.%s; not patched", name)
            return
        self.undo_list.append((owner, name, original))
        setattr(owner, name, make(original))

    def apply(self) -> Callable[[], None]:
        if getattr(self.base.__dict__.get("request"), "__hilt__", False):
            log.warning("HILT: the google-genai SDK is already instrumented; not patching twice")
            return lambda: None
        try:
            self._set("request", self.make_request)
            self._set("request_streamed", self.make_streamed)
            self._set("async_request", self.make_async(self.answered))
            self._set("async_request_streamed", self.make_async(self.opened))
            self._set("_request_once", self.make_attempt)
            self._set("_async_request_once", self.make_async_attempt)
        except BaseException:
            self.undo()
            raise
        return self.undo

    def undo(self) -> None:
        while self.undo_list:
            owner, name, original = self.undo_list.pop()
            setattr(owner, name, original)


def _mark(new: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    new.__hilt__ = True  # type: ignore[attr-defined]
    new.__wrapped__ = original  # type: ignore[attr-defined]
    new.__name__ = getattr(original, "__name__", new.__name__)
    new.__qualname__ = getattr(original, "__qualname__", new.__qualname__)
    new.__doc__ = getattr(original, "__doc__", None)
    return new


def patch(adapter: GeminiAdapter, recorder: Recorder) -> Callable[[], None]:
    """Patch ``google.genai``; return the undo handle (restores the exact originals)."""
    return Patcher(adapter, recorder).apply()


__all__ = ["PATCHED", "Patcher", "patch"]
