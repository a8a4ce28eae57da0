"""From ``hilt.instrument()`` to the log file: the writer thread prices the events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import genai_prices
import pytest
from genai_prices import Usage, calc_price

import hilt
from hilt import Event


def _completion(model: str, prompt: int, completion: int, **ext: Any) -> Event:
    return Event(
        session_id="conv_0123456789ab",
        actor={"type": "agent", "id": "openai"},
        action="completion",
        content={"text": "hi"},
        metrics={
            "tokens": {"prompt": prompt, "completion": completion, "total": prompt + completion}
        },
        extensions={"model": model, "provider": "openai", **ext},
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_instrumented_session_writes_costs(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    session = hilt.instrument(filepath=path, providers=[])
    session.append(
        Event(
            session_id="conv_0123456789ab",
            actor={"type": "human", "id": "user"},
            action="prompt",
            content={"text": "hi"},
        )
    )
    session.append(_completion("gpt-4o-mini", 1200, 80, request_model="gpt-4o-mini"))
    session.append(_completion("mystery-model", 10, 1))
    assert session.flush()
    prompt, priced, unknown = _lines(path)

    assert "metrics" not in prompt
    expected = calc_price(
        Usage(input_tokens=1200, output_tokens=80), "gpt-4o-mini", provider_id="openai"
    )
    assert isinstance(priced["metrics"]["cost_usd"], float)
    assert priced["metrics"]["cost_usd"] == pytest.approx(float(expected.total_price))
    assert priced["metrics"]["cost_source"] == (
        f"genai-prices {genai_prices.__version__} openai/gpt-4o-mini"
    )
    assert "cost_usd" not in unknown["metrics"]
    assert "mystery-model" in unknown["metrics"]["cost_unknown_reason"]


def test_instrument_prices_file_option(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text("[house-model]\ninput_per_mtok = 3\noutput_per_mtok = 6\n")
    path = tmp_path / "x.jsonl"
    session = hilt.instrument(filepath=path, providers=[], prices_file=str(prices))
    session.append(_completion("house-model", 1_000_000, 500_000))
    assert session.flush()
    (line,) = _lines(path)
    assert line["metrics"]["cost_usd"] == 6.0
    assert line["metrics"]["cost_source"] == f"user price ({prices}) house-model"
