"""Test helpers for hilt_openai: an OpenAI-compatible fake server."""

from .server import FakeOpenAI, RecordedRequest

__all__ = ["FakeOpenAI", "RecordedRequest"]
