"""The Anthropic plugin passes the provider test kit (hilt_core.testing.ProviderContract), as
a third-party provider's tests would run it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from hilt_anthropic.testing import FakeAnthropic
from hilt_core.testing import ProviderContract


class TestAnthropicContract(ProviderContract):
    provider = "anthropic"
    error_type = anthropic.RateLimitError

    @pytest.fixture
    def client(self) -> Iterator[anthropic.Anthropic]:
        with (
            FakeAnthropic() as srv,
            anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=0) as c,
        ):
            c._hilt_test_server = srv  # type: ignore[attr-defined]
            yield c

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

    def fail_next(self, client: Any) -> None:
        client._hilt_test_server.fail_next(429)

    def patch_points(self) -> list[tuple[Any, str]]:
        from anthropic import _base_client as base

        return [
            (base.SyncAPIClient, "request"),
            (base.AsyncAPIClient, "request"),
            (base.BaseClient, "_build_request"),
        ]
