"""Reading big logs with several processes: files cut into byte ranges, one per task.

A range holds the lines that *begin* inside it, so every line is read by exactly one
task wherever the cuts fall. Tasks run in a process pool (fork in a single-threaded
process such as the CLI, spawn otherwise); their warnings are collected and logged once
by the parent, and a shared counter of bytes read drives the progress bar.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from hilt.reading import seek_range

R = TypeVar("R")
Progress = Callable[[int], None]

# Below this total size one process reads everything: starting workers costs more.
PARALLEL_FROM = 64 << 20
_MIN_CHUNK = 8 << 20

__all__ = ["Task", "default_workers", "run", "seek_range", "split"]


class Task(NamedTuple):
    path: str
    start: int
    end: int | None  # None: to the end of the file
    offset: int  # where the file starts in the bytes of all files (for progress)


def default_workers(paths: Sequence[Path], from_bytes: int = PARALLEL_FROM) -> int:
    """One process per CPU (at most 8) when the logs hold ``from_bytes`` or more."""
    total = sum(p.stat().st_size for p in paths)
    return min(os.cpu_count() or 1, 8) if total >= from_bytes else 1


def split(
    paths: Sequence[Path],
    workers: int,
    chunk_bytes: int | None = None,
    min_chunk: int = _MIN_CHUNK,
) -> list[Task]:
    """Tasks covering ``paths``: whole files for one worker, else ranges of about
    ``chunk_bytes`` (default: a quarter of each worker's share, at least ``min_chunk``)."""
    sizes = [p.stat().st_size for p in paths]
    chunk = chunk_bytes or max(min_chunk, -(-sum(sizes) // (max(workers, 1) * 4)))
    tasks: list[Task] = []
    offset = 0
    for path, size in zip(paths, sizes, strict=True):
        if workers <= 1 or size <= chunk:
            tasks.append(Task(str(path), 0, None, offset))
        else:
            bounds = list(range(0, size, chunk))
            for i, lo in enumerate(bounds):
                hi = bounds[i + 1] if i + 1 < len(bounds) else None
                tasks.append(Task(str(path), lo, hi, offset))
        offset += size
    return tasks


def run(
    fn: Callable[[Task, Progress | None], R],
    tasks: Sequence[Task],
    workers: int,
    progress: Progress | None = None,
) -> list[R]:
    """``fn(task, progress)`` for every task, in order of the tasks. ``fn`` must be a
    module-level function (or a ``functools.partial`` of one) to reach the workers."""
    if workers <= 1 or len(tasks) <= 1:
        return [fn(task, progress) for task in tasks]
    # fork is quick and safe in a single-threaded process (the CLI); with threads
    # running (an application, a test session), spawn a fresh interpreter instead.
    methods = multiprocessing.get_all_start_methods()
    method = "fork" if "fork" in methods and threading.active_count() == 1 else "spawn"
    ctx = multiprocessing.get_context(method)
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=ctx,
        initializer=_init,
        initargs=(counter,),
    ) as pool:
        futures = [pool.submit(_call, fn, task) for task in tasks]
        pending = set(futures)
        while pending:
            _done, pending = wait(pending, timeout=0.1)
            if progress is not None:
                progress(counter.value)
        outcomes = [f.result() for f in futures]
    logger = logging.getLogger("hilt")
    results = []
    for result, warnings in outcomes:
        for level, message in warnings:
            logger.log(level, "%s", message)
        results.append(result)
    return results


_COUNTER: list[Any] = []


def _init(counter: Any) -> None:
    _COUNTER[:] = [counter]


def _call(fn: Callable[[Task, Progress | None], R], task: Task) -> tuple[R, list[tuple[int, str]]]:
    counter = _COUNTER[0]
    last = [task.start]

    def progress(done: int) -> None:
        here = done - task.offset
        with counter.get_lock():
            counter.value += here - last[0]
        last[0] = here

    captured: list[tuple[int, str]] = []
    handler = _Capture(captured)
    logger = logging.getLogger("hilt")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        result = fn(task, progress)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    return result, captured


class _Capture(logging.Handler):
    """Keeps a worker's warnings, for the parent to log once."""

    def __init__(self, into: list[tuple[int, str]]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append((record.levelno, record.getMessage()))
