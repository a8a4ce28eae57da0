"""Custom redactors (functions, plugin objects, third-party entry points), the order they
compose in, and failing closed."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from privacy_support import prompt_event, read_lines, write_one

import hilt
from hilt_core import ConfigError, Event, Registry, hookimpl


def _tagger(tag: str) -> Any:
    def tag_text(text: str) -> str:
        return f"{text}|{tag}"

    return tag_text


class TagPlugin:
    """A plugin object redactor that appends its tag to content.text."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    @hookimpl
    def redact(self, event: Event, mode: str) -> None:
        assert event.content is not None
        event.content.text = f"{event.content.text}|{self.tag}"


class FirstPlugin(TagPlugin):
    @hookimpl(tryfirst=True)
    def redact(self, event: Event, mode: str) -> None:
        super().redact(event, mode)


class LastPlugin(TagPlugin):
    @hookimpl(trylast=True)
    def redact(self, event: Event, mode: str) -> None:
        super().redact(event, mode)


def _text(path: Path, **options: Any) -> str:
    line = write_one(path, prompt_event("x"), **options)
    return str(line["content"]["text"])


# -- registering ---------------------------------------------------------------------------
def test_register_redactor_applies_a_function_and_can_be_removed(tmp_path: Path) -> None:
    name = hilt.register_redactor(lambda t: t.upper(), name="upper")
    assert name == "upper"
    assert _text(tmp_path / "a.jsonl") == "X"
    hilt.unregister_plugin("upper")
    assert _text(tmp_path / "b.jsonl") == "x"


def test_register_redactor_default_name_and_duplicate_names(tmp_path: Path) -> None:
    def mask(text: str) -> str:
        return text

    name = hilt.register_redactor(mask)
    assert name.startswith("redactor:")
    assert name.endswith(".mask")
    with pytest.raises(ConfigError, match="already registered"):
        hilt.register_redactor(mask)
    with pytest.raises(ConfigError, match="needs a function"):
        hilt.register_redactor("not callable")  # type: ignore[arg-type]


def test_a_plugin_object_registered_in_code_is_always_on(tmp_path: Path) -> None:
    hilt.register_plugin(TagPlugin("obj"), name="obj")
    assert _text(tmp_path / "a.jsonl") == "x|obj"


def test_a_third_party_package_registers_through_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "acme_redactor.py").write_text(
        "from hilt_core import hookimpl, map_text\n\n"
        "@hookimpl\n"
        "def redact(event, mode):\n"
        "    map_text(event, lambda t: t.replace('ACME-', 'ACME-***'))\n"
    )
    (root / "acme_optin.py").write_text(
        "from hilt_core import hookimpl, map_text\n\nHILT_OPT_IN = True\n\n"
        "@hookimpl\n"
        "def redact(event, mode):\n"
        "    map_text(event, lambda t: t + ' [optin]')\n"
    )
    info = root / "acme_hilt-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-hilt\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[hilt]\nacme = acme_redactor\nacme-optin = acme_optin\n"
    )
    monkeypatch.syspath_prepend(str(root))
    for mod in ("acme_redactor", "acme_optin"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl,pii,acme,acme-optin")
    line = write_one(tmp_path / "a.jsonl", prompt_event("order ACME-1234"))
    assert line["content"]["text"] == "order ACME-***1234"  # always on; opt-in one is off
    line = write_one(
        tmp_path / "b.jsonl", prompt_event("order ACME-1234"), redactors=["acme-optin"]
    )
    assert line["content"]["text"] == "order ACME-***1234 [optin]"


# -- order ---------------------------------------------------------------------------------
def test_always_on_redactors_run_in_registration_order(tmp_path: Path) -> None:
    hilt.register_redactor(_tagger("a"), name="a")
    hilt.register_plugin(TagPlugin("b"), name="b")
    hilt.register_redactor(_tagger("c"), name="c")
    assert _text(tmp_path / "a.jsonl") == "x|a|b|c"


def test_tryfirst_and_trylast_move_a_redactor_to_the_ends(tmp_path: Path) -> None:
    hilt.register_plugin(LastPlugin("last"), name="last")
    hilt.register_redactor(_tagger("a"), name="a")
    hilt.register_plugin(FirstPlugin("first"), name="first")
    hilt.register_redactor(_tagger("b"), name="b")
    assert _text(tmp_path / "a.jsonl") == "x|first|a|b|last"


def test_the_redactors_list_comes_first_in_its_own_order(tmp_path: Path) -> None:
    hilt.register_redactor(_tagger("a"), name="a")
    hilt.register_redactor(_tagger("b"), name="b")
    hilt.register_redactor(_tagger("c"), name="c")
    assert _text(tmp_path / "a.jsonl", redactors=["c", "a"]) == "x|c|a|b"


def test_pii_first_then_custom_in_redacted_mode(tmp_path: Path) -> None:
    seen: list[str] = []

    def after_pii(text: str) -> str:
        seen.append(text)
        return text

    hilt.register_redactor(after_pii, name="after")
    line = write_one(tmp_path / "a.jsonl", prompt_event("mail a@example.com"), capture="redacted")
    assert line["content"]["text"] == "mail [EMAIL]"
    assert "mail [EMAIL]" in seen  # the custom redactor saw pii's output
    # Named first, the custom one sees the raw text.
    seen.clear()
    write_one(tmp_path / "b.jsonl", prompt_event("mail a@example.com"), redactors=["after", "pii"])
    assert "mail a@example.com" in seen


def test_the_mode_applies_after_every_redactor(tmp_path: Path) -> None:
    hilt.register_redactor(lambda t: "same", name="flatten")
    session = hilt.Session(str(tmp_path / "a.jsonl"), capture="hash", hash_salt="k")
    session.append(prompt_event("one"))
    session.append(prompt_event("two"))
    assert session.close()
    texts = [line["content"]["text"] for line in read_lines(tmp_path / "a.jsonl")]
    assert texts[0] == texts[1]  # both redacted to "same", then hashed
    assert texts[0].startswith("sha256:")


def test_the_mode_is_passed_to_plugin_redactors(tmp_path: Path) -> None:
    modes: list[str] = []

    class Spy:
        @hookimpl
        def redact(self, event: Event, mode: str) -> None:
            modes.append(mode)

    hilt.register_plugin(Spy(), name="spy")
    write_one(tmp_path / "a.jsonl", prompt_event("x"), capture="metadata")
    assert modes == ["metadata"]


def test_a_redactor_may_drop_an_event(tmp_path: Path) -> None:
    class DropFeedback:
        @hookimpl
        def redact(self, event: Event, mode: str) -> bool:
            return event.action != "feedback"

    hilt.register_plugin(DropFeedback(), name="drop")
    session = hilt.Session(str(tmp_path / "a.jsonl"))
    session.append(prompt_event("kept"))
    session.append(
        hilt.Event(session_id="c", actor={"type": "human", "id": "u"}, action="feedback")
    )
    assert session.close()
    assert [line["action"] for line in read_lines(tmp_path / "a.jsonl")] == ["prompt"]
    assert session.stats["dropped_by_redactor"] == 1


# -- fail closed ---------------------------------------------------------------------------
def test_a_raising_redactor_drops_the_content_and_keeps_the_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(text: str) -> str:
        raise ValueError("bug in the app's redactor")

    hilt.register_redactor(broken, name="broken")
    caplog.set_level(logging.ERROR, logger="hilt")
    session = hilt.Session(str(tmp_path / "a.jsonl"))
    event = prompt_event("mail a@example.com")
    event.metrics = hilt.Metrics(tokens={"prompt": 9})
    session.append(event)
    assert session.close()
    (line,) = read_lines(tmp_path / "a.jsonl")
    assert "content" not in line
    assert line["extensions"]["hilt_redaction"] == "redactor_failed:broken"
    assert line["metrics"] == {"tokens": {"prompt": 9}}
    assert "a@example.com" not in (tmp_path / "a.jsonl").read_text()
    assert session.stats["redaction_failures"] == 1
    assert "redaction fails closed" in caplog.text
    assert "a@example.com" not in caplog.text  # the log does not leak it either


def test_a_redactor_returning_a_non_string_fails_closed(tmp_path: Path) -> None:
    hilt.register_redactor(lambda t: None, name="none")  # type: ignore[arg-type,return-value]
    line = write_one(tmp_path / "a.jsonl", prompt_event("secret"))
    assert "content" not in line
    assert line["extensions"]["hilt_redaction"] == "redactor_failed:none"


def test_later_redactors_and_the_mode_still_see_a_stripped_event(tmp_path: Path) -> None:

    def boom(text: str) -> str:
        raise ZeroDivisionError("redactor bug")

    hilt.register_redactor(boom, name="boom")
    hilt.register_redactor(_tagger("never"), name="never")
    session = hilt.Session(str(tmp_path / "a.jsonl"), capture="hash", hash_salt="k")
    session.append(prompt_event("secret"))
    session.append(prompt_event("another"))
    assert session.close()
    lines = read_lines(tmp_path / "a.jsonl")
    assert len(lines) == 2  # every event kept
    assert all("content" not in line for line in lines)
    assert all(line["extensions"]["hilt_redaction"] == "redactor_failed:boom" for line in lines)


def test_the_applications_llm_call_is_unaffected_by_a_failing_redactor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reg: Registry
) -> None:
    """End to end through the OpenAI provider and a loopback fake OpenAI."""
    openai = pytest.importorskip("openai")
    from hilt_openai.testing import FakeOpenAI

    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl,pii,openai")

    def broken(text: str) -> str:
        raise RuntimeError("redactor bug")

    log = tmp_path / "calls.jsonl"
    with FakeOpenAI() as srv:
        hilt.register_redactor(broken, name="broken")
        hilt.instrument(filepath=log, providers=["openai"])
        client = openai.OpenAI(base_url=srv.base_url, api_key="test")
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "my card is 4111 1111 1111 1111"}],
        )
        hilt.uninstrument()
    assert reply.choices[0].message.content == "Echo: my card is 4111 1111 1111 1111"
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["prompt", "completion"]
    assert "4111" not in log.read_text()
    assert all(line["extensions"]["hilt_redaction"] == "redactor_failed:broken" for line in lines)
    assert lines[1]["metrics"]["tokens"]["total"] > 0


def test_pii_end_to_end_through_the_openai_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai = pytest.importorskip("openai")
    from hilt_openai.testing import FakeOpenAI

    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl,pii,openai")
    log = tmp_path / "calls.jsonl"
    with FakeOpenAI() as srv:
        hilt.instrument(filepath=log, providers=["openai"], capture="redacted")
        client = openai.OpenAI(base_url=srv.base_url, api_key="test")
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "write to jane@example.com"}],
        )
        srv.fail_next(429)
        with pytest.raises(openai.RateLimitError):
            client.with_options(max_retries=0).chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "call +44 20 7946 0958"}],
            )
        hilt.uninstrument()
    stored = log.read_text()
    assert "jane@example.com" not in stored
    assert "7946" not in stored
    prompt, completion, prompt2, error = (json.loads(x) for x in stored.splitlines())
    assert prompt["content"]["text"] == "write to [EMAIL]"
    assert completion["content"]["text"] == "Echo: write to [EMAIL]"
    assert prompt2["content"]["text"] == "call [PHONE]"
    assert error["action"] == "system"
    assert error["extensions"]["status_code"] == 429


def test_a_wrapper_redactor_fails_closed_instead_of_redacting_nothing(tmp_path: Path) -> None:
    class Wrapper:
        @hookimpl(wrapper=True)
        def redact(self, event: Event, mode: str) -> Any:
            return (yield)

    hilt.register_plugin(Wrapper(), name="wrapper")
    line = write_one(tmp_path / "a.jsonl", prompt_event("secret"))
    assert "content" not in line
    assert line["extensions"]["hilt_redaction"] == "redactor_failed:wrapper"
