"""A no-code Jupyter app: drop audio files, pick an engine, get the table, timeline and summary.

The app (`EmotionApp`, or `app()`) is built from ipywidgets 8 (the ``widgets`` extra) and also runs
as a stand-alone page under Voila. All of its work is done by plain functions that can be called
and tested without a browser or a kernel:

- `make_engine` turns the engine choice and the base URL/API key fields into an engine;
- `analyse_uploads` runs the files through it, collecting one readable error per failed file;
- `summary`, `table_html`, `timeline_png`, `results_csv`, `download_link` and `errors_html`
  turn the result into what the app shows.

The widget only wires these together. ipywidgets is imported when an app is built, not before.

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

import base64
import html
import io
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from .errors import AppInputError, EmotionAnalyticsError, require

__all__ = [
    "ENGINES",
    "HOSTED_URL",
    "AppInputError",
    "FileFailure",
    "EmotionApp",
    "app",
    "make_engine",
    "analyse_uploads",
    "summary",
    "table_html",
    "timeline_png",
    "results_csv",
    "download_link",
    "errors_html",
]

#: Engine choices of the app: key -> label shown in the drop-down.
ENGINES: dict[str, str] = {
    "local": "Embedded model (offline)",
    "encoder": "Whisper encoder (offline, encoder extra)",
    "server": "Our server (self-hosted API)",
    "hosted": "Hosted DeepAffects service",
}
#: Base URL of the hosted DeepAffects service (the default for the ``"hosted"`` engine).
HOSTED_URL = "https://proxy.api.deepaffects.com"
#: Default base URL for the ``"server"`` engine: ``emotion-analytics serve`` on this machine.
LOCAL_SERVER_URL = "http://127.0.0.1:8000"

#: Table styling for the app (JupyterLab styles DataFrames itself; Voila and others do not).
_STYLE = """<style>
.emotion-app table.emotion-table, .emotion-app table.emotion-summary {
  border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; }
.emotion-app .emotion-table th, .emotion-app .emotion-table td,
.emotion-app .emotion-summary th, .emotion-app .emotion-summary td {
  padding: 2px 10px; text-align: right; border-bottom: 1px solid #e0e0e0; }
.emotion-app .emotion-table thead th, .emotion-app .emotion-summary thead th {
  border-bottom: 2px solid #9e9e9e; }
.emotion-app .emotion-table tbody tr:nth-child(odd) { background: #f5f5f5; }
.emotion-app a.emotion-download { color: #1565c0; text-decoration: underline; }
</style>"""

#: ``progress(done, total, name)``: ``done`` files finished of ``total``; ``name`` is the next one.
ProgressCallback = Callable[[int, int, str], None]


class FileFailure(NamedTuple):
    """One file that could not be analysed, and why (the message says what to do)."""

    file: str
    message: str


def make_engine(engine: str = "local", *, base_url: str | None = None, api_key: str | None = None):
    """The engine for an app choice: ``"local"``, ``"encoder"``, ``"server"`` or ``"hosted"``.

    Parameters
    ----------
    engine : {"local", "encoder", "server", "hosted"}
        The embedded model, the Whisper-encoder engine (``encoder`` extra), a self-hosted
        ``emotion-analytics serve``, or the hosted service.
    base_url : str, optional
        Where the API answers. Required for ``"server"``; ``"hosted"`` defaults to `HOSTED_URL`.
    api_key : str, optional
        The API key (required for ``"hosted"``; for ``"server"`` when the operator set keys).

    Returns
    -------
    str or EmotionClient
        ``"local"`` or ``"encoder"``, or an `emotion_analytics.EmotionClient` for the remote
        engines.

    Raises
    ------
    AppInputError
        An unknown engine, a missing base URL or a missing key; the message says what to enter.

    Examples
    --------
    >>> make_engine("local")
    'local'
    >>> make_engine("server", base_url="")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.AppInputError: Our server needs a base URL, ...
    """
    if engine in ("local", "encoder"):
        return engine
    if engine not in ENGINES:
        raise AppInputError(f"Unknown engine {engine!r}: choose one of {sorted(ENGINES)}.")
    base_url = (base_url or "").strip()
    api_key = (api_key or "").strip() or None
    if engine == "hosted":
        base_url = base_url or HOSTED_URL
        if not api_key:
            raise AppInputError(
                "The hosted service needs an API key: enter your DeepAffects key in the "
                "'API key' field, or choose the embedded model, which needs no account."
            )
    if not base_url:
        raise AppInputError(
            "Our server needs a base URL, e.g. http://127.0.0.1:8000 for a server started with "
            "'emotion-analytics serve --port 8000' on this machine."
        )
    if not re.match(r"^https?://", base_url):
        raise AppInputError(
            f"The base URL {base_url!r} must start with http:// or https://, "
            "e.g. http://127.0.0.1:8000."
        )
    from .client import EmotionClient

    return EmotionClient(base_url=base_url, api_key=api_key)


def _as_uploads(uploads: Any) -> list[tuple[str, bytes]]:
    """(name, bytes) pairs from a FileUpload value, a mapping, pairs, or paths."""
    if isinstance(uploads, Mapping):
        uploads = list(uploads.items())
    out = []
    for i, item in enumerate(uploads):
        if isinstance(item, (str, Path)):
            path = Path(item)
            out.append((path.name, path.read_bytes()))
        elif isinstance(item, Mapping) and "content" in item:
            out.append((str(item.get("name") or f"upload {i + 1}"), bytes(item["content"])))
        elif isinstance(item, tuple) and len(item) == 2:
            name, content = item
            if isinstance(content, Mapping):  # ipywidgets 7: {name: {"content": ...}}
                content = content["content"]
            out.append((str(name), bytes(content)))
        else:
            raise AppInputError(
                f"upload {i + 1}: expected a FileUpload entry (a dict with 'name' and 'content'), "
                f"a (name, bytes) pair or a path, got {type(item).__name__}"
            )
    return out


def analyse_uploads(
    uploads: Any,
    *,
    engine: str = "local",
    base_url: str | None = None,
    api_key: str | None = None,
    channels: str = "mono",
    progress: ProgressCallback | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, list[FileFailure]]:
    """Analyse uploaded audio files; one table for all that worked, one error per file that failed.

    Parameters
    ----------
    uploads : FileUpload value, mapping, or iterable
        What a `ipywidgets.FileUpload` holds (dicts with ``name`` and ``content``), a mapping
        ``name -> bytes``, ``(name, bytes)`` pairs, or paths.
    engine, base_url, api_key : str
        The engine choice, see `make_engine`.
    channels : {"mono", "speakers"}
        ``"speakers"``: each channel of a stereo call is one speaker.
    progress : callable, optional
        Called as ``progress(done, total, name)`` before each file and once at the end
        (``name`` is then ``""``).
    **options
        Passed to `emotion_analytics.recognise` (e.g. ``window=3.0``).

    Returns
    -------
    table : DataFrame
        The segment table of every file analysed; ``file`` is the upload's name.
    errors : list of FileFailure
        One entry per file that could not be analysed, with a message that says what to do.

    Raises
    ------
    AppInputError
        The engine settings cannot work (nothing is analysed then).

    Examples
    --------
    >>> from pathlib import Path
    >>> wav = sorted(Path("data").glob("*.wav"))[0]
    >>> table, errors = analyse_uploads({wav.name: wav.read_bytes(), "notes.txt": b"hello"})
    >>> table["file"].unique().tolist() == [wav.name], len(errors)
    (True, 1)
    >>> errors[0].file
    'notes.txt'
    """
    from . import schema
    from .recognition import recognise

    engine_obj = make_engine(engine, base_url=base_url, api_key=api_key)
    files = _as_uploads(uploads)
    tables: list[pd.DataFrame] = []
    errors: list[FileFailure] = []
    for i, (name, content) in enumerate(files):
        if progress is not None:
            progress(i, len(files), name)
        if not content:
            errors.append(FileFailure(name, "the file is empty: upload it again."))
            continue
        try:
            table = recognise(content, engine=engine_obj, channels=channels, file=name, **options)
        except EmotionAnalyticsError as exc:
            errors.append(FileFailure(name, _with_hint(str(exc), exc)))
            continue
        tables.append(table)
    if progress is not None:
        progress(len(files), len(files), "")
    if not tables:
        return schema.empty_frame(), errors
    return schema.normalise(pd.concat(tables, ignore_index=True)), errors


def _with_hint(message: str, exc: Exception) -> str:
    """The error's own message, without the "<N bytes>: " a bytes source gets, plus a hint."""
    from .errors import APIError

    message = re.sub(r"^<\d+ bytes>: ", "", message)
    if isinstance(exc, APIError) and exc.status == 401:
        message += " Check the API key."
    return message


def _group(df: pd.DataFrame) -> str | list[str]:
    """Group by speaker when the table has speakers (per file when there are several)."""
    if df["speaker"].notna().any():
        return ["file", "speaker"] if df["file"].nunique() > 1 else "speaker"
    return "file"


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Seconds of each emotion per speaker (per file when the table has no speakers), with a total.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0},
    ...                   {"emotion": "sad", "start": 3.0, "end": 4.5}], file="call.wav")
    >>> summary(df).loc["call.wav"].to_dict()
    {'happy': 3.0, 'sad': 1.5, 'total': 4.5}
    """
    out = df.emotion.durations(by=_group(df))
    out = out.loc[:, [c for c in out.columns if (out[c] > 0).any()]]
    out["total"] = out.sum(axis=1)
    return out


def table_html(df: pd.DataFrame, *, max_rows: int = 500) -> str:
    """The segment table as HTML (times rounded to 0.01 s), in a scrolling box.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> "<td>happy</td>" in table_html(df)
    True
    """
    shown = df.head(max_rows).round(2)
    cols = [c for c in shown.columns if not str(c).startswith("prob_")]
    more = (
        f"<p>Showing the first {max_rows} of {len(df)} segments; download the CSV for all.</p>"
        if len(df) > max_rows
        else ""
    )
    body = shown[cols].to_html(index=False, classes="emotion-table", border=0, na_rep="")
    return f'<div style="max-height:360px;overflow:auto">{body}</div>{more}'


def timeline_png(df: pd.DataFrame, *, width: float = 9.0, dpi: int = 96) -> bytes:
    """The emotion timeline (`df.emotion.timeline`) rendered as PNG bytes.

    Uses a stand-alone matplotlib Figure (no pyplot state), so it works in any kernel or thread.

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> timeline_png(df)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    from matplotlib.figure import Figure

    rows = df.groupby(_group(df), observed=True).ngroups if len(df) else 1
    fig = Figure(figsize=(width, 1.2 + 0.45 * max(rows, 1)), layout="constrained")
    ax = fig.subplots()
    df.emotion.timeline(ax=ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def results_csv(df: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV bytes (what the app's download link holds).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> results_csv(df).decode().splitlines()[0]
    'file,speaker,start,end,duration,emotion,confidence'
    """
    return df.to_csv(index=False).encode("utf-8")


def download_link(df: pd.DataFrame, *, filename: str = "emotions.csv") -> str:
    """An HTML link that downloads the table as CSV from a data URI (works in Voila too).

    Examples
    --------
    >>> import emotion_analytics as ea
    >>> df = ea.to_frame([{"emotion": "happy", "start": 0.0, "end": 3.0}], file="a.wav")
    >>> download_link(df)[:60]
    '<a download="emotions.csv" href="data:text/csv;base64,ZmlsZS'
    """
    payload = base64.b64encode(results_csv(df)).decode("ascii")
    name = html.escape(filename, quote=True)
    return (
        f'<a download="{name}" href="data:text/csv;base64,{payload}" '
        f'class="emotion-download">Download the results as CSV ({len(df)} segments)</a>'
    )


def errors_html(errors: Iterable[FileFailure | str]) -> str:
    """A red box listing each problem (file: message); empty string when there is none.

    Examples
    --------
    >>> errors_html([FileFailure("notes.txt", "not audio.")]).count("<li>")
    1
    >>> errors_html([])
    ''
    """
    items = []
    for err in errors:
        if isinstance(err, FileFailure):
            items.append(f"<li><b>{html.escape(err.file)}</b>: {html.escape(err.message)}</li>")
        else:
            items.append(f"<li>{html.escape(str(err))}</li>")
    if not items:
        return ""
    return (
        '<div class="emotion-errors" style="border:1px solid #c62828;background:#fdecea;'
        'color:#b71c1c;padding:6px 10px;border-radius:4px">'
        f"<b>Could not analyse everything:</b><ul style='margin:4px 0'>{''.join(items)}</ul></div>"
    )


class EmotionApp:
    """The upload-and-analyse app; display it in a notebook (or serve the notebook with Voila).

    Attributes
    ----------
    upload, engine, base_url, api_key, speakers_per_channel, run_button, progress, status,
    message, timeline, per_speaker, download, table : ipywidgets.Widget
        The parts, for tests and for users who want to restyle them.
    widget : ipywidgets.VBox
        The whole app.
    result : DataFrame or None
        The table of the last run.
    errors : list of FileFailure
        The files of the last run that could not be analysed.

    Examples
    --------
    >>> from pathlib import Path
    >>> app = EmotionApp()
    >>> app.add_files(sorted(Path("data").glob("*.wav"))[:1])
    >>> app.run_button.click()
    >>> app.result is not None and len(app.result) > 0, bytes(app.timeline.value[:4])
    (True, b'\\x89PNG')
    """

    def __init__(self, *, engine: str = "local", base_url: str = "", api_key: str = ""):
        w = require("ipywidgets", "widgets")
        self.result: pd.DataFrame | None = None
        self.errors: list[FileFailure] = []
        self.upload = w.FileUpload(
            accept=".wav,.flac,.ogg,.opus,.mp3,.m4a,.mp4,.webm,audio/*",
            multiple=True,
            description="Audio files",
            layout=w.Layout(width="auto"),
        )
        self.engine = w.Dropdown(
            options=[(label, key) for key, label in ENGINES.items()],
            value=engine,
            description="Engine",
        )
        self.speakers_per_channel = w.Checkbox(
            value=False, description="Stereo call: one speaker per channel", indent=False
        )
        self.base_url = w.Text(
            value=base_url,
            description="Base URL",
            placeholder=LOCAL_SERVER_URL,
            layout=w.Layout(width="420px"),
        )
        self.api_key = w.Password(value=api_key, description="API key")
        self.remote_box = w.HBox([self.base_url, self.api_key])
        self.run_button = w.Button(description="Analyse", button_style="primary", icon="play")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress")
        self.status = w.HTML("Choose audio files, then press Analyse.")
        self.message = w.HTML()
        self.timeline = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.timeline.add_class("emotion-timeline")
        self.per_speaker = w.HTML()
        self.download = w.HTML()
        self.table = w.HTML()
        self.results = w.VBox(
            [
                w.HTML("<b>Timeline</b>"),
                self.timeline,
                w.HTML("<b>Seconds per emotion</b>"),
                self.per_speaker,
                self.download,
                w.HTML("<b>Segments</b>"),
                self.table,
            ]
        )
        self.results.add_class("emotion-results")
        self.widget = w.VBox(
            [
                w.HTML(_STYLE + "<h3 style='margin:4px 0'>Emotion analytics</h3>"),
                w.HBox([self.upload, self.engine, self.speakers_per_channel]),
                self.remote_box,
                w.HBox([self.run_button, self.progress, self.status]),
                self.message,
                self.results,
            ]
        )
        self.widget.add_class("emotion-app")
        self.engine.observe(self._on_engine, names="value")
        self.run_button.on_click(lambda _button: self.run())
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

    def _on_progress(self, done: int, total: int, name: str) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = done
        if name:
            self.status.value = f"Analysing {done + 1} of {total}: {html.escape(name)}"

    def add_files(self, paths: Iterable[str | Path]) -> None:
        """Put files from disk into the upload box, as if the user had chosen them."""
        entries = []
        for p in paths:
            p = Path(p)
            content = p.read_bytes()
            entries.append(
                {
                    "name": p.name,
                    "type": "",
                    "size": len(content),
                    "content": memoryview(content),
                    "last_modified": datetime.fromtimestamp(p.stat().st_mtime, tz=timezone.utc),
                }
            )
        self.upload.value = tuple(entries)

    def run(self) -> pd.DataFrame | None:
        """Analyse the uploaded files and show the results (what the Analyse button does)."""
        self.message.value = ""
        if not self.upload.value:
            self.message.value = errors_html(["No file chosen: press 'Audio files' to pick one."])
            return None
        self.run_button.disabled = True
        try:
            table, self.errors = analyse_uploads(
                self.upload.value,
                engine=self.engine.value,
                base_url=self.base_url.value,
                api_key=self.api_key.value,
                channels="speakers" if self.speakers_per_channel.value else "mono",
                progress=self._on_progress,
            )
        except EmotionAnalyticsError as exc:
            self.status.value = "Nothing analysed."
            self.message.value = errors_html([str(exc)])
            return None
        except Exception as exc:  # a bug: show it in the app, with the traceback's last line
            self.status.value = "Nothing analysed."
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            self.message.value = errors_html(
                [
                    f"Unexpected error ({last}). This is a bug in emotion_analytics: please report "
                    "it with the file that caused it."
                ]
            )
            raise
        finally:
            self.run_button.disabled = False
        self.message.value = errors_html(self.errors)
        n_ok = table["file"].nunique() if len(table) else 0
        self.status.value = f"Done: {n_ok} file(s), {len(table)} segment(s)."
        if not len(table):
            self.results.layout.display = "none"
            self.result = None
            return None
        self.result = table
        self.timeline.value = timeline_png(table)
        self.per_speaker.value = (
            summary(table).round(2).to_html(border=0, classes="emotion-summary", na_rep="")
        )
        self.download.value = download_link(table)
        self.table.value = table_html(table)
        self.results.layout.display = "flex"
        return table

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
