"""The hook markers. One name everywhere: the pluggy project name, the entry-point group
and the logger are all ``hilt``."""

from __future__ import annotations

import pluggy

PROJECT = "hilt"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]
