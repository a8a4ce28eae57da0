"""HILT's LiteLLM integration: every call made through LiteLLM (``completion`` /
``acompletion``, streams, ``Router``, embeddings, the Responses API) recorded once,
whatever provider it reaches. See docs/litellm.md.

Registered in the entry-point group ``hilt`` as ``litellm``. It uses LiteLLM's own
callback API (a ``CustomLogger`` in ``litellm.callbacks``) and patches nothing. When
LiteLLM sends a call through the ``openai`` SDK and HILT's OpenAI provider is active,
that provider records it and this plugin stamps LiteLLM's context on its events; every
other call (Anthropic, Gemini, Bedrock, a local vLLM through LiteLLM's own HTTP
handlers...) is recorded here. ``litellm`` is not imported by ``instrument()``: the
logger is added when the application imports it.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Mapping
from typing import Any

from hilt_core import ConfigError, Recorder, hookimpl

HILT_SDK = "litellm"  # instrument() without providers= installs it when this is importable
HILT_DEFAULT = True
HILT_OPTIONS: dict[str, str] = {}  # takes no option
HILT_EXTENSION_KEYS = {
    "litellm_provider": "LiteLLM's name of the provider that served the call "
    "(`custom_llm_provider`: `openai`, `anthropic`, `hosted_vllm`, ...).",
    "litellm_call_id": "LiteLLM's id of the call (`litellm_call_id`), as LiteLLM's own "
    "logs and callbacks name it.",
    "litellm_model_group": "The LiteLLM Router model group the call was made to.",
    "litellm_response_cost": "LiteLLM's own cost estimate of the call in USD "
    "(`response_cost`), kept beside HILT's `metrics.cost_usd` for comparison.",
    "litellm_cache_hit": "`true` when LiteLLM answered from its cache (no model was called).",
}

SUPPORTED = ">=1.110,<2"
TESTED = (1, 110)
log = logging.getLogger("hilt")


@hookimpl
def provider_patch(
    name: str, recorder: Recorder, options: Mapping[str, Any]
) -> Callable[[], None] | None:
    try:
        found = importlib.util.find_spec("litellm") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ConfigError(
            "HILT's LiteLLM integration needs the litellm package: "
            f"pip install 'litellm{SUPPORTED}'"
        )
    _check_version()
    from hilt_litellm.install import Installation

    return Installation(recorder).apply()


def _check_version() -> None:
    """An older LiteLLM is instrumented too, with a warning: what it may miss is known."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("litellm")
        major, minor = (int(p) for p in found.split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return
    if (major, minor) < TESTED:
        log.warning(
            "HILT's LiteLLM integration is tested with litellm %s; litellm %s is installed. "
            "Its calls are recorded, but the last async call of a script may be lost and "
            "calls it sends through the openai SDK may not carry LiteLLM's context "
            "(pip install -U litellm)",
            SUPPORTED,
            found,
        )
