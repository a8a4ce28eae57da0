"""The provider contract: what a provider plugin builds on.

- :class:`Call`: one LLM call's lifecycle: the prompt event at the start, the completion
  or error event at the end, linked by ``reply_to``; ids, timing, conversation ids,
  actors, the error convention; events built on the writer thread.
- :class:`Prompt` / :class:`Completion`: what a provider says about a request and reads
  from a response (typed dicts), through its :class:`Adapter`.
- :class:`StreamRecord`: a stream recorded however it ends (partial when it did not).
- :func:`tokens`: token counts in HILT's one meaning.
- :mod:`hilt_core.provider.conversation`: the conversation-id rule and the links shared
  by every provider.
- :mod:`hilt_core.provider.messages`: reading messages into HILT's prompt and completion
  content (OpenAI's shapes, which the OpenAI provider and LiteLLM share).
- :func:`add_source`: frameworks above an SDK (LangGraph, LiteLLM) stamp their context
  on the provider's events and learn that the call was recorded (nothing counted twice).
- :mod:`hilt_core.provider.stainless`: one patcher for SDKs generated like ``openai``'s
  (``anthropic`` is one).

docs/plugins.md walks through writing a provider with it, and
``hilt_core.testing.ProviderContract`` tells its author whether it is right.
"""

from hilt_core.provider.ambient import Ambient, add_source
from hilt_core.provider.call import (
    NO_RESPONSE,
    USER_ACTOR,
    Adapter,
    Call,
    Completion,
    Prompt,
    content_of,
)
from hilt_core.provider.conversation import LINKS, digest, opening_id, turn_key
from hilt_core.provider.streams import StreamRecord, finish_open, open_streams
from hilt_core.provider.tokens import tokens

__all__ = [
    "LINKS",
    "Ambient",
    "NO_RESPONSE",
    "USER_ACTOR",
    "Adapter",
    "Call",
    "Completion",
    "Prompt",
    "StreamRecord",
    "add_source",
    "content_of",
    "digest",
    "finish_open",
    "open_streams",
    "opening_id",
    "tokens",
    "turn_key",
]
