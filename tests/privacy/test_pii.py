"""The built-in PII redactor: measured on a labelled corpus, off unless chosen, reached by
name through the registry."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from privacy_support import prompt_event, write_one

import hilt
from hilt_core import ConfigError, Registry
from hilt_pii import KINDS, find_pii, redact_text

CORPUS = Path(__file__).parent / "corpus" / "pii.json"
DOCS = Path(__file__).parents[2] / "docs" / "privacy.md"


def _corpus() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return data


def _score(items: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Entity-level true positives, false positives and false negatives, per kind."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for item in items:
        expected = [tuple(x) for x in item.get("pii", [])]
        for kind, value in find_pii(item["text"]):
            if (kind, value) in expected:
                expected.remove((kind, value))
                tp[kind] += 1
            else:
                fp[kind] += 1
        for kind, _value in expected:
            fn[kind] += 1
    return {"tp": tp, "fp": fp, "fn": fn}


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def metrics_table() -> str:
    """The precision/recall table of docs/privacy.md, computed from the corpus."""
    data = _corpus()
    parts = {
        "main": data["positives"] + data["negatives"],
        "heldout": data["heldout_positives"] + data["heldout_negatives"],
    }
    everything = parts["main"] + parts["heldout"]
    s = _score(everything)
    rows = [
        "| kind | labelled | found | false positives | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        tp, fp, fn = s["tp"][kind], s["fp"][kind], s["fn"][kind]
        rows.append(
            f"| {kind} | {tp + fn} | {tp} | {fp} | {_ratio(tp, tp + fp):.3f} "
            f"| {_ratio(tp, tp + fn):.3f} |"
        )
    for name, items in (("all", everything), ("held-out part only", parts["heldout"])):
        sc = _score(items)
        tp, fp, fn = (sum(sc[k].values()) for k in ("tp", "fp", "fn"))
        rows.append(
            f"| **{name}** | {tp + fn} | {tp} | {fp} | {_ratio(tp, tp + fp):.3f} "
            f"| {_ratio(tp, tp + fn):.3f} |"
        )
    n_pos = len(data["positives"]) + len(data["heldout_positives"])
    n_neg = len(data["negatives"]) + len(data["heldout_negatives"])
    rows.append("")
    rows.append(f"Corpus: {n_pos} texts with PII, {n_neg} texts without (`{CORPUS.name}`).")
    return "\n".join(rows)


# -- the corpus ----------------------------------------------------------------------------
def test_corpus_is_large_and_labelled() -> None:
    data = _corpus()
    positives = data["positives"] + data["heldout_positives"]
    negatives = data["negatives"] + data["heldout_negatives"]
    assert len(positives) >= 60
    assert len(negatives) >= 60
    assert all(item["pii"] for item in positives)
    assert all("pii" not in item for item in negatives)
    labelled = Counter(kind for item in positives for kind, _ in item["pii"])
    assert all(labelled[kind] >= 8 for kind in KINDS), labelled
    for item in positives:
        for _kind, value in item["pii"]:
            assert value in item["text"]


def test_precision_and_recall_on_the_corpus() -> None:
    data = _corpus()
    s = _score(
        data["positives"]
        + data["negatives"]
        + data["heldout_positives"]
        + data["heldout_negatives"]
    )
    tp, fp, fn = (sum(s[k].values()) for k in ("tp", "fp", "fn"))
    assert _ratio(tp, tp + fp) >= 0.95
    assert _ratio(tp, tp + fn) >= 0.95
    for kind in KINDS:
        assert _ratio(s["tp"][kind], s["tp"][kind] + s["fp"][kind]) >= 0.9, kind
        assert _ratio(s["tp"][kind], s["tp"][kind] + s["fn"][kind]) >= 0.9, kind


def test_texts_without_pii_come_out_unchanged() -> None:
    data = _corpus()
    for item in data["negatives"] + data["heldout_negatives"]:
        assert redact_text(item["text"]) == item["text"]


def test_positives_get_typed_placeholders_and_the_rest_survives() -> None:
    text = "Hi, I'm Jane (jane@example.com, +44 20 7946 0958); order 2024-000-1234 on 12/05."
    assert redact_text(text) == "Hi, I'm Jane ([EMAIL], [PHONE]); order 2024-000-1234 on 12/05."


def test_docs_report_the_measured_numbers() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- pii-metrics:start -->\n(.*?)\n<!-- pii-metrics:end -->", docs, re.S)
    assert m, "docs/privacy.md lacks the pii-metrics block"
    assert m.group(1).strip() == metrics_table().strip(), (
        "docs/privacy.md is out of date; the table is now:\n" + metrics_table()
    )


# -- checksums -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "IBAN DE89 3704 0044 0532 0130 01",  # mod-97 fails
        "IBAN XX89 3704 0044 0532 0130 00",  # no such country
        "host 256.1.1.1 and 1.2.3",  # not addresses
        "v6 12:34:56:78",  # not an IPv6 address
    ],
)
def test_number_shapes_that_fail_their_check_survive(text: str) -> None:
    assert redact_text(text) == text


def test_inline_images_are_not_scanned() -> None:
    data = "data:image/png;base64," + "QUJD" * 1000 + "sk-" + "a" * 30
    assert redact_text(data) == data


def test_a_500_character_prompt_costs_well_under_a_millisecond() -> None:
    text = (
        "Summarize this ticket in three bullet points. The customer says the app crashed "
        "twice on Tuesday after the 3.2 update, with 4 items in the cart (129.90 EUR). "
        "Order 2024-000-1234 is pending; reply to jane.doe@example.com or +44 20 7946 0958. "
    ) * 2
    text = text[:500]
    redact_text(text)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        redact_text(text)
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 0.005  # coarse: measured 0.03-0.13 ms, see docs/privacy.md


# -- off unless chosen ---------------------------------------------------------------------
def test_pii_is_an_installed_opt_in_redactor(reg: Registry) -> None:
    reg.load()
    plugin = reg.pm.get_plugin("pii")
    assert plugin is not None
    assert plugin.HILT_OPT_IN is True
    assert reg.distributions["pii"][0] == "hilt-pii"


def test_installed_but_not_chosen_it_does_nothing(tmp_path: Path) -> None:
    line = write_one(tmp_path / "a.jsonl", prompt_event("mail jane@example.com"))
    assert line["content"]["text"] == "mail jane@example.com"


@pytest.mark.parametrize(
    "options",
    [
        {"redactors": ["pii"]},
        {"capture": "redacted"},
        {"capture": "redacted", "redactors": ["pii"]},
    ],
)
def test_chosen_by_name_or_by_mode(options: dict[str, Any], tmp_path: Path) -> None:
    line = write_one(tmp_path / "a.jsonl", prompt_event("mail jane@example.com"), **options)
    assert line["content"]["text"] == "mail [EMAIL]"


def test_chosen_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HILT_REDACTORS", "pii")
    session = hilt.instrument(filepath=tmp_path / "a.jsonl", providers=[])
    session.append(prompt_event("mail jane@example.com"))
    hilt.uninstrument()
    text = json.loads((tmp_path / "a.jsonl").read_text())["content"]["text"]
    assert text == "mail [EMAIL]"


def test_an_unknown_redactor_name_lists_the_installed_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown HILT redactor 'pi'.*Installed redactors: pii"):
        hilt.instrument(filepath=tmp_path / "a.jsonl", providers=[], redactors=["pi"])
    with pytest.raises(ConfigError, match="list of names"):
        hilt.instrument(filepath=tmp_path / "a.jsonl", providers=[], redactors="pii")


def test_blocked_pii_plugin_makes_redacted_mode_fail_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl")
    with pytest.raises(ConfigError, match="needs a redactor"):
        hilt.instrument(filepath=tmp_path / "a.jsonl", providers=[], capture="redacted")
    with pytest.raises(ConfigError, match="hilt-pii"):
        hilt.instrument(filepath=tmp_path / "a.jsonl", providers=[], redactors=["pii"])
