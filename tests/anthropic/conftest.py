"""Fixtures of the Anthropic tests: a loopback FakeAnthropic, real SDK clients on it, and
the kit's harness (``hilt_core.testing.Harness``) that instruments HILT into ``tmp_path``
and reads the JSONL log back.

Clients retry at most once (``max_retries=1``) so a retry is visible and a test stays fast;
a test that wants none says ``client.with_options(max_retries=0)``. The async client is
for one ``asyncio.run`` per test, which closes it there (``async with aclient:``): its
connections belong to that event loop.

The provider is reached by name, as an application would:
``hilt.instrument(..., providers=["anthropic"])``. Every comparison runs the same request
uninstrumented and instrumented; :meth:`Harness.view` sets aside what differs between two
runs of the fake (ids, signatures) and keeps everything else, types included.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from hilt_anthropic.testing import FakeAnthropic
from hilt_core import testing

MODEL = "claude-haiku-4-5"
SNAPSHOT = "claude-haiku-4-5-20251001"
SDK = tuple(int(part) for part in anthropic.__version__.split(".")[:2])


# A cut stream raises APIConnectionError from anthropic 2.17, the transport's own error before
# (httpx up to 0.x, httpx2 from 1.0).
STREAM_ERRORS = (anthropic.APIConnectionError, *testing.http_errors("TransportError"))


def bedrock_client(base_url: str, cls: Any = None, **kwargs: Any) -> Any:
    """A Bedrock client on the fake: with a Bedrock API key (anthropic 0.88 on), else signed
    with boto3 (SigV4) with test credentials."""
    cls = cls or anthropic.AnthropicBedrock
    kwargs.setdefault("max_retries", 0)
    if "api_key" in inspect.signature(cls).parameters:
        return cls(aws_region="us-east-1", api_key="brk", base_url=base_url, **kwargs)
    if importlib.util.find_spec("boto3") is None:
        pytest.skip("this SDK signs Bedrock requests with boto3 (SigV4)")
    return cls(
        aws_region="us-east-1",
        aws_access_key="AKIAHILTTEST",
        aws_secret_key="test-secret",
        base_url=base_url,
        **kwargs,
    )


class Harness(testing.Harness):
    """Instruments HILT into one JSONL file and reads it back."""

    providers = ("anthropic",)
    sdk_model = anthropic.BaseModel
    volatile = frozenset({"id", "request_id"})  # fresh ids on every reply of the fake


@pytest.fixture
def srv() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(model_map={MODEL: SNAPSHOT}) as server:
        yield server


@pytest.fixture
def client(srv: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with srv.client(retries=1) as c:
        yield c


@pytest.fixture
def aclient(srv: FakeAnthropic) -> Iterator[anthropic.AsyncAnthropic]:
    c = anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="test", max_retries=1)
    yield c
    assert c.is_closed(), "close the async client in the test's loop: async with aclient"


h, hi, word = testing.harness_fixtures(Harness)
