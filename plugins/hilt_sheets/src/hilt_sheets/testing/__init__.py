"""Test helpers for hilt_sheets: an in-process fake of Google OAuth and the Sheets v4 API."""

from hilt_sheets.testing.fake_google import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    SHEETS_SCOPE,
    TOKEN_AUDIENCE,
    FakeGoogle,
    FormulaCell,
    RecordedRequest,
)

__all__ = [
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "SHEETS_SCOPE",
    "TOKEN_AUDIENCE",
    "FakeGoogle",
    "FormulaCell",
    "RecordedRequest",
]
