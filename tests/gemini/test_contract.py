"""The Gemini plugin passes the provider test kit (hilt_core.testing.ProviderContract),
on both API flavours, as a third-party provider's tests would run it."""

from __future__ import annotations

from typing import Any

from google.genai import _api_client, errors, types

from hilt_core.testing import ProviderContract
from hilt_gemini.testing import FakeGemini


class TestGeminiContract(ProviderContract):
    provider = "gemini"
    error_type = errors.ClientError
    fake = FakeGemini
    vertexai = False

    def connect(self, server: Any) -> Any:
        return server.client(vertexai=self.vertexai)

    def ask(self, client: Any, text: str, system: str | None = None) -> Any:
        config = types.GenerateContentConfig(system_instruction=system) if system else None
        return client.models.generate_content(
            model="gemini-2.5-flash", contents=text, config=config
        )

    def ask_stream(self, client: Any, text: str) -> Any:
        return client.models.generate_content_stream(model="gemini-2.5-flash", contents=text)

    def patch_points(self) -> list[tuple[Any, str]]:
        base = _api_client.BaseApiClient
        names = ("request", "request_streamed", "async_request", "async_request_streamed")
        attempts = ("_request_once", "_async_request_once")  # from google-genai 1.21
        return [(base, n) for n in (*names, *attempts) if n in base.__dict__]

    def view(self, result: Any) -> Any:
        # The date header and the response id differ between two answers of the server.
        dump = result.model_dump(exclude={"response_id", "sdk_http_response"})
        http = getattr(result, "sdk_http_response", None)  # from google-genai 1.22
        headers = dict(http.headers or {}) if http is not None else {}
        headers.pop("date", None)
        return type(result), dump, headers


class TestGeminiVertexContract(TestGeminiContract):
    vertexai = True
