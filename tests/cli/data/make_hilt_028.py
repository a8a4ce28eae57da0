# mypy: ignore-errors
"""Regenerate hilt-0.2.8.jsonl with the real hilt-python 0.2.8 (not run by the tests).

    python3.11 -m venv /tmp/h028cli
    /tmp/h028cli/bin/pip install hilt-python==0.2.8
    /tmp/h028cli/bin/python tests/cli/data/make_hilt_028.py tests/cli/data/hilt-0.2.8.jsonl

The OpenAI calls go to an in-process httpx.MockTransport: 0.2.8's own instrumentation
writes the lines (string cost_usd, cost_usd_display, latency_ms in extensions, uuid4
ids, no hilt_version), including one API error and one call of another model.
"""

import json
import sys

import httpx
import openai

from hilt import instrument, uninstrument

ANSWERS = iter(
    [
        (200, "gpt-4o-mini", "Paris is the capital of France.", 12, 7),
        (200, "gpt-4o-mini", "About 2.1 million people.", 25, 9),
        (429, "gpt-4o-mini", "", 0, 0),
        (200, "gpt-4o", "Bonjour !", 8, 3),
    ]
)


def handler(request: httpx.Request) -> httpx.Response:
    status, model, text, p, c = next(ANSWERS)
    if status != 200:
        return httpx.Response(status, json={"error": {"message": "Rate limit reached"}})
    body = {
        "id": "chatcmpl-028",
        "object": "chat.completion",
        "created": 1764218180,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }
    return httpx.Response(200, json=body)


def main(path: str) -> None:
    instrument(backend="local", filepath=path, providers=["openai"])
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    for model, question in [
        ("gpt-4o-mini", "What is the capital of France?"),
        ("gpt-4o-mini", "How many people live there?"),
        ("gpt-4o-mini", "And in Lyon?"),
        ("gpt-4o", "Say hello in French"),
    ]:
        try:
            client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question}]
            )
        except openai.APIError as exc:
            print("expected error:", exc, file=sys.stderr)
    uninstrument()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            json.loads(line)


if __name__ == "__main__":
    main(sys.argv[1])
