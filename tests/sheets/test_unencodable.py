"""One event the sheet cannot take costs at most that event (issue #14, item 1).

A lone surrogate (an emoji cut in half by max_tokens), a value nested 2,000 deep, an object
whose ``__str__`` raises, a field of the wrong type: each is repaired or replaced by a
marked placeholder, reported on the ``hilt`` logger with a count, and the events around it
reach the sheet, also through the spill file during an outage."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import hilt

CUT_EMOJI = "the answer is \ud83d"  # a high surrogate without its low half


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


def nested(depth: int) -> list[Any]:
    top: list[Any] = []
    here = top
    for _ in range(depth):
        inner: list[Any] = []
        here.append(inner)
        here = inner
    return top


def event(text: str = "fine", session_id: Any = "conv_0123456789ab", **ext: Any) -> hilt.Event:
    return hilt.Event(
        session_id=session_id,
        actor=hilt.Actor(type="human", id="user"),
        action="prompt",
        content=hilt.Content(text=text),
        extensions=ext or None,
    )


CASES = {
    "lone_surrogate": (lambda: event(CUT_EMOJI), "message", "the answer is \ufffd"),
    "nested_2000_deep": (lambda: event(model=nested(2000)), "model", "[HILT: "),
    "str_raises": (lambda: event(model=Unprintable()), "model", "[HILT: "),
    "wrong_type": (lambda: event(session_id=12345), "message", "[HILT: "),
}


@pytest.mark.parametrize("outage", [False, True], ids=["sheet_up", "through_the_spill"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_bad_event_costs_only_itself(
    sheet: Any, case: str, outage: bool, caplog: pytest.LogCaptureFixture
) -> None:
    make, column, expected = CASES[case]
    session = sheet.instrument()
    before, bad, after = event("before"), make(), event("after")
    if outage:
        sheet.g.outage(True)
    with caplog.at_level(logging.WARNING, logger="hilt"):
        for e in (before, bad, after):
            session.append(e)
        if outage:
            assert session.flush() is False
            assert [r["event_id"] for r in sheet.spilled()] == [
                before.event_id,
                bad.event_id,
                after.event_id,
            ]
            sheet.g.outage(False)
        assert session.flush() is True

    assert sheet.column("event_id") == [before.event_id, bad.event_id, after.event_id]
    assert sheet.column("message")[0] == "before"
    assert sheet.column("message")[2] == "after"
    assert str(sheet.column(column)[1]).startswith(expected)
    reports = [r for r in caplog.records if r.levelno >= logging.WARNING and "1 event" in r.message]
    assert reports, caplog.text  # reported, with a count
    assert bad.event_id in reports[0].message
    assert session.handle.stats["repaired"] == 1
