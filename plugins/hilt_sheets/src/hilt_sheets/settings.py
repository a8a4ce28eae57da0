"""The backend's options, read from ``instrument()`` / ``Session()`` keywords and the
environment, validated once at open time (bad values are a ``ConfigError`` there)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hilt_core import ConfigError, paths
from hilt_core.columns import ALL_COLUMNS, check_columns

ID_COLUMN = "event_id"  # every row carries it: replays and retries skip rows already there
DEFAULT_WORKSHEET = "Logs"
CLOSE_TIMEOUT = 30.0
_URL_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Settings:
    sheet_id: str
    worksheet_name: str
    columns: tuple[str, ...]
    read_only: bool
    message_limit: int | None
    flush_interval: float
    writes_per_minute: float
    max_batch_rows: int
    max_batch_bytes: int
    max_buffer_rows: int
    spill_path: Path
    flush_timeout: float
    close_timeout: float
    http_timeout: float
    max_retries: int
    retry_base: float
    max_backoff: float
    header_ttl: float

    @property
    def write_spacing(self) -> float:
        """Seconds between two write requests, so one process stays under its quota."""
        return 60.0 / self.writes_per_minute


def _number(options: Mapping[str, Any], name: str, default: float, *, low: float = 0.0) -> float:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise ConfigError(f"{name} must be a number >= {low:g}, not {value!r}")
    return float(value)


def _count(options: Mapping[str, Any], name: str, default: int, *, low: int = 1) -> int:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be a whole number >= {low}, not {value!r}")
    return value


def sheet_id_from(options: Mapping[str, Any]) -> str:
    raw = options.get("sheet_id") or os.environ.get("GOOGLE_SHEET_ID") or ""
    text = str(raw).strip()
    if not text:
        raise ConfigError(
            "backend='sheets' needs the spreadsheet's id: pass sheet_id=... (the part of the "
            "sheet's URL between /d/ and /edit) or set GOOGLE_SHEET_ID"
        )
    m = _URL_ID.search(text)  # a pasted URL works too
    return m.group(1) if m else text


def data_dir() -> Path:
    """Where HILT keeps rows it could not upload yet: ``sheets`` in HILT's data folder."""
    return paths.data_dir() / "sheets"


def spill_name(sheet_id: str, worksheet: str) -> str:
    digest = hashlib.sha256(f"{sheet_id}\0{worksheet}".encode()).hexdigest()[:10]
    return f"spill-{_UNSAFE.sub('_', sheet_id)[:60]}-{digest}.jsonl"


def spill_path_from(options: Mapping[str, Any], sheet_id: str, worksheet: str) -> Path:
    raw = options.get("spill_path")
    name = spill_name(sheet_id, worksheet)
    if raw is None:
        return data_dir() / name
    path = paths.user_path(raw)
    if path.is_dir() or str(raw).endswith(("/", os.sep)):
        return path / name
    return path


def columns_from(options: Mapping[str, Any]) -> tuple[str, ...]:
    chosen = check_columns(options.get("columns"))
    cols = list(ALL_COLUMNS) if chosen is None else list(dict.fromkeys(chosen))
    if ID_COLUMN not in cols:
        cols.append(ID_COLUMN)
    return tuple(cols)


def read_settings(options: Mapping[str, Any]) -> Settings:
    sheet_id = sheet_id_from(options)
    worksheet = str(options.get("worksheet_name") or DEFAULT_WORKSHEET)
    limit = options.get("message_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"message_limit must be a whole number of characters, not {limit!r}")
    retry_base = _number(options, "retry_base", 1.0, low=0.001)
    return Settings(
        sheet_id=sheet_id,
        worksheet_name=worksheet,
        columns=columns_from(options),
        read_only=options.get("mode") == "r",
        message_limit=limit,
        flush_interval=_number(options, "flush_interval_sheets", 3.0, low=0.001),
        writes_per_minute=_number(options, "writes_per_minute", 30.0, low=0.1),
        max_batch_rows=_count(options, "max_batch_rows", 500),
        max_batch_bytes=_count(options, "max_batch_bytes", 1_000_000, low=60_000),
        max_buffer_rows=_count(options, "max_buffer_rows", 10_000),
        spill_path=spill_path_from(options, sheet_id, worksheet),
        flush_timeout=_number(options, "flush_timeout", 30.0, low=0.1),
        # Enough for Google's backoff to retry a few times (1 + 2 + 4 + 8 + 16 s), as
        # OpenTelemetry's 30 s shutdown: a short program that meets a 429 or an outage
        # on its way out still gets its rows into the sheet.
        close_timeout=_number(options, "close_timeout", CLOSE_TIMEOUT, low=0.1),
        http_timeout=_number(options, "http_timeout", 30.0, low=0.1),
        max_retries=_count(options, "max_retries", 5, low=0),
        retry_base=retry_base,
        max_backoff=_number(options, "max_backoff", 64.0, low=retry_base),
        header_ttl=_number(options, "header_ttl", 10.0),
    )
