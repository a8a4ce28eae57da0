"""Test helpers for hilt_otel: a loopback OTLP/HTTP receiver that decodes what it gets."""

from .receiver import OTLPReceiver, ReceivedSpan, decode

__all__ = ["OTLPReceiver", "ReceivedSpan", "decode"]
