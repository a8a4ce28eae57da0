"""The patch: found by default discovery, reversible to the exact objects; the deprecated
google-generativeai package is answered with one clear message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from google.genai import _api_client

import hilt
from hilt_core.registry import default_registry

NAMES = ("request", "request_streamed", "async_request", "async_request_streamed")


def test_default_discovery_patches_gemini(tmp_path: Path) -> None:
    before = {n: _api_client.BaseApiClient.__dict__[n] for n in NAMES}
    hilt.instrument(filepath=str(tmp_path / "log.jsonl"))
    assert "gemini" in [name for name, _ in default_registry().default_providers()]
    patched = {n: _api_client.BaseApiClient.__dict__[n] for n in NAMES}
    assert all(getattr(f, "__hilt__", False) for f in patched.values())
    assert all(patched[n].__wrapped__ is before[n] for n in NAMES)
    assert patched["request"].__name__ == "request"
    hilt.uninstrument()
    assert all(_api_client.BaseApiClient.__dict__[n] is before[n] for n in NAMES)


def _run(code: str, tmp_path: Path, *, generativeai: bool) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where google.genai cannot be imported and,
    with ``generativeai``, a google.generativeai package is present."""
    site = tmp_path / "site"
    if generativeai:
        pkg = site / "google" / "generativeai"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("__version__ = '0.8.6'\n", encoding="utf-8")
    prelude = textwrap.dedent(
        f"""
        import logging, sys
        sys.modules["google.genai"] = None  # as if google-genai were not installed
        sys.path.insert(0, {str(site)!r})
        logging.basicConfig(
            level=logging.WARNING, format="%(name)s %(message)s", stream=sys.stdout
        )
        import hilt
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_only_the_deprecated_package_gets_one_clear_message(tmp_path: Path) -> None:
    done = _run(
        f"""
        log = {str(tmp_path / "log.jsonl")!r}
        hilt.instrument(filepath=log)  # default discovery
        print("after the default")
        hilt.instrument(filepath=log)
        hilt.instrument(filepath=log, providers=["gemini"])
        hilt.uninstrument()
        print("app still running")
        """,
        tmp_path,
        generativeai=True,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    said, after, end = lines
    assert said.startswith("hilt HILT does not record the deprecated google-generativeai")
    assert "pip install 'google-genai" in said
    assert (after, end) == ("after the default", "app still running")


def test_no_sdk_at_all_is_a_config_error_when_named(tmp_path: Path) -> None:
    done = _run(
        f"""
        log = {str(tmp_path / "log.jsonl")!r}
        hilt.instrument(filepath=log)  # default discovery: not a default without the SDK
        try:
            hilt.instrument(filepath=log, providers=["gemini"])
        except hilt.ConfigError as exc:
            print("ConfigError:", exc)
        """,
        tmp_path,
        generativeai=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ConfigError: HILT's Gemini provider needs Google's google-genai" in done.stdout
    assert "gemini" not in done.stdout.replace("HILT's Gemini provider", "")


def test_providers_and_endpoints_of_real_clients() -> None:
    # Made without network: a client only connects when it is used.
    from google import genai
    from google.oauth2.credentials import Credentials

    from hilt_gemini.adapter import client_info

    developer = genai.Client(api_key="k")
    regional = genai.Client(
        vertexai=True, project="p", location="europe-west4", credentials=Credentials(token="t")
    )
    worldwide = genai.Client(
        vertexai=True, project="p", location="global", credentials=Credentials(token="t")
    )
    assert client_info(developer._api_client) == ("gcp.gen_ai", "generativelanguage.googleapis.com")
    assert client_info(regional._api_client) == (
        "gcp.vertex_ai",
        "europe-west4-aiplatform.googleapis.com",
    )
    assert client_info(worldwide._api_client) == ("gcp.vertex_ai", "aiplatform.googleapis.com")


def test_which_requests_are_llm_calls() -> None:
    from hilt_gemini.adapter import api_of

    generate = {"contents": []}
    assert api_of("models/gemini-2.5-flash:generateContent", generate) == (
        "generate_content",
        "gemini-2.5-flash",
    )
    assert api_of("publishers/google/models/m:streamGenerateContent?alt=sse", generate) == (
        "generate_content",
        "m",
    )
    assert api_of("tunedModels/123:generateContent", generate) == (
        "generate_content",
        "tunedModels/123",
    )
    embed = {"instances": [{"content": "x"}]}
    assert api_of("publishers/google/models/text-embedding-005:predict", embed) == (
        "embed_content",
        "text-embedding-005",
    )
    imagen = {"instances": [{"prompt": "a cat"}]}
    assert api_of("publishers/google/models/imagen-4.0:predict", imagen) is None
    assert api_of("models/gemini-2.5-flash:countTokens", generate) is None
    assert api_of("files", {}) is None
