"""Write the app's example clips (16 kHz mono 16-bit WAV) with the project's own synthesizer.

`python examples/make_examples.py` regenerates them (deterministic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from sotdemo.views import synthesize

SR = 16000
HERE = Path(__file__).resolve().parent


def melody_with_gaps() -> np.ndarray:
    """C4 E4 G4 C5 with silences between the notes and a burst of noise at the end: voicing demo."""
    gap = np.zeros(int(0.25 * SR), dtype=np.float32)
    parts = []
    for f0 in (261.63, 329.63, 392.0, 523.25):
        note = synthesize(f0, 10, -5, -70, 5, 20, 0.6).audio
        fade = np.minimum(1, np.minimum(np.arange(len(note)), np.arange(len(note))[::-1]) / 320)
        parts += [0.7 * note * fade, gap]
    parts.append(0.2 * np.random.default_rng(1).standard_normal(int(0.6 * SR)).astype(np.float32))
    return np.concatenate(parts)


def main() -> None:
    clips = {
        "a3_220hz_tone.wav": synthesize(220.0, 8, -6, -70, 0, 0, 2.0).audio,
        "e4_vibrato.wav": synthesize(329.63, 10, -4, -60, 5.5, 40, 2.5).audio,
        "e2_bass_82hz.wav": synthesize(82.41, 16, -3, -70, 0, 0, 2.0).audio,
        "melody_gaps_noise.wav": melody_with_gaps(),
    }
    for name, audio in clips.items():
        sf.write(HERE / name, audio, SR, subtype="PCM_16")
        print(f"{name}: {len(audio) / SR:.2f} s")


if __name__ == "__main__":
    main()
