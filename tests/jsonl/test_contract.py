"""The JSONL backend passes the backend test kit (hilt_core.testing.BackendContract),
reached by name through the registry as a user reaches it."""

from __future__ import annotations

from hilt_core.testing import BackendContract


class TestJsonlContract(BackendContract):
    backend_name = "jsonl"


class TestLocalAliasContract(BackendContract):
    backend_name = "local"  # hilt-python 0.2.8's name for the same backend
