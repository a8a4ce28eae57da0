"""Problems someone must fix are reported by ``instrument()``, with what to do."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import hilt


def _instrument(sheet: Any, **changes: Any) -> hilt.Session:
    opts = sheet.options()
    for name, value in changes.items():
        if value is None:
            opts.pop(name, None)
        else:
            opts[name] = value
    return hilt.instrument(backend="sheets", **opts)


def test_missing_extra_names_the_install_command(
    sheet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gspread", None)  # as if gspread were not installed
    with pytest.raises(hilt.ConfigError, match=r'pip install "hilt\[sheets\]"'):
        _instrument(sheet)


def test_plugin_imports_and_registers_without_gspread() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["gspread"] = None
        sys.modules["google.oauth2"] = None
        import hilt_core
        name, plugin = hilt_core.Registry().resolve("sheets", "backend")
        import hilt_sheets
        assert plugin is hilt_sheets, plugin
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_not_shared_names_the_service_account(sheet: Any) -> None:
    sheet.g.unshare(sheet.sid, sheet.email)
    with pytest.raises(hilt.ConfigError) as err:
        _instrument(sheet)
    assert f"Share the sheet with {sheet.email}" in str(err.value)
    assert "403" in str(err.value)


def test_unknown_sheet_id(sheet: Any) -> None:
    with pytest.raises(hilt.ConfigError, match=r"no spreadsheet 'not-a-sheet' \(404"):
        _instrument(sheet, sheet_id="not-a-sheet")


def test_missing_sheet_id(sheet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_SHEET_ID", raising=False)
    with pytest.raises(hilt.ConfigError, match="GOOGLE_SHEET_ID"):
        _instrument(sheet, sheet_id=None)


def test_missing_credentials(sheet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CREDENTIALS_PATH", raising=False)
    with pytest.raises(hilt.ConfigError, match="GOOGLE_CREDENTIALS_PATH"):
        _instrument(sheet, credentials_json=None)


def test_unreadable_credentials_file(sheet: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(hilt.ConfigError, match="cannot read the Google credentials file"):
        _instrument(sheet, credentials_json=None, credentials_path=str(missing))
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json", "utf-8")
    with pytest.raises(hilt.ConfigError, match="is not JSON"):
        _instrument(sheet, credentials_json=None, credentials_path=str(garbled))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ({"type": "authorized_user", "client_id": "x"}, "pass it as client="),
        ({"type": "external_account"}, "not a service-account key"),
        ({"type": "service_account", "client_email": "a@b"}, "cannot be used"),
    ],
)
def test_wrong_kind_of_credentials(sheet: Any, key: dict[str, Any], message: str) -> None:
    with pytest.raises(hilt.ConfigError, match=message):
        _instrument(sheet, credentials_json=key)


def test_revoked_key(sheet: Any) -> None:
    other = sheet.g.make_service_account(email="someone@proj.iam.gserviceaccount.com")
    forged = dict(sheet.info, private_key=other["private_key"])
    with pytest.raises(hilt.ConfigError, match="create a new JSON key"):
        _instrument(sheet, credentials_json=forged)


def test_credentials_json_may_be_a_string(sheet: Any) -> None:
    session = _instrument(sheet, credentials_json=json.dumps(sheet.info))
    assert session.handle.sheet_id == sheet.sid


def test_bad_options(sheet: Any) -> None:
    with pytest.raises(hilt.ConfigError, match="Unknown columns"):
        _instrument(sheet, columns=["nope"])
    with pytest.raises(hilt.ConfigError, match="writes_per_minute"):
        _instrument(sheet, writes_per_minute="fast")
    with pytest.raises(hilt.ConfigError, match=r"client= must be an authorized gspread\.Client"):
        _instrument(sheet, client=object())


def test_read_only_session_on_a_missing_tab(sheet: Any) -> None:
    opts = sheet.options(worksheet_name="Nope")
    opts.pop("providers")
    with pytest.raises(hilt.ConfigError, match="no tab named 'Nope'"):
        hilt.Session(backend="sheets", mode="r", **opts)
