"""Exceptions raised by HILT. Everything derives from :class:`HILTError`."""

from __future__ import annotations


class HILTError(Exception):
    """Base class of every error HILT raises."""


class ConfigError(HILTError, ValueError):
    """Bad configuration, raised at ``instrument()`` / ``Session()`` time.

    It is also a ``ValueError`` because hilt-python 0.2.8 raised ``ValueError`` for
    bad backends and columns, and code written for it catches that.
    """


class UnknownPluginError(ConfigError):
    """A provider or backend name that no installed or registered plugin provides."""


class ValidationError(HILTError, ValueError):
    """An event that does not fit the HILT format."""


class SessionError(HILTError):
    """A session used in a way its state does not allow (reading a closed file, ...)."""


__all__ = ["ConfigError", "HILTError", "SessionError", "UnknownPluginError", "ValidationError"]
