"""Make the sample recordings in ``data/`` with espeak-ng: small, two speakers, two deliveries.

Run once by a maintainer (the output is committed, so neither CI nor users need espeak-ng)::

    apt-get install -y espeak-ng          # or: brew install espeak-ng
    python scripts/make_sample_audio.py   # writes data/*.wav, data/*.ogg, data/*.rttm

The script is deterministic for a given espeak-ng version (the background noise is seeded).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 16000
NOISE_DBFS = -66.0  # a quiet room, so the speech detector has a floor to measure

# delivery -> espeak-ng flags: speed (words/min), pitch (0-99), amplitude (0-200), word gap
DELIVERY = {
    "calm": dict(speed=150, pitch=35, amplitude=70, gap=2),
    "agitated": dict(speed=205, pitch=78, amplitude=190, gap=0),
}
VOICES = {"agent": "en-gb+m3", "customer": "en-us+f3"}

CONVERSATION = [  # (speaker, delivery, text)
    ("agent", "calm", "Good morning, thank you for calling. How can I help you?"),
    ("customer", "agitated", "I have been waiting for my refund for three weeks! "
     "Nobody answers my emails!"),
    ("agent", "calm", "I am sorry to hear that. Let me look at your account."),
    ("customer", "agitated", "This is the fourth time I call you people! I want my money back "
     "today!"),
    ("agent", "calm", "I can see the refund here, and I will send it today."),
    ("customer", "calm", "Alright. Thank you."),
]

CALL = [  # the stereo call: agent on the left channel, customer on the right
    ("agent", "calm", "Hello, this is the billing team. What can I do for you?"),
    ("customer", "calm", "Hi. I have a question about my last invoice."),
    ("agent", "calm", "Of course. What is the invoice number?"),
    ("customer", "agitated", "It says I owe two hundred euros! That is completely wrong! "
     "I cancelled that contract months ago!"),
    ("agent", "calm", "I see the cancellation. The charge is a mistake. I will remove it."),
    ("customer", "agitated", "You always say that, and then the same bill comes back!"),
    ("agent", "calm", "It is removed now, and you will get a written confirmation."),
]


def speak(text: str, voice: str, delivery: str, espeak: str) -> np.ndarray:
    """Synthesise one turn with espeak-ng; float32 mono at RATE."""
    d = DELIVERY[delivery]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "turn.wav"
        subprocess.run(
            [espeak, "-v", voice, "-s", str(d["speed"]), "-p", str(d["pitch"]),
             "-a", str(d["amplitude"]), "-g", str(d["gap"]), "-w", str(out), text],
            check=True,
        )
        x, sr = sf.read(out, dtype="float32")
    return soxr.resample(x, sr, RATE).astype(np.float32)


def assemble(turns, espeak: str, *, channels: int, rng: np.random.Generator):
    """Place the turns one after another with short pauses; return audio and speaker turns."""
    pieces: list[tuple[int, np.ndarray]] = []  # (channel, audio) with pauses as None
    rttm = []
    t = int(0.6 * RATE)
    for i, (speaker, delivery, text) in enumerate(turns):
        x = speak(text, VOICES[speaker], delivery, espeak)
        ch = 0 if channels == 1 else list(VOICES).index(speaker)
        pieces.append((t, ch, x))
        rttm.append((speaker, t / RATE, len(x) / RATE))
        pause = 0.35 if turns[min(i + 1, len(turns) - 1)][1] == "agitated" else 0.7
        t += len(x) + int(pause * RATE)
    total = t + int(0.5 * RATE)
    audio = np.zeros((channels, total), dtype=np.float32)
    for start, ch, x in pieces:
        audio[ch, start : start + len(x)] += x
    audio += (10 ** (NOISE_DBFS / 20) * rng.standard_normal(audio.shape)).astype(np.float32)
    audio *= 0.9 / np.abs(audio).max()
    return audio, rttm


def write_rttm(path: Path, file_id: str, turns) -> None:
    lines = [f"SPEAKER {file_id} 1 {start:.3f} {dur:.3f} <NA> <NA> {speaker} <NA> <NA>"
             for speaker, start, dur in turns]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=Path(__file__).resolve().parents[1] / "data", type=Path)
    args = parser.parse_args()
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is not installed: apt-get install -y espeak-ng")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240601)

    audio, turns = assemble(CONVERSATION, espeak, channels=1, rng=rng)
    sf.write(args.out / "conversation.wav", audio[0], RATE, subtype="PCM_16")
    write_rttm(args.out / "conversation.rttm", "conversation", turns)

    audio, turns = assemble(CALL, espeak, channels=2, rng=rng)
    # Opus, the codec of VoIP calls, keeps the stereo call small
    sf.write(args.out / "call_stereo.ogg", audio.T, RATE, format="OGG", subtype="OPUS")
    write_rttm(args.out / "call_stereo.rttm", "call_stereo", turns)
    for f in sorted(args.out.glob("*")):
        if f.suffix in (".wav", ".ogg", ".rttm"):
            print(f"{f.name}: {f.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
