"""Names resolve through the registry: entry points, in-code plugins, aliases, errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy
import pytest

import hilt
import hilt_jsonl
from hilt_core import ConfigError, Recorder, Registry, hookimpl
from hilt_core.errors import UnknownPluginError


class FakeSDK:
    """Stands in for an LLM SDK that a provider plugin patches."""

    def complete(self, text: str) -> str:
        return text.upper()


class FakeProvider:
    """A provider plugin: patches FakeSDK.complete to record a prompt and a completion."""

    def __init__(self) -> None:
        self.options: Mapping[str, Any] | None = None
        self.undone = 0

    @hookimpl
    def provider_patch(
        self, name: str, recorder: Recorder, options: Mapping[str, Any]
    ) -> Callable[[], None]:
        self.options = options
        original = FakeSDK.complete

        def complete(sdk: FakeSDK, text: str) -> str:
            answer = original(sdk, text)
            if recorder.session() is not None:
                prompt = hilt.Event(
                    session_id=recorder.conversation_id() or "conv_fake",
                    actor=hilt.Actor(type="human", id="user"),
                    action="prompt",
                    content=hilt.Content(text=text),
                )
                recorder.emit(prompt)
                recorder.emit(
                    hilt.Event(
                        session_id=prompt.session_id,
                        actor=hilt.Actor(type="agent", id="fake"),
                        action="completion",
                        content=hilt.Content(text=answer),
                        extensions={"reply_to": prompt.event_id},
                    )
                )
            return answer

        FakeSDK.complete = complete  # type: ignore[method-assign,assignment]

        def undo() -> None:
            self.undone += 1
            FakeSDK.complete = original  # type: ignore[method-assign]

        return undo


def test_builtin_jsonl_is_an_entry_point_plugin_answering_to_local() -> None:
    reg = Registry()
    name, plugin = reg.resolve("jsonl", "backend")
    assert (name, plugin) == ("jsonl", hilt_jsonl)
    assert reg.resolve("local", "backend") == ("jsonl", hilt_jsonl)
    assert reg.distributions["jsonl"][0] == "hilt-jsonl"
    assert "jsonl" in reg.names("backend")


@pytest.mark.parametrize("backend", ["local", "jsonl"])
def test_local_and_jsonl_both_write_jsonl(reg: Registry, tmp_path: Path, backend: str) -> None:
    path = tmp_path / "logs" / "chat.jsonl"
    session = hilt.instrument(backend=backend, filepath=path, providers=[])
    assert isinstance(session, hilt.Session)
    session.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt"))
    assert session.flush()
    assert len(path.read_bytes().splitlines()) == 1
    assert [e.session_id for e in session.read()] == ["c"]


def test_backend_registered_in_code_is_usable_by_name(reg: Registry, memory: Any) -> None:
    session = hilt.instrument(backend="memory", providers=[], custom_option=7)
    assert memory.opened[0]["custom_option"] == 7
    session.append(hilt.Event(session_id="c", actor={"type": "agent", "id": "a"}, action="system"))
    assert session.flush()
    assert len(memory.events) == 1
    assert [e.action for e in session.read()] == ["system"]
    assert "memory" in reg.names("backend")


def test_provider_registered_in_code_patches_and_unpatches(reg: Registry, memory: Any) -> None:
    provider = FakeProvider()
    original = FakeSDK.complete
    hilt.register_plugin(provider, name="fake")
    session = hilt.instrument(backend="memory", providers=["fake"], capture="full")
    assert provider.options is not None
    assert provider.options["capture"] == "full"
    with hilt.conversation("conv_abcdefabcdef"):
        assert FakeSDK().complete("hi") == "HI"
    assert session.flush()
    prompt, completion = memory.events
    assert (prompt.action, completion.action) == ("prompt", "completion")
    assert completion.extensions == {"reply_to": prompt.event_id}
    assert prompt.session_id == "conv_abcdefabcdef"
    hilt.uninstrument()
    assert provider.undone == 1
    assert FakeSDK.complete is original
    assert "fake" in reg.names("provider")
    assert "fake" not in reg.names("backend")


def test_instrument_twice_replaces_the_patch_without_double_logging(
    reg: Registry, memory: Any
) -> None:
    provider = FakeProvider()
    hilt.register_plugin(provider, name="fake")
    hilt.instrument(backend="memory", providers=["fake"])
    session = hilt.instrument(backend="memory", providers=["fake"])
    FakeSDK().complete("once")
    assert session.flush()
    assert [e.action for e in memory.events] == ["prompt", "completion"]
    assert provider.undone == 1


def test_unknown_backend_error_lists_installed_backends(reg: Registry, memory: Any) -> None:
    with pytest.raises(UnknownPluginError) as info:
        hilt.instrument(backend="nope", providers=[])
    msg = str(info.value)
    assert "Unknown HILT backend 'nope'" in msg
    for installed in ("jsonl", "local (= jsonl)", "memory"):
        assert installed in msg
    assert "entry point 'nope' in the group 'hilt'" in msg
    assert "hilt.register_plugin" in msg
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)
    assert not hilt.is_instrumented()


def test_unknown_provider_error_lists_installed_providers(reg: Registry, memory: Any) -> None:
    hilt.register_plugin(FakeProvider(), name="fake")
    with pytest.raises(UnknownPluginError, match=r"Installed providers: .*fake"):
        hilt.instrument(backend="memory", providers=["nope"])
    assert not hilt.is_instrumented()


def test_unknown_known_name_says_which_package_provides_it() -> None:
    reg = Registry(entry_points=False)
    with pytest.raises(UnknownPluginError) as info:
        reg.resolve("sheets", "backend")
    assert 'pip install "hilt[sheets]"' in str(info.value)
    assert "Installed backends: none" in str(info.value)


def test_a_name_of_the_wrong_kind_is_unknown(reg: Registry) -> None:
    with pytest.raises(UnknownPluginError, match="Unknown HILT provider 'jsonl'"):
        reg.resolve("jsonl", "provider")


def test_hooks_reach_only_the_chosen_backend(reg: Registry, memory: Any, memory_cls: Any) -> None:
    other = memory_cls()
    hilt.register_plugin(other, name="other")
    session = hilt.Session(backend="memory")
    session.append(hilt.Event(session_id="c", actor={"type": "agent", "id": "a"}, action="system"))
    assert session.close()
    assert len(memory.events) == 1
    assert other.opened == []
    assert other.events == []
    assert other.closes == []


def test_misspelt_hook_fails_loudly_at_registration(reg: Registry) -> None:
    class Misspelt:
        @hookimpl
        def backend_writ(self, handle: Any, events: Any) -> None:
            pass

    with pytest.raises(pluggy.PluginValidationError, match="backend_writ"):
        hilt.register_plugin(Misspelt(), name="misspelt")
    assert reg.pm.get_plugin("misspelt") is None


def test_unregister_plugin_removes_the_name(reg: Registry, memory: Any) -> None:
    hilt.unregister_plugin("memory")
    with pytest.raises(UnknownPluginError):
        hilt.Session(backend="memory")


# -- entry points ------------------------------------------------------------------------
def _fake_distribution(root: Path, dist: str, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution (a .dist-info folder) on a sys.path entry: what
    pip leaves behind, read by the real importlib.metadata machinery."""
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[hilt]\n{lines}")


@pytest.fixture
def broken_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    (root).mkdir()
    (root / "hilt_test_raises_on_import.py").write_text(
        "raise RuntimeError('this plugin is broken (test)')\n"
    )
    (root / "hilt_test_bad_hook.py").write_text(
        "from hilt_core import hookimpl\n\n@hookimpl\ndef backend_writ(handle, events):\n    pass\n"
    )
    (root / "hilt_test_good_backend.py").write_text(
        "from hilt_jsonl import backend_open, backend_write, backend_close, backend_read\n"
    )
    _fake_distribution(
        root,
        "hilt-test-plugins",
        {
            "raises-on-import": "hilt_test_raises_on_import",
            "bad-hook": "hilt_test_bad_hook",
            "good": "hilt_test_good_backend",
        },
    )
    monkeypatch.syspath_prepend(str(root))
    for mod in ("hilt_test_raises_on_import", "hilt_test_bad_hook", "hilt_test_good_backend"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    return root


def test_broken_entry_points_are_logged_and_skipped(
    broken_plugins: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hilt")
    reg = Registry()
    reg.load()
    assert set(reg.failed) == {"raises-on-import", "bad-hook"}
    assert "this plugin is broken" in reg.failed["raises-on-import"]
    assert "backend_writ" in reg.failed["bad-hook"]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'raises-on-import' from hilt-test-plugins 1.0 failed to load" in warned
    assert "'bad-hook' from hilt-test-plugins 1.0 failed to load" in warned
    # The healthy plugins of the same run load and work.
    assert reg.resolve("good", "backend")[0] == "good"
    session = hilt.Session(tmp_path / "a.jsonl", backend="good", registry=reg)
    session.append(hilt.Event(session_id="c", actor={"type": "agent", "id": "a"}, action="system"))
    assert session.close()
    assert (tmp_path / "a.jsonl").read_bytes().count(b"\n") == 1
    with pytest.raises(UnknownPluginError, match="installed but failed to load"):
        reg.resolve("raises-on-import", "backend")


def test_entry_point_backend_is_usable_via_instrument(
    broken_plugins: Path, reg: Registry, tmp_path: Path
) -> None:
    session = hilt.instrument(backend="good", filepath=tmp_path / "g.jsonl", providers=[])
    session.append(hilt.Event(session_id="c", actor={"type": "agent", "id": "a"}, action="system"))
    assert session.flush()
    assert reg.distributions["good"] == ("hilt-test-plugins", "1.0")


def test_hilt_disable_plugins(
    broken_plugins: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HILT_DISABLE_PLUGINS", "raises-on-import, bad-hook,jsonl")
    reg = Registry()
    reg.load()
    assert reg.failed == {}
    assert "good" in reg.names("backend")
    assert "jsonl" not in reg.names("backend")
    with pytest.raises(UnknownPluginError, match="disabled"):
        reg.resolve("jsonl", "backend")


def test_hilt_load_plugins_loads_only_those_named(
    broken_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "good")
    reg = Registry()
    assert reg.names("backend") == ["good"]
    assert reg.names("provider") == []
    assert reg.failed == {}
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "")
    assert Registry().names("backend") == []


def test_in_code_plugins_take_part_even_with_hilt_load_plugins_empty(
    monkeypatch: pytest.MonkeyPatch, memory_cls: Any
) -> None:
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "")
    fresh = Registry()
    fresh.register(memory_cls(), name="memory")
    assert fresh.names("backend") == ["memory"]


def test_hilt_trace_plugins_logs_every_hook_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HILT_TRACE_PLUGINS", "1")
    caplog.set_level(logging.INFO, logger="hilt.trace")
    reg = Registry()
    session = hilt.Session(tmp_path / "t.jsonl", registry=reg)
    session.append(hilt.Event(session_id="c", actor={"type": "agent", "id": "a"}, action="system"))
    assert session.close()
    traced = [r.getMessage() for r in caplog.records if r.name == "hilt.trace"]
    for hook in ("backend_open", "backend_write", "backend_close"):
        assert f"hook {hook} -> ['jsonl']" in traced
    # enrich and redact are called plugin by plugin on the writer thread: traced per batch
    assert any(m.startswith("hook event_enrich -> ") for m in traced), traced
