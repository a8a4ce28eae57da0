"""Which redactors run for a session, in which order, and redactors written as functions.

A plugin implementing ``redact`` is *always on* (it runs for every session: a function
given to :func:`register_redactor`, an object given to ``hilt.register_plugin``, an
installed third-party package) unless it declares ``HILT_OPT_IN = True``: then it runs only
for sessions that name it in ``redactors=[...]`` (the built-in ``pii`` redactor is opt-in;
``capture="redacted"`` names it by default).

Order, per event: first the redactors named in ``redactors=[...]``, in that order (naming
an always-on redactor there moves it to that place); then the other always-on ones,
``tryfirst`` ones first and ``trylast`` ones last, otherwise in the order they were
registered. The capture mode (``hash``, ``metadata``) is applied after all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hilt_core.errors import ConfigError
from hilt_core.markers import hookimpl
from hilt_core.model import Event
from hilt_core.registry import HINTS, Registry, bind_impl, register_plugin
from hilt_core.textfields import TextFn, map_text

RedactImpl = Callable[..., Any]


def _impls(registry: Registry) -> list[Any]:
    return list(registry.pm.hook.redact.get_hookimpls())


def is_opt_in(plugin: object) -> bool:
    return bool(getattr(plugin, "HILT_OPT_IN", False))


def redactor_names(registry: Registry) -> list[str]:
    """Names of every registered redactor (opt-in or always on)."""
    registry.load()
    return sorted({impl.plugin_name for impl in _impls(registry)})


def always_on(registry: Registry) -> list[str]:
    return [i.plugin_name for i in _impls(registry) if not is_opt_in(i.plugin)]


def resolve_names(registry: Registry, names: Sequence[str]) -> tuple[str, ...]:
    """Registered names for ``redactors=[...]`` (aliases allowed), or a ConfigError."""
    registry.load()
    by_name = {i.plugin_name: i for i in _impls(registry)}
    out: list[str] = []
    for name in names:
        real = name if name in by_name else _alias(registry, name)
        if real is None:
            installed = ", ".join(sorted(by_name)) or "none"
            msg = f"Unknown HILT redactor {name!r}. Installed redactors: {installed}"
            if name in registry.failed:
                msg += f". The plugin {name!r} failed to load: {registry.failed[name]}"
            elif name in HINTS:
                msg += f". {name!r} is provided by {HINTS[name]}"
            else:
                msg += ". Register one with hilt.register_redactor(fn, name=...)"
            raise ConfigError(msg)
        if real not in out:
            out.append(real)
    return tuple(out)


def _alias(registry: Registry, name: str) -> str | None:
    for registered, plugin in registry.pm.list_name_plugin():
        if plugin is not None and name in (getattr(plugin, "HILT_ALIASES", ()) or ()):
            return registered if any(i.plugin is plugin for i in _impls(registry)) else None
    return None


def ordered(registry: Registry, chosen: Sequence[str]) -> list[tuple[str, RedactImpl]]:
    """``(name, redact function)`` in the order they run for a session that chose
    ``chosen``. Looked up per batch, so a redactor registered later still takes part."""
    impls = _impls(registry)
    by_name = {i.plugin_name: i for i in impls}
    out = [(n, bind_impl(by_name[n], "redact")) for n in chosen if n in by_name]
    rest = [i for i in impls if i.plugin_name not in chosen and not is_opt_in(i.plugin)]
    # pluggy keeps normal and tryfirst impls in registration order and trylast ones in
    # reverse; the order we document is registration order within each group.
    first = [i for i in rest if i.tryfirst]
    last = [i for i in rest if i.trylast][::-1]
    middle = [i for i in rest if not i.tryfirst and not i.trylast]
    out.extend((i.plugin_name, bind_impl(i, "redact")) for i in first + middle + last)
    return [(n, _refuse_wrapper if _is_wrapper(by_name[n]) else f) for n, f in out]


def _is_wrapper(impl: Any) -> bool:
    return bool(impl.hookwrapper or impl.wrapper)


def _refuse_wrapper(**kwargs: Any) -> None:
    # Called directly, a wrapper would return a generator and redact nothing: fail closed.
    raise TypeError("a redact hook cannot be a hookwrapper or wrapper")


class FunctionRedactor:
    """A plain ``fn(text) -> text`` applied to every text-bearing field of each event."""

    def __init__(self, fn: TextFn, name: str) -> None:
        self.fn = fn
        self.name = name

    def _apply(self, text: str) -> str:
        out = self.fn(text)
        if not isinstance(out, str):
            raise TypeError(f"redactor {self.name!r} returned {type(out).__name__}, not str")
        return out

    @hookimpl
    def redact(self, event: Event, mode: str) -> None:
        map_text(event, self._apply)

    def __repr__(self) -> str:
        return f"<hilt redactor {self.name!r}>"


def register_redactor(fn: TextFn, name: str | None = None) -> str:
    """Apply ``fn(text) -> text`` to every text-bearing field of every event (prompts,
    completions, tool arguments and results, error messages, metadata), in every session.

    Returns the name it is registered under (``hilt.unregister_plugin(name)`` removes it;
    ``redactors=[name, ...]`` places it in the order). If ``fn`` raises, the event's
    content is dropped, never written unredacted.
    """
    if not callable(fn):
        raise ConfigError("register_redactor() needs a function fn(text: str) -> str")
    label = name or f"redactor:{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"
    try:
        return register_plugin(FunctionRedactor(fn, label), name=label)
    except ValueError as exc:  # pluggy: the name is taken
        raise ConfigError(
            f"A HILT plugin named {label!r} is already registered; pass another name= "
            f"or hilt.unregister_plugin({label!r}) first"
        ) from exc
