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
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_anthropic.testing import FakeAnthropic
from hilt_core import testing
from hilt_openai.testing import FakeOpenAI

# LiteLLM fetches its price list from GitHub when it is imported, unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")


class Log(testing.Harness):
    """Instruments HILT into one JSONL file and reads it back."""

    def instrument(self, *providers: str, **options: Any) -> hilt.Session:
        return super().instrument(providers=list(providers or ("litellm",)), **options)


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
def witness() -> Iterator[Witness]:
    """A Witness; add it with ``litellm.callbacks.append(witness.logger)`` after
    instrumenting, so that it runs after HILT's logger."""
    found = Witness()
    yield found
    drop_callback(found.logger)


log, word = testing.harness_fixtures(Log, plain="log", instrumented=None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # LiteLLM's pydantic models warn about their own ReadOnly fields when first built.
    here = Path(__file__).parent
    quiet = pytest.mark.filterwarnings("ignore:.*`ReadOnly` qualifier:UserWarning")
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(quiet)
