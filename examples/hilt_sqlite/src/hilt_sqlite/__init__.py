"""Example HILT backend: each event one row of a SQLite table (see docs/plugins.md)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hilt_core import ConfigError, Event, dumps, hookimpl, loads


class SqliteLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        # Opened on first write, on HILT's writer thread, which then owns the connection.
        if self.db is None:
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, "
                "session_id TEXT, action TEXT, line TEXT)"
            )
        return self.db


@hookimpl
def backend_open(name: str, options: Mapping[str, Any]) -> SqliteLog:
    path = Path(options.get("filepath") or "logs/hilt.sqlite3")
    if not path.parent.is_dir():
        raise ConfigError(f"The folder {path.parent} does not exist; create it first")
    return SqliteLog(path)


@hookimpl
def backend_write(handle: SqliteLog, events: Sequence[Event]) -> None:
    db = handle.connect()
    with db:  # one transaction per batch
        db.executemany(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
            [(e.event_id, e.session_id, e.action, dumps(e).decode()) for e in events],
        )


@hookimpl
def backend_close(handle: SqliteLog, flush_only: bool) -> None:
    if not flush_only and handle.db is not None:
        handle.db.close()
        handle.db = None


@hookimpl
def backend_read(handle: SqliteLog) -> Iterator[Event]:
    db = sqlite3.connect(handle.path)
    try:
        for (line,) in db.execute("SELECT line FROM events ORDER BY event_id"):
            yield Event.from_dict(loads(line))
    finally:
        db.close()
