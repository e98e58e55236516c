"""Evaluation metrics of the paper (Sec. 4): RPA and RCA through mir_eval, and its LSD.

- RPA (raw pitch accuracy): share of frames whose estimate is within 50 cents of the truth.
- RCA (raw chroma accuracy): the same with octave errors forgiven.
  Both follow mir_eval.melody with every frame counted as voiced, as in the paper.
- LSD, as the paper's reference code computes it: power STFT with n_fft 1024, Hann window,
  hop 256, torch-normalized (÷sqrt(n_fft)), zero padding at the end (DDSP's `pad_end`), power
  floored at 1e-5, then the mean over all bins and frames of (10·log10 P − 10·log10 P̂)².
  Note: this is a mean *squared* dB difference (no square root), reported as "LSD [dB]".
"""

from __future__ import annotations

import mir_eval
import numpy as np
import torch

from .spectral import stft

__all__ = ["lsd", "lsd_per_frame", "raw_chroma_accuracy", "raw_pitch_accuracy"]


def _cents(ref_hz: np.ndarray, est_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref_hz = np.asarray(ref_hz, dtype=np.float64).ravel()
    est_hz = np.asarray(est_hz, dtype=np.float64).ravel()
    if ref_hz.shape != est_hz.shape:
        raise ValueError(f"reference and estimate differ in length: {ref_hz.shape} vs {est_hz.shape}")
    voicing = np.ones_like(ref_hz)
    return voicing, mir_eval.melody.hz2cents(ref_hz), mir_eval.melody.hz2cents(est_hz)


def raw_pitch_accuracy(ref_hz: np.ndarray, est_hz: np.ndarray, cent_tolerance: float = 50.0) -> float:
    """Fraction (0..1) of frames with |est − ref| ≤ `cent_tolerance` cents; all frames voiced."""
    voicing, ref_cent, est_cent = _cents(ref_hz, est_hz)
    return float(mir_eval.melody.raw_pitch_accuracy(voicing, ref_cent, voicing, est_cent, cent_tolerance))


def raw_chroma_accuracy(ref_hz: np.ndarray, est_hz: np.ndarray, cent_tolerance: float = 50.0) -> float:
    """Like `raw_pitch_accuracy` but octave errors count as correct."""
    voicing, ref_cent, est_cent = _cents(ref_hz, est_hz)
    return float(mir_eval.melody.raw_chroma_accuracy(voicing, ref_cent, voicing, est_cent, cent_tolerance))


def lsd_per_frame(target: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """The paper's LSD of each STFT frame, `[batch, frames]` (`[frames]` for `[samples]` inputs):
    the mean over bins of the squared dB difference; see module docstring."""
    with torch.no_grad():
        p_target = stft(target, 1024, 256, "hann", power=True, framing="pad_end").clamp_min(1e-5)
        p_estimate = stft(estimate, 1024, 256, "hann", power=True, framing="pad_end").clamp_min(1e-5)
        return (10 * torch.log10(p_target) - 10 * torch.log10(p_estimate)).square().mean(dim=-1)


def lsd(target: torch.Tensor, estimate: torch.Tensor, per_clip: bool = False) -> torch.Tensor:
    """The paper's log-spectral distance (mean squared dB difference), see module docstring.

    Args:
        target, estimate: audio `[batch, samples]` (or `[samples]`).
        per_clip: return `[batch]` instead of the mean over clips.
    """
    per = lsd_per_frame(target, estimate).mean(dim=-1)
    return per if per_clip else per.mean()
