"""Cost from the cost tables: the costs plugin prices the Gemini providers' events
(gcp.gen_ai and gcp.vertex_ai are Google's prices, whatever the endpoint)."""

from __future__ import annotations

from google import genai
from google.genai import types

from .conftest import EMBEDDING_USAGE, MODEL, Harness


def test_generate_and_embeddings_are_priced(hi: Harness, any_client: genai.Client) -> None:
    any_client.models.generate_content(model=MODEL, contents="what does it cost")
    any_client.models.embed_content(model="gemini-embedding-001", contents="price me")
    (_, done), (_, embedded) = hi.calls()
    assert done["metrics"]["cost_usd"] > 0
    assert done["metrics"]["cost_source"].endswith(" google/gemini-2.5-flash")
    if EMBEDDING_USAGE or any_client.vertexai:  # token counts in this release's answer
        assert embedded["metrics"]["cost_usd"] > 0
        assert embedded["metrics"]["cost_source"].endswith(" google/gemini-embedding-001")


def test_each_afc_round_trip_is_priced(hi: Harness, client: genai.Client) -> None:
    def lookup(word: str) -> str:
        """Look a word up."""
        return word

    lookup.__annotations__ = {"word": str, "return": str}  # not strings: see test_afc
    config = types.GenerateContentConfig(tools=[lookup])
    client.models.generate_content(model=MODEL, contents="use tool please", config=config)
    pairs = hi.calls()
    assert len(pairs) == 2
    assert all(c["metrics"]["cost_usd"] > 0 for _, c in pairs)
