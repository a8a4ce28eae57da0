"""The cost of a graph run is the sum of its model calls, counted once: whether the OpenAI
provider captured the SDK (its events carry the cost) or the LangChain layer recorded the
calls; both ways give the same total, and ``hilt stats`` groups it by conversation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hilt.cli import main
from hilt_openai.testing import FakeOpenAI

from .conftest import Harness
from .graphs import EchoChat, ask, chat, thread, weather_graph

PRICES = {
    "gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0},
    "echo-1": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
}


def stats(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["stats", str(path), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def run_costs(h: Harness) -> tuple[float, float, list[dict[str, Any]]]:
    """(sum of the model calls' costs, sum over every event, the calls) of the log."""
    events = h.events()
    calls = [e for e in events if e["action"] == "completion"]
    of_calls = sum(e["metrics"]["cost_usd"] for e in calls)
    of_all = sum(e.get("metrics", {}).get("cost_usd", 0.0) for e in events)
    return of_calls, of_all, calls


def three_runs(srv: FakeOpenAI, h: Harness, prices: Path, providers: list[str]) -> None:
    h.instrument(providers, prices_file=str(prices))
    graph = weather_graph(chat(srv))
    graph.invoke(ask("use tool in Rome"), thread("t-rome"))
    graph.invoke(ask("and tomorrow?"), thread("t-rome"))
    graph.invoke(ask("use tool in Oslo"), thread("t-oslo"))


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(PRICES))
    return path


@pytest.mark.parametrize("providers", [["openai", "langchain"], ["langchain"]])
def test_the_cost_of_a_run_is_the_sum_of_its_model_calls(
    srv: FakeOpenAI,
    h: Harness,
    prices: Path,
    capsys: pytest.CaptureFixture[str],
    providers: list[str],
) -> None:
    three_runs(srv, h, prices, providers)
    of_calls, of_all, calls = run_costs(h)
    assert len(calls) == len(srv.requests) == 6  # one completion per request, no more
    # every call priced from the fake's usage: (prompt * 2.5 + completion * 10) / 1e6
    tokens = [
        (c["metrics"]["tokens"]["prompt"], c["metrics"]["tokens"]["completion"]) for c in calls
    ]
    assert of_calls == pytest.approx(sum(p * 2.5e-6 + c * 10e-6 for p, c in tokens))
    assert of_all == pytest.approx(of_calls)  # runs, steps and tools add nothing
    report = stats(h.path, capsys, "--by", "conversation")
    assert report["total"]["calls"] == 6
    assert report["total"]["cost_usd"] == pytest.approx(of_calls)
    groups = {g["key"]: g for g in report["groups"]}
    assert set(groups) == {"t-rome", "t-oslo"}
    assert groups["t-rome"]["calls"] == 4
    rome = sum(c["metrics"]["cost_usd"] for c in calls if c["session_id"] == "t-rome")
    assert groups["t-rome"]["cost_usd"] == pytest.approx(rome)
    # a run's cost: the calls that carry its run_id
    runs = [r["extensions"]["run_id"] for r in h.of("run")]
    per_run = [
        sum(c["metrics"]["cost_usd"] for c in calls if c["extensions"]["run_id"] == r) for r in runs
    ]
    assert len(per_run) == 3
    assert sum(per_run) == pytest.approx(of_calls)


def test_the_same_total_with_and_without_the_provider(
    srv: FakeOpenAI, tmp_path: Path, prices: Path
) -> None:
    totals = []
    for n, providers in enumerate((["openai"], ["openai", "langchain"], ["langchain"])):
        h = Harness(tmp_path / f"log{n}.jsonl")
        three_runs(srv, h, prices, providers)
        of_calls, _, calls = run_costs(h)
        assert len(calls) == 6
        totals.append(of_calls)
    assert totals[0] > 0
    assert totals[1] == pytest.approx(totals[0])
    assert totals[2] == pytest.approx(totals[0])


def test_a_model_no_provider_covers_is_priced_once(
    h: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    h.instrument(["openai", "langchain"], prices_file=str(prices))
    weather_graph(EchoChat(tool_first=True)).invoke(ask("weather"), thread("t-echo"))
    of_calls, of_all, calls = run_costs(h)
    assert len(calls) == 2
    tokens = [
        (c["metrics"]["tokens"]["prompt"], c["metrics"]["tokens"]["completion"]) for c in calls
    ]
    assert of_calls > 0
    assert of_calls == pytest.approx(sum(p * 1e-6 + c * 2e-6 for p, c in tokens))
    assert of_all == pytest.approx(of_calls)
    report = stats(h.path, capsys, "--by", "conversation")
    assert [(g["key"], g["calls"]) for g in report["groups"]] == [("t-echo", 2)]
    assert report["groups"][0]["cost_usd"] == pytest.approx(of_calls)
