"""Fixtures of the Anthropic tests: a loopback FakeAnthropic, real SDK clients on it, and a
harness that instruments HILT into ``tmp_path`` and reads the JSONL log back.

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

import importlib
import importlib.util
import inspect
import json
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

import hilt
from hilt_anthropic.testing import FakeAnthropic

MODEL = "claude-haiku-4-5"
SNAPSHOT = "claude-haiku-4-5-20251001"
SDK = tuple(int(part) for part in anthropic.__version__.split(".")[:2])


def _stream_errors() -> tuple[type[BaseException], ...]:
    """A cut stream raises APIConnectionError from anthropic 2.17, the transport's own
    error before (httpx up to 0.x, httpx2 from 1.0)."""
    errors: list[type[BaseException]] = [anthropic.APIConnectionError]
    for name in ("httpx", "httpx2"):
        try:
            errors.append(importlib.import_module(name).TransportError)
        except ImportError:
            continue
    return tuple(errors)


STREAM_ERRORS = _stream_errors()


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


# Fields the fake fills with fresh ids on every reply.
_VOLATILE = frozenset({"id", "request_id"})


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<v>" if k in _VOLATILE else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


class Harness:
    """Instruments HILT into one JSONL file and reads it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.session: hilt.Session | None = None

    def instrument(self, **options: Any) -> hilt.Session:
        options.setdefault("providers", ["anthropic"])
        self.session = hilt.instrument(filepath=str(self.path), **options)
        return self.session

    def lines(self) -> list[str]:
        if self.session is not None and not self.session.closed:
            assert self.session.flush(timeout=10)
        if not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def calls(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(prompt, completion-or-error) pairs, matched by reply_to; each event used once."""
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

    @staticmethod
    def view(obj: Any, exclude_unset: bool = True) -> tuple[str, Any]:
        """What the application sees of an SDK object: its type and its fields."""
        if isinstance(obj, anthropic.BaseModel):
            with warnings.catch_warnings():  # the SDK's generic Parsed* types warn on dump
                warnings.simplefilter("ignore", UserWarning)
                data = obj.model_dump(exclude_unset=exclude_unset)
        else:
            data = obj
        return type(obj).__qualname__, _scrub(data)

    @staticmethod
    def same(plain: Any, got: Any) -> None:
        """``got`` (instrumented) looks exactly like ``plain`` (uninstrumented) to the app:
        same type, same fields set, same values (lists compared item by item)."""
        if isinstance(plain, list):
            assert isinstance(got, list)
            assert len(got) == len(plain)
            for a, b in zip(plain, got, strict=True):
                Harness.same(a, b)
            return
        assert Harness.view(got) == Harness.view(plain)
        assert Harness.view(got, exclude_unset=False) == Harness.view(plain, exclude_unset=False)


@pytest.fixture
def srv() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(model_map={MODEL: SNAPSHOT}) as server:
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
