"""Harmonic synthesizer against analytic signals (numpy) and spectral peaks."""

import numpy as np
import pytest
import torch

from sotdemo.synth import get_controls, harmonic_synth

SR = 16000


def reference_tone(f0: float, amps: np.ndarray, n: int) -> np.ndarray:
    t = np.arange(n) / SR
    return sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in enumerate(amps, 1) if k * f0 < SR / 2)


def test_constant_tone_matches_analytic_sum():
    amps = np.array([1.0, 0.5, 0.25, 0.8, 0.1, 0.3])
    x = harmonic_synth(torch.tensor([311.7], dtype=torch.float64), torch.tensor(amps)[None], 4096)
    np.testing.assert_allclose(x[0].numpy(), reference_tone(311.7, amps, 4096), atol=1e-9)


def test_partials_peak_at_multiples_of_f0():
    f0, amps = 311.7, np.array([1.0, 0.5, 0.25, 0.8, 0.1, 0.3])
    x = harmonic_synth(torch.tensor([f0], dtype=torch.float64), torch.tensor(amps)[None], SR)[0].numpy()
    n_fft = 2**18
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1 / SR)
    bin_hz = SR / n_fft
    for k in range(1, 7):
        band = (freqs > (k - 0.5) * f0) & (freqs < (k + 0.5) * f0)
        peak = freqs[band][np.argmax(spectrum[band])]
        assert abs(peak - k * f0) <= bin_hz, (k, peak)
    peaks = np.array([spectrum[np.argmin(abs(freqs - k * f0))] for k in range(1, 7)])
    np.testing.assert_allclose(peaks / peaks[0], amps / amps[0], rtol=1e-3)


@pytest.mark.parametrize("f0", [1500.0, 2000.0, 2666.7])
def test_nothing_at_or_above_nyquist(f0):
    amps = torch.ones(1, 20, dtype=torch.float64)
    x = harmonic_synth(torch.tensor([f0], dtype=torch.float64), amps, 8192)[0].numpy()
    np.testing.assert_allclose(x, reference_tone(f0, np.ones(20), 8192), atol=1e-9)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    top_kept = max(k * f0 for k in range(1, 21) if k * f0 < SR / 2)
    # the Nyquist partial (f0 = 2000: harmonic 4 at 8000 Hz) and all above are silent
    assert spectrum[freqs > top_kept + 100].max() < 1e-3 * spectrum.max()


def test_mask_is_per_sample_under_a_glide():
    f0 = torch.tensor([[3000.0, 5000.0]], dtype=torch.float64)  # harmonic 2 crosses Nyquist midway
    _, amps = get_controls(f0, torch.ones(1, 2, 2, dtype=torch.float64), 1000)
    assert amps[0, 0, 1] == 1 and amps[0, -1, 1] == 0 and amps[0, :, 0].min() == 1


def test_glide_has_continuous_phase_and_follows_the_chirp():
    n_frames, hop = 63, 256
    n = (n_frames - 1) * hop + 1
    f_start, f_end = 200.0, 400.0
    f0 = torch.linspace(f_start, f_end, n_frames, dtype=torch.float64)[None]
    amps = torch.ones(1, n_frames, 1, dtype=torch.float64)
    x = harmonic_synth(f0, amps, n, hop_length=hop)[0].numpy()
    t = np.arange(n) / SR
    duration = (n - 1) / SR
    chirp = np.sin(2 * np.pi * (f_start * t + (f_end - f_start) * t**2 / (2 * duration)))
    assert np.abs(x - chirp).max() < 0.05  # discrete vs continuous phase: < 0.05 rad apart
    # no phase jumps: consecutive samples differ at most by the slope of a sine at f_end
    assert np.abs(np.diff(x)).max() <= 2 * np.pi * f_end / SR * 1.001


def test_float32_long_clip_keeps_its_pitch():
    seconds, hop = 20, 256
    n = seconds * SR
    frames = n // hop + 1
    f0 = torch.full((1, frames), 440.0)
    amps = torch.ones(1, frames, 1)
    x32 = harmonic_synth(f0, amps, n, hop_length=hop)[0].numpy()
    x64 = harmonic_synth(f0.double(), amps.double(), n, hop_length=hop)[0].numpy()
    assert np.abs(x32 - x64).max() < 1e-3


def test_gradients_are_finite_and_exact():
    f0 = torch.tensor([220.0, 1000.0], dtype=torch.float64, requires_grad=True)
    amps = torch.rand(2, 12, dtype=torch.float64, requires_grad=True)
    x = harmonic_synth(f0, amps, 512)
    (x**2).sum().backward()
    assert torch.isfinite(f0.grad).all() and torch.isfinite(amps.grad).all()
    assert f0.grad.abs().min() > 0
    framewise_f0 = torch.tensor([[220.0, 230.0, 250.0]], dtype=torch.float64, requires_grad=True)
    framewise_amps = torch.rand(1, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, a: harmonic_synth(f, a, 300, hop_length=128), (framewise_f0, framewise_amps))


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="expected f0"):
        harmonic_synth(torch.ones(2), torch.ones(3, 4), 100)
