"""How far a predicted segment table agrees with the true labels, over time.

``agreement(predicted, truth)`` answers: of the time the truth says someone speaks with some
emotion, what share did the prediction label with that emotion (and, when the prediction has an
``arousal`` column, with the right arousal: high for anger, fear and happiness, low for boredom,
neutral and sadness)? ``read_truth`` reads a truth table from CSV, e.g. the sample's
``data/conversation.truth.csv``; ``emotion-analytics analyze --truth TRUTH.csv`` prints both.

Matching
--------
* **Files**: a truth row's ``file`` matches a predicted file exactly, or by recording name without
  folders and extension (``conversation.wav`` matches ``data/conversation.wav``), as speaker turns
  do in `emotion_analytics.analysis.assign_speakers`. A truth table without ``file`` applies to
  every predicted file.
* **Speakers**: when both tables have a ``channel`` column, a truth row meets the predictions of
  its channel (a stereo call analysed with ``channels="speakers"``); else, when the predicted
  speakers of that file include any of the truth's speaker names, a truth row meets the
  predictions of its speaker only; else (no speakers predicted) it meets every prediction in its
  time.
* **Time**: where ``k`` predictions of one truth row overlap, each counts for ``1/k`` of that
  time (the ``overlap="split"`` rule of the time aggregates). Truth time with no prediction counts
  as disagreement: a missed stretch of speech is not agreement.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Union

import numpy as np
import pandas as pd

from .errors import BadResponseError

__all__ = ["AROUSAL", "read_truth", "agreement"]

PathLike = Union[str, "os.PathLike[str]"]

#: Arousal of the EmoDB emotions (disgust has none: it is left out of the arousal agreement).
AROUSAL: dict[str, str] = {
    "anger": "high", "fear": "high", "happiness": "high",
    "boredom": "low", "neutral": "low", "sadness": "low",
}

_REQUIRED = ("speaker", "start", "end", "emotion")


def read_truth(path: PathLike) -> pd.DataFrame:
    """Read a truth table: a CSV with ``speaker,start,end,emotion`` and usually ``file``.

    Other columns (``channel``, ``corpus``, ``source``, ...) are kept.

    Raises
    ------
    BadResponseError
        A missing column, a missing value, or a row without ``start < end``, naming the file
        and the row.

    Examples
    --------
    >>> import io
    >>> truth = read_truth(io.StringIO("file,speaker,start,end,emotion\\n"
    ...                                "a.wav,A,0.0,2.5,anger\\n"))
    >>> truth[["speaker", "start", "end", "emotion"]].to_dict("records")
    [{'speaker': 'A', 'start': 0.0, 'end': 2.5, 'emotion': 'anger'}]
    """
    source = str(getattr(path, "name", path))
    try:
        df = pd.read_csv(path, dtype={"file": str, "speaker": str, "emotion": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadResponseError(f"cannot read the truth table {source}: {exc}",
                               source=source) from exc
    _check(df, source)
    return df


def _check(df: pd.DataFrame, source: str) -> None:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise BadResponseError(
            f"truth table {source}: needs column(s) {missing} (file,speaker,start,end,emotion); "
            f"it has {list(df.columns)}",
            source=source,
        )
    start = pd.to_numeric(df["start"], errors="coerce").to_numpy(np.float64)
    end = pd.to_numeric(df["end"], errors="coerce").to_numpy(np.float64)
    bad = ~(np.isfinite(start) & np.isfinite(end) & (end > start))
    bad |= df["speaker"].isna().to_numpy() | df["emotion"].isna().to_numpy()
    if "file" in df.columns:
        bad |= df["file"].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = df.iloc[i][[c for c in ("file", *_REQUIRED) if c in df.columns]].to_dict()
        raise BadResponseError(
            f"truth table {source}, row {i} (line {i + 2}): needs a file, speaker and emotion "
            f"and a finite start < end, got {row}; fix or remove the row",
            source=source, record=i,
        )


def agreement(
    predicted: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = ("file", "speaker"),
    labels=None,
) -> pd.DataFrame:
    """Time-weighted agreement of a predicted segment table with the true labels.

    Parameters
    ----------
    predicted
        A segment table (``file, start, end, emotion``; ``speaker``, ``channel`` and ``arousal``
        are used when present), e.g. from `emotion_analytics.recognise`.
    truth
        The true labels: ``speaker, start, end, emotion`` and usually ``file`` (see `read_truth`).
    by
        Truth columns to group by (``"file"``, ``"speaker"``, both, or None for one overall row
        named ``"all"``).
    labels
        A label mapping (as in ``recognise(labels=...)``, e.g. ``"deepaffects"``) applied to the
        truth's emotions, for a prediction made in another vocabulary.

    Returns
    -------
    pandas.DataFrame
        One row per group with ``seconds`` (the truth's speech time), ``emotion_agreement``
        (the share of it where the predicted emotion is the true one), ``arousal_seconds`` (the
        truth's time with a known arousal, see `AROUSAL`) and ``arousal_agreement`` (the share of
        that where the predicted ``arousal`` is on the true side of 0.5, a value of 0.5 counting
        as high; NaN when the prediction has no ``arousal`` column).

    Examples
    --------
    Truth: A is angry for 4 s, then B neutral for 2 s. The prediction says anger for 3 s and
    neutral from 3 s to 6 s, with arousal 0.8 then 0.3:

    >>> truth = pd.DataFrame({"file": "a.wav", "speaker": ["A", "B"], "start": [0.0, 4.0],
    ...                       "end": [4.0, 6.0], "emotion": ["anger", "neutral"]})
    >>> pred = pd.DataFrame({"file": "a.wav", "start": [0.0, 3.0], "end": [3.0, 6.0],
    ...                      "emotion": ["anger", "neutral"], "arousal": [0.8, 0.3]})
    >>> agreement(pred, truth).round(3)
                 seconds  emotion_agreement  arousal_seconds  arousal_agreement
    file  speaker
    a.wav A          4.0               0.75              4.0               0.75
          B          2.0               1.00              2.0               1.00
    >>> agreement(pred, truth, by=None)[["seconds", "emotion_agreement"]].round(3)
         seconds  emotion_agreement
    all      6.0              0.833
    """
    from .analysis.speakers import _match_recordings
    from .labels import resolve_mapping

    _check(truth, "(truth)")
    missing = [c for c in ("start", "end", "emotion") if c not in predicted.columns]
    if missing:
        raise BadResponseError(
            f"agreement: the predicted table needs column(s) {missing}; it has "
            f"{list(predicted.columns)}"
        )
    keys = [by] if isinstance(by, str) else list(by or [])
    unknown = [k for k in keys if k not in truth.columns]
    if unknown:
        raise BadResponseError(f"agreement: by={by!r} names column(s) {unknown} that the truth "
                               f"table lacks; it has {list(truth.columns)}")
    truth = truth.reset_index(drop=True)
    t_start = pd.to_numeric(truth["start"]).to_numpy(np.float64)
    t_end = pd.to_numeric(truth["end"]).to_numpy(np.float64)
    t_emotion = truth["emotion"].astype(str).to_numpy(object)
    mapped = t_emotion
    if labels is not None:
        mapping = resolve_mapping(labels)
        mapped = np.array([mapping(e) for e in t_emotion], dtype=object)
    t_high = np.array([AROUSAL.get(e) == "high" for e in t_emotion])
    t_known = np.array([e in AROUSAL for e in t_emotion])
    t_speaker = truth["speaker"].astype(str).to_numpy(object)

    p_start = pd.to_numeric(predicted["start"]).to_numpy(np.float64)
    p_end = pd.to_numeric(predicted["end"]).to_numpy(np.float64)
    timed = np.isfinite(p_start) & np.isfinite(p_end) & (p_end > p_start)
    p_emotion = predicted["emotion"].astype(object).to_numpy(object)
    has_arousal = "arousal" in predicted.columns
    p_arousal = (pd.to_numeric(predicted["arousal"]).to_numpy(np.float64) if has_arousal
                 else np.full(len(predicted), np.nan))
    p_file = (predicted["file"].astype(object).to_numpy(object) if "file" in predicted.columns
              else np.full(len(predicted), "", dtype=object))
    files = pd.Index(pd.unique(p_file))
    if "file" in truth.columns:
        t_group = _match_recordings(files, truth["file"].astype(str).to_numpy(object))
    else:
        t_group = np.full(len(truth), -2)  # every file
    p_group = files.get_indexer(p_file)
    p_speaker = (predicted["speaker"].astype(object).to_numpy(object)
                 if "speaker" in predicted.columns else np.full(len(predicted), None))
    use_channel = "channel" in predicted.columns and "channel" in truth.columns
    if use_channel:
        p_channel = pd.to_numeric(predicted["channel"], errors="coerce").to_numpy(np.float64)
        t_channel = pd.to_numeric(truth["channel"], errors="coerce").to_numpy(np.float64)

    p_speaker = np.array([s if isinstance(s, str) else None for s in p_speaker], dtype=object)
    agree = np.zeros(len(truth))
    arousal_agree = np.zeros(len(truth))
    for g in np.unique(t_group):
        rows = np.flatnonzero(t_group == g)
        f = np.flatnonzero(timed & ((p_group == g) if g >= 0 else (g == -2)))
        fs, fe, fem, far, fspk = p_start[f], p_end[f], p_emotion[f], p_arousal[f], p_speaker[f]
        by_speaker = bool({s for s in fspk if s is not None} & set(t_speaker[rows]))
        for i in rows:
            cand = (fs < t_end[i]) & (fe > t_start[i])
            if use_channel and np.isfinite(t_channel[i]):
                cand &= p_channel[f] == t_channel[i]
            elif by_speaker:
                cand &= fspk == t_speaker[i]
            c = np.flatnonzero(cand)
            if not c.size:
                continue
            cs, ce = fs[c], fe[c]
            edges = np.unique(np.clip(np.concatenate(([t_start[i], t_end[i]], cs, ce)),
                                      t_start[i], t_end[i]))
            mid = (edges[:-1] + edges[1:]) / 2
            cover = (cs[None, :] <= mid[:, None]) & (ce[None, :] > mid[:, None])
            k = cover.sum(axis=1)
            # each interval's length, split evenly among the predictions covering it
            weight = np.diff(edges) * np.divide(1.0, k, out=np.zeros(len(k)), where=k > 0)
            agree[i] = float(weight @ (cover & (fem[c] == mapped[i])[None, :]).sum(axis=1))
            if t_known[i]:
                right = np.isfinite(far[c]) & ((far[c] >= 0.5) == t_high[i])
                arousal_agree[i] = float(weight @ (cover & right[None, :]).sum(axis=1))
    seconds = t_end - t_start
    parts = pd.DataFrame({
        "seconds": seconds,
        "agree": agree,
        "arousal_seconds": np.where(t_known, seconds, 0.0),
        "arousal_agree": arousal_agree,
    })
    if keys:
        sums = parts.groupby([truth[k].astype(str).rename(k) for k in keys], sort=False).sum()
    else:
        sums = parts.sum().to_frame("all").T
    out = pd.DataFrame(index=sums.index)
    out["seconds"] = sums["seconds"]
    out["emotion_agreement"] = sums["agree"] / sums["seconds"]
    out["arousal_seconds"] = sums["arousal_seconds"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["arousal_agreement"] = (sums["arousal_agree"] / sums["arousal_seconds"]
                                    if has_arousal else np.nan)
    return out
