"""``hilt report`` in a real browser (Debian's headless Chromium): the page loads from disk
and from ``--serve`` with no console error and no network request, shows the numbers of
``hilt stats --json``, finds a conversation, shows its turns in order, and never runs a
script that came in a prompt."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import Page

from hilt import _report
from hilt.cli import main

OpenPage = Callable[[str], Page]


def write_report(log: Path | str, out: Path, *args: str) -> str:
    assert main(["report", str(log), "-o", str(out), *args]) == 0
    return out.resolve().as_uri()


def stats_json(log: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "hilt", "stats", str(log), "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    total: dict[str, Any] = json.loads(out)["total"]
    return total


def shown(page: Page, url: str) -> None:
    """Wait until the page has drawn itself; check it fetched nothing and logged no error."""
    page.wait_for("document.body.dataset.ready === '1'")
    assert page.requests == [url.split("#", maxsplit=1)[0]], "the page made network requests"
    assert page.console_errors == []


def go(page: Page, fragment: str) -> None:
    page.eval(f"location.hash = {json.dumps(fragment)}")
    page.wait_for(f"location.hash === {json.dumps(fragment)}")


def rows(page: Page) -> list[str]:
    return list(page.eval("[...document.querySelectorAll('.conv-row')].map(r => r.dataset.id)"))


def search(page: Page, query: str) -> list[str]:
    page.eval(
        "(() => { const s = document.getElementById('search');"
        f" s.value = {json.dumps(query)}; s.dispatchEvent(new Event('input')); }})()"
    )
    return rows(page)


# -- loads offline, quietly ---------------------------------------------------------------
def test_the_page_loads_from_disk_fetching_nothing(
    provider_log: Path, tmp_path: Path, open_page: OpenPage
) -> None:
    url = write_report(provider_log, tmp_path / "report.html")
    page = open_page(url)
    shown(page, url)
    assert page.eval("document.querySelectorAll('#kpis .kpi').length") == 9
    assert page.eval("document.querySelectorAll('svg.chart-svg rect.bar').length") > 0
    for fragment in ("#conversations", "#conversation=ticket-4521", "#overview"):
        go(page, fragment)
        page.wait_for("document.querySelector('#view').children.length > 0")
    assert page.requests == [url]
    assert page.console_errors == []


def test_the_checks_can_fail(tmp_path: Path, open_page: OpenPage) -> None:
    """A page that fetches and logs an error is caught by the checks used above."""
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://127.0.0.1:9/pixel.png"><script>console.error("boom")</script>')
    page = open_page(bad.as_uri())
    page.wait_for("document.readyState === 'complete'")
    assert "http://127.0.0.1:9/pixel.png" in page.requests
    assert any("boom" in e for e in page.console_errors)


# -- the numbers --------------------------------------------------------------------------
def kpis(page: Page) -> dict[str, tuple[str, str]]:
    found = page.eval(
        "Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map(k =>"
        " [k.dataset.kpi, [k.dataset.value, k.querySelector('.kpi-value').textContent]]))"
    )
    return {k: (v[0], v[1]) for k, v in found.items()}


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))


@pytest.mark.parametrize("which", ["provider", "legacy", "legacy_columns"])
def test_the_numbers_are_those_of_hilt_stats(
    which: str, request: pytest.FixtureRequest, tmp_path: Path, open_page: OpenPage
) -> None:
    log = request.getfixturevalue(f"{which}_log")
    expected = stats_json(log)
    url = write_report(log, tmp_path / "report.html")
    page = open_page(url)
    shown(page, url)
    got = kpis(page)
    lat = expected["latency_ms"]
    wanted = {
        "calls": expected["calls"],
        "errors": expected["errors"],
        "tokens_in": expected["tokens"]["prompt"],
        "tokens_out": expected["tokens"]["completion"],
        "cost": expected["cost_usd"],
        "p50": lat["p50"],
        "p95": lat["p95"],
        "p99": lat["p99"],
        "conversations": expected["conversations"],
    }
    for name, value in wanted.items():
        raw, text = got[name]
        assert float(raw) == value, name  # the value behind the card, exactly
        # and the text on it, to its precision ($0.000300, 43.3 ms, 1,234)
        digits = len(text.split(".")[1].rstrip(" ms")) if "." in text else 0
        assert number(text) == pytest.approx(value, abs=0.51 * 10**-digits), (name, text)
    assert page.eval("document.getElementById('errors-by-status') !== null") == bool(
        expected["errors"]
    )


# -- conversations ------------------------------------------------------------------------
def test_search_finds_a_conversation(
    provider_log: Path, tmp_path: Path, open_page: OpenPage
) -> None:
    url = write_report(provider_log, tmp_path / "report.html")
    page = open_page(url)
    shown(page, url)
    go(page, "#conversations")
    page.wait_for("document.querySelectorAll('.conv-row').length === 2")
    assert rows(page) == ["ticket-4522", "ticket-4521"]
    assert search(page, "parcel") == ["ticket-4521"]  # text of a prompt
    assert search(page, "shipped") == ["ticket-4521"]  # a tool result
    assert search(page, "get_order") == ["ticket-4521"]  # a tool call
    assert search(page, "user:bob") == ["ticket-4522"]
    assert search(page, "tenant:acme") == ["ticket-4521"]
    assert search(page, "id:4522") == ["ticket-4522"]
    assert search(page, "model:gpt-4o-mini") == ["ticket-4522"]
    assert search(page, "status:error") == ["ticket-4522"]
    assert search(page, "RateLimitError") == ["ticket-4522"]
    assert search(page, "user:alice refund") == []
    assert page.eval("document.getElementById('count').textContent") == "0 of 2 conversations"
    search(page, "")
    page.eval(
        "(() => { const m = document.getElementById('model'); m.value = 'gpt-4o-2024-08-06';"
        " m.dispatchEvent(new Event('change')); })()"
    )
    assert rows(page) == ["ticket-4521"]
    assert page.console_errors == []


def test_a_conversation_shows_its_turns_in_order(
    provider_log: Path, tmp_path: Path, open_page: OpenPage
) -> None:
    url = write_report(provider_log, tmp_path / "report.html")
    page = open_page(url)
    shown(page, url)
    go(page, "#conversations")
    page.wait_for("document.querySelectorAll('.conv-row').length === 2")
    page.eval("document.querySelector('.conv-row[data-id=\"ticket-4521\"] a').click()")
    page.wait_for("document.body.dataset.view === 'conversation'")
    assert page.eval("document.getElementById('conversation-id').textContent") == "ticket-4521"
    turns = page.eval(
        "[...document.querySelectorAll('.turn')].map(t => ({n: t.dataset.turn,"
        " items: [...t.querySelectorAll('.item')].map(i => ({kind: i.className,"
        " text: i.querySelector('.item-body').textContent,"
        " meta: (i.querySelector('.item-meta') || {}).textContent || ''}))}))"
    )
    assert [t["n"] for t in turns] == ["1", "2", "3"]
    assert [[i["kind"] for i in t["items"]] for t in turns] == [["item prompt", "item answer"]] * 3
    prompts = [t["items"][0]["text"] for t in turns]
    assert "Where is my parcel?" in prompts[0]
    assert '{"status": "shipped"}' in prompts[1]
    assert prompts[2].endswith("user" + "Thanks, and when will it arrive?")  # its messages
    answers = [t["items"][1] for t in turns]
    assert "tool call get_order" in answers[0]["text"]
    assert answers[2]["text"].startswith("Echo: Thanks")
    for answer in answers:  # tokens, cost, latency per turn
        assert re.search(r"\d+ → \d+ tokens · \$0\.\d{6} · [\d.]+ ms · status 200", answer["meta"])
    go(page, "#conversation=ticket-4522")
    page.wait_for("document.getElementById('conversation-id').textContent === 'ticket-4522'")
    error = page.eval("document.querySelector('.item.error').textContent")
    assert "RateLimitError" in error
    assert "status 429" in error
    assert page.console_errors == []


def test_a_script_in_a_prompt_is_shown_not_run(
    provider_log: Path, tmp_path: Path, open_page: OpenPage
) -> None:
    from conftest import INJECTION

    url = write_report(provider_log, tmp_path / "report.html")
    page = open_page(url)
    shown(page, url)
    for fragment in ("#conversations", "#conversation=ticket-4522"):
        go(page, fragment)
        page.wait_for("document.querySelector('#view').children.length > 0")
    page.wait_for("document.body.dataset.view === 'conversation'")
    assert page.eval("document.querySelector('.item.prompt .text').textContent") == INJECTION
    assert page.eval("window.__pwned === undefined")
    assert page.eval("document.title").startswith("HILT report")
    assert page.eval("document.querySelectorAll('#view img, #view script').length") == 0
    go(page, "#conversations")
    assert search(page, "onerror") == ["ticket-4522"]
    assert page.eval("window.__pwned === undefined")
    assert page.requests == [url]  # the <img src=x> was never requested
    assert page.console_errors == []


def test_the_policy_stops_a_script_that_got_into_the_page(
    provider_log: Path, tmp_path: Path, open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second line of defence: were the data not escaped, the Content-Security-Policy
    would still refuse to run the injected script (and say so on the console)."""
    import orjson

    monkeypatch.setattr(_report, "json_for_html", lambda data: orjson.dumps(data).decode())
    url = write_report(provider_log, tmp_path / "unescaped.html")
    assert "<script>document.title='PWNED'" in Path(tmp_path / "unescaped.html").read_text()
    page = open_page(url)
    page.wait_for("document.readyState === 'complete'")
    assert page.eval("window.__pwned === undefined")
    assert not page.eval("document.title").startswith("PWNED")
    assert any("Content Security Policy" in e for e in page.console_errors)


def test_logs_without_text_say_so(
    metadata_log: Path, hash_log: Path, tmp_path: Path, open_page: OpenPage
) -> None:
    url = write_report(metadata_log, tmp_path / "metadata.html")
    page = open_page(url + "#conversation=ticket-4521")
    shown(page, url + "#conversation=ticket-4521")
    assert page.eval("document.getElementById('no-text') !== null")
    notes = page.eval(
        "[...document.querySelectorAll('.item .placeholder')].map(p => p.textContent)"
    )
    assert len(notes) == 6
    assert all('capture="metadata"' in n for n in notes)
    assert page.eval("document.querySelectorAll('.item .text').length") == 0
    metas = page.eval(
        "[...document.querySelectorAll('.item.answer .item-meta')].map(m => m.textContent)"
    )
    assert len(metas) == 3
    assert all("tokens" in m and "ms" in m for m in metas)

    url = write_report(hash_log, tmp_path / "hash.html")
    page = open_page(url + "#overview")
    shown(page, url + "#overview")
    assert "hashed" in page.eval("document.getElementById('text-note').textContent")
    go(page, "#conversation=ticket-4521")
    page.wait_for("document.body.dataset.view === 'conversation'")
    notes = page.eval(
        "[...document.querySelectorAll('.item-body > .placeholder')].map(p => p.textContent)"
    )
    assert len(notes) == 6
    assert all('capture="hash"' in n for n in notes)
    assert page.console_errors == []


# -- --serve ------------------------------------------------------------------------------
@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """``served(log)``: ``hilt report LOG --serve --port 0`` in a new process; its URL."""
    procs: list[subprocess.Popen[str]] = []

    def start(log: Path) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hilt", "report", str(log), "--serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"serving the report on (http://127\.0\.0\.1:\d+/)", line)
        assert m, line + proc.stderr.read() if proc.poll() is not None else line
        return m.group(1)

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as res:
            return res.status, dict(res.headers), res.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_serve_shows_new_calls_on_reload(
    provider_log: Path, tmp_path: Path, served: Callable[[Path], str], open_page: OpenPage
) -> None:
    log = tmp_path / "live.jsonl"
    lines = provider_log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:4]))  # two calls so far
    url = served(log)
    status, headers, body = get(url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert headers["Cache-Control"] == "no-store"
    assert '"calls":2,' in body
    assert get(url + "favicon.ico")[0] == 404

    page = open_page(url)
    shown(page, url)
    assert kpis(page)["calls"][0] == "2"
    with log.open("ab") as fh:  # the application logs more calls
        fh.write(b"".join(lines[4:]))
    time.sleep(0.05)
    page.goto(url)  # a reload
    page.wait_for("document.body.dataset.ready === '1'")
    assert kpis(page)["calls"][0] == "5"
    assert "live view" in page.eval("document.querySelector('header').textContent")
    assert set(page.requests) == {url}
    assert page.console_errors == []


def listeners(port: int) -> set[str]:
    """The local addresses listening on TCP ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        table = Path("/proc/net", name)
        if not table.exists():
            continue
        for row in table.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
                else:
                    found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_serve_listens_on_loopback_only(provider_log: Path, served: Callable[[Path], str]) -> None:
    url = served(provider_log)
    port = int(url.rsplit(":", 1)[1].strip("/"))
    assert listeners(port) == {"127.0.0.1"}
    assert get(url)[0] == 200
