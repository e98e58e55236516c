"""STFT and CQT front ends against numpy/scipy/librosa references."""

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from sotdemo import spectral


@pytest.mark.parametrize("name", ["flattop", "hann"])
def test_windows_match_scipy(name):
    np.testing.assert_allclose(spectral.window(name, 2048, torch.float64).numpy(), scipy.signal.get_window(name, 2048), atol=1e-12)


@pytest.mark.parametrize("framing", ["inside", "center", "pad_end"])
def test_stft_matches_numpy_reference(framing):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4096)
    n_fft, hop = 512, 256
    got = spectral.stft(torch.from_numpy(x), n_fft, hop, "flattop", power=True, framing=framing)[0].numpy()
    padded = {"inside": x, "center": np.pad(x, n_fft // 2), "pad_end": np.pad(x, (0, 16 * hop - 4096 + n_fft - hop))}[framing]
    frames = spectral.n_frames(4096, n_fft, hop, framing)
    assert frames == {"inside": 15, "center": 17, "pad_end": 16}[framing]
    w = scipy.signal.get_window("flattop", n_fft)
    ref = np.stack([np.abs(np.fft.rfft(padded[i * hop : i * hop + n_fft] * w)) ** 2 / n_fft for i in range(frames)])
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)


def test_inside_framing_needs_one_window():
    with pytest.raises(ValueError, match="shorter than the 2048-sample window"):
        spectral.stft(torch.zeros(1000), 2048)


def test_cqt_peaks_at_the_tone_and_has_the_papers_axis():
    freqs = spectral.cqt_frequencies()
    assert len(freqs) == 285 and freqs[0] == pytest.approx(32.7)
    np.testing.assert_allclose(freqs, librosa.cqt_frequencies(n_bins=285, fmin=32.7, bins_per_octave=36))
    for f in (55.0, 440.0, 1864.0):
        tone = np.sin(2 * np.pi * f * np.arange(8192) / 16000).astype(np.float32)
        frames = spectral.cqt(tone)
        assert frames.shape == (33, 285) and frames.dtype == np.float32
        assert np.argmax(frames[16]) == np.argmin(np.abs(freqs - f))


def test_cqt_batches_and_rejects_other_rates():
    assert spectral.cqt(np.zeros((3, 4096), np.float32)).shape == (3, 17, 285)
    with pytest.raises(ValueError, match="expects 16000 Hz"):
        spectral.cqt(np.zeros(4096), 44100)


def test_frame_times():
    np.testing.assert_allclose(spectral.frame_times(3), [0.0, 0.016, 0.032])


def test_cached_cqt_filters_give_librosas_cqt_bit_for_bit(monkeypatch):
    from librosa.core import constantq

    from sotdemo.spectral import CQT_FILTERS_CACHED, cqt

    assert CQT_FILTERS_CACHED
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    first, second, shorter = cqt(x), cqt(x), cqt(x[:9000])  # the basis is scaled in place by librosa: no drift
    cached = getattr(constantq, "__vqt_filter_fft")
    monkeypatch.setattr(constantq, "__vqt_filter_fft", cached.__wrapped__)
    np.testing.assert_array_equal(first, cqt(x))
    np.testing.assert_array_equal(second, cqt(x))
    np.testing.assert_array_equal(shorter, cqt(x[:9000]))


def test_the_model_owns_its_front_end():
    """The CQT's bins are defined once (spectral's constants, the EncoderConfig defaults) and a model with other
    bins gets its own front end, in estimate and in training's cached frames alike."""
    import dataclasses

    import torch

    from sotdemo.config import RunConfig
    from sotdemo.encoder import EncoderConfig
    from sotdemo.estimate import estimate
    from sotdemo.model import HarmonicModel

    default = EncoderConfig()
    assert (default.fmin_hz, default.n_bins, default.bins_per_octave) == (spectral.CQT_FMIN, spectral.CQT_BINS, spectral.CQT_BINS_PER_OCTAVE)
    torch.manual_seed(0)
    model = HarmonicModel(RunConfig("small", "", encoder=dataclasses.replace(default, fmin_hz=55.0, n_bins=216, bins_per_octave=36)))
    model.eval()
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * np.arange(8000) / 16000)
    frames = model.front_end(tone)
    np.testing.assert_array_equal(frames, spectral.cqt(tone, 16000, 55.0, 216, 36))
    assert frames.shape[-1] == 216 and np.argmax(frames[len(frames) // 2]) == 36 * 3  # 440 Hz is three octaves above 55
    result = estimate(tone, 16000, model=model, resynthesize=False)
    assert len(result.f0_hz) == len(frames) and np.all(result.f0_hz >= 55.0 * 0.99)
