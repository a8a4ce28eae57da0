"""The options of ``backend="otel"``, read once when the session opens: each from its
``otel_*`` keyword, else the standard OpenTelemetry environment variable, else a default.
A bad value is a ConfigError at ``instrument()`` time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hilt_core import ConfigError

CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# The values of CONTENT_ENV that turn content on for spans: "true" (the instrumentations'
# long-standing form) and the newer SPAN_ONLY / SPAN_AND_EVENT.
_CONTENT_ON = frozenset({"true", "1", "yes", "on", "span_only", "span_and_event"})
DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
COMPRESSIONS = ("gzip", "deflate", "none")

HILT_OPTIONS = {
    "otel_endpoint": "OTLP/HTTP traces URL (default: the OTEL_EXPORTER_OTLP_* variables, "
    "else http://localhost:4318/v1/traces).",
    "otel_headers": "HTTP headers of every export (auth tokens), a dict or 'k=v,k2=v2'; on "
    "top of OTEL_EXPORTER_OTLP_HEADERS.",
    "otel_timeout": "Seconds one export may take, the exporter's retries included (default "
    "OTEL_EXPORTER_OTLP_TIMEOUT, else 10).",
    "otel_compression": "gzip (default), deflate or none.",
    "otel_capture_content": "Export the messages (as the capture mode kept them); default "
    f"{CONTENT_ENV}, else False.",
    "otel_service_name": "The service.name of the spans (default OTEL_SERVICE_NAME).",
    "otel_resource_attributes": "More resource attributes, a dict (on top of "
    "OTEL_RESOURCE_ATTRIBUTES).",
    "otel_max_queue": "Spans (and events waiting to become spans) held for export; the "
    "oldest are dropped past it, counted (default 4,096: about 15 MB).",
    "otel_batch_size": "Spans per export request (default 512).",
    "otel_schedule_delay": "Seconds between exports of a partial batch (default 1).",
    "otel_flush_timeout": "Seconds flush() waits for the collector (default 0: hand over).",
    "otel_close_timeout": "Seconds close() and uninstrument() wait for the collector (default 5).",
    "otel_exporter": "A SpanExporter to send with instead of OTLP/HTTP (gRPC, console).",
}


@dataclass(frozen=True)
class Settings:
    endpoint: str = DEFAULT_ENDPOINT
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    compression: str = "gzip"
    content: bool = False
    capture: str = "full"
    service_name: str | None = None
    resource_attributes: dict[str, Any] = field(default_factory=dict)
    max_queue: int = 4096
    batch_size: int = 512
    schedule_delay: float = 1.0
    flush_timeout: float = 0.0
    close_timeout: float = 5.0
    exporter: Any = None


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _endpoint(options: Mapping[str, Any]) -> str:
    given = options.get("otel_endpoint")
    if given is not None:
        endpoint = str(given)
    elif (traces := _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) is not None:
        endpoint = traces
    elif (base := _env("OTEL_EXPORTER_OTLP_ENDPOINT")) is not None:
        # The base URL of every signal: the traces path is added, as the SDK does.
        endpoint = base.removesuffix("/") + "/v1/traces"
    else:
        endpoint = DEFAULT_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"otel_endpoint must be an http:// or https:// URL (OTLP over HTTP), not "
            f"{endpoint!r}; e.g. 'http://localhost:4318/v1/traces'"
        )
    return endpoint


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        out: dict[str, str] = {}
        for item in value.split(","):
            if not item.strip():
                continue
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(
                    f"otel_headers: {item.strip()!r} is not 'name=value' "
                    "(give a dict, or 'name=value,name2=value2')"
                )
            out[key.strip()] = val.strip()
        return out
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    raise ConfigError(f"otel_headers must be a dict or 'name=value,...', not {value!r}")


def _number(options: Mapping[str, Any], name: str, default: float, *, low: float) -> float:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise ConfigError(f"{name} must be a number >= {low:g}, not {value!r}")
    return float(value)


def _count(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number >= 1, not {value!r}")
    return value


def _content(options: Mapping[str, Any]) -> bool:
    value = options.get("otel_capture_content")
    if value is None:
        return (os.environ.get(CONTENT_ENV, "").strip().lower()) in _CONTENT_ON
    if not isinstance(value, bool):
        raise ConfigError(f"otel_capture_content must be True or False, not {value!r}")
    return value


def _compression(options: Mapping[str, Any]) -> str:
    given = options.get("otel_compression")
    value = (
        given
        if given is not None
        else (
            _env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")
            or "gzip"
        )
    )
    value = str(value).strip().lower()
    if value not in COMPRESSIONS:
        raise ConfigError(f"otel_compression must be one of {COMPRESSIONS}, not {value!r}")
    return value


def read_settings(options: Mapping[str, Any]) -> Settings:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        raise ConfigError(
            "OTEL_SDK_DISABLED=true turns the OpenTelemetry SDK off, so backend='otel' would "
            "send nothing: unset it, or leave 'otel' out of backend="
        )
    timeout = options.get("otel_timeout")
    if timeout is not None:
        timeout = _number(options, "otel_timeout", 10.0, low=0.001)
    resource = options.get("otel_resource_attributes") or {}
    if not isinstance(resource, Mapping):
        raise ConfigError(f"otel_resource_attributes must be a dict, not {resource!r}")
    service = options.get("otel_service_name")
    if service is not None and not isinstance(service, str):
        raise ConfigError(f"otel_service_name must be a string, not {service!r}")
    exporter = options.get("otel_exporter")
    if exporter is not None and not callable(getattr(exporter, "export", None)):
        raise ConfigError(
            "otel_exporter must be an OpenTelemetry SpanExporter (with export() and "
            f"shutdown()), not {exporter!r}"
        )
    return Settings(
        endpoint=_endpoint(options),
        headers=_headers(options.get("otel_headers")),
        timeout=timeout,
        compression=_compression(options),
        content=_content(options),
        capture=str(options.get("capture") or "full"),
        service_name=service,
        resource_attributes=dict(resource),
        max_queue=_count(options, "otel_max_queue", 4096),
        batch_size=_count(options, "otel_batch_size", 512),
        schedule_delay=_number(options, "otel_schedule_delay", 1.0, low=0.001),
        flush_timeout=_number(options, "otel_flush_timeout", 0.0, low=0.0),
        close_timeout=_number(options, "otel_close_timeout", 5.0, low=0.0),
        exporter=exporter,
    )
