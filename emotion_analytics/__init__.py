"""emotion_analytics: who felt what, when, and for how long, in recordings.

>>> import emotion_analytics as ea
>>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="call.wav")
>>> float(df.emotion.durations()["happy"].iloc[0])
3.0
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import Any as _Any

from . import accessor as _accessor  # noqa: F401  (registers df.emotion)
from . import errors as _errors
from .errors import *  # noqa: F403  (the error tree: every name of errors.__all__)
from .responses import to_frame, to_response
from .schema import COLUMNS

__version__ = "0.1.0"

# Heavier parts load on first use, so `import emotion_analytics` stays fast.
_LAZY = {
    "recognise": "emotion_analytics.batch",
    "analyze_files": "emotion_analytics.batch",
    "read_results": "emotion_analytics.results",
    "EmotionClient": "emotion_analytics.client",
    "get_engine": "emotion_analytics.engines",
    "read_responses": "emotion_analytics.io",
    "write_responses": "emotion_analytics.io",
    "read_rttm": "emotion_analytics.io",
    "write_rttm": "emotion_analytics.io",
    "read_textgrid": "emotion_analytics.io",
    "write_textgrid": "emotion_analytics.io",
    "read_table": "emotion_analytics.io",
    "write_table": "emotion_analytics.io",
    "emotion_colors": "emotion_analytics.plotting",
}

__all__ = [
    "COLUMNS",
    "to_frame",
    "to_response",
    *_errors.__all__,  # the error tree (see emotion_analytics.errors)
    *_LAZY,
]


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        return getattr(_import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emotion_analytics' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public surface only: no sub-module or helper names."""
    return sorted([*__all__, "__version__"])
