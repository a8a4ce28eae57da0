"""Contracts every backend and every provider should pass: subclass one in your tests::

    from hilt_core.testing import BackendContract

    class TestMyBackend(BackendContract):
        backend_name = "mybackend"

        def backend_options(self, tmp_path):
            return {"filepath": tmp_path / "events.db"}

Each test reaches the backend by name through the registry, the way a user does.
A provider subclasses :class:`ProviderContract` the same way (see docs/plugins.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hilt_core.context import GLOBAL
from hilt_core.instrument import instrument, uninstrument
from hilt_core.model import ACTIONS, Actor, Content, Event, Metrics
from hilt_core.provider.conversation import opening_id
from hilt_core.provider.streams import open_streams
from hilt_core.registry import default_registry
from hilt_core.session import Session
from hilt_core.testing.harness import scrub
from hilt_core.testing.loopback import LoopbackServer
from hilt_core.vocab import TOKENS

__all__ = ["BackendContract", "ProviderContract", "make_event", "stainless_patch_points"]

# What a server makes fresh on every reply (ids, times): set aside to compare two results.
_IDS = frozenset({"id", "created", "created_at", "completed_at", "call_id", "item_id"})


def make_event(i: int = 0, **overrides: Any) -> Event:
    """A typical completion event, numbered ``i`` in its text."""
    fields: dict[str, Any] = {
        "session_id": "conv_0123456789ab",
        "actor": Actor(type="agent", id="model"),
        "action": "completion",
        "content": Content(text=f"answer {i}"),
        "metrics": Metrics(tokens={"prompt": 10, "completion": 5, "total": 15}, latency_ms=12.5),
        "extensions": {"reply_to": f"prompt-{i}", "model": "gpt-4o-mini", "status_code": 200},
    }
    fields.update(overrides)
    return Event(**fields)


class BackendContract:
    """Subclass as ``TestSomething(BackendContract)`` and set ``backend_name``."""

    backend_name: str = ""

    def backend_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"filepath": tmp_path / "events.jsonl"}

    def open(self, tmp_path: Path, **extra: Any) -> Session:
        return Session(backend=self.backend_name, **self.backend_options(tmp_path), **extra)

    def test_backend_is_reached_by_name(self) -> None:
        name, plugin = default_registry().resolve(self.backend_name, "backend")
        assert plugin is not None
        assert name

    def test_round_trip_keeps_every_event_in_order(self, tmp_path: Path) -> None:
        session = self.open(tmp_path)
        written = [make_event(i) for i in range(50)]
        for event in written:
            session.append(event)
        assert session.flush(timeout=30)
        session.close()
        reader = Session(backend=self.backend_name, mode="r", **self.backend_options(tmp_path))
        back = list(reader.read())
        assert [e.event_id for e in back] == [e.event_id for e in written]
        assert [e.content.text for e in back if e.content] == [f"answer {i}" for i in range(50)]

    def test_text_in_any_script_comes_back_unchanged(self, tmp_path: Path) -> None:
        session = self.open(tmp_path)
        texts = ["naïve café", "日本語のテキスト", "emoji 🎉 and more", 'quotes " and \\']
        for i, text in enumerate(texts):
            session.append(make_event(i, content=Content(text=text)))
        assert session.close()
        reader = Session(backend=self.backend_name, mode="r", **self.backend_options(tmp_path))
        assert [e.content.text for e in reader.read() if e.content] == texts

    def test_a_reopened_session_appends(self, tmp_path: Path) -> None:
        session = self.open(tmp_path)
        session.append(make_event(1))
        assert session.close()
        session.open()
        session.append(make_event(2))
        assert session.close()
        reader = Session(backend=self.backend_name, mode="r", **self.backend_options(tmp_path))
        assert [e.content.text for e in reader.read() if e.content] == ["answer 1", "answer 2"]

    def test_close_is_idempotent_and_flushes(self, tmp_path: Path) -> None:
        session = self.open(tmp_path)
        session.append(make_event(1))
        assert session.close()
        assert session.close()
        reader = Session(backend=self.backend_name, mode="r", **self.backend_options(tmp_path))
        assert len(list(reader.read())) == 1


class ProviderContract:
    """Subclass as ``TestMyProvider(ProviderContract)``; set :attr:`provider` (the
    entry-point name), give it a client of the SDK on a loopback server (set :attr:`fake`,
    and define :meth:`connect` unless the fake has a ``client()``; or define a ``client``
    fixture of your own) and define the methods below. Each test instruments HILT into a
    JSONL file of its own and reaches the provider by name, as a user does."""

    provider: str = ""
    error_type: type[BaseException] = Exception  # what a failed call raises to the app
    #: A fake of the SDK's API built on :class:`~hilt_core.testing.LoopbackServer`: the
    #: ``client`` fixture starts one for each test, as :attr:`server`.
    fake: type[LoopbackServer] | None = None
    server: LoopbackServer

    # -- what the subclass defines --------------------------------------------------------
    def connect(self, server: Any) -> Any:
        """A client of the SDK on ``server`` (a running :attr:`fake`): by default the fake's
        own ``client()``. Its ``close()``, if it has one, is called after the test."""
        make = getattr(server, "client", None)
        if not callable(make):
            raise NotImplementedError(f"{type(server).__name__} has no client(): define connect()")
        return make()

    @pytest.fixture
    def client(self) -> Iterator[Any]:
        if self.fake is None:
            raise NotImplementedError(
                "set `fake` and define `connect()` in your ProviderContract, "
                "or define a `client` fixture"
            )
        with self.fake() as server:
            self.server = server
            client = self.connect(server)
            try:
                yield client
            finally:
                close = getattr(client, "close", None)
                if callable(close):
                    close()

    def ask(self, client: Any, text: str, system: str | None = None) -> Any:
        """Make one call (not streamed) with ``system`` (if any) and the user ``text``;
        return what the SDK returned."""
        raise NotImplementedError

    def ask_stream(self, client: Any, text: str) -> Any:
        """Open one streamed call and return the stream, unconsumed (iterating it yields
        the chunks or events)."""
        raise NotImplementedError

    def fail_next(self, client: Any) -> None:
        """Make the server answer the next call with an HTTP error (429 or 5xx); by default
        :attr:`server` answers 429."""
        server = getattr(self, "server", None)
        if server is None:
            raise NotImplementedError("define fail_next() in your ProviderContract")
        server.fail_next(429)

    def patch_points(self) -> list[tuple[Any, str]]:
        """``(owner, attribute name)`` of every object the patch replaces."""
        raise NotImplementedError

    def view(self, result: Any) -> Any:
        """What the application sees of a result, for equality (default: the result;
        SDK objects with ``model_dump`` are compared by their dump)."""
        dump = getattr(result, "model_dump", None)
        return (type(result), dump()) if callable(dump) else result

    # -- the harness -----------------------------------------------------------------------
    def _instrument(self, tmp_path: Path, **options: Any) -> Path:
        path = tmp_path / "provider-contract.jsonl"
        options.setdefault("providers", [self.provider])
        instrument(filepath=str(path), **options)
        return path

    @staticmethod
    def _events(path: Path) -> list[dict[str, Any]]:
        session = GLOBAL.session
        if session is not None:
            assert session.flush(timeout=10), "HILT could not write its events"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @staticmethod
    def _pair(events: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        prompts = [e for e in events if e["action"] == "prompt"]
        answers = [e for e in events if e["action"] in ("completion", "system")]
        assert len(prompts) == 1, f"one call must write one prompt, not {len(prompts)}"
        assert len(answers) == 1, f"one call must write one answer, not {len(answers)}"
        return prompts[0], answers[0]

    def _logged_call(
        self, client: Any, tmp_path: Path, text: str, system: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Instrument, make one call, and return its (prompt, answer) events."""
        path = self._instrument(tmp_path)
        self.ask(client, text, system=system)
        return self._pair(self._events(path))

    # -- the contract ------------------------------------------------------------------------
    def test_patch_and_undo_restore_the_exact_objects(
        self, tmp_path: Path, hilt_clean: None
    ) -> None:
        points = self.patch_points()
        assert points, "patch_points() names no object"
        before = [owner.__dict__[name] for owner, name in points]
        self._instrument(tmp_path)
        after = [owner.__dict__[name] for owner, name in points]
        assert all(a is not b for a, b in zip(before, after, strict=True)), "nothing patched"
        uninstrument()
        restored = [owner.__dict__[name] for owner, name in points]
        assert all(a is b for a, b in zip(before, restored, strict=True))

    def test_instrumenting_twice_is_harmless(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        self._instrument(tmp_path)
        path = self._instrument(tmp_path)
        self.ask(client, "twice")
        prompt, answer = self._pair(self._events(path))
        assert answer["action"] == "completion"
        assert answer["extensions"]["reply_to"] == prompt["event_id"]
        uninstrument()
        restored = [owner.__dict__[name] for owner, name in self.patch_points()]
        assert not any(getattr(obj, "__hilt__", False) for obj in restored)

    def test_the_application_sees_the_same_result(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        plain = self.view(self.ask(client, "same"))
        self._instrument(tmp_path)
        got = self.view(self.ask(client, "same"))
        assert scrub(got, _IDS) == scrub(plain, _IDS)

    def test_prompt_and_completion_are_linked_and_well_formed(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        prompt, answer = self._logged_call(client, tmp_path, "hello there", system="be brief")
        assert answer["action"] == "completion"
        assert prompt["actor"] == {"type": "human", "id": "user"}
        assert answer["actor"]["type"] == "agent"
        assert answer["extensions"]["reply_to"] == prompt["event_id"]
        assert answer["session_id"] == prompt["session_id"]
        assert prompt["content"]["text"] == "hello there"
        for key in ("provider", "endpoint", "api", "model"):
            assert prompt["extensions"].get(key), f"the prompt has no extensions.{key}"
        for key in ("provider", "endpoint", "api", "model", "status_code", "attempts"):
            assert key in answer["extensions"], f"the completion has no extensions.{key}"
        assert answer["extensions"]["status_code"] == 200
        assert answer["metrics"]["latency_ms"] >= 0
        _check_tokens(answer["metrics"].get("tokens") or {})
        for event in (prompt, answer):
            assert event["action"] in ACTIONS

    def test_the_conversation_id_follows_the_shared_rule(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        # The same opening gets the same id whatever provider served it (capture="full").
        prompt, _ = self._logged_call(
            client, tmp_path, "what is the rule?", system="you are a rule keeper"
        )
        assert prompt["session_id"] == opening_id("you are a rule keeper", "what is the rule?")

    def test_errors_are_recorded_and_re_raised(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        path = self._instrument(tmp_path)
        self.fail_next(client)
        with pytest.raises(self.error_type):
            self.ask(client, "this fails")
        prompt, answer = self._pair(self._events(path))
        assert answer["action"] == "system"
        assert answer["actor"]["type"] == "system"
        ext = answer["extensions"]
        assert ext["reply_to"] == prompt["event_id"]
        assert ext["error_code"] == "api_error"
        assert ext["error_type"]
        assert ext["status_code"] >= 400

    def test_nothing_is_recorded_after_uninstrument(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        path = self._instrument(tmp_path)
        uninstrument()
        size = path.stat().st_size if path.exists() else 0
        self.ask(client, "after")
        assert (path.stat().st_size if path.exists() else 0) == size

    def test_a_stream_is_recorded_when_it_ends(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        path = self._instrument(tmp_path)
        stream = self.ask_stream(client, "stream me")
        chunks = list(stream)
        assert chunks
        prompt, answer = self._pair(self._events(path))
        assert answer["extensions"]["stream"] is True
        assert answer["extensions"]["reply_to"] == prompt["event_id"]
        assert "stream_end" not in answer["extensions"]

    def test_a_stream_still_open_at_uninstrument_is_written_as_partial(
        self, client: Any, tmp_path: Path, hilt_clean: None
    ) -> None:
        path = self._instrument(tmp_path)
        stream = self.ask_stream(client, "left open")
        next(iter(stream))  # one chunk read, the rest never asked for
        uninstrument()
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        _prompt, answer = self._pair(events)
        assert answer["extensions"]["stream_end"] == "uninstrumented"
        assert answer["extensions"]["partial"] is True
        assert open_streams() == 0
        close = getattr(stream, "close", None)
        if callable(close):
            close()


def stainless_patch_points(base_client: ModuleType) -> list[tuple[Any, str]]:
    """The ``patch_points()`` of an SDK generated by Stainless (openai, anthropic): its
    ``_base_client`` module's request methods, which the kernel's Stainless patcher replaces."""
    return [
        (base_client.SyncAPIClient, "request"),
        (base_client.AsyncAPIClient, "request"),
        (base_client.BaseClient, "_build_request"),
    ]


def _check_tokens(tokens: dict[str, Any]) -> None:
    """Token counts in HILT's one meaning (hilt_core.vocab.TOKENS)."""
    unknown = set(tokens) - set(TOKENS)
    assert not unknown, f"token keys outside the vocabulary: {sorted(unknown)}"
    for name, value in tokens.items():
        assert type(value) is int, f"tokens.{name} = {value!r}"
        assert value >= 0, f"tokens.{name} = {value!r}"
    if "prompt" in tokens and "completion" in tokens and "total" in tokens:
        assert tokens["total"] == tokens["prompt"] + tokens["completion"]
    for part, whole in (
        ("cached", "prompt"),
        ("cache_write", "prompt"),
        ("reasoning", "completion"),
    ):
        if part in tokens and whole in tokens:
            assert tokens[part] <= tokens[whole], f"tokens.{part} must be part of {whole}"
    if "cached" in tokens and "cache_write" in tokens and "prompt" in tokens:
        assert tokens["cached"] + tokens["cache_write"] <= tokens["prompt"]
