"""HILT's added time per google-genai call, measured as benchmarks/alternate.py measures
the OpenAI plugin's.

    python benchmarks/gemini_overhead.py                 # workloads A and B
    python benchmarks/gemini_overhead.py --workloads A --calls 4000

The SDK talks to an in-process endpoint (an httpx2/httpx ``MockTransport`` given through
``HttpOptions(client_args={"transport": ...})``): A is one ``generate_content`` call with
a system instruction, B one ``generate_content_stream`` of 21 chunks, every chunk carrying
the usage so far as Gemini's do. Calls alternate, in random order within each pair,
between HILT recording and HILT switched off for that call (no session: the patch calls
the SDK untouched); the method and its columns are ``_method.py``'s (median of the paired
differences, difference of the means, the writer thread's CPU per recorded call, the time
the app's thread spent in the garbage collector per recorded call, the plain call's
median). The log is checked to hold every recorded call.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from _method import Workload, main

PIECES = ["Sure", ",", " here", " is", " a", " short", " answer", " for", " you", ":"] + [
    f" w{i}" for i in range(11)
]  # 21 chunks


def _usage(candidates: int) -> dict[str, int]:
    return {
        "promptTokenCount": 24,
        "candidatesTokenCount": candidates,
        "totalTokenCount": 24 + candidates,
    }


def _response(text: str, usage: dict[str, int], finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "bench-response-id",
    }


def transport() -> Any:
    """A MockTransport of the HTTP library the installed SDK uses."""
    from google.genai import _api_client

    name = "httpx2" if getattr(_api_client, "httpx2", None) is not None else "httpx"
    httpx = importlib.import_module(name)

    def handle(request: Any) -> Any:
        body = json.loads(request.content)
        marker = body["contents"][-1]["parts"][0]["text"].rsplit(" ", 1)[-1]
        if ":streamGenerateContent" in request.url.path:
            events = []
            for i, piece in enumerate(PIECES):
                last = i == len(PIECES) - 1
                data = _response(piece, _usage(i + 1), "STOP" if last else None)
                events.append(f"data: {json.dumps(data)}\r\n\r\n")
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content="".join(events)
            )
        data = _response("Sure, here is an answer for " + marker, _usage(7), "STOP")
        return httpx.Response(200, json=data)

    return httpx.MockTransport(handle)


def workload(name: str) -> Workload:
    from google import genai
    from google.genai import types

    client = genai.Client(
        api_key="k",
        http_options=types.HttpOptions(
            base_url="http://bench.invalid", client_args={"transport": transport()}
        ),
    )
    config = types.GenerateContentConfig(system_instruction="You are a benchmark.")

    def one(i: int) -> None:
        text = f"Say something short, please. q-{name}{i}"
        if name == "B":
            stream = client.models.generate_content_stream(
                model="gemini-2.5-flash", contents=text, config=config
            )
            assert sum(1 for _ in stream) == len(PIECES)
        else:
            r = client.models.generate_content(
                model="gemini-2.5-flash", contents=text, config=config
            )
            assert r.text is not None
            assert r.text.endswith(f"q-{name}{i}")

    return Workload(one)


def banner() -> str:
    from google.genai import version

    return f"google-genai {version.__version__}, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    raise SystemExit(main(__doc__, workload, ["gemini"], banner))
