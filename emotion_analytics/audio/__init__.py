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

Rooms: ``sources`` (names, sniffing the container, opening, base64), ``backends`` (soundfile,
PyAV, arrays), ``streaming`` (`stream`, `decode`, `probe`, `resample`, `decode_limit`). Every
public name is importable from here.
"""

from __future__ import annotations

from ..errors import AudioTooLongError
from .sources import (
    AudioInfo,
    AudioSource,
    TruncatedAudioWarning,
    from_base64,
    sniff_format,
    source_name,
    to_base64,
)
from .streaming import AudioStream, decode, decode_limit, probe, resample, stream

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
