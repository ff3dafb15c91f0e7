"""Decoding back-ends: each reads a source at its native rate in float32 ``(frames, channels)``
blocks: soundfile (libsndfile) for WAV, FLAC, OGG, MP3 and the like; PyAV (FFmpeg, the
``media`` extra) for m4a/AAC, mp4, webm and AMR, and for odd containers soundfile cannot read;
in-memory arrays as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

import numpy as np

from ..errors import BadAudioError, require
from .sources import _AV_FORMATS, _SOUNDFILE_FORMATS, AudioInfo, _Opened


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
