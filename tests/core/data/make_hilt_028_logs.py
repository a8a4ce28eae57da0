"""Regenerate the hilt-python 0.2.8 fixtures (run with a venv that has the real 0.2.8).

    python -m venv /tmp/h028venv
    /tmp/h028venv/bin/pip install hilt_python-0.2.8-py3-none-any.whl   # pulls openai<2
    /tmp/h028venv/bin/python tests/core/data/make_hilt_028_logs.py tests/core/data

Writes ``hilt-0.2.8.jsonl`` (whole events) and ``hilt-0.2.8-columns.jsonl`` (the
``columns=`` form) with the real 0.2.8 code: its OpenAI instrumentation against a local
fake endpoint (one answer, one 429), and events of every action appended by hand.
Not collected by pytest; the files it makes are committed.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai

from hilt import Actor, Content, Event, Metrics, Session, instrument, uninstrument

COLUMNS = [
    "timestamp",
    "conversation_id",
    "event_id",
    "reply_to",
    "status_code",
    "speaker",
    "action",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_ms",
    "model",
]


class Handler(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        Handler.calls += 1
        if Handler.calls % 2 == 0:
            data = {
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            }
            self._send(429, data)
            return
        text = "Bonjour ! Voilà une réponse — avec des accents. 🙂"
        prompt = body["messages"][-1]["content"]
        self._send(
            200,
            {
                "id": "chatcmpl-0288",
                "object": "chat.completion",
                "created": 1760000000,
                "model": body["model"] + "-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": {
                    "prompt_tokens": len(prompt.split()),
                    "completion_tokens": 9,
                    "total_tokens": len(prompt.split()) + 9,
                },
            },
        )

    def _send(self, status: int, data: object) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-should-retry", "false")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


def chat(client: openai.OpenAI, text: str) -> None:
    with contextlib.suppress(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": text},
            ],
        )


def by_hand(session: Session) -> None:
    conv = "conv_0a1b2c3d4e5f"
    prompt = Event(
        session_id=conv,
        actor=Actor(type="human", id="alice", name="Alice"),
        action="prompt",
        content=Content(text="Find the refund policy"),
    )
    session.append(prompt)
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="tool", id="search"),
            action="retrieval",
            content=Content(text="Refunds within 30 days", metadata={"source": "kb/42"}),
            extensions={"reply_to": prompt.event_id, "score": 0.87},
        )
    )
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="agent", id="planner"),
            action="tool_call",
            content=Content(text='lookup({"id": 42})'),
            extensions={"reply_to": prompt.event_id},
        )
    )
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="tool", id="lookup"),
            action="tool_result",
            content=Content(text='{"days": 30}'),
        )
    )
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="agent", id="openai"),
            action="completion_chunk",
            content=Content(text="Refunds"),
            metrics=Metrics(latency_ms=12),
        )
    )
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="agent", id="openai"),
            action="completion",
            content=Content(text="Refunds are accepted within 30 days."),
            metrics=Metrics(tokens={"prompt": 20, "completion": 8, "total": 28}, cost_usd=0.000123),
            extensions={"reply_to": prompt.event_id, "model": "gpt-4o", "relevance_score": 0.9},
        )
    )
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="human", id="alice"),
            action="feedback",
            content=Content(text="thumbs up"),
            extensions={"rating": 1},
        )
    )
    session.append(
        Event(
            session_id=conv,
            actor=Actor(type="system", id="app"),
            action="system",
            content=Content(text="session ended"),
        )
    )


def main(out: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    client = openai.OpenAI(base_url=base, api_key="sk-test", max_retries=0)
    for name, columns in (("hilt-0.2.8.jsonl", None), ("hilt-0.2.8-columns.jsonl", COLUMNS)):
        path = out / name
        path.unlink(missing_ok=True)
        session = instrument(backend="local", filepath=str(path), columns=columns)
        chat(client, "Hello there, how are you?")
        chat(client, "And a second question")
        by_hand(session)
        uninstrument()
        session.close()
    server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
