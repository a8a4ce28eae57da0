"""``hilt export``: logs as flat rows (the Sheets column vocabulary) in CSV or Parquet.

Rows are written as they are read, so a log of any size exports in constant memory. A
big log is cut into byte ranges converted by several processes, each into a part file
next to the output; the parts are then joined in order, so rows keep the order of the
log. Parquet needs pyarrow (``pip install "hilt[parquet]"``); its columns are typed:
``timestamp`` a UTC timestamp, token counts and ``status_code`` integers, ``cost_usd``,
``latency_ms`` and ``relevance_score`` floats, the rest strings; absent values are null.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from hilt import _pool
from hilt._pool import Progress, Task
from hilt.reading import (
    FLOAT_COLUMNS,
    INT_COLUMNS,
    ColumnTypes,
    Filter,
    check_log,
    file_records,
    rows_of,
)
from hilt_core import HILTError

_BATCH = 65_536


def pyarrow() -> tuple[Any, Any]:
    """(pyarrow, pyarrow.parquet), or a HILTError that says what to install."""
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise HILTError(
            'hilt export --to parquet needs pyarrow: pip install "hilt[parquet]"'
        ) from None


def export(
    paths: Sequence[Path],
    *,
    fmt: str,
    output: str | None,
    stdout: IO[str],
    columns: list[str],
    message_limit: int | None,
    keep: Filter,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk_bytes: int | None = None,
    raw_cells: bool = False,
) -> int:
    """Write the rows of ``paths`` to ``output`` (or CSV to ``stdout``); return how many.
    CSV text cells a spreadsheet would run as formulas are neutralised (see
    :func:`write_csv`) unless ``raw_cells``."""
    if fmt == "parquet":
        pyarrow()  # fail before reading anything when pyarrow is missing
        if not output:
            raise HILTError("--to parquet writes a file: give it with -o OUT.parquet")
    for path in paths:  # a file that is no log fails before a header or a file is written
        check_log(path)
    # A row costs several times a decode: more processes pay off on smaller logs.
    if workers is None:
        workers = _pool.default_workers(paths, from_bytes=16 << 20)
    tasks = _pool.split(paths, workers, chunk_bytes, min_chunk=4 << 20)
    convert = partial(_task_rows, columns=columns, message_limit=message_limit, keep=keep)
    run = partial(
        _export_to,
        fmt=fmt,
        tasks=tasks,
        workers=workers,
        columns=columns,
        convert=convert,
        stdout=stdout,
        progress=progress,
        raw=raw_cells,
    )
    if not output:
        return run(None)
    with private_output(output) as target:
        return run(target)


def _export_to(
    output: str | None,
    *,
    fmt: str,
    tasks: list[Task],
    workers: int,
    columns: list[str],
    convert: Callable[[Task, Progress | None], Iterator[dict[str, Any]]],
    stdout: IO[str],
    progress: Progress | None,
    raw: bool,
) -> int:
    if workers <= 1 or len(tasks) <= 1:
        source = (r for task in tasks for r in convert(task, progress))
        if fmt == "parquet":
            assert output is not None
            return write_parquet(source, columns, output)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                return write_csv(source, columns, fh, raw=raw)
        return write_csv(source, columns, stdout, raw=raw)
    where = Path(output).parent if output else None
    with tempfile.TemporaryDirectory(prefix=".hilt-export-", dir=where) as tmp:
        part = partial(_write_part, fmt=fmt, folder=tmp, columns=columns, convert=convert, raw=raw)
        parts = _pool.run(part, tasks, workers, progress)
        if fmt == "parquet":
            assert output is not None
            return _join_parquet([p for p, _ in parts], columns, output)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                _join_csv([p for p, _ in parts], columns, fh)
        else:
            _join_csv([p for p, _ in parts], columns, stdout)
        return sum(n for _, n in parts)


@contextlib.contextmanager
def private_output(output: str) -> Iterator[str]:
    """The path to write an export to: a new file readable by its owner only (0600: it
    holds what users typed) beside ``output``, renamed over it once complete, removed if
    the export fails, so ``output`` is never seen half written and a failure leaves what
    was there before. A symbolic link is followed; an output that is not a regular file
    (``/dev/stdout``, a pipe) is written directly."""
    given = Path(output)
    if given.exists() and not given.is_file():  # both follow links, as open() does
        yield output
        return
    real = Path(os.path.realpath(given))
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.hilt-export-", suffix=".tmp", dir=real.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _task_rows(
    task: Task,
    progress: Progress | None,
    *,
    columns: list[str],
    message_limit: int | None,
    keep: Filter,
) -> Iterator[dict[str, Any]]:
    lines = file_records(
        Path(task.path), progress=progress, offset=task.offset, start=task.start, end=task.end
    )
    yield from rows_of(lines, columns, message_limit, keep)


def _write_part(
    task: Task,
    progress: Progress | None,
    *,
    fmt: str,
    folder: str,
    columns: list[str],
    convert: Callable[[Task, Progress | None], Iterator[dict[str, Any]]],
    raw: bool = False,
) -> tuple[str, int]:
    name = f"{folder}/part-{task.offset + task.start:016d}"
    rows = convert(task, progress)
    if fmt == "parquet":
        return name, write_parquet(rows, columns, name)
    with open(name, "w", encoding="utf-8", newline="") as fh:
        return name, write_csv(rows, columns, fh, header=False, raw=raw)


def _join_csv(parts: list[str], columns: list[str], out: IO[str]) -> None:
    csv.writer(out).writerow(columns)
    for part in parts:
        with open(part, encoding="utf-8", newline="") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)


def _join_parquet(parts: list[str], columns: list[str], output: str) -> int:
    pa, pq = pyarrow()
    n = 0
    with pq.ParquetWriter(output, _schema(pa, columns)) as writer:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=_BATCH):
                writer.write_batch(batch)
                n += batch.num_rows
    return n


# A cell that begins with one of these is run as a formula when the CSV is opened in a
# spreadsheet (CWE-1236; the full-width forms too, in some locales); a tab or a carriage
# return first is dropped by some importers, which then see what follows.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_SUSPECT = frozenset((*_FORMULA_START, " "))  # a cheap first test: most cells pass it


def neutralise(value: Any) -> Any:
    """``value`` made inert for a spreadsheet: text that could start a formula (after
    spaces) gets a leading apostrophe, which spreadsheets take as "this is text" and do
    not show; numbers and other text are left as they are."""
    if (
        type(value) is str
        and value[:1] in _SUSPECT
        and value.lstrip(" ").startswith(_FORMULA_START)
    ):
        return "'" + value
    return value


def write_csv(
    rows: Iterable[dict[str, Any]],
    columns: list[str],
    out: IO[str],
    *,
    header: bool = True,
    raw: bool = False,
) -> int:
    """Write ``rows`` as CSV; return how many. Unless ``raw``, text cells that a
    spreadsheet would run as formulas are neutralised (:func:`neutralise`)."""
    writer = csv.writer(out)
    if header:
        writer.writerow(columns)
    n = 0
    for r in rows:
        if raw:
            writer.writerow([r[c] for c in columns])
        else:
            writer.writerow([neutralise(r[c]) for c in columns])
        n += 1
    return n


def _schema(pa: Any, columns: list[str]) -> Any:
    fields = []
    for c in columns:
        if c == "timestamp":
            fields.append(pa.field(c, pa.timestamp("us", tz="UTC")))
        elif c in INT_COLUMNS:
            fields.append(pa.field(c, pa.int64()))
        elif c in FLOAT_COLUMNS:
            fields.append(pa.field(c, pa.float64()))
        else:
            fields.append(pa.field(c, pa.string()))
    return pa.schema(fields)


def write_parquet(rows: Iterable[dict[str, Any]], columns: list[str], path: str) -> int:
    """Write ``rows`` as Parquet with typed columns (:class:`hilt.reading.ColumnTypes`);
    values that do not fit their column are left empty, and a warning counts them."""
    pa, pq = pyarrow()
    schema = _schema(pa, columns)
    types = ColumnTypes()
    convert = [types.converter(c) for c in columns]
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in _batches(rows, _BATCH):
            arrays = [
                pa.array([f(r[c]) for r in batch], type=fld.type)
                for c, f, fld in zip(columns, convert, schema, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(batch)
    types.warn("export")
    return n


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
