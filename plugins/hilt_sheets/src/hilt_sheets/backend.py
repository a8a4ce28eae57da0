"""The handle the core holds: opens and checks the sheet at ``instrument()`` time, then
hands rows to the upload thread and answers flush, close and read."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hilt_core import ConfigError, Event, HILTError, SessionError, shutdown
from hilt_core.columns import from_row
from hilt_sheets.cells import Repairs, event_rows
from hilt_sheets.connect import build_client
from hilt_sheets.failures import classify, describe
from hilt_sheets.settings import Settings, read_settings
from hilt_sheets.spill import Spill, UnsafeSpillPath
from hilt_sheets.target import Target
from hilt_sheets.uploader import Uploader

if TYPE_CHECKING:
    import gspread

log = logging.getLogger("hilt")


class SheetsUnavailable(HILTError):
    """Rows could not reach the sheet in time; they are kept in the spill file."""


class SheetsBackend:
    """One worksheet of one spreadsheet, written through an upload thread."""

    def __init__(
        self,
        settings: Settings,
        client: gspread.Client,
        account: str,
        target: Target | None,
        uploader: Uploader | None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.account = account
        self.target = target
        self.uploader = uploader

    @property
    def sheet_id(self) -> str:
        return self.settings.sheet_id

    @property
    def worksheet_name(self) -> str:
        return self.settings.worksheet_name

    @property
    def columns(self) -> list[str]:
        return list(self.settings.columns)

    @property
    def spill_path(self) -> Path:
        return self.settings.spill_path

    @property
    def stats(self) -> dict[str, Any]:
        """Counters (uploaded, appends, retries, spilled, replayed, skipped_duplicates,
        failures, repaired, lost), ``buffered`` rows, ``down``, ``spill_pending`` and
        ``last_error``."""
        return self.uploader.snapshot() if self.uploader is not None else {}

    def write(self, events: Sequence[Event]) -> None:
        if self.uploader is None:
            raise SessionError("This Sheets session was opened with mode='r' (read only)")
        s = self.settings
        repairs = Repairs()
        rows = event_rows(events, s.columns, s.message_limit, repairs)
        if repairs:
            # One bad event costs that event only: the batch goes on, and this says which.
            self.uploader.count("repaired", repairs.events)
            log.warning(
                "HILT repaired events on their way to Google Sheet %r: %s. The other events "
                "of the batch are written as they are.",
                s.sheet_id,
                repairs.describe(),
            )
        self.uploader.put(rows)

    def flush(self) -> None:
        if self.uploader is None:
            return
        if not self.uploader.flush(self.settings.flush_timeout):
            raise SheetsUnavailable(self._unavailable("flush"))

    @property
    def close_timeout(self) -> float:
        """How long a close may take (``close()`` and ``uninstrument()`` wait for it)."""
        return self.settings.close_timeout

    def close(self) -> None:
        if self.uploader is None:
            return
        # At interpreter exit every session shares HILT_EXIT_TIMEOUT: the close gets what
        # is left of it, and what it cannot send waits in the spill file.
        timeout = shutdown.close_time_left(self.settings.close_timeout)
        if not self.uploader.close(timeout):
            raise SheetsUnavailable(self._unavailable("close", timeout))

    def _unavailable(self, when: str, timeout: float = 0.0) -> str:
        if self.uploader is None:
            return f"the {when} did not finish"
        s = self.settings
        stats = self.uploader.snapshot()
        why = str(stats.get("last_error") or f"not done within the {when} timeout").rstrip(".")
        waiting = self.uploader.waiting()
        lost = f" {stats['lost']} rows were lost (see the errors above)." if stats["lost"] else ""
        if when == "flush":
            return (
                f"{waiting} rows are not in Google Sheet {s.sheet_id!r} yet ({why}); they wait "
                f"in {s.spill_path} and are replayed, in order, when the sheet is reachable "
                f"again, or by the next session that opens it.{lost}"
            )
        if timeout < s.close_timeout:  # cut short by the exit's budget
            bound = f"{timeout:.1f} s left of the exit's HILT_EXIT_TIMEOUT"
        else:
            bound = f"close_timeout {s.close_timeout:g} s"
        return (
            f"{waiting} rows were not sent to Google Sheet {s.sheet_id!r} at close ({why}; "
            f"{bound}); they wait in {s.spill_path}: the next session that opens this sheet "
            f"sends them, or run `hilt sheets replay {s.spill_path}`.{lost}"
        )

    def _fetch(self) -> list[dict[str, Any]]:
        target = self.target
        if self.uploader is not None:
            target = self.uploader.target or target
        if target is None:
            target = self._open_target()
        return list(target.records())

    def _open_target(self) -> Target:
        s = self.settings
        return Target.open(self.client, s.sheet_id, s.worksheet_name, s.columns, create=False)

    def read(self) -> Iterator[Event]:
        """The sheet's rows as minimal events (0.2.8's ``read()`` for sheets)."""
        if self.uploader is not None:
            records = self.uploader.call(self._fetch, self.settings.flush_timeout)
        else:
            records = self._fetch()
        for number, record in enumerate(records, 2):
            try:
                yield from_row(record)
            except (ValueError, TypeError) as exc:
                log.warning("HILT skipped row %d of the sheet (not an event: %s)", number, exc)


def _open_checked(
    settings: Settings, client: gspread.Client, account: str
) -> tuple[Target | None, str]:
    """Open the tab (creating it and merging the header when writing). Problems someone
    must fix raise a ConfigError now; a sheet that is only unreachable for the moment
    starts the session degraded (rows spill until it answers)."""
    s = settings
    try:
        target = Target.open(
            client, s.sheet_id, s.worksheet_name, s.columns, create=not s.read_only
        )
    except Exception as exc:
        message = describe(exc, s.sheet_id, s.worksheet_name, account)
        if s.read_only or classify(exc) == "permanent":
            raise ConfigError(message) from exc
        log.warning(
            "HILT cannot reach Google Sheet %r yet (%s); rows are kept in %s until it answers",
            s.sheet_id,
            message,
            s.spill_path,
        )
        return None, message
    return target, ""


def open_backend(options: Mapping[str, Any]) -> SheetsBackend:
    settings = read_settings(options)
    spill = Spill(
        settings.spill_path,
        {"sheet_id": settings.sheet_id, "worksheet": settings.worksheet_name},
    )
    if not settings.read_only:
        try:
            spill.check()
        except UnsafeSpillPath as exc:
            message = f"HILT will not use spill file {exc.filename}: it {exc.strerror}"
            raise ConfigError(message) from exc
    client, account = build_client(options, settings.http_timeout)
    target, problem = _open_checked(settings, client, account)
    if settings.read_only:
        return SheetsBackend(settings, client, account, target, None)

    def connect() -> Target:
        s = settings
        return Target.open(client, s.sheet_id, s.worksheet_name, s.columns, create=True)

    uploader = Uploader(
        settings,
        target=target,
        connect=connect,
        spill=spill,
        account=account,
        last_error=problem,
    )
    return SheetsBackend(settings, client, account, target, uploader)
