"""The least-squares harmonic fit (sotdemo.oracle) against tones whose partials are known."""

import numpy as np
import pytest
import torch

from sotdemo.metrics import lsd
from sotdemo.oracle import fit_resynthesis, harmonic_fit
from sotdemo.signals import harmonic_tone
from sotdemo.synth import harmonic_synth

SR, HOP = 16000, 256


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_recovers_known_amplitudes(seed):
    rng = np.random.default_rng(seed)
    f0 = float(rng.uniform(90, 600))
    truth = rng.uniform(0.05, 1.0, 12) * (rng.random(12) < 0.8)
    audio = harmonic_tone(f0, truth, 0.5, SR, rng)
    frames = np.arange(10, 20)
    fitted_f0, amplitudes = harmonic_fit(audio, np.full(40, f0), frames, SR, HOP, n_harmonics=20)
    audible = np.arange(1, 21) * f0 < SR / 2
    expected = np.zeros(20)
    expected[:12] = truth
    np.testing.assert_allclose(amplitudes[:, audible], np.broadcast_to(expected[audible], (len(frames), audible.sum())), atol=0.01)
    assert np.all(amplitudes[:, ~audible] == 0)
    assert np.allclose(fitted_f0, f0)


def test_search_finds_a_mistuned_pitch():
    rng = np.random.default_rng(5)
    nominal = 220.0
    actual = nominal * 2 ** (23 / 1200)  # 23 cents sharp
    audio = harmonic_tone(actual, 1 / np.arange(1, 9), 0.5, SR, rng)
    fitted_f0, amplitudes = harmonic_fit(audio, np.full(40, nominal), np.arange(8, 16), SR, HOP, search_cents=40.0)
    cents = 1200 * np.log2(fitted_f0 / actual)
    assert np.all(np.abs(cents) <= 1.0)
    np.testing.assert_allclose(amplitudes[:, :8], np.broadcast_to(1 / np.arange(1, 9), (8, 8)), atol=0.02)


def test_resynthesis_of_a_harmonic_tone_is_close_and_silent_where_unvoiced():
    rng = np.random.default_rng(7)
    f0 = 330.0
    audio = harmonic_tone(f0, np.array([1.0, 0.5, 0.25]), 1.0, SR, rng).astype(np.float32)
    n_frames = len(audio) // HOP + 1
    voiced = np.ones(n_frames, bool)
    voiced[:10] = False
    out = fit_resynthesis(audio, np.full(n_frames, f0), voiced, SR, HOP)
    assert out.shape == audio.shape and out.dtype == np.float32
    middle = slice(20 * HOP, 50 * HOP)
    spectrum_in, spectrum_out = (np.abs(np.fft.rfft(x[middle] * np.hanning(30 * HOP))) for x in (audio, out))
    peaks = np.round(np.array([1, 2, 3]) * f0 * 30 * HOP / SR).astype(int)
    np.testing.assert_allclose(20 * np.log10(spectrum_out[peaks] / spectrum_in[peaks]), 0.0, atol=0.3)  # each partial's level, dB
    # as close as the synthesizer with the true amplitudes (LSD on a clean tone is mostly the partials' phases)
    exact = harmonic_synth(torch.tensor([f0]), torch.tensor([[1.0, 0.5, 0.25] + [0.0] * 17]), len(audio))[0]
    assert abs(float(lsd(torch.from_numpy(audio[middle]), torch.from_numpy(out[middle]))) - float(lsd(torch.from_numpy(audio[middle]), exact[middle]))) < 0.5
    assert np.abs(out[: 8 * HOP]).max() == 0  # unvoiced frames: nothing (the 9th frame fades in)


def test_a_track_of_another_length_is_a_clear_error():
    audio = np.zeros(16000)
    with pytest.raises(ValueError, match="63 frames of f0 for 44100 samples: expected 173"):
        fit_resynthesis(np.zeros(44100), np.full(63, 220.0))  # audio at 44.1 kHz, f0 of the 16 kHz analysis
    assert fit_resynthesis(audio, np.full(63, 220.0)).shape == (16000,)
