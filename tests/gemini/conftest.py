"""Fixtures of the Gemini provider tests: a loopback FakeGemini, real ``google-genai``
clients on it (Developer API and Vertex AI), and a harness that instruments into
``tmp_path`` and reads the JSONL log back.

The provider is reached by name, as an application would: ``hilt.instrument(...,
providers=["gemini"])``. Comparisons run the same request uninstrumented and instrumented;
:func:`view` sets aside what differs between two answers of the fake (response ids, the
``date`` header) and keeps everything else, types included.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import _api_client, types

import hilt
from hilt_gemini.testing import FakeGemini

MODEL = "gemini-2.5-flash"
# The SDK's HTTP library: httpx2 from google-genai 2.x, httpx before.
_HTTP = [importlib.import_module(n) for n in ("httpx2", "httpx") if importlib.util.find_spec(n)]
REMOTE_PROTOCOL_ERROR = tuple(m.RemoteProtocolError for m in _HTTP)
TRANSPORT_ERROR = tuple(m.TransportError for m in _HTTP)
TIMEOUT_ERROR = tuple(m.TimeoutException for m in _HTTP)
# What older releases of the SDK do not have (the oldest supported is in docs/gemini.md).
STREAM_ERROR_EVENTS = "raise_error" in inspect.getsource(_api_client.BaseApiClient.request_streamed)
EMBEDDING_USAGE = "usage_metadata" in types.EmbedContentResponse.model_fields
_VOLATILE = frozenset({"response_id", "date", "create_time"})


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<v>" if k in _VOLATILE else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def view(obj: Any) -> tuple[str, Any]:
    """What the application sees of an SDK object: its type and all its fields (set or
    not), the SDK's HTTP response headers included."""
    dump = getattr(obj, "model_dump", None)
    data = dump() if callable(dump) else obj
    return type(obj).__qualname__, _scrub(data)


def same(plain: Any, got: Any) -> None:
    """``got`` (instrumented) looks exactly like ``plain`` (uninstrumented) to the app."""
    if isinstance(plain, list):
        assert isinstance(got, list)
        assert [view(x) for x in got] == [view(x) for x in plain]
        return
    assert view(got) == view(plain)
    fields_set = getattr(plain, "model_fields_set", None)
    if fields_set is not None:
        assert got.model_fields_set == fields_set


class Harness:
    """Instruments HILT into one JSONL file and reads it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.session: hilt.Session | None = None

    def instrument(self, **options: Any) -> hilt.Session:
        options.setdefault("providers", ["gemini"])
        self.session = hilt.instrument(filepath=str(self.path), **options)
        return self.session

    def events(self) -> list[dict[str, Any]]:
        if self.session is not None and not self.session.closed:
            assert self.session.flush(timeout=10)
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]

    def calls(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(prompt, completion-or-error) pairs in order, matched by reply_to."""
        events = self.events()
        prompts = {e["event_id"]: e for e in events if e["action"] == "prompt"}
        pairs = []
        answered: set[str] = set()
        for e in events:
            if e["action"] in ("completion", "system"):
                ref = e["extensions"]["reply_to"]
                assert ref in prompts, f"{e['action']} answers no prompt of this log"
                assert ref not in answered, "a prompt answered twice"
                answered.add(ref)
                pairs.append((prompts[ref], e))
        assert answered == set(prompts), "a prompt without completion or error"
        return pairs

    def one(self) -> tuple[dict[str, Any], dict[str, Any]]:
        (pair,) = self.calls()
        return pair


@pytest.fixture
def srv() -> Iterator[FakeGemini]:
    with FakeGemini(model_map={MODEL: "gemini-2.5-flash-001"}) as server:
        yield server


@pytest.fixture
def client(srv: FakeGemini) -> genai.Client:
    """A Developer API client (made before instrument(), as most apps do)."""
    c: genai.Client = srv.client()
    return c


@pytest.fixture
def vertex(srv: FakeGemini) -> genai.Client:
    """A Vertex AI client, with credentials that need no network."""
    c: genai.Client = srv.client(vertexai=True)
    return c


@pytest.fixture(params=["developer", "vertex"])
def any_client(request: pytest.FixtureRequest, srv: FakeGemini) -> genai.Client:
    """Each test using it runs on both API flavours."""
    c: genai.Client = srv.client(vertexai=request.param == "vertex")
    return c


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    """The harness, not yet instrumented: call ``h.instrument()``."""
    return Harness(tmp_path / "hilt.jsonl")


@pytest.fixture
def hi(h: Harness) -> Harness:
    """The harness, instrumented with the default options."""
    h.instrument()
    return h


@pytest.fixture
def word() -> str:
    """A word no other test uses: the provider links turns by their text process-wide."""
    return "w" + uuid.uuid4().hex[:10]
