"""Audio in: decode, probe, resample, channels, base64 and streaming blocks.

Everything an engine sees goes through this module once: the format is sniffed from the
bytes (a file name or an ``encoding`` hint is never trusted), the audio is decoded, mixed
down to mono (or kept one channel per speaker) and resampled once, with soxr, to the rate
the engine wants.

=======================================  ==============================================
source                                   decoded by
=======================================  ==============================================
WAV, FLAC, OGG/Vorbis, OGG/Opus, MP3,    soundfile (libsndfile, a core dependency)
AIFF, CAF, AU
m4a/AAC, mp4, webm/Matroska, ADTS AAC,   PyAV (``av``, FFmpeg's codecs inside a wheel:
AMR                                      ``pip install 'emotion_analytics[media]'``)
=======================================  ==============================================

A source is a path (``str`` or `pathlib.Path`), a URL (``s3://``, ``gs://``, ``az://``,
``http(s)://``, ``file://``: read as a ranged stream through fsspec, see
`emotion_analytics.storage`), raw bytes, a binary file object, or a tuple
``(array, sample_rate)``. Long recordings are never
held in memory whole: `stream` yields fixed-size blocks that are decoded and resampled as
they are read, which is what `emotion_analytics.recognise` uses.

Bad audio raises `emotion_analytics.BadAudioError`, whose message names the source, says
what is wrong and what to do.

>>> import numpy as np
>>> x, sr = decode((np.zeros(44100, dtype=np.float32), 44100), sample_rate=16000)
>>> x.shape, x.dtype, sr
((16000,), dtype('float32'), 16000)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import io
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from . import storage as _storage
from .errors import AudioTooLongError, BadAudioError, require

__all__ = [
    "TruncatedAudioWarning",
    "AudioTooLongError",
    "AudioInfo",
    "AudioSource",
    "AudioStream",
    "decode",
    "probe",
    "stream",
    "resample",
    "decode_limit",
    "sniff_format",
    "source_name",
    "to_base64",
    "from_base64",
]

#: Anything `decode`, `probe` and `stream` accept.
AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], tuple]  # noqa: UP007

#: Formats read by soundfile (libsndfile); the others need PyAV.
_SOUNDFILE_FORMATS = frozenset({"wav", "flac", "ogg", "opus", "mp3", "aiff", "caf", "au"})
_AV_FORMATS = frozenset({"mp4", "webm", "matroska", "aac", "amr"})
_CHANNEL_MODES = ("mono", "speakers")
_SNIFF_BYTES = 64
_DEFAULT_BLOCK_SECONDS = 30.0

# DeepAffects ``encoding`` names for the request body (see AudioInfo.encoding)
_ENCODINGS = {
    "wav": "LINEAR16", "flac": "FLAC", "mp3": "MP3", "ogg": "OGG_VORBIS", "opus": "OGG_OPUS",
    "mp4": "AAC", "aac": "AAC", "webm": "WEBM_OPUS", "amr": "AMR",
}


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


class TruncatedAudioWarning(UserWarning):
    """A file ended before the length its header announces; the decoded part is used."""


@dataclass(frozen=True)
class AudioInfo:
    """What a recording is, read from its header without decoding it.

    Attributes
    ----------
    format : str
        Container sniffed from the bytes: ``"wav"``, ``"flac"``, ``"ogg"``, ``"opus"``,
        ``"mp3"``, ``"mp4"``, ``"webm"``, ``"matroska"``, ``"aac"``, ``"amr"``, ``"aiff"``,
        ``"caf"``, ``"au"``, or ``"array"`` for an in-memory array.
    codec : str
        The sample encoding, e.g. ``"PCM_16"``, ``"FLAC"`` ... (soundfile subtype names) or the
        FFmpeg codec name (``"aac"``, ``"opus"``) for containers read with PyAV.
    sample_rate : int
        Native sampling rate in Hz.
    channels : int
        Number of channels.
    duration : float
        Length in seconds (NaN when the container does not say).
    frames : int
        Length in samples per channel at ``sample_rate`` (-1 when unknown).
    """

    format: str
    codec: str
    sample_rate: int
    channels: int
    duration: float
    frames: int

    @property
    def encoding(self) -> str:
        """The DeepAffects request ``encoding`` name for this format (a hint for servers).

        >>> AudioInfo("wav", "PCM_16", 8000, 1, 1.0, 8000).encoding
        'LINEAR16'
        """
        return _ENCODINGS.get(self.format, self.format.upper())


# --------------------------------------------------------------------------------------------
# sources


def source_name(source: Any) -> str:
    """A short human name of an audio source, for messages and the table's ``file`` column.

    >>> source_name("calls/a.wav"), source_name(b"RIFF0000"), source_name((None, 8000))
    ('calls/a.wav', '<8 bytes>', '<array>')
    """
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, tuple):
        return "<array>"
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(source).__name__}>"


def sniff_format(head: bytes) -> str | None:
    """The audio container of some bytes, from their first bytes only (``None``: unknown).

    Parameters
    ----------
    head : bytes
        The first bytes of a file (64 are enough).

    Returns
    -------
    str or None
        One of the `AudioInfo.format` names.

    Examples
    --------
    >>> sniff_format(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt "), sniff_format(b"fLaC\\x00")
    ('wav', 'flac')
    >>> sniff_format(b"\\x00\\x00\\x00\\x20ftypM4A "), sniff_format(b"hello") is None
    ('mp4', True)
    """
    head = bytes(head[:_SNIFF_BYTES])
    if len(head) < 4:
        return None
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head else "ogg"
    if head[:3] == b"ID3":
        return "mp3"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head else "matroska"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"caff":
        return "caf"
    if head[:4] == b".snd":
        return "au"
    if head[:5] == b"#!AMR":
        return "amr"
    if head[0] == 0xFF and len(head) >= 2:
        if head[1] & 0xF6 == 0xF0:  # ADTS: sync 0xFFF, layer bits 00
            return "aac"
        if head[1] & 0xE0 == 0xE0 and (head[1] >> 1) & 0x3 != 0:  # MPEG audio frame sync
            return "mp3"
    return None


class _Opened:
    """A source opened for reading: a seekable binary file object, its head, its name."""

    def __init__(self, source: Any):
        self.name = source_name(source)
        self.array: np.ndarray | None = None
        self.array_rate = 0
        self.file: IO[bytes] | None = None
        self.head = b""
        self.use_av = False
        self._owns = False
        if isinstance(source, tuple):
            self.array, self.array_rate = _check_array(source, self.name)
            self.format = "array"
            return
        if isinstance(source, np.ndarray):
            raise BadAudioError(
                "a bare numpy array has no sample rate: pass (array, sample_rate), or "
                "recognise(array, sample_rate=...)"
            )
        if isinstance(source, str) and _storage.protocol(source) is not None:
            if _storage.is_url(source):  # s3://, gs://, az://, http(s)://: a ranged stream
                source = _storage.open_url(source)
                self._owns = True
            else:  # file://
                source = _storage.local_path(source)
        if isinstance(source, (str, os.PathLike)):
            self.file = self._open_path(Path(source))
            self._owns = True
        elif isinstance(source, (bytes, bytearray, memoryview)):
            if len(source) == 0:
                raise BadAudioError(f"{self.name}: no audio: the bytes are empty; pass the "
                                    "content of an audio file")
            self.file = io.BytesIO(bytes(source))
        elif hasattr(source, "read"):
            self.file = _seekable(source, self.name)
        else:
            raise BadAudioError(
                f"cannot read audio from a {type(source).__name__}; pass a path, bytes, a binary "
                "file object, or (array, sample_rate)"
            )
        start = self.file.tell()
        head = self.file.read(_SNIFF_BYTES)
        self.file.seek(start)
        if isinstance(head, str):
            raise BadAudioError(f"{self.name}: the file object is open in text mode; open it "
                                "with 'rb'")
        if not head:
            raise BadAudioError(f"{self.name}: no audio: the file is empty (0 bytes); check "
                                "that it was written completely")
        self.format = sniff_format(head) or "unknown"
        self.head = head

    def _open_path(self, path: Path) -> IO[bytes]:
        if path.is_dir():
            raise BadAudioError(f"{path}: is a folder, not an audio file; pass the files inside "
                                "it (e.g. a glob)")
        try:
            size = path.stat().st_size
            handle = open(path, "rb")  # noqa: SIM115  (closed by close())
        except FileNotFoundError:
            raise BadAudioError(f"{path}: file not found; check the path") from None
        except OSError as exc:
            raise BadAudioError(f"{path}: cannot open the file ({exc.strerror})") from None
        if size == 0:
            handle.close()
            raise BadAudioError(f"{path}: no audio: the file is empty (0 bytes); check that it "
                                "was written completely")
        return handle

    def close(self) -> None:
        if self._owns and self.file is not None:
            self.file.close()


def _seekable(fobj: Any, name: str) -> IO[bytes]:
    try:
        if fobj.seekable():
            return fobj
    except (AttributeError, OSError, ValueError):
        pass
    data = fobj.read()
    if isinstance(data, str):
        raise BadAudioError(f"{name}: the file object is open in text mode; open it with 'rb'")
    return io.BytesIO(data)


def _check_array(source: tuple, name: str) -> tuple[np.ndarray, int]:
    """``(array, rate)`` -> float32 ``(frames, channels)`` and the rate, or BadAudioError."""
    if len(source) != 2:
        raise BadAudioError(f"{name}: expected (array, sample_rate), got a tuple of "
                            f"{len(source)} items")
    array, rate = source
    try:
        rate_value = float(rate)
    except (TypeError, ValueError):
        raise BadAudioError(f"sample rate must be a number of Hz, got {rate!r}") from None
    if not (np.isfinite(rate_value) and rate_value > 0 and rate_value == int(rate_value)):
        raise BadAudioError(f"sample rate must be a positive whole number of Hz, got {rate!r}")
    x = np.asarray(array)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) and x.dtype.kind != "c"):
        raise BadAudioError(f"the audio array must hold real numbers, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim == 2:
        # channels are the short axis: (channels, frames) as librosa, or (frames, channels)
        if x.shape[0] < x.shape[1]:
            x = x.T
    else:
        raise BadAudioError(f"the audio array must be 1-D (mono) or 2-D (channels and frames), "
                            f"got shape {x.shape}")
    if x.shape[0] == 0:
        raise BadAudioError("no audio: the array is empty")
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        scale = float(max(abs(info.min), info.max))
        offset = (info.max + 1) / 2 if x.dtype.kind == "u" else 0.0
        x = ((x.astype(np.float64) - offset) / scale).astype(np.float32)
    else:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            raise BadAudioError("the audio array contains NaN or infinite values")
    return x, int(rate_value)


# --------------------------------------------------------------------------------------------
# native-rate readers: each yields float32 (frames, channels) blocks


def _soundfile_info(opened: _Opened) -> AudioInfo:
    import soundfile as sf

    try:
        info = sf.info(opened.file)
    except Exception as exc:  # libsndfile raises RuntimeError/LibsndfileError/TypeError
        raise _decode_error(opened, exc) from None
    finally:
        opened.file.seek(0)
    fmt = opened.format if opened.format != "unknown" else str(info.format).lower()
    frames = int(info.frames)
    if fmt == "wav":  # libsndfile trusts the file's size: the header says what was written
        frames = max(frames, _wav_declared_frames(opened.file) or 0)
    return AudioInfo(fmt, str(info.subtype), int(info.samplerate), int(info.channels),
                     frames / info.samplerate if info.samplerate else float("nan"), frames)


def _wav_declared_frames(file: IO[bytes]) -> int | None:
    """Frames that a RIFF/WAVE header announces in its ``data`` chunk (``None``: unknown).

    A WAV cut short (an interrupted upload or copy) still opens in libsndfile, which then
    reports only the frames that are there; the header keeps the length that was written.
    """
    try:
        file.seek(0)
        head = file.read(1 << 16)
    finally:
        file.seek(0)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None  # RF64/W64 and others: nothing to compare
    pos, block_align = 12, 0
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if chunk == b"fmt " and pos + 22 <= len(head):
            block_align = int.from_bytes(head[pos + 20:pos + 22], "little")
        if chunk == b"data":
            if not block_align or size in (0, 0xFFFFFFFF):  # streamed: length unknown
                return None
            return size // block_align
        pos += 8 + size + (size & 1)
    return None


def _soundfile_blocks(opened: _Opened, block_frames: int) -> Iterator[np.ndarray]:
    import soundfile as sf

    try:
        with sf.SoundFile(opened.file) as f:
            while True:
                block = f.read(block_frames, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    return
                yield block
                if block.shape[0] < block_frames:
                    return
    except BadAudioError:
        raise
    except Exception as exc:
        raise _decode_error(opened, exc) from None


def _av_module():
    return require("av", "media")


def _av_open(opened: _Opened):
    av = _av_module()
    opened.file.seek(0)
    try:
        container = av.open(opened.file, mode="r")
    except Exception as exc:  # av.FFmpegError and friends
        raise _decode_error(opened, exc) from None
    if not container.streams.audio:
        container.close()
        raise BadAudioError(f"{opened.name}: the {opened.format} file has no audio stream")
    return container


def _av_info(opened: _Opened) -> AudioInfo:
    container = _av_open(opened)
    try:
        st = container.streams.audio[0]
        rate = int(st.rate or st.codec_context.sample_rate or 0)
        channels = int(st.codec_context.channels or len(st.layout.channels) or 1)
        if st.duration is not None and st.time_base is not None:
            duration = float(st.duration * st.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = float("nan")
        frames = int(round(duration * rate)) if np.isfinite(duration) and rate else -1
        return AudioInfo(opened.format, str(st.codec_context.name), rate, channels, duration,
                         frames)
    finally:
        container.close()
        opened.file.seek(0)


def _av_blocks(opened: _Opened, block_frames: int) -> Iterator[np.ndarray]:
    av = _av_module()
    container = _av_open(opened)
    pending: list[np.ndarray] = []
    n_pending = 0
    try:
        st = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        for packet in container.demux(st):
            for frame in packet.decode():
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().T)
                    n_pending += pending[-1].shape[0]
            if n_pending >= block_frames:
                yield np.concatenate(pending).astype(np.float32, copy=False)
                pending, n_pending = [], 0
        for out in resampler.resample(None):
            pending.append(out.to_ndarray().T)
    except BadAudioError:
        raise
    except Exception as exc:
        raise _decode_error(opened, exc) from None
    finally:
        container.close()
    if pending:
        yield np.concatenate(pending).astype(np.float32, copy=False)


def _array_blocks(opened: _Opened, block_frames: int) -> Iterator[np.ndarray]:
    x = opened.array
    for i in range(0, x.shape[0], block_frames):
        yield x[i : i + block_frames]


def _decode_error(opened: _Opened, exc: BaseException) -> BadAudioError:
    reason = re.sub(r"^Error (opening )?(<[^>]*>|'[^']*'|\S*)\s*:\s*", "", str(exc).strip())
    reason = reason or type(exc).__name__
    if opened.format == "unknown":
        head = opened.head[:8]
        return BadAudioError(
            f"{opened.name}: not a recognised audio file (it starts with {head!r}); supported: "
            "WAV, FLAC, OGG/Opus, MP3, and with the 'media' extra m4a/AAC, mp4, webm"
        )
    return BadAudioError(
        f"{opened.name}: cannot decode the {opened.format} audio, it may be damaged or "
        f"truncated ({reason}); re-export or re-download the file"
    )


# --------------------------------------------------------------------------------------------
# the stream


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


def _info(opened: _Opened) -> AudioInfo:
    if opened.array is not None:
        n, c = opened.array.shape
        return AudioInfo("array", "float32", opened.array_rate, c, n / opened.array_rate, n)
    if opened.format in _AV_FORMATS:
        return _av_info(opened)
    try:
        return _soundfile_info(opened)
    except BadAudioError:
        if opened.format in _SOUNDFILE_FORMATS or not _has_av():
            raise
    # an unknown or odd container: let FFmpeg try before giving up
    try:
        info = _av_info(opened)
    except BadAudioError:
        raise _decode_error(opened, ValueError("unreadable")) from None
    opened.use_av = True
    return info


def _reader(opened: _Opened):
    if opened.array is not None:
        return _array_blocks
    if opened.format in _AV_FORMATS or opened.use_av:
        return _av_blocks
    return _soundfile_blocks


def _has_av() -> bool:
    try:
        _av_module()
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# public functions


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


def to_base64(source: str | os.PathLike | bytes | bytearray | IO[bytes]) -> str:
    """The base64 text of an audio file's bytes (as sent in a request's ``content``).

    The bytes are sent as they are: nothing is decoded or re-encoded.

    >>> to_base64(b"RIFF")
    'UklGRg=='
    """
    if isinstance(source, (str, os.PathLike)):
        data = Path(source).read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise BadAudioError(f"cannot base64-encode a {type(source).__name__}; pass a path, "
                            "bytes or a binary file object")
    return base64.b64encode(data).decode("ascii")


def from_base64(text: str | bytes, *, source: str = "content") -> bytes:
    """Decode base64 audio content (standard or URL-safe alphabet, ``data:`` URIs accepted).

    Parameters
    ----------
    text : str or bytes
        The base64 text.
    source : str
        What to call it in an error message (e.g. the request field).

    Raises
    ------
    BadAudioError
        Not valid base64, or empty.

    Examples
    --------
    >>> from_base64("UklGRg==")
    b'RIFF'
    >>> from_base64("not base64!")
    Traceback (most recent call last):
    ...
    emotion_analytics.errors.BadAudioError: content: not valid base64 ...
    """
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    if not isinstance(text, str):
        raise BadAudioError(f"{source}: expected base64 text, got {type(text).__name__}")
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4)
    try:
        if "-" in compact or "_" in compact:
            data = base64.b64decode(compact, altchars=b"-_", validate=True)
        else:
            data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise BadAudioError(
            f"{source}: not valid base64 text; send the audio file's bytes base64-encoded"
        ) from None
    if not data:
        raise BadAudioError(f"{source}: no audio: the content is empty")
    return data
