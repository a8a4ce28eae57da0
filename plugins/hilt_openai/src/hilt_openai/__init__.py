"""HILT's OpenAI provider: every call of the official ``openai`` SDK (1.66 to 3.x) recorded
as linked prompt and completion (or error) events, without changing what the app sees.

Registered in the entry-point group ``hilt`` as ``openai``. ``openai`` is imported only
when ``instrument(providers=["openai"])`` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hilt_core import ConfigError, Recorder, hookimpl

HILT_SDK = "openai"  # instrument() without providers= patches it when this is importable
HILT_DEFAULT = True
HILT_OPTIONS = {
    "include_usage": "Streams: ask for the usage chunk (default: only on api.openai.com; "
    "True forces it, False never asks).",
    "capture_request": "Write the whole request body into the prompt's content.request.",
}

SUPPORTED = ">=1.66,<4"


@hookimpl
def provider_patch(
    name: str, recorder: Recorder, options: Mapping[str, Any]
) -> Callable[[], None] | None:
    try:
        import openai
    except ImportError as exc:
        raise ConfigError(
            "HILT's OpenAI provider needs the openai package: pip install 'openai>=1.66'"
        ) from exc
    major, minor = (int(p) for p in openai.__version__.split(".")[:2])
    if (major, minor) < (1, 66):
        raise ConfigError(
            f"HILT supports openai {SUPPORTED}; openai {openai.__version__} is installed "
            "(pip install -U openai)"
        )
    from hilt_core.provider.stainless import patch
    from hilt_openai.adapter import OpenAIAdapter

    return patch(OpenAIAdapter(recorder), recorder)
