"""HILT's Anthropic provider: every call of the official ``anthropic`` SDK (0.51 to 2.x)
recorded as linked prompt and completion (or error) events, without changing what the
app sees (docs/anthropic.md).

Registered in the entry-point group ``hilt`` as ``anthropic``. ``anthropic`` is imported only
when ``instrument(providers=["anthropic"])`` runs (or ``instrument()`` finds it installed);
it is not a dependency of this distribution (``pip install 'hilt-anthropic[anthropic]'``
brings a supported one).

``hilt_anthropic.testing`` holds ``FakeAnthropic``, a loopback Anthropic-compatible server
for tests (see ``NOTES-sdk.md`` beside ``pyproject.toml`` for what each SDK version does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hilt_core import ConfigError, Recorder, hookimpl

HILT_SDK = "anthropic"  # instrument() without providers= patches it when this is importable
HILT_DEFAULT = True
HILT_OPTIONS = {
    "capture_request": "Write the whole request body into the prompt's content.request.",
}
HILT_EXTENSION_KEYS = {
    "thinking_type": "Anthropic prompts: the request's extended-thinking setting "
    "(`enabled`, `adaptive`, `disabled`).",
    "thinking_budget": "Anthropic prompts: the thinking budget in tokens (`budget_tokens`).",
    "betas": "Anthropic prompts: the beta features the request asked for "
    "(the `anthropic-beta` header).",
    "web_search_requests": "Anthropic completions: web searches the server ran for the call.",
    "web_fetch_requests": "Anthropic completions: web fetches the server ran for the call.",
}

SUPPORTED = ">=0.51,<3"
OLDEST = (0, 51)


@hookimpl
def provider_patch(
    name: str, recorder: Recorder, options: Mapping[str, Any]
) -> Callable[[], None] | None:
    import sys

    if "anthropic" not in sys.modules:
        # Not imported by the application yet: check the installed version without
        # importing it (tens of MB an OpenAI-only app would pay), and patch it when the
        # application imports it.
        import importlib.metadata

        from hilt_core.provider.lazy import when_imported

        try:
            installed = importlib.metadata.version("anthropic")
        except importlib.metadata.PackageNotFoundError as exc:
            raise _missing() from exc
        _check(installed)
        return when_imported("anthropic", lambda: _patch(recorder))
    return _patch(recorder)


def _missing() -> ConfigError:
    return ConfigError(
        "HILT's Anthropic provider needs the anthropic package: "
        "pip install 'hilt-anthropic[anthropic]' (or 'anthropic>=0.51')"
    )


def _check(version: str) -> None:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        major, minor = OLDEST  # a build without a plain version: let it through
    if (major, minor) < OLDEST or major >= 3:
        raise ConfigError(
            f"HILT supports anthropic {SUPPORTED}; anthropic {version} is installed "
            "(pip install -U 'anthropic>=0.51,<3')"
        )


def _patch(recorder: Recorder) -> Callable[[], None]:
    try:
        import anthropic
    except ImportError as exc:
        raise _missing() from exc
    _check(str(getattr(anthropic, "__version__", "0")))
    from hilt_anthropic.adapter import AnthropicAdapter
    from hilt_core.provider.stainless import patch

    return patch(AnthropicAdapter(recorder), recorder)
