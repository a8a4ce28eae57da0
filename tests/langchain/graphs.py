"""The graphs, chains and models the tests run: real LangGraph graphs with a real
``ChatOpenAI`` on the fake server, and chat models no HILT provider plugin covers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Annotated, Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from typing_extensions import TypedDict

from hilt_openai.testing import FakeOpenAI


class State(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


@tool
def lookup(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city or 'Paris'}"


@tool
def broken(city: str) -> str:
    """A tool that fails."""
    raise ValueError(f"no weather station in {city or 'Paris'}")


def chat(srv: FakeOpenAI, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o", base_url=srv.base_url, api_key="test", max_retries=0, **kwargs
    )


def weather_graph(
    model: BaseChatModel,
    *,
    tools: Sequence[Any] = (lookup,),
    checkpointer: bool = True,
    handle_tool_errors: bool | None = None,
    name: str | None = None,
    bind: bool = True,
) -> Any:
    """Two model nodes around a tool node: ``agent`` (the model with tools, asked to use
    one) -> ``tools`` (LangGraph's ToolNode) -> ``answer`` (the model without tools)."""
    asker = model.bind_tools(list(tools)) if bind else model

    def agent(state: State) -> dict[str, Any]:
        return {"messages": [asker.invoke(state["messages"])]}

    def answer(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    node = (
        ToolNode(list(tools))
        if handle_tool_errors is None
        else ToolNode(list(tools), handle_tool_errors=handle_tool_errors)
    )
    g = StateGraph(State)
    g.add_node("agent", agent)
    g.add_node("tools", node)
    g.add_node("answer", answer)
    g.add_edge(START, "agent")
    g.add_edge("agent", "tools")
    g.add_edge("tools", "answer")
    g.add_edge("answer", END)
    kwargs: dict[str, Any] = {}
    if checkpointer:
        kwargs["checkpointer"] = InMemorySaver()
    if name:
        kwargs["name"] = name
    return g.compile(**kwargs)


def thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def ask(text: str) -> dict[str, Any]:
    return {"messages": [("user", text)]}


# -- a chat model no HILT provider plugin covers ------------------------------------------
class EchoChat(BaseChatModel):
    """Answers ``Echo: <last text>``, with usage metadata (one token per word) and a model
    name, sync and async, whole or streamed. ``fail`` makes it raise."""

    model_name: str = "echo-1"
    fail: bool = False
    tool_first: bool = False  # answer the first call with a call of the tool "lookup"

    @property
    def _llm_type(self) -> str:
        return "echo-chat"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "echo"
        params["ls_model_name"] = self.model_name
        return params

    def _answer(self, messages: list[BaseMessage]) -> AIMessage:
        if self.fail:
            raise ConnectionError("the echo server is down")
        last = messages[-1]
        text = "Echo: " + (last.content if isinstance(last.content, str) else "")
        prompt = sum(len(str(m.content).split()) for m in messages)
        usage = {
            "input_tokens": prompt,
            "output_tokens": len(text.split()),
            "total_tokens": prompt + len(text.split()),
        }
        meta = {"model_name": self.model_name, "finish_reason": "stop"}
        if self.tool_first and not any(isinstance(m, AIMessage) for m in messages):
            call = {"name": "lookup", "args": {"city": "Oslo"}, "id": "call_echo_1"}
            return AIMessage(
                "",
                tool_calls=[call],
                usage_metadata=usage,
                response_metadata=meta,  # type: ignore[arg-type]
            )
        return AIMessage(text, usage_metadata=usage, response_metadata=meta)  # type: ignore[arg-type]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        whole = self._answer(messages)
        if whole.tool_calls:
            calls = [
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": 0}
                for c in whole.tool_calls
            ]
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=calls,  # type: ignore[arg-type]
                    usage_metadata=whole.usage_metadata,
                    response_metadata=whole.response_metadata,
                )
            )
            return
        words = str(whole.content).split(" ")
        for i, word in enumerate(words):
            last = i == len(words) - 1
            chunk = AIMessageChunk(
                content=word + ("" if last else " "),
                usage_metadata=whole.usage_metadata if last else None,
                response_metadata=whole.response_metadata if last else {},
            )
            if run_manager:
                run_manager.on_llm_new_token(str(chunk.content), chunk=None)
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages, stop):
            if run_manager:
                await run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


class Shelf(BaseRetriever):
    """A retriever over a few documents: those that share a word with the query."""

    docs: list[Document]
    fail: bool = False

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.fail:
            raise LookupError("the shelf is locked")
        words = set(query.lower().split())
        return [d for d in self.docs if words & set(d.page_content.lower().split())]
