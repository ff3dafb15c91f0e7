"""Pure functions on segment tables: how long, how much, who, when, and what came next.

Every function takes a segment table (see `emotion_analytics.schema`) and returns a new pandas
object; none changes its input. Each is also reachable as ``df.emotion.<name>(...)``, and every
one is importable from here (``from emotion_analytics.analysis import durations``).

Rooms
-----
``core``
    The machinery: columns -> codes, groups, sorting, the overlap clock (`By`, `Overlap`,
    `UntimedRowsWarning`).
``aggregates``
    `durations`, `shares`, `dominant`, `dimensions`, `summary`.
``sequence``
    `transitions`.
``grids``
    `to_grid`, `rolling`.
``talk``
    `coverage`, `gaps`, `talk_time`.
``tables``
    `filter_confidence`, `merge_adjacent`.
``speakers``
    `assign_speakers`.

Overlapping segments
--------------------
Emotion answers may overlap (several speakers, several models, overlapping windows). Every time
aggregate takes ``overlap=``:

``"split"`` (default)
    Each instant of a group counts once. Where ``k`` segments of a group overlap, each gets
    ``1/k`` of that time, so the durations per emotion of a group sum to the group's *covered
    time* (the union of its segments). This is how pyannote counts.
``"count"``
    Each segment counts its full duration, so overlapping time is counted once per segment and
    the durations sum to the sum of segment durations. This is how audformat counts.

Rows the time aggregates cannot place
-------------------------------------
* Rows with a missing ``end`` (clip-level v1 answers read without ``clip_duration=``) carry no
  time: they are left out of every time aggregate, with an `UntimedRowsWarning` that says how
  many there are and how to give them a length. `dominant` falls back to their confidence for
  groups that have no timed rows.
* Rows with a missing ``emotion`` (e.g. speaker turns) are not emotion segments: emotion
  aggregates leave them out; `coverage`, `gaps` and `talk_time` count them.
* Missing values in a ``by`` column form a group of their own (its label is missing).
* A table without a ``file`` column (made by hand) is one recording, named
  ``emotion_analytics.schema.UNNAMED_FILE``.

Dimensions
----------
The optional columns ``arousal``, ``valence`` and ``dominance`` (see `emotion_analytics.schema`)
are averaged over time: `dimensions` gives each group's duration-weighted mean, with the same
``overlap=`` rules as `durations` (with ``"split"``, each instant's value is the mean of the
segments covering it, and every instant counts once). Rows whose value is NaN do not count, so a
group's mean is over the time that has the dimension. `to_grid`, `merge_adjacent` and `summary`
carry the dimensions the table has.

Speed
-----
Everything is vectorised with numpy over category codes (see ``core``).

Examples
--------
>>> import emotion_analytics as ea
>>> from emotion_analytics import analysis
>>> df = ea.to_frame([{"emotion": "happy", "start": 0, "end": 3},
...                   {"emotion": "sad", "start": 3, "end": 4}], file="a")
>>> analysis.shares(df)
emotion  happy   sad
file
a         0.75  0.25
"""

from __future__ import annotations

from .aggregates import dimensions, dominant, durations, shares, summary
from .core import By, Overlap, UntimedRowsWarning
from .grids import rolling, to_grid
from .sequence import transitions
from .speakers import assign_speakers
from .tables import filter_confidence, merge_adjacent
from .talk import coverage, gaps, talk_time

__all__ = [
    "By",
    "Overlap",
    "UntimedRowsWarning",
    "assign_speakers",
    "coverage",
    "dimensions",
    "dominant",
    "durations",
    "filter_confidence",
    "gaps",
    "merge_adjacent",
    "rolling",
    "shares",
    "summary",
    "talk_time",
    "to_grid",
    "transitions",
]
