"""The docs keep up with the code: every hook documented with its exact arguments."""

from __future__ import annotations

import inspect
import re
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


def test_the_provider_kit_example_is_the_openai_plugins_own_run() -> None:
    test = (Path(__file__).resolve().parents[1] / "openai" / "test_contract.py").read_text(
        encoding="utf-8"
    )
    body = test[test.index("from __future__") :]
    assert f"```python\n{body}```\n" in (DOCS / "plugins.md").read_text(encoding="utf-8")


def test_every_provider_contract_name_in_the_docs_exists() -> None:
    from hilt_core import provider

    doc = (DOCS / "plugins.md").read_text(encoding="utf-8")
    for name in ("Call", "StreamRecord", "tokens", "Prompt", "Completion"):
        assert f"`{name}" in doc
        assert hasattr(provider, name)


def test_every_option_a_builtin_plugin_takes_is_documented() -> None:
    from hilt_core import Registry
    from hilt_core.options import CORE_OPTIONS, declared

    reg = Registry()
    reg.load()
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    text += (DOCS.parent / "README.md").read_text(encoding="utf-8")
    missing = []
    for name, plugin in reg.pm.list_name_plugin():
        for option in declared(plugin) or {}:
            if not re.search(rf"\b{option}\b", text):
                missing.append(f"{name}: {option}")
    arch = (DOCS / "architecture.md").read_text(encoding="utf-8")
    missing += [
        f"core: {o}" for o, what in CORE_OPTIONS.items() if f"| `{o}` | {what} |" not in arch
    ]
    assert not missing, f"options no page documents: {missing}"
