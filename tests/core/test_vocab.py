"""One vocabulary: the JSON Schema, the tables of docs/format.md and the capture modes'
kept keys all come from hilt_core.vocab, and a plugin can declare its own kept keys while
an undeclared key stays text (privacy fails closed)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

import hilt
import hilt_core.schema
from hilt_core import Actor, Content, Event, Registry, vocab
from hilt_core.session import Session
from hilt_core.textfields import text_fields

ROOT = Path(__file__).resolve().parents[2]
FORMAT_DOC = ROOT / "docs" / "format.md"


def test_the_schema_has_exactly_the_vocabulary_extension_and_token_keys() -> None:
    schema = hilt_core.schema.load()["$defs"]
    assert schema["extensions"]["properties"] == vocab.schema_properties(vocab.EXTENSIONS)
    tokens = schema["metrics"]["properties"]["tokens"]["properties"]
    assert set(tokens) == set(vocab.TOKENS)


def test_the_format_doc_tables_are_generated_from_the_vocabulary() -> None:
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    assert doc == vocab.render_doc(doc), "run: python -m hilt_core.vocab docs/format.md"


def test_kept_and_text_keys_are_disjoint_and_cover_the_vocabulary() -> None:
    kept = {k for k, key in vocab.EXTENSIONS.items() if not key.text}
    text = {k for k, key in vocab.EXTENSIONS.items() if key.text}
    assert kept <= vocab.KEPT_EXTENSION_KEYS
    assert not text & vocab.KEPT_EXTENSION_KEYS
    assert kept | text == set(vocab.EXTENSIONS)


def _event(**ext: object) -> Event:
    return Event(
        session_id="conv_x",
        actor=Actor(type="agent", id="acme"),
        action="completion",
        content=Content(text="hello"),
        extensions=dict(ext),
    )


class AcmeProvider:
    HILT_EXTENSION_KEYS: ClassVar[dict[str, str]] = {
        "acme_stop_reason": "Why Acme's model stopped (a label)."
    }


def test_an_undeclared_key_is_text_and_a_declared_one_is_kept(
    reg: Registry, tmp_path: Path
) -> None:
    event = _event(acme_undeclared="end_turn", model="m1")
    assert "extensions.acme_undeclared" in text_fields(event)
    hilt.register_plugin(AcmeProvider(), name="acme")
    event = _event(acme_stop_reason="end_turn", acme_undeclared="end_turn", model="m1")
    fields = text_fields(event)
    assert "extensions.acme_stop_reason" not in fields
    assert "extensions.acme_undeclared" in fields
    path = tmp_path / "h.jsonl"
    with Session(path, capture="hash", hash_salt="k") as session:
        session.append(event)
    (back,) = Session(path, mode="r").read()
    assert back.extensions is not None
    assert back.extensions["acme_stop_reason"] == "end_turn"
    assert back.extensions["model"] == "m1"
    assert str(back.extensions["acme_undeclared"]).startswith("sha256:")


class Sneaky:
    HILT_EXTENSION_KEYS: ClassVar[dict[str, str]] = {"messages": "not really a label"}


def test_a_plugin_cannot_declare_a_text_key_kept(reg: Registry) -> None:
    with pytest.raises(ValueError, match=r"extensions\.messages is conversation text"):
        hilt.register_plugin(Sneaky(), name="sneaky")
    assert "messages" not in vocab.KEPT_EXTENSION_KEYS
    assert reg.pm.get_plugin("sneaky") is None
