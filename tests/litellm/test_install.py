"""HILT's logger goes into LiteLLM through its own callback API and comes out exactly:
the application's callbacks stay where they were, in every list LiteLLM copied them to.
``instrument()`` does not import LiteLLM; it adds the logger when the application does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

from litellm.integrations.custom_logger import CustomLogger  # noqa: E402

import hilt  # noqa: E402
from hilt_core import ConfigError  # noqa: E402
from hilt_core.registry import default_registry  # noqa: E402
from hilt_openai.testing import FakeOpenAI  # noqa: E402

from .conftest import Log, Witness, drop_callback  # noqa: E402
from .test_calls import openai_kw, start, user  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


def _hilt_loggers() -> list[tuple[str, object]]:
    from hilt_litellm.logger import HiltLogger

    return [
        (name, cb)
        for name, value in vars(litellm).items()
        if isinstance(value, list)
        for cb in value
        if isinstance(cb, HiltLogger)
    ]


class _Mine(CustomLogger):  # type: ignore[misc]
    """The application's own logger."""


def _mine_fn(kwargs: Any, response: Any, start_time: Any, end_time: Any) -> None:
    """The application's own success function."""


def test_uninstrument_takes_out_exactly_what_instrument_put_in(
    oai: FakeOpenAI, log: Log, witness: Witness
) -> None:
    mine = _Mine()
    litellm.callbacks.append(mine)
    litellm.success_callback.append(_mine_fn)
    try:
        start(log, witness)
        assert len(_hilt_loggers()) == 1  # in litellm.callbacks, and nowhere else yet
        litellm.completion(messages=user("copied"), **openai_kw(oai))  # LiteLLM copies it
        witness.wait(1)
        copied = {name for name, _ in _hilt_loggers()}
        assert {"callbacks", "input_callback", "success_callback"} <= copied
        before = {name: [cb for cb in getattr(litellm, name) if cb is not None] for name in LISTS}
        hilt.uninstrument()
        assert _hilt_loggers() == []
        for name in LISTS:
            kept = [cb for cb in before[name] if type(cb).__name__ != "HiltLogger"]
            assert getattr(litellm, name) == kept, name
        assert mine in litellm.callbacks
        assert mine in litellm.success_callback
        assert _mine_fn in litellm.success_callback
    finally:
        drop_callback(mine)
        drop_callback(_mine_fn)


def test_instrumenting_twice_adds_one_logger(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    log.instrument()
    start(log, witness)
    assert len(_hilt_loggers()) == 1
    litellm.completion(messages=user("twice"), **openai_kw(oai))
    witness.wait(1)
    log.one()
    hilt.uninstrument()
    assert _hilt_loggers() == []


def test_it_is_on_by_default_when_litellm_is_installed(log: Log) -> None:
    names = [name for name, _ in default_registry().default_providers()]
    assert "litellm" in names
    hilt.instrument(filepath=str(log.path))
    assert len(_hilt_loggers()) == 1


def test_a_missing_litellm_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, log: Log) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # as if it were not installed
    with pytest.raises(ConfigError, match="pip install 'litellm"):
        log.instrument("litellm")
    assert "litellm" not in [name for name, _ in default_registry().default_providers()]


def test_an_older_litellm_is_instrumented_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, log: Log, caplog: pytest.LogCaptureFixture
) -> None:
    import hilt_litellm

    monkeypatch.setattr(hilt_litellm, "TESTED", (99, 0))  # the installed one is older
    with caplog.at_level("WARNING", logger="hilt"):
        log.instrument("litellm")
    assert "is tested with litellm" in caplog.text
    assert len(_hilt_loggers()) == 1


def _run(
    code: str, tmp_path: Path, oai: FakeOpenAI, **more: str
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "NO_PROXY": "127.0.0.1,localhost",
        "BASE_URL": oai.base_url,
        "LOG": str(tmp_path / "hilt.jsonl"),
        **more,
    }
    return subprocess.run(
        [sys.executable, "-c", _GUARD + script.read_text(encoding="utf-8")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# The child may reach 127.0.0.1 only, like the test suite.
_GUARD = textwrap.dedent(
    """\
    import ipaddress, socket
    _connect = socket.socket.connect
    def _guarded(self, address):
        if self.family != socket.AF_UNIX and not ipaddress.ip_address(address[0]).is_loopback:
            raise OSError(f"no network beyond 127.0.0.1 (tried {address!r})")
        return _connect(self, address)
    socket.socket.connect = _guarded
    """
)


def _events(tmp_path: Path) -> list[dict[str, Any]]:
    import json

    path = tmp_path / "hilt.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_instrument_does_not_import_litellm_and_the_app_s_import_gets_the_logger(
    tmp_path: Path, oai: FakeOpenAI
) -> None:
    done = _run(
        """
        import os, sys, time
        import hilt
        hilt.instrument(filepath=os.environ["LOG"], providers=["litellm"])
        assert "litellm" not in sys.modules, "instrument() imported litellm"
        import litellm
        litellm.completion(model="openai/gpt-4o", api_base=os.environ["BASE_URL"],
                           api_key="k", messages=[{"role": "user", "content": "lazy"}])
        """,
        tmp_path,
        oai,
    )
    assert done.returncode == 0, done.stderr
    prompt, answer = _events(tmp_path)
    assert prompt["content"]["text"] == "lazy"
    assert answer["extensions"]["litellm_provider"] == "openai"


@pytest.mark.parametrize(
    ("order", "kind"),
    [
        ("hilt first", "acompletion"),
        ("litellm first", "acompletion"),  # LiteLLM's exit handler would run after HILT's
        ("litellm first", "acompletion stream"),
        ("litellm first", "completion"),  # reported on LiteLLM's thread pool
    ],
)
def test_the_last_call_of_a_script_is_recorded(
    tmp_path: Path, oai: FakeOpenAI, order: str, kind: str
) -> None:
    # LiteLLM reports the end of an async call on a background worker; the script's
    # asyncio.run() has returned and the interpreter is exiting when it runs.
    done = _run(
        """
        import asyncio, os

        if os.environ["ORDER"] == "hilt first":
            import hilt
            import litellm
        else:
            import litellm
            import hilt

        KIND = os.environ["KIND"]
        KW = dict(model="openai/gpt-4o", api_base=os.environ["BASE_URL"], api_key="k",
                  messages=[{"role": "user", "content": "last words"}])

        async def main():
            if KIND == "acompletion stream":
                stream = await litellm.acompletion(stream=True, **KW)
                async for _ in stream:
                    pass
            else:
                await litellm.acompletion(**KW)

        hilt.instrument(filepath=os.environ["LOG"], providers=["litellm"])
        if KIND == "completion":
            litellm.completion(**KW)
        else:
            asyncio.run(main())
        """,
        tmp_path,
        oai,
        ORDER=order,
        KIND=kind,
    )
    assert done.returncode == 0, done.stderr
    prompt, answer = _events(tmp_path)
    assert prompt["content"]["text"] == "last words"
    assert answer["content"]["text"] == "Echo: last words"


def test_uninstrument_right_after_asyncio_run_writes_the_last_call(
    oai: FakeOpenAI, log: Log
) -> None:
    # The end of the last call waits on LiteLLM's background worker, whose loop is gone.
    log.instrument()

    async def main() -> None:
        await litellm.acompletion(messages=user("just before"), **openai_kw(oai))

    asyncio.run(main())
    hilt.uninstrument()
    prompt, answer = log.one()
    assert prompt["content"]["text"] == "just before"
    assert answer["content"]["text"] == "Echo: just before"


def test_a_stream_still_open_at_uninstrument_is_written_as_partial(
    oai: FakeOpenAI, log: Log
) -> None:
    log.instrument()
    stream = litellm.completion(messages=user("left open"), stream=True, **openai_kw(oai))
    next(iter(stream))  # one chunk read, the rest never asked for
    hilt.uninstrument()
    prompt, answer = log.one()
    assert prompt["content"]["text"] == "left open"
    ext = answer["extensions"]
    assert ext["partial"] is True
    assert ext["stream"] is True
    assert ext["stream_end"] == "uninstrumented"
    assert ext["litellm_provider"] == "openai"
    for chunk in stream:  # LiteLLM may report its end now: not written twice
        del chunk
    assert len(log.events()) == 2


def test_a_stream_left_open_at_exit_is_written_as_partial(tmp_path: Path, oai: FakeOpenAI) -> None:
    done = _run(
        """
        import os
        import hilt
        import litellm

        hilt.instrument(filepath=os.environ["LOG"], providers=["litellm"])
        stream = litellm.completion(
            model="openai/gpt-4o", api_base=os.environ["BASE_URL"], api_key="k",
            messages=[{"role": "user", "content": "never finished"}], stream=True)
        for chunk in stream:
            break
        """,
        tmp_path,
        oai,
    )
    assert done.returncode == 0, done.stderr
    prompt, answer = _events(tmp_path)
    assert prompt["content"]["text"] == "never finished"
    assert answer["extensions"]["stream_end"] == "exit"
    assert answer["extensions"]["partial"] is True
