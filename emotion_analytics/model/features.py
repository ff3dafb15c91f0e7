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

Framing: 32 ms Hann frames every 20 ms at 16 kHz; one 512-point FFT per frame
serves both the mel spectrum and a band-limited autocorrelation for pitch. There is no
per-frame (or per-window) Python loop: windows of equal length are processed together as
one (windows, frames, bins) array, with masks for active and voiced frames.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
FRAME = 512  # 32 ms
HOP = 320  # 20 ms
NFFT = FRAME  # no zero padding: one 512-point FFT per frame
N_MELS = 40
N_MFCC = 20
FMIN, FMAX = 60.0, 7600.0
F0_MIN, F0_MAX = 70.0, 500.0
ACF_RATE = 8000  # autocorrelation from the 0-4 kHz band, i.e. at 8 kHz lag resolution
ACTIVE_DB = 35.0  # frames within this many dB of the window's loud level count as active
FEATURE_VERSION = 4

_EPS = 1e-10
LOG_MEL_FLOOR = float(np.log(1e-8))  # the floor of :func:`gain_free_log_mel`, -18.42


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
    # The pitch autocorrelation is circular (no zero padding): r_c(k) = r(k) + r(N - k). The
    # Hann taper keeps the wrapped term small for lags up to 1/F0_MIN; the window's own
    # circular autocorrelation corrects the taper (Boersma's normalisation).
    wacf = np.correlate(win.astype(np.float64), win.astype(np.float64), "full")[FRAME - 1 :]
    wacf = wacf + np.concatenate([[0.0], wacf[1:][::-1]])
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


# Frame-level descriptors summarised with the generic functionals, in column order.
_LLD_NAMES = (
    "energy",
    "centroid",
    "rolloff",
    "flatness",
    "tilt",
    "alpha",
    "hammarberg",
    "flux",
) + tuple(f"mfcc{i}" for i in range(1, N_MFCC))
_STATS = ("mean", "std", "p10", "p50", "p90", "dstd", "vmean", "umean")
_OTHER_NAMES = (
    "f0_median_st",
    "f0_std",
    "f0_p10",
    "f0_p90",
    "f0_range",
    "f0_slope",
    "f0_dabs",
    "f0_rise_p90",
    "f0_fall_p10",
    "shimmer_db",
    "voicing_mean",
    "hnr_mean",
    "hnr_std",
    "voiced_frac",
    "active_frac",
    "voiced_onsets_per_s",
    "voiced_run_mean_s",
    "energy_slope",
    "emod_2_4",
    "emod_4_8",
    "emod_8_16",
)
MAX_SECONDS = 60  # longer windows are analysed on their first minute
MAX_SAMPLES = MAX_SECONDS * SAMPLE_RATE
CHUNK = 16  # windows processed together (arrays of a few MB: stay in cache)


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
    names += [f"meldstd{i}" for i in range(N_MELS)]
    names += list(_OTHER_NAMES)
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


# --------------------------------------------------------------------------- masked helpers
# Arrays are (n, T) or (n, T, D); ``w`` is a (n, T) float mask (1 = frame counts).
def _mmean(v, w, cnt):
    if v.ndim == 3:
        return np.einsum("ntd,nt->nd", v, w) / cnt[:, None]
    return (v * w).sum(axis=1) / cnt


def _mstd(v, w, cnt, mu=None):
    mu = _mmean(v, w, cnt) if mu is None else mu
    if v.ndim == 3:
        d = v - mu[:, None, :]
        return np.sqrt(np.einsum("ntd,nt->nd", d * d, w) / cnt[:, None])
    d = v - mu[:, None]
    return np.sqrt((d * d * w).sum(axis=1) / cnt)


def _mpercentile(v, valid, cnt, qs):
    """Linear-interpolated percentiles over the valid frames (like ``np.percentile``)."""
    squeeze = v.ndim == 2
    if v.shape[1] == 0:
        z = np.zeros(v.shape[:1] + v.shape[2:])
        return [z for _ in qs]
    if squeeze:
        v = v[..., None]
    s = np.sort(np.where(valid[..., None], v, np.inf), axis=1)
    s[cnt == 0] = 0.0  # no valid frame: the statistic is 0
    c = np.maximum(cnt, 1).astype(np.int64)
    out = []
    for q in qs:
        pos = (c - 1) * (q / 100.0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, c - 1)
        fr = (pos - lo)[:, None]
        a = np.take_along_axis(s, lo[:, None, None], axis=1)[:, 0]
        b = np.take_along_axis(s, hi[:, None, None], axis=1)[:, 0]
        r = a + (b - a) * fr
        out.append(r[:, 0] if squeeze else r)
    return out


def _mslope(v, t, w, cnt):
    """Least-squares slope of v (n, T) against t (n, T) over weighted frames."""
    tc = t - _mmean(t, w, cnt)[:, None]
    vc = v - _mmean(v, w, cnt)[:, None]
    den = (tc * tc * w).sum(axis=1)
    return np.where(den > 0, (tc * vc * w).sum(axis=1) / np.where(den > 0, den, 1.0), 0.0)


def _compact(mask):
    """Order putting the masked frames first (stable), the count, and the valid mask."""
    order = np.argsort(~mask, axis=1, kind="stable")
    cnt = mask.sum(axis=1)
    valid = np.arange(mask.shape[1])[None, :] < cnt[:, None]
    return order, cnt, valid


def _take(v, order):
    if v.ndim == 3:
        return np.take_along_axis(v, order[..., None], axis=1)
    return np.take_along_axis(v, order, axis=1)


# --------------------------------------------------------------------------- extraction
def _extract_equal(xb: np.ndarray, with_mels: bool = False):
    """Features of windows of equal length, ``xb`` (n, L) float64 -> (n, n_features).

    With ``with_mels``, also the windows' gain-free log-mel spectrograms (n, frames, N_MELS)
    float32 (see :func:`extract_batch`).
    """
    tb = _tables()
    n = xb.shape[0]
    if xb.shape[1] < FRAME:
        xb = np.pad(xb, ((0, 0), (0, FRAME - xb.shape[1])))
    fr = np.lib.stride_tricks.sliding_window_view(xb, FRAME, axis=1)[:, ::HOP]
    spec = np.fft.rfft(fr * tb["win"], n=NFFT, axis=2)
    pw = np.square(spec.real)
    pw += np.square(spec.imag)  # (n, T, 513)
    del spec
    n_fr = pw.shape[1]
    mel_all = (pw.reshape(-1, pw.shape[2]) @ tb["melfb"]).reshape(n, n_fr, N_MELS)
    e = mel_all.sum(axis=2)
    edb_all = 10.0 * np.log10(e + _EPS)
    loud = np.percentile(edb_all, 95, axis=1)
    active = (edb_all > (loud - ACTIVE_DB)[:, None]) & (e > 1e-8)
    few = active.sum(axis=1) < 3  # silence or nearly: use every frame, values stay finite
    active[few] = True

    # pitch on every frame (band-limited normalised autocorrelation), compacted below
    acf = np.fft.irfft(pw[:, :, : tb["n_acf_bins"]], n=2 * (tb["n_acf_bins"] - 1), axis=2)
    lags = tb["lags"]
    r = acf[:, :, lags[0] : lags[-1] + 1] / (acf[:, :, :1] + _EPS) * tb["wcorr"]
    best = np.argmax(r - tb["octave_cost"], axis=2)
    bi = np.clip(best, 1, len(lags) - 2)
    y0 = np.take_along_axis(r, best[..., None], axis=2)[..., 0]
    ym = np.take_along_axis(r, (bi - 1)[..., None], axis=2)[..., 0]
    yc = np.take_along_axis(r, bi[..., None], axis=2)[..., 0]
    yp = np.take_along_axis(r, (bi + 1)[..., None], axis=2)[..., 0]
    den = ym - 2 * yc + yp
    den = np.where(np.abs(den) > 1e-9, den, -1.0)
    shift = np.clip(0.5 * (ym - yp) / den, -1.0, 1.0)
    f0_all = ACF_RATE / np.maximum(lags[bi] + shift, 1.0)
    strength_all = np.clip(y0, 0.0, 0.999)

    # ---- keep the active frames, in order, at the front of the frame axis
    order, cnt_i, valid = _compact(active)
    cnt = cnt_i.astype(np.float64)
    w = valid.astype(np.float64)
    fidx = order  # frame index of each compacted position
    t = fidx * (HOP / SAMPLE_RATE)
    loudc = loud[:, None]
    rel_db = _take(edb_all, order) - loudc
    # spectral floor 80 dB under the window's loud level: keeps logs finite, gain-free
    ma = _take(mel_all, order) + (10.0 ** (loud / 10.0) * 1e-8 / N_MELS)[:, None, None]
    strength = _take(strength_all, order)
    f0 = _take(f0_all, order)

    logmel = np.log(ma)  # (n, T, 40)
    mfcc = (logmel.reshape(-1, N_MELS) @ tb["dct"]).reshape(n, n_fr, N_MFCC)[:, :, 1:]
    mfcc = mfcc - _mmean(mfcc, w, cnt)[:, None, :]  # per-window cepstral mean normalisation
    frame_shape = logmel - logmel.mean(axis=2, keepdims=True)  # gain-free spectral shape
    melshape = _mmean(frame_shape, w, cnt)
    melshape -= melshape.mean(axis=1, keepdims=True)
    melstd = _mstd(logmel, w, cnt)
    wd = w[:, 1:]
    cd = np.maximum(cnt - 1, 1.0)
    meldstd = _mstd(np.diff(logmel, axis=1), wd, cd)

    tot = ma.sum(axis=2)
    centroid = np.log((ma @ tb["mel_hz"]) / tot)
    cum = np.cumsum(ma, axis=2)
    rolloff = tb["log_mel_hz"][np.argmax(cum >= 0.85 * tot[..., None], axis=2)]
    flatness = logmel.mean(axis=2) - np.log(tot / N_MELS)
    tilt = frame_shape @ tb["mel_idx"]
    m1k, m2k = tb["m1k"], tb["m2k"]
    alpha = np.log(ma[:, :, :m1k].sum(axis=2)) - np.log(ma[:, :, m1k:].sum(axis=2))
    hammarberg = logmel[:, :, :m2k].max(axis=2) - logmel[:, :, m2k:].max(axis=2)
    flux = np.zeros_like(tot)
    flux[:, 1:] = np.sqrt((np.diff(frame_shape, axis=1) ** 2).mean(axis=2))
    lld = np.concatenate(
        [
            np.stack(
                [rel_db, centroid, rolloff, flatness, tilt, alpha, hammarberg, flux],
                axis=2,
            ),
            mfcc,
        ],
        axis=2,
    )

    # ---- voicing and pitch statistics
    voiced = valid & (strength > 0.5) & (rel_db > -25.0)
    nv_i = voiced.sum(axis=1)
    nv = np.maximum(nv_i, 1).astype(np.float64)
    wv = voiced.astype(np.float64)
    st = 12.0 * np.log2(f0 / 100.0)
    (med,) = _mpercentile(st, voiced, nv_i, (50,))
    rel = st - med[:, None]
    p10, p90 = _mpercentile(rel, voiced, nv_i, (10, 90))
    f0_std = _mstd(rel, wv, nv)
    f0_slope = _mslope(rel, t, wv, nv)
    # consecutive voiced frames (jitter-, shimmer- and contour-velocity-like measures)
    vorder, _, vvalid = _compact(voiced)
    vidx = _take(fidx, vorder)
    vrel = _take(rel, vorder)
    vdb = _take(rel_db, vorder)
    contig = vvalid[:, 1:] & (np.diff(vidx, axis=1) == 1)
    nc_i = contig.sum(axis=1)
    nc = np.maximum(nc_i, 1).astype(np.float64)
    wc = contig.astype(np.float64)
    dvr = np.diff(vrel, axis=1)
    f0_dabs = (np.abs(dvr) * wc).sum(axis=1) / nc
    rise, fall = _mpercentile(dvr, contig, nc_i, (90, 10))
    shimmer = (np.abs(np.diff(vdb, axis=1)) * wc).sum(axis=1) / nc
    has_c = nc_i > 0
    rise, fall = np.where(has_c, rise, 0.0), np.where(has_c, fall, 0.0)
    # onsets of voiced runs: a voiced frame not directly after another voiced frame
    starts = vvalid.copy()
    starts[:, 1:] &= np.diff(vidx, axis=1) != 1
    onsets = starts.sum(axis=1).astype(np.float64)
    last = np.take_along_axis(fidx, (np.maximum(cnt_i, 1) - 1)[:, None], axis=1)[:, 0]
    span = np.maximum(last - fidx[:, 0] + 1, 1).astype(np.float64)
    span_s = span * HOP / SAMPLE_RATE
    hnr = 10.0 * np.log10(strength / (1.0 - strength) + 1e-3)
    hnr_mu = _mmean(hnr, w, cnt)
    pitch_ok = nv_i >= 3
    pitch = np.stack([med, f0_std, p10, p90, p90 - p10, f0_slope, f0_dabs, rise, fall], axis=1)
    pitch[~pitch_ok] = 0.0
    shimmer = np.where(pitch_ok, shimmer, 0.0)

    # ---- functionals of the frame descriptors
    mu = _mmean(lld, w, cnt)
    sd = _mstd(lld, w, cnt, mu)
    q10, q50, q90 = _mpercentile(lld, valid, cnt_i, (10, 50, 90))
    dsd = _mstd(np.diff(lld, axis=1), wd, cd)
    vmean = np.where(pitch_ok[:, None], _mmean(lld, wv, nv) - mu, 0.0)
    wu = w * (1.0 - wv)
    nu = wu.sum(axis=1)
    umean = np.where((nu > 0)[:, None], _mmean(lld, wu, np.maximum(nu, 1.0)) - mu, 0.0)
    funcs = np.stack([mu, sd, q10, q50, q90, dsd, vmean, umean], axis=2)  # (n, D, 8)

    # energy modulation spectrum (syllabic rhythm): fractions of the 1-25 Hz modulation power
    n_mod = max(64, 1 << int(np.ceil(np.log2(n_fr))))
    ec = np.zeros((n, n_mod))
    rel_full = edb_all - loud[:, None]
    mu_e = mu[:, 0]
    ec[:, :n_fr] = np.where(active, rel_full - mu_e[:, None], 0.0)
    ms = np.abs(np.fft.rfft(ec, axis=1)) ** 2
    mf = np.fft.rfftfreq(n_mod, HOP / SAMPLE_RATE)
    mtot = ms[:, (mf >= 1) & (mf < 25)].sum(axis=1) + 1e-9
    emod = [
        ms[:, (mf >= lo) & (mf < hi)].sum(axis=1) / mtot for lo, hi in ((2, 4), (4, 8), (8, 16))
    ]

    other = np.column_stack(
        [
            pitch,
            shimmer,
            _mmean(strength, w, cnt),
            hnr_mu,
            _mstd(hnr, w, cnt, hnr_mu),
            nv_i / cnt,
            cnt / span,
            onsets / np.maximum(span_s, 0.2),
            np.where(onsets > 0, nv_i * (HOP / SAMPLE_RATE) / np.maximum(onsets, 1), 0.0),
            _mslope(rel_db, t, w, cnt),
            *emod,
        ]
    )
    out = np.concatenate([funcs.reshape(n, -1), melshape, melstd, meldstd, other], axis=1)
    out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    if not with_mels:
        return out
    return out, gain_free_log_mel(mel_all, loud)


def gain_free_log_mel(mel: np.ndarray, loud_db: np.ndarray) -> np.ndarray:
    """Log-mel spectrogram relative to the window's loud level (what the CNN member reads).

    0 is the level of an average band of a loud frame (the window's 95th-percentile frame
    energy); the floor sits 80 dB under it (:data:`LOG_MEL_FLOOR`), so gain has no effect and
    silence stays finite.

    Parameters
    ----------
    mel : numpy.ndarray
        (n, frames, N_MELS) mel power.
    loud_db : numpy.ndarray
        (n,) loud level of each window in dB.

    Returns
    -------
    numpy.ndarray
        float32 (n, frames, N_MELS).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.full((1, 3, N_MELS), 2.0)
    >>> gain_free_log_mel(m, 10 * np.log10(m.sum(axis=2)[:, :1].ravel()))[0, 0, :2].round(3)
    array([0., 0.], dtype=float32)
    """
    ref = 10.0 ** (np.asarray(loud_db, dtype=np.float64) / 10.0) / N_MELS
    out = np.log(mel / ref[:, None, None] + 1e-8)
    return np.nan_to_num(out, nan=LOG_MEL_FLOOR, neginf=LOG_MEL_FLOOR).astype(np.float32)


def extract_batch(windows, with_mels: bool = False):
    """Feature matrix for a batch of windows (and, on request, their log-mel spectrograms).

    Windows of equal length are processed together (in chunks of :data:`CHUNK`), so
    passing all windows of a recording in one call is much faster than one call each.

    Parameters
    ----------
    windows : list of 1-D arrays or 2-D array (n, n_samples)
        Mono audio at :data:`SAMPLE_RATE`; any length (very short input is zero-padded
        to one frame; silence gives a finite vector; only the first :data:`MAX_SECONDS`
        of a longer window are analysed, which bounds memory).
    with_mels : bool, default False
        Also return each window's :func:`gain_free_log_mel` spectrogram, computed from the
        same FFTs as the features.

    Returns
    -------
    numpy.ndarray
        float64 array (n, :func:`n_features`), all finite.
    list of numpy.ndarray
        Only with ``with_mels``: float32 (frames, N_MELS) per window.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> x = (0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    >>> f = extract_batch([x, np.zeros(8000, dtype=np.float32)])
    >>> f.shape == (2, n_features()), bool(np.isfinite(f).all())
    (True, True)
    >>> f, mels = extract_batch([x], with_mels=True)
    >>> mels[0].shape
    (49, 40)
    """
    if isinstance(windows, np.ndarray) and windows.ndim == 1:
        windows = [windows]
    if isinstance(windows, np.ndarray) and windows.ndim == 2:
        groups = {min(windows.shape[1], MAX_SAMPLES): list(range(windows.shape[0]))}
        get = lambda ii: windows[ii, :MAX_SAMPLES]  # noqa: E731
    else:
        windows = [np.asarray(w).reshape(-1)[:MAX_SAMPLES] for w in windows]
        groups: dict[int, list[int]] = {}
        for i, w in enumerate(windows):
            groups.setdefault(w.shape[0], []).append(i)
        get = lambda ii: np.stack([windows[i] for i in ii])  # noqa: E731
    out = np.empty((len(windows), n_features()), dtype=np.float64)
    mels: list = [None] * len(windows)
    for length, ids in groups.items():
        # at most CHUNK 3-s windows' worth of samples at a time: bounded memory
        step = max(1, min(CHUNK, CHUNK * 3 * SAMPLE_RATE // max(length, 1)))
        for s in range(0, len(ids), step):
            ii = ids[s : s + step]
            xb = np.asarray(get(ii), dtype=np.float64)
            if not np.isfinite(xb).all():
                xb = np.nan_to_num(xb, nan=0.0, posinf=0.0, neginf=0.0)
            if with_mels:
                out[ii], mb = _extract_equal(xb, with_mels=True)
                for j, i in enumerate(ii):
                    mels[i] = mb[j]
            else:
                out[ii] = _extract_equal(xb)
    return (out, mels) if with_mels else out


def extract(x: np.ndarray) -> np.ndarray:
    """Feature vector of one mono window sampled at :data:`SAMPLE_RATE`.

    Parameters
    ----------
    x : numpy.ndarray
        1-D audio, any length.

    Returns
    -------
    numpy.ndarray
        float64 vector of length :func:`n_features`, all finite.

    Examples
    --------
    >>> import numpy as np
    >>> v = extract(np.zeros(4000, dtype=np.float32))
    >>> v.shape == (n_features(),), bool(np.isfinite(v).all())
    (True, True)
    """
    return extract_batch([np.asarray(x).reshape(-1)])[0]
