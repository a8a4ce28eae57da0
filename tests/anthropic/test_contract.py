"""The Anthropic plugin passes the provider test kit (hilt_core.testing.ProviderContract), as
a third-party provider's tests would run it."""

from __future__ import annotations

from typing import Any

import anthropic

from hilt_anthropic.testing import FakeAnthropic
from hilt_core.testing import ProviderContract, stainless_patch_points


class TestAnthropicContract(ProviderContract):
    provider = "anthropic"
    error_type = anthropic.RateLimitError
    fake = FakeAnthropic

    def ask(self, client: Any, text: str, system: str | None = None) -> Any:
        extra = {"system": system} if system else {}
        return client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": text}],
            **extra,
        )

    def ask_stream(self, client: Any, text: str) -> Any:
        return client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": text}],
            stream=True,
        )

    def patch_points(self) -> list[tuple[Any, str]]:
        from anthropic import _base_client

        return stainless_patch_points(_base_client)
