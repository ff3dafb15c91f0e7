"""The stream: decoded audio in blocks, resampled once, with bounded memory.

`stream` opens an `AudioStream`; `decode` and `probe` are built on it; `decode_limit` bounds
the decoded seconds of every stream opened in its block; `resample` is the one resampler.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import AudioTooLongError, BadAudioError
from .backends import _info, _reader
from .sources import AudioInfo, AudioSource, TruncatedAudioWarning, _Opened

__all__ = ["AudioStream", "decode", "decode_limit", "probe", "resample", "stream"]

_CHANNEL_MODES = ("mono", "speakers")

_DEFAULT_BLOCK_SECONDS = 30.0


#: The limit on decoded seconds that `decode_limit` sets for streams opened in its block.
_DECODE_LIMIT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "emotion_analytics_decode_limit", default=None)


@contextlib.contextmanager
def decode_limit(seconds: float | None) -> Iterator[None]:
    """Within the block, every `stream` (and so `decode` and `recognise`) stops at ``seconds``.

    Decoding raises `AudioTooLongError` as soon as the decoded audio passes ``seconds``,
    whatever the container's header claims: this is how a server bounds the work and memory
    one upload can take. The limit holds in the current thread (a context variable); a
    ``max_seconds=`` given to `stream` wins over it.

    >>> import numpy as np
    >>> with decode_limit(2.0):
    ...     decode((np.zeros(16000 * 3, np.float32), 16000))
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.AudioTooLongError: <array>: the decoded audio passed the limit ...
    """
    token = _DECODE_LIMIT.set(seconds)
    try:
        yield
    finally:
        _DECODE_LIMIT.reset(token)


class AudioStream:
    """Decoded audio in blocks, resampled once, with bounded memory.

    Create it with `stream`. Iterate it once; each block is float32, ``(n,)`` for
    ``channels="mono"`` or ``(n_channels, n)`` for ``channels="speakers"``, at
    :attr:`sample_rate`. Use it as a context manager (or call :meth:`close`) to release the
    file.

    Attributes
    ----------
    name : str
        The source's name (path, URL, ``<N bytes>``, ``<array>``).
    info : AudioInfo
        The source's header: native format, rate, channels, duration.
    sample_rate : int
        Rate of the blocks.
    n_channels : int
        Channels per block (1 for ``"mono"``).
    """

    def __init__(self, source: Any, *, sample_rate: int, channels: str, block_seconds: float,
                 truncated: str = "warn", max_seconds: float | None = None):
        if max_seconds is None:
            max_seconds = _DECODE_LIMIT.get()
        if max_seconds is not None and not max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
        self.max_seconds = max_seconds
        if truncated not in ("warn", "error"):
            raise ValueError(f"truncated must be 'warn' or 'error', got {truncated!r}")
        self._truncated = truncated
        if channels not in _CHANNEL_MODES:
            raise ValueError(f"channels must be one of {_CHANNEL_MODES}, got {channels!r}")
        if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if not block_seconds > 0:
            raise ValueError(f"block_seconds must be > 0, got {block_seconds!r}")
        self._opened = _Opened(source)
        self.name = self._opened.name
        self.info = _info(self._opened)
        self.sample_rate = int(sample_rate)
        self.channels = channels
        self.n_channels = 1 if channels == "mono" else self.info.channels
        self._block_frames = max(1, int(round(block_seconds * self.info.sample_rate)))
        if max_seconds is not None:  # never read much past the limit in one block
            self._block_frames = min(self._block_frames,
                                     max(1, int(max_seconds * self.info.sample_rate) + 1))
        self._used = False

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._opened.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._used:
            raise RuntimeError("an AudioStream can be iterated once; open a new one")
        self._used = True
        return self._blocks()

    def _blocks(self) -> Iterator[np.ndarray]:
        import soxr

        native = self.info.sample_rate
        resampler = None
        if native != self.sample_rate:
            resampler = soxr.ResampleStream(native, self.sample_rate, self.n_channels,
                                            dtype="float32", quality="HQ")
        total = 0
        for raw in _reader(self._opened)(self._opened, self._block_frames):
            x = raw.mean(axis=1, dtype=np.float32) if self.channels == "mono" else raw
            if resampler is not None:
                x = resampler.resample_chunk(np.ascontiguousarray(x))
            total += raw.shape[0]
            if self.max_seconds is not None and total > self.max_seconds * native:
                self.close()
                raise AudioTooLongError(
                    f"{self.name}: the decoded audio passed the limit of {self.max_seconds:g} s "
                    f"(its header said {self.info.duration:.1f} s); send a shorter recording "
                    "or split it", limit=self.max_seconds)
            if x.shape[0]:
                yield self._shape(x)
        if total == 0:
            raise BadAudioError(f"{self.name}: no audio: the {self.info.format} file holds no "
                                "samples; check that it was recorded and written completely")
        expected = self.info.frames
        if expected > 0 and total < 0.99 * expected and self.info.format != "array":
            message = (f"{self.name}: the file is truncated: its header announces "
                       f"{expected / native:.1f} s but only {total / native:.1f} s could be "
                       "decoded")
            if self._truncated == "error":
                raise BadAudioError(message + "; re-export or re-upload the complete file")
            warnings.warn(message + "; the results cover the decoded part",
                          TruncatedAudioWarning, stacklevel=2)
        if resampler is not None:
            empty = np.zeros((0,) if self.channels == "mono" else (0, self.n_channels),
                             dtype=np.float32)
            tail = resampler.resample_chunk(empty, last=True)
            if tail.shape[0]:
                yield self._shape(tail)
        self.close()

    def _shape(self, x: np.ndarray) -> np.ndarray:
        if self.channels == "mono":
            return np.ascontiguousarray(x, dtype=np.float32)
        return np.ascontiguousarray(x.T, dtype=np.float32)


def stream(
    source: AudioSource,
    *,
    sample_rate: int = 16000,
    channels: str = "mono",
    block_seconds: float = _DEFAULT_BLOCK_SECONDS,
    truncated: str = "warn",
    max_seconds: float | None = None,
) -> AudioStream:
    """Open audio for reading in blocks: decoded and resampled as it is read.

    Peak memory depends on ``block_seconds``, not on the length of the recording.

    Parameters
    ----------
    source : path, URL, bytes, binary file object, or (array, sample_rate)
        The audio. The format is sniffed from the bytes.
    sample_rate : int
        Rate of the blocks, in Hz.
    channels : {"mono", "speakers"}
        ``"mono"`` mixes all channels down; ``"speakers"`` keeps one channel per speaker
        (stereo call recordings).
    block_seconds : float
        Length of the blocks read from the source, in seconds of native audio.
    truncated : {"warn", "error"}
        A file shorter than its header announces: use the decoded part with a
        `TruncatedAudioWarning`, or raise `BadAudioError` (at the end of the stream).
    max_seconds : float, optional
        Raise `AudioTooLongError` as soon as the decoded audio passes this many seconds
        (counted on the decoded samples, never taken from the header). Default: the limit of
        an enclosing `decode_limit` block, else none.

    Returns
    -------
    AudioStream

    Raises
    ------
    BadAudioError
        The source is missing, empty, not audio, or damaged.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 48000 * 5), dtype=np.float32)  # 5 s of stereo at 48 kHz
    >>> with stream((x, 48000), channels="speakers", block_seconds=2.0) as s:
    ...     shapes = [b.shape for b in s]
    >>> s.info.channels, sum(n for _, n in shapes), shapes[0][0]
    (2, 80000, 2)
    """
    return AudioStream(source, sample_rate=sample_rate, channels=channels,
                       block_seconds=block_seconds, truncated=truncated, max_seconds=max_seconds)


def decode(
    source: AudioSource,
    *,
    sample_rate: int = 16000,
    channels: str = "mono",
) -> tuple[np.ndarray, int]:
    """Decode audio into one float32 array at ``sample_rate``.

    Parameters
    ----------
    source : path, URL, bytes, binary file object, or (array, sample_rate)
        The audio. The format is sniffed from the bytes, never taken from a name or hint.
        An array may be 1-D (mono) or 2-D ``(channels, frames)`` / ``(frames, channels)``
        (the shorter axis is taken as channels); integer arrays are scaled to [-1, 1].
    sample_rate : int
        Target rate in Hz; the audio is resampled once with soxr when it differs.
    channels : {"mono", "speakers"}
        ``"mono"`` averages the channels; ``"speakers"`` keeps them.

    Returns
    -------
    audio : numpy.ndarray
        float32, ``(n,)`` for mono or ``(n_channels, n)`` for speakers.
    sample_rate : int
        The rate of ``audio`` (the one asked for).

    Raises
    ------
    BadAudioError
        Missing, empty (0 bytes or no samples), truncated, or not audio; wrong types.

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros((8000, 2), dtype=np.float32), 8000, format="WAV")
    >>> audio, sr = decode(buf.getvalue(), channels="speakers")
    >>> audio.shape, sr
    ((2, 16000), 16000)
    >>> decode(b"not audio at all")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.BadAudioError: <16 bytes>: not a recognised audio file ...
    """
    with stream(source, sample_rate=sample_rate, channels=channels) as s:
        blocks = list(s)
        axis = 0 if channels == "mono" else 1
        audio = np.concatenate(blocks, axis=axis) if len(blocks) > 1 else blocks[0]
    return np.ascontiguousarray(audio, dtype=np.float32), s.sample_rate


def probe(source: AudioSource) -> AudioInfo:
    """Read a recording's format, rate, channels and duration without decoding it.

    Parameters
    ----------
    source : path, URL, bytes, binary file object, or (array, sample_rate)

    Returns
    -------
    AudioInfo

    Raises
    ------
    BadAudioError
        Missing, empty, or not audio.

    Examples
    --------
    >>> import io, numpy as np, soundfile as sf
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros(24000, dtype=np.float32), 8000, format="FLAC")
    >>> info = probe(buf.getvalue())
    >>> info.format, info.sample_rate, info.channels, info.duration, info.encoding
    ('flac', 8000, 1, 3.0, 'FLAC')
    """
    opened = _Opened(source)
    try:
        return _info(opened)
    finally:
        opened.close()


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample float audio (``(n,)`` or ``(channels, n)``) with soxr; a no-op at equal rates.

    >>> import numpy as np
    >>> resample(np.zeros(8000, dtype=np.float32), 8000, 16000).shape
    (16000,)
    """
    import soxr

    x = np.asarray(audio, dtype=np.float32)
    if int(orig_rate) == int(target_rate):
        return x
    if x.ndim == 2:
        return np.ascontiguousarray(soxr.resample(x.T, orig_rate, target_rate).T)
    return soxr.resample(x, orig_rate, target_rate)
