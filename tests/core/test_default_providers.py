"""Defaults discovered, not hard-coded: instrument() without providers= patches every
provider plugin that declares itself on by default (HILT_DEFAULT) and whose SDK
(HILT_SDK) is importable; any other provider is patched only when named. The kernel keeps
no list of plugin names or packages."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import hilt
from hilt_core import Recorder, Registry, hookimpl

CORE = Path(__file__).resolve().parents[2] / "hilt_core" / "src" / "hilt_core"
# Provider plugins and packages. (The backend names "local" / "sheets" that 0.2.8's
# signature infers from filepath= / sheet_id=, and the "pii" redactor that
# capture="redacted" chooses, are the documented API, not a list of plugins.)
PROVIDERS = {"openai", "anthropic", "gemini", "langchain", "litellm"}


class Provider:
    def __init__(self, default: bool, sdk: str | tuple[str, ...] | None) -> None:
        self.HILT_DEFAULT = default
        self.HILT_SDK = sdk
        self.patched = 0

    @hookimpl
    def provider_patch(
        self, name: str, recorder: Recorder, options: Mapping[str, Any]
    ) -> Callable[[], None]:
        self.patched += 1
        return lambda: None


def test_only_providers_on_by_default_with_their_sdk_installed_are_patched(
    reg: Registry, memory: Any
) -> None:
    on = Provider(True, "json")  # an SDK that is importable
    missing = Provider(True, "no_such_sdk_hilt_test")
    named_only = Provider(False, "json")
    for name, plugin in (("on", on), ("missing", missing), ("named-only", named_only)):
        hilt.register_plugin(plugin, name=name)
    hilt.instrument(backend="memory")
    assert (on.patched, missing.patched, named_only.patched) == (1, 0, 0)
    hilt.instrument(backend="memory", providers=["named-only"])
    assert named_only.patched == 1
    assert on.patched == 1


def test_hilt_sdk_may_name_several_packages_any_of_which_will_do(
    reg: Registry, memory: Any
) -> None:
    # A provider that tells users of a deprecated SDK what to install lists both.
    either = Provider(True, ("no_such_sdk_hilt_test", "json"))
    neither = Provider(True, ("no_such_sdk_hilt_test", "no_such_sdk_hilt_test.sub"))
    hilt.register_plugin(either, name="either")
    hilt.register_plugin(neither, name="neither")
    hilt.instrument(backend="memory")
    assert (either.patched, neither.patched) == (1, 0)


def test_the_kernel_names_no_plugin() -> None:
    found = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and id(node) not in docstrings
                and isinstance(node.value, str)
                and (node.value in PROVIDERS or re.fullmatch(r"hilt-(?!writer)[a-z]+", node.value))
            ):
                found.append(f"{path.relative_to(CORE)}:{node.lineno} {node.value!r}")
    assert not found, found


def test_finding_no_sdk_to_patch_is_said_once_unless_asked_for_none(
    reg: Registry, memory: Any, caplog: Any
) -> None:
    hilt.register_plugin(Provider(True, "no_such_sdk_hilt_test"), name="missing")
    bare = Registry(entry_points=False)
    bare.register(memory, name="memory")
    bare.register(Provider(True, "no_such_sdk_hilt_test"), name="missing")
    from hilt_core import registry as registry_module

    saved = registry_module._default
    registry_module.set_default_registry(bare)
    try:
        hilt.instrument(backend="memory")
        said = [r for r in caplog.records if "found no LLM SDK to patch" in r.getMessage()]
        assert len(said) == 1
        caplog.clear()
        hilt.instrument(backend="memory", providers=[])
        assert not [r for r in caplog.records if "found no LLM SDK" in r.getMessage()]
        hilt.uninstrument()
    finally:
        registry_module.set_default_registry(saved)
