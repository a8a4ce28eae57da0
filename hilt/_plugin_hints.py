"""Where HILT's own plugins come from, for the error raised when one is asked for by name
and is not installed. The kernel knows no plugin by name; this package, which ships the
built-in ones, tells it."""

from __future__ import annotations

from hilt_core.registry import add_hint

_DEFAULT = "installed with `pip install hilt`"
_EXTRA = 'pip install "hilt[{extra}]" (from a checkout of HILT: pip install ./plugins/hilt_{extra})'

for _name in ("openai", "jsonl", "local", "costs", "pii"):
    add_hint(_name, f"hilt-{'jsonl' if _name == 'local' else _name} ({_DEFAULT})")
for _extra in ("sheets", "anthropic", "gemini", "langchain", "litellm", "otel"):
    add_hint(_extra, f"hilt-{_extra}: " + _EXTRA.format(extra=_extra))
