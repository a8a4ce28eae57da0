"""Fixtures of the Sheets backend tests: a loopback Google (``hilt_sheets.testing``) and a
harness that opens sessions the way a user does, ``hilt.instrument(backend="sheets",
...)`` through the registry, and looks at the fake's grid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_sheets.testing import FakeGoogle

EMAIL = "hilt-logger@proj.iam.gserviceaccount.com"
TAB = "LLM Logs"
# Short pauses so that the suite runs in seconds; the defaults are in the docs.
FAST: dict[str, Any] = {
    "flush_interval_sheets": 0.02,
    "writes_per_minute": 60_000,
    "retry_base": 0.01,
    "max_backoff": 0.2,
    "flush_timeout": 10,
    "close_timeout": 1,
    "header_ttl": 60,
}


class SheetHarness:
    """One fake Google, one shared spreadsheet, one spill file."""

    email = EMAIL
    tab = TAB

    def __init__(self, g: FakeGoogle, spill: Path) -> None:
        self.g = g
        self.info = g.make_service_account(email=EMAIL)
        self.sid = g.create_spreadsheet(title="Team logs", sheets=("Sheet1",), shared_with=[EMAIL])
        self.spill = spill

    def options(self, **options: Any) -> dict[str, Any]:
        return {
            "sheet_id": self.sid,
            "credentials_json": self.info,
            "http_client": self.g.http_client_class(),
            "worksheet_name": TAB,
            "providers": [],
            "spill_path": self.spill,
            **FAST,
            **options,
        }

    def instrument(self, **options: Any) -> hilt.Session:
        opts = self.options(**options)
        return hilt.instrument(backend="sheets", **opts)

    def values(self) -> list[list[Any]]:
        return self.g.values(self.sid, TAB)

    def header(self) -> list[Any]:
        return self.values()[0]

    def rows(self) -> list[list[Any]]:
        return self.values()[1:]

    def column(self, name: str) -> list[Any]:
        values = self.values()
        i = values[0].index(name)
        return [r[i] if i < len(r) else "" for r in values[1:]]

    def spilled(self) -> list[dict[str, Any]]:
        if not self.spill.exists():
            return []
        lines = [json.loads(x) for x in self.spill.read_text("utf-8").splitlines() if x.strip()]
        return [x for x in lines if "hilt_spill" not in x]  # the header line says where to

    def requests(self, method: str, suffix: str = "") -> list[Any]:
        return [
            r
            for r in self.g.requests
            if r.method == method and r.path != "/token" and r.path.endswith(suffix)
        ]

    def appends(self) -> list[Any]:
        return self.requests("POST", ":append")


@pytest.fixture
def g() -> Iterator[FakeGoogle]:
    with FakeGoogle() as fake:
        yield fake


@pytest.fixture
def sheet(g: FakeGoogle, tmp_path: Path) -> Iterator[SheetHarness]:
    yield SheetHarness(g, tmp_path / "spill.jsonl")
    hilt.uninstrument()  # while the fake still answers


def prompt(text: str, conv: str = "conv_0123456789ab") -> hilt.Event:
    return hilt.Event(
        session_id=conv,
        actor=hilt.Actor(type="human", id="user"),
        action="prompt",
        content=hilt.Content(text=text),
    )


@pytest.fixture
def make_prompt() -> Any:
    return prompt
