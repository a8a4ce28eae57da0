"""Fixtures of the Gemini provider tests: a loopback FakeGemini, real ``google-genai``
clients on it (Developer API and Vertex AI), and the kit's harness
(``hilt_core.testing.Harness``) that instruments into ``tmp_path`` and reads the JSONL log
back.

The provider is reached by name, as an application would: ``hilt.instrument(...,
providers=["gemini"])``. Comparisons run the same request uninstrumented and instrumented;
:func:`view` sets aside what differs between two answers of the fake (response ids, the
``date`` header) and keeps everything else, types included.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import _api_client, types

from hilt_core import testing
from hilt_gemini.testing import FakeGemini

MODEL = "gemini-2.5-flash"
# The SDK's HTTP library: httpx2 from google-genai 2.x, httpx before.
REMOTE_PROTOCOL_ERROR = testing.http_errors("RemoteProtocolError")
TRANSPORT_ERROR = testing.http_errors("TransportError")
TIMEOUT_ERROR = testing.http_errors("TimeoutException")
# What older releases of the SDK do not have (the oldest supported is in docs/gemini.md).
STREAM_ERROR_EVENTS = "raise_error" in inspect.getsource(_api_client.BaseApiClient.request_streamed)
EMBEDDING_USAGE = "usage_metadata" in types.EmbedContentResponse.model_fields
# "Date" as aiohttp spells it: google-genai makes async calls with it when it is installed.
_VOLATILE = frozenset({"response_id", "date", "Date", "create_time"})


def view(obj: Any) -> tuple[str, Any]:
    """What the application sees of an SDK object: its type and all its fields (set or
    not), the SDK's HTTP response headers included."""
    dump = getattr(obj, "model_dump", None)
    data = dump() if callable(dump) else obj
    return type(obj).__qualname__, testing.scrub(data, _VOLATILE)


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


class Harness(testing.Harness):
    """Instruments HILT into one JSONL file and reads it back."""

    providers = ("gemini",)


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


h, hi, word = testing.harness_fixtures(Harness)
