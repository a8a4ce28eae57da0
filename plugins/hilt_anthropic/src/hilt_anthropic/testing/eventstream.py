"""The AWS event-stream framing Bedrock's ``invoke-with-response-stream`` answers in.

Each frame: total length and headers length (big-endian uint32), a CRC32 of those 8 bytes,
the headers (name length byte, name, type 7 = string, uint16 value length, value), the
payload, and a CRC32 of everything before it. Bedrock's payload is
``{"bytes": base64(<the Messages stream event as JSON>)}``; the SDK decodes it with
botocore's ``EventStreamBuffer``.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"


def frame(payload: bytes, headers: dict[str, str]) -> bytes:
    encoded = b""
    for name, value in headers.items():
        key, val = name.encode(), value.encode()
        encoded += struct.pack("!B", len(key)) + key + b"\x07" + struct.pack("!H", len(val)) + val
    prelude = struct.pack("!II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def chunk(event: dict[str, Any]) -> bytes:
    """One Messages stream event as a Bedrock ``chunk`` frame."""
    data = base64.b64encode(json.dumps(event).encode()).decode()
    payload = json.dumps({"bytes": data, "p": "abcdefghijklmnopqrstuvwxyz"}).encode()
    headers = {":event-type": "chunk", ":content-type": "application/json",
               ":message-type": "event"}  # fmt: skip
    return frame(payload, headers)
