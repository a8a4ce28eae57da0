"""Where the per-install salt of ``capture="hash"`` lives: the platform's data folder
(platformdirs), and a salt an earlier HILT made elsewhere is still used, so that hashes
already written keep matching.

macOS is the platform whose folder changed (``~/Library/Application Support/hilt``; HILT
used ``~/.local/share/hilt`` there before). These tests run platformdirs' own macOS rules
(its ``MacOS`` class) on this machine, with a home folder of their own.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import platformdirs
import platformdirs.macos
import pytest

import hilt
from hilt_core import paths
from hilt_core.salt import salt_path


def _hash(salt: str, text: str) -> str:
    return "sha256:" + hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def _hashed_text(log: Path) -> str:
    session = hilt.Session(str(log), capture="hash")
    session.append(
        hilt.Event(
            session_id="c1",
            actor=hilt.Actor(type="human", id="u"),
            action="prompt",
            content=hilt.Content(text="hi"),
        )
    )
    session.close()
    line = hilt.Event.from_json(log.read_text(encoding="utf-8").splitlines()[0])
    assert line.content is not None
    assert line.content.text is not None
    return line.content.text


@pytest.fixture
def macos_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.macos.MacOS)
    return home


def test_on_linux_the_folder_is_the_xdg_one_as_before(salt_home: Path) -> None:
    assert paths.data_dir() == salt_home / "hilt"
    assert paths.legacy_data_dir() is None  # nothing moved
    assert salt_path() == salt_home / "hilt" / "salt"


def test_a_salt_at_the_old_place_is_still_used(macos_home: Path, tmp_path: Path) -> None:
    old = macos_home / ".local" / "share" / "hilt" / "salt"
    old.parent.mkdir(parents=True)
    old.write_text("f00d" * 16 + "\n", encoding="ascii")
    new = macos_home / "Library" / "Application Support" / "hilt" / "salt"
    assert paths.data_dir() == new.parent

    assert _hashed_text(tmp_path / "a.jsonl") == _hash("f00d" * 16, "hi")
    assert not new.exists()  # no second salt: every hash of this install stays comparable


def test_a_new_install_keeps_its_salt_in_the_platform_folder(
    macos_home: Path, tmp_path: Path
) -> None:
    text = _hashed_text(tmp_path / "a.jsonl")
    new = macos_home / "Library" / "Application Support" / "hilt" / "salt"
    assert text == _hash(new.read_text(encoding="ascii").strip(), "hi")
    assert not (macos_home / ".local").exists()


def test_the_platform_folder_wins_when_both_have_a_salt(macos_home: Path, tmp_path: Path) -> None:
    for folder, salt in ((".local/share/hilt", "old"), ("Library/Application Support/hilt", "new")):
        (macos_home / folder).mkdir(parents=True)
        (macos_home / folder / "salt").write_text(salt, encoding="ascii")
    assert _hashed_text(tmp_path / "a.jsonl") == _hash("new", "hi")


def test_the_sheets_spill_goes_in_the_same_data_folder(macos_home: Path) -> None:
    from hilt_sheets.settings import data_dir

    assert data_dir() == macos_home / "Library" / "Application Support" / "hilt" / "sheets"
