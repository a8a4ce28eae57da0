"""Pricing never touches the network, unless the user turns auto-update on.

genai-prices downloads prices only through its ``UpdatePrices`` updater; HILT starts it
only on request. These tests deny every connection (any address, loopback included)
while pricing, and check the opt-in updater against a price server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import genai_prices
import pytest
from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import set_custom_snapshot

import hilt_costs
from hilt_core import Event

Enrich = Callable[[Event], Event]
Make = Callable[..., Event]

MODELS = [
    ("gpt-4o-mini", "openai", None),
    ("gpt-4o-2024-08-06", "azure", "acme.openai.azure.com"),
    ("claude-3-5-sonnet-20241022", "anthropic", None),
    ("gemini-2.5-pro", "google", None),
    ("llama-3.1-8b-instant", "openai-compatible", "api.groq.com"),
    ("no-such-model", "openai", None),
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every way out refuses, for any address; attempts are recorded."""
    attempts: list[Any] = []

    def deny(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("no network while pricing")

    monkeypatch.setattr(socket.socket, "connect", deny)
    monkeypatch.setattr(socket.socket, "connect_ex", deny)
    monkeypatch.setattr(socket, "create_connection", deny)
    monkeypatch.setattr(socket, "getaddrinfo", deny)
    return attempts


def test_pricing_opens_no_connection(
    enrich: Enrich, completion: Make, no_network: list[Any]
) -> None:
    for model, provider, endpoint in MODELS:
        ev = enrich(
            completion(
                model, {"prompt": 300, "completion": 40}, provider=provider, endpoint=endpoint
            )
        )
        assert ev.metrics is not None
        if model == "no-such-model":
            assert ev.metrics.cost_usd is None
        else:
            assert ev.metrics.cost_usd is not None
            assert ev.metrics.cost_usd > 0
    hilt_costs.estimate("gpt-4o", {"prompt": 1, "completion": 1}, provider="openai")
    assert no_network == []
    assert "genai_prices:update" not in {t.name for t in threading.enumerate()}


_FRESH_PROCESS = """
import json, socket, sys, threading
attempts = []
def deny(*args, **kwargs):
    attempts.append(repr(args))
    raise OSError("no network in this process")
socket.socket.connect = deny
socket.socket.connect_ex = deny
socket.create_connection = deny
socket.getaddrinfo = deny

from hilt_core import Event, Registry
reg = Registry()
reg.load()
plugin = reg.pm.get_plugin("costs")
loaded_at_start = "genai_prices" in sys.modules
call = reg.caller(plugin, "event_enrich")
costs = []
for model, provider, endpoint in json.loads(sys.argv[1]):
    ext = {"model": model, "provider": provider}
    if endpoint:
        ext["endpoint"] = endpoint
    ev = Event(session_id="conv_0123456789ab", actor={"type": "agent", "id": "x"},
               action="completion", metrics={"tokens": {"prompt": 300, "completion": 40}},
               extensions=ext)
    call(event=ev, options={})
    costs.append(ev.metrics.cost_usd)
print(json.dumps({
    "plugin": plugin is not None,
    "genai_loaded_by_plugin_load": loaded_at_start,
    "costs": costs,
    "attempts": attempts,
    "threads": sorted(t.name for t in threading.enumerate()),
}))
"""


def test_a_fresh_process_prices_offline_from_import_on() -> None:
    """Import, plugin loading, the price tables' first load and pricing, in a process
    where every connection fails from the first line."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (hilt_costs.ENV_FILE, hilt_costs.ENV_AUTO_UPDATE)
    }
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, json.dumps(MODELS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["plugin"] is True
    assert out["genai_loaded_by_plugin_load"] is False  # loading HILT's plugins stays cheap
    assert out["attempts"] == []
    assert "genai_prices:update" not in out["threads"]
    assert all(c is not None and c > 0 for c in out["costs"][:-1])
    assert out["costs"][-1] is None


# -- the opt-in updater -------------------------------------------------------------------
FAKE_TABLE = [
    {
        "id": "openai",
        "name": "OpenAI",
        "api_pattern": "https://api\\.openai\\.com",
        "provider_match": {"contains": "openai"},
        "models": [
            {
                "id": "gpt-4o-mini",
                "match": {"equals": "gpt-4o-mini"},
                "prices": {"input_mtok": 7, "output_mtok": 11},
            }
        ],
    }
]


@pytest.fixture
def price_server() -> Iterator[str]:
    body = json.dumps(FAKE_TABLE).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data.json"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def updater_cleanup() -> Iterator[None]:
    yield
    hilt_costs.disable_auto_update()
    for t in threading.enumerate():
        if t.name == "genai_prices:update":
            t.join(timeout=10)
    set_custom_snapshot(None)  # back to the bundled tables


def test_auto_update_is_opt_in_and_recorded(
    enrich: Enrich, completion: Make, price_server: str, updater_cleanup: None
) -> None:
    tokens = {"prompt": 1_000_000, "completion": 1_000_000}
    before = enrich(completion("gpt-4o-mini", tokens))
    assert before.metrics is not None
    bundled = calc_price(
        Usage(input_tokens=1_000_000, output_tokens=1_000_000), "gpt-4o-mini", provider_id="openai"
    )
    assert before.metrics.cost_usd == pytest.approx(float(bundled.total_price))

    hilt_costs.enable_auto_update(url=price_server)
    assert genai_prices.wait_prices_updated_sync(timeout=30)
    after = enrich(completion("gpt-4o-mini", tokens))
    assert after.metrics is not None
    assert after.metrics.cost_usd == pytest.approx(7 + 11)
    source = after.metrics.extra["cost_source"]
    assert source.startswith(f"genai-prices {genai_prices.__version__} (prices fetched ")
    assert source.endswith(" openai/gpt-4o-mini")
