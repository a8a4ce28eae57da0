"""The OpenAI plugin passes the provider test kit (hilt_core.testing.ProviderContract), as
a third-party provider's tests would run it."""

from __future__ import annotations

from typing import Any

import openai

from hilt_core.testing import ProviderContract, stainless_patch_points
from hilt_openai.testing import FakeOpenAI


class TestOpenAIContract(ProviderContract):
    provider = "openai"
    error_type = openai.RateLimitError
    fake = FakeOpenAI

    def ask(self, client: Any, text: str, system: str | None = None) -> Any:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": text})
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    def ask_stream(self, client: Any, text: str) -> Any:
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
        )

    def patch_points(self) -> list[tuple[Any, str]]:
        from openai import _base_client

        return stainless_patch_points(_base_client)
