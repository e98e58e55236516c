"""f0 refined on the partials: the decoded pitch moved to where the spectrum's partials say it is.

The encoder reads a CQT whose lowest bins span hundreds of milliseconds (Q ≈ 51: 440 ms at
117 Hz), and it answers on a grid of 1/3-semitone bins read around the chosen one
(`decode.read_around`). On a sung note with vibrato the answer trails the voice at the swings (on
bench/refine_calibration.py's sung vowels 7 % of frames more than 50 cents off). A short STFT frame resolves the partials much faster: each partial k
near k·f0 gives a frequency f_k (the peak bin, refined by fitting a parabola through the log power
of the peak and its two neighbours), and the least-squares pitch of the partials,
f0 = Σ w_k f_k / Σ w_k k with w_k the peak's power, is the refined f0 — partials weighted by how
loud they are, so a missing fundamental or a partial cut by a telephone band counts for nothing.

This refinement never changes which pitch was chosen (octave, fifth ...): each partial is searched
within `MAX_CENTS` of k·f0 and at most a quarter of f0 away, and an answer further than
`MAX_CENTS` from the decoded f0, or one its own partials do not agree on (a decoded f0 a few
semitones off reaches other partials of the sound here and there), is dropped. Its constants are chosen on synthetic calibration sets
(voices with vibrato, inharmonic and detuned tones, phone-band voices) by
bench/refine_calibration.py (results/refine_calibration.md).
"""

from __future__ import annotations

import numpy as np

from .voicing import COMB_TOP_HZ, WINDOWS, FramePower, window_for

__all__ = ["AGREE_CENTS", "MAX_CENTS", "MIN_AGREEMENT", "MIN_SPACING_BINS", "PARTIALS", "partial_peaks", "refine_f0"]

PARTIALS = 6  # partials 1 .. PARTIALS (below COMB_TOP_HZ): fewer let inharmonic strings and pianos pull f0 less
MIN_SPACING_BINS = 8.0  # the STFT is the shortest of `WINDOWS` in which f0 spans this many bins
MAX_CENTS = 100.0  # how far a partial is searched, and the refined f0 may move, from the decoded one
AGREE_CENTS = 30.0  # a partial agrees with the refined f0 when its peak lies this close to k·f0 ...
MIN_AGREEMENT = 0.8  # ... and the refined f0 is kept only when partials holding this share of the peaks' power agree
# (a decoded f0 far off the pitch reaches other partials of it here and there, which disagree)


def partial_peaks(power: np.ndarray, hz: np.ndarray, f0_hz: np.ndarray, partials: int = PARTIALS,
                  max_cents: float = MAX_CENTS, top_hz: float = COMB_TOP_HZ) -> tuple[np.ndarray, np.ndarray]:
    """The peak of each partial k = 1 .. `partials` of `f0_hz` `[rows]` in the power spectra `power`
    `[rows, bins]` (bin frequencies `hz` `[bins]`, evenly spaced): (frequency in Hz, power), each
    `[rows, partials]`. Partial k is the strongest bin within min(f0/4, k·f0·(2^(max_cents/1200) - 1))
    of k·f0, its frequency refined by a parabola through the log power of it and its neighbours;
    power 0 where that bin is not a local maximum or k·f0 lies above `top_hz` or near Nyquist."""
    rows, n_bins = power.shape
    step = float(hz[1] - hz[0])
    k = np.arange(1, partials + 1)[None, :]
    f0 = np.asarray(f0_hz, dtype=np.float64)[:, None]
    centre = f0 * k / step
    reach = np.minimum(0.25 * f0, f0 * k * (2 ** (max_cents / 1200) - 1)) / step
    usable = (f0 * k < min(top_hz, hz[-1] - 2 * step)) & (f0 > 0)
    lo = np.floor(centre - reach).clip(1, n_bins - 2).astype(int)
    hi = np.ceil(centre + reach).clip(1, n_bins - 2).astype(int)
    width = int((hi - lo).max(initial=0)) + 1
    index = lo[:, :, None] + np.arange(width)[None, None, :]  # [rows, partials, width]
    inside = index <= hi[:, :, None]
    index = index.clip(1, n_bins - 2)
    values = np.take_along_axis(power, index.reshape(rows, -1), axis=1).reshape(index.shape)
    peak = np.take_along_axis(index, np.where(inside, values, -1.0).argmax(axis=2)[:, :, None], axis=2)[:, :, 0]
    below, at, above = (np.take_along_axis(power, peak + d, axis=1) for d in (-1, 0, 1))
    a, b, c = (np.log(x + 1e-30) for x in (below, at, above))
    curvature = a - 2 * b + c
    offset = np.divide(0.5 * (a - c), curvature, out=np.zeros_like(a), where=curvature < 0).clip(-0.5, 0.5)
    is_peak = (at >= below) & (at >= above) & (at > 0)
    return (peak + offset) * step, at * (is_peak & usable)


def refine_f0(power: FramePower, f0_hz: np.ndarray, frames: np.ndarray | None = None, partials: int = PARTIALS,
              min_spacing_bins: float = MIN_SPACING_BINS, max_cents: float = MAX_CENTS) -> np.ndarray:
    """f0 `[rows]` Hz moved to the power-weighted least-squares pitch of its partials' peaks.

    Args:
        power: the clip's `voicing.FramePower` (frame i centred at sample i·hop, as the CQT's).
        f0_hz: the decoded f0 of each row `[rows]` Hz (after the octave and comb checks).
        frames: the frame index of each row (default 0, 1, ...).
        partials, min_spacing_bins, max_cents: `PARTIALS`, `MIN_SPACING_BINS`, `MAX_CENTS`.
    Returns:
        `[rows]` float64 Hz: f0 = Σ w_k f_k / Σ w_k k over the partials' peaks (`partial_peaks`; f_k
        Hz, w_k power) in the shortest STFT where f0 spans `min_spacing_bins` bins; the decoded f0
        where no partial peaks, the answer lies more than `max_cents` away, or partials holding less
        than `MIN_AGREEMENT` of the peaks' power lie within `AGREE_CENTS` of k times the answer.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    frames = np.arange(len(f0)) if frames is None else np.asarray(frames, dtype=int)
    out = f0.copy()
    sizes = window_for(f0, power.sample_rate, min_spacing_bins)
    k = np.arange(1, partials + 1)[None, :]
    for size in WINDOWS:
        rows = np.flatnonzero((sizes == size) & (frames < power.n_frames) & (f0 > 0))
        for start in range(0, len(rows), 512):
            chunk = rows[start : start + 512]
            block, hz = power.rows(size, frames[chunk])
            freq, weight = partial_peaks(block, hz, f0[chunk], partials, max_cents)
            numerator, denominator = (weight * freq).sum(axis=1), (weight * k).sum(axis=1)
            new = np.divide(numerator, denominator, out=f0[chunk].copy(), where=denominator > 0)
            residual = 1200 * np.abs(np.log2(np.maximum(freq, 1e-6) / (k * new[:, None])))  # [rows, partials] cents
            agreement = np.divide((weight * (residual <= AGREE_CENTS)).sum(axis=1), weight.sum(axis=1),
                                  out=np.zeros(len(chunk)), where=weight.sum(axis=1) > 0)
            near = np.abs(1200 * np.log2(np.maximum(new, 1e-6) / f0[chunk])) <= max_cents
            out[chunk] = np.where(near & (agreement >= MIN_AGREEMENT), new, f0[chunk])
    return out
