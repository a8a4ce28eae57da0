"""The pytest plugin of the kit: loaded in every test suite where hilt-core is installed
(entry point ``pytest11: hilt``, which names :mod:`hilt_core.testing`; its
``pytest_plugins`` brings this module in). Its fixtures are named ``hilt_*``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The kit's asserts say what failed, as the test's own do (before the modules are imported).
pytest.register_assert_rewrite(
    "hilt_core.testing.checks", "hilt_core.testing.contracts", "hilt_core.testing.harness"
)

from hilt_core.context import GLOBAL  # noqa: E402
from hilt_core.instrument import uninstrument  # noqa: E402
from hilt_core.registry import Registry  # noqa: E402


@pytest.fixture
def hilt_registry() -> Registry:
    """A fresh registry that has loaded the installed entry points."""
    reg = Registry()
    reg.load()
    return reg


@pytest.fixture
def hilt_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """HILT as in production: its own bugs logged, not raised (``HILT_STRICT`` unset; a
    suite that sets it, as HILT's own does, sees them raise)."""
    monkeypatch.delenv("HILT_STRICT", raising=False)


@pytest.fixture
def hilt_clean() -> Iterator[None]:
    """Uninstrument after the test, whatever it did."""
    yield
    uninstrument()
    GLOBAL.session = None
