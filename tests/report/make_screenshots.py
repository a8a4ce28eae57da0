"""Make the screenshots of ``hilt report`` in the docs (docs/img/report*.png).

    python tests/report/make_screenshots.py [OUT_DIR]      # default: docs/img

The overview is that of two days of a support desk's calls (written with ``hilt.Session``:
three models, eight users in three tenants, a burst of rate-limit errors); the
conversation is the one of the browser tests, made through the real ``openai`` SDK.
Both are taken in headless Chromium, through the same driver as the tests.
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import chromium
from conftest import write_provider_log

import hilt
from hilt import Actor, Content, Event, Metrics
from hilt.cli import main

ROOT = Path(__file__).resolve().parents[2]
MODELS = [
    ("gpt-4o", "gpt-4o-2024-08-06", 2.5e-6, 10e-6),
    ("gpt-4o-mini", "gpt-4o-mini", 0.15e-6, 0.6e-6),
    ("o3-mini", "o3-mini-2025-01-31", 1.1e-6, 4.4e-6),
]
USERS = {
    f"u-{n}": tenant for n, tenant in enumerate(["acme"] * 3 + ["globex"] * 3 + ["initech"] * 2)
}
QUESTIONS = [
    "Where is my parcel?",
    "Can I change the delivery address of order 4521?",
    "How do I reset my password?",
    "Why was I charged twice this month?",
]


def support_desk(path: Path, hours: int = 48, seed: int = 3) -> Path:
    rnd = random.Random(seed)
    start = datetime(2026, 11, 30, 8, tzinfo=UTC)
    with hilt.Session(path, mode="w") as session:
        for n in range(900):
            at = start + timedelta(hours=hours * (n / 900) + rnd.random() * 0.1)
            daytime = 8 <= at.hour < 20
            if not daytime and rnd.random() < 0.6:
                continue
            user = rnd.choice(list(USERS))
            asked, model, p_in, p_out = rnd.choices(MODELS, weights=[3, 6, 1])[0]
            conv = f"ticket-{4400 + n // 3}"
            question = rnd.choice(QUESTIONS)
            scope = {"user_id": user, "tenant_id": USERS[user]}
            prompt = Event(
                timestamp=at,
                session_id=conv,
                actor=Actor(type="human", id="user"),
                action="prompt",
                content=Content(text=question),
                extensions={"model": asked, **scope},
            )
            latency = rnd.lognormvariate(6.6 if asked != "o3-mini" else 7.6, 0.45)
            ext = {
                "reply_to": prompt.event_id,
                "model": model,
                "request_model": asked,
                "provider": "openai",
                "api": "chat.completions",
                **scope,
            }
            burst = (
                datetime(2026, 12, 1, 14, tzinfo=UTC) <= at < datetime(2026, 12, 1, 16, tzinfo=UTC)
            )
            if rnd.random() < (0.35 if burst else 0.02):
                answer = Event(
                    timestamp=at + timedelta(milliseconds=latency / 8),
                    session_id=conv,
                    actor=Actor(type="system", id="openai"),
                    action="system",
                    content=Content(text="Error code: 429 - Rate limit reached"),
                    metrics=Metrics(latency_ms=latency / 8),
                    extensions={
                        **ext,
                        "status_code": 429,
                        "error_code": "api_error",
                        "error_type": "RateLimitError",
                    },
                )
            else:
                p, c = rnd.randrange(200, 3000), rnd.randrange(40, 600)
                answer = Event(
                    timestamp=at + timedelta(milliseconds=latency),
                    session_id=conv,
                    actor=Actor(type="agent", id="openai"),
                    action="completion",
                    content=Content(text="Let me check that for you."),
                    metrics=Metrics(
                        tokens={"prompt": p, "completion": c, "total": p + c},
                        cost_usd=round(p * p_in + c * p_out, 9),
                        latency_ms=round(latency, 3),
                    ),
                    extensions={**ext, "status_code": 200, "finish_reason": "stop"},
                )
            session.append(prompt)
            session.append(answer)
    return path


def shoot(url: str, out: Path, width: int, height: int) -> None:
    browser = chromium.Browser(chromium.find() or "chromium")
    try:
        page = browser.new_page()
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        page.goto(url, width, height)
        page.wait_for("document.body.dataset.ready === '1'")
        assert page.console_errors == [], page.console_errors
        page.screenshot(out)
    finally:
        browser.close()
    print(f"{out}: {out.stat().st_size / 1000:.0f} KB")


def main_(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        desk = support_desk(Path(tmp) / "desk" / "app.jsonl")
        page = Path(tmp) / "desk.html"
        assert main(["report", str(desk), "-o", str(page)]) == 0
        shoot(page.as_uri() + "#overview", out_dir / "report.png", 1280, 1180)
        log = write_provider_log(Path(tmp) / "tickets" / "calls.jsonl")
        page = Path(tmp) / "tickets.html"
        assert main(["report", str(log), "-o", str(page)]) == 0
        shoot(
            page.as_uri() + "#conversation=ticket-4521",
            out_dir / "report-conversation.png",
            1100,
            900,
        )


if __name__ == "__main__":
    main_(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img")
