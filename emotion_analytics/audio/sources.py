"""What a source is: its name, its container (sniffed from the bytes), opening it, base64.

A source is a path, a URL (read as a ranged stream through `emotion_analytics.storage`), raw
bytes, a binary file object, or ``(array, sample_rate)``; `AudioInfo` is what its header says.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from .. import storage as _storage
from ..errors import BadAudioError

__all__ = ["AudioInfo", "AudioSource", "TruncatedAudioWarning", "from_base64", "sniff_format",
           "source_name", "to_base64"]

#: Anything `decode`, `probe` and `stream` accept.
AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], tuple]  # noqa: UP007

#: Formats read by soundfile (libsndfile); the others need PyAV.
_SOUNDFILE_FORMATS = frozenset({"wav", "flac", "ogg", "opus", "mp3", "aiff", "caf", "au"})
_AV_FORMATS = frozenset({"mp4", "webm", "matroska", "aac", "amr"})

_SNIFF_BYTES = 64


# DeepAffects ``encoding`` names for the request body (see AudioInfo.encoding)
_ENCODINGS = {
    "wav": "LINEAR16", "flac": "FLAC", "mp3": "MP3", "ogg": "OGG_VORBIS", "opus": "OGG_OPUS",
    "mp4": "AAC", "aac": "AAC", "webm": "WEBM_OPUS", "amr": "AMR",
}


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
