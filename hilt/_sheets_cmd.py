"""``hilt sheets status`` and ``hilt sheets replay``: the rows that wait in the Sheets
backend's spill files, and sending them without running the application again.

A program that exits while Google Sheets is unreachable leaves its rows in a spill file
(``~/.local/share/hilt/sheets/spill-*.jsonl`` by default); the next session that opens
the same sheet sends them. These commands show what waits, and send it now.
"""

from __future__ import annotations

import argparse
import importlib
import os
import stat
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from hilt_core import HILTError

EXIT_OK = 0
EXIT_WAITING = 1
_INSTALL = 'the Google Sheets plugin is not installed: pip install "hilt[sheets]"'


@dataclass
class SpillFile:
    path: str
    sheet_id: str | None
    worksheet: str | None
    rows: int
    oldest: str | None
    newest: str | None
    bytes: int
    mode: str
    problem: str | None = None


def add_parser(sub: Any) -> None:
    """Register ``hilt sheets`` on the main parser's subcommands."""
    p = sub.add_parser(
        "sheets",
        help="rows waiting for Google Sheets in spill files: status, replay",
        description="The rows the Google Sheets backend could not send yet (kept in spill "
        "files), and sending them now.",
    )
    actions = p.add_subparsers(dest="sheets_command", metavar="ACTION", required=True)

    s = actions.add_parser("status", help="which spill files hold rows, for which sheet")
    s.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="spill files or directories (default: the default spill directory)",
    )
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(handler=cmd_status)

    r = actions.add_parser("replay", help="send the rows of spill files to their sheet")
    r.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="spill files or directories (default: every file in the default spill directory)",
    )
    r.add_argument("--sheet-id", help="send to this spreadsheet (default: the file's own)")
    r.add_argument("--worksheet", help="send to this tab (default: the file's own)")
    r.add_argument(
        "--credentials",
        metavar="KEY.json",
        help="service-account key (default: $GOOGLE_CREDENTIALS_PATH)",
    )
    r.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to try, per file (default 60)",
    )
    r.add_argument(
        "--http-client",
        metavar="MODULE:CLASS",
        help="a gspread.HTTPClient subclass to send requests with (as http_client=)",
    )
    r.set_defaults(handler=cmd_replay)


def _sheets() -> tuple[Any, Any]:
    try:
        settings = importlib.import_module("hilt_sheets.settings")
        spill = importlib.import_module("hilt_sheets.spill")
    except ImportError as exc:
        raise HILTError(_INSTALL) from exc
    return settings, spill


def spill_files(paths: list[str]) -> list[Path]:
    """The spill files named, or found in the directories named (default: the default
    spill directory)."""
    settings, _ = _sheets()
    found: list[Path] = []
    for raw in paths or [str(settings.data_dir())]:
        path = Path(raw).expanduser()
        if path.is_dir() and not path.is_symlink():
            found.extend(p for p in sorted(path.glob("*.jsonl")) if _is_spill(p))
        elif path.exists() or path.is_symlink():
            found.append(path)
        elif paths:
            raise HILTError(f"no such spill file or directory: {raw}")
    return found


def _is_spill(path: Path) -> bool:
    """A spill file by its name (the default ``spill-...jsonl``) or its header line; a
    directory may also hold HILT logs, which are not."""
    if path.name.startswith("spill"):
        return True
    try:
        with open(path, "rb") as f:
            return b'"hilt_spill"' in f.readline(4096)
    except OSError:
        return False


def describe(path: Path) -> SpillFile:
    _, spill_mod = _sheets()
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise HILTError(f"cannot read {path}: {exc.strerror}") from exc
    out = SpillFile(
        str(path), None, None, 0, None, None, st.st_size, f"{stat.S_IMODE(st.st_mode):04o}"
    )
    try:
        spill_mod.check_path(path)
        header, rows = spill_mod.Spill(path).peek()
    except OSError as exc:
        out.problem = f"refused: it {exc.strerror}"
        return out
    out.sheet_id = header.get("sheet_id")
    out.worksheet = header.get("worksheet")
    out.rows = len(rows)
    stamps = sorted(str(r["timestamp"]) for r in rows if r.get("timestamp"))
    out.oldest, out.newest = (stamps[0], stamps[-1]) if stamps else (None, None)
    if stat.S_IMODE(st.st_mode) & 0o077:
        out.problem = f"readable by other users ({out.mode}): chmod 600 {path}"
    return out


def cmd_status(args: argparse.Namespace) -> int:
    files = [describe(p) for p in spill_files(args.paths)]
    out = sys.stdout
    if args.json:
        out.write(orjson.dumps([asdict(f) for f in files], option=orjson.OPT_INDENT_2).decode())
        out.write("\n")
        return EXIT_OK
    settings, _ = _sheets()
    where = ", ".join(args.paths) if args.paths else str(settings.data_dir())
    if not files:
        out.write(f"No spill files in {where}: no rows wait for Google Sheets.\n")
        return EXIT_OK
    for f in files:
        out.write(f"{f.path}\n")
        if f.sheet_id:
            target = f"sheet {f.sheet_id}, tab {f.worksheet!r}"
        else:
            target = "a sheet this file does not name (written by an older HILT)"
        when = f" (oldest {f.oldest}, newest {f.newest})" if f.oldest else ""
        if not f.problem or not f.problem.startswith("refused"):
            out.write(f"  {f.rows} rows wait for {target}{when}\n")
        if f.problem:
            out.write(f"  {f.problem}\n")
    total = sum(f.rows for f in files)
    out.write(
        f"{len(files)} spill file{'s' if len(files) != 1 else ''}, {total} rows waiting."
        + (" Send them: hilt sheets replay" if total else "")
        + "\n"
    )
    return EXIT_OK


def _http_client(spec: str | None) -> Any:
    if not spec:
        return None
    module, _, name = spec.partition(":")
    if not module or not name:
        raise HILTError(f"--http-client wants MODULE:CLASS, not {spec!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise HILTError(f"cannot load --http-client {spec}: {exc}") from exc


def replay_file(
    path: Path,
    *,
    sheet_id: str | None,
    worksheet: str | None,
    credentials: str | None,
    timeout: float,
    http_client: Any,
) -> tuple[int, int, str]:
    """Send one file's rows; return (rows sent or found already there, rows left, why)."""
    import hilt

    info = describe(path)
    if info.problem and info.problem.startswith("refused"):
        raise HILTError(f"{path}: {info.problem}")
    if not info.rows:
        return 0, 0, ""
    sheet_id = sheet_id or info.sheet_id
    worksheet = worksheet or info.worksheet
    if not sheet_id or not worksheet:
        raise HILTError(
            f"{path} does not say which sheet its rows are for (written by an older HILT): "
            "give --sheet-id and --worksheet"
        )
    options: dict[str, Any] = {
        "sheet_id": sheet_id,
        "worksheet_name": worksheet,
        "spill_path": path,
        "flush_timeout": timeout,
        "close_timeout": 1.0,  # the flush did the trying
    }
    if credentials:
        options["credentials_path"] = credentials
    if http_client is not None:
        options["http_client"] = http_client
    session = hilt.Session(backend="sheets", **options)
    try:
        session.flush(timeout + 5)
        stats = dict(session.handle.stats)
    finally:
        session.close()
    left = describe(path).rows if path.exists() else 0
    sent = stats.get("replayed", 0) + stats.get("skipped_duplicates", 0)
    return sent, left, str(stats.get("last_error") or "")


def cmd_replay(args: argparse.Namespace) -> int:
    files = spill_files(args.paths)
    http_client = _http_client(args.http_client)
    out = sys.stdout
    if not files:
        out.write("No spill files: no rows wait for Google Sheets.\n")
        return EXIT_OK
    waiting = 0
    for path in files:
        sent, left, why = replay_file(
            path,
            sheet_id=args.sheet_id,
            worksheet=args.worksheet,
            credentials=args.credentials,
            timeout=args.timeout,
            http_client=http_client,
        )
        waiting += left
        if left:
            out.write(f"{path}: {sent} rows sent, {left} still wait ({why or 'timed out'})\n")
        else:
            out.write(f"{path}: {sent} rows sent; nothing waits\n")
    return EXIT_WAITING if waiting else EXIT_OK
