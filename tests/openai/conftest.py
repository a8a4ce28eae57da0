"""Fixtures of the OpenAI provider tests: a loopback fake OpenAI server, clients on it, and
the kit's harness (``hilt_core.testing.Harness``) that instruments into ``tmp_path`` and
reads the JSONL log back.

The provider is reached by name, as an application would: ``hilt.instrument(...,
providers=["openai"])``. Every comparison runs the same request uninstrumented and
instrumented; :meth:`Harness.view` removes what differs between two runs of the fake (ids,
timestamps) and keeps everything else, types included.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from hilt_core import testing
from hilt_openai.testing import FakeOpenAI

# A cut stream raises APIConnectionError on openai 3.x, the transport's own error before.
STREAM_ERRORS = (openai.APIConnectionError, *testing.http_errors("TransportError"))


class Harness(testing.Harness):
    """Instruments HILT into one JSONL file and reads it back."""

    providers = ("openai",)
    sdk_model = openai.BaseModel
    # Fields the fake fills with fresh ids or the current time on every reply.
    volatile = frozenset({"id", "call_id", "item_id", "created", "created_at", "completed_at"})


@pytest.fixture
def srv() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        yield server


@pytest.fixture
def client(srv: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with srv.client() as c:
        yield c


h, hi, word = testing.harness_fixtures(Harness)
