"""RPA/RCA against hand-made cases and LSD against known gains."""

import numpy as np
import pytest
import torch

from sotdemo.metrics import lsd, raw_chroma_accuracy, raw_pitch_accuracy


def cents(f, c):
    return f * 2 ** (c / 1200)


def test_pitch_accuracy_uses_a_50_cent_tolerance_and_chroma_forgives_octaves():
    ref = np.array([100.0, 200.0, 300.0, 400.0])
    est = np.array([cents(100, 49), cents(200, -51), 600.0, 200.0])
    assert raw_pitch_accuracy(ref, est) == pytest.approx(0.25)
    assert raw_chroma_accuracy(ref, est) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="differ in length"):
        raw_pitch_accuracy(ref, est[:2])


def test_lsd_is_zero_for_identity_and_squared_db_for_a_gain():
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 4096)))
    assert lsd(noise, noise).item() == 0.0
    quieter = noise * 10 ** (-2 / 20)  # -2 dB everywhere
    assert lsd(noise, quieter).item() == pytest.approx(4.0, rel=1e-3)  # mean of (2 dB)^2
    assert lsd(noise, quieter, per_clip=True).shape == (2,)


def test_lsd_floors_power_at_1e_minus_5():
    silence = torch.zeros(1, 4096)
    tone = torch.sin(2 * torch.pi * 440 * torch.arange(4096) / 16000)[None]
    value = lsd(tone, silence).item()
    assert 0 < value < (10 * np.log10(1e5)) ** 2  # bounded by the floor
