"""sotdemo.voicing: harmonicity against its definition, octave-aware confidence, range share, the comb check's choice."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from sotdemo import signals
from sotdemo import voicing as V

SR = 16000


def _share_by_definition(power: np.ndarray, hz: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """The comb share written as masks over every bin, as the docstring defines it."""
    ratio = hz[None, :] / f0[:, None]
    nearest = np.rint(ratio)
    top = np.minimum(V.COMB_PARTIALS, np.maximum(np.floor(V.COMB_TOP_HZ / f0), 1)) + 0.25
    band = (ratio < top[:, None]) & (np.arange(len(hz)) >= 2)[None, :]
    half = np.minimum(0.25, V.TOOTH_BINS * (hz[1] - hz[0]) / f0[:, None] + V.TOOTH_SPREAD * nearest)  # in units of f0
    tooth = band & (np.abs(ratio - nearest) <= half) & (nearest >= 1)
    total = (power * band).sum(axis=1)
    return np.divide((power * tooth).sum(axis=1), total, out=np.zeros(len(f0)), where=total > 0)


def test_harmonicity_matches_its_definition_for_any_f0():
    rng = np.random.default_rng(0)
    audio = signals.coloured_noise("pink", 2.0, rng) + signals.harmonic_tone(97.0, 1 / np.arange(1, 9), 2.0, rng=rng)
    power = V.FramePower(audio)
    n = len(power(1024)[0])
    f0 = np.exp(rng.uniform(np.log(33), np.log(2000), n))
    expected = np.zeros(n)
    sizes = V.window_for(f0)
    for size in V.WINDOWS:
        rows = np.flatnonzero(sizes == size)
        spectra, hz = power(size)
        expected[rows] = _share_by_definition(spectra[rows].astype(np.float64), hz, f0[rows])
    np.testing.assert_allclose(V.harmonicity(power, f0), expected, atol=1e-9)
    assert set(np.unique(sizes)) == set(V.WINDOWS)  # every window size was exercised


def test_the_window_resolves_the_comb():
    f0 = np.array([35.0, 60.0, 120.0, 300.0, 1500.0])
    sizes = V.window_for(f0)
    assert np.all(f0 * sizes / SR >= 12) or sizes[0] == max(V.WINDOWS)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_octave_confidence_counts_octave_relatives_once():
    posterior = np.zeros((2, 285))
    posterior[0, 100] = 0.5
    posterior[0, 136] = 0.3  # an octave up
    posterior[0, 64] = 0.1  # an octave down
    posterior[0, 120] = 0.1  # elsewhere
    posterior[1, 1] = 1.0  # window clipped at the lower edge
    confidence = V.octave_confidence(posterior, np.array([100, 0]), 36)
    np.testing.assert_allclose(confidence, [0.9, 1.0])


def test_below_range_share_agrees_with_scipy_band_energy():
    rng = np.random.default_rng(1)
    t = np.arange(2 * SR) / SR
    low, high = np.sin(2 * np.pi * 20 * t), 0.5 * np.sin(2 * np.pi * 440 * t + 1)
    share = V.below_range_share(low + high + 1e-3 * rng.standard_normal(len(t)), 32.7)
    assert share == pytest.approx(1 / 1.25, abs=0.02)  # powers 0.5 and 0.125
    assert V.below_range_share(high, 32.7) < 1e-4
    hz, psd = welch(low + high, fs=SR, nperseg=4096)  # scipy's own band split of the same mix
    assert share == pytest.approx(psd[hz < 32.7].sum() / psd.sum(), abs=0.01)
    assert V.below_range_share(np.zeros(SR), 32.7) == 0.0


def test_the_comb_check_prefers_the_highest_pitch_that_explains_the_spectrum():
    rng = np.random.default_rng(2)
    audio = signals.missing_fundamental(150.0, 1.0, (3, 11), rng=rng)  # an encoder may answer 225 Hz (3f0/2)
    power = V.FramePower(audio)
    frames = np.arange(10, 20)
    candidates = np.tile(225.0 * np.array(V.CANDIDATE_RATIOS), (len(frames), 1))  # 225, 112.5, 75, 150
    f0, score = V.best_comb(power, candidates, frames, 32.7, 2000.0)
    np.testing.assert_allclose(f0, 150.0)  # 75 Hz explains it as well, but 150 is the pitch
    assert np.all(score > 0.95)
    assert np.all(V.harmonicity(power, np.full(len(power(1024)[0]), 225.0))[frames] < 0.6)


def test_the_comb_check_does_not_take_the_common_subharmonic_of_two_notes():
    rng = np.random.default_rng(3)
    k = np.arange(1, 11)
    low = signals.harmonic_tone(165.0, k**-1.5, 1.0, rng=rng)
    high = signals.harmonic_tone(165.0 * 1.25, k**-1.5, 1.0, rng=rng) * 0.5  # a major third above, 6 dB down
    power = V.FramePower(low + high)
    frames = np.arange(10, 20)
    candidates = np.tile([165.0 / 4, 165.0 / 2, 165.0, 165.0 * 1.25], (len(frames), 1))
    assert np.all(V.harmonicity(power, np.full(len(power(1024)[0]), 165.0 / 4))[frames] > 0.95)  # f0/4 explains both notes
    f0, _ = V.best_comb(power, candidates, frames, 32.7, 2000.0)
    np.testing.assert_allclose(f0, 165.0)  # but its teeth 1-3 are empty: not a series


def _comb_fill(audio: np.ndarray, f0: float, contrast: float | None) -> float:
    frames = np.arange(10, 50)
    _, fill = V._comb_scores(V.FramePower(audio), np.full((len(frames), 1), f0), frames, contrast)
    return float(np.median(fill))


def test_a_contrast_fill_counts_partials_in_a_formant_valley():
    # 100 Hz, partials 4-20, the middle ones 45 dB down (a deep valley between two formants): each still stands
    # out of its own gaps; against the strongest tooth (FILL_DB = -30 dB) they count as empty
    t = np.arange(SR) / SR
    gains = {k: (10 ** (-45 / 20) if 8 <= k <= 14 else 1.0) for k in range(4, 21)}
    rng = np.random.default_rng(3)
    tone = sum(g * np.sin(2 * np.pi * 100.0 * k * t + rng.uniform(0, 2 * np.pi)) for k, g in gains.items())
    tone = tone + 1e-5 * rng.standard_normal(len(t))
    assert _comb_fill(tone, 100.0, None) < V.MIN_FILL
    assert _comb_fill(tone, 100.0, 4.0) == 1.0
    # the sub-harmonic's odd teeth sit between the partials: half the series
    assert abs(_comb_fill(tone, 50.0, 4.0) - 0.5) <= 0.06


def test_a_contrast_fill_needs_a_series_not_a_band_of_noise():
    rng = np.random.default_rng(4)
    rumble = signals.coloured_noise("rumble", 1.0, rng, band_hz=(50.0, 90.0))
    assert _comb_fill(rumble, 70.0, 4.0) == 0.0  # one tooth holds the band: fewer than SERIES_PARTIALS
    assert _comb_fill(rumble, 70.0, None) == 1.0  # the level fill counts it as a series of one
