"""The Google Sheets backend passes the backend test kit (hilt_core.testing.BackendContract)
against the loopback Google, reached by name through the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hilt_core.testing import BackendContract
from hilt_sheets.testing import FakeGoogle

from .conftest import FAST, SheetHarness


class TestSheetsContract(BackendContract):
    backend_name = "sheets"

    @pytest.fixture(autouse=True)
    def _google(self, tmp_path: Path) -> Iterator[None]:
        with FakeGoogle() as g:
            self.harness = SheetHarness(g, tmp_path / "spill.jsonl")
            yield

    def backend_options(self, tmp_path: Path) -> dict[str, Any]:
        h = self.harness
        return {
            "sheet_id": h.sid,
            "credentials_json": h.info,
            "http_client": h.g.http_client_class(),
            "worksheet_name": h.tab,
            "spill_path": h.spill,
            **FAST,
        }
