"""The harness of a provider's tests: HILT instrumented into one JSONL file, read back as
events and as (prompt, answer) pairs, and a view of the SDK's results that sets aside what
differs between two replies of a fake (ids, times), to compare a call with HILT and
without.

A provider's tests subclass :class:`Harness` with what is the SDK's::

    class Harness(hilt_core.testing.Harness):
        providers = ("acme",)
        sdk_model = acme.BaseModel
        volatile = frozenset({"id", "created"})

and bind its fixtures in their conftest: ``h, hi, word = harness_fixtures(Harness)``.
"""

from __future__ import annotations

import importlib
import json
import uuid
import warnings
from pathlib import Path
from typing import Any, ClassVar

from hilt_core.instrument import instrument
from hilt_core.session import Session

__all__ = ["Harness", "broken", "harness_fixtures", "http_errors", "scrub"]

Event = dict[str, Any]


def scrub(value: Any, keys: frozenset[str]) -> Any:
    """``value`` with the values of ``keys`` set aside, in every dict inside it."""
    if isinstance(value, dict):
        return {k: ("<v>" if k in keys else scrub(v, keys)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v, keys) for v in value)
    return value


def broken(*args: Any, **kwargs: Any) -> None:
    """A stand-in for a part of HILT with a bug (``monkeypatch.setattr(Call, "start",
    broken)``): raises ``RuntimeError("HILT bug")``."""
    raise RuntimeError("HILT bug")


def http_errors(name: str) -> tuple[type[BaseException], ...]:
    """The exception class ``name`` (``"TransportError"``, ``"TimeoutException"``, ...) of
    each HTTP library an SDK may run on that is installed: httpx, and httpx2 (newer
    releases). What a cut or stalled stream raises depends on the SDK's release."""
    found: list[type[BaseException]] = []
    for module in ("httpx", "httpx2"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(found)


class Harness:
    """Instruments HILT into one JSONL file and reads it back."""

    #: ``instrument(providers=...)`` when the test does not say.
    providers: ClassVar[tuple[str, ...]] = ()
    #: The SDK's model class(es): :meth:`view` compares them by their fields.
    sdk_model: ClassVar[type | tuple[type, ...]] = ()
    #: Fields a fake fills with fresh ids or the current time on every reply.
    volatile: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, path: Path) -> None:
        self.path = path
        self.session: Session | None = None

    def instrument(self, **options: Any) -> Session:
        if self.providers:
            options.setdefault("providers", list(self.providers))
        self.session = instrument(filepath=str(self.path), **options)
        return self.session

    def lines(self) -> list[str]:
        """The log's lines, once HILT has written what it was handed."""
        if self.session is not None and not self.session.closed:
            assert self.session.flush(timeout=10), "HILT could not write its events"
        if not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()

    def events(self) -> list[Event]:
        return [json.loads(line) for line in self.lines()]

    def calls(self) -> list[tuple[Event, Event]]:
        """(prompt, completion-or-error) pairs, matched by reply_to; each event used once,
        every prompt answered."""
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

    def one(self) -> tuple[Event, Event]:
        """The only call of the log."""
        (pair,) = self.calls()
        return pair

    @classmethod
    def view(cls, obj: Any, exclude_unset: bool = True) -> tuple[str, Any]:
        """What the application sees of an SDK object: its type and its fields."""
        if isinstance(obj, cls.sdk_model):
            model: Any = obj
            with warnings.catch_warnings():  # the SDKs' generic Parsed* types warn on dump
                warnings.simplefilter("ignore", UserWarning)
                data = model.model_dump(exclude_unset=exclude_unset)
        else:
            data = obj
        return type(obj).__qualname__, scrub(data, cls.volatile)

    @classmethod
    def same(cls, plain: Any, got: Any) -> None:
        """``got`` (instrumented) looks exactly like ``plain`` (uninstrumented) to the app:
        same type, same fields set, same values (lists compared item by item)."""
        if isinstance(plain, list):
            assert isinstance(got, list)
            assert len(got) == len(plain)
            for a, b in zip(plain, got, strict=True):
                cls.same(a, b)
            return
        assert cls.view(got) == cls.view(plain)
        assert cls.view(got, exclude_unset=False) == cls.view(plain, exclude_unset=False)


def harness_fixtures(
    harness: type[Harness],
    *,
    plain: str | None = "h",
    instrumented: str | None = "hi",
    word: str | None = "word",
) -> tuple[Any, ...]:
    """pytest fixtures for a conftest, named as given (None: not made), in this order:

    - ``plain``: a ``harness`` on ``tmp_path / "hilt.jsonl"``, not yet instrumented;
    - ``instrumented``: the ``plain`` one, instrumented with its defaults;
    - ``word``: a word no other test uses (a provider links turns by their text,
      process-wide).

    Bind them in the conftest: ``h, hi, word = harness_fixtures(MyHarness)``.
    """
    import pytest

    made: list[Any] = []
    if plain is not None:

        def plain_harness(tmp_path: Path) -> Harness:
            """The harness, not yet instrumented: call its ``instrument()``."""
            return harness(tmp_path / "hilt.jsonl")

        made.append(pytest.fixture(name=plain)(plain_harness))
    if plain is not None and instrumented is not None:

        def instrumented_harness(request: pytest.FixtureRequest) -> Harness:
            """The harness, instrumented with the default options."""
            found: Harness = request.getfixturevalue(plain)
            found.instrument()
            return found

        made.append(pytest.fixture(name=instrumented)(instrumented_harness))
    if word is not None:

        def unique_word() -> str:
            """A word no other test uses: a provider links turns by their text."""
            return "w" + uuid.uuid4().hex[:10]

        made.append(pytest.fixture(name=word)(unique_word))
    return tuple(made)
