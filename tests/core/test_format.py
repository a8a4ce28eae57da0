"""The HILT v1 wire format: field names and places, numbers, UTC timestamps, sortable ids,
and logs written by the real hilt-python 0.2.8 (tests/core/data, made by
make_hilt_028_logs.py) read back."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import hilt
from hilt_core import Actor, Content, Event, Metrics, dumps
from hilt_core.ids import format_event_id, new_event_id, new_event_key
from hilt_core.model import HILT_VERSION

DATA = Path(__file__).parent / "data"
FULL_028 = DATA / "hilt-0.2.8.jsonl"
COLUMNS_028 = DATA / "hilt-0.2.8-columns.jsonl"


def test_a_line_has_the_028_field_names_plus_hilt_version() -> None:
    event = Event(
        session_id="conv_0123456789ab",
        actor=Actor(type="agent", id="openai"),
        action="completion",
        content=Content(text="Hi", tool_calls=[{"id": "t1"}]),
        metrics=Metrics(
            tokens={"prompt": 3, "completion": 1, "total": 4},
            cost_usd=2.5e-06,
            latency_ms=12.5,
            ttft_ms=3.0,
        ),
        extensions={"reply_to": "p1", "model": "gpt-4o-2024-08-06", "status_code": 200},
    )
    line = dumps(event)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    data = json.loads(line)
    assert list(data) == [
        "hilt_version",
        "event_id",
        "timestamp",
        "session_id",
        "actor",
        "action",
        "content",
        "metrics",
        "extensions",
    ]
    assert data["hilt_version"] == HILT_VERSION == "1.1"
    assert data["content"] == {"text": "Hi", "tool_calls": [{"id": "t1"}]}
    assert data["metrics"] == {
        "tokens": {"prompt": 3, "completion": 1, "total": 4},
        "cost_usd": 2.5e-06,
        "latency_ms": 12.5,
        "ttft_ms": 3.0,
    }
    assert isinstance(data["metrics"]["cost_usd"], float)
    assert Event.from_json(line) == event
    assert event.content is not None
    assert event.content.tool_calls == [{"id": "t1"}]


def test_unknown_values_are_left_out_not_null() -> None:
    data = json.loads(
        dumps(Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt"))
    )
    assert set(data) == {"hilt_version", "event_id", "timestamp", "session_id", "actor", "action"}
    assert None not in data.values()


def test_cost_usd_strings_become_numbers() -> None:
    assert Metrics(cost_usd="0.000005").cost_usd == 5e-06
    assert Metrics(cost_usd="0,000005").cost_usd == 5e-06
    assert Metrics(cost_usd=1).cost_usd == 1.0
    assert Metrics(cost_usd="").cost_usd is None


def test_timestamps_are_iso_8601_utc() -> None:
    paris = timezone(timedelta(hours=2))
    cases: dict[datetime | str, str] = {
        datetime(2026, 1, 1, 14, 0, tzinfo=paris): "2026-01-01T12:00:00+00:00",
        datetime(2026, 1, 1, 12, 0, 0, 5): "2026-01-01T12:00:00.000005+00:00",  # naive = UTC
        "2026-01-01T12:00:00Z": "2026-01-01T12:00:00+00:00",
        "2026-01-01T07:00:00-05:00": "2026-01-01T12:00:00+00:00",
        "2026-01-01 12:00:00": "2026-01-01T12:00:00+00:00",  # 0.2.8's columns form
    }
    for given, written in cases.items():
        event = Event(
            session_id="c", actor={"type": "human", "id": "u"}, action="prompt", timestamp=given
        )
        assert json.loads(dumps(event))["timestamp"] == written
        assert event.to_dict()["timestamp"] == written
        assert event.timestamp.tzinfo is UTC
    now = Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt")
    assert abs(now.timestamp - datetime.now(UTC)) < timedelta(minutes=1)


def test_event_ids_sort_by_creation_time() -> None:
    ids = [new_event_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    first = ids[0]
    assert first[14] == "7"  # UUID version 7
    assert int(first[:8] + first[9:13], 16) == pytest.approx(
        datetime.now(UTC).timestamp() * 1000, abs=60_000
    )  # the first 48 bits are Unix milliseconds
    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert str(parsed) == first


def test_an_event_key_is_its_id_as_an_integer() -> None:
    keys = [new_event_key() for _ in range(5_000)]
    assert keys == sorted(keys)
    for key in keys[:50]:
        text = format_event_id(key)
        assert uuid.UUID(text).int == key
        assert uuid.UUID(text).version == 7
    # a key made after an id sorts after it, as a string too
    before = new_event_id()
    assert format_event_id(new_event_key()) > before


def test_event_ids_from_many_threads_are_unique_and_ordered_per_thread() -> None:
    out: dict[int, list[str]] = {}

    def make(n: int) -> None:
        out[n] = [
            Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt").event_id
            for _ in range(2000)
        ]

    threads = [threading.Thread(target=make, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in out.values() for i in ids]
    assert len(set(every)) == 16_000
    assert all(ids == sorted(ids) for ids in out.values())


def test_invalid_events_are_validation_errors() -> None:
    with pytest.raises(hilt.ValidationError, match="Allowed actions"):
        Event(session_id="c", actor={"type": "human", "id": "u"}, action="shout")
    with pytest.raises(ValueError, match="Allowed types"):
        Event(session_id="c", actor={"type": "robot", "id": "u"}, action="prompt")


def test_028_constructor_spellings_still_work() -> None:
    event = Event(
        session_id="s",
        actor=Actor(type="human", id="u1"),
        action="prompt",
        content=Content(text="hi", metadata={"k": 1}),
        metrics=Metrics(tokens={"prompt": 1}),
    )
    again = Event.from_dict(event.to_dict())
    assert again == event
    assert event.content is not None
    assert event.content.model_dump() == {
        "text": "hi",
        "metadata": {"k": 1},
    }
    assert Event.from_json(event.to_json()) == event


# -- hilt-python 0.2.8 logs ------------------------------------------------------------
def test_the_fixtures_are_real_028_output() -> None:
    first = json.loads(FULL_028.read_text(encoding="utf-8").splitlines()[1])
    assert "hilt_version" not in first
    assert first["metrics"]["cost_usd"] == "0.000006"
    assert first["metrics"]["cost_usd_display"] == "0,000006 USD"
    assert first["event_id"][14] == "4"  # uuid4


def test_a_028_log_reads_back() -> None:
    events = list(hilt.Session(FULL_028, mode="r").read())
    assert len(events) == 12
    assert {e.action for e in events} == set(hilt.ACTIONS) - {"run", "step"}  # 1.1 added these
    assert all(e.hilt_version == "0.2" for e in events)
    prompt, completion, prompt2, error = events[:4]
    assert prompt.content is not None
    assert prompt.content.text == "Hello there, how are you?"
    assert completion.metrics is not None
    assert completion.metrics.cost_usd == pytest.approx(6e-06)
    assert completion.metrics.tokens == {"prompt": 5, "completion": 9, "total": 14}
    assert completion.extensions is not None
    assert completion.extensions["reply_to"] == prompt.event_id
    assert completion.extensions["latency_ms"] == 21  # 0.2.8 kept latency here
    assert completion.content is not None
    assert "Voilà" in str(completion.content.text)
    assert error.action == "system"
    assert error.actor.type == "system"
    assert error.extensions is not None
    assert error.extensions["status_code"] == 429
    assert error.extensions["reply_to"] == prompt2.event_id
    assert events[4].actor.name == "Alice"
    assert events[5].content is not None
    assert events[5].content.metadata == {"source": "kb/42"}


def test_a_028_event_rewritten_is_a_v1_line() -> None:
    completion = next(e for e in hilt.Session(FULL_028, mode="r").read() if e.metrics)
    data = json.loads(dumps(completion))
    assert data["hilt_version"] == HILT_VERSION
    assert data["metrics"]["cost_usd"] == pytest.approx(6e-06)


def test_a_028_columns_log_reads_back() -> None:
    events = list(hilt.Session(COLUMNS_028, mode="r").read())
    assert len(events) == 12
    prompt, completion, _, error = events[:4]
    assert prompt.content is None  # "message" was not among the columns
    assert (completion.actor.type, completion.actor.id) == ("agent", "openai")
    assert completion.metrics is not None
    assert completion.metrics.cost_usd == pytest.approx(6e-06)
    assert completion.metrics.tokens == {"prompt": 5, "completion": 9}
    assert completion.extensions is not None
    assert completion.extensions["reply_to"] == prompt.event_id
    assert completion.extensions["model"] == "gpt-4o-mini"
    assert error.extensions is not None
    assert error.extensions["status_code"] == 429
    assert all(e.timestamp.tzinfo is UTC for e in events)


def test_028_and_v1_lines_mix_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(FULL_028.read_bytes())
    session = hilt.Session(path)
    session.append(Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt"))
    assert session.close()
    events = list(hilt.Session(path, mode="r").read())
    assert [e.hilt_version for e in events] == ["0.2"] * 12 + [HILT_VERSION]


def test_one_cattrs_converter_does_both_directions() -> None:
    from hilt_core.model import converter

    event = Event(
        session_id="c",
        actor=Actor(type="tool", id="search", name="Search"),
        action="retrieval",
        content=Content(text="doc", metadata={"source": "kb"}, parts=[{"type": "image"}]),
        metrics=Metrics(latency_ms=3.5, hits=4),
        provenance={"index": "v2"},
        extensions={"score": 0.5},
    )
    data = converter().unstructure(event)
    assert data == event.to_dict()
    assert data["content"] == {
        "text": "doc",
        "metadata": {"source": "kb"},
        "parts": [{"type": "image"}],
    }
    assert data["metrics"] == {"latency_ms": 3.5, "hits": 4}
    assert converter().structure(data, Event) == event
    assert converter().unstructure(event.actor) == {
        "type": "tool",
        "id": "search",
        "name": "Search",
    }


def test_odd_application_metadata_never_blocks_a_batch(tmp_path: Path) -> None:
    """Keys orjson cannot write and huge integers still give a line, and the rest of the
    batch is written."""
    path = tmp_path / "odd.jsonl"
    session = hilt.Session(path)
    odd = {1: "int key", (1, 2): "tuple key", "big": 2**80, "set": {3}}
    session.append(
        hilt.Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt",
                   extensions={"metadata": odd})
    )  # fmt: skip
    session.append(
        hilt.Event(session_id="c", actor={"type": "agent", "id": "a"}, action="completion")
    )
    assert session.close()
    lines = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert len(lines) == 2
    # An integer beyond 64 bits is written as its digits: orjson (HILT's reader) would
    # read a number that long back as a float, and lose digits.
    assert lines[0]["extensions"]["metadata"] == {
        "1": "int key", "(1, 2)": "tuple key", "big": str(2**80), "set": [3],
    }  # fmt: skip
    assert lines[0]["extensions"]["hilt_repaired"] == [
        "extensions.metadata.big: integer beyond 64 bits written as a string"
    ]
