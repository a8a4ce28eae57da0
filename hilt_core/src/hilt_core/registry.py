"""The plugin registry: entry points of the group ``hilt`` plus plugins registered in code.

Built-in plugins (JSONL, OpenAI, costs) are separate distributions that declare entry
points exactly as a third-party package does, so they can be blocked or replaced the same
way. Names resolve through this registry; a plugin may answer to extra names through a
module attribute ``HILT_ALIASES`` (the JSONL plugin answers to "local").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from hilt_core import hookspecs, vocab
from hilt_core.errors import UnknownPluginError
from hilt_core.markers import PROJECT

log = logging.getLogger("hilt.plugins")
trace_log = logging.getLogger("hilt.trace")

# Where a name that is not installed would come from, for the error message. The kernel
# knows no plugin by name: a distribution that ships plugins (the `hilt` package for the
# built-in ones) adds its hints here with add_hint().
HINTS: dict[str, str] = {}


def add_hint(name: str, where: str) -> None:
    """Say where the plugin ``name`` comes from (``"hilt-sheets: pip install
    'hilt[sheets]'"``), for the error raised when it is asked for and not installed."""
    HINTS[name] = where


PROVIDER_HOOKS = ("provider_patch",)
BACKEND_HOOKS = ("backend_open", "backend_write", "backend_close", "backend_read")


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


class Registry:
    """A pluggy PluginManager with name resolution, safe loading and tracing.

    Tests build their own ``Registry(entry_points=False)`` and register plugins by name.
    """

    def __init__(self, *, entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._load_entry_points = entry_points
        self._loaded = False
        self._lock = threading.RLock()
        self._aliases: dict[str, str] = {}
        self.tracing = False
        self.failed: dict[str, str] = {}
        self.disabled: set[str] = set()
        self.distributions: dict[str, tuple[str, str]] = {}
        if os.environ.get("HILT_TRACE_PLUGINS", "").strip() not in ("", "0", "false"):
            self.enable_tracing()

    # -- loading -----------------------------------------------------------------------
    def load(self) -> None:
        """Load the entry points once (honouring HILT_LOAD_PLUGINS / HILT_DISABLE_PLUGINS)."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if self._load_entry_points:
                self._load_group()

    def _load_group(self) -> None:
        import importlib.metadata  # here, not at import: most of its cost is paid once

        only = _env_list("HILT_LOAD_PLUGINS")
        disabled = set(_env_list("HILT_DISABLE_PLUGINS") or ())
        for ep in importlib.metadata.entry_points(group=PROJECT):
            if ep.name in disabled or (only is not None and ep.name not in only):
                log.debug("HILT plugin %r not loaded (HILT_LOAD/DISABLE_PLUGINS)", ep.name)
                self.disabled.add(ep.name)
                continue
            if self.pm.has_plugin(ep.name):
                continue
            dist = ep.dist
            if dist is not None:
                self.distributions[ep.name] = (dist.metadata["Name"], dist.version)
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # a broken plugin is reported, never fatal
                where = f" from {dist.metadata['Name']} {dist.version}" if dist else ""
                self.failed[ep.name] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "HILT plugin %r%s failed to load and is skipped: %s: %s",
                    ep.name,
                    where,
                    type(exc).__name__,
                    exc,
                )

    # -- registration -------------------------------------------------------------------
    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object (a module, a class instance) under ``name``.

        Raises ``pluggy.PluginValidationError`` for a hook the core does not define or a
        signature that does not fit (a misspelt hook fails loudly, not silently).
        """
        with self._lock:
            registered = self.pm.register(plugin, name=name)
            if registered is None:  # blocked or already registered
                existing = self.pm.get_name(plugin)
                return existing or (name or "")
            try:
                self.pm.check_pending()
            except pluggy.PluginValidationError:
                self.pm.unregister(plugin)
                raise
            try:
                for key, meaning in dict(
                    getattr(plugin, "HILT_EXTENSION_KEYS", None) or {}
                ).items():
                    vocab.declare(str(key), str(meaning), plugin=registered)
            except (TypeError, ValueError):
                self.pm.unregister(plugin)
                raise
            for alias in getattr(plugin, "HILT_ALIASES", ()) or ():
                self._aliases.setdefault(str(alias), registered)
            return registered

    def unregister(self, name: str) -> None:
        with self._lock:
            plugin = self.pm.get_plugin(name)
            if plugin is not None:
                self.pm.unregister(plugin)
            self._aliases = {a: n for a, n in self._aliases.items() if n != name}

    # -- lookup --------------------------------------------------------------------------
    def _implements(self, plugin: object, hooks: Iterable[str]) -> bool:
        for hook in hooks:
            caller = getattr(self.pm.hook, hook)
            if any(impl.plugin is plugin for impl in caller.get_hookimpls()):
                return True
        return False

    def names(self, kind: str) -> list[str]:
        """Registered names of one kind: "provider" or "backend"."""
        self.load()
        hooks = PROVIDER_HOOKS if kind == "provider" else BACKEND_HOOKS
        return sorted(
            name
            for name, plugin in self.pm.list_name_plugin()
            if plugin is not None and self._implements(plugin, hooks)
        )

    def resolve(self, name: str, kind: str) -> tuple[str, object]:
        """Return (registered name, plugin) for a provider or backend name, or raise."""
        self.load()
        real = name if self.pm.has_plugin(name) else self._aliases.get(name, name)
        plugin = self.pm.get_plugin(real)
        hooks = PROVIDER_HOOKS if kind == "provider" else BACKEND_HOOKS
        if plugin is not None and self._implements(plugin, hooks):
            return real, plugin
        installed = self.names(kind)
        aliases = sorted(a for a, n in self._aliases.items() if n in installed)
        msg = f"Unknown HILT {kind} {name!r}. Installed {kind}s: " + (
            ", ".join(installed + [f"{a} (= {self._aliases[a]})" for a in aliases]) or "none"
        )
        if name in self.failed:
            msg += f". The plugin {name!r} is installed but failed to load: {self.failed[name]}"
        elif name in self.disabled:
            msg += (
                f". The plugin {name!r} is installed but disabled by HILT_DISABLE_PLUGINS / "
                "HILT_LOAD_PLUGINS"
            )
        elif name in HINTS:
            msg += f". {name!r} is provided by {HINTS[name]}"
        else:
            msg += (
                f". To add one, install a package that declares an entry point {name!r} in "
                f"the group 'hilt', or call hilt.register_plugin(obj, name={name!r})"
            )
        raise UnknownPluginError(msg)

    def session_plugins(self, *backends: object) -> list[tuple[str, object]]:
        """The plugins whose options a session writing to these ``backends`` plugins may
        be given: they, every provider, enricher and redactor, and every plugin checking
        options at session_open (see hilt_core.options)."""
        self.load()
        chosen: dict[int, tuple[str, object]] = {}
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            if any(plugin is b for b in backends) or self._implements(
                plugin, (*PROVIDER_HOOKS, "event_enrich", "redact", "session_open")
            ):
                chosen[id(plugin)] = (name, plugin)
        return list(chosen.values())

    def default_providers(self) -> list[tuple[str, object]]:
        """The providers ``instrument()`` patches when no ``providers=`` is given: every
        registered provider plugin that declares ``HILT_DEFAULT = True`` and whose SDK
        (``HILT_SDK``, an import name) is importable. Nothing is imported to find out.

        ``HILT_SDK`` may be a tuple of import names: the provider is called when any of them
        is importable (a provider that tells the user of a deprecated SDK lists it too)."""
        found = []
        for name in self.names("provider"):
            plugin = self.pm.get_plugin(name)
            if not getattr(plugin, "HILT_DEFAULT", False):
                continue
            sdk = getattr(plugin, "HILT_SDK", None)
            names = sdk if isinstance(sdk, tuple | list) else (sdk,)
            present = sdk is None or any(_importable(str(n)) for n in names)
            if present:
                found.append((name, plugin))
            else:
                log.debug("HILT provider %r not patched by default: %s is not installed", name, sdk)
        return found

    def unloaded(self) -> list[str]:
        """Installed plugins that are not loaded (failed, or left out by the environment)."""
        return sorted(set(self.failed) | self.disabled)

    def caller(self, plugin: object, hook: str) -> Callable[..., Any]:
        """A caller of ``hook`` that reaches only ``plugin`` (never every installed one)."""
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    def bound(self, plugin: object, hook: str) -> Callable[..., Any]:
        """``plugin``'s own implementation of ``hook``, resolved once, as a callable taking
        the hook's keyword arguments (those it does not declare are left out, as pluggy
        does). For the hooks a session calls on every batch: a plugin registered later
        is never reached through it. With ``HILT_TRACE_PLUGINS`` each call is traced."""
        impls = [i for i in getattr(self.pm.hook, hook).get_hookimpls() if i.plugin is plugin]
        if not impls and not self.pm.is_registered(plugin):
            # A plugin object the registry does not hold (the kernel's fan-out to several
            # backends, hilt_core.fanout): no name resolves to it, its function is called.
            own: Callable[..., Any] | None = getattr(plugin, hook, None)
            return own if callable(own) else _no_impl
        if not impls:
            return _no_impl
        return bind_impl(impls[-1], hook, trace=self.tracing)

    # -- tracing -------------------------------------------------------------------------
    def enable_tracing(self) -> Callable[[], None]:
        """Log every hook call to the ``hilt.trace`` logger (HILT_TRACE_PLUGINS=1)."""

        def before(hook_name: str, impls: Any, kwargs: Any) -> None:
            trace_log.info("hook %s -> %s", hook_name, [impl.plugin_name for impl in impls])

        def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
            exc = outcome.exception
            if exc is not None:
                trace_log.info("hook %s raised %s: %s", hook_name, type(exc).__name__, exc)

        self.tracing = True
        undo: Callable[[], None] = self.pm.add_hookcall_monitoring(before, after)
        return undo


def _no_impl(**kwargs: Any) -> None:
    return None


def bind_impl(impl: Any, hook: str, *, trace: bool = False) -> Callable[..., Any]:
    """Call one pluggy ``HookImpl`` directly with keyword arguments, passing only the
    arguments its function declares (an implementation may take fewer than the spec)."""
    function = impl.function
    names = tuple(impl.argnames)
    if not trace:

        def call(**kwargs: Any) -> Any:
            return function(*[kwargs[n] for n in names])

        return call
    plugin_name = impl.plugin_name

    def traced(**kwargs: Any) -> Any:
        trace_log.info("hook %s -> [%r]", hook, plugin_name)
        try:
            return function(*[kwargs[n] for n in names])
        except Exception as exc:
            trace_log.info("hook %s raised %s: %s", hook, type(exc).__name__, exc)
            raise

    return traced


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry that ``instrument()`` and ``Session()`` use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Registry()
    return _default


def set_default_registry(registry: Registry | None) -> None:
    """Replace the process-wide registry (tests; ``None`` makes a fresh one on next use)."""
    global _default
    _default = registry


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register a plugin object in code, without packaging; it takes part like an
    installed one (a custom redactor, a backend, a provider)."""
    reg = default_registry()
    reg.load()
    return reg.register(plugin, name=name)


def unregister_plugin(name: str) -> None:
    default_registry().unregister(name)


def _importable(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it (its parent
    packages are imported: a namespace package such as ``google`` costs nothing)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
