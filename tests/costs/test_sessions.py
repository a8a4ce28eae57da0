"""A session's ``prices_file`` prices that session's events, and only those.

Every test writes through a real session (the JSONL backend, HILT's writer thread) and
reads the log back. Global prices (``set_price``, ``load_prices``, ``HILT_PRICES_FILE``)
apply to every session; a session's own file wins over them for its events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hilt
import hilt_costs
from hilt import Event
from hilt_core import ConfigError


def _completion(model: str, prompt: int, completion: int, **ext: Any) -> Event:
    return Event(
        session_id="conv_0123456789ab",
        actor={"type": "agent", "id": "openai"},
        action="completion",
        content={"text": model},
        metrics={
            "tokens": {"prompt": prompt, "completion": completion, "total": prompt + completion}
        },
        extensions={"model": model, "provider": "openai-compatible", **ext},
    )


def _costs(path: Path) -> dict[str, Any]:
    """content text (the model) -> cost_usd, or the reason there is none."""
    out: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        metrics = json.loads(line)["metrics"]
        out[json.loads(line)["content"]["text"]] = metrics.get(
            "cost_usd", metrics.get("cost_unknown_reason")
        )
    return out


def _prices(path: Path, model: str, input_per_mtok: float, output_per_mtok: float) -> Path:
    path.write_text(
        f'["{model}"]\ninput_per_mtok = {input_per_mtok}\noutput_per_mtok = {output_per_mtok}\n'
    )
    return path


def test_instrument_prices_file_prices_the_events_written_during_uninstrument(
    tmp_path: Path,
) -> None:
    prices = _prices(tmp_path / "prices.toml", "house-model", 3, 6)
    log = tmp_path / "x.jsonl"
    # A long flush interval: the events are still queued when uninstrument() closes the
    # session, and are priced and written while it does.
    session = hilt.instrument(
        filepath=log, providers=[], prices_file=str(prices), flush_interval=60
    )
    session.append(_completion("house-model", 1_000_000, 500_000))
    hilt.uninstrument()
    assert _costs(log) == {"house-model": 6.0}


def test_a_session_s_prices_file_prices_its_events(tmp_path: Path) -> None:
    prices = _prices(tmp_path / "prices.toml", "house-model", 1, 2)
    log = tmp_path / "x.jsonl"
    with hilt.Session(log, prices_file=str(prices)) as session:
        session.append(_completion("house-model", 1_000_000, 1_000_000))
    assert _costs(log) == {"house-model": 3.0}
    line = json.loads(log.read_text())
    assert line["metrics"]["cost_source"] == f"user price ({prices}) house-model"


def test_two_sessions_two_files_each_its_own_prices(tmp_path: Path) -> None:
    cheap = _prices(tmp_path / "cheap.toml", "house-model", 1, 1)
    dear = tmp_path / "dear.json"  # a JSON file beside a TOML one
    dear.write_text(json.dumps({"house-model": {"input_per_mtok": 10, "output_per_mtok": 10}}))
    log_a, log_b, log_c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    a = hilt.Session(log_a, prices_file=str(cheap))
    b = hilt.Session(log_b, prices_file=str(dear))
    c = hilt.Session(log_c)  # no prices file: neither file's prices
    for _ in range(3):  # interleaved, so the writer threads alternate between sessions
        for s in (a, b, c):
            s.append(_completion("house-model", 1_000_000, 0))
            assert s.flush(10)
    for s in (a, b, c):
        assert s.close()
    assert _costs(log_a) == {"house-model": 1.0}
    assert _costs(log_b) == {"house-model": 10.0}
    assert isinstance(_costs(log_c)["house-model"], str)  # a reason: no price


def test_global_prices_apply_to_every_session_and_a_session_file_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hilt_costs.set_price("code-model", input_per_mtok=2, output_per_mtok=0)
    hilt_costs.set_price("house-model", input_per_mtok=7, output_per_mtok=0)
    env_file = _prices(tmp_path / "env.toml", "env-model", 4, 0)
    monkeypatch.setenv(hilt_costs.ENV_FILE, str(env_file))
    own = _prices(tmp_path / "own.toml", "house-model", 1, 0)
    log_a, log_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with hilt.Session(log_a, prices_file=str(own)) as a, hilt.Session(log_b) as b:
        for s in (a, b):  # a first: its file is read before b's events are priced
            for model in ("code-model", "env-model", "house-model"):
                s.append(_completion(model, 1_000_000, 0))
            assert s.flush(10)
    assert _costs(log_a) == {"code-model": 2.0, "env-model": 4.0, "house-model": 1.0}
    assert _costs(log_b) == {"code-model": 2.0, "env-model": 4.0, "house-model": 7.0}


def test_a_global_price_set_later_reaches_a_session_with_its_own_file(tmp_path: Path) -> None:
    own = _prices(tmp_path / "own.toml", "house-model", 1, 0)
    log = tmp_path / "x.jsonl"
    with hilt.Session(log, prices_file=str(own)) as session:
        session.append(_completion("later-model", 1_000_000, 0))
        assert session.flush(10)
        hilt_costs.set_price("later-model", input_per_mtok=5, output_per_mtok=0)
        session.append(_completion("later-model", 1_000_000, 0))
    lines = [json.loads(line)["metrics"] for line in log.read_text().splitlines()]
    assert "cost_unknown_reason" in lines[0]
    assert lines[1]["cost_usd"] == 5.0


def test_the_session_hook_rejects_a_bad_prices_file(tmp_path: Path) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text("[house-model]\ninput_per_mtok = 1\n")
    with pytest.raises(ConfigError, match="lacks output_per_mtok"):
        hilt_costs.session_open(options={"prices_file": str(bad)})
    with pytest.raises(ConfigError, match="cannot read"):
        hilt_costs.session_open(options={"prices_file": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    "opener",
    [
        lambda log, prices: hilt.instrument(filepath=log, providers=[], prices_file=prices),
        lambda log, prices: hilt.Session(log, prices_file=prices),
    ],
    ids=["instrument", "Session"],
)
def test_a_bad_prices_file_is_a_config_error_when_the_session_opens(
    tmp_path: Path, opener: Callable[[Path, str], hilt.Session]
) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text("[house-model]\ninput_per_mtok = 1\n")
    with pytest.raises(ConfigError, match="output_per_mtok"):
        opener(tmp_path / "x.jsonl", str(bad))
    assert not hilt.is_instrumented()
