"""A model on the Anthropic SDK inside a graph: the Anthropic provider's events are the
record of its calls (claimed through the same ambient source as OpenAI's), with the node,
step and thread_id; its errors are recorded once, by the provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from .conftest import Harness, ext
from .graphs import ask, thread, weather_graph

anthropic = pytest.importorskip("anthropic")
testing = pytest.importorskip("hilt_anthropic.testing")


class Claude(BaseChatModel):
    """A small chat model on the anthropic SDK (langchain-anthropic's shape, not its code)."""

    client: Any
    model: str = "claude-haiku-4-5"

    @property
    def _llm_type(self) -> str:
        return "claude"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "anthropic"
        return params

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        turns = [
            {"role": "assistant" if m.type == "ai" else "user", "content": str(m.content) or "-"}
            for m in messages
        ]
        reply = self.client.messages.create(model=self.model, max_tokens=200, messages=turns)
        text = "".join(b.text for b in reply.content if b.type == "text")
        usage = {
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
            "total_tokens": reply.usage.input_tokens + reply.usage.output_tokens,
        }
        answer = AIMessage(text, usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=answer)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@pytest.fixture
def claude() -> Iterator[tuple[Any, Claude]]:
    with testing.FakeAnthropic() as srv:
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="test", max_retries=0)
        yield srv, Claude(client=client)
        client.close()


@pytest.mark.parametrize("providers", [["anthropic", "langchain"], ["langchain"]])
def test_claude_in_a_graph_is_counted_once(
    h: Harness, claude: tuple[Any, Claude], providers: list[str]
) -> None:
    srv, model = claude
    h.instrument(providers)
    weather_graph(model).invoke(ask("hello there"), thread("t-claude"))
    calls = h.of("completion")
    assert len(calls) == len(srv.requests) == 2
    api = "messages" if "anthropic" in providers else "langchain.chat_model"
    assert {c["extensions"]["api"] for c in calls} == {api}
    assert [ext(c, "node", "step") for c in calls] == [
        {"node": "agent", "step": 1},
        {"node": "answer", "step": 3},
    ]
    assert {e["session_id"] for e in h.events()} == {"t-claude"}
    assert all(c["actor"] == {"type": "agent", "id": "anthropic"} for c in calls)


def test_a_claude_error_is_the_provider_s(h: Harness, claude: tuple[Any, Claude]) -> None:
    srv, model = claude
    h.instrument(["anthropic", "langchain"])
    srv.fail_next(529)
    with pytest.raises(anthropic.APIStatusError):
        weather_graph(model).invoke(ask("hello"), thread("t-529"))
    failures = [e for e in h.events() if "error_type" in e["extensions"]]
    assert [(e["action"], e["actor"]["id"], e["extensions"]["status_code"]) for e in failures] == [
        ("system", "anthropic", 529)
    ]
    assert failures[0]["extensions"]["node"] == "agent"
    assert [s["extensions"]["outcome"] for s in h.of("step")] == ["error"]
