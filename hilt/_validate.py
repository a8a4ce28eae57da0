"""``hilt validate``: every line of a log checked against the JSON Schema of format v1.

The schema ships inside ``hilt_core`` (``hilt_core.schema.load()``); checking it needs
``jsonschema``. Without it, lines are checked by HILT's own reader only, and the command
says so. Each wrong line is named with its number, the failing field and why. Big logs
are checked by several processes (byte ranges, as ``hilt stats`` does); jsonschema is
thorough but slow, so this matters.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import orjson

from hilt import _pool
from hilt._pool import Progress, Task
from hilt_core.decode import event_from_data, is_row

_ERRORS_PER_LINE = 3
Checker = Callable[[Any], list[str]]


@dataclass
class FileResult:
    path: Path
    lines: int = 0
    valid: int = 0
    legacy: int = 0  # hilt-python 0.2.8 lines
    rows: int = 0  # lines of the flat columns= form
    problems: list[tuple[int, str]] = field(default_factory=list)
    numbered: int = 0  # lines counted, blank ones too (to number the next range's lines)

    @property
    def invalid(self) -> int:
        return self.lines - self.valid


def have_jsonschema() -> bool:
    try:
        importlib.import_module("jsonschema")
    except ImportError:
        return False
    return True


def _inline(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    # Local $refs replaced by what they name: jsonschema resolves a $ref on every use,
    # and the schema has no recursion, so this makes each line's check ~1.6x faster.
    if depth > 32:
        raise ValueError("the schema nests too deep to inline")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return _inline(defs[ref.rsplit("/", 1)[1]], defs, depth + 1)
        return {k: _inline(v, defs, depth + 1) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs, depth + 1) for v in node]
    return node


@cache
def schema_checker() -> Checker | None:
    """A function giving the schema errors of a decoded line ("field: why"), or None when
    jsonschema is not installed. Built once per process."""
    if not have_jsonschema():
        return None
    jsonschema = importlib.import_module("jsonschema")
    from hilt_core import schema

    raw = schema.load()
    try:
        flat = _inline(raw, raw.get("$defs", {}))
    except (KeyError, ValueError):
        flat = raw
    validator = jsonschema.Draft202012Validator(flat)

    def check(data: Any) -> list[str]:
        try:
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        except RecursionError:  # jsonschema quotes a wrong value whole, recursively
            return ["(line): nested too deep to check (a value holds hundreds of levels)"]
        out = []
        for err in errors[:_ERRORS_PER_LINE]:
            where = ".".join(str(p) for p in err.absolute_path) or "(line)"
            out.append(f"{where}: {_short(err.message)}")
        if len(errors) > _ERRORS_PER_LINE:
            out.append(f"... {len(errors) - _ERRORS_PER_LINE} more")
        return out

    return check


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _reader_errors(data: Any) -> list[str]:
    try:
        event_from_data(data)
    except KeyError as exc:
        return [f"{exc.args[0]}: required field missing"]
    except Exception as exc:
        return [f"(line): {_short(str(exc))}"]
    return []


def validate_files(
    paths: Sequence[Path],
    *,
    lenient: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk_bytes: int | None = None,
) -> list[FileResult]:
    """Check every line of ``paths``; one result per file, problems by line number."""
    # A schema check costs ~100x a decode: more processes pay off on much smaller logs.
    if workers is None:
        workers = _pool.default_workers(paths, from_bytes=2 << 20)
    tasks = _pool.split(paths, workers, chunk_bytes, min_chunk=1 << 20)
    parts = _pool.run(partial(_check_range, lenient=lenient), tasks, workers, progress)
    results: dict[str, FileResult] = {}
    for task, part in zip(tasks, parts, strict=True):
        res = results.setdefault(task.path, FileResult(Path(task.path)))
        res.problems.extend((res.numbered + n, p) for n, p in part.problems)
        res.numbered += part.numbered
        res.lines += part.lines
        res.valid += part.valid
        res.legacy += part.legacy
        res.rows += part.rows
    return [results[str(p)] for p in paths]


def _check_range(task: Task, progress: Progress | None, *, lenient: bool) -> FileResult:
    check = schema_checker()
    result = FileResult(Path(task.path))
    stop = task.end if task.end is not None else -1
    with open(task.path, "rb") as fh:
        pos = _pool.seek_range(fh, task.start)
        for lineno, line in enumerate(fh, start=1):
            if pos >= stop >= 0:
                break
            pos += len(line)
            result.numbered = lineno
            if progress is not None and not lineno & 0xFFF:
                progress(task.offset + pos)
            if not line.strip():
                continue
            result.lines += 1
            problems = _check_line(line, check, lenient, result)
            if problems:
                result.problems.extend((lineno, p) for p in problems)
            else:
                result.valid += 1
    return result


def _check_line(line: bytes, check: Checker | None, lenient: bool, result: FileResult) -> list[str]:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if not line.endswith(b"\n"):
            return [
                f"(line): torn last line, cut short with no newline (a crash mid-write?): {exc}"
            ]
        return [f"(line): not JSON: {exc}"]
    if not isinstance(data, dict):
        return [f"(line): a JSON {type(data).__name__}, not an object"]
    if is_row(data):
        result.rows += 1
        if lenient:
            return _reader_errors(data)
        return ["(line): a flat row of the columns= form, not a full event (--lenient accepts)"]
    if "hilt_version" not in data and "actor" in data and not _reader_errors(data):
        result.legacy += 1  # what hilt-python 0.2.8 wrote: HILT reads it
        if lenient:
            return []
    errors = check(data) if check is not None else []
    return errors or _reader_errors(data)
