"""Accessor methods made from the library's functions: signature and docstring written once.

``df.emotion.durations`` is `emotion_analytics.analysis.durations` with the frame filled in. A
`shared` method is built from its function on first access (so `plotting` and matplotlib load
only when a plot is asked for, or ``help()`` is read): it carries the function's signature
without the frame parameter, and its full docstring, so ``help()`` and Jupyter's Shift-Tab show
the real parameters and defaults (pandas shares its docstrings the same way).

>>> import inspect
>>> import emotion_analytics as ea
>>> class Table:
...     def __init__(self, df):
...         self._df = df
...     dimensions = shared("emotion_analytics.analysis", "dimensions")
>>> inspect.signature(Table.dimensions)
<Signature (self, *, by: 'By' = 'file', overlap: 'Overlap' = 'split') -> 'pd.DataFrame'>
>>> df = ea.to_frame([{"emotion": "calm", "start": 0, "end": 2, "arousal": 0.25}], file="a")
>>> Table(df).dimensions(by=None)
     arousal
all     0.25
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["shared", "accessor_signature"]

_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


def accessor_signature(
    func: Callable, *, fixed: Sequence[str] = (), add: Sequence[inspect.Parameter] = ()
) -> inspect.Signature:
    """``func``'s signature without its first (frame) parameter and the ``fixed`` ones.

    ``add`` appends keyword-only parameters (e.g. the Dask accessor's ``partitioned_by_file``).

    >>> from emotion_analytics import analysis
    >>> accessor_signature(analysis.durations)
    <Signature (*, by: 'By' = 'file', overlap: 'Overlap' = 'split') -> 'pd.DataFrame'>
    """
    sig = inspect.signature(func)
    params = [p for p in list(sig.parameters.values())[1:] if p.name not in fixed]
    return sig.replace(parameters=[*params, *add])


class shared:  # noqa: N801  (used like a function: a decorator or a class attribute)
    """A method that calls ``module.function``, with its signature and docstring.

    Parameters
    ----------
    module, function
        Where the function is: ``"emotion_analytics.analysis", "durations"``.
    fixed
        Arguments the method always passes (e.g. ``{"normalize": True}``); they leave the
        signature.
    add
        Extra keyword-only parameters of the method (with their defaults).
    note
        Text appended to the docstring.
    frame
        The accessor attribute that holds the frame; the method calls
        ``function(<frame>, *args, **fixed, **kwargs)``.

    Used as a decorator, the decorated function is called instead, with the frame accessor,
    then every argument by name, defaults filled in from the function's signature (so the
    defaults stay written once, in the function).
    """

    def __init__(
        self,
        module: str,
        function: str,
        *,
        fixed: Mapping[str, Any] | None = None,
        add: Sequence[inspect.Parameter] = (),
        note: str | None = None,
        frame: str = "_df",
    ):
        self.module = module
        self.function = function
        self.fixed = dict(fixed or {})
        self.add = tuple(add)
        self.note = note
        self.frame = frame
        self.impl: Callable[..., Any] | None = None
        self.name = function
        self.owner: type | None = None
        self._method: Callable[..., Any] | None = None

    def __call__(self, impl: Callable[..., Any]) -> shared:
        self.impl = impl
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        method = self._method or self._build()
        return method if obj is None else types.MethodType(method, obj)

    def _build(self) -> Callable[..., Any]:
        func = getattr(importlib.import_module(self.module), self.function)
        public = accessor_signature(func, fixed=tuple(self.fixed), add=self.add)
        full = public.replace(parameters=[_SELF, *public.parameters.values()])
        impl, fixed, frame = self.impl, self.fixed, self.frame

        if impl is None:

            def method(self_: Any, *args: Any, **kwargs: Any) -> Any:
                return func(getattr(self_, frame), *args, **fixed, **kwargs)

        else:

            def method(self_: Any, *args: Any, **kwargs: Any) -> Any:
                bound = full.bind(self_, *args, **kwargs)
                bound.apply_defaults()
                return impl(self_, **{k: v for k, v in bound.arguments.items() if k != "self"})

        method.__signature__ = full  # type: ignore[attr-defined]
        note = "\n" + textwrap.indent(textwrap.dedent(self.note), "    ") if self.note else ""
        method.__doc__ = (func.__doc__ or "").rstrip() + "\n" + note
        method.__name__ = self.name
        owner = self.owner
        method.__qualname__ = f"{owner.__qualname__}.{self.name}" if owner else self.name
        method.__module__ = owner.__module__ if owner else self.module
        self._method = method
        return method
