"""Fixtures of the Anthropic tests: a loopback FakeAnthropic, and real SDK clients on it.

Clients retry at most once (``max_retries=1``) so a retry is visible and a test stays fast;
a test that wants none says ``client.with_options(max_retries=0)``. The async client is
for one ``asyncio.run`` per test, which closes it there (``async with aclient:``): its
connections belong to that event loop.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from hilt_anthropic.testing import FakeAnthropic


@pytest.fixture
def srv() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(model_map={"claude-haiku-4-5": "claude-haiku-4-5-20251001"}) as server:
        yield server


@pytest.fixture
def client(srv: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=srv.base_url, api_key="test", max_retries=1) as c:
        yield c


@pytest.fixture
def aclient(srv: FakeAnthropic) -> Iterator[anthropic.AsyncAnthropic]:
    c = anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="test", max_retries=1)
    yield c
    assert c.is_closed(), "close the async client in the test's loop: async with aclient"
