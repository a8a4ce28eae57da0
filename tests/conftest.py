"""Test-wide guards: no network beyond 127.0.0.1, and a clean HILT state per test."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

import hilt
from hilt_core import registry
from hilt_core.registry import Registry

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is None or not ip.is_loopback:
        raise OSError(f"tests may not reach the network beyond 127.0.0.1 (tried {address!r})")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_var, None)
for _var in ("HILT_CAPTURE", "HILT_LOAD_PLUGINS", "HILT_DISABLE_PLUGINS", "HILT_FILEPATH"):
    os.environ.pop(_var, None)
os.environ.setdefault("OPENAI_API_KEY", "sk-test-not-a-real-key")
# HILT's own bugs raise in this suite instead of being logged (hilt_core.internal); the
# tests of the production behaviour (logged, the app unaffected) turn it off themselves.
os.environ["HILT_STRICT"] = "1"


@pytest.fixture(autouse=True)
def _clean_hilt_state() -> Iterator[None]:
    """Every test starts uninstrumented and leaves nothing patched behind."""
    import hilt

    yield
    hilt.uninstrument()


@pytest.fixture
def reg() -> Iterator[Registry]:
    """A fresh process-wide registry (entry points loaded), restored afterwards (for the
    core and fault tests)."""
    saved = registry._default
    fresh = Registry()
    registry.set_default_registry(fresh)
    yield fresh
    hilt.uninstrument()
    registry.set_default_registry(saved)
