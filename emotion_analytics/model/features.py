"""Utterance-level acoustic features for the embedded emotion model (numpy only).

Every window is turned into one fixed-length vector of statistics ("functionals") over
frame-level descriptors. The descriptors are chosen to survive a new microphone, a new
gain and a new voice:

* the level is measured in dB relative to the window's own loud frames (gain-free);
* cepstra are mean-normalised per window (a fixed microphone/channel colouring is removed),
  so only their dynamics (spread, percentiles, deltas) are kept;
* pitch is in semitones relative to the window's median pitch (voice-free), and the median
  itself is kept once, coarsely, as a single feature;
* spectral shape (centroid, roll-off, flatness, tilt, band-energy ratios, flux) is computed
  from level-normalised spectra;
* statistics use only active (non-silent) frames, so leading/trailing silence and padding
  do not change them.

Framing: 32 ms Hann frames every 20 ms at 16 kHz; one zero-padded 1024-point FFT per frame
serves both the mel spectrum and a band-limited autocorrelation for pitch. There is no
per-frame Python loop: the cost is a few vectorised array operations per window.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
FRAME = 512  # 32 ms
HOP = 320  # 20 ms
NFFT = 1024
N_MELS = 40
N_MFCC = 20
FMIN, FMAX = 60.0, 7600.0
F0_MIN, F0_MAX = 60.0, 500.0
ACF_RATE = 8000  # autocorrelation from the 0-4 kHz band, i.e. at 8 kHz lag resolution
ACTIVE_DB = 35.0  # frames within this many dB of the window's loud level count as active
FEATURE_VERSION = 1

_EPS = 1e-10


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=1)
def _tables():
    """Constant matrices: window, mel filterbank, DCT, window autocorrelation, bin masks."""
    win = np.hanning(FRAME + 2)[1:-1]
    freqs = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    lo, ce, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0.0, np.minimum((freqs - lo) / (ce - lo), (hi - freqs) / (hi - ce)))
    fb /= np.maximum(fb.sum(axis=1, keepdims=True), _EPS)
    melfb = np.ascontiguousarray(fb.T)  # (bins, mels)
    k = np.arange(N_MELS)
    dct = np.cos(np.pi / N_MELS * (k[:, None] + 0.5) * np.arange(N_MFCC)[None, :])
    dct *= np.sqrt(2.0 / N_MELS)
    # autocorrelation of the window itself at the lags of the 8 kHz ACF (Boersma's correction)
    wacf = np.correlate(win.astype(np.float64), win.astype(np.float64), "full")[FRAME - 1 :]
    wacf = wacf / wacf[0]
    step = SAMPLE_RATE // ACF_RATE
    lag_lo = int(np.floor(ACF_RATE / F0_MAX))
    lag_hi = int(np.ceil(ACF_RATE / F0_MIN))
    lags = np.arange(lag_lo, lag_hi + 1)
    wcorr = 1.0 / np.maximum(wacf[lags * step], 0.05)
    n_acf_bins = NFFT * ACF_RATE // SAMPLE_RATE // 2 + 1  # bins up to 4 kHz
    # mild preference for shorter lags against sub-octave errors
    octave_cost = 0.02 * np.log2(lags / lags[0])
    centres = edges[1:-1]
    m1k = int(np.searchsorted(centres, 1000.0))
    m2k = int(np.searchsorted(centres, 2000.0))
    mel_idx = np.linspace(-1.0, 1.0, N_MELS)
    mel_idx /= float(mel_idx @ mel_idx)
    return dict(
        win=win,
        melfb=melfb,
        dct=dct,
        lags=lags,
        wcorr=wcorr,
        octave_cost=octave_cost,
        n_acf_bins=n_acf_bins,
        m1k=m1k,
        m2k=m2k,
        mel_hz=centres,
        log_mel_hz=np.log(centres),
        mel_idx=mel_idx,
    )


def _frames(x: np.ndarray) -> np.ndarray:
    """Overlapping frames (T, FRAME); short input is zero-padded to one frame."""
    if x.shape[0] < FRAME:
        x = np.pad(x, (0, FRAME - x.shape[0]))
    return np.lib.stride_tricks.sliding_window_view(x, FRAME)[::HOP]


# Frame-level descriptors summarised with the generic functionals, in column order.
_LLD_NAMES = (
    ("energy", "centroid", "rolloff", "flatness", "tilt", "alpha", "hammarberg", "flux")
    + tuple(f"mfcc{i}" for i in range(1, N_MFCC))
)
_STATS = ("mean", "std", "p10", "p50", "p90", "dstd")
_PITCH_NAMES = (
    "f0_median_st",
    "f0_std",
    "f0_p10",
    "f0_p90",
    "f0_range",
    "f0_slope",
    "f0_dabs",
    "voicing_mean",
    "hnr_mean",
    "hnr_std",
    "voiced_frac",
    "active_frac",
    "voiced_onsets_per_s",
    "voiced_run_mean_s",
    "energy_slope",
)


@lru_cache(maxsize=1)
def feature_names() -> tuple[str, ...]:
    """Names of the entries of the feature vector, in order.

    Returns
    -------
    tuple of str
        One name per feature; ``len(feature_names()) == n_features()``.

    Examples
    --------
    >>> names = feature_names()
    >>> names[0]
    'energy_mean'
    >>> len(names) == n_features()
    True
    """
    names = [f"{n}_{s}" for n in _LLD_NAMES for s in _STATS]
    names += [f"melshape{i}" for i in range(N_MELS)]
    names += [f"melstd{i}" for i in range(N_MELS)]
    names += list(_PITCH_NAMES)
    return tuple(names)


def n_features() -> int:
    """Length of the feature vector.

    Returns
    -------
    int

    Examples
    --------
    >>> n_features() > 100
    True
    """
    return len(feature_names())


def _slope(y: np.ndarray, t: np.ndarray) -> float:
    """Least-squares slope of ``y`` against ``t`` (both 1-D)."""
    tc = t - t.mean()
    den = float(tc @ tc)
    return float(tc @ (y - y.mean()) / den) if den > 0 else 0.0


def extract(x: np.ndarray) -> np.ndarray:
    """Feature vector of one mono window sampled at :data:`SAMPLE_RATE`.

    Parameters
    ----------
    x : numpy.ndarray
        1-D audio, float, any length (very short input is zero-padded to one frame;
        silence gives a finite vector).

    Returns
    -------
    numpy.ndarray
        float64 vector of length :func:`n_features`, all finite.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> v = extract((0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32))
    >>> v.shape == (n_features(),), bool(np.isfinite(v).all())
    (True, True)
    """
    tb = _tables()
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    fr = _frames(x)
    spec = np.fft.rfft(fr * tb["win"], n=NFFT, axis=1)
    pw = spec.real**2 + spec.imag**2  # (T, 513)
    n_fr = pw.shape[0]

    # ---- level and activity (relative to the window's own loud frames)
    mel = pw @ tb["melfb"]  # (T, 40)
    e = mel.sum(axis=1)
    edb = 10.0 * np.log10(e + _EPS)
    loud = float(np.percentile(edb, 95))
    active = (edb > loud - ACTIVE_DB) & (e > 1e-8)
    if active.sum() < 3:  # silence or nearly: use every frame, the values stay finite
        active = np.ones(n_fr, dtype=bool)
    idx = np.flatnonzero(active)
    t = idx * (HOP / SAMPLE_RATE)
    rel_db = edb[idx] - loud

    # ---- mel / cepstra (per-window mean-normalised)
    ma = mel[idx] + 1e-9
    logmel = np.log(ma)  # (Ta, 40)
    mfcc = logmel @ tb["dct"]  # (Ta, 20)
    mfcc = mfcc[:, 1:] - mfcc[:, 1:].mean(axis=0)
    frame_shape = logmel - logmel.mean(axis=1, keepdims=True)  # gain-free spectral shape
    melshape = frame_shape.mean(axis=0)
    melshape = melshape - melshape.mean()
    melstd = logmel.std(axis=0)

    # ---- spectral shape descriptors (on the mel spectrum: cheap and smooth)
    tot = ma.sum(axis=1)
    centroid = np.log((ma @ tb["mel_hz"]) / tot)
    cum = np.cumsum(ma, axis=1)
    rolloff = tb["log_mel_hz"][np.argmax(cum >= 0.85 * tot[:, None], axis=1)]
    flatness = logmel.mean(axis=1) - np.log(tot / N_MELS)
    tilt = frame_shape @ tb["mel_idx"]
    m1k, m2k = tb["m1k"], tb["m2k"]
    alpha = np.log(ma[:, :m1k].sum(axis=1)) - np.log(ma[:, m1k:].sum(axis=1))
    hammarberg = logmel[:, :m2k].max(axis=1) - logmel[:, m2k:].max(axis=1)
    flux = np.zeros(len(idx))
    if len(idx) > 1:
        flux[1:] = np.sqrt((np.diff(frame_shape, axis=0) ** 2).mean(axis=1))
    lld = np.column_stack(
        [rel_db, centroid, rolloff, flatness, tilt, alpha, hammarberg, flux, mfcc]
    )
    q = np.percentile(lld, (10, 50, 90), axis=0)
    dstd = np.diff(lld, axis=0).std(axis=0) if len(idx) > 2 else np.zeros(lld.shape[1])
    funcs = np.vstack([lld.mean(axis=0), lld.std(axis=0), q, dstd])  # (6, D)

    # ---- pitch from the band-limited (0-4 kHz) normalised autocorrelation
    acf = np.fft.irfft(pw[idx, : tb["n_acf_bins"]], n=2 * (tb["n_acf_bins"] - 1), axis=1)
    lags = tb["lags"]
    r = acf[:, lags] / (acf[:, :1] + _EPS) * tb["wcorr"]
    best = np.argmax(r - tb["octave_cost"], axis=1)
    rows = np.arange(len(best))
    strength = np.clip(r[rows, best], 0.0, 0.999)
    # parabolic refinement of the peak lag
    bi = np.clip(best, 1, len(lags) - 2)
    ym, y0, yp = r[rows, bi - 1], r[rows, bi], r[rows, bi + 1]
    den = ym - 2 * y0 + yp
    den = np.where(np.abs(den) > 1e-9, den, -1.0)
    shift = np.clip(0.5 * (ym - yp) / den, -1.0, 1.0)
    f0 = ACF_RATE / np.maximum(lags[bi] + shift, 1.0)
    voiced = (strength > 0.5) & (rel_db > -25.0)
    hnr = 10.0 * np.log10(strength / (1.0 - strength) + 1e-3)

    nv = int(voiced.sum())
    if nv >= 3:
        st = 12.0 * np.log2(f0[voiced] / 100.0)
        med = float(np.median(st))
        rel = st - med
        pv = np.percentile(rel, (10, 90))
        iv = idx[voiced]
        contiguous = np.diff(iv) == 1
        dabs = float(np.abs(np.diff(rel))[contiguous].mean()) if contiguous.any() else 0.0
        pitch = [med, rel.std(), pv[0], pv[1], pv[1] - pv[0], _slope(rel, t[voiced]), dabs]
    else:
        pitch = [0.0] * 7
    # voicing rhythm on the frame grid, over the active span
    span = max(int(idx[-1] - idx[0]) + 1, 1)
    vgrid = np.zeros(span + 1, dtype=np.int8)
    vgrid[idx[voiced] - idx[0] + 1] = 1
    onsets = int(np.count_nonzero(np.diff(vgrid) == 1))
    span_s = span * HOP / SAMPLE_RATE
    extra = [
        float(strength.mean()),
        float(hnr.mean()),
        float(hnr.std()),
        nv / len(idx),
        len(idx) / span,
        onsets / max(span_s, 0.2),
        (nv * HOP / SAMPLE_RATE / onsets) if onsets else 0.0,
        _slope(rel_db, t),
    ]
    out = np.concatenate([funcs.T.reshape(-1), melshape, melstd, pitch, extra])
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def extract_batch(windows) -> np.ndarray:
    """Feature matrix for a batch of windows.

    Parameters
    ----------
    windows : list of 1-D arrays or 2-D array (n, n_samples)
        Mono audio at :data:`SAMPLE_RATE`.

    Returns
    -------
    numpy.ndarray
        float64 array (n, :func:`n_features`).

    Examples
    --------
    >>> import numpy as np
    >>> extract_batch(np.zeros((2, 8000), dtype=np.float32)).shape == (2, n_features())
    True
    """
    if isinstance(windows, np.ndarray) and windows.ndim == 1:
        windows = [windows]
    out = np.empty((len(windows), n_features()), dtype=np.float64)
    for i, w in enumerate(windows):
        out[i] = extract(w)
    return out
