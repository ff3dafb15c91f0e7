"""``train --features encoder``: fit or evaluate the encoder engine's heads on a corpus.

The command line (`emotion_analytics.commands.train`) loads the corpus (EmoDB folder or CSV
manifests) and hands it here::

    emotion-analytics train --data ../shared/data/emodb --features encoder            # refit
    emotion-analytics train --data ../shared/data/emodb --features encoder --eval loso

Each clip is one window, described twice (`emotion_analytics.model.encoder_features`):
alone in a pass of its own (as a short file is analysed) and packed with the other clips of its
speaker in a seeded random order (as the windows of a long recording of one voice are). The
encoder's attention spans a whole pass, so a window's features depend on what it is packed
with: heads fitted on one layout alone fail on the other (see the model card), so the heads
are fitted on both sets of rows together. Features are cached under ``out/encoder_cache``.

Without ``--eval`` the heads are fitted on every clip and written to ``--out`` (default: the
shipped `emotion_analytics.model.encoder_heads.DEFAULT_HEADS`). With ``--eval loso`` (``loco``)
every speaker (corpus) is held out in turn, and one JSON line is printed per task (emotion,
arousal, valence), per class set, per layout of the held-out clips (``"layout": "packed"`` or
``"clip"``), and per normalisation: ``"train"`` (what the engine does) and ``"collection"``
(the held-out speaker's or corpus's packed clips standardised over themselves).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .encoder_features import EncoderSettings, WhisperEncoder, corpus_features
from .encoder_heads import DEFAULT_C, DEFAULT_HEADS, evaluate, fit_heads

__all__ = ["train_encoder"]

#: How clips are laid into passes for training: alone, and packed by speaker (both rows).
LAYOUT = "clip+packed"


def train_encoder(
    corpus,
    *,
    labels: Sequence[str],
    evaluation: str | None = None,
    class_sets: Sequence[Sequence[str]] | None = None,
    groups: np.ndarray | None = None,
    out: str | Path | None = None,
    model: str | None = None,
    threads: int = 0,
    C: float = DEFAULT_C,
    pass_seconds: float | None = None,
    log: Callable[[str], None] | None = None,
    emit: Callable[[dict], None] | None = None,
) -> int:
    """Fit the heads and write them, or evaluate them on held-out groups.

    Parameters
    ----------
    corpus
        An object with ``audio`` (16 kHz clips), ``labels`` (class index per clip),
        ``speakers`` and ``files`` (`emotion_analytics.model.corpus.Corpus`).
    labels : sequence of str
        Class names of ``corpus.labels``.
    evaluation : {None, "loso", "loco"}
        Hold out each speaker, or each group of ``groups`` (the corpus of each clip).
    class_sets : sequence of sequence of str, optional
        With ``evaluation``: the class sets to evaluate (default: all classes).
    groups : numpy.ndarray, optional
        The corpus of each clip, for ``"loco"``.
    out : path, optional
        Heads file to write (default the shipped one).
    model : str, optional
        The CTranslate2 Whisper model (default the packaged tiny.en).
    threads : int
        CPU threads per encoder pass.
    C : float
        Inverse L2 strength of the heads.
    pass_seconds : float, optional
        Seconds per encoder pass (default `EncoderSettings`'s); stored with the heads.
    log : callable, optional
        Progress messages.
    emit : callable, optional
        Receives each evaluation line (default: printed as JSON on stdout).

    Returns
    -------
    int
        The exit code (0).
    """
    emit = emit or (lambda line: print(json.dumps(line), flush=True))
    settings = EncoderSettings() if pass_seconds is None else EncoderSettings(
        pass_seconds=pass_seconds)
    encoder = WhisperEncoder(model, settings, threads=threads)
    if log is not None:
        log(f"encoder: {encoder.path} (width {encoder.dim}, {settings})")
    Xc = corpus_features(corpus.audio, corpus.files, encoder, layout="clip", log=log)
    Xp = corpus_features(corpus.audio, corpus.files, encoder, layout="packed",
                         groups=np.asarray(corpus.speakers), log=log)
    y = np.asarray(corpus.labels)
    if evaluation is not None:
        if evaluation == "loso":
            held = np.asarray(corpus.speakers)
        elif evaluation == "loco":
            if groups is None or len(np.unique(groups)) < 2:
                raise ValueError(
                    "--eval loco needs clips from at least two corpora (a 'corpus' column in "
                    "the manifest, or several --data manifests)"
                )
            held = np.asarray(groups)
        else:
            raise ValueError(f"evaluation must be 'loso' or 'loco', got {evaluation!r}")
        runs = [("packed", Xp, "train"), ("clip", Xc, "train"), ("packed", Xp, "collection")]
        for classes in class_sets or [labels]:
            for layout, Xt, norm in runs:
                for line in evaluate(Xc, y, held, labels, classes=classes, C=C,
                                     normalize=norm, eval_name=evaluation, X_test=Xt,
                                     X_extra=[Xp], extra={"layout": layout}, log=log):
                    emit(line)
        return 0
    meta = dict(asdict(settings), model=model or "tiny.en", layout=LAYOUT, clips=int(len(y)))
    heads = fit_heads(np.vstack([Xc, Xp]), np.tile(y, 2), labels, C=C, meta=meta)
    path = Path(out) if out is not None else DEFAULT_HEADS
    heads.save(path)
    if log is not None:
        log(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB; heads: emotion"
            + "".join(f", {d}" for d in heads.dims) + ")")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: emotion-analytics train --features encoder")
