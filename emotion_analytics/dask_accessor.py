"""``ddf.emotion`` on Dask DataFrames: the aggregates of `emotion_analytics.analysis`, out of core.

Registered when this module is imported; `emotion_analytics` imports it by itself as soon as
``dask.dataframe`` is imported (before or after ``emotion_analytics``), so a user only writes::

    import dask.dataframe as dd
    import emotion_analytics
    ddf = dd.from_pandas(df, npartitions=8)
    ddf.emotion.durations()          # a pandas DataFrame, equal to df.emotion.durations()

Each method computes the pandas aggregate on every partition and combines the partial results,
so it returns a (small) pandas object, computed. Exactness:

* ``overlap="count"`` durations, shares and dominant are exact for any partitioning (sums).
* ``overlap="split"`` and the union-based `talk_time` and `coverage` judge overlap within a
  file, so all of a file's rows must be in one partition. They are moved there with
  ``shuffle(on="file")`` first, unless you pass ``partitioned_by_file=True`` because they
  already are (e.g. one file per partition, as ``read_parquet`` of one file per recording gives).
* `transitions` follows each file's sequence of segments, so it needs the same.
* `dimensions` adds up each partition's value x seconds and seconds: exact with
  ``overlap="count"``; ``overlap="split"`` needs a file's rows in one partition, as above.

Every method has the signature and docstring of its function in `emotion_analytics.analysis`
(plus ``partitioned_by_file``), so a default is written once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd

from . import analysis
from ._shared import shared
from .errors import BadResponseError, require
from .schema import dimension_columns

__all__ = ["DaskEmotionAccessor", "register"]

_registered = False
_ANALYSIS = "emotion_analytics.analysis"
#: The Dask methods' own parameter, after the function's.
_PARTITIONED = (
    inspect.Parameter(
        "partitioned_by_file", inspect.Parameter.KEYWORD_ONLY, default=False, annotation="bool"
    ),
)
_NOTE = """
On a Dask DataFrame (``ddf.emotion``)
-------------------------------------
Computed on every partition and combined; returns a computed pandas object.
``partitioned_by_file=True`` says that all rows of a file are in one partition already, so the
table is not shuffled by ``file`` first (see `emotion_analytics.dask_accessor`).
"""


class DaskEmotionAccessor:
    """The aggregates of ``df.emotion`` on a Dask DataFrame; each returns a computed pandas object.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame({"a": [{"emotion": "happy", "start": 0, "end": 2}],
    ...                   "b": [{"emotion": "sad", "start": 0, "end": 1}]})
    >>> ddf = dd.from_pandas(df, npartitions=2)
    >>> ddf.emotion.durations().equals(df.emotion.durations())
    True
    """

    def __init__(self, ddf: Any):
        self._ddf = ddf

    # the partial results of each partition, combined ------------------------------------------

    def _parts(self, func: Callable[[pd.DataFrame], Any], *, by_file: bool) -> list:
        dask = require("dask", "dask")
        ddf = self._ddf
        if by_file:
            if "file" not in ddf.columns:
                raise BadResponseError(
                    "this aggregate judges overlap within each file, but the table has no "
                    "'file' column; add one (e.g. ddf['file'] = 'recording')"
                )
            ddf = ddf.shuffle(on="file")
        parts = [dask.delayed(func)(p) for p in ddf.to_delayed()]
        return list(dask.compute(*parts))

    def _summed(self, func, *, by_file: bool, partitioned_by_file: bool) -> pd.DataFrame:
        parts = self._parts(func, by_file=by_file and not partitioned_by_file)
        parts = [p for p in parts if len(p)] or parts[:1]
        combined = pd.concat(parts)
        levels = list(range(combined.index.nlevels))
        out = combined.groupby(level=levels, dropna=False, sort=True).sum()
        out.columns.name = parts[0].columns.name
        return out.fillna(0) if out.isna().any().any() else out

    # aggregates: signature and docstring come from emotion_analytics.analysis -----------------

    @shared(_ANALYSIS, "durations", add=_PARTITIONED, note=_NOTE, frame="_ddf")
    def durations(self, *, by, overlap, partitioned_by_file) -> pd.DataFrame:
        def part(p):
            return analysis.durations(p, by=by, overlap=overlap)

        return self._summed(
            part, by_file=overlap == "split", partitioned_by_file=partitioned_by_file
        )

    @shared(_ANALYSIS, "shares", add=_PARTITIONED, note=_NOTE, frame="_ddf")
    def shares(self, *, by, overlap, partitioned_by_file) -> pd.DataFrame:
        d = self.durations(by=by, overlap=overlap, partitioned_by_file=partitioned_by_file)
        total = d.sum(axis=1)
        return d.div(total.where(total > 0), axis=0)

    @shared(_ANALYSIS, "dominant", add=_PARTITIONED, frame="_ddf",
            note=_NOTE + "\nGroups whose rows all lack an ``end`` get no fallback here: use the "
            "pandas version.")
    def dominant(self, *, by, overlap, partitioned_by_file) -> pd.Series:
        d = self.durations(by=by, overlap=overlap, partitioned_by_file=partitioned_by_file)
        codes = d.to_numpy().argmax(axis=1) if d.shape[1] else []
        cat = pd.Categorical.from_codes(codes, categories=d.columns)
        return pd.Series(cat, index=d.index, name="emotion")

    @shared(_ANALYSIS, "dimensions", add=_PARTITIONED, note=_NOTE, frame="_ddf")
    def dimensions(self, *, by, overlap, partitioned_by_file) -> pd.DataFrame:
        dims = dimension_columns(self._ddf)
        if not dims:
            analysis.dimensions(self._ddf._meta, by=by, overlap=overlap)  # its error

        def part(p):
            return analysis.aggregates._dimension_time(p, by=by, overlap=overlap)

        time = self._summed(
            part, by_file=overlap == "split", partitioned_by_file=partitioned_by_file
        )
        out = pd.DataFrame(index=time.index)
        for d in dims:
            num, den = time[f"{d}:sum"], time[f"{d}:seconds"]
            out[d] = num / den.where(den > 0)
        return out

    @shared(_ANALYSIS, "transitions", add=_PARTITIONED, note=_NOTE, frame="_ddf")
    def transitions(self, *, by, normalize, partitioned_by_file) -> pd.DataFrame:
        def part(p):
            return analysis.transitions(p, by=by)

        out = self._summed(part, by_file=True, partitioned_by_file=partitioned_by_file)
        if normalize:
            total = out.sum(axis=1)
            out = out.div(total.where(total > 0), axis=0)
        return out

    @shared(_ANALYSIS, "talk_time", add=_PARTITIONED, note=_NOTE, frame="_ddf")
    def talk_time(self, *, by, partitioned_by_file) -> pd.DataFrame:
        def part(p):
            return analysis.talk_time(p, by=by)[["seconds", "segments"]]

        out = self._summed(part, by_file=True, partitioned_by_file=partitioned_by_file)
        names = list(out.index.names)
        if "file" in names and len(names) > 1:
            per_file = out["seconds"].groupby(level="file", dropna=False).transform("sum")
        else:
            per_file = pd.Series(out["seconds"].sum(), index=out.index)
        out["segments"] = out["segments"].astype("int64")
        out["share"] = out["seconds"] / per_file.where(per_file > 0)
        return out

    @shared(_ANALYSIS, "coverage", add=_PARTITIONED, note=_NOTE, frame="_ddf")
    def coverage(self, *, by, partitioned_by_file) -> pd.DataFrame:
        parts = self._parts(lambda p: analysis.coverage(p, by=by), by_file=not partitioned_by_file)
        parts = [p for p in parts if len(p)] or parts[:1]
        return pd.concat(parts).sort_index()


def register() -> None:
    """Register ``emotion`` on ``dask.dataframe.DataFrame`` (once; later calls do nothing)."""
    global _registered
    if _registered:
        return
    extensions = require("dask.dataframe.extensions", "dask")
    extensions.register_dataframe_accessor("emotion")(DaskEmotionAccessor)
    _registered = True


register()
