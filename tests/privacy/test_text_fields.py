"""Every field that carries text is covered, in every mode and by every redactor: an event
with a secret in each such field must not show it anywhere in the stored line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from privacy_support import SECRET

import hilt
from hilt_core import Event, hookimpl, map_text, text_fields

EVERY_FIELD = {
    "content.text",
    "content.images",
    "content.metadata",
    "content.messages",
    "content.parts",
    "content.tool_calls",
    "content.refusal",
    "actor.name",
    "actor.metadata",
    "provenance",
    "extensions.tool_calls",
    "extensions.tool_arguments",
    "extensions.tool_result",
    "extensions.error_message",
    "extensions.request",
    "extensions.metadata",
    "extensions.custom_field",
}


def _stored(path: Path, event: Event, **options: Any) -> str:
    session = hilt.Session(str(path), **options)
    session.append(event)
    assert session.close()
    return path.read_text(encoding="utf-8")


def test_text_fields_lists_every_field_that_carries_text(
    everywhere: Callable[..., Event],
) -> None:
    event = everywhere()
    assert set(text_fields(event)) == EVERY_FIELD
    # and the secret is in each of them, so the tests below test something
    raw = event.to_dict()
    assert json.dumps(raw).count(SECRET) >= len(EVERY_FIELD)


@pytest.mark.parametrize(
    ("options", "marker"),
    [
        ({"capture": "redacted"}, "[SECRET]"),
        ({"redactors": ["pii"]}, "[SECRET]"),
        ({"capture": "hash", "hash_salt": "k"}, "sha256:"),
        ({"capture": "metadata"}, None),
    ],
    ids=["redacted", "pii-in-full-mode", "hash", "metadata"],
)
def test_no_mode_leaves_the_secret_in_any_field(
    options: dict[str, Any],
    marker: str | None,
    everywhere: Callable[..., Event],
    tmp_path: Path,
) -> None:
    stored = _stored(tmp_path / "log.jsonl", everywhere(), **options)
    assert SECRET not in stored
    assert "ZZsecretZZ" not in stored
    line = json.loads(stored)
    # What is not text survives every mode.
    assert line["metrics"] == {
        "tokens": {"prompt": 3, "completion": 4, "total": 7},
        "latency_ms": 12.5,
    }
    for key in ("reply_to", "model", "status_code", "user_id", "tags", "attempts"):
        assert key in line["extensions"]
    assert line["actor"]["id"] == "search"
    if marker is not None:
        assert stored.count(marker) >= len(EVERY_FIELD)
    else:
        assert "content" not in line
        assert "provenance" not in line
        assert set(line["actor"]) == {"type", "id"}


def test_a_function_redactor_reaches_every_field(
    everywhere: Callable[..., Event], tmp_path: Path
) -> None:
    hilt.register_redactor(lambda text: text.replace(SECRET, "<gone>"), name="scrub")
    stored = _stored(tmp_path / "log.jsonl", everywhere())
    assert SECRET not in stored
    assert stored.count("<gone>") >= len(EVERY_FIELD)


def test_fail_closed_strip_removes_every_field(
    everywhere: Callable[..., Event], tmp_path: Path
) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("redactor bug")

    hilt.register_redactor(broken, name="broken")
    stored = _stored(tmp_path / "log.jsonl", everywhere())
    assert SECRET not in stored
    line = json.loads(stored)
    assert line["extensions"]["hilt_redaction"] == "redactor_failed:broken"
    assert "content" not in line


def test_shared_application_objects_are_not_changed(tmp_path: Path) -> None:
    """One Actor and one metadata dict reused by many events: each event is hashed once."""
    actor = hilt.Actor(type="human", id="user", name="Jane Doe")
    shared = {"metadata": {"ticket": "T-1"}}
    session = hilt.Session(str(tmp_path / "log.jsonl"), capture="hash", hash_salt="k")
    with hilt.scope(note="kept as given"):
        for _ in range(3):
            session.append(
                hilt.Event(session_id="c", actor=actor, action="prompt", extensions=dict(shared))
            )
    assert session.close()
    lines = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    names = {line["actor"]["name"] for line in lines}
    assert len(names) == 1  # the same hash three times, not a hash of a hash
    assert actor.name == "Jane Doe"
    assert shared == {"metadata": {"ticket": "T-1"}}


def test_other_types_in_metadata_are_redacted_as_the_encoder_would_write_them(
    tmp_path: Path,
) -> None:
    class Ticket:
        def __str__(self) -> str:
            return "ticket of jane@example.com"

    event = hilt.Event(
        session_id="c",
        actor={"type": "human", "id": "user"},
        action="prompt",
        extensions={"metadata": {"ticket": Ticket(), "ids": ("a@example.com",)}},
    )
    stored = _stored(tmp_path / "log.jsonl", event, capture="redacted")
    assert json.loads(stored)["extensions"]["metadata"] == {
        "ticket": "ticket of [EMAIL]",
        "ids": ["[EMAIL]"],
    }


def test_redaction_applies_to_the_sheets_backend_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What leaves the machine for Google is what the mode left: checked on the requests."""
    from hilt_sheets.testing import FakeGoogle

    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl,pii,sheets")  # before the first load
    with FakeGoogle() as g:
        email = "hilt@proj.iam.gserviceaccount.com"
        info = g.make_service_account(email=email)
        sid = g.create_spreadsheet(title="t", sheets=("Sheet1",), shared_with=[email])
        session = hilt.Session(
            backend="sheets",
            sheet_id=sid,
            credentials_json=info,
            http_client=g.http_client_class(),
            spill_path=tmp_path / "spill.jsonl",
            flush_interval_sheets=0.02,
            capture="redacted",
        )
        session.append(
            hilt.Event(
                session_id="conv_0123456789ab",
                actor={"type": "human", "id": "user"},
                action="prompt",
                content={"text": f"my key is {SECRET}, mail me at jane@example.com"},
            )
        )
        assert session.close()
        sent = json.dumps([r.body for r in g.requests], default=str)
        assert "[SECRET]" in sent
        assert "[EMAIL]" in sent
        assert SECRET not in sent
        assert "jane@example.com" not in sent


class _Recorder:
    """A plugin redactor that records the fields it was handed, via map_text."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def redact(self, event: Event, mode: str) -> None:
        map_text(event, self._see)

    def _see(self, text: str) -> str:
        self.seen.append(text)
        return text


def test_a_plugin_redactor_sees_the_same_fields_as_the_modes(
    everywhere: Callable[..., Event], tmp_path: Path
) -> None:
    rec = _Recorder()
    hilt.register_plugin(rec, name="recorder")
    _stored(tmp_path / "log.jsonl", everywhere())
    assert sum(SECRET in s for s in rec.seen) >= len(EVERY_FIELD)
    assert "user" not in rec.seen  # roles are structure, not text
