"""HILT for LangGraph and LangChain: every graph run, node step, tool call, retrieval and
model call recorded, with no ``callbacks=`` in the application (``instrument()`` is
enough), under the conversation the application names (its ``thread_id``).

A model call whose SDK a HILT provider plugin captures (OpenAI, Anthropic, ...) is
recorded by that provider, once, and its events carry the graph, node and step; the
LangChain layer records the calls of the other models itself. See docs/langchain.md.

Registered in the entry-point group ``hilt`` as ``langchain``; on by default when
``langchain_core`` is installed. ``langchain_core`` is imported only when
``instrument()`` patches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hilt_core import ConfigError, Recorder, hookimpl

HILT_SDK = "langchain_core"  # instrument() without providers= patches it when installed
HILT_DEFAULT = True
HILT_OPTIONS: dict[str, str] = {}  # none: a misspelt option stays an error
HILT_EXTENSION_KEYS = {
    "run_id": "The LangChain run id of the top-level run (a LangGraph graph invocation, a "
    "chain) the event belongs to: on its run and step events, its tool and retrieval "
    "events and its model calls.",
    "graph": "The name of the top-level run: a LangGraph graph's name (`LangGraph` unless "
    "compiled with `name=`), or a chain's (`RunnableSequence`, ...).",
    "node": "The LangGraph node the event happened in (the innermost one, in a subgraph).",
    "step": "LangGraph's step number of that node (`langgraph_step`; a subgraph counts its "
    "own steps).",
    "node_path": "A node of a subgraph: the nodes from the top-level graph down to it, "
    "joined by `/` (`research/search`).",
    "outcome": "How a run, step, tool or retrieval ended: `ok`, `error`, `interrupted` "
    "(LangGraph's interrupt), `handed_off` (a command to the parent graph), `closed` (a "
    "stream the application closed early), `cancelled`, `unfinished` (still running when "
    "the session closed).",
    "steps": "On a `run`: how many node steps it made.",
    "documents": "On a `retrieval`: how many documents the retriever returned.",
}

SUPPORTED = "langchain-core >=1.0,<2 (and langgraph >=1.0,<2)"


@hookimpl
def provider_patch(
    name: str, recorder: Recorder, options: Mapping[str, Any]
) -> Callable[[], None] | None:
    # Found, not imported: importing langchain-core takes half a second, and it is often
    # installed where no one uses it (the hook is registered when LangChain loads).
    import importlib.metadata
    import importlib.util

    try:
        found = importlib.util.find_spec("langchain_core") is not None
        version = importlib.metadata.version("langchain-core") if found else ""
    except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
        found, version = False, ""
    if not found:
        raise ConfigError(
            "HILT's LangChain plugin needs langchain-core: pip install 'hilt-langchain[langchain]'"
        )
    from hilt_core.model import ACTIONS

    if "run" not in ACTIONS:
        raise ConfigError(
            "hilt-langchain needs hilt-core with format 1.1: pip install -U hilt-core"
        )
    major = version.split(".")[0]
    if not major.isdigit() or int(major) < 1:
        raise ConfigError(
            f"HILT supports {SUPPORTED}; langchain-core {version} is installed "
            "(pip install -U langchain-core)"
        )
    from hilt_langchain.install import install

    return install(recorder)
