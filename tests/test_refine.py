"""f0 refinement on the partials (`sotdemo.refine`), against analytic tones with known f0."""

from __future__ import annotations

import numpy as np
import pytest

from sotdemo import refine, signals
from sotdemo.estimate import estimate
from sotdemo.voicing import FramePower

SR = 16000


def _cents(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    return 1200 * np.log2(np.asarray(a) / b)


@pytest.mark.parametrize("bin_offset", [0.0, 0.23, 0.5, 0.81])
def test_partial_peak_frequency_of_a_sine_between_bins(bin_offset: float) -> None:
    size = 2048
    hz = (100 + bin_offset) * SR / size
    t = np.arange(size) / SR
    frame = np.sin(2 * np.pi * hz * t + 0.4) * np.hanning(size + 1)[:-1]
    power = np.abs(np.fft.rfft(frame)) ** 2
    freq, weight = refine.partial_peaks(power[None], np.fft.rfftfreq(size, 1 / SR), np.array([hz * 1.01]), partials=1)
    assert weight[0, 0] > 0
    assert abs(freq[0, 0] - hz) < 0.1 * SR / size  # a tenth of a bin (the parabola on log power of a Hann lobe)


@pytest.mark.parametrize("seed", range(4))
def test_mistuned_f0_moves_onto_the_partials(seed: int) -> None:
    rng = np.random.default_rng(seed)
    f0 = float(np.exp(rng.uniform(np.log(60), np.log(1200))))
    audio = signals.harmonic_tone(f0, 1 / np.arange(1, 11), 1.0, rng=rng)
    power = FramePower(audio)
    frames = np.arange(10, 50)
    off = rng.uniform(-80, 80)
    refined = refine.refine_f0(power, np.full(len(frames), f0 * 2 ** (off / 1200)), frames=frames)
    assert np.max(np.abs(_cents(refined, f0))) < 2.0, (f0, off)


def test_missing_fundamental_refines_on_its_overtones() -> None:
    f0 = 196.0
    audio = signals.missing_fundamental(f0, 1.0, (2, 10), rng=np.random.default_rng(3))
    refined = refine.refine_f0(FramePower(audio), np.full(30, f0 * 2 ** (45 / 1200)), frames=np.arange(15, 45))
    assert np.max(np.abs(_cents(refined, f0))) < 2.0


def test_never_moves_further_than_max_cents_nor_to_another_pitch() -> None:
    f0 = 220.0
    audio = signals.harmonic_tone(f0, 1 / np.arange(1, 11), 1.0, rng=np.random.default_rng(4))
    power = FramePower(audio)
    frames = np.arange(10, 40)
    far = np.full(len(frames), f0 * 2 ** (300 / 1200))  # 3 semitones off: no partial within reach
    assert np.allclose(refine.refine_f0(power, far, frames=frames), far)
    octave = refine.refine_f0(power, np.full(len(frames), 2 * f0), frames=frames)  # the octave above stays there
    assert np.max(np.abs(_cents(octave, 2 * f0))) < 2.0
    silence = refine.refine_f0(FramePower(np.zeros(SR)), np.full(5, f0), frames=np.arange(5))
    assert np.allclose(silence, f0)


def _vibrato_voices(seed: int, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(90), np.log(300))))
        audio, track = signals.voice(f0, 1.5, rng, vibrato_cents=rng.uniform(70, 100), vibrato_hz=rng.uniform(5, 6.5),
                                     jitter=rng.uniform(0, 0.01), tilt_db_per_octave=rng.uniform(-15, -6))
        out.append((signals.scale_to_dbfs(audio, rng.uniform(-30, -10)).astype(np.float32), track))
    return out


def test_sung_vibrato_is_followed_within_50_cents() -> None:
    """Low voices with wide vibrato: the CQT's long windows trail the swings (frames 50-70 cents
    off before the refinement); refined, nearly every frame is within 50 cents."""
    within = {True: [], False: []}
    for audio, track in _vibrato_voices(11, 6):
        for flag in (True, False):
            result = estimate(audio, resynthesize=False, refine=flag)
            keep = (result.times_s >= 0.1) & (result.times_s <= 1.4)
            truth = track[np.minimum((result.times_s[keep] * SR).astype(int), len(track) - 1)]
            within[flag].append(np.abs(_cents(result.f0_hz[keep], truth)) < 50)
    refined, decoded = (np.concatenate(within[f]).mean() for f in (True, False))
    assert refined >= 0.99, (refined, decoded)
    assert refined > decoded
