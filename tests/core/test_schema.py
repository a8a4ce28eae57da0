"""The JSON Schema shipped in hilt_core matches docs/format.md, the model, and every kind of
event the library writes (checked on the lines as they are on disk)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

import hilt
import hilt_core.schema
from hilt_core import Event, Registry
from hilt_core.capture import strip_content
from hilt_core.model import ACTIONS, ACTOR_TYPES

ROOT = Path(__file__).resolve().parents[2]
FORMAT_DOC = ROOT / "docs" / "format.md"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = hilt_core.schema.load()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_bytes().splitlines():
        yield json.loads(line)


def _check_file(validator: jsonschema.Draft202012Validator, path: Path) -> int:
    n = 0
    for data in _lines(path):
        errors = list(validator.iter_errors(data))
        assert not errors, f"{data}\n" + "\n".join(e.message for e in errors)
        n += 1
    return n


# -- every kind of event, as the providers and the core write them ------------------------
def _events() -> list[Event]:
    prompt = Event(
        session_id="conv_0123456789ab",
        actor={"type": "human", "id": "user"},
        action="prompt",
        content={
            "text": "Hello",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
            ],
        },
        extensions={"request_model": "gpt-4o", "provider": "openai", "stream": False},
    )
    common = {"provider": "openai", "endpoint": "api.openai.com", "api": "chat.completions"}
    completion = Event(
        session_id=prompt.session_id,
        actor={"type": "agent", "id": "openai"},
        action="completion",
        content={"text": "Hi!", "tool_calls": [{"id": "call_1", "name": "f", "arguments": "{}"}]},
        metrics={
            "tokens": {"prompt": 9, "completion": 2, "total": 11, "cached": 0, "reasoning": 0},
            "latency_ms": 123.4,
            "ttft_ms": 45.6,
            "cost_usd": 0.0000425,
            "cost_source": "genai-prices",
        },
        extensions={
            "reply_to": prompt.event_id,
            "model": "gpt-4o-2024-08-06",
            "request_model": "gpt-4o",
            **common,
            "status_code": 200,
            "finish_reason": "tool_calls",
            "response_id": "chatcmpl-1",
            "stream": True,
            "attempts": 1,
            "tool_calls": [{"id": "call_1", "name": "f", "arguments": "{}"}],
        },
    )
    error = Event(
        session_id=prompt.session_id,
        actor={"type": "system", "id": "openai"},
        action="system",
        content={"text": "Rate limit reached"},
        metrics={"latency_ms": 5.0},
        extensions={
            "reply_to": prompt.event_id,
            "error_code": "api_error",
            "error_type": "RateLimitError",
            "status_code": 429,
            "model": "gpt-4o",
            **common,
            "attempts": 3,
        },
    )
    no_response = Event(
        session_id=prompt.session_id,
        actor={"type": "system", "id": "openai"},
        action="system",
        content={"text": "Connection error."},
        extensions={
            "reply_to": prompt.event_id,
            "error_code": "api_error",
            "error_type": "APIConnectionError",
            "status_code": 0,
        },
    )
    redacted = Event(
        session_id="c",
        actor={"type": "agent", "id": "a"},
        action="completion",
        content={"text": "secret"},
        extensions={
            "tool_calls": [],
            "user_id": "u1",
            "tenant_id": "t1",
            "tags": ["x"],
            "metadata": {"k": [1, 2]},
        },
    )
    strip_content(redacted, "redactor_failed:pii")
    others = [
        Event(
            session_id="conv_app_chosen_id",
            actor={"type": actor, "id": f"{actor}-1", "name": "N", "metadata": {"v": 1}},
            action=action,
            content={"text": f"{action} by {actor}", "images": [], "metadata": {}},
            provenance={"source": "test"},
        )
        for action in sorted(ACTIONS)
        for actor in sorted(ACTOR_TYPES)
    ]
    return [prompt, completion, error, no_response, redacted, *others]


def test_the_schema_is_valid_draft_2020_12_and_loads_from_the_package() -> None:
    schema = hilt_core.schema.load()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    schema["title"] = "changed"
    assert hilt_core.schema.load()["title"] != "changed"  # each call gives a fresh copy


def test_schema_enums_are_the_models() -> None:
    schema = hilt_core.schema.load()
    assert set(schema["properties"]["action"]["enum"]) == set(ACTIONS)
    assert set(schema["$defs"]["actor"]["properties"]["type"]["enum"]) == set(ACTOR_TYPES)
    assert set(schema["required"]) == {
        "hilt_version",
        "event_id",
        "timestamp",
        "session_id",
        "actor",
        "action",
    }


def test_every_kind_of_event_written_to_jsonl_validates(
    validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    path = tmp_path / "all.jsonl"
    session = hilt.Session(path)
    events = _events()
    with hilt.scope(user_id="u1", tenant_id="t1", tags=["beta"], plan="pro"):
        for event in events:
            session.append(event)
    assert session.close()
    assert _check_file(validator, path) == len(events)


def test_the_hilt_dropped_report_validates(
    validator: jsonschema.Draft202012Validator, reg: Registry, memory: Any
) -> None:
    memory.gate.clear()
    session = hilt.Session(backend="memory", max_queue=1)
    session.append(_events()[0])
    assert memory.entered.wait(10)
    for event in _events():
        session.append(event)
    memory.gate.set()
    assert session.flush()
    reports = [e for e in memory.events if (e.extensions or {}).get("error_code") == "hilt_dropped"]
    assert len(reports) == 1
    for event in memory.events:
        validator.validate(json.loads(hilt_core.dumps(event)))
    assert session.close()  # not left to interpreter exit, which would report the drops


def test_028_events_rewritten_by_v1_validate(
    validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    path = tmp_path / "migrated.jsonl"
    session = hilt.Session(path)
    for name in ("hilt-0.2.8.jsonl", "hilt-0.2.8-columns.jsonl"):
        for event in hilt.Session(DATA / name, mode="r").read():
            session.append(event)
    assert session.close()
    assert _check_file(validator, path) == 24


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d.pop("hilt_version"), "a 0.2.8 line has no version"),
        (lambda d: d["metrics"].update(cost_usd="0.000005"), "cost_usd as a string"),
        (
            lambda d: (
                d["metrics"].update(cost_usd_display="0,000005 USD")
                or d["metrics"].update(cost_usd=None)
            ),
            "null instead of absent",
        ),
        (lambda d: d.update(timestamp="2026-01-01T12:00:00+02:00"), "not UTC"),
        (lambda d: d.update(timestamp="2026-01-01 12:00:00"), "not ISO 8601 with offset"),
        (lambda d: d.update(action="shout"), "unknown action"),
        (lambda d: d["actor"].update(type="robot"), "unknown actor type"),
        (lambda d: d["metrics"]["tokens"].update(prompt=1.5), "token counts are integers"),
        (lambda d: d["extensions"].update(status_code="200"), "status_code is a number"),
        (lambda d: d.update(extra_top_level=1), "unknown top-level key"),
    ],
)
def test_the_schema_rejects(
    validator: jsonschema.Draft202012Validator,
    change: Callable[[dict[str, Any]], Any],
    why: str,
) -> None:
    data = json.loads(hilt_core.dumps(_events()[1]))
    validator.validate(data)
    change(data)
    assert list(validator.iter_errors(data)), why


def test_format_doc_names_every_schema_field() -> None:
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    schema = hilt_core.schema.load()
    names: set[str] = set(schema["properties"])
    for definition in schema["$defs"].values():
        names |= set(definition.get("properties", {}))
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"docs/format.md does not describe {missing}"
    for word in (*ACTIONS, *ACTOR_TYPES):
        assert f"`{word}`" in doc


def test_format_doc_names_every_column() -> None:
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    from hilt_core.columns import KNOWN_COLUMNS

    missing = [c for c in KNOWN_COLUMNS if not re.search(rf"^\| `{c}` \|", doc, re.MULTILINE)]
    assert not missing, f"docs/format.md has no row for the columns {missing}"


def test_the_schema_is_in_the_hilt_core_wheel(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(ROOT / "hilt_core"),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("hilt_core-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "hilt_core/schema/hilt-event-v1.schema.json" in names
        assert "hilt_core/schema/__init__.py" in names
        packaged = json.loads(zf.read("hilt_core/schema/hilt-event-v1.schema.json"))
    assert packaged == hilt_core.schema.load()


# -- the real OpenAI plugin, when installed --------------------------------------------
def test_openai_plugin_events_validate(
    validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    reg = Registry()
    try:
        reg.resolve("openai", "provider")
        from hilt_openai.testing import FakeOpenAI
    except Exception as exc:  # the plugin is optional for the kernel's tests
        pytest.skip(f"hilt-openai is not usable here: {exc}")
    import openai

    path = tmp_path / "openai.jsonl"
    hilt.instrument(filepath=path, providers=["openai"])
    with FakeOpenAI() as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
        messages: Any = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there"},
        ]
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass
        client.embeddings.create(model="text-embedding-3-small", input="hello")
        client.responses.create(model="gpt-4o-mini", input="Hello")
        tools: Any = [
            {
                "type": "function",
                "function": {"name": "lookup", "parameters": {"type": "object"}},
            }
        ]
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "please use tool"}],
            tools=tools,
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, n=2)
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    ],
                }
            ],
        )
        with client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True
        ) as early:
            for _ in early:
                break
        srv.fail_next(429)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    hilt.uninstrument()
    lines = list(_lines(path))
    assert {d["action"] for d in lines} >= {"prompt", "completion", "system"}
    assert _check_file(validator, path) == len(lines)
