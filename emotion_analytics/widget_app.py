"""The widget app (`EmotionApp`, `app`): the plain functions of `emotion_analytics.widgets` wired
to ipywidgets and the two browser components of `emotion_analytics.widget_parts`.

Analyse runs in a thread, so the page stays live: the progress bar counts seconds analysed,
Cancel stops within a block of audio, and files keep arriving while another runs. Every run
starts from a clean slate (the last run's errors and results are cleared first).
"""

from __future__ import annotations

import html
import threading
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import EmotionAnalyticsError, require
from .widget_logic import (
    ENGINES,
    HOSTED_URL,
    LOCAL_SERVER_URL,
    AnalysisCancelled,
    FileFailure,
    Progress,
    analyze_uploads,
    read_turns,
    rename_speakers,
)
from .widget_views import (
    dimensions_png,
    errors_html,
    export_links,
    player_segments,
    summary,
    timeline_map,
)

__all__ = ["EmotionApp", "app"]

AUDIO_TYPES = ".wav,.flac,.ogg,.opus,.mp3,.m4a,.mp4,.webm,audio/*"

#: Styling for the app (JupyterLab styles DataFrames itself; Voila and others do not).
_STYLE = """<style>
.emotion-app table.emotion-table, .emotion-app table.emotion-summary {
  border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; }
.emotion-app .emotion-table th, .emotion-app .emotion-table td,
.emotion-app .emotion-summary th, .emotion-app .emotion-summary td {
  padding: 2px 10px; text-align: right; border-bottom: 1px solid #e0e0e0; }
.emotion-app .emotion-table thead th, .emotion-app .emotion-summary thead th {
  border-bottom: 2px solid #9e9e9e; position: sticky; top: 0; background: #fff; }
.emotion-app .emotion-table tbody tr:nth-child(odd) { background: #f5f5f5; }
.emotion-app .emotion-table tbody tr { cursor: pointer; }
.emotion-app .emotion-table tbody tr:hover { background: #e3f2fd; }
.emotion-app .emotion-table tr.emotion-selected { background: #bbdefb; }
.emotion-app .emotion-spot:hover, .emotion-app .emotion-spot.emotion-selected {
  outline: 2px solid #212121; }
.emotion-app a.emotion-download { color: #1565c0; text-decoration: underline; }
.emotion-app .emotion-files { margin: 2px 0 2px 0; padding-left: 18px; font-size: 12px; }
.emotion-app .emotion-file-refused { color: #b71c1c; }
.emotion-app .emotion-remove { border: none; background: none; cursor: pointer; color: #757575; }
.emotion-app .emotion-input-note { color: #b71c1c; font-size: 12px; }
.emotion-app .emotion-recording { background: #c62828; color: #fff; }
.emotion-app .emotion-input-bar button { margin-right: 6px; }
</style>"""


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class EmotionApp:
    """The add-or-record, analyse and listen-along app; display it in a notebook or with Voila.

    Attributes
    ----------
    audio : widget_parts.AudioInput
        The audio files (and microphone recordings); ``upload`` is the same widget.
    turns : widget_parts.AudioInput
        Optional RTTM files of speaker turns, used as ``recognise(..., turns=)``.
    engine, base_url, api_key, speakers_per_channel, run_button, cancel_button, progress, status,
    message, per_speaker, names, downloads : ipywidgets.Widget
        The parts, for tests and for users who want to restyle them.
    listen : widget_parts.ListenAlong
        The player, the timeline (and arousal over time) and the segment table.
    widget : ipywidgets.VBox
        The whole app.
    result : DataFrame or None
        The table of the last run (speakers renamed as asked).
    errors : list of FileFailure
        The files of the last run that could not be analysed.

    Examples
    --------
    >>> from pathlib import Path
    >>> app = EmotionApp()
    >>> app.add_files(sorted(Path("data").glob("*.wav"))[:1])
    >>> table = app.run()
    >>> len(app.result) > 0, bytes(app.listen.png[:4]), app.status.value[:5]
    (True, b'\\x89PNG', 'Done:')
    """

    def __init__(self, *, engine: str = "local", base_url: str = "", api_key: str = ""):
        w = require("ipywidgets", "widgets")
        from .widget_parts import AudioInput, ListenAlong

        self.result: pd.DataFrame | None = None
        self.raw: pd.DataFrame | None = None
        self.errors: list[FileFailure] = []
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.audio = AudioInput(description="Audio files", accept=AUDIO_TYPES, record=True)
        self.audio.add_class("emotion-audio-input")
        self.upload = self.audio
        self.turns = AudioInput(description="Speaker turns (RTTM, optional)",
                                accept=".rttm,.txt", record=False, max_bytes=200 * 1024**2)
        self.turns.add_class("emotion-turns-input")
        self.engine = w.Dropdown(
            options=[(label, key) for key, label in ENGINES.items()],
            value=engine,
            description="Engine",
        )
        self.speakers_per_channel = w.Checkbox(
            value=False, description="Stereo call: one speaker per channel", indent=False
        )
        self.base_url = w.Text(value=base_url, description="Base URL",
                               placeholder=LOCAL_SERVER_URL, layout=w.Layout(width="420px"))
        self.api_key = w.Password(value=api_key, description="API key")
        self.remote_box = w.HBox([self.base_url, self.api_key])
        self.run_button = w.Button(description="Analyse", button_style="primary")
        self.cancel_button = w.Button(description="Cancel", disabled=True)
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="Progress")
        self.status = w.HTML("Add or record audio, then press Analyse.")
        self.status.add_class("emotion-status")
        self.message = w.HTML()
        self.listen = ListenAlong()
        self.per_speaker = w.HTML()
        self.downloads = w.HTML()
        self.names = w.VBox()
        self.apply_names = w.Button(description="Rename speakers")
        self.apply_names.on_click(lambda _b: self.rename())
        self.names_box = w.VBox([w.HTML("<b>Speakers</b> (rename, then press the button)"),
                                 self.names, self.apply_names])
        self.results = w.VBox([
            self.downloads,
            w.HTML("<b>Listen along</b>: click a segment in the timeline or the table to play "
                   "it; hover for its emotion, confidence and probabilities."),
            self.listen,
            w.HTML("<b>Seconds per emotion</b>"),
            self.per_speaker,
            self.names_box,
        ])
        self.results.add_class("emotion-results")
        self.widget = w.VBox([
            w.HTML(_STYLE + "<h3 style='margin:4px 0'>Emotion analytics</h3>"),
            self.audio,
            self.turns,
            w.HBox([self.engine, self.speakers_per_channel]),
            self.remote_box,
            w.HBox([self.run_button, self.cancel_button, self.progress]),
            self.status,
            self.message,
            self.results,
        ])
        self.widget.add_class("emotion-app")
        self.engine.observe(self._on_engine, names="value")
        self.run_button.on_click(lambda _b: self.start())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self._on_engine({"new": engine})
        self.results.layout.display = "none"

    # -- wiring -------------------------------------------------------------------------
    def _on_engine(self, change: Mapping[str, Any]) -> None:
        choice = change["new"]
        self.remote_box.layout.display = "none" if choice in ("local", "encoder") else "flex"
        if choice == "hosted" and not self.base_url.value:
            self.base_url.value = HOSTED_URL
        elif choice == "server" and self.base_url.value in ("", HOSTED_URL):
            self.base_url.value = LOCAL_SERVER_URL

    def _on_progress(self, p: Progress) -> None:
        self.progress.value = p.fraction
        if not p.name:
            return
        where = f"{html.escape(p.name)} ({p.index + 1} of {p.n_files})"
        if p.total == p.total and p.total > 0:
            where += f": {_clock(p.seconds)} of {_clock(p.total)} analysed"
        self.status.value = f"Analysing {where}"

    def add_files(self, paths: Iterable[str | Path]) -> None:
        """Add audio files from disk, as if the user had picked them."""
        self.audio.add_files(paths)

    def add_turns(self, paths: Iterable[str | Path]) -> None:
        """Add RTTM files of speaker turns from disk."""
        self.turns.add_files(paths)

    def start(self) -> None:
        """Run in a thread (what the Analyse button does); `wait` for it in scripts."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run_quietly, name="emotion-app-run",
                                        daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> pd.DataFrame | None:
        """Wait for the run started by the button; return its table."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def cancel(self) -> None:
        """Stop the run (what the Cancel button does)."""
        self._cancel.set()
        self.status.value = "Cancelling..."

    def _run_quietly(self) -> None:
        try:
            self.run()
        except Exception:  # shown in the app by run(); a thread has nowhere else to report
            pass

    def _clear(self) -> None:
        self.message.value = ""
        self.result = self.raw = None
        self.errors = []
        self.results.layout.display = "none"
        self.progress.value = 0.0

    def run(self) -> pd.DataFrame | None:
        """Analyse the files and show the results; every run clears the last one first."""
        self._clear()
        self._cancel.clear()
        waiting = self.audio.pending() + self.turns.pending()
        if waiting:
            names = ", ".join(html.escape(f["label"]) for f in waiting)
            self.status.value = "Nothing analysed."
            self.message.value = errors_html([f"Still arriving: {names}. Press Analyse again "
                                              "when the upload shows its size."])
            return None
        uploads = self.audio.uploads()
        if not uploads:
            self.status.value = "Nothing analysed."
            self.message.value = errors_html(
                ["No audio yet: press 'Audio files' to add recordings, or 'Record'."])
            return None
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self.status.value = "Starting..."
        try:
            turns = read_turns(self.turns.uploads())
            table, self.errors = analyze_uploads(
                uploads,
                engine=self.engine.value,
                base_url=self.base_url.value,
                api_key=self.api_key.value,
                channels="speakers" if self.speakers_per_channel.value else "mono",
                turns=turns,
                progress=self._on_progress,
                cancel=self._cancel,
            )
            cancelled = False
        except AnalysisCancelled as stop:
            table, self.errors, cancelled = stop.table, stop.errors, True
        except EmotionAnalyticsError as exc:
            self.status.value = "Nothing analysed: the settings cannot work."
            self.message.value = errors_html([str(exc)])
            return None
        except Exception as exc:  # a bug: show it in the app, with the traceback's last line
            self.status.value = "Nothing analysed."
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.message.value = errors_html([
                f"Unexpected error ({last}). This is a bug in emotion_analytics: please report "
                "it with the file that caused it."
            ])
            raise
        finally:
            self.run_button.disabled = False
            self.cancel_button.disabled = True
        self.message.value = errors_html(self.errors)
        n_ok = table["file"].nunique() if len(table) else 0
        status = "Cancelled after" if cancelled else "Done:"
        status += f" {n_ok} file(s), {len(table)} segment(s)."
        if self.errors:
            status += " Failed: " + ", ".join(html.escape(e.file) for e in self.errors) + "."
        self.status.value = status
        if not len(table):
            return None
        self.raw = table
        self._name_fields(table)
        self._show(table)
        return self.result

    # -- showing --------------------------------------------------------------------------
    def _name_fields(self, table: pd.DataFrame) -> None:
        w = require("ipywidgets", "widgets")
        speakers = [str(s) for s in table["speaker"].dropna().unique()]
        self.names.children = [
            w.Text(value=s, description=s, layout=w.Layout(width="360px")) for s in speakers
        ]
        self.names_box.layout.display = "flex" if speakers else "none"

    def rename(self, names: Mapping[str, str] | None = None) -> pd.DataFrame | None:
        """Rename speakers (``{"ch0": "agent"}``; default: the names typed in the app)."""
        if self.raw is None:
            return None
        if names is None:
            names = {t.description: t.value for t in self.names.children}
        else:
            for t in self.names.children:
                if t.description in names:
                    t.value = names[t.description]
        self._show(rename_speakers(self.raw, names))
        return self.result

    def _show(self, table: pd.DataFrame) -> None:
        self.result = table
        tm = timeline_map(table)
        segments, columns = player_segments(table)
        sources = {}
        shown = set(table["file"].astype(str))
        for f in self.audio.files:
            path = self.audio.path_of(f["token"])
            if f["state"] == "ready" and path is not None and f["label"] in shown:
                sources[f["label"]] = f["token"]
                self.listen.audio_paths[f["token"]] = path
        with self.listen.hold_sync():
            self.listen.png = tm.png
            self.listen.boxes = tm.boxes
            self.listen.plot_box = tm.plot_box
            self.listen.lanes = tm.lanes
            self.listen.span = tm.span
            self.listen.dims_png = dimensions_png(table)
            self.listen.columns = columns
            self.listen.sources = sources
            self.listen.segments = segments
        self.per_speaker.value = (
            summary(table).round(2).to_html(border=0, classes="emotion-summary", na_rep="")
        )
        self.downloads.value = export_links(table, png=tm.png)
        self.results.layout.display = "flex"

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)


def app(**kwargs: Any) -> EmotionApp:
    """Build the app; the last line of a notebook cell displays it.

    Examples
    --------
    >>> type(app()).__name__
    'EmotionApp'
    """
    return EmotionApp(**kwargs)

