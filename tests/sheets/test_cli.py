"""``hilt sheets status`` / ``replay``: what waits in spill files, and sending it without
running the application again (issue #14, item 7: nothing replayed a program's rows
unless the same sheet was opened again)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hilt.cli import main


@pytest.fixture
def left_behind(sheet: Any, make_prompt: Any) -> list[str]:
    """A program that ran during an outage and exited: its rows wait in the spill file."""
    session = sheet.instrument(close_timeout=0.5)
    sheet.g.outage(True)
    events = [make_prompt(f"q{i}") for i in range(12)]
    for e in events:
        session.append(e)
    assert session.close() is False
    assert len(sheet.spilled()) == 12
    return [e.event_id for e in events]


@pytest.fixture
def cli_options(sheet: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What a user passes: a key file, and (here) a transport to the loopback fake."""
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sheet.info), "utf-8")
    key.chmod(0o600)
    # Named per fake: an imported module stays in sys.modules from test to test.
    name = f"loopback_{sheet.g.base_url.rsplit(':', 1)[1]}"
    module = tmp_path / f"{name}.py"
    module.write_text(
        "import gspread\n"
        f"BASE = {sheet.g.base_url!r}\n"
        "class Loopback(gspread.HTTPClient):\n"
        "    def __init__(self, auth, session=None):\n"
        "        super().__init__(auth, session)\n"
        "        self.session.trust_env = False\n"
        "    def request(self, method, endpoint, *args, **kwargs):\n"
        "        for host in ('https://sheets.googleapis.com', 'https://www.googleapis.com'):\n"
        "            if endpoint.startswith(host):\n"
        "                endpoint = BASE + endpoint[len(host):]\n"
        "        return super().request(method, endpoint, *args, **kwargs)\n",
        "utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return ["--credentials", str(key), "--http-client", f"{name}:Loopback"]


def test_status_shows_what_waits_and_for_which_sheet(
    sheet: Any, left_behind: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sheets", "status", str(sheet.spill.parent)]) == 0
    out = capsys.readouterr().out
    assert str(sheet.spill) in out
    assert f"12 rows wait for sheet {sheet.sid}, tab 'LLM Logs'" in out
    assert "1 spill file, 12 rows waiting. Send them: hilt sheets replay" in out

    assert main(["sheets", "status", "--json", str(sheet.spill)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["rows"] == 12
    assert info["sheet_id"] == sheet.sid
    assert info["worksheet"] == "LLM Logs"
    assert info["mode"] == "0600"
    assert info["problem"] is None


def test_replay_sends_the_rows_once_and_empties_the_file(
    sheet: Any, left_behind: list[str], cli_options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    sheet.g.outage(False)
    assert main(["sheets", "replay", str(sheet.spill), *cli_options]) == 0
    assert "12 rows sent; nothing waits" in capsys.readouterr().out
    assert sheet.column("event_id") == left_behind
    assert not sheet.spill.exists()
    assert main(["sheets", "status", str(sheet.spill.parent)]) == 0
    assert "no rows wait for Google Sheets" in capsys.readouterr().out


def test_replay_while_still_down_keeps_the_rows_and_says_so(
    sheet: Any, left_behind: list[str], cli_options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sheets", "replay", str(sheet.spill), "--timeout", "1", *cli_options])
    assert code == 1
    assert "12 still wait" in capsys.readouterr().out
    assert len(sheet.spilled()) == 12


def test_replay_of_rows_that_landed_already_adds_none(
    sheet: Any, make_prompt: Any, cli_options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    session = sheet.instrument(max_retries=0, close_timeout=0.5)
    sheet.g.lose_next_response(kind="write")  # applied, but the program never knew
    events = [make_prompt(f"q{i}") for i in range(4)]
    for e in events:
        session.append(e)
    assert session.flush() is False
    sheet.g.outage(True)
    session.close()
    sheet.g.outage(False)
    assert main(["sheets", "replay", str(sheet.spill), *cli_options]) == 0
    assert sheet.column("event_id") == [e.event_id for e in events]  # once each


def test_an_old_file_without_a_header_needs_the_sheet_named(
    sheet: Any, cli_options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    sheet.spill.write_text('{"event_id": "e-1", "message": "hi"}\n', "utf-8")
    sheet.spill.chmod(0o600)
    assert main(["sheets", "replay", str(sheet.spill), *cli_options]) == 2
    assert "give --sheet-id and --worksheet" in capsys.readouterr().err
    opts = ["--sheet-id", sheet.sid, "--worksheet", "LLM Logs", *cli_options]
    assert main(["sheets", "replay", str(sheet.spill), *opts]) == 0
    assert sheet.column("event_id") == ["e-1"]


def test_status_flags_files_others_can_read_and_refuses_links(
    sheet: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = sheet.spill.parent / "spill-old.jsonl"
    old.write_text('{"event_id": "e-1"}\n', "utf-8")
    os.chmod(old, 0o644)
    link = sheet.spill.parent / "spill-link.jsonl"
    link.symlink_to(old)
    assert main(["sheets", "status", str(sheet.spill.parent)]) == 0
    out = capsys.readouterr().out
    assert f"readable by other users (0644): chmod 600 {old}" in out
    assert "refused: it is a symbolic link" in out
    assert os.stat(old).st_mode & 0o777 == 0o644  # status changes nothing


def test_status_of_the_default_directory_when_nothing_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["sheets", "status"]) == 0
    assert "no rows wait for Google Sheets" in capsys.readouterr().out
