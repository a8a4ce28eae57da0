"""Where HILT finds files: paths users give, the log files they name, its data folder.

- A path given by the user (``filepath=``, ``spill_path=``, ``prices_file=``, a key file)
  may start with ``~``: :func:`user_path`.
- Log files are named by files, folders (their ``*.jsonl`` files) and glob patterns:
  :func:`log_files`, for ``hilt.reading``, every CLI command and ``hilt erase``.
- HILT's per-user data folder (the salt of ``capture="hash"``, the Sheets spill files)
  is the platform's, from platformdirs: ``$XDG_DATA_HOME/hilt`` (``~/.local/share/hilt``)
  on Linux, ``~/Library/Application Support/hilt`` on macOS (``$XDG_DATA_HOME/hilt`` when
  that is set), ``%LOCALAPPDATA%\\hilt`` on Windows. An earlier HILT kept its salt in
  ``~/.local/share/hilt`` on macOS too: :func:`legacy_data_dir` is where to look for it.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from hilt_core.errors import HILTError

APP = "hilt"
PathArg = str | os.PathLike[str]


def user_path(path: PathArg) -> Path:
    """A path the user gave, with ``~`` expanded."""
    return Path(os.fspath(path)).expanduser()


def data_dir() -> Path:
    """HILT's per-user data folder (not created here)."""
    import platformdirs  # only the hash salt and the Sheets spill need it

    return platformdirs.user_data_path(APP, appauthor=False)


def legacy_data_dir() -> Path | None:
    """The data folder of an earlier HILT, by its own rule, when that is not
    :func:`data_dir` (macOS without ``$XDG_DATA_HOME``): where its salt may be."""
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    old = Path(base) / APP
    return None if old == data_dir() else old


_GLOB_CHARS = frozenset("*?[")


def log_files(*paths: PathArg) -> list[Path]:
    """The log files named by ``paths`` (files, folders and glob patterns), in the order
    given, each once; a folder stands for its ``*.jsonl`` files (hidden ones left out),
    and each pattern's or folder's files are sorted by name (rotated files sort oldest
    first).

    Raises :class:`HILTError` for a missing file, a pattern that matches nothing, or a
    folder without logs (with the pattern to use instead).
    """
    if not paths:
        raise HILTError("No log file given")
    found: list[Path] = []
    for raw in paths:
        text = os.fspath(raw)
        if _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            matched = [Path(m) for m in matches if not Path(m).is_dir()]
            if not matched:
                raise HILTError(f"No file matches {text!r}")
            found.extend(matched)
            continue
        p = user_path(text)
        if p.is_dir():
            inside = sorted(q for q in p.glob("*.jsonl") if q.is_file() and q.name[0] != ".")
            if not inside:
                raise HILTError(
                    f"{p} is a directory with no *.jsonl file in it; give the log files, "
                    f"or a pattern such as '{p / '**' / '*.jsonl'}'"
                )
            found.extend(inside)
            continue
        if not p.exists():
            raise HILTError(f"File not found: {p}")
        found.append(p)
    return list(dict.fromkeys(found))


__all__ = ["APP", "PathArg", "data_dir", "legacy_data_dir", "log_files", "user_path"]
