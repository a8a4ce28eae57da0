"""embed_content on every endpoint the SDK uses: batchEmbedContents (Developer API),
predict (Vertex AI text-embedding models) and embedContent (Vertex AI Gemini embedding
models): the input is the prompt, the answer counts the vectors, never logs them."""

from __future__ import annotations

import asyncio

import pytest
from google import genai

from hilt_gemini.testing import FakeGemini

from .conftest import EMBEDDING_USAGE, Harness, same


@pytest.mark.parametrize(
    ("vertexai", "model", "endpoint"),
    [
        (False, "gemini-embedding-001", ":batchEmbedContents"),
        (True, "text-embedding-005", ":predict"),
        (True, "gemini-embedding-001", ":embedContent"),
    ],
)
def test_embeddings(h: Harness, srv: FakeGemini, vertexai: bool, model: str, endpoint: str) -> None:
    client = srv.client(vertexai=vertexai)
    contents = ["one two three"] if endpoint == ":embedContent" else ["one two three", "four"]
    plain = client.models.embed_content(model=model, contents=contents)
    h.instrument()
    got = client.models.embed_content(model=model, contents=contents)
    same(plain, got)
    path = srv.last_request.path
    # Older releases use :predict for every Vertex AI embedding model.
    assert path.endswith(endpoint) or (vertexai and path.endswith(":predict"))
    prompt, done = h.one()
    assert prompt["content"]["text"] == "one two three"
    assert prompt["content"].get("inputs", 1) == len(contents)
    ext = done["extensions"]
    assert ext["api"] == "embed_content"
    assert ext["model"] == model
    assert ext["provider"] == ("gcp.vertex_ai" if vertexai else "gcp.gen_ai")
    assert ext["embeddings"] == len(contents)
    assert ext["dimensions"] == srv.embedding_dim
    assert done.get("content") is None
    if EMBEDDING_USAGE or endpoint == ":predict":  # counted by this release's API
        assert done["metrics"]["tokens"]["prompt"] == 3 + (len(contents) > 1)
    assert got.embeddings
    values = got.embeddings[0].values or []
    log = h.path.read_text(encoding="utf-8")
    assert not any(str(v) in log for v in values if len(str(v)) > 4)  # no vector logged


def test_async_embeddings(hi: Harness, client: genai.Client) -> None:
    async def embed() -> None:
        await client.aio.models.embed_content(model="gemini-embedding-001", contents="async")

    asyncio.run(embed())
    prompt, done = hi.one()
    assert prompt["content"]["text"] == "async"
    assert done["extensions"]["embeddings"] == 1


def test_other_calls_are_not_recorded(hi: Harness, client: genai.Client) -> None:
    client.models.count_tokens(model="gemini-2.5-flash", contents="how many")
    assert hi.events() == []
