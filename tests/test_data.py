"""The paper's synthetic distribution: determinism, splits, and truth that explains the audio."""

import dataclasses

import numpy as np
import pytest
from scipy import signal as scipy_signal

from sotdemo.data import DataConfig, generate, split, telephone

SMALL = DataConfig(n_clips=200)


def test_same_seed_same_arrays_other_seed_other_arrays():
    a, b = generate(SMALL), generate(SMALL)
    np.testing.assert_array_equal(a.audio, b.audio)
    np.testing.assert_array_equal(a.f0_hz, b.f0_hz)
    c = generate(dataclasses.replace(SMALL, seed=1))
    assert not np.allclose(a.f0_hz, c.f0_hz)


def test_distribution_follows_the_paper():
    d = generate(SMALL)
    assert d.audio.shape == (200, 4096) and d.audio.dtype == np.float32
    assert d.f0_hz.min() >= 40 and d.f0_hz.max() <= 1950
    np.testing.assert_allclose(np.abs(d.audio).max(axis=1), 0.9, rtol=1e-6)
    active = d.amplitudes > 0
    # the first k harmonics are on, the rest off; none at or above Nyquist
    assert all(np.array_equal(row, np.sort(row)[::-1]) for row in active)
    k = np.arange(1, 9)
    assert not np.any(active & (d.f0_hz[:, None] * k >= 8000))
    counts = active.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 8


def test_truth_resynthesizes_the_audio():
    d = generate(SMALL)
    t = np.arange(4096) / 16000
    for i in range(5):
        ref = sum(a * np.sin(2 * np.pi * (j + 1) * d.f0_hz[i] * t) for j, a in enumerate(d.amplitudes[i]))
        np.testing.assert_allclose(d.audio[i], ref, atol=1e-5)


def test_splits_are_70_20_10_and_disjoint():
    d = generate(SMALL)
    parts = [split(d, name) for name in ("train", "val", "test")]
    assert [len(p) for p in parts] == [140, 40, 20]
    np.testing.assert_array_equal(np.concatenate([p.f0_hz for p in parts]), d.f0_hz)


# --- the realistic distribution (ours) ---

REALISTIC = DataConfig(distribution="realistic", n_clips=300, max_harmonics=40, f0_max_hz=2000.0, seed=3)


@pytest.mark.slow
def test_realistic_is_deterministic_and_spans_its_ranges():
    a, b = generate(REALISTIC), generate(REALISTIC)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.audio.shape == (300, 4096) and a.audio.dtype == np.float32 and np.isfinite(a.audio).all()
    pitched = a.f0_hz > 0
    assert 40 <= a.f0_hz[pitched].min() and a.f0_hz.max() <= 2000
    peak_db = 20 * np.log10(np.abs(a.audio).max(axis=1))
    assert peak_db.min() >= -40.01 and peak_db.max() <= 0.01 and peak_db.std() > 5
    # log-uniform f0: about as many clips per octave low and high
    assert 0.5 < np.mean(a.f0_hz[pitched] < 280) / np.mean(a.f0_hz[pitched] >= 280) < 2
    # many partials in some clips, and no partial labelled at or above Nyquist
    assert (a.amplitudes > 0).sum(axis=1).max() >= 20
    assert not np.any((a.amplitudes > 0) & (a.f0_hz[:, None] * np.arange(1, 41) >= 8000))
    # noise-only clips: f0 0, no partial, audible noise
    noise_only = generate(dataclasses.replace(REALISTIC, noise_only_share=0.5))
    silent = noise_only.f0_hz == 0
    assert 0.35 < silent.mean() < 0.65
    assert not noise_only.amplitudes[silent].any() and (np.abs(noise_only.audio[silent]).max(axis=1) > 0).all()


def test_realistic_vibrato_passes_through_the_label_at_the_middle_sample():
    """One partial, no noise, no glide, vibrato of up to 50 cents on every clip: the analytic
    signal's instantaneous frequency at the middle sample is the labelled f0."""
    from scipy.signal import hilbert

    config = dataclasses.replace(
        REALISTIC, n_clips=20, max_harmonics=1, f0_min_hz=200.0, noise_share=0.0, noise_only_share=0.0,
        vibrato_share=1.0, glide_share=0.0, inharmonic_share=0.0, odd_only_share=0.0, weak_fundamental_share=0.0,
    )
    d = generate(config)
    middle = 2048
    moved = 0
    for clip, f0 in zip(d.audio, d.f0_hz):
        phase = np.unwrap(np.angle(hilbert(clip.astype(np.float64))))
        inst = (phase[middle + 1] - phase[middle - 1]) / (2 * 2 * np.pi) * 16000
        assert abs(1200 * np.log2(inst / f0)) < 10
        quarter = (phase[1025] - phase[1023]) / (4 * np.pi) * 16000
        moved += abs(1200 * np.log2(quarter / f0)) > 5
    assert moved >= 10  # the pitch does move elsewhere in the clip


@pytest.mark.slow
def test_realistic_odd_only_and_weak_fundamental_spectra():
    base = dataclasses.replace(REALISTIC, n_clips=200, noise_only_share=0.0)
    odd = generate(dataclasses.replace(base, odd_only_share=1.0, weak_fundamental_share=0.0))
    weak = generate(dataclasses.replace(base, odd_only_share=0.0, weak_fundamental_share=1.0))
    plain = generate(dataclasses.replace(base, odd_only_share=0.0, weak_fundamental_share=0.0))

    def ratio_db(d, num, den):
        both = (d.amplitudes[:, num] > 0) & (d.amplitudes[:, den] > 0)
        return np.median(20 * np.log10(d.amplitudes[both, num] / d.amplitudes[both, den]))

    assert ratio_db(odd, 1, 2) < ratio_db(plain, 1, 2) - 15  # 2nd partial vs 3rd
    assert ratio_db(weak, 0, 1) < ratio_db(plain, 0, 1) - 10  # fundamental vs 2nd


def test_loss_targets_bring_every_clip_to_one_peak_and_leave_the_papers_alone():
    from sotdemo.train import loss_targets

    paper = generate(SMALL)
    assert loss_targets(paper, 0.9) is paper.audio
    realistic = generate(REALISTIC)
    np.testing.assert_allclose(np.abs(loss_targets(realistic, 0.9)).max(axis=1), 0.9, rtol=1e-5)


def test_a_share_of_realistic_clips_can_come_through_a_telephone():
    t = np.arange(16000) / 16000
    for hz, low, high in ((100.0, 0.0, 0.03), (1000.0, 0.9, 1.1), (5000.0, 0.0, 1e-3)):
        sine = np.sin(2 * np.pi * hz * t)
        rms = np.sqrt(np.mean(telephone(sine, 16000)[2000:-2000] ** 2)) / np.sqrt(0.5)
        assert low <= rms <= high, (hz, rms)
    base = DataConfig(distribution="realistic", n_clips=60, max_harmonics=20, seed=3)
    plain = generate(base)
    assert np.array_equal(generate(dataclasses.replace(base, phone_share=0.0)).audio, plain.audio)  # draws nothing when 0
    phone = generate(dataclasses.replace(base, phone_share=1.0))
    spectrum = np.abs(np.fft.rfft(phone.audio.astype(np.float64), axis=1)) ** 2
    hz = np.fft.rfftfreq(phone.audio.shape[1], 1 / 16000)
    assert np.all(spectrum[:, hz >= 4000].sum(axis=1) < 1e-3 * spectrum.sum(axis=1))  # nothing above the 8 kHz channel's band
    # labels: partial k keeps the channel's gain at k·f0 (a per-clip constant aside: peak normalization)
    k = np.arange(1, 21)
    clean = (plain.f0_hz > 0) & (np.count_nonzero(plain.amplitudes, axis=1) >= 2)
    gain = np.abs(scipy_signal.sosfreqz(scipy_signal.butter(4, [300.0, 3400.0], "bandpass", fs=16000, output="sos"),
                                        worN=np.minimum(plain.f0_hz[clean, None] * k, 8000).ravel(), fs=16000)[1]).reshape(-1, 20)
    expected = plain.amplitudes[clean] * gain * (plain.f0_hz[clean, None] * k < 4000)
    ratio = phone.amplitudes[clean] / np.where(expected > 0, expected, np.nan)
    spread = np.nanmax(ratio, axis=1) / np.nanmin(ratio, axis=1)
    assert np.nanmax(spread) < 1.02  # every partial scaled alike (the inharmonic stretch moves k·f0 by under 2 %)


def test_sparse_share_makes_tones_of_one_to_three_partials_and_leaves_the_other_clips_alone():
    base = DataConfig(distribution="realistic", n_clips=300, n_samples=4096, max_harmonics=20, noise_only_share=0.05)
    plain, sparse = generate(base), generate(dataclasses.replace(base, sparse_share=0.3))
    np.testing.assert_array_equal(plain.f0_hz, sparse.f0_hz)
    changed = np.flatnonzero(~np.all(plain.amplitudes == sparse.amplitudes, axis=1))
    assert 0.2 < len(changed) / 300 < 0.4
    counts = (sparse.amplitudes[changed] > 0).sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 3 and (counts == 1).any()
    untouched = np.setdiff1d(np.arange(300), changed)
    np.testing.assert_array_equal(plain.audio[untouched], sparse.audio[untouched])
    assert np.all(sparse.amplitudes[sparse.f0_hz == 0] == 0)  # noise-only clips stay noise
