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


def _fit_many(frames: np.ndarray, window: np.ndarray, f0_hz: np.ndarray, n_harmonics: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares amplitudes `[F, n_harmonics]` of partials k·f0 in frames `[F, n_fft]` at
    `f0_hz` `[F]`, and the windowed energy each fit leaves `[F]`.

    The normal equations of the cosine/sine basis without forming it: with θ = 2π·f0·t and
    z = e^{jθ}, the basis' inner products are sums of w²·z^m over m = k ± l (product-to-sum), and
    its projections of the frame are sums of w²·x·z^k, all from successive powers of z. Partials
    at or above Nyquist are left out (their rows of the system are identity)."""
    n_fft = frames.shape[1]
    t = (np.arange(n_fft) - n_fft // 2) / sample_rate
    k = np.arange(1, n_harmonics + 1)
    z = np.exp(2j * np.pi * f0_hz[:, None] * t[None, :]).astype(np.complex64)  # [F, n]; single precision is plenty for 2K powers
    w2 = window**2
    weighted = (frames * w2).astype(np.float32)  # the basis is windowed and so is the frame: w·x·(w·z^k)
    w2_32 = w2.astype(np.float32)
    moments = np.zeros((len(frames), 2 * n_harmonics + 1), dtype=complex)  # sum of w²·z^m, m = 0..2K
    projection = np.zeros((len(frames), n_harmonics), dtype=complex)  # sum of w²·x·z^k, k = 1..K
    power = np.ones_like(z)
    for m in range(2 * n_harmonics + 1):
        moments[:, m] = power @ w2_32
        if 1 <= m <= n_harmonics:
            projection[:, m - 1] = np.einsum("fn,fn->f", power, weighted)
        power *= z
    c, s_ = moments.real, moments.imag  # C(m), S(m)
    diff, total = np.abs(k[:, None] - k[None, :]), k[:, None] + k[None, :]
    sign = np.sign(k[:, None] - k[None, :])
    cc = 0.5 * (c[:, diff] + c[:, total])
    ss = 0.5 * (c[:, diff] - c[:, total])
    cs = 0.5 * (s_[:, total] - sign * s_[:, diff])  # <cos_k, sin_l>
    gram = np.concatenate([np.concatenate([cc, cs], axis=2), np.concatenate([cs.transpose(0, 2, 1), ss], axis=2)], axis=1)
    rhs = np.concatenate([projection.real, projection.imag], axis=1)  # <w·cos_k, w·x>, <w·sin_k, w·x>
    audible = np.tile((f0_hz[:, None] * k) < sample_rate / 2, 2)  # [F, 2K]
    keep = audible[:, :, None] & audible[:, None, :]
    gram = np.where(keep, gram, 0.0) + np.eye(2 * n_harmonics) * (~audible[:, :, None] + 1e-9 * c[:, :1, None])
    rhs = rhs * audible
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    amplitudes = np.hypot(coef[:, :n_harmonics], coef[:, n_harmonics:])
    residuals = np.sum((frames * window) ** 2, axis=1) - np.sum(coef * rhs, axis=1)
    return amplitudes, residuals


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
    frames = np.arange(len(f0_hz)) if frames is None else np.asarray(frames, dtype=int)
    out_f0, out_amp = np.zeros(len(frames)), np.zeros((len(frames), n_harmonics))
    rows = np.flatnonzero(np.asarray(f0_hz, dtype=np.float64)[frames] > 0)
    if not len(rows):
        return out_f0, out_amp
    window = np.hanning(n_fft)
    padded = np.pad(np.asarray(audio, dtype=np.float64), (n_fft // 2, n_fft))
    padded = np.pad(padded, (0, max(0, int(frames.max()) * hop_length + n_fft - len(padded))))
    segments = np.stack([padded[i * hop_length : i * hop_length + n_fft] for i in frames[rows]])
    best_f0 = np.asarray(f0_hz, dtype=np.float64)[frames[rows]]
    best_amp, best_residual = _fit_many(segments, window, best_f0, n_harmonics, sample_rate)
    if search_cents > 0:
        for step, span in ((8.0, search_cents), (1.0, 8.0)):
            centre = best_f0.copy()
            for cents in np.arange(-span, span + step / 2, step):
                if cents == 0:
                    continue
                hz = centre * 2 ** (cents / 1200)
                amplitudes, residual = _fit_many(segments, window, hz, n_harmonics, sample_rate)
                better = residual < best_residual
                best_f0[better], best_amp[better], best_residual[better] = hz[better], amplitudes[better], residual[better]
    out_f0[rows], out_amp[rows] = best_f0, best_amp
    return out_f0, out_amp


def fit_resynthesis(audio: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray | None = None, sample_rate: int = 16000,
                    hop_length: int = 256, n_harmonics: int = 20) -> np.ndarray:
    """The synthesizer driven by `f0_hz` `[frames]` and the least-squares amplitudes at it
    (`harmonic_fit`, no search), silent where `voiced` `[frames]` is False: `[samples]` float32.

    Raises:
        ValueError: `f0_hz` does not have one frame per `hop_length` samples of `audio` (plus one):
            audio at another rate, or not the clip the f0 track belongs to."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    expected = len(audio) // hop_length + 1
    if len(f0) != expected:
        raise ValueError(f"{len(f0)} frames of f0 for {len(audio)} samples: expected {expected} (frame i at sample i·{hop_length}); "
                         f"is the audio at {sample_rate} Hz and mono, as the estimate analysed it?")
    on = np.ones(len(f0), bool) if voiced is None else np.asarray(voiced, bool)
    fitted = np.flatnonzero(on & (f0 > 0))
    amplitudes = np.zeros((len(f0), n_harmonics))
    if len(fitted):
        _, amplitudes[fitted] = harmonic_fit(audio, f0, fitted, sample_rate, hop_length, n_harmonics=n_harmonics)
    return harmonic_synth(torch.from_numpy(f0)[None], torch.from_numpy(amplitudes)[None], len(audio), sample_rate, hop_length)[0].numpy().astype(np.float32)
