"""Pitch posterior -> f0 track: which pitch bin each frame reads, and the f0 and confidence around it.

`estimate` decodes the encoder's per-frame pitch posterior `[frames, bins]` (softmax of its
pitch logits; bins log-spaced, `EncoderConfig.pitch_bins_hz`) in two steps:

1. `peak_path` (each frame's own peak) or `viterbi_path` (the most probable bin sequence under
   a pitch that moves smoothly and rarely jumps: an HMM over the pitch bins whose emissions are the
   posterior, as CREPE's and pYIN's Viterbi decoding). On real instruments the posterior's peak
   sometimes sits on another partial for a few frames (a bassoon's 5th partial, the decaying tail
   of a high piano note falling to the lowest bin); the path keeps to the note around them:
   results/bench_real_viterbi.md.
2. `read_around`: f0 is the posterior-weighted mean of log2 f0 within ±1 semitone of the chosen
   bin, confidence the posterior mass there (0..1): how much of the posterior agrees with the
   estimate.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["JUMP_PROBABILITY", "MAX_STEP_BINS", "PEAK_HALF_WIDTH", "peak_path", "read_around", "transition_matrix", "viterbi_path"]

PEAK_HALF_WIDTH = 3  # pitch bins (1/3 semitone each): the window of ±1 semitone read around the chosen bin
MAX_STEP_BINS = 6  # a smooth move: at most 2 semitones per 16 ms frame (vibrato, glides, portamento)
JUMP_PROBABILITY = 1e-3  # per frame, a jump to any bin (a new note): about one per 16 s of frames a priori
_EMISSION_FLOOR = 1e-6  # added to the posterior so that no bin is impossible


def peak_path(posterior: np.ndarray) -> np.ndarray:
    """Each frame's most probable bin, `[frames]` int, from the posterior `[frames, bins]`."""
    return np.asarray(posterior).argmax(axis=-1)


def transition_matrix(n_bins: int, max_step: int = MAX_STEP_BINS, jump_probability: float = JUMP_PROBABILITY) -> np.ndarray:
    """The HMM's transition probabilities `[from bin, to bin]` that `viterbi_path` uses, dense.

    From bin i: with probability 1 - `jump_probability` a smooth move to a bin within `max_step`,
    weighted by a triangle (max_step + 1 - |i - j|, normalised over the bins that exist); with
    probability `jump_probability` a jump to any of the `n_bins` bins, uniformly. Rows sum to 1.
    `viterbi_path` never builds it (it is banded plus a constant); tests compare it with
    librosa.sequence.viterbi on this matrix."""
    offsets = np.arange(n_bins)[None, :] - np.arange(n_bins)[:, None]
    band = np.where(np.abs(offsets) <= max_step, max_step + 1.0 - np.abs(offsets), 0.0)
    return (1 - jump_probability) * band / band.sum(axis=1, keepdims=True) + jump_probability / n_bins


@numba.njit(cache=True, nogil=True)
def _viterbi_kernel(log_emission, max_step, log_keep, log_jump):  # pragma: no cover - jitted
    """Most probable state sequence for log emissions `[frames, bins]` under `transition_matrix`.

    log_keep: [bins, 2 * max_step + 1], log((1 - p) * triangle / row sum + p / bins) from bin i
    to bin i + offset (-inf off the grid); log_jump: log(p / bins), from any bin to any other.
    Each frame starts every bin from the previous frame's best bin by a jump, then lets the bins
    that can beat that (score above best + log_jump - the largest log_keep) move within their
    band: exact, and O(frames * (bins + active bins * band)) where a dense Viterbi is
    O(frames * bins^2)."""
    frames, n = log_emission.shape
    back = np.empty((frames, n), dtype=np.int16)
    score = log_emission[0] - np.log(n)
    value = np.empty(n)
    best_keep = -np.inf
    for i in range(n):
        for k in range(2 * max_step + 1):
            best_keep = max(best_keep, log_keep[i, k])
    for t in range(1, frames):
        best_any = np.argmax(score)
        jump = score[best_any] + log_jump
        value[:] = jump
        back[t, :] = best_any
        threshold = jump - best_keep
        for i in range(n):
            s = score[i]
            if s > threshold:
                for j in range(max(0, i - max_step), min(n, i + max_step + 1)):
                    candidate = s + log_keep[i, j - i + max_step]
                    if candidate > value[j]:
                        value[j] = candidate
                        back[t, j] = i
        for j in range(n):
            score[j] = value[j] + log_emission[t, j]
    path = np.empty(frames, dtype=np.int64)
    path[frames - 1] = np.argmax(score)
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def viterbi_path(posterior: np.ndarray, max_step: int = MAX_STEP_BINS, jump_probability: float = JUMP_PROBABILITY) -> np.ndarray:
    """The most probable bin sequence `[frames]` int under the posterior `[frames, bins]` as emission
    probabilities (plus a floor of 1e-6) and `transition_matrix(bins, max_step, jump_probability)`,
    from a uniform start. Empty in, empty out."""
    posterior = np.asarray(posterior, dtype=np.float64)
    if posterior.ndim != 2:
        raise ValueError(f"expected a posterior [frames, bins], got shape {posterior.shape}")
    frames, n = posterior.shape
    if not 0 < jump_probability < 1:
        raise ValueError(f"jump_probability must be in (0, 1), got {jump_probability}")
    if max_step < 0 or n >= 2**15:
        raise ValueError(f"max_step must be >= 0 and bins < 32768, got {max_step} and {n}")
    if frames == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.arange(-max_step, max_step + 1)
    to = np.arange(n)[:, None] + offsets[None, :]
    exists = (to >= 0) & (to < n)
    triangle = np.where(exists, max_step + 1.0 - np.abs(offsets)[None, :], 0.0)
    keep = (1 - jump_probability) * triangle / triangle.sum(axis=1, keepdims=True) + jump_probability / n
    log_keep = np.where(exists, np.log(keep), -np.inf)
    log_emission = np.log(np.nan_to_num(posterior, nan=0.0).clip(0.0) + _EMISSION_FLOOR)
    return _viterbi_kernel(np.ascontiguousarray(log_emission), max_step, log_keep, np.log(jump_probability / n))


def read_around(posterior: np.ndarray, path: np.ndarray, log2_bins_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f0 in Hz and confidence, each `[frames]`, read from the posterior `[frames, bins]` around
    the bins `path` `[frames]`: within ±`PEAK_HALF_WIDTH` bins (clipped at the edges), f0 is the
    posterior-weighted mean of `log2_bins_hz` `[bins]`, confidence the posterior mass (0..1).
    The mass near the chosen bin, not the posterior's value there: how sharp a trained posterior
    is depends on the model, while the mass within a semitone says how much of the posterior
    agrees with the estimate, whatever the model. Where that mass is 0, f0 is the bin's own."""
    posterior = np.asarray(posterior)
    n = posterior.shape[-1]
    around = np.asarray(path)[:, None] + np.arange(-PEAK_HALF_WIDTH, PEAK_HALF_WIDTH + 1)
    window = around.clip(0, n - 1)
    weights = np.take_along_axis(posterior, window, axis=1).astype(np.float64) * ((around >= 0) & (around < n))
    mass = weights.sum(axis=1)
    log2_bins = np.asarray(log2_bins_hz, dtype=np.float64)
    own = log2_bins[np.asarray(path)]
    mean = np.divide((weights * log2_bins[window]).sum(axis=1), mass, out=own.copy(), where=mass > 0)
    return np.exp2(mean), mass
