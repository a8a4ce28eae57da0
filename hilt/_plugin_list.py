"""``hilt plugins``: what the registry loaded, from which distribution, with which hooks,
and what failed to load (and why) or was left out by HILT_LOAD/DISABLE_PLUGINS."""

from __future__ import annotations

from typing import Any

from hilt_core import Registry
from hilt_core.options import declared


def describe(reg: Registry) -> dict[str, Any]:
    reg.load()
    plugins = []
    for name, plugin in sorted(reg.pm.list_name_plugin(), key=lambda np: np[0]):
        if plugin is None:  # blocked
            continue
        dist, version = reg.distributions.get(name, ("(registered in code)", ""))
        hooks = sorted(caller.name for caller in reg.pm.get_hookcallers(plugin) or [])
        aliases = [str(a) for a in getattr(plugin, "HILT_ALIASES", ()) or ()]
        plugins.append(
            {
                "name": name,
                "distribution": dist,
                "version": version,
                "hooks": hooks,
                "aliases": aliases,
                # None: the plugin declares nothing (it may take any keyword option)
                "options": None if (opts := declared(plugin)) is None else dict(opts),
            }
        )
    failed = []
    for name, error in sorted(reg.failed.items()):
        dist, version = reg.distributions.get(name, ("", ""))
        failed.append({"name": name, "distribution": dist, "version": version, "error": error})
    disabled = sorted(getattr(reg, "disabled", ()) or ())
    return {"plugins": plugins, "failed": failed, "disabled": disabled}


def render(info: dict[str, Any]) -> str:
    out: list[str] = []
    plugins = info["plugins"]
    if not plugins:
        out.append("No HILT plugin is loaded.")
    else:
        w_name = max(len(p["name"]) for p in plugins)
        w_dist = max(len(f"{p['distribution']} {p['version']}".strip()) for p in plugins)
        for p in plugins:
            dist = f"{p['distribution']} {p['version']}".strip()
            alias = f" (also: {', '.join(p['aliases'])})" if p["aliases"] else ""
            hooks = ", ".join(p["hooks"]) or "no hooks"
            out.append(f"{p['name']:<{w_name}}  {dist:<{w_dist}}  {hooks}{alias}")
            if p.get("options"):
                out.append(f"{'':<{w_name}}  options: {', '.join(sorted(p['options']))}")
    for f in info["failed"]:
        dist = f" ({f['distribution']} {f['version']})" if f["distribution"] else ""
        out.append(f"FAILED {f['name']}{dist}: {f['error']}")
    if info["disabled"]:
        out.append(
            "not loaded (HILT_LOAD_PLUGINS / HILT_DISABLE_PLUGINS): " + ", ".join(info["disabled"])
        )
    return "\n".join(out)
