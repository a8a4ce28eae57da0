"""User prices from a file: ``load_prices()``, ``HILT_PRICES_FILE``; errors say what to fix."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

import hilt_costs
from hilt_core import ConfigError, Event

Enrich = Callable[[Event], Event]
Make = Callable[..., Event]

TOML = """
"prod-chat" = "gpt-4o-mini"

["ft:gpt-4o-mini-2024-07-18:acme::abc123"]
input_per_mtok = 0.30
output_per_mtok = 1.20
cached_input_per_mtok = 0.15

[llama3]
input_per_mtok = 0
output_per_mtok = 0

[gpt-4o]
provider = "azure"
input_per_mtok = 2
output_per_mtok = 8
"""


def test_a_toml_file(tmp_path: Path, enrich: Enrich, completion: Make) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(TOML)
    assert hilt_costs.load_prices(path) == 4

    ft = enrich(
        completion(
            "ft:gpt-4o-mini-2024-07-18:acme::abc123",
            {"prompt": 2_000_000, "completion": 1_000_000, "cached": 1_000_000},
        )
    )
    local = enrich(
        completion("llama3", {"prompt": 50, "completion": 5}, provider="openai-compatible")
    )
    azure = enrich(completion("gpt-4o", {"prompt": 1_000_000, "completion": 0}, provider="azure"))
    aliased = enrich(completion("prod-chat", {"prompt": 1000, "completion": 100}, provider="azure"))
    assert ft.metrics is not None
    assert local.metrics is not None
    assert azure.metrics is not None
    assert aliased.metrics is not None
    assert ft.metrics.cost_usd == pytest.approx(0.30 + 0.15 + 1.20)
    assert ft.metrics.extra["cost_source"].startswith(f"user price ({path}) ")
    assert local.metrics.cost_usd == 0.0
    assert azure.metrics.cost_usd == pytest.approx(2.0)
    expected = calc_price(
        Usage(input_tokens=1000, output_tokens=100), "gpt-4o-mini", provider_id="azure"
    )
    assert aliased.metrics.cost_usd == pytest.approx(float(expected.total_price))


def test_a_json_file(tmp_path: Path, enrich: Enrich, completion: Make) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"my-model": {"input_per_mtok": 1, "output_per_mtok": 3}}))
    hilt_costs.load_prices(path)
    ev = enrich(completion("my-model", {"prompt": 1_000_000, "completion": 1_000_000}))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == pytest.approx(4.0)


def test_the_environment_names_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enrich: Enrich, completion: Make
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("[house-model]\ninput_per_mtok = 5\noutput_per_mtok = 5\n")
    monkeypatch.setenv(hilt_costs.ENV_FILE, str(path))
    ev = enrich(completion("house-model", {"prompt": 100_000, "completion": 100_000}))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == pytest.approx(1.0)


def test_a_broken_file_in_the_environment_is_logged_not_raised(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    enrich: Enrich,
    completion: Make,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("[house-model]\ninput_per_mtok = 5\n")
    monkeypatch.setenv(hilt_costs.ENV_FILE, str(path))
    caplog.set_level(logging.ERROR, logger="hilt")
    ev = enrich(completion("gpt-4o-mini", {"prompt": 100, "completion": 10}))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd is not None  # the source still prices what it knows
    assert any("output_per_mtok" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("[m]\ninput_per_mtok = 1\n", ".toml", "lacks output_per_mtok"),
        ("[m]\ninput_per_mtok = 1\noutput_per_mtok = 1\nprice = 3\n", ".toml", "unknown key"),
        ("[m]\ninput_per_mtok = -1\noutput_per_mtok = 1\n", ".toml", ">= 0"),
        ('[m]\ninput_per_mtok = "cheap"\noutput_per_mtok = 1\n', ".toml", "must be a number"),
        ("m = 3\n", ".toml", "table of prices"),
        ("[m\n", ".toml", "not valid TOML"),
        ("{", ".json", "not valid JSON"),
        ("[1, 2]", ".json", "mapping of model name"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"prices{suffix}"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        hilt_costs.load_prices(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        hilt_costs.load_prices(tmp_path / "nope.toml")


def test_set_price_checks_its_arguments() -> None:
    with pytest.raises(ConfigError, match="must be a finite number"):
        hilt_costs.set_price("m", input_per_mtok=float("nan"), output_per_mtok=1)
    with pytest.raises(ConfigError, match="non-empty"):
        hilt_costs.set_price(" ", input_per_mtok=1, output_per_mtok=1)
