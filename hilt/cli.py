"""The ``hilt`` command: look into HILT logs from a terminal.

    hilt demo                       log a few real SDK calls made against a local endpoint
    hilt tail FILE [-n N] [-f]      the last events as readable lines; -f follows the file
    hilt stats FILE...              calls, errors, tokens, cost, latency, grouped by a key
    hilt validate FILE...           check every line against the format's JSON Schema
    hilt export FILE... --to csv    flat rows (the Sheets columns) as CSV or Parquet
    hilt report FILE... -o OUT      one HTML page: overview and conversations; --serve
    hilt plugins                    installed plugins, their hooks, and failures
    hilt erase FILE... --user ID    remove a conversation's or a user's events
    hilt sheets status|replay       rows waiting for Google Sheets; send them now

Results go to stdout, warnings and progress to stderr (progress only on a terminal).
Exit codes: 0 done, 1 ``validate`` found invalid lines or ``erase`` could not search a
file, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from hilt_core import HILTError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2
_FILTERS = ("since", "until", "conversation", "model", "action", "user")


def _out() -> Any:
    return sys.stdout


def _err(message: str) -> None:
    from hilt._terminal import printable

    print(f"hilt: {printable(message)}", file=sys.stderr)


# -- demo ---------------------------------------------------------------------------------
def cmd_demo(argv: list[str]) -> int:
    try:
        demo = importlib.import_module("hilt.demo")
    except ImportError as exc:
        _err(f"the demo is not available in this installation ({exc})")
        return EXIT_ERROR
    try:
        code: int = demo.main(argv)
    except SystemExit as exc:  # the demo's own argparse: -h, a usage error
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    return code


# -- tail ---------------------------------------------------------------------------------
def cmd_tail(args: argparse.Namespace) -> int:
    from hilt import _tail
    from hilt.reading import files

    paths = files(args.file)
    if len(paths) != 1:
        names = ", ".join(str(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
        raise HILTError(f"tail reads one file; {args.file} names {len(paths)}: {names}")
    path = paths[0]
    width = args.width or shutil.get_terminal_size().columns
    try:
        _tail.tail(
            path,
            args.lines,
            _out(),
            width,
            follow_file=args.follow,
            interval=args.interval,
            notice=_err,
        )
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK


# -- stats --------------------------------------------------------------------------------
def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in _FILTERS if getattr(args, name) is not None}


def _total_size(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def cmd_stats(args: argparse.Namespace) -> int:
    from hilt import _stats
    from hilt._progress import Progress
    from hilt.reading import files, make_filter

    paths = files(*args.files)
    keep = make_filter(**_filters(args))
    with Progress(_total_size(paths), "hilt stats", enabled=_progress_flag(args)) as bar:
        report = _stats.compute(paths, by=args.by, keep=keep, progress=bar, workers=args.jobs)
    if args.json:
        data = report.as_dict(limit=args.limit or None)
        _out().write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        limit = 25 if args.limit is None else args.limit
        _out().write(_stats.render(report, limit=limit or None) + "\n")
    return EXIT_OK


def _progress_flag(args: argparse.Namespace) -> bool | None:
    return False if getattr(args, "no_progress", False) else None


# -- validate -----------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from hilt import _validate
    from hilt._progress import Progress
    from hilt._terminal import printable
    from hilt.reading import files

    paths = files(*args.files)
    if not _validate.have_jsonschema():
        _err(
            "jsonschema is not installed: lines are checked by HILT's reader only, not "
            "against the schema (pip install jsonschema for the full check)"
        )
    out = _out()
    with Progress(_total_size(paths), "hilt validate", enabled=_progress_flag(args)) as bar:
        results = _validate.validate_files(
            paths, lenient=args.lenient, progress=bar, workers=args.jobs
        )
    for res in results:
        shown = res.problems if args.max_errors == 0 else res.problems[: args.max_errors]
        if not args.quiet:
            for lineno, problem in shown:
                out.write(f"{res.path}:{lineno}: {printable(problem)}\n")
            if len(shown) < len(res.problems):
                out.write(f"{res.path}: ... and {len(res.problems) - len(shown):,} more\n")
        verdict = "all valid" if not res.invalid else f"{res.invalid:,} invalid"
        out.write(f"{res.path}: {res.lines:,} lines, {verdict}\n")
        if res.legacy and not args.lenient:
            out.write(
                f"{res.path}: {res.legacy:,} lines are hilt-python 0.2.8 lines (no "
                "hilt_version): HILT reads them, but they are not format v1 "
                "(--lenient accepts them)\n"
            )
    return EXIT_OK if all(not r.invalid for r in results) else EXIT_INVALID


# -- export -------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from hilt import _export
    from hilt._progress import Progress
    from hilt.reading import files, make_filter
    from hilt_core.columns import KNOWN_COLUMNS, check_columns

    fmt = args.to
    if fmt is None and args.output:
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(
            Path(args.output).suffix.lower()
        )
        if fmt is None:
            raise HILTError(
                f"cannot tell the format of {args.output}: add --to csv or --to parquet"
            )
    columns = (
        check_columns([c.strip() for c in args.columns.split(",") if c.strip()])
        if args.columns
        else None
    ) or list(KNOWN_COLUMNS)
    paths = files(*args.files)
    keep = make_filter(**_filters(args))
    with Progress(_total_size(paths), "hilt export", enabled=_progress_flag(args)) as bar:
        n = _export.export(
            paths,
            fmt=fmt or "csv",
            output=args.output,
            stdout=_out(),
            columns=columns,
            message_limit=args.message_limit,
            keep=keep,
            progress=bar,
            workers=args.jobs,
            raw_cells=args.raw_cells,
        )
    if args.output:
        _err(f"exported {n:,} rows to {args.output}")
    return EXIT_OK


# -- report -------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from hilt import _report
    from hilt.reading import make_filter

    filters = _filters(args)
    keep = make_filter(**filters)
    if args.serve:

        def ready(url: str) -> None:
            _err(f"serving the report on {url} (reload for new calls; Ctrl-C stops)")

        with contextlib.suppress(KeyboardInterrupt):
            _report.serve(
                args.files,
                port=args.port,
                keep=keep,
                filters=filters,
                max_conversations=args.conversations,
                ready=ready,
            )
        return EXIT_OK
    size, data = _report.write(
        args.files, args.output, keep=keep, filters=filters, max_conversations=args.conversations
    )
    if args.output != "-":
        total = data["total"]
        _err(
            f"wrote {args.output} ({size / 1e6:,.1f} MB): {total['calls']:,} calls, "
            f"{total['conversations']:,} conversations ({data['conversations_shown']:,} "
            "with their turns)"
        )
    return EXIT_OK


# -- plugins ------------------------------------------------------------------------------
def cmd_plugins(args: argparse.Namespace) -> int:
    from hilt._plugin_list import describe, render
    from hilt_core.registry import default_registry

    info = describe(default_registry())
    if args.json:
        _out().write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _out().write(render(info) + "\n")
    return EXIT_OK


# -- erase --------------------------------------------------------------------------------
def cmd_erase(args: argparse.Namespace) -> int:
    try:
        erase_module = importlib.import_module("hilt_jsonl.erase")
    except ImportError as exc:
        raise HILTError(f"erasure is not available in this installation ({exc})") from exc
    if not args.conversation and not args.user:
        raise HILTError("say whose events to erase: --conversation ID and/or --user ID")
    report = erase_module.erase(
        args.files,  # files, folders (their *.jsonl) and globs, expanded by erase()
        conversation_id=args.conversation,
        user_id=args.user,
        export_to=args.export,
        dry_run=args.dry_run,
    )
    if args.json:
        _out().write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _out().write(f"{report}\n")
    # A file it could not search (a compressed rotation) may still hold the person's data.
    return EXIT_INVALID if report.skipped else EXIT_OK


# -- parser -------------------------------------------------------------------------------
def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters (each may be repeated; all given must hold)")
    g.add_argument("--since", metavar="TIME", help="from TIME: 2026-11-27, 2026-11-27T14:00, 24h")
    g.add_argument("--until", metavar="TIME", help="before TIME (same forms)")
    g.add_argument("--conversation", action="append", metavar="ID", help="a session_id")
    g.add_argument("--model", action="append", metavar="NAME", help="model asked for or answering")
    g.add_argument("--action", action="append", metavar="ACTION", help="prompt, completion, ...")
    g.add_argument("--user", action="append", metavar="ID", help="extensions.user_id")


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    from hilt import __version__

    parser = argparse.ArgumentParser(
        prog="hilt",
        description="Look into HILT logs: tail, stats, validate, export; list plugins.",
        epilog="Run 'hilt COMMAND -h' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"hilt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "demo",
        help="log a few real OpenAI SDK calls made against a local endpoint (no key needed)",
        add_help=False,
    )

    p = sub.add_parser("tail", help="the last events of a log as readable lines")
    p.add_argument("file", help="a HILT JSONL log")
    p.add_argument("-n", "--lines", type=_positive, default=10, metavar="N", help="default 10")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.add_argument("--width", type=_positive, default=0, help="line width (default: terminal)")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between checks with -f")
    p.set_defaults(handler=cmd_tail)

    p = sub.add_parser("stats", help="calls, errors, tokens, cost, latency percentiles")
    p.add_argument("files", nargs="+", metavar="FILE", help="logs or glob patterns")
    p.add_argument(
        "--by",
        choices=["model", "day", "conversation", "user", "provider", "none"],
        default="model",
        help="group rows by this key (default: model)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="show the first N groups (default 25 as text, all with --json; 0: all)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="processes reading in parallel (default: one per CPU for logs over 64 MB)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_filters(p)
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("validate", help="check every line against the format's JSON Schema")
    p.add_argument("files", nargs="+", metavar="FILE", help="logs or glob patterns")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="accept hilt-python 0.2.8 lines and columns= rows that HILT can read",
    )
    p.add_argument(
        "--max-errors",
        type=_positive,
        default=50,
        metavar="N",
        help="problems shown per file (default 50; 0: all)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary lines")
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="processes (as for stats)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("export", help="flat rows (the Sheets columns) as CSV or Parquet")
    p.add_argument("files", nargs="+", metavar="FILE", help="logs or glob patterns")
    p.add_argument(
        "--to", choices=["csv", "parquet"], help="format (default: from -o's suffix, else csv)"
    )
    p.add_argument("-o", "--output", metavar="OUT", help="output file (CSV default: stdout)")
    p.add_argument("--columns", metavar="A,B,...", help="columns to write, in this order")
    p.add_argument(
        "--message-limit",
        type=_positive,
        metavar="N",
        help="cut message to N characters (Sheets uses 500; default: whole text)",
    )
    p.add_argument(
        "--raw-cells",
        action="store_true",
        help="CSV: write text starting with = + - @ as logged (default: a ' is put first, "
        "so a spreadsheet does not run it as a formula)",
    )
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="processes (as for stats)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_filters(p)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("report", help="one HTML page of a log: overview and conversations")
    p.add_argument("files", nargs="+", metavar="FILE", help="logs or glob patterns")
    p.add_argument(
        "-o", "--output", default="hilt-report.html", metavar="OUT", help="default hilt-report.html"
    )
    p.add_argument(
        "--conversations",
        type=_positive,
        default=500,
        metavar="N",
        help="the N most recent conversations carried with their text (default 500; 0: none)",
    )
    p.add_argument("--serve", action="store_true", help="serve the page on 127.0.0.1 instead")
    p.add_argument("--port", type=_positive, default=8765, help="with --serve (default 8765)")
    _add_filters(p)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("plugins", help="installed plugins, their hooks, and load failures")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_plugins)

    p = sub.add_parser("erase", help="remove a conversation's or a user's events from logs")
    p.add_argument("files", nargs="+", metavar="FILE", help="logs, folders or glob patterns")
    p.add_argument("--conversation", action="append", metavar="ID", help="a session_id to erase")
    p.add_argument("--user", action="append", metavar="ID", help="an extensions.user_id to erase")
    p.add_argument("--export", metavar="OUT.jsonl", help="first copy the events erased here")
    p.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(handler=cmd_erase)

    from hilt import _sheets_cmd

    _sheets_cmd.add_parser(sub)
    return parser


class _TerminalFormatter(logging.Formatter):
    """Warnings quote logs (an event id, a model name): escapes are shown, not run."""

    def format(self, record: logging.LogRecord) -> str:
        from hilt._terminal import printable

        return printable(super().format(record))


@contextlib.contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show the library's warnings (skipped lines...) on stderr while the command runs."""
    logger = logging.getLogger("hilt")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("hilt: %(levelname)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hilt`` with ``argv`` (default: the command line); return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["demo"]:
        return cmd_demo(args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # -h, --version, a usage error: argparse has said why
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if args.command is None:
        parser.print_help()
        return EXIT_ERROR
    with _warnings_to_stderr():
        try:
            code: int = args.handler(args)
        except HILTError as exc:
            _err(f"error: {exc}")
            return EXIT_ERROR
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                # The reader went away (| head): stop quietly, like other commands do.
                with contextlib.suppress(OSError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())
                return EXIT_OK
            _err(f"error: {exc}")
            return EXIT_ERROR
        except KeyboardInterrupt:
            return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
