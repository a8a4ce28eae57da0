"""``hilt export``: logs as flat rows (the Sheets column vocabulary) in CSV or Parquet.

Rows are written as they are read, so a log of any size exports in constant memory. A
big log is cut into byte ranges converted by several processes, each into a part file
next to the output; the parts are then joined in order, so rows keep the order of the
log. Parquet needs pyarrow (``pip install "hilt[parquet]"``); its columns are typed:
``timestamp`` a UTC timestamp, token counts and ``status_code`` integers, ``cost_usd``,
``latency_ms`` and ``relevance_score`` floats, the rest strings; absent values are null.
"""

from __future__ import annotations

import csv
import importlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from hilt import _pool
from hilt._pool import Progress, Task
from hilt.reading import FLOAT_COLUMNS, INT_COLUMNS, Filter, file_records, rows_of
from hilt_core import HILTError
from hilt_core.values import timestamp_or_none

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
) -> int:
    """Write the rows of ``paths`` to ``output`` (or CSV to ``stdout``); return how many."""
    if fmt == "parquet":
        pyarrow()  # fail before reading anything when pyarrow is missing
        if not output:
            raise HILTError("--to parquet writes a file: give it with -o OUT.parquet")
    # A row costs several times a decode: more processes pay off on smaller logs.
    if workers is None:
        workers = _pool.default_workers(paths, from_bytes=16 << 20)
    tasks = _pool.split(paths, workers, chunk_bytes, min_chunk=4 << 20)
    convert = partial(_task_rows, columns=columns, message_limit=message_limit, keep=keep)
    if workers <= 1 or len(tasks) <= 1:
        source = (r for task in tasks for r in convert(task, progress))
        if fmt == "parquet":
            assert output is not None
            return write_parquet(source, columns, output)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                return write_csv(source, columns, fh)
        return write_csv(source, columns, stdout)
    where = Path(output).resolve().parent if output else None
    with tempfile.TemporaryDirectory(prefix=".hilt-export-", dir=where) as tmp:
        part = partial(_write_part, fmt=fmt, folder=tmp, columns=columns, convert=convert)
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
) -> tuple[str, int]:
    name = f"{folder}/part-{task.offset + task.start:016d}"
    rows = convert(task, progress)
    if fmt == "parquet":
        return name, write_parquet(rows, columns, name)
    with open(name, "w", encoding="utf-8", newline="") as fh:
        return name, write_csv(rows, columns, fh, header=False)


def _join_csv(parts: list[str], columns: list[str], out: IO[str]) -> None:
    csv.writer(out).writerow(columns)
    for part in parts:
        with open(part, encoding="utf-8", newline="") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)


def _join_parquet(parts: list[str], columns: list[str], output: str) -> int:
    pa, pq = pyarrow()
    n = 0
    with pq.ParquetWriter(output, _schema(pa, columns)[0]) as writer:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=_BATCH):
                writer.write_batch(batch)
                n += batch.num_rows
    return n


def write_csv(
    rows: Iterable[dict[str, Any]], columns: list[str], out: IO[str], *, header: bool = True
) -> int:
    writer = csv.writer(out)
    if header:
        writer.writerow(columns)
    n = 0
    for r in rows:
        writer.writerow([r[c] for c in columns])
        n += 1
    return n


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return None if value == "" or value is None else str(value)


def _schema(pa: Any, columns: list[str]) -> tuple[Any, list[Callable[[Any], Any]]]:
    fields = []
    convert: list[Callable[[Any], Any]] = []
    for c in columns:
        if c == "timestamp":
            fields.append(pa.field(c, pa.timestamp("us", tz="UTC")))
            convert.append(timestamp_or_none)
        elif c in INT_COLUMNS:
            fields.append(pa.field(c, pa.int64()))
            convert.append(_int)
        elif c in FLOAT_COLUMNS:
            fields.append(pa.field(c, pa.float64()))
            convert.append(_float)
        else:
            fields.append(pa.field(c, pa.string()))
            convert.append(_str)
    return pa.schema(fields), convert


def write_parquet(rows: Iterable[dict[str, Any]], columns: list[str], path: str) -> int:
    pa, pq = pyarrow()
    schema, convert = _schema(pa, columns)
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in _batches(rows, _BATCH):
            arrays = [
                pa.array([f(r[c]) for r in batch], type=fld.type)
                for c, f, fld in zip(columns, convert, schema, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(batch)
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
