"""Emotion engines behind one interface, and `get_engine` to pick one.

==================================  ======================================================
``engine=``                         what runs
==================================  ======================================================
``"local"`` (default)               the embedded model: offline, numpy only
``"local:<weights.npz>"``           the embedded model with weights of your own
                                    (``emotion-analytics train --out``)
``"transformers:<model id|path>"``  an audio-classification checkpoint (``transformers``
                                    extra), window by window
``"encoder"``                       a Whisper encoder (CTranslate2, ``encoder`` extra) with the
                                    package's own heads; ``"encoder:HEADS.npz"`` or
                                    ``"encoder:<model folder|name>"``
                                    (`emotion_analytics.engines.encoder`)
an ``EmotionClient``                a DeepAffects-compatible HTTP API (remote)
any object with ``analyze``         your own engine (see `emotion_analytics.engines.base`)
==================================  ======================================================

>>> get_engine("nonsense")
Traceback (most recent call last):
...
emotion_analytics.errors.UnknownEngineError: unknown engine 'nonsense'; ...
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import UnknownEngineError
from .base import Engine, WindowEngine

__all__ = ["Engine", "WindowEngine", "UnknownEngineError", "get_engine", "ENGINE_HELP"]

#: The engine choices, as said in error messages and ``--help``.
ENGINE_HELP = (
    "'local' (the embedded model, default), 'local:<weights.npz>', "
    "'transformers:<model id or path>', 'encoder' "
    "(a Whisper encoder; 'encoder:HEADS.npz' or 'encoder:<model folder or name>'), an "
    "EmotionClient, or any object with an analyze(audio, sample_rate) method"
)


def get_engine(spec: Any = "local") -> Any:
    """Turn an engine choice into an engine object.

    Parameters
    ----------
    spec : str or engine object
        ``"local"`` (or ``None``), ``"transformers:<model id or path>"``, an
        `emotion_analytics.EmotionClient`, or any object with an ``analyze`` method (returned
        as it is). Engines named by a string are built once per process and reused.

    Returns
    -------
    engine
        An object with ``name``, ``labels`` and ``analyze(audio, sample_rate, **options)``.

    Raises
    ------
    UnknownEngineError
        The name is not known; the message lists the choices.

    Examples
    --------
    >>> get_engine("local").name
    'local'
    >>> get_engine("local") is get_engine("local")
    True
    """
    if spec is None:
        spec = "local"
    if isinstance(spec, str):
        return _engine_by_name(spec.strip())
    if callable(getattr(spec, "analyze", None)):
        return spec
    raise UnknownEngineError(
        f"cannot use a {type(spec).__name__} as an engine: it has no analyze() method; "
        f"use {ENGINE_HELP}"
    )


@lru_cache(maxsize=8)
def _engine_by_name(spec: str) -> Any:
    if spec == "local":
        from .local import LocalEngine

        return LocalEngine()
    if spec.startswith("local:"):
        from .local import LocalEngine

        return LocalEngine(_argument(spec, "a weights file written by `emotion-analytics train "
                                           "--out PATH`, e.g. 'local:mine.npz'"))
    if spec.startswith("transformers:"):
        model = _argument(spec, "a model id or a local folder, e.g. "
                                "'transformers:superb/wav2vec2-base-superb-er'")
        from .transformers_engine import TransformersEngine

        return TransformersEngine(model)
    if spec == "encoder" or spec.startswith("encoder:"):
        from .encoder import EncoderEngine

        arg = spec.split(":", 1)[1].strip() if ":" in spec else ""
        if not arg:
            return EncoderEngine()
        if arg.endswith(".npz"):
            return EncoderEngine(heads=arg)
        return EncoderEngine(model=arg)
    raise UnknownEngineError(f"unknown engine {spec!r}; use {ENGINE_HELP}")


def _argument(spec: str, needs: str) -> str:
    """What follows ``kind:`` in an engine name; `UnknownEngineError` naming ``needs`` if empty."""
    kind, arg = spec.split(":", 1)
    if not arg.strip():
        raise UnknownEngineError(f"{kind + ':'!r} needs {needs}")
    return arg.strip()
