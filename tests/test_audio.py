"""Audio decoding: formats sniffed from bytes, rates, channels, sources, bad input, streaming."""

from __future__ import annotations

import http.server
import io
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion_analytics import BadAudioError, audio

SR = 16000


def tone(freq: float, seconds: float, rate: int, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


def encode(x: np.ndarray, rate: int, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, **kw)
    return buf.getvalue()


def encode_av(x: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    av = pytest.importorskip("av")
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as c:
        st = c.add_stream(codec, rate=rate)
        st.layout = "mono"
        frame = av.AudioFrame.from_ndarray(x[None, :], format="fltp", layout="mono")
        frame.rate = rate
        for packet in st.encode(frame):
            c.mux(packet)
        for packet in st.encode(None):
            c.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize(
    "fmt, kw, name",
    [("WAV", {}, "wav"), ("FLAC", {}, "flac"), ("OGG", {"subtype": "VORBIS"}, "ogg"),
     ("MP3", {}, "mp3")],
)
def test_soundfile_formats_decode_to_16k_mono(fmt, kw, name):
    data = encode(tone(440, 2.0, 44100), 44100, fmt, **kw)
    info = audio.probe(data)
    assert (info.format, info.sample_rate, info.channels) == (name, 44100, 1)
    x, sr = audio.decode(data)
    assert sr == SR and x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) - 2 * SR) < 0.06 * SR  # mp3 adds encoder delay
    assert abs(peak_hz(x, SR) - 440) < 5


def test_opus_in_ogg():
    data = encode(tone(300, 2.0, 48000), 48000, "OGG", subtype="OPUS")
    assert audio.probe(data).format == "opus"
    x, _ = audio.decode(data)
    assert abs(peak_hz(x, SR) - 300) < 5


@pytest.mark.parametrize("container, codec, name", [("mp4", "aac", "mp4"),
                                                    ("webm", "libopus", "webm")])
def test_containers_from_phones_and_meetings(container, codec, name):
    rate = 48000
    data = encode_av(tone(500, 2.0, rate), rate, container, codec)
    info = audio.probe(data)
    assert info.format == name and info.sample_rate == rate and info.duration == pytest.approx(
        2.0, abs=0.1)
    x, _ = audio.decode(data)
    assert abs(len(x) / SR - 2.0) < 0.1
    assert abs(peak_hz(x, SR) - 500) < 5


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_any_rate_is_resampled_once(rate):
    x, sr = audio.decode((tone(1000, 1.5, rate), rate), sample_rate=SR)
    assert sr == SR and len(x) == int(1.5 * SR)
    assert abs(peak_hz(x, SR) - 1000) < 3


def test_format_comes_from_the_bytes_not_the_name(tmp_path):
    path = tmp_path / "looks_like.wav"
    path.write_bytes(encode(tone(200, 1.0, 8000), 8000, "FLAC"))
    assert audio.probe(path).format == "flac"
    assert audio.decode(path)[0].shape == (SR,)


def test_channels_mono_mix_and_speakers():
    left, right = tone(200, 1.0, SR, 0.4), tone(700, 1.0, SR, 0.1)
    data = encode(np.stack([left, right], axis=1), SR, "WAV", subtype="FLOAT")
    mono, _ = audio.decode(data)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)
    both, _ = audio.decode(data, channels="speakers")
    assert both.shape == (2, SR)
    assert abs(peak_hz(both[0], SR) - 200) < 3 and abs(peak_hz(both[1], SR) - 700) < 3
    with pytest.raises(ValueError, match="channels"):
        audio.decode(data, channels="left")


def test_every_kind_of_source_gives_the_same_audio(tmp_path):
    x = tone(330, 1.0, SR)
    data = encode(x, SR, "WAV", subtype="FLOAT")
    path = tmp_path / "a.wav"
    path.write_bytes(data)
    ref, _ = audio.decode(data)
    for source in (path, str(path), io.BytesIO(data), bytearray(data), (x, SR)):
        np.testing.assert_allclose(audio.decode(source)[0], ref, atol=1e-6)


def test_arrays_int_scaling_and_orientation():
    x = (tone(250, 1.0, SR) * 32767 / 0.3 * 0.5).astype(np.int16)
    y, _ = audio.decode((x, SR))
    assert 0.49 < np.abs(y).max() <= 0.5
    stereo = np.stack([tone(200, 1.0, SR), np.zeros(SR, np.float32)])
    a, _ = audio.decode((stereo, SR), channels="speakers")
    b, _ = audio.decode((stereo.T, SR), channels="speakers")
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, SR)


@pytest.mark.parametrize(
    "source, message",
    [(b"", "empty"), (b"hello, this is text and not audio", "not a recognised audio"),
     (np.zeros(100), "sample rate"), ((np.zeros(10), "fast"), "sample rate"),
     ((np.array([0.1, np.nan] * 100), SR), "NaN"), ((np.zeros(0), SR), "empty"),
     (12345, "cannot read audio from a int"), ((np.zeros((2, 2, 2)), SR), "1-D")],
)
def test_bad_sources_raise_clear_errors(source, message):
    with pytest.raises(BadAudioError, match=message):
        audio.decode(source)


def test_bad_files_name_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(BadAudioError, match=r"empty\.wav: no audio: the file is empty \(0 bytes"):
        audio.decode(empty)
    with pytest.raises(BadAudioError, match="missing.wav: file not found"):
        audio.probe(tmp_path / "missing.wav")
    with pytest.raises(BadAudioError, match="is a folder"):
        audio.decode(tmp_path)
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(encode(tone(200, 1.0, SR), SR, "WAV")[:30])
    with pytest.raises(BadAudioError, match="header.wav: cannot decode the wav audio"):
        audio.decode(header_only)


def test_a_wav_header_without_samples_is_no_audio():
    with pytest.raises(BadAudioError, match="no audio"):
        audio.decode(encode(np.zeros(0, np.float32), SR, "WAV"))


def test_truncated_files_error_or_warn_never_crash():
    x = 0.1 * np.random.default_rng(1).standard_normal(5 * SR).astype(np.float32)
    for fmt in ("WAV", "FLAC", "MP3", "OGG"):
        data = encode(x, SR, fmt)
        half = data[: len(data) // 2]
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                y, _ = audio.decode(half)
            except BadAudioError as exc:
                assert "damaged or truncated" in str(exc)
            else:
                assert 0 < len(y) < len(x)


def test_stream_blocks_are_bounded_and_add_up():
    x = tone(150, 20.0, 44100)
    with audio.stream((x, 44100), block_seconds=2.0) as s:
        blocks = list(s)
    assert max(len(b) for b in blocks) <= 2.1 * SR  # soxr may hold back or release a little
    whole, _ = audio.decode((x, 44100))
    np.testing.assert_allclose(np.concatenate(blocks), whole, atol=1e-6)
    with pytest.raises(RuntimeError, match="once"):
        iter(s)


def test_probe_reads_the_header_only(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, np.zeros((8000 * 30, 2), np.float32), 8000, format="FLAC")
    info = audio.probe(path)
    assert (info.sample_rate, info.channels, info.frames) == (8000, 2, 240000)
    assert info.duration == 30.0 and info.encoding == "FLAC"


def test_sniff_known_magic_numbers():
    assert audio.sniff_format(b"OggS" + b"\0" * 24 + b"OpusHead") == "opus"
    assert audio.sniff_format(b"ID3\x04") == "mp3"
    assert audio.sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert audio.sniff_format(b"\xff\xf1\x50\x80") == "aac"
    assert audio.sniff_format(b"\x1a\x45\xdf\xa3....webm") == "webm"
    assert audio.sniff_format(b"\x00\x01") is None


def test_base64_round_trip_and_errors():
    data = encode(tone(200, 0.5, SR), SR, "WAV")
    text = audio.to_base64(data)
    assert audio.from_base64(text) == data
    assert audio.from_base64("data:audio/wav;base64," + text) == data
    assert audio.from_base64(text.replace("+", "-").replace("/", "_")) == data
    with pytest.raises(BadAudioError, match="request.content: not valid base64"):
        audio.from_base64("%%%%", source="request.content")
    with pytest.raises(BadAudioError, match="empty"):
        audio.from_base64("")


def test_url_source_is_downloaded(tmp_path):
    (tmp_path / "a.flac").write_bytes(encode(tone(200, 1.0, SR), SR, "FLAC"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert audio.decode(f"{base}/a.flac")[0].shape == (SR,)
        with pytest.raises(BadAudioError, match="HTTP 404"):
            audio.decode(f"{base}/missing.wav")
    finally:
        server.shutdown()


def test_sample_files_decode(sample_dir: Path):
    call, _ = audio.decode(sample_dir / "call_stereo.ogg", channels="speakers")
    assert call.shape[0] == 2
    conv = audio.probe(sample_dir / "conversation.wav")
    assert conv.channels == 1 and 20 <= conv.duration <= 60


def test_a_cut_off_wav_is_noticed_from_its_header():
    x = 0.1 * np.random.default_rng(2).standard_normal(4 * SR).astype(np.float32)
    cut = encode(x, SR, "WAV")[: 44 + 2 * SR]  # header + 1 s of the 4 s it announces
    assert audio.probe(cut).duration == pytest.approx(4.0)
    with pytest.warns(audio.TruncatedAudioWarning, match=r"announces 4.0 s but only 1.0 s"):
        y, _ = audio.decode(cut)
    assert len(y) == SR
    with pytest.raises(BadAudioError, match="truncated.*re-upload the complete file"):
        with audio.stream(cut, truncated="error") as s:
            list(s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole, _ = audio.decode(encode(x, SR, "WAV"))  # a complete file: no warning
    assert len(whole) == len(x)
