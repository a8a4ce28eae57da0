"""Test kit of the Gemini provider: :class:`FakeGemini`, a Gemini-compatible server on
127.0.0.1 that the real ``google-genai`` SDK talks to (both the Developer API and Vertex
AI), with scripted replies and injected faults."""

from hilt_gemini.testing.server import FakeGemini, RecordedRequest, Reply

__all__ = ["FakeGemini", "RecordedRequest", "Reply"]
