"""Fixtures of the LiteLLM tests: the real ``litellm`` against the loopback OpenAI and
Anthropic servers, a harness that instruments into ``tmp_path`` and reads the log back,
and a *witness*: a logger of the test's own, added after HILT's, that tells when LiteLLM
has run its callbacks for a call (they run on LiteLLM's thread pool or a background task,
after the call returned).

litellm is heavy and is not in requirements-dev.txt (see requirements-litellm.txt): the
test modules that need it are skipped without it.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_anthropic.testing import FakeAnthropic
from hilt_openai.testing import FakeOpenAI

# LiteLLM fetches its price list from GitHub when it is imported, unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")


class Log:
    """Instruments HILT into one JSONL file and reads it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.session: hilt.Session | None = None

    def instrument(self, *providers: str, **options: Any) -> hilt.Session:
        self.session = hilt.instrument(
            filepath=str(self.path), providers=list(providers or ("litellm",)), **options
        )
        return self.session

    def events(self) -> list[dict[str, Any]]:
        if self.session is not None and not self.session.closed:
            assert self.session.flush(timeout=10)
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]

    def calls(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(prompt, completion-or-error) pairs, matched by reply_to; each prompt answered
        exactly once."""
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


class Witness:
    """A CustomLogger of the test's own: the call ids whose end LiteLLM has reported.

    Added to ``litellm.callbacks`` after HILT's logger, it is called after it for the
    same event: once it has seen a call end, HILT's logger has handled that end too.
    """

    def __init__(self) -> None:
        from litellm.integrations.custom_logger import CustomLogger

        self.seen: list[tuple[str, str]] = []
        self.cond = threading.Condition()
        seen, cond = self.seen, self.cond

        class _Witness(CustomLogger):  # type: ignore[misc]
            def _saw(self, kind: str, kwargs: Any) -> None:
                with cond:
                    seen.append((kind, str(kwargs.get("litellm_call_id"))))
                    cond.notify_all()

            def log_success_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                self._saw("success", kwargs)

            async def async_log_success_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                self._saw("success", kwargs)

            def log_failure_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                self._saw("failure", kwargs)

            async def async_log_failure_event(
                self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
            ) -> None:
                self._saw("failure", kwargs)

        self.logger = _Witness()

    def wait(self, n: int, timeout: float = 20.0) -> list[tuple[str, str]]:
        """Block until LiteLLM has reported the end of ``n`` calls (in all)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.seen) < n:
                left = deadline - time.monotonic()
                assert left > 0, f"LiteLLM reported {len(self.seen)} ends, not {n}"
                self.cond.wait(left)
            return list(self.seen)

    async def await_(self, n: int, timeout: float = 20.0) -> list[tuple[str, str]]:
        """:meth:`wait` from a coroutine: lets the loop run LiteLLM's callback tasks."""
        deadline = time.monotonic() + timeout
        while True:
            with self.cond:
                if len(self.seen) >= n:
                    return list(self.seen)
            assert time.monotonic() < deadline, f"LiteLLM reported {len(self.seen)} ends"
            await asyncio.sleep(0.01)


def drop_callback(obj: object) -> None:
    """Take ``obj`` out of every callback list of litellm (test clean-up)."""
    import litellm

    for value in list(vars(litellm).values()):
        if isinstance(value, list):
            while any(x is obj for x in value):
                value.remove(obj)


@pytest.fixture
def oai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        yield server


@pytest.fixture
def ant() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(model_map={"claude-haiku-4-5": "claude-haiku-4-5-20251001"}) as server:
        yield server


@pytest.fixture
def log(tmp_path: Path) -> Log:
    """The harness, not yet instrumented: call ``log.instrument(...)``."""
    return Log(tmp_path / "hilt.jsonl")


@pytest.fixture
def witness() -> Iterator[Witness]:
    """A Witness; add it with ``litellm.callbacks.append(witness.logger)`` after
    instrumenting, so that it runs after HILT's logger."""
    found = Witness()
    yield found
    drop_callback(found.logger)


@pytest.fixture
def word() -> str:
    """A word no other test uses: HILT links turns by their text process-wide."""
    return "w" + uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # LiteLLM's pydantic models warn about their own ReadOnly fields when first built.
    here = Path(__file__).parent
    quiet = pytest.mark.filterwarnings("ignore:.*`ReadOnly` qualifier:UserWarning")
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(quiet)
