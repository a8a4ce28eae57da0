"""Versions come from the installed distributions' metadata, never from a copy in code.

``hilt_core.__version__`` and ``hilt.__version__`` are read on first use:
``importlib.metadata`` costs more to import than the rest of ``import hilt``.
"""

from __future__ import annotations

from functools import cache

UNKNOWN = "0+unknown"


@cache
def version_of(distribution: str) -> str:
    """The installed version of ``distribution`` (``"hilt-core"`` or ``"hilt_core"``: names
    are normalised), or ``"0+unknown"`` when it is not installed (its source folder put on
    ``sys.path`` by hand)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return UNKNOWN


__all__ = ["UNKNOWN", "version_of"]
