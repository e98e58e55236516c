"""Voicing: is there a periodic sound at the estimated f0 in this frame?

The encoder always answers a pitch, and on coloured noise (wind, rumble, traffic) its posterior
can be as peaked as on a tone: peakedness alone cannot tell a note from noise. `estimate`
therefore combines three per-frame measures, each a small function here:

- `harmonicity`: the share of the frame's power that lies on the harmonic comb of the estimated
  f0 — within a quarter of f0 of some k·f0, k = 1 .. `COMB_PARTIALS` — among all the power from
  the lowest analysed bin up to the comb's top. A tone at f0 puts nearly all of its power on the
  teeth (1.0); noise spreads evenly over teeth and gaps (about 0.5, less for rumble below f0);
  a sound below the model's range (a 25 Hz sine under a 40 Hz answer) sits in a gap (about 0).
  The fundamental need not be there (telephone speech, small speakers): its overtones are teeth
  too. The STFT window is chosen per frame to resolve the comb (`window_for`). A long window
  smears a vibrato's upper partials across the teeth (a low telephone voice keeps only those):
  `estimate` also measures the comb in windows warped along the pitch track (`WarpedPower`) and
  keeps the better share.
- `octave_confidence`: the pitch posterior's mass within a semitone of the chosen pitch *and* of
  its octave relatives (f0/4, f0/2, 2·f0, 4·f0). On a weak or missing fundamental the posterior
  splits between f0 and 2·f0; once the decoder has chosen the octave, that split is agreement on
  the pitch class, not doubt about whether there is a pitch.
- the level gate (frame RMS in dBFS).

`below_range_share` measures, for a whole clip, how much of its energy lies below the model's
lowest pitch, so callers can say so. Thresholds (`MIN_HARMONICITY`, `MIN_CONFIDENCE`) are chosen
on synthetic calibration sets by bench/voicing_calibration.py (results/voicing_calibration.md),
never on the benchmarks.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CANDIDATE_PEAKS", "CANDIDATE_RATIOS", "CLEAR_HARMONICITY", "CLEAR_MIN_CONFIDENCE", "COMB_PARTIALS", "COMB_TOP_HZ", "MIN_CONFIDENCE", "MIN_HARMONICITY",
    "MIN_LEVEL_DB",
    "MIN_FILL", "SERIES_PARTIALS", "OCTAVE_RELATIVES", "SUBHARMONIC_TIE", "TOOTH_BINS", "WINDOWS", "FramePower", "WarpedPower",
    "below_range_share", "best_comb", "comb_scores", "pick_comb", "comb_amplitudes", "comb_candidates", "harmonicity", "octave_confidence", "window_for",
]

MIN_LEVEL_DB = -60.0  # frame RMS, dBFS: bench/voicing_calibration.py (harmonicity rejects noise; the gate keeps out near-silence)
MIN_HARMONICITY = 0.65  # bench/voicing_calibration.py
MIN_CONFIDENCE = 0.3  # bench/voicing_calibration.py
CLEAR_HARMONICITY = 0.8  # voiced on harmonicity alone ... : bench/voicing_calibration.py
CLEAR_MIN_CONFIDENCE = 0.02  # ... if the posterior gives the pitch at least this (a click fills the dense comb of a pitch far
# below the note's at its start and end): bench/voicing_calibration.py
COMB_PARTIALS = 20  # the synthesizer's partials
COMB_TOP_HZ = 5000.0  # the comb stops here: voices and most instruments carry little above, noise does
WINDOWS = (1024, 2048, 4096, 8192)  # STFT sizes at 16 kHz (64 ... 512 ms)
_LOBES = 12  # a window resolves the comb when f0 spans this many bins (a Hann main lobe is 4 bins wide)
TOOTH_BINS = 2  # a tooth reaches this many bins either side of k·f0 (a Hann main lobe), at most f0/4
TOOTH_SPREAD = 0.0  # ... plus this share of k·f0 (a vibrato's swing within the window), still at most f0/4
OCTAVE_RELATIVES = (-2, -1, 1, 2)  # octaves from the chosen pitch whose posterior mass counts as agreement
_MIN_BIN = 2  # bins below this hold the window's DC leakage and are left out
CANDIDATE_RATIOS = (1.0, 0.5, 1 / 3, 2 / 3)  # relatives of a pitch that `best_comb` weighs: an encoder that misses
# a weak fundamental answers a partial (2f0, 3f0) or a partial's ratio (3f0/2); answering a subharmonic leaves the comb intact
CANDIDATE_PEAKS = 3  # posterior maxima besides the decoded pitch whose relatives are candidates
SUBHARMONIC_TIE = 0.05  # candidates this close to the best comb count as equally harmonic
FILL_DB = -30.0  # a tooth is occupied when its power is within this of the strongest tooth
MIN_FILL = 0.7  # a candidate's occupied teeth must fill this share of their span
SERIES_PARTIALS = 3  # with a contrast fill, at least this many teeth must stand out (a band of noise fills one)


def window_for(f0_hz: np.ndarray, sample_rate: int = 16000, spacing_bins: float = _LOBES) -> np.ndarray:
    """The smallest of `WINDOWS` in which f0 spans at least `spacing_bins` STFT bins (default `_LOBES`,
    12: teeth and gaps each wider than a Hann main lobe), per frame `[frames]` int; the largest for f0
    below that. `refine` asks for fewer bins (a shorter window that follows vibrato)."""
    f0 = np.asarray(f0_hz, dtype=np.float64)
    needed = spacing_bins * sample_rate / np.maximum(f0, 1e-3)
    choice = np.full(f0.shape, WINDOWS[-1])
    for size in reversed(WINDOWS):
        choice = np.where(needed <= size, size, choice)
    return choice


def _comb_share(cum: np.ndarray, step: float, f0: np.ndarray, contrast: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Power on the teeth / power in the band, per frame, from the cumulative power `cum`
    `[frames, bins + 1]` (cum[:, j] = power of bins 0 .. j-1) of bins `step` Hz apart and f0 `[frames]` Hz.

    Band: bins j >= 2 with j·step < (K + 1/4)·f0; tooth k: bins within min(f0/4, TOOTH_BINS bins
    + TOOTH_SPREAD·k·f0) of k·f0.
    Also returns the comb's fill: the share of the teeth from the lowest to the highest occupied one
    that are occupied (power within `FILL_DB` of the strongest tooth): a pitch's partials form a
    series, a sub-harmonic's comb has every other (or every third, fourth ...) tooth empty.
    With `contrast`, a tooth is occupied when its power per bin exceeds `contrast` times that of the
    rest of the band within f0/2 of k·f0 (a partial standing out of its own gaps, whatever the
    spectral envelope: a formant valley 30 dB down still holds partials), and fewer than
    `SERIES_PARTIALS` occupied teeth give a fill of 0."""
    n_bins = cum.shape[1] - 1
    b0 = f0 / step  # f0 in bins
    top = np.minimum(COMB_PARTIALS, np.maximum(np.floor(COMB_TOP_HZ / f0), 1)) + 0.25
    band_hi = np.clip(np.ceil(top * b0) - 1, _MIN_BIN - 1, n_bins - 1).astype(int)  # the last bin below top·f0
    centres = np.arange(1, COMB_PARTIALS + 1)[None, :] * b0[:, None]  # [frames, K]
    half = np.minimum(0.25 * b0[:, None], TOOTH_BINS + TOOTH_SPREAD * centres)  # [frames, K] in bins
    lo = np.maximum(np.ceil(centres - half - 1e-9), _MIN_BIN).astype(int)
    hi = np.minimum(np.floor(centres + half + 1e-9), band_hi[:, None]).astype(int)
    present = hi >= lo
    lo, hi = lo.clip(0, n_bins - 1), hi.clip(0, n_bins - 1)
    teeth = (np.take_along_axis(cum, hi + 1, axis=1) - np.take_along_axis(cum, lo, axis=1)) * present
    if contrast is None:
        occupied = teeth > teeth.max(axis=1, keepdims=True) * 10 ** (FILL_DB / 10)
    else:  # a tooth stands out of the gaps around it (k - 1/2 .. k + 1/2 times f0), per bin, by `contrast` in power
        around_lo = np.clip(np.ceil(centres - 0.5 * b0[:, None]), _MIN_BIN, n_bins - 1).astype(int)
        around_hi = np.clip(np.floor(centres + 0.5 * b0[:, None]), 0, n_bins - 1).astype(int)
        around = np.take_along_axis(cum, around_hi + 1, axis=1) - np.take_along_axis(cum, around_lo, axis=1)
        gap_bins = np.maximum((around_hi - around_lo + 1) - (hi - lo + 1) * present, 1)
        gap = np.maximum(around - teeth, 0) / gap_bins
        occupied = present & (teeth / np.maximum(hi - lo + 1, 1) > contrast * gap) & (teeth > 0)
    k = np.arange(1, teeth.shape[1] + 1)
    first = np.where(occupied, k, teeth.shape[1] + 1).min(axis=1)
    last = np.where(occupied, k, 0).max(axis=1)
    fill = np.divide(occupied.sum(axis=1), last - first + 1, out=np.zeros(len(f0)), where=last >= first)
    if contrast is not None:
        fill = np.where(occupied.sum(axis=1) >= SERIES_PARTIALS, fill, 0.0)
    total = cum[np.arange(len(f0)), band_hi + 1] - cum[:, _MIN_BIN]
    return np.divide(teeth.sum(axis=1), total, out=np.zeros(len(f0)), where=total > 0), fill


def _comb_scores(power: "FramePower", f0: np.ndarray, frames: np.ndarray, contrast: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`_comb_share` and fill of every pitch in `f0` `[rows, C]` (NaN: skip, scored 0) on frames
    `frames` `[rows]`, each `[rows, C]`, each pitch in the window it needs; the cumulative power of
    a frame is computed once per window size, whatever the number of candidates."""
    out, fill = np.zeros(f0.shape), np.zeros(f0.shape)
    valid = np.isfinite(f0) & (f0 > 0)
    sizes = np.where(valid, window_for(np.where(valid, f0, 1.0), power.sample_rate), 0)
    for size in WINDOWS:
        hit = sizes == size
        hz = np.fft.rfftfreq(size, 1 / power.sample_rate)
        rows = np.flatnonzero(hit.any(axis=1) & (frames < power.n_frames))
        for start in range(0, len(rows), 256):
            chunk = rows[start : start + 256]
            block, _ = power.rows(size, frames[chunk])
            cum = np.zeros((len(chunk), block.shape[1] + 1))
            np.cumsum(block, axis=1, dtype=np.float64, out=cum[:, 1:])
            for column in range(f0.shape[1]):
                mine = hit[chunk, column]
                if mine.any():
                    out[chunk[mine], column], fill[chunk[mine], column] = _comb_share(cum[mine], hz[1], f0[chunk[mine], column], contrast)
    return out, fill


class FramePower:
    """Hann power spectra of a clip's frames, `[frames, bins]` per window size, each frame computed
    the first time it is asked for (a long window is often needed by a few frames only).

    Frame i is centred at sample i·`hop_length` (zero padding at the ends: librosa's `stft` with
    `center=True`, `pad_mode="constant"`), as the CQT frames; the clip's mean (DC offset) is removed
    first. `audio`: mono `[samples]` at `sample_rate`."""

    def __init__(self, audio: np.ndarray, sample_rate: int = 16000, hop_length: int = 256):
        audio = np.asarray(audio, dtype=np.float64)
        self.audio = audio - audio.mean() if audio.size else audio
        self.sample_rate, self.hop_length = sample_rate, hop_length
        self.n_frames = 1 + len(self.audio) // hop_length
        self._power: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # size -> (power [frames, bins], computed [frames])
        self._padded: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # size -> (zero-padded audio, Hann window), made once

    def rows(self, size: int, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(power `[len(frames), size // 2 + 1]` of the frames `frames`, bin frequencies in Hz)."""
        from scipy import fft
        from scipy.signal import get_window

        if size not in self._power:
            self._power[size] = (np.empty((self.n_frames, size // 2 + 1)), np.zeros(self.n_frames, dtype=bool))
            self._padded[size] = (np.pad(self.audio, size // 2), get_window("hann", size, fftbins=True))
        power, done = self._power[size]
        frames = np.asarray(frames, dtype=int)
        missing = np.unique(frames[~done[frames]])
        if len(missing):
            padded, window = self._padded[size]
            windows = np.lib.stride_tricks.sliding_window_view(padded, size)[missing * self.hop_length]  # a copy: written below
            windows *= window
            magnitude = np.abs(fft.rfft(windows, axis=1, overwrite_x=True))
            power[missing] = np.square(magnitude, out=magnitude)  # the same values as abs(...) ** 2, fewer temporaries
            done[missing] = True
        return power[frames], np.fft.rfftfreq(size, 1 / self.sample_rate)

    def __call__(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(power `[frames, size // 2 + 1]` of every frame, bin frequencies in Hz `[size // 2 + 1]`)."""
        return self.rows(size, np.arange(self.n_frames))


class WarpedPower(FramePower):
    """`FramePower` of windows resampled along a pitch track so that its pitch is constant in each
    window: a voice whose vibrato or glide sweeps its partials across several bins of a long window
    (a 100-cent vibrato moves the 10th partial of a 90 Hz voice by ±50 Hz within the 256 ms that
    resolve its comb) puts them back on the comb's teeth. This is the fan-chirp idea (Weruaga &
    Képesi 2007; Cancela et al. 2010): analyse in the time axis of the pitch's phase.

    Frame i's window is read at the instants where the phase of the track, φ(t) = ∫ f0(t) dt,
    advances uniformly at the rate f0(i·hop): sample j (j = -size/2 .. size/2 - 1) of the window sits
    where φ = φ(i·hop) + f0(i·hop)·j / sample_rate, linearly interpolated. A constant track gives
    exactly `FramePower`'s windows. `f0_hz` `[frames]` (Hz, frame i at sample i·`hop_length`) is
    interpolated linearly in log f0 between frames; noise stays noise under a smooth warp.
    `audio`: mono `[samples]` at `sample_rate`."""

    def __init__(self, audio: np.ndarray, f0_hz: np.ndarray, sample_rate: int = 16000, hop_length: int = 256):
        super().__init__(audio, sample_rate, hop_length)
        n = len(self.audio)
        track = np.log2(np.maximum(np.asarray(f0_hz, dtype=np.float64), 1e-3))
        self._rate = 2 ** np.interp(np.arange(n), np.arange(len(track)) * hop_length, track)  # f0 per sample [samples]
        self._phase = np.concatenate([[0.0], np.cumsum(self._rate[:-1])])  # φ·sample_rate, increasing [samples]

    def rows(self, size: int, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(power `[len(frames), size // 2 + 1]` of the warped windows of `frames`, bin frequencies in Hz)."""
        from scipy import fft
        from scipy.signal import get_window

        if size not in self._power:
            self._power[size] = (np.empty((self.n_frames, size // 2 + 1)), np.zeros(self.n_frames, dtype=bool))
        power, done = self._power[size]
        frames = np.asarray(frames, dtype=int)
        missing = np.unique(frames[~done[frames]])
        n = len(self.audio)
        for start in range(0, len(missing), 64):
            chunk = missing[start : start + 64]
            centre = np.minimum(chunk * self.hop_length, max(n - 1, 0))
            offsets = np.arange(size) - size // 2
            if n < 2:
                windows = np.zeros((len(chunk), size))
            else:
                target = self._phase[centre][:, None] + self._rate[centre][:, None] * offsets[None, :]
                # beyond the clip's ends the phase runs on at the end's rate (the windows there see zeros, as `FramePower`'s)
                first, last = self._phase[0], self._phase[-1]
                t = np.interp(target, self._phase, np.arange(n, dtype=np.float64))
                t = np.where(target < first, (target - first) / self._rate[0], t)
                t = np.where(target > last, n - 1 + (target - last) / self._rate[-1], t)
                windows = np.interp(t, np.arange(n, dtype=np.float64), self.audio, left=0.0, right=0.0)
                windows[(t < 0) | (t > n - 1)] = 0.0
            windows *= get_window("hann", size, fftbins=True)
            magnitude = np.abs(fft.rfft(windows, axis=1, overwrite_x=True))
            power[chunk] = np.square(magnitude, out=magnitude)
            done[chunk] = True
        return power[frames], np.fft.rfftfreq(size, 1 / self.sample_rate)


def _per_window(power: FramePower, f0: np.ndarray, measure, frames: np.ndarray | None = None) -> np.ndarray:
    """`measure(power [rows, bins], hz [bins], f0 [rows])` -> `[rows, COMB_PARTIALS]` on each
    frame with the window its f0 needs; `frames` `[len(f0)]`: the frame index of each f0 (default: 0, 1, ...)."""
    frames = np.arange(len(f0)) if frames is None else np.asarray(frames)
    out = np.zeros((len(f0), COMB_PARTIALS))
    sizes = window_for(f0, power.sample_rate)
    for size in WINDOWS:
        rows = np.flatnonzero(sizes == size)
        if not len(rows):
            continue
        rows = rows[frames[rows] < power.n_frames]
        for start in range(0, len(rows), 512):
            chunk = rows[start : start + 512]
            block, hz = power.rows(size, frames[chunk])
            out[chunk] = measure(block, hz, f0[chunk])
    return out


def harmonicity(audio: np.ndarray | FramePower, f0_hz: np.ndarray, sample_rate: int = 16000, hop_length: int = 256,
                frames: np.ndarray | None = None) -> np.ndarray:
    """Share of each frame's power on the harmonic comb of its f0, `[frames]` in 0..1.

    Args:
        audio: mono samples `[samples]` at `sample_rate` (16 kHz in `estimate`), or their `FramePower`.
        f0_hz: the estimated f0 of each frame `[frames]`, frame i centred at sample i·hop_length
            (the CQT's framing).
        frames: the frame index of each f0 when only some frames are wanted (default 0, 1, ...).
    Frame i's power spectrum is a Hann STFT centred there, of the size `window_for` gives its f0;
    the band runs from bin 2 to (K + 1/4)·f0 with K the number of partials up to `COMB_TOP_HZ`
    (at most `COMB_PARTIALS`, at least 1); the teeth are the bins within `TOOTH_BINS` bins plus
    `TOOTH_SPREAD`·k·f0 (a vibrato's swing; at most f0/4) of k·f0, k >= 1. White noise scores
    0.1-0.5, a harmonic tone about 1.
    """
    power = audio if isinstance(audio, FramePower) else FramePower(audio, sample_rate, hop_length)
    f0 = np.asarray(f0_hz, dtype=np.float64)
    return _comb_scores(power, f0[:, None], np.arange(len(f0)) if frames is None else np.asarray(frames))[0][:, 0]


def _tooth_peaks(power: np.ndarray, hz: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """The largest power within each tooth k = 1 .. COMB_PARTIALS, `[frames, COMB_PARTIALS]` (0 above Nyquist)."""
    step = hz[1] - hz[0]
    half = np.maximum(np.rint(np.minimum(0.25 * f0, TOOTH_BINS * step) / step), 1).astype(int)  # [frames]
    centre = np.rint(f0[:, None] * np.arange(1, COMB_PARTIALS + 1) / step).astype(int)  # [frames, K]
    out = np.zeros(centre.shape)
    for offset in range(-int(half.max(initial=1)), int(half.max(initial=1)) + 1):
        index = centre + offset
        valid = (index >= 0) & (index < len(hz)) & (np.abs(offset) <= half[:, None])
        out = np.maximum(out, np.where(valid, np.take_along_axis(power, index.clip(0, len(hz) - 1), axis=1), 0.0))
    return out * (centre < len(hz) - 1)


def comb_amplitudes(audio: np.ndarray | FramePower, f0_hz: np.ndarray, sample_rate: int = 16000, hop_length: int = 256,
                    frames: np.ndarray | None = None) -> np.ndarray:
    """Relative amplitudes of partials 1 .. `COMB_PARTIALS` read off the spectrum at k·f0 (the
    peak magnitude within each tooth), `[frames, COMB_PARTIALS]`; used where `estimate` overrules
    the encoder's pitch, whose amplitudes then belong to another f0. `frames`: the frame index of
    each f0 (default 0, 1, ...)."""
    power = audio if isinstance(audio, FramePower) else FramePower(audio, sample_rate, hop_length)
    return np.sqrt(_per_window(power, np.asarray(f0_hz, dtype=np.float64), _tooth_peaks, frames))


def comb_candidates(posterior: np.ndarray, f0_hz: np.ndarray, bins_hz: np.ndarray, peaks: int = CANDIDATE_PEAKS) -> np.ndarray:
    """Alternative pitches per frame, `[frames, (1 + peaks) * len(CANDIDATE_RATIOS)]` Hz: the
    decoded f0 and the posterior's `peaks` highest local maxima, each times every ratio of
    `CANDIDATE_RATIOS` (the relatives an encoder confuses with the pitch when the fundamental is
    weak or missing). `posterior` `[frames, bins]`, `bins_hz` `[bins]`."""
    posterior = np.asarray(posterior, dtype=np.float64)
    maxima = np.zeros_like(posterior)
    maxima[:, 1:-1] = np.where((posterior[:, 1:-1] >= posterior[:, :-2]) & (posterior[:, 1:-1] >= posterior[:, 2:]), posterior[:, 1:-1], 0)
    top = np.argsort(-maxima, axis=1)[:, :peaks]
    bases = np.concatenate([np.asarray(f0_hz, dtype=np.float64)[:, None], np.asarray(bins_hz)[top]], axis=1)
    return (bases[:, :, None] * np.asarray(CANDIDATE_RATIOS)[None, None, :]).reshape(len(bases), -1)


def best_comb(audio: np.ndarray | FramePower, candidates_hz: np.ndarray, frames: np.ndarray, lowest_hz: float, highest_hz: float,
              sample_rate: int = 16000, hop_length: int = 256, contrast: float | None = None,
              min_fill: float = MIN_FILL) -> tuple[np.ndarray, np.ndarray]:
    """Among the candidate pitches `[rows, C]` of frames `frames` `[rows]` within
    `lowest_hz`-`highest_hz` whose occupied teeth form a series (at least `MIN_FILL` of the teeth
    between the lowest and the highest occupied one: not the common sub-harmonic of two notes, f0/4
    under a major third), the highest whose harmonicity is within `SUBHARMONIC_TIE` of the best
    (a comb at f0/2 holds every tooth of f0, so the highest near-best is the pitch):
    (f0 `[rows]`, its harmonicity `[rows]`; 0 where no candidate is in range). `min_fill`: the
    series' share instead of `MIN_FILL`; `contrast`: teeth occupied by standing out of their gaps
    (`_comb_share`), not by their level against the strongest tooth."""
    share, fill = comb_scores(audio, candidates_hz, frames, lowest_hz, highest_hz, sample_rate, hop_length, contrast)
    return pick_comb(candidates_hz, share, fill, min_fill)


def comb_scores(audio: np.ndarray | FramePower, candidates_hz: np.ndarray, frames: np.ndarray, lowest_hz: float, highest_hz: float,
                sample_rate: int = 16000, hop_length: int = 256, contrast: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Harmonicity and fill (`_comb_share`) of each candidate pitch `[rows, C]` (Hz) on frames
    `frames` `[rows]`, each `[rows, C]`; candidates outside `lowest_hz`-`highest_hz` score 0 with fill 0."""
    power = audio if isinstance(audio, FramePower) else FramePower(audio, sample_rate, hop_length)
    candidates = np.asarray(candidates_hz, dtype=np.float64)
    allowed = (candidates >= lowest_hz) & (candidates <= highest_hz)
    return _comb_scores(power, np.where(allowed, candidates, np.nan), np.asarray(frames), contrast)


def pick_comb(candidates_hz: np.ndarray, share: np.ndarray, fill: np.ndarray, min_fill: float = MIN_FILL) -> tuple[np.ndarray, np.ndarray]:
    """`best_comb`'s choice from `comb_scores`' harmonicity `share` and `fill` of the candidates
    `[rows, C]`: among those with fill >= `min_fill`, the highest within `SUBHARMONIC_TIE` of the
    best harmonicity: (f0 `[rows]`, its harmonicity `[rows]`; 0 where none qualifies)."""
    candidates = np.asarray(candidates_hz, dtype=np.float64)
    allowed = fill >= min_fill
    scores = np.where(allowed, share, -1.0)
    near = scores >= scores.max(axis=1, keepdims=True) - SUBHARMONIC_TIE
    pick = np.argmax(np.where(near & allowed, candidates, -np.inf), axis=1)
    rows = np.arange(len(candidates))
    return candidates[rows, pick], np.maximum(scores[rows, pick], 0.0)


def octave_confidence(posterior: np.ndarray, path: np.ndarray, bins_per_octave: int, half_width: int = 3) -> np.ndarray:
    """The posterior mass `[frames]` within ±`half_width` bins of the chosen bins `path` `[frames]`
    and of the bins an octave relative away (`OCTAVE_RELATIVES`, in octaves of `bins_per_octave`),
    from the posterior `[frames, bins]`; windows clipped at the edges, never counted twice."""
    posterior = np.asarray(posterior, dtype=np.float64)
    frames, n = posterior.shape
    offsets = np.concatenate([np.arange(-half_width, half_width + 1) + octave * bins_per_octave for octave in (0, *OCTAVE_RELATIVES)])
    offsets = np.unique(offsets)
    around = np.asarray(path)[:, None] + offsets[None, :]
    valid = (around >= 0) & (around < n)
    return (np.take_along_axis(posterior, around.clip(0, n - 1), axis=1) * valid).sum(axis=1)


def below_range_share(audio: np.ndarray, lowest_hz: float, sample_rate: int = 16000) -> float:
    """Share of the clip's power (0..1) below `lowest_hz` (the model's lowest pitch), from its
    Welch power spectrum (4096-sample Hann segments), DC offset removed first; 0 for silence."""
    from scipy.signal import welch

    audio = np.asarray(audio, dtype=np.float64)
    if audio.size < 16:
        return 0.0
    hz, psd = welch(audio - audio.mean(), fs=sample_rate, nperseg=min(4096, audio.size), detrend=False)
    total = psd[1:].sum()
    return float(psd[1:][hz[1:] < lowest_hz].sum() / total) if total > 0 else 0.0
