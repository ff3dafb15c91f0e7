"""Augmentation of training clips, and the features of a corpus with its augmented copies.

:func:`augment` makes one random degraded or altered copy of a clip (speed/pitch, crop,
microphone colouring, reverberation, telephone band, noise, gain); :func:`corpus_features`
computes the features and log-mel spectrograms of every clip and of ``n_aug`` augmented copies.
Each copy draws from its own generator seeded with ``(seed, clip, copy)``, so the result is
reproducible for a given seed.

This module imports only numpy and the standard library at the top; soxr is imported inside
:func:`augment`.
"""

from __future__ import annotations

import time

import numpy as np

from . import features as F
from .corpus import Corpus

__all__ = ["augment", "corpus_features"]


def augment(x: np.ndarray, rng: np.random.Generator, sr: int = F.SAMPLE_RATE) -> np.ndarray:
    """One random degraded/altered copy of a clip.

    A random chain of: speed/pitch change (0.9-1.12), random crop, microphone-like spectral
    colouring, reverberation (synthetic exponential room response), telephone band
    (300-3400 Hz), additive white/pink/brown noise (5-30 dB SNR) and gain.

    Parameters
    ----------
    x : numpy.ndarray
        Mono float audio at ``sr``.
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducibility).
    sr : int
        Sample rate.

    Returns
    -------
    numpy.ndarray
        float32 audio at ``sr`` (length may differ from ``x``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    >>> y1 = augment(x, np.random.default_rng(1))
    >>> y2 = augment(x, np.random.default_rng(1))
    >>> bool(np.array_equal(y1, y2)), y1.dtype
    (True, dtype('float32'))
    """
    import soxr

    y = np.asarray(x, dtype=np.float64)
    if rng.random() < 0.5:  # speed + pitch together (a different voice and tempo)
        f = rng.uniform(0.9, 1.12)
        y = soxr.resample(y, sr, int(round(sr * f)))
    if rng.random() < 0.3 and len(y) > sr:  # crop: shorter windows than the training clips
        n = int(len(y) * rng.uniform(0.5, 0.9))
        s = int(rng.integers(0, len(y) - n + 1))
        y = y[s : s + n]
    n = len(y)
    nfft = 1 << int(np.ceil(np.log2(n + sr)))
    spec = None
    if rng.random() < 0.4:  # microphone colouring: smooth random EQ, +-6 dB
        spec = np.fft.rfft(y, nfft)
        fr = np.linspace(0, 1, len(spec))
        knots = rng.uniform(-6, 6, 6)
        gain_db = np.interp(fr, np.linspace(0, 1, 6), knots)
        spec *= 10 ** (gain_db / 20)
    if rng.random() < 0.3:  # reverberation
        rt60 = rng.uniform(0.15, 0.7)
        m = int(rt60 * sr)
        tt = np.arange(m) / sr
        ir = rng.standard_normal(m) * np.exp(-6.9 * tt / rt60)
        ir *= rng.uniform(0.2, 0.8) / np.sqrt((ir**2).sum())
        ir[0] = 1.0
        if spec is None:
            spec = np.fft.rfft(y, nfft)
        spec *= np.fft.rfft(ir, nfft)
    if rng.random() < 0.25:  # telephone band
        if spec is None:
            spec = np.fft.rfft(y, nfft)
        fr = np.fft.rfftfreq(nfft, 1 / sr)
        spec[(fr < 300) | (fr > 3400)] = 0
    if spec is not None:
        y = np.fft.irfft(spec, nfft)[:n]
    p_sig = np.mean(y**2) + 1e-12
    if rng.random() < 0.5:  # additive noise
        kind = rng.integers(0, 3)
        w = rng.standard_normal(n)
        if kind > 0:  # pink (1/f) or brown (1/f^2)
            ws = np.fft.rfft(w)
            fr = np.arange(len(ws)) + 1.0
            ws /= fr ** (0.5 * kind)
            w = np.fft.irfft(ws, n)
        snr = rng.uniform(5, 30)
        w *= np.sqrt(p_sig / (np.mean(w**2) + 1e-12) / 10 ** (snr / 10))
        y = y + w
    y = y * 10 ** (rng.uniform(-20, 6) / 20)
    peak = np.abs(y).max() if len(y) else 0.0
    if peak > 1.0:
        y = y / peak
    return y.astype(np.float32)


def corpus_features(corpus: Corpus, n_aug: int, seed: int, log=None):
    """Features of every clip and of ``n_aug`` augmented copies of it.

    Parameters
    ----------
    corpus : Corpus
    n_aug : int
        Augmented copies per clip.
    seed : int
    log : callable, optional
        Progress printer.

    Returns
    -------
    X : numpy.ndarray
        (n_clips * (1 + n_aug), n_features); rows ``[k * n_clips:(k+1) * n_clips]`` are copy
        ``k`` (copy 0 = the original clip).
    src : numpy.ndarray
        Index of the source clip of each row.
    is_aug : numpy.ndarray of bool
    mels : list of numpy.ndarray
        The gain-free log-mel spectrogram of each row's audio (for the CNN member).

    Examples
    --------
    >>> import numpy as np
    >>> c = Corpus([np.zeros(8000, np.float32)], np.array([0]), np.array(["01"]), ["a"])
    >>> X, src, is_aug, mels = corpus_features(c, 1, 0)
    >>> X.shape[0], src.tolist(), is_aug.tolist(), mels[0].shape
    (2, [0, 0], [False, True], (24, 40))
    """
    n = len(corpus.audio)
    audio, src, is_aug = [], [], []
    for k in range(n_aug + 1):
        for i, x in enumerate(corpus.audio):
            if k:
                x = augment(x, np.random.default_rng([seed, i, k]))
            audio.append(x)
            src.append(i)
            is_aug.append(k > 0)
    t0 = time.perf_counter()
    X, mels = F.extract_batch(audio, with_mels=True)
    if log:
        log(f"features: {len(audio)} clips ({n} originals) in {time.perf_counter() - t0:.0f} s")
    return X, np.array(src), np.array(is_aug), mels
