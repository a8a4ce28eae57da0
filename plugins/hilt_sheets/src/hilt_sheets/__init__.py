"""HILT's Google Sheets backend: every LLM call as a row of a sheet your team can read.

Registered in the entry-point group ``hilt`` as ``sheets``::

    hilt.instrument(backend="sheets", sheet_id="1AbC...", credentials_path="key.json",
                    worksheet_name="LLM Logs")

Rows are uploaded by a thread of this plugin, in batches (one ``values.append`` each),
paced under the per-user write quota; failures are retried, and rows the sheet cannot
take yet wait in a local spill file that is replayed, in order, without duplicates.
gspread and google-auth are imported only when a session opens (``pip install
"hilt[sheets]"``). Setup guide: docs/google_sheets_setup.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hilt_core import Event, hookimpl

if TYPE_CHECKING:
    from hilt_sheets.backend import SheetsBackend, SheetsUnavailable
    from hilt_sheets.cells import MAX_CELL_CHARS, cut
    from hilt_sheets.settings import ID_COLUMN

_LAZY = {
    "SheetsBackend": "hilt_sheets.backend",
    "SheetsUnavailable": "hilt_sheets.backend",
    "MAX_CELL_CHARS": "hilt_sheets.cells",
    "cut": "hilt_sheets.cells",
    "ID_COLUMN": "hilt_sheets.settings",
}


HILT_OPTIONS = {
    "client": "A gspread Client to use instead of building one from credentials.",
    "http_client": "The HTTP client class gspread uses (tests, proxies).",
    "message_limit": "Cut the message column to this many characters.",
    "spill_path": "Where rows wait while Google cannot take them (a file or folder).",
    "flush_interval_sheets": "Seconds between two appends (default 3).",
    "writes_per_minute": "Write requests per minute, under Google's quota (default 30).",
    "max_batch_rows": "Rows per append (default 500).",
    "max_batch_bytes": "Bytes per append (default 1,000,000).",
    "max_buffer_rows": "Rows held in memory before spilling (default 10,000).",
    "flush_timeout": "Seconds flush() waits for Google (default 30).",
    "close_timeout": "Seconds close() tries before spilling what is left.",
    "http_timeout": "Seconds one HTTP request may take (default 30).",
    "max_retries": "Retries of a failed append before spilling (default 5).",
    "retry_base": "First backoff in seconds (default 1).",
    "max_backoff": "Longest backoff in seconds (default 64).",
    "header_ttl": "Seconds the sheet's header row is trusted before it is read again.",
}


@hookimpl
def backend_open(name: str, options: Mapping[str, Any]) -> SheetsBackend:
    # Imported here: every installed plugin is imported when HILT starts, and only a
    # session that opens a sheet needs the backend.
    from hilt_sheets.backend import open_backend

    return open_backend(options)


@hookimpl
def backend_write(handle: SheetsBackend, events: Sequence[Event]) -> None:
    handle.write(events)


@hookimpl
def backend_close(handle: SheetsBackend, flush_only: bool) -> None:
    if flush_only:
        handle.flush()
    else:
        handle.close()


@hookimpl
def backend_read(handle: SheetsBackend) -> Iterator[Event]:
    return handle.read()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hilt_sheets' has no attribute {name!r}")


__all__ = ["ID_COLUMN", "MAX_CELL_CHARS", "SheetsBackend", "SheetsUnavailable", "cut"]
