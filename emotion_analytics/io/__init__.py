"""Segment tables in other tools' formats, one module per format.

* **RTTM** (`read_rttm`, `write_rttm`; `emotion_analytics.io.rttm`): speaker turns from
  pyannote and other diarization tools, the standard 10-field
  ``SPEAKER file 1 start dur <NA> <NA> speaker <NA> <NA>`` lines.
* **Praat TextGrid** (`write_textgrid`, `read_textgrid`; `emotion_analytics.io.textgrid`): one
  interval tier per speaker.
* **CSV and Parquet** (`write_table`, `read_table`; `emotion_analytics.io.tables`): round trips
  that keep the table's dtypes.
* **JSON answers** (`read_responses`, `write_responses`; `emotion_analytics.io.answers`): the
  v2 answer shape, read and written.

Every reader raises `~emotion_analytics.errors.BadResponseError` on malformed input, naming the
file, the line and what is wrong.

Missing values
--------------
A missing speaker or emotion is written as ``<NA>`` in RTTM and TextGrid files (the RTTM
convention for an empty field) and read back as missing.

>>> from emotion_analytics.io import read_rttm
>>> read_rttm("SPEAKER call 1 0.0 2.5 <NA> <NA> alice <NA> <NA>\\n")["speaker"].tolist()
['alice']
"""

from __future__ import annotations

from ._shared import NA_TOKEN
from .answers import read_responses, write_responses
from .rttm import read_rttm, write_rttm
from .tables import read_table, write_table
from .textgrid import read_textgrid, write_textgrid

__all__ = [
    "NA_TOKEN",
    "read_rttm",
    "write_rttm",
    "read_textgrid",
    "write_textgrid",
    "read_table",
    "write_table",
    "read_responses",
    "write_responses",
]
