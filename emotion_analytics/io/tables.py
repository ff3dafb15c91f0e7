"""CSV and Parquet segment tables (`write_table`, `read_table`) that keep the table's dtypes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import BadResponseError, require
from ..schema import normalize, prob_columns
from ._shared import PathLike

__all__ = ["read_table", "write_table"]

_TABLE_TEXT_COLUMNS = ("file", "speaker", "emotion", "request_id", "channel", "text", "intent")


def write_table(df: pd.DataFrame, path: PathLike) -> Path:
    """Write a segment table to CSV or Parquet, chosen by the file's extension.

    ``.csv`` (also ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``, ``.csv.zip``) writes plain text
    (missing values as empty fields, floats at full precision); ``.parquet`` / ``.pq`` needs
    pyarrow (``pip install 'emotion_analytics[parquet]'``) and keeps every dtype as is.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from emotion_analytics import to_frame
    >>> df = to_frame([{"emotion": "sad", "start": 0, "end": 1.5, "speaker_id": 1}], file="a")
    >>> back = read_table(write_table(df, pathlib.Path(tempfile.mkdtemp()) / "seg.csv"))
    >>> back.equals(df)
    True
    """
    path = Path(path)
    kind = _table_kind(path)
    if kind == "parquet":
        require("pyarrow", "parquet")
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def read_table(path: PathLike) -> pd.DataFrame:
    """Read a segment table written by `write_table` (or any CSV/Parquet with the columns).

    Text columns (``file``, ``speaker``, ``emotion``, ``request_id``, ``channel``, ``text``,
    ``intent``) are read as text, so speaker ``"01"`` stays ``"01"``; only empty fields are
    missing (a label ``"NA"`` stays ``"NA"``). The result goes through
    `emotion_analytics.schema.normalize` and `~emotion_analytics.schema.validate`.

    Raises
    ------
    BadResponseError
        An unknown extension, an unreadable file, a column that should hold numbers but does
        not (naming the line), or rows that break the table's rules.

    Examples
    --------
    See `write_table`.
    """
    from ..schema import validate

    path = Path(path)
    source = str(path)
    kind = _table_kind(path)
    if not path.exists():
        raise BadResponseError("file not found", source=source)
    if kind == "parquet":
        require("pyarrow", "parquet")
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise BadResponseError(f"not a readable Parquet file ({exc})", source=source) from None
    else:
        try:
            header = pd.read_csv(path, nrows=0).columns
            text_cols = {c: str for c in header if c in _TABLE_TEXT_COLUMNS}
            df = pd.read_csv(path, dtype=text_cols, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
                OSError) as exc:
            raise BadResponseError(f"not a readable CSV file ({exc})", source=source) from None
    missing = [c for c in ("file", "start", "end") if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"not a segment table: missing column(s) {missing} (found {list(df.columns)[:10]})",
            source=source,
        )
    _check_numeric(df, source, csv=kind == "csv")
    return validate(normalize(df), source=source)


def _check_numeric(df: pd.DataFrame, source: str, *, csv: bool) -> None:
    for col in ["start", "end", "duration", "confidence", *prob_columns(df)]:
        if col not in df.columns or pd.api.types.is_numeric_dtype(df[col]):
            continue
        as_num = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(as_num.isna().to_numpy() & df[col].notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            where = f"line {i + 2}" if csv else f"row {i}"
            raise BadResponseError(f"{where}: column {col!r} must hold numbers, got "
                                   f"{df[col].iloc[i]!r:.40}", source=source)


def _table_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if re.search(r"\.csv(\.(gz|bz2|xz|zip))?$", name):
        return "csv"
    raise BadResponseError(
        f"unknown table extension {''.join(path.suffixes) or '(none)'!r}; use .csv (optionally "
        ".csv.gz) or .parquet",
        source=str(path),
    )
