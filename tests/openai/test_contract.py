"""The OpenAI plugin passes the provider test kit (hilt_core.testing.ProviderContract), as
a third-party provider's tests would run it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from hilt_core.testing import ProviderContract
from hilt_openai.testing import FakeOpenAI


class TestOpenAIContract(ProviderContract):
    provider = "openai"
    error_type = openai.RateLimitError

    @pytest.fixture
    def client(self) -> Iterator[openai.OpenAI]:
        with (
            FakeOpenAI() as srv,
            openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
        ):
            c._hilt_test_server = srv  # type: ignore[attr-defined]
            yield c

    def ask(self, client: Any, text: str, system: str | None = None) -> Any:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": text})
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    def ask_stream(self, client: Any, text: str) -> Any:
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], stream=True
        )

    def fail_next(self, client: Any) -> None:
        client._hilt_test_server.fail_next(429)

    def patch_points(self) -> list[tuple[Any, str]]:
        from openai import _base_client as base

        return [
            (base.SyncAPIClient, "request"),
            (base.AsyncAPIClient, "request"),
            (base.BaseClient, "_build_request"),
        ]
