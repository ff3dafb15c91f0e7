"""Plots of segment tables with matplotlib: every function takes ``ax=`` and returns the Axes.

* `timeline`: one lane per speaker (or file), one bar per segment, coloured by emotion;
* `durations_bar`: stacked bars of seconds (or shares) of each emotion per group;
* `transitions_heatmap`: emotion -> next emotion, with the values written in the cells;
* `share_over_time`: stacked area of each emotion's share of the labelled time;
* `dimension_timeline`: a dimension (``arousal``, ``valence``, ``dominance``) over time, one
  step line per speaker (or file), with the middle (0.5) marked.

Colours are stable: the same emotion gets the same colour in every plot and every session
(`emotion_colors`). Labels of the known vocabularies (the embedded model's, the hosted API's,
v1's and the text-emotion ones) have fixed colours, compared without case, and synonyms share one
(``anger``/``angry``, ``happy``/``happiness``/``joy``, ``sad``/``sadness``,
``frustration``/``frustrated``); any other label gets a colour derived from a hash of its
lower-cased text. Segments without an emotion (speaker turns) are drawn light grey.

Nothing here touches pyplot's global state except creating a new figure when no ``ax`` is given.

Rooms: ``lanes`` (`timeline`, `dimension_timeline`), ``summaries`` (`durations_bar`,
`transitions_heatmap`, `share_over_time`), ``palette`` (`emotion_colors`, `PALETTE`) and
``parts`` (lanes, legends and the time axis they share). Every public name is importable from
here.
"""

from __future__ import annotations

from .lanes import dimension_timeline, timeline
from .palette import NO_EMOTION_COLOR, PALETTE, emotion_colors
from .parts import NO_EMOTION, NO_SPEAKER
from .summaries import durations_bar, share_over_time, transitions_heatmap

__all__ = [
    "NO_EMOTION",
    "NO_EMOTION_COLOR",
    "NO_SPEAKER",
    "PALETTE",
    "emotion_colors",
    "timeline",
    "durations_bar",
    "transitions_heatmap",
    "share_over_time",
    "dimension_timeline",
]
