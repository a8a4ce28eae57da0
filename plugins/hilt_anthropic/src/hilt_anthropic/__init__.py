"""HILT's Anthropic provider: every call of the official ``anthropic`` SDK recorded as linked
prompt and completion (or error) events, without changing what the app sees.

Registered in the entry-point group ``hilt`` as ``anthropic``. ``anthropic`` is imported only
when ``instrument(providers=["anthropic"])`` runs; it is not a dependency of this
distribution (``pip install 'hilt-anthropic[anthropic]'`` brings a supported one).

``hilt_anthropic.testing`` holds ``FakeAnthropic``, a loopback Anthropic-compatible server
for tests (see ``NOTES-sdk.md`` beside ``pyproject.toml`` for what each SDK version does).
"""

from __future__ import annotations

SUPPORTED = ">=0.51,<3"
