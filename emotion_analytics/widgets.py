"""A no-code Jupyter app: add or record audio, pick an engine, listen along the emotions.

The app (`EmotionApp`, or `app()`) is built from ipywidgets 8 and two small anywidget components
(`emotion_analytics.widget_parts`: audio sent to the kernel in chunks, so a 2-hour WAV needs no
server setting, and the player with the clickable timeline and table); all need the ``widgets``
extra. It also runs as a stand-alone page under Voila. All of its work is done by plain functions
that can be called and tested without a browser or a kernel, re-exported here:

- the run (`emotion_analytics.widget_logic`): `make_engine` turns the engine choice and the base
  URL/API key fields into an engine; `read_turns` reads uploaded RTTM files; `analyze_uploads`
  runs the files through the engine (speaker turns, progress in seconds, a cancel flag),
  collecting one readable error per failed file; `rename_speakers` renames speakers;
- what the app shows (`emotion_analytics.widget_views`): `summary`, `timeline_png`,
  `timeline_map`, `dimensions_png`, `player_segments`, `exports`, `download_link`,
  `export_links` and `errors_html`.

The widgets (`emotion_analytics.widget_app`) only wire these together; ipywidgets is imported
when an app is built, not before.

Examples
--------
>>> import emotion_analytics.widgets as w
>>> w.make_engine("local")
'local'
>>> w.make_engine("hosted")
Traceback (most recent call last):
...
emotion_analytics.errors.AppInputError: The hosted service needs an API key: ...
"""

from __future__ import annotations

from typing import Any

from .widget_logic import (
    ENGINES,
    HOSTED_URL,
    LOCAL_SERVER_URL,
    AnalysisCancelled,
    AppInputError,
    FileFailure,
    Progress,
    analyze_uploads,
    friendly_message,
    make_engine,
    read_turns,
    rename_speakers,
    unique_labels,
)
from .widget_views import (
    Export,
    TimelineMap,
    data_link,
    dimensions_png,
    download_link,
    errors_html,
    export_links,
    exports,
    player_segments,
    results_csv,
    summary,
    table_html,
    timeline_map,
    timeline_png,
)

__all__ = [
    "ENGINES",
    "HOSTED_URL",
    "LOCAL_SERVER_URL",
    "AppInputError",
    "AnalysisCancelled",
    "FileFailure",
    "Progress",
    "EmotionApp",  # noqa: F822  (loaded on first use, see __getattr__)
    "app",  # noqa: F822
    "make_engine",
    "unique_labels",
    "read_turns",
    "analyze_uploads",
    "analyse_uploads",
    "rename_speakers",
    "friendly_message",
    "summary",
    "table_html",
    "timeline_png",
    "timeline_map",
    "TimelineMap",
    "dimensions_png",
    "player_segments",
    "results_csv",
    "exports",
    "Export",
    "download_link",
    "data_link",
    "export_links",
    "errors_html",
]


#: Alias of `analyze_uploads` (the former name), kept for code that imports it.
analyse_uploads = analyze_uploads


def __getattr__(name: str) -> Any:
    if name in ("EmotionApp", "app"):  # ipywidgets loads only when an app is built
        from . import widget_app

        return getattr(widget_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
