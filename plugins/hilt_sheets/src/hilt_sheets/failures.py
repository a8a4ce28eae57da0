"""What a failed request means for the rows: retry, check before retrying, or wait for a
person to fix something; and what to tell that person."""

from __future__ import annotations

from typing import Literal

Kind = Literal["transient", "ambiguous", "permanent"]

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Refused before anything was done: a plain retry is safe. Any other retryable status (5xx)
# can come back for a request Google applied (the append is in the sheet), so the rows are
# looked up by event_id before they are sent again.
NOT_APPLIED_STATUS = frozenset({408, 429})


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a gspread error (also when gspread wrapped it)."""
    import gspread

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, gspread.exceptions.APIError):
            code = seen.code if seen.code != -1 else None  # -1: a non-JSON answer
            return code or getattr(seen.response, "status_code", None)
        seen = seen.__cause__
    return None


def classify(exc: BaseException) -> Kind:
    """``transient``: not applied, retry. ``ambiguous``: may have been applied (the answer
    was lost, or was a 5xx), so check the sheet before sending again. ``permanent``:
    retrying cannot help until someone changes something (sharing, sheet id, key)."""
    import gspread
    import requests
    from google.auth import exceptions as auth_errors

    if isinstance(exc, (gspread.exceptions.SpreadsheetNotFound, PermissionError)):
        return "permanent"
    if isinstance(exc, gspread.exceptions.WorksheetNotFound):
        return "permanent"
    status = status_of(exc)
    if status is not None:
        if status in NOT_APPLIED_STATUS:
            return "transient"
        return "ambiguous" if status in RETRY_STATUS else "permanent"
    if isinstance(exc, auth_errors.RefreshError):
        return "transient" if exc.retryable else "permanent"
    if isinstance(exc, auth_errors.TransportError):
        return "transient"  # the token endpoint was not reached: nothing was written
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "transient"
    return "ambiguous"  # connection dropped, read timeout, garbled answer, ...


def describe(exc: BaseException, sheet_id: str, worksheet: str, account: str) -> str:
    """A message that says what went wrong and what to do about it."""
    import gspread
    from google.auth import exceptions as auth_errors

    status = status_of(exc)
    if isinstance(exc, PermissionError) or status == 403:
        return (
            f"Google Sheets refused access to spreadsheet {sheet_id!r} (403 PERMISSION_DENIED). "
            f"Share the sheet with {account} as Editor (Share button, paste that address)."
        )
    if isinstance(exc, gspread.exceptions.SpreadsheetNotFound) or status == 404:
        return (
            f"Google Sheets has no spreadsheet {sheet_id!r} (404 NOT_FOUND): check sheet_id / "
            "GOOGLE_SHEET_ID, the part of the sheet's URL between /d/ and /edit."
        )
    if isinstance(exc, gspread.exceptions.WorksheetNotFound):
        return f"The spreadsheet {sheet_id!r} has no tab named {worksheet!r}."
    if isinstance(exc, auth_errors.RefreshError):
        return (
            f"Google refused the credentials of {account} ({exc}). The key may have been "
            "deleted or disabled: create a new JSON key for the service account."
        )
    if status == 429:
        return f"Google Sheets quota exceeded for {account} (429); retrying more slowly."
    if status is not None:
        return f"Google Sheets answered {status}: {exc}"
    return f"{type(exc).__name__}: {exc}"
