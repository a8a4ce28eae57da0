"""The attribute names a HILT span carries: the OpenTelemetry GenAI semantic conventions
(status: Development) and HILT's own ``hilt.*`` names, in one place that the mapping, the
tests and docs/otel.md use.

The GenAI names are written out here rather than imported from
``opentelemetry-semantic-conventions``: its ``gen_ai`` constants are marked as moved to the
GenAI conventions' own repository, and a backend must not change its output when that
package is upgraded.
"""

from __future__ import annotations

# -- GenAI semantic conventions -----------------------------------------------------------
OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
CONVERSATION_ID = "gen_ai.conversation.id"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
# Cache creation goes by two names: the conventions' documents say cache_creation, the
# anthropic SDK's own tracing and opentelemetry-util-genai emit cache_write. Both are set.
CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
CACHE_WRITE_TOKENS = "gen_ai.usage.cache_write.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"

# -- general conventions --------------------------------------------------------------------
SESSION_ID = "session.id"
USER_ID = "user.id"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
HTTP_STATUS = "http.response.status_code"
ERROR_TYPE = "error.type"
ERROR_OTHER = "_OTHER"
# No convention names a call's cost; Logfire reads this one (in US dollars).
OPERATION_COST = "operation.cost"

# -- HILT's own -----------------------------------------------------------------------------
COST_USD = "hilt.cost_usd"
PROMPT_EVENT_ID = "hilt.prompt.event_id"
RESPONSE_EVENT_ID = "hilt.response.event_id"
EVENT_ID = "hilt.event_id"
ACTION = "hilt.action"
ACTOR_TYPE = "hilt.actor.type"
ACTOR_ID = "hilt.actor.id"
REPLY_TO = "hilt.reply_to"
CAPTURE = "hilt.capture"
TTFT_MS = "hilt.ttft_ms"
UNANSWERED = "hilt.unanswered"
CONTENT_TEXT = "hilt.content.text"

# Extension keys of a HILT event (kept in every capture mode: identifiers, labels, counts)
# and the attribute each becomes.
EXTENSIONS: dict[str, str] = {
    "api": "hilt.api",
    "provider": "hilt.provider",
    "stream": "hilt.stream",
    "attempts": "hilt.attempts",
    "stream_end": "hilt.stream_end",
    "partial": "hilt.partial",
    "unparsed": "hilt.unparsed",
    "embeddings": "hilt.embeddings",
    "dimensions": "hilt.dimensions",
    "error_code": "hilt.error_code",
    "error_detail": "hilt.error_detail",
    "tenant_id": "hilt.tenant_id",
    "tags": "hilt.tags",
    "service_tier": "hilt.service_tier",
    "system_fingerprint": "hilt.system_fingerprint",
    "hilt_redaction": "hilt.redaction",
    "dropped": "hilt.dropped",
    "score": "hilt.score",
    "relevance_score": "hilt.score",
    "tool_call_id": "hilt.tool_call_id",
    "tool_name": "hilt.tool_name",
}

# HILT's ``api`` names and the GenAI operation each is.
OPERATIONS: dict[str, str] = {
    "chat.completions": "chat",
    "responses": "chat",
    "messages": "chat",
    "chat": "chat",
    "generate_content": "generate_content",
    "embeddings": "embeddings",
    "embed_content": "embeddings",
    "completions": "text_completion",
}
DEFAULT_OPERATION = "chat"

# HILT's ``provider`` names and the GenAI provider name each is. The conventions name the
# client's API, not the server: OpenAI's SDK talking to any OpenAI-compatible server is
# "openai" (HILT's own value stays in hilt.provider).
PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "openai-compatible": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "aws.bedrock": "aws.bedrock",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "gcp.gen_ai": "gcp.gen_ai",
    "gemini": "gcp.gen_ai",
}
