"""Every client variant that shares the SDK's base client is captured, and named: Bedrock,
Vertex and Foundry by their class whatever their URL, the Anthropic client by its host
(``anthropic`` for api.anthropic.com, ``anthropic-compatible`` for any other server)."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import anthropic
import pytest

from hilt_anthropic.testing import FakeAnthropic

from .conftest import STREAM_ERRORS, Harness, bedrock_client

USER = [{"role": "user", "content": "hello there world"}]
ECHO = "Echo: hello there world"
BEDROCK_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
VERTEX_MODEL = "claude-haiku-4-5@20251001"


def text_of(events: list[Any]) -> str:
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def names(h: Harness) -> list[tuple[str, str]]:
    return [(d["extensions"]["provider"], d["extensions"]["endpoint"]) for _, d in h.calls()]


def test_a_local_server_is_anthropic_compatible(
    srv: FakeAnthropic, client: Any, hi: Harness
) -> None:
    client.messages.create(model="m", max_tokens=10, messages=USER)
    prompt, done = hi.one()
    assert (
        prompt["extensions"]["provider"] == done["extensions"]["provider"] == "anthropic-compatible"
    )
    assert done["extensions"]["endpoint"] == f"127.0.0.1:{srv.port}"


def test_api_anthropic_com_is_anthropic(srv: FakeAnthropic, hi: Harness) -> None:
    # api.anthropic.com, reached through a plain-HTTP proxy: the fake on 127.0.0.1
    http = anthropic.DefaultHttpxClient(proxy=srv.base_url)
    with anthropic.Anthropic(
        api_key="k", base_url="http://api.anthropic.com", http_client=http, max_retries=0
    ) as official:
        got = official.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    assert got.content[0].text == ECHO
    assert srv.last_request.headers["host"] == "api.anthropic.com"
    assert names(hi) == [("anthropic", "api.anthropic.com")]


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.anthropic.com", "anthropic"),
        ("https://bedrock-runtime.us-east-1.amazonaws.com", "aws.bedrock"),
        ("https://us-east5-aiplatform.googleapis.com/v1", "gcp.vertex_ai"),
        ("https://aiplatform.googleapis.com/v1", "gcp.vertex_ai"),
        ("https://llm-gateway.internal/anthropic", "anthropic-compatible"),
        ("https://api.anthropic.com.evil.example", "anthropic-compatible"),
    ],
)
def test_the_plain_client_is_named_by_its_host(base_url: str, provider: str) -> None:
    from hilt_anthropic.adapter import client_info

    with anthropic.Anthropic(base_url=base_url, api_key="k") as plain:
        assert client_info(plain) == (provider, base_url.split("/")[2])


def test_the_name_follows_a_changed_base_url(srv: FakeAnthropic, client: Any, hi: Harness) -> None:
    client.messages.create(model="m", max_tokens=10, messages=USER)
    client.base_url = f"http://localhost:{srv.port}"
    client.messages.create(model="m", max_tokens=10, messages=USER)
    assert [e for _, e in names(hi)] == [f"127.0.0.1:{srv.port}", f"localhost:{srv.port}"]


# -- Vertex AI ------------------------------------------------------------------------------------


def vertex(srv: FakeAnthropic, cls: Any = anthropic.AnthropicVertex) -> Any:
    return cls(
        region="us-east5",
        project_id="proj",
        access_token="tok",
        base_url=srv.vertex_base_url,
        max_retries=0,
    )


def test_vertex(srv: FakeAnthropic, h: Harness) -> None:
    client = vertex(srv)
    plain = client.messages.create(model=VERTEX_MODEL, max_tokens=10, messages=USER)
    h.instrument()
    got = client.messages.create(model=VERTEX_MODEL, max_tokens=10, messages=USER)
    h.same(plain, got)
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=USER) as s:
        assert "".join(s.text_stream) == ECHO
    assert srv.last_request.path.endswith("/models/claude-haiku-4-5:streamRawPredict")
    client.messages.count_tokens(model="claude-haiku-4-5", messages=USER)  # not recorded
    (p1, d1), (_, d2) = h.calls()
    assert p1["extensions"]["provider"] == "gcp.vertex_ai"
    assert names(h) == [("gcp.vertex_ai", f"127.0.0.1:{srv.port}")] * 2
    assert (d1["extensions"]["request_model"], d1["extensions"]["model"]) == (
        VERTEX_MODEL,
        VERTEX_MODEL,
    )
    assert d1["content"]["text"] == d2["content"]["text"] == ECHO
    assert d2["extensions"]["stream"] is True
    assert d2["metrics"]["tokens"]["total"] > 0


def test_async_vertex(srv: FakeAnthropic, hi: Harness) -> None:
    async def run() -> str:
        async with vertex(srv, anthropic.AsyncAnthropicVertex) as client:
            await client.messages.create(model=VERTEX_MODEL, max_tokens=10, messages=USER)
            stream = await client.messages.create(
                model=VERTEX_MODEL, max_tokens=10, messages=USER, stream=True
            )
            return text_of([e async for e in stream])

    assert asyncio.run(run()) == ECHO
    assert [p for p, _ in names(hi)] == ["gcp.vertex_ai"] * 2


# -- Bedrock --------------------------------------------------------------------------------------


def bedrock(srv: FakeAnthropic, cls: Any = anthropic.AnthropicBedrock) -> Any:
    return bedrock_client(srv.base_url, cls)


def test_bedrock_invoke(srv: FakeAnthropic, h: Harness) -> None:
    client = bedrock(srv)
    plain = client.messages.create(model=BEDROCK_MODEL, max_tokens=10, messages=USER)
    h.instrument()
    got = client.messages.create(model=BEDROCK_MODEL, max_tokens=10, messages=USER)
    h.same(plain, got)
    assert srv.last_request.path == f"/model/{BEDROCK_MODEL}/invoke"
    prompt, done = h.one()
    assert prompt["extensions"]["model"] == BEDROCK_MODEL
    assert names(h) == [("aws.bedrock", f"127.0.0.1:{srv.port}")]
    assert done["content"]["text"] == ECHO
    assert done["extensions"]["request_model"] == BEDROCK_MODEL


def test_bedrock_stream(srv: FakeAnthropic, h: Harness) -> None:
    if importlib.util.find_spec("botocore") is None:
        pytest.skip("the SDK reads Bedrock event streams with botocore")
    client = bedrock(srv)
    plain = list(
        client.messages.create(model=BEDROCK_MODEL, max_tokens=10, messages=USER, stream=True)
    )
    h.instrument()
    events = list(
        client.messages.create(model=BEDROCK_MODEL, max_tokens=10, messages=USER, stream=True)
    )
    h.same(plain, events)
    assert srv.last_request.path == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream"
    with client.messages.stream(model=BEDROCK_MODEL, max_tokens=10, messages=USER) as stream:
        assert stream.get_final_message().content[0].text == ECHO
    srv.cut_stream_next(after_events=3)
    with pytest.raises(STREAM_ERRORS):
        list(client.messages.create(model=BEDROCK_MODEL, max_tokens=10, messages=USER, stream=True))
    (_, whole), (_, helper), (_, cut) = h.calls()
    for done in (whole, helper):
        assert done["content"]["text"] == ECHO
        assert done["extensions"]["provider"] == "aws.bedrock"
        assert done["extensions"]["stream"] is True
        assert done["metrics"]["tokens"]["total"] > 0
        assert "partial" not in done["extensions"]
    assert cut["extensions"]["stream_end"] == "error"
    assert cut["extensions"]["partial"] is True


def test_async_bedrock(srv: FakeAnthropic, hi: Harness) -> None:
    client = bedrock(srv, anthropic.AsyncAnthropicBedrock)

    async def run() -> str:
        async with client:
            got = await client.messages.create(model=BEDROCK_MODEL, max_tokens=10, messages=USER)
            return str(got.content[0].text)

    assert asyncio.run(run()) == ECHO
    assert [p for p, _ in names(hi)] == ["aws.bedrock"]


def test_bedrock_mantle(srv: FakeAnthropic, hi: Harness) -> None:
    cls = getattr(anthropic, "AnthropicBedrockMantle", None)
    if cls is None:
        pytest.skip("AnthropicBedrockMantle arrived in anthropic 0.91")
    with cls(api_key="k", aws_region="us-east-1", base_url=srv.base_url, max_retries=0) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    assert names(hi) == [("aws.bedrock", f"127.0.0.1:{srv.port}")]


# -- Foundry and Anthropic's own API through cloud gateways --------------------------------------


def test_foundry_is_azure(srv: FakeAnthropic, hi: Harness) -> None:
    cls = getattr(anthropic, "AnthropicFoundry", None)
    if cls is None:
        pytest.skip("AnthropicFoundry arrived in anthropic 0.74")
    with cls(api_key="fk", base_url=f"{srv.base_url}/anthropic/", max_retries=0) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=USER) as s:
            assert "".join(s.text_stream) == ECHO
    assert srv.last_request.path == "/anthropic/v1/messages"
    assert names(hi) == [("azure", f"127.0.0.1:{srv.port}")] * 2


def test_anthropic_aws_is_anthropic(srv: FakeAnthropic, hi: Harness) -> None:
    cls = getattr(anthropic, "AnthropicAWS", None)
    if cls is None:
        pytest.skip("AnthropicAWS arrived in anthropic 0.88")
    with cls(
        api_key="k", aws_region="us-east-1", workspace_id="w", base_url=srv.base_url, max_retries=0
    ) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    assert names(hi) == [("anthropic", f"127.0.0.1:{srv.port}")]


def test_anthropic_google_cloud_is_anthropic(srv: FakeAnthropic, hi: Harness) -> None:
    cls = getattr(anthropic, "AnthropicGoogleCloud", None)
    if cls is None:
        pytest.skip("AnthropicGoogleCloud arrived in anthropic 0.117")
    with cls(skip_auth=True, base_url=srv.base_url, max_retries=0) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    assert names(hi) == [("anthropic", f"127.0.0.1:{srv.port}")]


def test_an_app_subclass_keeps_its_parent_name(srv: FakeAnthropic, hi: Harness) -> None:
    class MyVertexClient(anthropic.AnthropicVertex):  # a name HILT must not read
        pass

    class BedrockishButFirstParty(anthropic.Anthropic):
        pass

    vertex(srv, MyVertexClient).messages.create(model=VERTEX_MODEL, max_tokens=10, messages=USER)
    with BedrockishButFirstParty(base_url=srv.base_url, api_key="k") as client:
        client.messages.create(model="m", max_tokens=10, messages=USER)
    assert [p for p, _ in names(hi)] == ["gcp.vertex_ai", "anthropic-compatible"]
