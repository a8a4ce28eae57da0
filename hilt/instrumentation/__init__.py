"""hilt-python 0.2.8 spellings: ``from hilt.instrumentation import get_context``."""

from hilt import instrument, uninstrument
from hilt.instrumentation.context import InstrumentationContext, get_context

__all__ = ["InstrumentationContext", "get_context", "instrument", "uninstrument"]
