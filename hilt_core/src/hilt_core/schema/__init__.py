"""The JSON Schema (draft 2020-12) of a HILT v1 log line, shipped inside the package.

    import jsonschema, hilt_core.schema
    jsonschema.Draft202012Validator(hilt_core.schema.load()).validate(event.to_dict())

``docs/format.md`` in the repository is the prose form of the same format.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMA_FILE = "hilt-event-v1.schema.json"


@cache
def _text() -> str:
    return files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def load() -> dict[str, Any]:
    """The schema as a new dict (callers may change their copy)."""
    schema: dict[str, Any] = json.loads(_text())
    return schema


__all__ = ["SCHEMA_FILE", "load"]
