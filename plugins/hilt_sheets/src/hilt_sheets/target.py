"""One worksheet: its header row, appends mapped by header name, and reads.

The header is the contract with the people using the sheet: columns they added or moved
stay where they are; configured columns that are missing are added after the last one;
nothing in it is ever overwritten. Rows are placed by header name, never by position.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hilt_sheets.cells import Cell, Row
from hilt_sheets.settings import ID_COLUMN

if TYPE_CHECKING:
    import gspread

NEW_TAB_ROWS = 100  # appends grow the grid; a small one leaves the 10M-cell budget alone
_LAST_ROW = re.compile(r"(\d+)$")
_RAW: dict[str, Any] = {"valueInputOption": "RAW"}
_READ: dict[str, Any] = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "FORMATTED_STRING",
}


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _clean(header: Sequence[Any]) -> list[str]:
    names = [str(h).strip() if h is not None else "" for h in header]
    while names and not names[-1]:
        names.pop()
    return names


def _style_header(spreadsheet: gspread.Spreadsheet, worksheet: gspread.Worksheet) -> None:
    """A new tab gets a frozen, bold header row: it stays in view as rows pile up."""
    import gspread

    frozen = {
        "properties": {"sheetId": worksheet.id, "gridProperties": {"frozenRowCount": 1}},
        "fields": "gridProperties.frozenRowCount",
    }
    bold = {
        "range": {"sheetId": worksheet.id, "startRowIndex": 0, "endRowIndex": 1},
        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
        "fields": "userEnteredFormat.textFormat.bold",
    }
    requests = [{"updateSheetProperties": frozen}, {"repeatCell": bold}]
    with contextlib.suppress(gspread.exceptions.APIError):  # cosmetic: never fatal
        spreadsheet.batch_update({"requests": requests})


class Target:
    def __init__(
        self, spreadsheet: gspread.Spreadsheet, worksheet: gspread.Worksheet, columns: Sequence[str]
    ) -> None:
        self.spreadsheet = spreadsheet
        self.worksheet = worksheet
        self.columns = tuple(columns)
        self.header: list[str] = []
        self.header_at = 0.0

    @classmethod
    def open(
        cls,
        client: gspread.Client,
        sheet_id: str,
        title: str,
        columns: Sequence[str],
        *,
        create: bool,
    ) -> Target:
        import gspread

        spreadsheet = client.open_by_key(sheet_id)
        try:
            worksheet = spreadsheet.worksheet(title)
        except gspread.exceptions.WorksheetNotFound:
            if not create:
                raise
            try:
                worksheet = spreadsheet.add_worksheet(
                    title=title, rows=NEW_TAB_ROWS, cols=max(len(columns), 1)
                )
            except gspread.exceptions.APIError as exc:
                if "already exists" not in str(exc):
                    raise
                worksheet = spreadsheet.worksheet(title)  # another process made it first
            else:
                _style_header(spreadsheet, worksheet)
        target = cls(spreadsheet, worksheet, columns)
        if create:
            target.sync_header()
        else:
            target.read_header()
        return target

    @property
    def title(self) -> str:
        return str(self.worksheet.title)

    def _range(self, a1: str | None = None) -> str:
        from gspread.utils import absolute_range_name

        return str(absolute_range_name(self.title, a1))

    # -- header ----------------------------------------------------------------------------
    def read_header(self) -> list[str]:
        data = self.spreadsheet.values_get(self._range("1:1"))
        values = data.get("values") or [[]]
        self.header = _clean(values[0])
        self.header_at = time.monotonic()
        return self.header

    def sync_header(self) -> bool:
        """Read the header and add the configured columns it lacks; True if it wrote."""
        header = self.read_header()
        missing = [c for c in self.columns if c not in header]
        if not missing:
            return False
        start = len(header) + 1
        self._ensure_columns(start + len(missing) - 1)
        self.spreadsheet.values_update(
            self._range(f"{col_letters(start)}1"), params=_RAW, body={"values": [missing]}
        )
        self.header = header + missing
        self.header_at = time.monotonic()
        return True

    def _ensure_columns(self, needed: int) -> None:
        # Fresh metadata, and a grid that only ever grows: resizing to a stale column count
        # could delete columns someone else added.
        meta = self.spreadsheet.fetch_sheet_metadata()
        have = needed
        for sheet in meta.get("sheets", []):
            props = sheet.get("properties", {})
            if props.get("sheetId") == self.worksheet.id:
                have = int(props.get("gridProperties", {}).get("columnCount", needed))
        if needed > have:
            grow = {"sheetId": self.worksheet.id, "dimension": "COLUMNS", "length": needed - have}
            self.spreadsheet.batch_update({"requests": [{"appendDimension": grow}]})

    def header_age(self) -> float:
        return time.monotonic() - self.header_at

    # -- writing ---------------------------------------------------------------------------
    def matrix(self, rows: Sequence[Row]) -> list[list[Cell]]:
        where: dict[str, int] = {}
        for position, title in enumerate(self.header):
            where.setdefault(title, position)
        out: list[list[Cell]] = []
        for data in rows:
            line: list[Cell] = [""] * len(self.header)
            for name, value in data.items():
                i = where.get(name)
                if i is not None:
                    line[i] = value
            while line and line[-1] == "":
                line.pop()
            out.append(line)
        return out

    def append(self, rows: Sequence[Row]) -> int | None:
        """One ``values.append`` for all ``rows``; returns the last row it wrote.

        INSERT_ROWS: new rows are inserted after the table that starts at A1, so nothing a
        person typed below it (or after a blank row) can be overwritten."""
        params: dict[str, Any] = {**_RAW, "insertDataOption": "INSERT_ROWS"}
        body = {"values": self.matrix(rows)}
        answer = self.spreadsheet.values_append(self._range("A1"), params=params, body=body)
        updated = str((answer.get("updates") or {}).get("updatedRange") or "")
        m = _LAST_ROW.search(updated)
        return int(m.group(1)) if m else None

    # -- reading ---------------------------------------------------------------------------
    def ids(self, first_row: int) -> set[str]:
        """The ids in the id column from ``first_row`` down (one read request)."""
        if ID_COLUMN not in self.header:
            return set()
        letters = col_letters(self.header.index(ID_COLUMN) + 1)
        data = self.spreadsheet.values_get(
            self._range(f"{letters}{max(first_row, 2)}:{letters}"),
            params={**_READ, "majorDimension": "COLUMNS"},
        )
        values = data.get("values") or [[]]
        return {str(v) for v in values[0] if v not in ("", None)}

    def records(self) -> Iterator[dict[str, Any]]:
        """Every data row as {header name: value}, numbers as numbers."""
        data = self.spreadsheet.values_get(self._range(), params=_READ)
        values = data.get("values") or []
        if not values:
            return
        header = _clean(values[0])
        for line in values[1:]:
            if not any(v not in ("", None) for v in line):
                continue
            record: dict[str, Any] = {}
            for i, name in enumerate(header):
                if name and name not in record:
                    record[name] = line[i] if i < len(line) else ""
            yield record

    def drop_connections(self) -> None:
        """Forget pooled connections (after a fork they belong to the parent)."""
        session = getattr(self.spreadsheet.client, "session", None)
        close = getattr(session, "close", None)
        if callable(close):
            close()
