"""A test kit for plugin authors: contracts every backend and every provider should pass,
the harness of a provider's tests, a loopback server to build an SDK's fake on, and
fixtures.

It is a pytest plugin (entry point ``pytest11: hilt``), so with hilt-core installed the
fixtures ``hilt_registry``, ``hilt_clean`` and ``hilt_production`` are available in any test suite:

- :mod:`.contracts`: :class:`BackendContract`, :class:`ProviderContract`, ``make_event``;
- :mod:`.harness`: :class:`Harness`, ``harness_fixtures``, ``http_errors``, ``broken``,
  ``scrub``;
- :mod:`.checks`: ``check_error``, ``check_partial``, ``raised``;
- :mod:`.loopback`: :class:`LoopbackServer`, :class:`LoopbackHandler`,
  :class:`RecordedRequest`, :class:`StreamFault`;
- :mod:`.pytest_plugin`: the fixtures.

Only the contracts and the fixtures need pytest: the names are imported when first used,
so that a fake built on :class:`LoopbackServer` (``hilt demo`` runs two) works without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hilt_core.testing.checks import check_error, check_partial, raised
    from hilt_core.testing.contracts import (
        BackendContract,
        ProviderContract,
        make_event,
        stainless_patch_points,
    )
    from hilt_core.testing.harness import (
        Harness,
        broken,
        harness_fixtures,
        http_errors,
        scrub,
    )
    from hilt_core.testing.loopback import (
        LoopbackHandler,
        LoopbackServer,
        RecordedRequest,
        StreamFault,
    )

# pytest loads this module through the entry point, then the fixtures with it.
pytest_plugins = ["hilt_core.testing.pytest_plugin"]

_WHERE = {
    "check_error": "checks",
    "check_partial": "checks",
    "raised": "checks",
    "BackendContract": "contracts",
    "ProviderContract": "contracts",
    "make_event": "contracts",
    "stainless_patch_points": "contracts",
    "Harness": "harness",
    "broken": "harness",
    "harness_fixtures": "harness",
    "http_errors": "harness",
    "scrub": "harness",
    "LoopbackHandler": "loopback",
    "LoopbackServer": "loopback",
    "RecordedRequest": "loopback",
    "StreamFault": "loopback",
}

__all__ = [
    "BackendContract",
    "Harness",
    "LoopbackHandler",
    "LoopbackServer",
    "ProviderContract",
    "RecordedRequest",
    "StreamFault",
    "broken",
    "check_error",
    "check_partial",
    "harness_fixtures",
    "http_errors",
    "make_event",
    "raised",
    "scrub",
    "stainless_patch_points",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
