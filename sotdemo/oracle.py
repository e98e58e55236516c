"""The best a harmonic synthesizer can do at a given pitch: least-squares partial amplitudes.

Given f0 per frame, the amplitudes of partials 1..K that best explain each frame are a linear
least-squares problem: cosines and sines at k·f0 fitted to the Hann-windowed frame; partial k's
amplitude is the modulus of its complex coefficient. Driving `synth.harmonic_synth` with them
gives the resynthesis limit of the K-harmonic model at that pitch (whatever it misses, noise,
transients, partials above K, inharmonicity, no encoder can fix). `bench/lsd_oracle.py` uses it
with the true f0 to score the model's amplitudes; the app shows it at the estimated f0 next to the
model's resynthesis. Frames follow the project's convention: frame i centred at sample i·hop.
"""

from __future__ import annotations

import numpy as np
import torch

from .synth import harmonic_synth

__all__ = ["harmonic_fit", "fit_resynthesis"]


def _fit(frame: np.ndarray, window: np.ndarray, f0_hz: float, n_harmonics: int, sample_rate: int) -> tuple[np.ndarray, float]:
    """Amplitudes `[n_harmonics]` of partials k·f0 in one frame, and the windowed energy they leave."""
    t = (np.arange(len(frame)) - len(frame) // 2) / sample_rate
    k = np.arange(1, n_harmonics + 1)
    k = k[k * f0_hz < sample_rate / 2]
    phase = 2 * np.pi * f0_hz * t[:, None] * k[None, :]
    basis = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * window[:, None]
    target = frame * window
    coef, *_ = np.linalg.lstsq(basis, target, rcond=None)
    residual = float(np.sum((target - basis @ coef) ** 2))
    amplitudes = np.zeros(n_harmonics)
    amplitudes[: len(k)] = np.hypot(coef[: len(k)], coef[len(k) :])
    return amplitudes, residual


def harmonic_fit(audio: np.ndarray, f0_hz: np.ndarray, frames: np.ndarray | None = None, sample_rate: int = 16000,
                 hop_length: int = 256, n_fft: int = 1024, n_harmonics: int = 20, search_cents: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares harmonic amplitudes per frame.

    Args:
        audio: samples `[samples]` at `sample_rate` (Hz).
        f0_hz: f0 per frame `[frames]` (Hz; frames with f0 <= 0 get zero amplitudes).
        frames: which frames to fit (default: all of `f0_hz`).
        n_fft: the Hann window (samples) centred on each frame.
        search_cents: if > 0, f0 is refined per frame within ±this many cents (8-cent steps, then
            1-cent steps) to the value whose partials leave the least energy (an instrument is
            rarely tuned exactly to its nominal pitch).
    Returns:
        `(f0 [len(frames)] Hz, amplitudes [len(frames), n_harmonics])`, amplitudes in the audio's units.
    """
    frames = np.arange(len(f0_hz)) if frames is None else np.asarray(frames)
    window = np.hanning(n_fft)
    padded = np.pad(np.asarray(audio, dtype=np.float64), n_fft // 2)
    padded = np.pad(padded, (0, max(0, frames.max(initial=0) * hop_length + n_fft - len(padded))))
    out_f0, out_amp = np.zeros(len(frames)), np.zeros((len(frames), n_harmonics))
    for row, i in enumerate(frames):
        start_hz = float(f0_hz[i])
        if start_hz <= 0:
            continue
        frame = padded[i * hop_length : i * hop_length + n_fft]
        amplitudes, residual = _fit(frame, window, start_hz, n_harmonics, sample_rate)
        best = (residual, start_hz, amplitudes)
        if search_cents > 0:
            for step, span in ((8.0, search_cents), (1.0, 8.0)):
                centre = best[1]
                for cents in np.arange(-span, span + step / 2, step):
                    hz = centre * 2 ** (cents / 1200)
                    amplitudes, residual = _fit(frame, window, hz, n_harmonics, sample_rate)
                    if residual < best[0]:
                        best = (residual, hz, amplitudes)
        out_f0[row], out_amp[row] = best[1], best[2]
    return out_f0, out_amp


def fit_resynthesis(audio: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray | None = None, sample_rate: int = 16000,
                    hop_length: int = 256, n_harmonics: int = 20) -> np.ndarray:
    """The synthesizer driven by `f0_hz` `[frames]` and the least-squares amplitudes at it
    (`harmonic_fit`, no search), silent where `voiced` `[frames]` is False: `[samples]` float32."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    on = np.ones(len(f0), bool) if voiced is None else np.asarray(voiced, bool)
    fitted = np.flatnonzero(on & (f0 > 0))
    amplitudes = np.zeros((len(f0), n_harmonics))
    if len(fitted):
        _, amplitudes[fitted] = harmonic_fit(audio, f0, fitted, sample_rate, hop_length, n_harmonics=n_harmonics)
    return harmonic_synth(torch.from_numpy(f0)[None], torch.from_numpy(amplitudes)[None], len(audio), sample_rate, hop_length)[0].numpy().astype(np.float32)
