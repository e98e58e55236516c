"""Spectral front ends and their frequency axes: STFT for the losses, CQT frames for the encoder.

The STFT here is a differentiable torch op. Its default framing keeps every frame *inside*
the signal (no centering, no padding): padded frames leak the clip's abrupt end into the
spectrum, which makes spectral losses ripple every ~1/T Hz and points their f0 gradient the
wrong way (see the edge-leakage pitfall in shared/paper.md and tests/test_landscape.py).
The CQT is the paper's encoder input (Sec. 3: fmin 32.7 Hz, 3 bins per semitone, 285 bins,
hop 256), computed with librosa.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Literal

import librosa
import numpy as np
import torch

__all__ = [
    "CQT_BINS",
    "CQT_BINS_PER_OCTAVE",
    "CQT_FMIN",
    "HOP",
    "SAMPLE_RATE",
    "cqt",
    "cqt_frequencies",
    "frame_times",
    "n_frames",
    "stft",
    "stft_frequencies",
    "window",
]

SAMPLE_RATE = 16000
HOP = 256
CQT_FMIN = 32.7
CQT_BINS_PER_OCTAVE = 36
CQT_BINS = 285

WindowName = Literal["flattop", "hann"]
Framing = Literal["inside", "center", "pad_end"]

# Five-term flat-top window (the SRS/HP "flattop" coefficients, as in scipy.signal.windows).
_FLATTOP = (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368)


def window(name: WindowName, size: int, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Periodic (DFT-even) analysis window of `size` samples: 'flattop' or 'hann'."""
    if name == "hann":
        return torch.hann_window(size, periodic=True, dtype=dtype, device=device)
    if name == "flattop":
        phase = 2 * math.pi * torch.arange(size, dtype=torch.float64, device=device) / size
        w = sum(((-1) ** k) * c * torch.cos(k * phase) for k, c in enumerate(_FLATTOP))
        return w.to(dtype)
    raise ValueError(f"unknown window {name!r}; expected 'flattop' or 'hann'")


def n_frames(n_samples: int, n_fft: int, hop_length: int, framing: Framing = "inside") -> int:
    """Number of STFT frames for `n_samples` under each framing (see `stft`)."""
    if framing == "inside":
        return 1 + (n_samples - n_fft) // hop_length if n_samples >= n_fft else 0
    if framing == "center":
        return 1 + n_samples // hop_length
    if framing == "pad_end":
        return math.ceil(n_samples / hop_length)
    raise ValueError(f"unknown framing {framing!r}; expected 'inside', 'center' or 'pad_end'")


def stft(
    audio: torch.Tensor,
    n_fft: int,
    hop_length: int = HOP,
    window_name: WindowName = "hann",
    power: bool = False,
    framing: Framing = "inside",
    normalized: bool = True,
) -> torch.Tensor:
    """Magnitude (or power) STFT, `[batch, frames, n_fft // 2 + 1]`.

    Args:
        audio: `[batch, samples]` or `[samples]`.
        n_fft: window and FFT size in samples.
        hop_length: samples between frames.
        window_name: 'hann' or 'flattop' (the paper's SOT window).
        power: return |X|² instead of |X|.
        framing: 'inside' (default): frames fully inside the signal, no padding;
            'center': frames centred on multiples of the hop, zero padding of n_fft/2 at both
            ends (torch/librosa `center=True`); 'pad_end': zero padding at the end so that frames
            cover every sample, ceil(samples/hop) frames (DDSP's convention; the paper's
            reference code uses it for its losses and its LSD metric).
        normalized: divide by sqrt(n_fft) (torch's `normalized=True`), as the reference code.

    Raises:
        ValueError: if the signal is shorter than one window under 'inside' framing.
    """
    if audio.dim() == 1:
        audio = audio[None]
    n_samples = audio.shape[-1]
    if framing == "inside":
        if n_samples < n_fft:
            raise ValueError(f"signal of {n_samples} samples is shorter than the {n_fft}-sample window")
    elif framing == "center":
        audio = torch.nn.functional.pad(audio, (n_fft // 2, n_fft // 2))
    elif framing == "pad_end":
        frames = n_frames(n_samples, n_fft, hop_length, "pad_end")
        audio = torch.nn.functional.pad(audio, (0, (frames - 1) * hop_length + n_fft - n_samples))
    else:
        raise ValueError(f"unknown framing {framing!r}; expected 'inside', 'center' or 'pad_end'")
    spec = torch.stft(
            audio,
        n_fft=n_fft,
        hop_length=hop_length,
        window=window(window_name, n_fft, audio.dtype, audio.device),
        center=False,
        normalized=normalized,
        return_complex=True,
    ).transpose(-1, -2)
    squared = spec.real.square() + spec.imag.square()
    return squared if power else torch.sqrt(squared + 1e-20)


def stft_frequencies(n_fft: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Centre frequency in Hz of each STFT bin, `[n_fft // 2 + 1]`."""
    return np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)


def frame_times(n: int, hop_length: int = HOP, sample_rate: int = SAMPLE_RATE, offset: int = 0) -> np.ndarray:
    """Time in seconds of `n` frames whose centres sit at offset + i*hop_length samples."""
    return (offset + np.arange(n) * hop_length) / sample_rate


def cqt_frequencies(fmin_hz: float = CQT_FMIN, n_bins: int = CQT_BINS, bins_per_octave: int = CQT_BINS_PER_OCTAVE) -> np.ndarray:
    """Centre frequency in Hz of each CQT bin, `[n_bins]` (the paper's 285 bins: 32.7 Hz ... ~7.75 kHz)."""
    return librosa.cqt_frequencies(n_bins=n_bins, fmin=fmin_hz, bins_per_octave=bins_per_octave)


def _cache_cqt_filters() -> bool:
    """Make librosa build each CQT filter basis once per process instead of on every call.

    librosa 0.10-0.11 rebuilds the frequency-domain filters of every octave on each `cqt` call
    (about 40 % of the CQT's time on a few seconds of audio); its own cache is opt-in and on
    disk. This wraps its private `__vqt_filter_fft` in an in-memory cache keyed on the
    arguments' values. The caller scales the returned basis in place, so every call gets a
    copy. Returns False (and changes nothing) where librosa lacks that function."""
    from librosa.core import constantq

    original = getattr(constantq, "__vqt_filter_fft", None)
    if original is None or getattr(original, "_sotdemo_cached", False):
        return original is not None

    @functools.lru_cache(maxsize=64)
    def build(sr, freqs: bytes, filter_scale, norm, sparsity, hop_length, window, gamma, dtype, alpha: bytes | None):
        return original(sr, np.frombuffer(freqs), filter_scale, norm, sparsity, hop_length=hop_length,
                        window=window, gamma=gamma, dtype=dtype, alpha=None if alpha is None else np.frombuffer(alpha))

    def cached(sr, freqs, filter_scale, norm, sparsity, hop_length=None, window="hann", gamma=0.0, dtype=np.complex64, alpha=None):
        try:
            basis, n_fft, lengths = build(
                sr, np.ascontiguousarray(freqs, dtype=np.float64).tobytes(), filter_scale, norm, sparsity, hop_length, window,
                gamma, dtype, None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float64).tobytes(),
            )
        except TypeError:  # an unhashable argument (e.g. a window given as an array): no caching
            return original(sr, freqs, filter_scale, norm, sparsity, hop_length=hop_length, window=window, gamma=gamma,
                            dtype=dtype, alpha=alpha)
        return basis.copy(), n_fft, lengths.copy()

    cached._sotdemo_cached = True
    cached.__wrapped__ = original
    setattr(constantq, "__vqt_filter_fft", cached)
    return True


CQT_FILTERS_CACHED = _cache_cqt_filters()


def cqt(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, fmin_hz: float = CQT_FMIN, n_bins: int = CQT_BINS,
        bins_per_octave: int = CQT_BINS_PER_OCTAVE) -> np.ndarray:
    """The encoder's input: linear-magnitude CQT frames, `[..., frames, n_bins]` (float32).

    Args:
        audio: `[..., samples]` at `sample_rate` (must be 16 kHz: the paper's bins reach 7.75 kHz).
        fmin_hz, n_bins, bins_per_octave: the bins; a model's own are its `EncoderConfig`'s
            (`model.HarmonicModel.front_end`), whose defaults are these, the paper's.

    Frames are centred at multiples of the hop (256 samples, 16 ms); frame i covers time
    i*256/16000 s. Uses librosa's recursive CQT (fmin 32.7 Hz, 36 bins per octave, 285 bins).
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"the CQT front end expects {SAMPLE_RATE} Hz audio, got {sample_rate} Hz")
    audio = np.asarray(audio, dtype=np.float32)
    with warnings.catch_warnings():  # librosa warns when its lowest octaves see short clips
        warnings.filterwarnings("ignore", message="n_fft=.*is too large", category=UserWarning)
        spec = librosa.cqt(
            audio,
            sr=sample_rate,
            hop_length=HOP,
            fmin=fmin_hz,
            n_bins=n_bins,
            bins_per_octave=bins_per_octave,
            pad_mode="constant",
        )
    return np.abs(spec).swapaxes(-1, -2).astype(np.float32)
