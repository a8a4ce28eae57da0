"""Test helpers for hilt_anthropic: an Anthropic-compatible fake server (needs ``anthropic``)."""

from .server import FakeAnthropic, RecordedRequest

__all__ = ["FakeAnthropic", "RecordedRequest"]
