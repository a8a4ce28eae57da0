"""What ``hilt_core`` and ``hilt`` offer at the top level, and their versions.

``hilt_core.__all__`` is what plugins use (their code, their tests, the plugin authors'
docs), nothing more: everything else is imported from the module that defines it. The
``hilt`` front keeps hilt-python 0.2.8's names and the ones the docs show.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import hilt
import hilt_core

ROOT = Path(__file__).resolve().parents[2]
# Where plugin code, plugin tests and what plugin authors read live.
PLUGIN_SOURCES = [*ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("examples/*/src/**/*.py")]
PLUGIN_DOCS = [ROOT / "docs" / "plugins.md", ROOT / "docs" / "privacy.md"]


def _names_from(package: str, source: str) -> set[str]:
    """Names ``source`` takes from ``package``: ``from package import X``, ``package.X``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a docs example with "..." in it: read it as text
        names = set(re.findall(rf"(?<![\w.]){package}\.([A-Za-z_]\w*)", source))
        for group in re.findall(rf"from {package} import \(?([\w, \n]+)\)?", source):
            names.update(n.strip() for n in group.split(",") if n.strip())
        return names
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == package and not node.level:
            names.update(a.name for a in node.names)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == package
        ):
            names.add(node.attr)
    return names


def _python_blocks(doc: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)


def _used_by_plugins() -> set[str]:
    used: set[str] = set()
    for path in [*PLUGIN_SOURCES, *ROOT.glob("tests/**/*.py")]:
        used |= _names_from("hilt_core", path.read_text(encoding="utf-8"))
    for doc in PLUGIN_DOCS:
        for block in _python_blocks(doc):
            used |= _names_from("hilt_core", block)
        text = doc.read_text(encoding="utf-8")
        used |= set(re.findall(r"`hilt_core\.([A-Za-z_]\w*)\b(?![.\w])", text))
    # Submodules reached as attributes (hilt_core.schema.load, hilt_core.testing) are not
    # names of the package's own.
    modules = {p.stem for p in (ROOT / "hilt_core" / "src" / "hilt_core").iterdir()}
    return {n for n in used - modules if not n.startswith("__")}


def test_hilt_core_exports_what_plugins_use_and_nothing_else() -> None:
    exported = set(hilt_core.__all__) - {"__version__"}
    used = _used_by_plugins()
    assert used - exported == set(), "used by plugins but not in hilt_core.__all__"
    assert exported - used == set(), "in hilt_core.__all__ but no plugin uses it"
    for name in hilt_core.__all__:
        assert getattr(hilt_core, name) is not None


def test_names_left_out_of_hilt_core_are_in_their_modules() -> None:
    from hilt_core.columns import KNOWN_COLUMNS
    from hilt_core.instrument import instrument
    from hilt_core.model import ACTIONS, converter
    from hilt_core.session import Session

    assert hilt.instrument is instrument
    assert hilt.Session is Session
    assert hilt.ACTIONS is ACTIONS
    assert "model" in KNOWN_COLUMNS
    assert callable(converter)


def test_hilt_keeps_the_names_of_0_2_8_and_of_the_docs() -> None:
    # hilt-python 0.2.8: `from hilt import instrument, uninstrument, Session, Event, ...`
    legacy = {"instrument", "uninstrument", "Session", "Event", "Content", "Metrics", "Actor"}
    legacy |= {"HILTError", "ACTIONS", "ACTOR_TYPES", "ALL_COLUMNS"}
    documented: set[str] = set()
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for block in _python_blocks(doc):
            documented |= _names_from("hilt", block)
    missing = {n for n in legacy | documented if not hasattr(hilt, n)}
    assert missing == set()
    assert legacy <= set(hilt.__all__)


def test_versions_come_from_the_installed_distributions() -> None:
    assert hilt_core.__version__ == importlib.metadata.version("hilt-core")
    assert hilt.__version__ == importlib.metadata.version("hilt")
    assert "__version__" in dir(hilt_core) or "__version__" in hilt_core.__all__


def test_version_of_a_source_tree_that_is_not_installed() -> None:
    from hilt_core.versions import UNKNOWN, version_of

    assert version_of("hilt-no-such-distribution") == UNKNOWN


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_hilt_reading_is_reached_from_import_hilt_alone(tmp_path: Path) -> None:
    """docs/analytics.md: ``import hilt`` then ``hilt.reading.records(...)``, in a process
    where nothing else imported ``hilt.reading``."""
    log = tmp_path / "app.jsonl"
    log.write_text(
        '{"hilt_version": "1.0", "event_id": "e1", "timestamp": "2026-01-01T00:00:00+00:00",'
        ' "session_id": "c1", "actor": {"type": "human", "id": "u"}, "action": "prompt"}\n',
        encoding="utf-8",
    )
    code = (
        "import sys, hilt\n"
        "assert 'hilt.reading' not in sys.modules\n"
        f"print([r['event_id'] for r in hilt.reading.records({str(log)!r})])\n"
        f"print([e.event_id for e in hilt.read_events({str(log)!r})])\n"
    )
    res = _fresh(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["['e1']", "['e1']"]


def test_an_unknown_attribute_of_hilt_is_an_attribute_error() -> None:
    res = _fresh("import hilt\ntry:\n    hilt.nope\nexcept AttributeError as e:\n    print(e)")
    assert res.stdout.strip() == "module 'hilt' has no attribute 'nope'"


def test_import_hilt_reads_no_package_metadata() -> None:
    """The version is read on first use: importlib.metadata costs more than the rest."""
    res = _fresh("import sys, hilt\nprint('importlib.metadata' in sys.modules)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_every_name_the_root_exported_before_still_imports() -> None:
    # A third-party plugin written against the earlier docs keeps loading.
    import hilt_core

    earlier = [
        "ACTIONS",
        "ACTOR_TYPES",
        "ALL_COLUMNS",
        "CAPTURE_MODES",
        "HILT_VERSION",
        "KNOWN_COLUMNS",
        "PROJECT",
        "Actor",
        "ConfigError",
        "Content",
        "Event",
        "HILTError",
        "Metrics",
        "Recorder",
        "Registry",
        "Session",
        "SessionError",
        "UnknownPluginError",
        "ValidationError",
        "carry",
        "conversation",
        "converter",
        "current_conversation",
        "current_session",
        "default_registry",
        "drop_text",
        "dumps",
        "event_dict",
        "hookimpl",
        "hookspec",
        "instrument",
        "is_instrumented",
        "loads",
        "map_text",
        "new_event_id",
        "register_plugin",
        "register_redactor",
        "scope",
        "set_default_registry",
        "strip_content",
        "text_fields",
        "uninstrument",
        "unregister_plugin",
        "use_session",
    ]
    for name in earlier:
        value = getattr(hilt_core, name)
        assert value is not None, name
    root = vars(hilt_core)
    assert callable(root["instrument"])  # the function, not its module
    assert getattr(hilt_core, "_EARLIER")["Session"] == "session"  # noqa: B009
