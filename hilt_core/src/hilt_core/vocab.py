"""The vocabulary of the HILT format: every ``extensions`` key and token key, with its
meaning, in one place.

Provider plugins import these names instead of writing strings; the capture modes' list
of kept keys (:mod:`hilt_core.textfields`), the JSON Schema's properties and the tables of
docs/format.md are checked against this module by the test suite (``tests/core``), so the
three cannot drift apart.

A key is either **kept** (an identifier, a label, a count: written as it is in every
capture mode) or **text** (conversation text, hashed by ``capture="hash"`` and removed by
``"metadata"``). A key nobody declared is text: privacy fails closed. A plugin that writes
keys of its own declares them with a module (or object) attribute::

    HILT_EXTENSION_KEYS = {"stop_sequence": "The stop sequence that ended the answer."}

and those keys are then kept in every mode (declare only identifiers and labels, never
anything the model or the user wrote).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Key:
    """One key of the format: where it lives, its JSON type, when it is written, what it
    means, and whether it is conversation text."""

    name: str
    meaning: str
    schema: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "string"})
    on: str = "any"
    text: bool = False
    # Text keys holding LLM message structures (roles and ids inside are not text).
    structured: bool = False


def _k(name: str, meaning: str, typ: str = "string", on: str = "any", **kw: Any) -> Key:
    schema: dict[str, Any] = {"type": typ}
    schema.update(kw.pop("schema", {}))
    return Key(name, meaning, schema, on, **kw)


_INT0 = {"minimum": 0}

# -- extensions: identifiers, labels and counts (kept in every capture mode) -------------
REPLY_TO = "reply_to"
MODEL = "model"
REQUEST_MODEL = "request_model"
PROVIDER = "provider"
ENDPOINT = "endpoint"
API = "api"
STATUS_CODE = "status_code"
FINISH_REASON = "finish_reason"
RESPONSE_ID = "response_id"
STREAM = "stream"
ATTEMPTS = "attempts"
ERROR_CODE = "error_code"
ERROR_TYPE = "error_type"
ERROR_DETAIL = "error_detail"
STREAM_END = "stream_end"
PARTIAL = "partial"
UNPARSED = "unparsed"
EMBEDDINGS = "embeddings"
DIMENSIONS = "dimensions"
LATENCY_MS = "latency_ms"
TTFT_MS = "ttft_ms"
USER_ID = "user_id"
TENANT_ID = "tenant_id"
TAGS = "tags"
DROPPED = "dropped"
HILT_REDACTION = "hilt_redaction"
HILT_REPAIRED = "hilt_repaired"
REPLACED_ACTION = "replaced_action"
SCORE = "score"
RELEVANCE_SCORE = "relevance_score"
SERVICE_TIER = "service_tier"
SYSTEM_FINGERPRINT = "system_fingerprint"
TOOL_CALL_ID = "tool_call_id"
TOOL_NAME = "tool_name"
TRACE_ID = "trace_id"
SPAN_ID = "span_id"
PARENT_ID = "parent_id"
# -- extensions: text (hashed in "hash", removed in "metadata") ---------------------------
TOOL_CALLS = "tool_calls"
METADATA = "metadata"

_KEPT = (
    _k(
        REPLY_TO,
        "`event_id` of the event this one answers (a completion or error answers "
        "its prompt; a prompt the completion it follows up).",
        on="completion, error, prompt",
    ),
    _k(
        MODEL,
        "The model that answered (e.g. `gpt-4o-2024-08-06`); on a prompt, the model asked for.",
    ),
    _k(REQUEST_MODEL, "The model the request asked for (e.g. `gpt-4o`).", on="completion, error"),
    _k(
        PROVIDER,
        "Who served the call: `openai`, `azure`, `openai-compatible`, `anthropic`, "
        "`aws.bedrock`, `gcp.gen_ai` (Gemini Developer API), `gcp.vertex_ai`, ... "
        "(see the provider's page).",
    ),
    _k(ENDPOINT, "Host (and port) of the base URL."),
    _k(
        API,
        "The provider's API: `chat.completions`, `responses`, `embeddings`, "
        "`completions`, `messages`, `generate_content`, `embed_content`, ...",
    ),
    _k(
        STATUS_CODE,
        "HTTP status of the answer; `0` when no response came (connection error, timeout).",
        "integer",
        "completion, error",
        schema=_INT0,
    ),
    _k(
        FINISH_REASON,
        "Why the model stopped, as the provider said: `stop`, `length`, "
        "`tool_calls`, `end_turn`, `max_tokens`, ...",
        on="completion",
    ),
    _k(RESPONSE_ID, "The provider's id of the response.", on="completion"),
    _k(STREAM, "`true` for a streamed call.", "boolean", "completion"),
    _k(
        ATTEMPTS,
        "HTTP attempts the SDK made (its retries included).",
        "integer",
        "completion, error",
        schema={"minimum": 1},
    ),
    _k(
        ERROR_CODE,
        "`api_error` for a provider error; `hilt_dropped` for HILT's report of dropped "
        "events; `hilt_unencodable` and `hilt_unwritable` for a line standing in for an "
        "event that could not be written.",
        on="error",
    ),
    _k(ERROR_TYPE, "The exception class, e.g. `RateLimitError`.", on="error"),
    _k(ERROR_DETAIL, "The provider's error code, e.g. `rate_limit_exceeded`.", on="error"),
    _k(
        STREAM_END,
        "A stream that did not run to its end: `closed` (closed or left through "
        "`with`/`break`), `gc` (garbage-collected unclosed), `error` (failed mid-way; "
        "`error_type` says how), `uninstrumented` (still open at `uninstrument()` or exit).",
        on="completion",
    ),
    _k(
        PARTIAL,
        "`true` when the answer is what arrived before the stream ended early.",
        "boolean",
        "completion",
    ),
    _k(
        UNPARSED,
        "A streaming response closed without being parsed: HILT did not read the body.",
        "boolean",
        "completion",
    ),
    _k(
        EMBEDDINGS,
        "Embeddings calls: how many vectors (the vectors are not logged).",
        "integer",
        "completion",
        schema=_INT0,
    ),
    _k(
        DIMENSIONS, "Embeddings calls: the size of a vector.", "integer", "completion", schema=_INT0
    ),
    _k(
        LATENCY_MS,
        "Whole milliseconds, where 0.2.8 wrote them (kept for its readers); "
        "`metrics.latency_ms` is the precise value.",
        "integer",
        "completion, error",
        schema=_INT0,
    ),
    _k(
        TTFT_MS,
        "Time to the first token of a stream (written in `metrics`; read here too "
        "for events that put it in `extensions`).",
        "number",
        "completion",
        schema=_INT0,
    ),
    _k(USER_ID, "From `hilt.scope(user_id=...)` (or the integration's own user field)."),
    _k(TENANT_ID, "From `hilt.scope(tenant_id=...)`."),
    _k(
        TAGS,
        "From `hilt.scope(tags=[...])`; nested scopes add up.",
        "array",
        schema={"items": {"type": "string"}},
    ),
    _k(
        DROPPED,
        "`hilt_dropped` events: how many events were dropped.",
        "integer",
        "`hilt_dropped`",
        schema={"minimum": 1},
    ),
    _k(
        HILT_REDACTION,
        "Why content was removed: `redactor_failed:<plugin>` (a redactor "
        "raised: redaction fails closed) or `capture_failed:<mode>`.",
    ),
    _k(
        HILT_REPAIRED,
        "What HILT changed to write an event it could not write as it was, one entry per "
        "change: `content.text: lone surrogates replaced by U+FFFD`, "
        "`metrics.latency_ms: nan left out`, `...: nested deeper than 100 levels, left "
        "out`, `...: integer beyond 64 bits written as a string`, `...: a Foo that cannot "
        "be written (RuntimeError)`.",
        "array",
        schema={"items": {"type": "string"}},
    ),
    _k(
        REPLACED_ACTION,
        "The action of the event this line stands in for.",
        on="`hilt_unencodable`, `hilt_unwritable`",
    ),
    _k(SCORE, "A score (feedback, evaluation); the `relevance_score` column.", "number"),
    _k(RELEVANCE_SCORE, "0.2.8's name of `score`.", "number"),
    _k(
        SERVICE_TIER,
        "The provider's service tier of the call (prices may depend on it).",
        on="completion",
    ),
    _k(SYSTEM_FINGERPRINT, "The provider's fingerprint of the serving system.", on="completion"),
    _k(TOOL_CALL_ID, "The id of the tool call a `tool_call` / `tool_result` event is about."),
    _k(TOOL_NAME, "The tool's name on a `tool_call` / `tool_result` event."),
    _k(TRACE_ID, "A trace id the application links the event to."),
    _k(SPAN_ID, "A span id the application links the event to."),
    _k(PARENT_ID, "The id of a parent span or event the application links to."),
)

_TEXT = (
    _k(
        TOOL_CALLS,
        "How many tool calls the model asked for; the calls themselves "
        '(`{"id", "name", "arguments"}`) are in `content.tool_calls`, where redaction '
        "reaches them. (An application's own event may put a list here: it is text then.)",
        "integer",
        "completion",
        text=True,
        structured=True,
        schema={"type": None, "oneOf": [{"type": "integer", "minimum": 0}, {"type": "array"}]},
    ),
    _k(
        METADATA,
        "Other keyword arguments of `hilt.scope(...)` (text: hashed or removed by "
        "the capture modes).",
        "object",
        text=True,
    ),
    *(
        _k(
            name,
            "Conversation text an application or plugin may write here (an LLM message structure).",
            "any",
            text=True,
            structured=True,
        )
        for name in (
            "tool_arguments",
            "tool_result",
            "tool_results",
            "error_message",
            "error",
            "request",
            "response",
            "response_text",
            "refusal",
            "reasoning",
            "messages",
            "input",
            "output",
            "instructions",
            "annotations",
        )
    ),
)

EXTENSIONS: dict[str, Key] = {k.name: k for k in (*_KEPT, *_TEXT)}
"""Every ``extensions`` key the format defines."""

# -- metrics.tokens ----------------------------------------------------------------------
PROMPT = "prompt"
COMPLETION = "completion"
TOTAL = "total"
CACHED = "cached"
CACHE_WRITE = "cache_write"
REASONING = "reasoning"

TOKENS: dict[str, Key] = {
    k.name: k
    for k in (
        _k(
            PROMPT,
            "Every input token of the call, whatever it cost: cached and "
            "cache-written tokens included (Anthropic's `input_tokens` + "
            "`cache_read_input_tokens` + `cache_creation_input_tokens`; OpenAI's "
            "`prompt_tokens`).",
            "integer",
            schema=_INT0,
        ),
        _k(
            COMPLETION,
            "Every output token, reasoning (thinking) tokens included.",
            "integer",
            schema=_INT0,
        ),
        _k(
            TOTAL, "`prompt` + `completion` (or the provider's own total).", "integer", schema=_INT0
        ),
        _k(
            CACHED,
            "The part of `prompt` read from the provider's prompt cache.",
            "integer",
            schema=_INT0,
        ),
        _k(
            CACHE_WRITE,
            "The part of `prompt` written to the provider's prompt cache "
            "(Anthropic's cache creation).",
            "integer",
            schema=_INT0,
        ),
        _k(
            REASONING,
            "The part of `completion` spent on hidden reasoning (thinking).",
            "integer",
            schema=_INT0,
        ),
    )
}
"""Every ``metrics.tokens`` key: all are parts of ``prompt`` or ``completion``, never
added on top of them, so ``total`` = ``prompt`` + ``completion`` holds for every provider."""

# Declared by plugins (HILT_EXTENSION_KEYS): name -> (plugin, meaning). Kept keys only.
_declared: dict[str, tuple[str, str]] = {}
_lock = threading.Lock()

KEPT_EXTENSION_KEYS: set[str] = {k.name for k in EXTENSIONS.values() if not k.text}
"""Keys kept in every capture mode: the format's own and those plugins declared. A set
that grows as plugins register (read it, never change it)."""

TEXT_EXTENSION_KEYS: frozenset[str] = frozenset(
    k.name for k in EXTENSIONS.values() if k.text and k.structured
)
"""Text keys that hold LLM message structures (their roles and ids are not text)."""


def declare(name: str, meaning: str, *, plugin: str = "") -> None:
    """Declare ``name`` an ``extensions`` key of a plugin's that is never text (kept in
    every capture mode). Called by the registry for each entry of a plugin's
    ``HILT_EXTENSION_KEYS``. A key the format defines as text cannot be made kept."""
    known = EXTENSIONS.get(name)
    if known is not None and known.text:
        raise ValueError(
            f"extensions.{name} is conversation text in the HILT format; a plugin cannot "
            "declare it kept"
        )
    with _lock:
        _declared.setdefault(name, (plugin, meaning))
        KEPT_EXTENSION_KEYS.add(name)


def declared() -> dict[str, tuple[str, str]]:
    """The keys plugins declared: name -> (plugin, meaning)."""
    return dict(_declared)


def schema_properties(keys: Mapping[str, Key]) -> dict[str, dict[str, Any]]:
    """The JSON Schema ``properties`` of ``keys`` (the shipped schema is checked against
    this by the test suite)."""
    out: dict[str, dict[str, Any]] = {}
    for name, key in keys.items():
        schema: dict[str, Any] = {"description": key.meaning.replace("`", "")}
        schema.update((k, v) for k, v in key.schema.items() if v is not None)
        if schema.get("type") == "any":
            schema.pop("type")
        out[name] = schema
    return out


def markdown_table(keys: Mapping[str, Key]) -> str:
    """The table of ``keys`` as docs/format.md shows it (generated: see :func:`main`)."""
    rows = ["| key | type | on | meaning |", "|---|---|---|---|"]
    for name, key in keys.items():
        typ = key.schema.get("type") or "integer or array"
        if key.text:
            typ = f"{typ}, *text*"
        rows.append(f"| `{name}` | {typ} | {key.on} | {key.meaning} |")
    return "\n".join(rows) + "\n"


_SECTIONS = {"extensions": EXTENSIONS, "tokens": TOKENS}


def render_doc(text: str) -> str:
    """``text`` (docs/format.md) with each ``<!-- vocab:NAME -->`` section regenerated."""
    for section, keys in _SECTIONS.items():
        start, end = f"<!-- vocab:{section} -->\n", f"<!-- /vocab:{section} -->"
        a = text.index(start) + len(start)
        b = text.index(end, a)
        text = text[:a] + markdown_table(keys) + text[b:]
    return text


def main(argv: list[str] | None = None) -> int:
    """``python -m hilt_core.vocab docs/format.md``: rewrite the generated tables."""
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    for name in args:
        path = Path(name)
        path.write_text(render_doc(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


__all__ = [
    "EXTENSIONS",
    "KEPT_EXTENSION_KEYS",
    "TEXT_EXTENSION_KEYS",
    "TOKENS",
    "Key",
    "declare",
    "declared",
    "markdown_table",
    "render_doc",
    "schema_properties",
]


if __name__ == "__main__":
    raise SystemExit(main())
