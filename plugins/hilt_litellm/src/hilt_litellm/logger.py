"""HILT's LiteLLM logger: a ``CustomLogger`` in ``litellm.callbacks`` (LiteLLM's own
callback API; nothing of LiteLLM is patched). Imported only once ``litellm`` is.

Each hook hands what LiteLLM reports to the :class:`~hilt_litellm.tracker.Tracker`; an
exception of HILT's own is reported and never reaches LiteLLM (which would log it as its
integration failing) or the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hilt_core.internal import internal_error
from hilt_litellm.tracker import Tracker

if TYPE_CHECKING:  # LiteLLM's types are not needed to check this module
    _Base = object
else:
    from litellm.integrations.custom_logger import CustomLogger as _Base


class HiltLogger(_Base):
    """Reports LiteLLM's calls to HILT (see hilt_litellm.tracker for when each hook runs)."""

    def __init__(self, tracker: Tracker) -> None:
        super().__init__()
        self.hilt_tracker = tracker

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        try:
            self.hilt_tracker.pre(kwargs, messages)
        except Exception:
            internal_error("record a LiteLLM call")

    def log_post_api_call(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            self.hilt_tracker.post(kwargs)
        except Exception:
            internal_error("record a LiteLLM call")

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            self.hilt_tracker.success(kwargs, response_obj, start_time, end_time)
        except Exception:
            internal_error("record a LiteLLM call")

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.log_success_event(kwargs, response_obj, start_time, end_time)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        try:
            self.hilt_tracker.failure(kwargs, start_time, end_time)
        except Exception:
            internal_error("record a LiteLLM call")

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.log_failure_event(kwargs, response_obj, start_time, end_time)


__all__ = ["HiltLogger"]
