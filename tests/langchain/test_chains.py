"""Plain LangChain: a prompt | model | parser chain, a model called alone, models no HILT
provider covers (langchain-core's fakes, a custom chat model, a text LLM), a retriever and
a tool called alone."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.documents import Document
from langchain_core.language_models import FakeListChatModel, FakeListLLM
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

import hilt
from hilt_openai.testing import FakeOpenAI

from .conftest import Harness, ext
from .graphs import EchoChat, Shelf, chat, lookup, thread


def prompt_chain() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [("system", "You name one fact."), ("user", "A fact about {topic}")]
    )


def test_prompt_model_parser(srv: FakeOpenAI, hi: Harness) -> None:
    chain = prompt_chain() | chat(srv) | StrOutputParser()
    assert chain.invoke({"topic": "otters"}) == "Echo: A fact about otters"
    prompt, completion, run = hi.events()
    assert (prompt["action"], completion["action"], run["action"]) == (
        "prompt",
        "completion",
        "run",
    )
    assert completion["extensions"]["api"] == "chat.completions"
    assert run["actor"] == {"type": "agent", "id": "RunnableSequence"}
    assert run["content"] == {"text": "Echo: A fact about otters", "input": "otters"}
    assert ext(run, "graph", "outcome") == {"graph": "RunnableSequence", "outcome": "ok"}
    assert "steps" not in run["extensions"]
    run_id = run["extensions"]["run_id"]
    assert prompt["extensions"]["run_id"] == completion["extensions"]["run_id"] == run_id
    assert "node" not in prompt["extensions"]
    # no thread id: the run's conversation is named by its input, its call shares it
    assert prompt["session_id"] == completion["session_id"] == run["session_id"]
    assert run["session_id"].startswith("conv_")


def test_a_chain_without_the_provider(srv: FakeOpenAI, lc_only: Harness) -> None:
    chain = prompt_chain() | chat(srv) | StrOutputParser()
    chain.invoke({"topic": "otters"}, {"metadata": {"thread_id": "chat-1"}})
    prompt, completion, run = lc_only.events()
    assert prompt["content"] == {
        "text": "A fact about otters",
        "messages": [
            {"role": "system", "text": "You name one fact."},
            {"role": "user", "text": "A fact about otters"},
        ],
    }
    assert completion["content"] == {"text": "Echo: A fact about otters"}
    assert completion["extensions"]["api"] == "langchain.chat_model"
    assert {e["session_id"] for e in (prompt, completion, run)} == {"chat-1"}


def test_a_model_called_alone(srv: FakeOpenAI, hi: Harness) -> None:
    model = chat(srv)
    model.invoke("hello there")
    asyncio.run(model.ainvoke("hello again"))
    events = hi.events()
    assert [e["action"] for e in events] == ["prompt", "completion"] * 2
    assert {e["extensions"]["api"] for e in events} == {"chat.completions"}
    assert not hi.of("run")  # a model call is not a run of a graph
    assert "run_id" not in events[0]["extensions"]


def test_a_model_called_alone_without_a_provider(h: Harness, srv: FakeOpenAI) -> None:
    h.instrument(["langchain"])
    chat(srv).invoke("hello there")
    prompt, completion = h.events()
    # the contract's own conversation rule, as the OpenAI provider would name it
    h2 = Harness(h.path.with_name("direct.jsonl"))
    h2.instrument(["openai"])
    chat(srv).invoke("hello there")
    direct_prompt, _ = h2.events()
    assert prompt["session_id"] == direct_prompt["session_id"]
    assert completion["extensions"]["reply_to"] == prompt["event_id"]


def test_langchain_core_s_fake_models(hi: Harness) -> None:
    chain = prompt_chain() | FakeListChatModel(responses=["Otters hold hands."]) | StrOutputParser()
    assert chain.invoke({"topic": "otters"}) == "Otters hold hands."
    FakeListLLM(responses=["a text answer"]).invoke("complete this")
    chat_call, llm_call = hi.of("completion")
    assert chat_call["content"] == {"text": "Otters hold hands."}
    assert ext(chat_call, "provider", "api") == {
        "provider": "fakelistchatmodel",
        "api": "langchain.chat_model",
    }
    assert "tokens" not in chat_call.get("metrics", {})  # the fake reports no usage
    assert llm_call["content"] == {"text": "a text answer"}
    assert llm_call["extensions"]["api"] == "langchain.llm"
    llm_prompt = hi.of("prompt")[-1]
    assert llm_prompt["content"] == {"text": "complete this"}


def test_a_custom_chat_model_streamed_and_async(hi: Harness) -> None:
    model = EchoChat()
    assert "".join(str(c.content) for c in model.stream("one two")) == "Echo: one two"

    async def main() -> None:
        async for _ in model.astream("three"):
            pass
        await model.ainvoke("four")

    asyncio.run(main())
    calls = hi.of("completion")
    assert [c["content"]["text"] for c in calls] == ["Echo: one two", "Echo: three", "Echo: four"]
    assert [c["extensions"]["stream"] for c in calls] == [True, True, False]
    assert calls[0]["metrics"]["tokens"] == {"prompt": 2, "completion": 3, "total": 5}
    assert [ext(c, "model", "request_model", "provider") for c in calls] == [
        {"model": "echo-1", "request_model": "echo-1", "provider": "echo"}
    ] * 3


def test_a_retriever(hi: Harness) -> None:
    shelf = Shelf(
        docs=[
            Document("Otters hold hands while sleeping.", metadata={"source": "a.txt"}),
            Document("Owls turn their heads.", id="owl-1"),
        ]
    )
    found = shelf.invoke("why do otters hold hands")
    assert len(found) == 1
    with pytest.raises(LookupError):
        Shelf(docs=[], fail=True).invoke("anything")
    ok, failed = hi.of("retrieval")
    assert ok["actor"] == {"type": "tool", "id": "Shelf"}
    assert ok["content"] == {
        "text": "why do otters hold hands",
        "documents": [
            {"text": "Otters hold hands while sleeping.", "metadata": {"source": "a.txt"}}
        ],
    }
    assert ext(ok, "documents", "outcome") == {"documents": 1, "outcome": "ok"}
    assert failed["content"] == {"text": "anything", "error": "the shelf is locked"}
    assert ext(failed, "error_type", "outcome") == {"error_type": "LookupError", "outcome": "error"}


def test_a_retriever_in_a_chain(srv: FakeOpenAI, hi: Harness) -> None:
    shelf = Shelf(docs=[Document("Otters hold hands.")])
    chain = (
        {"context": shelf, "topic": lambda x: x}
        | ChatPromptTemplate.from_messages([("user", "{context} Tell me about {topic}")])
        | chat(srv)
        | StrOutputParser()
    )
    with hilt.conversation("kb-1"):
        chain.invoke("otters")
    retrieval, prompt, _completion, run = hi.events()
    assert prompt["content"]["text"].endswith("Tell me about otters")
    assert retrieval["action"] == "retrieval"
    assert retrieval["extensions"]["run_id"] == run["extensions"]["run_id"]
    assert {e["session_id"] for e in hi.events()} == {"kb-1"}
    assert run["content"]["input"] == "otters"


def test_a_tool_called_alone(hi: Harness) -> None:
    assert lookup.invoke({"city": "Oslo"}) == "sunny in Oslo"
    call, result = hi.events()
    assert (call["action"], result["action"]) == ("tool_call", "tool_result")
    assert call["actor"] == {"type": "agent", "id": "langchain"}
    assert call["content"] == {"text": '{"city":"Oslo"}'}
    assert result["content"] == {"text": "sunny in Oslo"}
    assert result["extensions"]["reply_to"] == call["event_id"]
    assert call["session_id"] == result["session_id"]


# langchain-openai's own warning when it combines the usage of several generations
@pytest.mark.filterwarnings("ignore:Unexpected type for token usage")
def test_generate_with_several_prompts(srv: FakeOpenAI, hi: Harness) -> None:
    """LangChain starts every run of a generate() call before calling the model: each is
    still claimed by the provider's record of its call, none recorded twice."""
    from langchain_core.messages import HumanMessage

    model = chat(srv)
    model.generate([[HumanMessage("first")], [HumanMessage("second")]])
    asyncio.run(model.agenerate([[HumanMessage("third")], [HumanMessage("fourth")]]))
    calls = hi.of("completion")
    assert len(calls) == len(srv.requests) == 4
    assert {c["extensions"]["api"] for c in calls} == {"chat.completions"}
    assert sorted(c["content"]["text"] for c in calls) == [
        "Echo: first",
        "Echo: fourth",
        "Echo: second",
        "Echo: third",
    ]


def test_a_text_llm_batch_in_one_request(srv: FakeOpenAI, hi: Harness) -> None:
    from langchain_openai import OpenAI

    llm = OpenAI(model="gpt-3.5-turbo-instruct", base_url=srv.base_url, api_key="t", max_retries=0)
    assert len(llm.batch(["one", "two"])) == 2
    assert len(srv.requests) == 1  # langchain-openai sends both prompts at once
    (call,) = hi.of("completion")
    assert call["extensions"]["api"] == "completions"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # moved to langchain.agents in 1.x
def test_a_prebuilt_agent(hi: Harness) -> None:
    import warnings

    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = create_react_agent(EchoChat(tool_first=True), [lookup])
    result = agent.invoke({"messages": [("user", "weather in Oslo?")]}, thread("t-agent"))
    assert result["messages"][-1].content == "Echo: sunny in Oslo"
    assert [(e["action"], e["extensions"].get("node")) for e in hi.events()] == [
        ("prompt", "agent"),
        ("completion", "agent"),
        ("step", "agent"),
        ("tool_call", "tools"),
        ("tool_result", "tools"),
        ("step", "tools"),
        ("prompt", "agent"),
        ("completion", "agent"),
        ("step", "agent"),
        ("run", None),
    ]
    assert {e["session_id"] for e in hi.events()} == {"t-agent"}
    assert hi.of("run")[0]["content"]["text"] == "Echo: sunny in Oslo"


def test_every_line_written_is_a_valid_event(
    srv: FakeOpenAI, hi: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("jsonschema")
    from hilt.cli import main

    from .graphs import ask, broken, weather_graph

    Shelf(docs=[Document("Otters.", metadata={"k": [1]})]).invoke("otters")
    (prompt_chain() | chat(srv) | StrOutputParser()).invoke({"topic": "otters"})
    with pytest.raises(ValueError):
        weather_graph(chat(srv), tools=[broken], handle_tool_errors=False).invoke(
            ask("use tool"), thread("t-valid")
        )
    weather_graph(EchoChat(tool_first=True)).invoke(ask("weather"), thread("t-valid-2"))
    actions = {e["action"] for e in hi.events()}
    assert actions == {
        "retrieval",
        "prompt",
        "completion",
        "run",
        "step",
        "tool_call",
        "tool_result",
    }
    hi.events()  # flushed
    capsys.readouterr()
    assert main(["validate", str(hi.path)]) == 0
    assert "all valid" in capsys.readouterr().out
