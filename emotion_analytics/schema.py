"""The tidy segment table: its columns, their dtypes, and the one check that enforces them.

One row per segment; times are float seconds from the start of the file.

=============  ====================  ===============================================
column         dtype                 meaning
=============  ====================  ===============================================
``file``       category              which recording (file name, URL or request id)
``speaker``    category (may be NA)  who speaks
``start``      float64               segment start, seconds, ``>= 0``
``end``        float64               segment end, seconds, ``> start`` (NaN: unknown,
                                     only for clip-level v1 answers without a duration)
``duration``   float64               ``end - start``
``emotion``    category (may be NA)  the label as received (NA for speaker turns)
``confidence`` float64               score of ``emotion`` when the source gives one
=============  ====================  ===============================================

Optional columns: ``request_id``, ``channel``, one ``prob_<label>`` float column per class when
the source gives per-class probabilities, and the fixed *dimension* columns (`DIMENSIONS`):

=============  ====================  ===============================================
``arousal``    float64 in [0, 1]     calm (0) ... aroused (1); 0.5 is the middle
``valence``    float64 in [0, 1]     negative (0) ... positive (1)
``dominance``  float64 in [0, 1]     submissive (0) ... dominant (1)
=============  ====================  ===============================================

A dimension column is present when any row of the source has that dimension; rows without one
have NaN there.

``adapted`` (bool) is present when `~emotion_analytics.recognise` knew the speakers (``turns=``
or ``channels="speakers"``): True where the row's probabilities used the speaker's own
statistics (speaker adaptation, ``adapt=``), False where the window was read alone. Read back
from CSV it is bool again (nullable ``boolean`` where some rows have no value).

A hand-made table without a ``file`` column is one recording: `normalize` names it
`UNNAMED_FILE`. ``normalise`` is an alias of `normalize` (its former name: code identifiers take
the spelling of the fixed public names, ``normalize=`` and ``analyze``).

Because ``df.emotion`` is the accessor, the label column is reached as ``df["emotion"]``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .errors import BadResponseError

__all__ = [
    "COLUMNS",
    "DIMENSIONS",
    "PROB_PREFIX",
    "UNNAMED_FILE",
    "check_dimension",
    "dimension_columns",
    "empty_frame",
    "normalize",
    "normalise",
    "validate",
    "prob_columns",
]

#: The fixed columns, in order.
COLUMNS: tuple[str, ...] = ("file", "speaker", "start", "end", "duration", "emotion", "confidence")
#: Prefix of the per-class probability columns, e.g. ``prob_anger``.
PROB_PREFIX = "prob_"
#: The optional dimension columns, in order: float64 in [0, 1], 0.5 the middle, NaN unknown.
DIMENSIONS: tuple[str, ...] = ("arousal", "valence", "dominance")
#: The ``file`` of a hand-made table that has no ``file`` column (one recording).
UNNAMED_FILE = "unnamed"

_CATEGORICAL = ("file", "speaker", "emotion")
_FLOAT = ("start", "end", "duration", "confidence")
_OPTIONAL_STRING = ("request_id", "channel")
_OPTIONAL_BOOL = ("adapted",)
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


def _as_bool(values: pd.Series) -> pd.Series:
    """True/False (or their CSV spellings) as bool; nullable ``boolean`` when some are missing."""
    if values.dtype == bool:
        return values

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        text = str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise BadResponseError(f"'adapted' must be True or False, got {v!r:.40}")

    out = values.astype(object).map(one).astype("boolean")
    return out.astype(bool) if not out.isna().any() else out


def prob_columns(df: pd.DataFrame) -> list[str]:
    """The per-class probability columns of a table, in table order.

    >>> prob_columns(pd.DataFrame(columns=["file", "prob_anger", "prob_sad"]))
    ['prob_anger', 'prob_sad']
    """
    return [c for c in df.columns if isinstance(c, str) and c.startswith(PROB_PREFIX)]


def dimension_columns(df: pd.DataFrame) -> list[str]:
    """The dimension columns a table has, in the order of `DIMENSIONS`.

    >>> dimension_columns(pd.DataFrame(columns=["file", "valence", "arousal"]))
    ['arousal', 'valence']
    """
    return [c for c in DIMENSIONS if c in df.columns]


def _as_category(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        if len(cats) and not all(isinstance(c, str) for c in cats):
            values = values.cat.rename_categories([str(c) for c in cats])
        return values
    as_str = values.astype(object).where(values.notna(), None)
    as_str = as_str.map(lambda v: v if v is None or isinstance(v, str) else _id_to_str(v))
    return as_str.astype("category")


def _id_to_str(value: object) -> str:
    """Speaker and file ids arrive as strings or ints: normalize to strings (3 and 3.0 -> '3')."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def empty_frame(extra: Iterable[str] = ()) -> pd.DataFrame:
    """A table with no rows and the fixed columns (plus ``extra`` float columns).

    >>> list(empty_frame().columns)
    ['file', 'speaker', 'start', 'end', 'duration', 'emotion', 'confidence']
    """
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    for c in extra:
        df[c] = pd.Series(dtype="float64")
    return normalize(df)


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Give a table the fixed columns and dtypes (adds missing columns, recomputes ``duration``).

    Use it after reading a CSV, or to turn a hand-made frame with at least ``start, end`` into a
    segment table. A frame without a ``file`` column is one recording, named `UNNAMED_FILE`.
    The dimension columns (`DIMENSIONS`) present become float64. Extra columns are kept after
    the fixed ones. Returns a new frame.

    >>> df = normalize(pd.DataFrame({"file": ["a"], "start": [0], "end": [3],
    ...                              "emotion": ["happy"], "speaker": [1]}))
    >>> df.dtypes.astype(str).to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'file': 'category', 'speaker': 'category', 'start': 'float64', 'end': 'float64',
     'duration': 'float64', 'emotion': 'category', 'confidence': 'float64'}
    >>> df["speaker"].iloc[0], float(df["duration"].iloc[0])
    ('1', 3.0)
    >>> normalize(pd.DataFrame({"start": [0.0], "end": [2.0], "emotion": ["sad"],
    ...                         "arousal": ["0.25"]}))[["file", "emotion", "arousal"]]
          file emotion  arousal
    0  unnamed     sad     0.25
    """
    out = df.copy()
    if "file" not in out.columns:
        out["file"] = UNNAMED_FILE
    for c in COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    for c in _CATEGORICAL:
        out[c] = _as_category(out[c])
    for c in _FLOAT:
        out[c] = pd.to_numeric(out[c], errors="raise").astype("float64")
    out["duration"] = out["end"] - out["start"]
    for c in [*prob_columns(out), *dimension_columns(out)]:
        out[c] = pd.to_numeric(out[c], errors="raise").astype("float64")
    for c in _OPTIONAL_BOOL:
        if c in out.columns:
            out[c] = _as_bool(out[c])
    for c in _OPTIONAL_STRING:
        if c in out.columns:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, str) else _id_to_str(v))
    extra = [c for c in out.columns if c not in COLUMNS]
    return out[list(COLUMNS) + extra].reset_index(drop=True)


#: Alias of `normalize` (the former name), kept for code that imports it.
normalise = normalize


def validate(df: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Check that ``df`` is a segment table; return it unchanged or raise `BadResponseError`.

    Checks: the fixed columns exist; ``start`` is finite and ``>= 0``; ``end`` is greater than
    ``start`` (or NaN for a clip-level row of unknown length); ``file`` is never missing; the
    dimension columns (`DIMENSIONS`) are NaN or in [0, 1].

    >>> validate(normalize(pd.DataFrame({"file": ["a"], "start": [2.0], "end": [1.0]})))
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.BadResponseError: record 0: 'start' (2.0) must be before 'end' (1.0)
    >>> validate(normalize(pd.DataFrame({"file": ["a"], "start": [0], "end": [1],
    ...                                  "arousal": [1.5]})))
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.BadResponseError: record 0: 'arousal' (1.5) must be in [0, 1] ...
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"not a segment table: missing column(s) {missing}; build one with "
            "emotion_analytics.schema.normalize(df) (a DataFrame) or "
            "emotion_analytics.to_frame(answer) (an API answer)",
            source=source,
        )
    start = df["start"].to_numpy(dtype="float64")
    end = df["end"].to_numpy(dtype="float64")
    bad_start = ~np.isfinite(start) | (start < 0)
    bad_end = np.isinf(end) | (end <= start)
    bad_file = df["file"].isna().to_numpy()
    bad = np.flatnonzero(bad_start | bad_end | bad_file)
    if bad.size:
        i = int(bad[0])
        if bad_file[i]:
            msg = "'file' is missing"
        elif bad_start[i]:
            msg = f"'start' ({start[i]}) must be a finite number >= 0"
        else:
            msg = f"'start' ({start[i]}) must be before 'end' ({end[i]})"
        more = f" ({bad.size - 1} more bad row(s))" if bad.size > 1 else ""
        raise BadResponseError(msg + more, source=source, record=i)
    for c in dimension_columns(df):
        check_dimension(df[c].to_numpy(dtype="float64"), c, source=source)
    return df


def check_dimension(values: np.ndarray, name: str, *, source: str | None = None) -> None:
    """Raise `BadResponseError` naming the first row whose ``name`` value is not NaN or in [0, 1].

    >>> check_dimension(np.array([0.2, np.nan, 1.0]), "valence")  # fine: returns None
    """
    values = np.asarray(values, dtype="float64")
    bad = np.flatnonzero(~(np.isnan(values) | ((values >= 0) & (values <= 1))))
    if bad.size:
        i = int(bad[0])
        more = f" ({bad.size - 1} more bad row(s))" if bad.size > 1 else ""
        raise BadResponseError(
            f"{name!r} ({values[i]}) must be in [0, 1] (0.5 is the middle) or missing{more}; "
            "rescale the column, e.g. (x - lo) / (hi - lo)",
            source=source,
            record=i,
        )
