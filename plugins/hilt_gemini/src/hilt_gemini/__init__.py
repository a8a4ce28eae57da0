"""HILT's Gemini provider: every call of Google's ``google-genai`` SDK, on the Gemini
Developer API (``gcp.gen_ai``) and on Vertex AI (``gcp.vertex_ai``), recorded as linked
prompt and completion (or error) events, without changing what the app sees.

Registered in the entry-point group ``hilt`` as ``gemini``. ``google.genai`` is imported
only when ``instrument()`` patches it; it is not a dependency of this distribution
(``pip install 'hilt-gemini[gemini]'`` brings a supported one). The deprecated
``google-generativeai`` package is not supported: a user who has only it is told, once,
to install ``google-genai``.

``hilt_gemini.testing`` holds ``FakeGemini``, a loopback Gemini-compatible server for
tests. docs/gemini.md says what is captured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from hilt_core import ConfigError, Recorder, hookimpl

log = logging.getLogger("hilt")

# instrument() without providers= calls this provider when either is importable: the
# deprecated package only to tell its user what to install.
HILT_SDK = ("google.genai", "google.generativeai")
HILT_DEFAULT = True
HILT_OPTIONS = {
    "capture_request": "Write the whole request body into the prompt's content.request.",
}

OLDEST = (1, 30)
SUPPORTED = ">=1.30,<4"
DEPRECATED = (
    "HILT does not record the deprecated google-generativeai package (its support ended "
    "2025-11-30); Gemini calls made with it are not logged. Install Google's current SDK, "
    "google-genai (pip install 'google-genai{supported}'), and use `from google import "
    "genai`: HILT records it."
)
_told: list[bool] = []


def _version(text: str) -> tuple[int, int]:
    major, minor = (int("".join(c for c in p if c.isdigit()) or 0) for p in text.split(".")[:2])
    return major, minor


def _importable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@hookimpl
def provider_patch(
    name: str, recorder: Recorder, options: Mapping[str, Any]
) -> Callable[[], None] | None:
    try:
        from google.genai import version
    except ImportError as exc:
        if _importable("google.generativeai"):
            if not _told:  # once per process: the app may instrument() again
                _told.append(True)
                log.warning(DEPRECATED.format(supported=SUPPORTED))
            return None
        raise ConfigError(
            "HILT's Gemini provider needs Google's google-genai package: "
            f"pip install 'google-genai{SUPPORTED}'"
        ) from exc
    if _version(version.__version__) < OLDEST:
        raise ConfigError(
            f"HILT supports google-genai {SUPPORTED}; google-genai {version.__version__} is "
            "installed (pip install -U google-genai)"
        )
    from hilt_gemini.adapter import GeminiAdapter
    from hilt_gemini.patch import patch

    return patch(GeminiAdapter(recorder), recorder)
