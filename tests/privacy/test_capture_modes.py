"""The four capture modes, line for line: what each one writes for the same prompt."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from privacy_support import FIXED_ID, FIXED_TIME, SYSTEM, prompt_event, read_lines, write_one

import hilt
from hilt_core import ConfigError, Registry
from hilt_core.capture import CAPTURE_MODES

TEXT = "Email me at jane.doe@example.com"
HEAD = {
    "hilt_version": "1.1",
    "event_id": FIXED_ID,
    "timestamp": FIXED_TIME,
    "session_id": "conv_0123456789ab",
    "actor": {"type": "human", "id": "user"},
    "action": "prompt",
}
EXTENSIONS = {
    "model": "gpt-4o-mini",
    "provider": "openai",
    "endpoint": "api.openai.com",
    "api": "chat.completions",
    "user_id": "u-42",
}


def _hash(salt: str, text: str) -> str:
    return "sha256:" + hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def expected(mode: str, salt: str = "s3cret-salt") -> dict[str, Any]:
    """The exact line each mode writes for :func:`prompt_event` (docs/privacy.md too)."""

    def content(user: str, system: str = SYSTEM) -> dict[str, Any]:
        messages = [{"role": "system", "text": system}, {"role": "user", "text": user}]
        return {"text": user, "messages": messages}

    if mode == "full":
        return {**HEAD, "content": content(TEXT), "extensions": EXTENSIONS}
    if mode == "redacted":
        return {**HEAD, "content": content("Email me at [EMAIL]"), "extensions": EXTENSIONS}
    if mode == "hash":
        hashed = content(_hash(salt, TEXT), _hash(salt, SYSTEM))
        return {**HEAD, "content": hashed, "extensions": EXTENSIONS}
    return {**HEAD, "extensions": EXTENSIONS}


@pytest.mark.parametrize("mode", CAPTURE_MODES)
def test_each_mode_writes_exactly_this_line(mode: str, log_path: Path) -> None:
    line = write_one(log_path, prompt_event(TEXT), capture=mode, hash_salt="s3cret-salt")
    assert line == expected(mode)


@pytest.mark.parametrize("mode", CAPTURE_MODES)
def test_hilt_capture_environment_variable_chooses_the_mode(
    mode: str, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HILT_CAPTURE", mode)
    monkeypatch.setenv("HILT_HASH_SALT", "s3cret-salt")
    session = hilt.instrument(filepath=log_path, providers=[])
    assert session.capture == mode
    session.append(prompt_event(TEXT))
    hilt.uninstrument()
    assert read_lines(log_path) == [expected(mode)]


def test_instrument_option_wins_over_the_environment(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HILT_CAPTURE", "full")
    session = hilt.instrument(filepath=log_path, providers=[], capture="metadata")
    session.append(prompt_event(TEXT))
    hilt.uninstrument()
    assert read_lines(log_path) == [expected("metadata")]


def test_unknown_mode_fails_at_instrument_time(log_path: Path) -> None:
    with pytest.raises(ConfigError, match="full, redacted, hash, metadata"):
        hilt.instrument(filepath=log_path, providers=[], capture="partial")
    assert not hilt.is_instrumented()


def test_modes_apply_to_dict_events_appended_by_the_application(log_path: Path) -> None:
    session = hilt.Session(str(log_path), capture="metadata")
    session.append(
        {
            "session_id": "conv_1",
            "actor": {"type": "human", "id": "user"},
            "action": "feedback",
            "content": {"text": "the answer leaked jane@example.com"},
            "extensions": {"score": 1},
        }
    )
    assert session.close()
    (line,) = read_lines(log_path)
    assert "content" not in line
    assert line["extensions"] == {"score": 1}


# -- metadata ------------------------------------------------------------------------------
def test_metadata_keeps_numbers_status_model_and_ids(log_path: Path) -> None:
    event = prompt_event(TEXT)
    event.action = "completion"
    event.metrics = hilt.Metrics(
        tokens={"prompt": 9, "completion": 4, "total": 13, "cached": 0, "reasoning": 0},
        cost_usd=0.0000123,
        latency_ms=812.5,
        ttft_ms=120.0,
    )
    event.extensions = {
        **EXTENSIONS,
        "reply_to": "01a0f000-0000-7000-8000-000000000000",
        "request_model": "gpt-4o-mini",
        "status_code": 200,
        "finish_reason": "stop",
        "response_id": "chatcmpl-1",
        "stream": False,
        "attempts": 1,
        "tool_calls": 2,
        "tags": ["beta"],
        "tenant_id": "acme",
        "metadata": {"ticket": "T-1"},
    }
    metrics = event.metrics.to_dict()
    kept = {k: v for k, v in event.extensions.items() if k != "metadata"}  # free text
    line = write_one(log_path, event, capture="metadata")
    assert "content" not in line
    assert line["metrics"] == metrics
    assert line["extensions"] == kept


def test_metadata_error_event_keeps_the_error_type_not_the_message(log_path: Path) -> None:
    error = hilt.Event(
        session_id="conv_1",
        actor={"type": "system", "id": "openai"},
        action="system",
        content={"text": "Rate limit reached for user jane@example.com"},
        extensions={
            "error_code": "api_error",
            "error_type": "RateLimitError",
            "error_detail": "rate_limit_exceeded",
            "status_code": 429,
            "error_message": "Rate limit reached for user jane@example.com",
        },
    )
    line = write_one(log_path, error, capture="metadata")
    assert "content" not in line
    assert line["extensions"] == {
        "error_code": "api_error",
        "error_type": "RateLimitError",
        "error_detail": "rate_limit_exceeded",
        "status_code": 429,
    }


# -- hash ----------------------------------------------------------------------------------
def test_hash_equal_texts_get_equal_hashes_within_one_salt(log_path: Path) -> None:
    session = hilt.Session(str(log_path), capture="hash", hash_salt="one")
    for text in ("same prompt", "same prompt", "other prompt"):
        session.append(prompt_event(text))
    assert session.close()
    texts = [line["content"]["text"] for line in read_lines(log_path)]
    assert texts[0] == texts[1] != texts[2]
    assert texts[0] == _hash("one", "same prompt")


def test_hash_differs_between_salts(tmp_path: Path) -> None:
    a = write_one(tmp_path / "a.jsonl", prompt_event("hi"), capture="hash", hash_salt="a")
    b = write_one(tmp_path / "b.jsonl", prompt_event("hi"), capture="hash", hash_salt="b")
    assert a["content"]["text"] != b["content"]["text"]


def test_hash_salt_from_the_environment(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HILT_HASH_SALT", "from-env")
    line = write_one(log_path, prompt_event("hi"), capture="hash")
    assert line["content"]["text"] == _hash("from-env", "hi")


def test_hash_without_salt_makes_one_per_install_readable_by_its_owner_only(
    tmp_path: Path, salt_home: Path
) -> None:
    salt_file = salt_home / "hilt" / "salt"
    assert not salt_file.exists()
    first = write_one(tmp_path / "a.jsonl", prompt_event("hi"), capture="hash")
    assert salt_file.exists()
    if os.name == "posix":
        assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    salt = salt_file.read_text().strip()
    assert len(salt) == 64
    assert first["content"]["text"] == _hash(salt, "hi")
    # Later sessions of the same install reuse it: hashes stay comparable.
    second = write_one(tmp_path / "b.jsonl", prompt_event("hi"), capture="hash")
    assert second["content"]["text"] == first["content"]["text"]


def test_hash_with_an_unwritable_data_dir_fails_at_instrument_time(
    log_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    with pytest.raises(ConfigError, match="HILT_HASH_SALT"):
        hilt.instrument(filepath=log_path, providers=[], capture="hash")


def test_hash_keeps_roles_and_ids_of_message_structures(log_path: Path) -> None:
    event = prompt_event("hi")
    event.content = hilt.Content(
        text="hi",
        messages=[
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        ],
    )
    line = write_one(log_path, event, capture="hash", hash_salt="k")

    def h(text: str) -> str:
        return _hash("k", text)

    assert line["content"]["messages"] == [
        {"role": "user", "content": h("hi")},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": h("f"), "arguments": h("{}")},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": h("42")},
    ]


# -- redacted ------------------------------------------------------------------------------
def test_redacted_without_any_redactor_fails_at_instrument_time(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hilt_core_registry = Registry(entry_points=False)
    from hilt_core import registry as registry_module

    registry_module.set_default_registry(hilt_core_registry)
    hilt.register_plugin(__import__("hilt_jsonl"), name="jsonl")
    with pytest.raises(ConfigError, match="needs a redactor") as info:
        hilt.instrument(filepath=log_path, providers=[], capture="redacted")
    assert "hilt.register_redactor" in str(info.value)
    assert "hilt-pii" in str(info.value)
    assert not hilt.is_instrumented()


def test_redacted_with_an_empty_redactor_list_needs_an_always_on_one(log_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a redactor"):
        hilt.Session(str(log_path), capture="redacted", redactors=[])
    hilt.register_redactor(lambda text: text.replace("jane", "J."), name="mine")
    line = write_one(log_path, prompt_event(TEXT), capture="redacted", redactors=[])
    assert line["content"]["text"] == "Email me at J..doe@example.com"  # pii did not run


def test_columns_keep_working_in_every_mode(tmp_path: Path) -> None:
    cols = ["conversation_id", "speaker", "message", "tokens_in", "model"]
    out = {}
    for mode in CAPTURE_MODES:
        out[mode] = write_one(
            tmp_path / f"{mode}.jsonl",
            prompt_event(TEXT),
            capture=mode,
            columns=cols,
            hash_salt="s3cret-salt",
        )
    base = {"conversation_id": "conv_0123456789ab", "speaker": "human: user", "tokens_in": ""}
    assert out["full"] == {**base, "message": TEXT, "model": "gpt-4o-mini"}
    assert out["redacted"] == {**base, "message": "Email me at [EMAIL]", "model": "gpt-4o-mini"}
    assert out["hash"] == {**base, "message": _hash("s3cret-salt", TEXT), "model": "gpt-4o-mini"}
    assert out["metadata"] == {**base, "message": "", "model": "gpt-4o-mini"}


def test_a_reader_session_needs_no_redactor_and_makes_no_salt(
    log_path: Path, salt_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_one(log_path, prompt_event(TEXT))
    monkeypatch.setenv("HILT_CAPTURE", "hash")
    reader = hilt.Session(str(log_path), mode="r")
    assert [e.content.text for e in reader.read() if e.content] == [TEXT]
    assert not (salt_home / "hilt" / "salt").exists()


def test_the_prompt_of_the_docs_has_the_shape_the_openai_provider_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines above are written from :func:`prompt_event`; this checks that event is
    what the real provider records for the same call: messages as ``{"role", "text"}``,
    no metrics on a prompt, the request body (``capture_request=True``) under
    ``content``."""
    openai = pytest.importorskip("openai")
    testing = pytest.importorskip("hilt_openai.testing")
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl,openai")
    path = tmp_path / "provider.jsonl"
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": TEXT}]
    with testing.FakeOpenAI() as server:
        hilt.instrument(filepath=path, providers=["openai"], capture_request=True)
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        with hilt.scope(user_id="u-42"):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        hilt.uninstrument()
        client.close()
    prompt = read_lines(path)[0]
    documented = expected("full")
    assert prompt["content"].pop("request") == {"model": "gpt-4o-mini", "messages": messages}
    assert prompt["content"] == documented["content"]
    assert set(prompt) == set(documented)
    assert (prompt["actor"], prompt["action"]) == (documented["actor"], "prompt")
    assert set(prompt["extensions"]) == set(documented["extensions"])


def test_the_lines_in_docs_privacy_md_are_the_real_output() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")
    found = dict(re.findall(r"<!-- mode:(\w+)[^>]*-->\n```json\n(.*?)\n```", docs))
    assert set(found) == set(CAPTURE_MODES)
    for mode, line in found.items():
        assert json.loads(line) == expected(mode), mode
