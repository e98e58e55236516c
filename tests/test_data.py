"""The paper's synthetic distribution: determinism, splits, and truth that explains the audio."""

import dataclasses

import numpy as np

from sotdemo.data import DataConfig, generate, split

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
