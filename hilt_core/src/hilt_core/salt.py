"""The key of ``capture="hash"``: given, from the environment, or made once per install.

Hashes are HMAC-SHA256 keyed by this salt, so equal texts hash alike under one salt (they
can be grouped) while nobody without the salt can test a guess against a hash. The
per-install salt is a random 32-byte hex string in the file ``salt`` of HILT's per-user
data folder (:func:`hilt_core.paths.data_dir`: ``~/.local/share/hilt/salt`` on Linux),
readable by its owner only. A salt that an earlier HILT made in ``$XDG_DATA_HOME/hilt`` on a
platform whose data folder is elsewhere (macOS) is still used, so hashes already written
keep matching. Hashes made on two machines match only if they share a salt: give the same
``hash_salt=`` / ``HILT_HASH_SALT`` to both.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from hilt_core import paths
from hilt_core.errors import ConfigError

SALT_ENV = "HILT_HASH_SALT"


def salt_path() -> Path:
    """The salt file: in the data folder, unless only the place an earlier HILT used has one."""
    path = paths.data_dir() / "salt"
    legacy = paths.legacy_data_dir()
    if legacy is not None and not path.exists() and (legacy / "salt").exists():
        return legacy / "salt"
    return path


def hash_key(given: str | bytes | None = None) -> bytes:
    """The HMAC key: ``given`` (``hash_salt=``), else ``HILT_HASH_SALT``, else the
    per-install salt file (created on first use)."""
    if given:
        return given if isinstance(given, bytes) else given.encode("utf-8")
    env = os.environ.get(SALT_ENV)
    if env:
        return env.encode("utf-8")
    path = salt_path()
    try:
        return _read_or_create(path)
    except OSError as exc:
        raise ConfigError(
            f"capture='hash' needs a salt and HILT could not keep one in {path} ({exc}); "
            f"pass hash_salt=... or set {SALT_ENV}"
        ) from exc


def _read_or_create(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".salt.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # link() fails if another process made the salt first: theirs wins, and every
        # process of this install ends up with the same salt.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links
            if not path.exists():
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if not text:
        raise OSError(f"the salt file {path} is empty")
    return text.encode("ascii")
