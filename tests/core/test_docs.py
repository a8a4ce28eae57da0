"""The docs keep up with the code: every hook documented with its exact arguments."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from hilt_core import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "hilt_spec")
)


def test_the_hooks_are_the_eight_of_the_contract() -> None:
    assert HOOKS == [
        "backend_close", "backend_open", "backend_read", "backend_write",
        "event_enrich", "provider_patch", "redact", "session_open",
    ]  # fmt: skip


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc) > 40, f"{hook} needs a docstring saying when it fires and what it returns"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    args = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"`{hook}({args})`" in (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert f"`{hook}" in (DOCS / "architecture.md").read_text(encoding="utf-8")
