"""Logs for the ``hilt report`` tests, written by HILT itself, and a headless Chromium.

``provider_log`` is written by the OpenAI provider plugin around real ``openai`` SDK calls
to the embedded fake server: two conversations over three hours (a tool call, an error,
a prompt with an injected ``<script>``), user and tenant from ``hilt.scope``. The same calls
are written with ``capture="metadata"`` and ``capture="hash"`` for the views of logs that
kept no text.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import hilt

sys.path.insert(0, str(Path(__file__).parent))

import chromium

LEGACY = Path(__file__).resolve().parents[1] / "cli" / "data" / "hilt-0.2.8.jsonl"
INJECTION = (
    "<script>document.title='PWNED';window.__pwned=1</script>"
    "<img src=x onerror=\"document.title='PWNED';window.__pwned=2\"> is this safe?"
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
]


def _shift_clock(path: Path) -> None:
    """Spread the calls of a log over three hours (the fake server answers in
    milliseconds): the n-th line moves n * 20 minutes later, so the charts have points."""
    import orjson

    lines = path.read_bytes().splitlines()
    out = []
    for n, raw in enumerate(lines):
        data = orjson.loads(raw)
        ts = datetime.fromisoformat(data["timestamp"]) + timedelta(minutes=20 * (n // 2))
        data["timestamp"] = ts.astimezone(UTC).isoformat()
        out.append(orjson.dumps(data))
    path.write_bytes(b"\n".join(out) + b"\n")


def write_provider_log(path: Path, **instrument_options: Any) -> Path:
    """The calls of a small support desk, through the real SDK and the provider plugin."""
    openai = pytest.importorskip("openai")
    testing = pytest.importorskip("hilt_openai.testing")
    import hilt_costs

    # The fake server is no provider the price tables know: price its models here.
    hilt_costs.set_price("gpt-4o-2024-08-06", input_per_mtok=2.5, output_per_mtok=10)
    hilt_costs.set_price("gpt-4o-mini", input_per_mtok=0.15, output_per_mtok=0.6)
    with testing.FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        session = hilt.instrument(
            backend="local", filepath=path, providers=["openai"], **instrument_options
        )
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            with hilt.scope(conversation_id="ticket-4521", user_id="alice", tenant_id="acme"):
                history: list[dict[str, Any]] = [
                    {"role": "system", "content": "You are a support agent."},
                    {"role": "user", "content": "Where is my parcel? Please use tool."},
                ]
                first = client.chat.completions.create(
                    model="gpt-4o",
                    messages=history,
                    tools=TOOLS,  # type: ignore[arg-type]
                )
                call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
                history.append(first.choices[0].message.model_dump(exclude_none=True))
                history.append(
                    {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped"}'}
                )
                client.chat.completions.create(model="gpt-4o", messages=history)  # type: ignore[arg-type]
                history.append({"role": "user", "content": "Thanks, and when will it arrive?"})
                client.chat.completions.create(model="gpt-4o", messages=history)  # type: ignore[arg-type]
            with hilt.scope(conversation_id="ticket-4522", user_id="bob", tenant_id="globex"):
                messages = [{"role": "user", "content": INJECTION}]
                client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
                server.fail_next(status=429)
                with pytest.raises(openai.RateLimitError):
                    client.chat.completions.create(
                        model="gpt-4o-mini",
                        messages=[{"role": "user", "content": "Refund order 7 please"}],
                    )
            session.flush()
        finally:
            hilt.uninstrument()
            client.close()
            hilt_costs.clear_prices()
    _shift_clock(path)
    return path


@pytest.fixture(scope="session")
def provider_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_provider_log(tmp_path_factory.mktemp("provider") / "calls.jsonl")


@pytest.fixture(scope="session")
def metadata_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metadata") / "calls.jsonl"
    return write_provider_log(path, capture="metadata")


@pytest.fixture(scope="session")
def hash_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hash") / "calls.jsonl"
    return write_provider_log(path, capture="hash", hash_salt="s3cret")


@pytest.fixture(scope="session")
def legacy_log() -> Path:
    """A log written by hilt-python 0.2.8 itself (tests/cli/data)."""
    return LEGACY


@pytest.fixture(scope="session")
def legacy_columns_log() -> Path:
    """A log of hilt-python 0.2.8's columns= form, written by it (tests/core/data)."""
    return LEGACY.parents[2] / "core" / "data" / "hilt-0.2.8-columns.jsonl"


# -- the browser --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[chromium.Browser]:
    """Headless Chromium. Without it the browser tests skip, saying why; under CI
    (CI=true) they fail instead, so that CI proves them."""
    exe = chromium.find()
    if exe is None or not os.access(exe, os.X_OK):
        message = (
            "the browser tests need Chromium (Debian: apt-get install chromium; or set "
            "HILT_CHROMIUM to its path)"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI: {message}", pytrace=False)
        pytest.skip(message)
    b = chromium.Browser(exe)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def open_page(browser: chromium.Browser) -> Iterator[Callable[[str], chromium.Page]]:
    """``open_page(url)``: a new tab on ``url``, loaded and drawn; closed after the test."""
    pages: list[chromium.Page] = []

    def _open(url: str) -> chromium.Page:
        page = browser.new_page()
        pages.append(page)
        page.goto(url)
        return page

    yield _open
    for page in pages:
        with contextlib.suppress(chromium.CDPError):
            browser.send("Target.closeTarget", {"targetId": page.target})
