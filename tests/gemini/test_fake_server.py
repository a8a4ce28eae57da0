"""FakeGemini proven with the real google-genai SDK, uninstrumented: the paths of both API
flavours, bodies the SDK's own types accept, streams whose every chunk carries the usage
so far, scripted replies and injected faults."""

from __future__ import annotations

import asyncio

import pytest
from google import genai
from google.genai import errors, types

from hilt_gemini.testing import FakeGemini, Reply

from .conftest import MODEL, STREAM_ERROR_EVENTS


def test_developer_api_paths_and_answer(srv: FakeGemini, client: genai.Client) -> None:
    r = client.models.generate_content(model=MODEL, contents="hello there")
    assert r.text == "Echo: hello there"
    assert r.model_version == "gemini-2.5-flash-001"
    assert r.usage_metadata is not None
    assert r.usage_metadata.prompt_token_count == 2
    assert r.usage_metadata.candidates_token_count == 3
    req = srv.last_request
    assert req.path.endswith(f"/models/{MODEL}:generateContent")
    assert not req.vertex
    assert req.headers.get("x-goog-api-key") == "fake-key"


def test_vertex_paths_and_offline_credentials(srv: FakeGemini, vertex: genai.Client) -> None:
    r = vertex.models.generate_content(model=MODEL, contents="hi")
    assert r.text == "Echo: hi"
    req = srv.last_request
    assert "/projects/hilt-test/locations/us-central1/publishers/google/models/" in req.path
    assert req.vertex
    assert req.headers.get("authorization") == "Bearer fake-token"


def test_stream_chunks_carry_the_usage_so_far(srv: FakeGemini, any_client: genai.Client) -> None:
    chunks = list(any_client.models.generate_content_stream(model=MODEL, contents="a b c d"))
    assert len(chunks) == srv.stream_chunks
    assert "".join(c.text or "" for c in chunks) == "Echo: a b c d"
    counts = [c.usage_metadata.candidates_token_count for c in chunks if c.usage_metadata]
    assert counts == sorted(counts)
    assert counts[-1] == 5  # "Echo:" and four words: the last chunk has the whole count
    assert sum(counts) > counts[-1]  # summing the chunks would overcount
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert srv.last_request.query == {"alt": "sse"}


def test_scripted_reply_with_thought_and_function_call(
    client: genai.Client, srv: FakeGemini
) -> None:
    srv.script(
        Reply(text="done", thought="hmm", function_calls=[("f", {"x": 1})], finish_reason="STOP")
    )
    r = client.models.generate_content(model=MODEL, contents="q")
    parts = r.candidates[0].content.parts
    assert parts[0].thought is True
    assert parts[0].text == "hmm"
    assert r.function_calls[0].name == "f"
    assert r.function_calls[0].args == {"x": 1}
    assert r.usage_metadata.thoughts_token_count == 1


def test_automatic_function_calling_runs_the_loop(srv: FakeGemini, client: genai.Client) -> None:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    get_weather.__annotations__ = {"city": str, "return": str}  # not strings: see test_afc
    config = types.GenerateContentConfig(tools=[get_weather])
    r = client.models.generate_content(model=MODEL, contents="use tool please", config=config)
    assert r.text == 'Result: [{"result": "sunny in x"}]'
    assert len(srv.requests) == 2  # two round trips for one call


@pytest.mark.parametrize(("status", "kind"), [(429, errors.ClientError), (503, errors.ServerError)])
def test_errors_are_the_sdks(
    srv: FakeGemini, any_client: genai.Client, status: int, kind: type[Exception]
) -> None:
    srv.fail_next(status)
    with pytest.raises(kind) as caught:
        any_client.models.generate_content(model=MODEL, contents="x")
    assert isinstance(caught.value, errors.APIError)
    assert caught.value.code == status


def test_retries_and_cut_and_failing_streams(srv: FakeGemini) -> None:
    client = srv.client(retries=2)
    srv.fail_next(500, times=2)
    assert client.models.generate_content(model=MODEL, contents="again").text == "Echo: again"
    assert len(srv.requests) == 3
    srv.cut_stream_next(after_chunks=1)
    stream = client.models.generate_content_stream(model=MODEL, contents="cut me now")
    with pytest.raises(Exception):  # noqa: B017 - the transport's own error
        list(stream)
    if STREAM_ERROR_EVENTS:
        srv.error_in_stream_next(after_chunks=1, status=500)
        with pytest.raises(errors.ServerError):
            list(client.models.generate_content_stream(model=MODEL, contents="fail me now"))


def test_embeddings_on_every_endpoint(
    srv: FakeGemini, client: genai.Client, vertex: genai.Client
) -> None:
    r = client.models.embed_content(model="gemini-embedding-001", contents=["a b", "c"])
    assert r.embeddings is not None
    assert [len(e.values or []) for e in r.embeddings] == [8, 8]
    assert srv.last_request.path.endswith(":batchEmbedContents")
    r = vertex.models.embed_content(model="text-embedding-005", contents=["a b"])
    assert r.embeddings is not None
    assert r.embeddings[0].statistics is not None
    assert srv.last_request.path.endswith(":predict")


def test_async_client(srv: FakeGemini, vertex: genai.Client) -> None:
    async def main() -> list[str]:
        r = await vertex.aio.models.generate_content(model=MODEL, contents="one")
        out = [r.text or ""]
        async for chunk in await vertex.aio.models.generate_content_stream(
            model=MODEL, contents="two"
        ):
            out.append(chunk.text or "")
        return out

    out = asyncio.run(main())
    assert out[0] == "Echo: one"
    assert "".join(out[1:]) == "Echo: two"
