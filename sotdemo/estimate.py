"""Audio in -> per-frame f0, voicing, confidence, harmonic amplitudes and a resynthesis.

One function, `estimate`, shared by the CLI, the web app and the benchmarks. Frames are the
CQT's: hop 256 samples at 16 kHz (16 ms), frame i centred at i*16 ms. Per frame:
- `f0_hz`: the encoder's pitch posterior (softmax of its pitch logits at the model's
  temperature) decoded by `sotdemo.decode`: a Viterbi path through the clip's posteriors picks
  one pitch bin per frame (a smooth track that rarely jumps), and f0 is the posterior-weighted
  mean of log2 f0 over the bins within ±1 semitone of it (always filled in, voiced or not).
  Training uses the soft-argmax over all bins (`Encoder.f0_from_logits`); on real instruments the
  posterior often has a second mode an octave up, which the soft-argmax averages in (+347 cents
  on a violin G3) and the local mean ignores (results/bench_real_decoding.md), and for a few
  frames its peak can sit on another partial, which the path steps over
  (results/bench_real_viterbi.md). Then f0 is checked against the spectrum: the octave check
  (f0/2, f0/3 where a series of partials stands between the harmonics) and the comb check
  (`comb_check`: an f0 whose harmonic comb misses the spectrum is replaced by the relative of the
  posterior's peaks that explains it, `voicing.best_comb`; and `contour_check_step`: between two
  frames whose comb alone voices them, at most 192 ms apart and within a semitone, a frame whose
  answer fits worse takes their contour's pitch where its comb fits; before it, `periodicity_check_step`:
  frames the encoder's pitch does not voice, and voiced frames read at a partial of the pitch, try the
  pitch of the waveform's period, YIN's, in windows warped along its track); last, on frames above the level gate,
  f0 is moved onto the peaks of its partials in a short STFT (`sotdemo.refine`; at most 100 cents,
  never to another pitch: the CQT's long low windows trail a voice's vibrato);
- `confidence`: the mass of the posterior within ±1 semitone of the chosen pitch and of its
  octave relatives, 0..1 (`voicing.octave_confidence`): how much of it agrees on the pitch class;
- `harmonicity`: the share of the frame's power on the harmonic comb of f0 (`voicing.harmonicity`;
  where the refinement moved f0, the better of the combs before and after it; and the better of
  that and the comb in the window warped along the pitch track, `voicing.WarpedPower`, where a
  vibrato's partials sweep across the long window's teeth; the comb check scores its candidates
  both ways too);
- `voiced`: level gate (frame RMS >= `level_db` dBFS), harmonicity >= `min_harmonicity`, and
  either harmonicity >= `clear_harmonicity` or confidence >= `min_confidence` (`threshold`);
- `amplitudes`: the encoder's K harmonic amplitudes rescaled so that the harmonic tone they
  make has the RMS of the input frame (the encoder sees LayerNorm-ed frames and is blind to
  level); zero on unvoiced frames.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import torch

from .audio import LoadedAudio, prepare
from .audio import load as load_audio
from .engine import bfloat16_is_fast, choose, onnx_encoder
from .decode import PEAK_HALF_WIDTH, peak_path, read_around, viterbi_path
from .model import HarmonicModel, load
from .refine import refine_f0
from .spectral import CQT_BINS_PER_OCTAVE, CQT_FMIN, HOP, SAMPLE_RATE, frame_times
from .voicing import (
    CANDIDATE_RATIOS, CLEAR_HARMONICITY, CLEAR_MIN_CONFIDENCE, MIN_CONFIDENCE, MIN_HARMONICITY, MIN_LEVEL_DB, FramePower, WarpedPower, below_range_share, best_comb, comb_amplitudes, comb_candidates, comb_scores, pick_comb,
    WINDOWS, harmonicity, octave_confidence,
)

__all__ = [
    "BELOW_RANGE_WARN", "DECODERS", "DEFAULT_LEVEL_DB", "DEFAULT_MIN_CONFIDENCE", "DEFAULT_MIN_HARMONICITY", "SUBOCTAVE_THRESHOLD",
    "CONTOUR_MAX_CENTS", "CONTOUR_MAX_GAP", "PERIODICITY_CONTRAST", "PERIODICITY_MARGIN", "PERIODICITY_SERIES_FILL", "Estimate", "bfloat16_is_fast", "comb_check", "comb_check_step", "contour_check_step", "decode", "estimate", "estimate_file", "frame_level_db", "frame_rms",
    "estimate_many", "get_model", "infer", "octave_check_step", "periodicity_check_step", "periodicity_track", "preprocess", "range_warnings", "refine_step", "scale_amplitudes", "suboctave_evidence", "threshold",
    "write_csv",
]

DEFAULT_LEVEL_DB = MIN_LEVEL_DB  # bench/voicing_calibration.py
DEFAULT_MIN_CONFIDENCE = MIN_CONFIDENCE  # bench/voicing_calibration.py
DEFAULT_MIN_HARMONICITY = MIN_HARMONICITY  # bench/voicing_calibration.py
_HIGHEST_PITCH_HZ = 2000.0  # the comb check's highest candidate: the training distributions' top f0
BELOW_RANGE_WARN = 0.5  # a clip with at least this share of its energy below the model's lowest pitch gets a warning
DECODERS = ("viterbi", "peak")
_BATCH = 256  # frames per encoder call: 128-512 are within run-to-run noise, 1024 is slower (bench/speed.py)


@dataclass
class Estimate:
    times_s: np.ndarray  # [frames]
    f0_hz: np.ndarray  # [frames]
    voiced: np.ndarray  # [frames] bool
    confidence: np.ndarray  # [frames] 0..1
    amplitudes: np.ndarray  # [frames, K] linear
    resynthesis: np.ndarray  # [samples] float32 at 16 kHz
    sample_rate: int = SAMPLE_RATE
    model_name: str = ""
    warnings: list[str] = field(default_factory=list)  # what was analysed differently from what was given
    harmonicity: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [frames] 0..1, `voicing.harmonicity`
    level_db: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [frames] RMS in dBFS, the level gate's input
    engine: str = ""  # what ran the encoder: 'torch float32', 'torch bfloat16' or 'onnxruntime float32' (`sotdemo.engine`)


SUBOCTAVE_THRESHOLD = 0.05  # chosen on synthetic clips of the realistic distribution: bench/octave_check.py
_CHECK_PARTIALS = 10
_MOVED_OCTAVES = 5 / 1200  # a refinement of more than 5 cents: harmonicity is the better of the comb before and after
CONTOUR_MAX_GAP = 12  # frames (192 ms, about one vibrato cycle) between two anchors that `contour_check_step` bridges
CONTOUR_MAX_CENTS = 100.0  # ... whose pitches are this close (farther: two notes, not one contour)
SUBHARMONIC_DIVISORS = (2, 3)  # the octave check tries f0/2, then f0/3
_STANDING = 0.005  # an odd multiple of f0/2 "stands out" above this share of the harmonics' power (-23 dB)


def _energy_at(power: np.ndarray, hz: np.ndarray, fmin_hz: float = CQT_FMIN, bins_per_octave: int = CQT_BINS_PER_OCTAVE) -> np.ndarray:
    """CQT power `[frames, bins]` at frequencies `hz` `[frames, n]`: the largest of the nearest
    bin and its two neighbours (tolerates mistuning and inharmonicity); 0 off the CQT's range."""
    position = np.round((np.log2(np.maximum(hz, 1e-3)) - np.log2(fmin_hz)) * bins_per_octave).astype(int)
    out = np.zeros(hz.shape)
    for offset in (-1, 0, 1):
        out = np.maximum(out, np.take_along_axis(power, np.clip(position + offset, 0, power.shape[1] - 1), axis=1))
    return out * ((position >= 1) & (position < power.shape[1] - 1))


def suboctave_evidence(cqt_frames: np.ndarray, f0_hz: np.ndarray, divisor: int = 2, fmin_hz: float = CQT_FMIN,
                       bins_per_octave: int = CQT_BINS_PER_OCTAVE) -> np.ndarray:
    """How much the spectrum says the pitch is f0/`divisor`, per frame `[frames]` (0 = nothing).

    Over the multiples m·f0/n of f0/n (n = `divisor`) that are not harmonics of f0 (m not a
    multiple of n; for n = 2 the odd multiples f0/2, 3f0/2, ..., 19f0/2, for n = 3 up to 17f0/3),
    the CQT power standing above the mean of the points half a spacing (f0/2n) to either side (a
    partial, not noise), summed and divided by the power at the harmonics f0 ... 10f0. A tone
    whose pitch is f0 has no partials between its harmonics (median 3e-6 on the benchmark's
    correctly estimated frames); when the encoder answers the octave above a weak fundamental
    (n = 2), or the third partial of a voice whose first formant sits there and whose lowest
    partials a telephone cut (n = 3), the true pitch's other partials stand there (synthetic
    figures in results/octave_check.md).

    Only a series counts: the multiples m that stand out (each above `_STANDING` of the harmonics'
    power) must share no common factor. A second note a fifth above f0 puts its partials at
    3, 9, 15 ... times f0/2 (a third above: 5, 15, 25 ...; a fourth above: 4, 8, 16 ... times f0/3);
    a missing fundamental's own partials stand at 3, 5, 7 .... `cqt_frames`: `[frames, 285]`
    linear magnitude (bins from `fmin_hz`, `bins_per_octave`: the model's front end); `f0_hz`: `[frames]`.
    """
    power = np.asarray(cqt_frames, dtype=np.float64) ** 2
    f0 = np.asarray(f0_hz, dtype=np.float64)[:, None]
    energy_at = functools.partial(_energy_at, fmin_hz=fmin_hz, bins_per_octave=bins_per_octave)
    harmonics = np.maximum(energy_at(power, f0 * np.arange(1, _CHECK_PARTIALS + 1)).sum(axis=1), 1e-20)
    top = divisor * _CHECK_PARTIALS if divisor == 2 else 6 * divisor
    multiples = np.array([m for m in range(1, top) if m % divisor])
    between = energy_at(power, f0 * multiples / divisor)
    half = 0.5 / divisor
    sides = 0.5 * (energy_at(power, f0 * (multiples / divisor - half)) + energy_at(power, f0 * (multiples / divisor + half)))
    excess = np.maximum(between - sides, 0) / harmonics[:, None]  # [frames, multiples]
    standing = excess > _STANDING
    common = np.gcd.reduce(np.where(standing, multiples[None, :], 0), axis=1)  # gcd over the standing multiples (0: none)
    return np.where(common == 1, excess.sum(axis=1), 0.0)


def _octave_down(amplitudes: torch.Tensor, cqt_frames: np.ndarray, f0_hz: torch.Tensor, flagged: np.ndarray,
                 fmin_hz: float = CQT_FMIN, bins_per_octave: int = CQT_BINS_PER_OCTAVE) -> torch.Tensor:
    """Amplitudes `[frames, K]` re-indexed for the frames whose f0 was halved: partial k becomes
    partial 2k; each new odd partial takes the amplitude of the even partial below it (for
    partial 1: partial 2) scaled by the CQT's amplitude ratio between the two, at most 10."""
    if not flagged.any():
        return amplitudes
    out = amplitudes.clone()
    k = amplitudes.shape[1]
    rows = torch.from_numpy(np.flatnonzero(flagged))
    old = amplitudes[rows]
    new = torch.zeros_like(old)
    new[:, 1::2] = old[:, : k // 2]
    half = f0_hz[rows].numpy().astype(np.float64)[:, None] / 2
    magnitude = np.sqrt(_energy_at(np.asarray(cqt_frames[rows.numpy()], dtype=np.float64) ** 2, half * np.arange(1, k + 1),
                                   fmin_hz, bins_per_octave))
    for j in range(0, k, 2):  # partial j+1 (odd) of the halved f0
        below = new[:, j - 1] if j > 0 else new[:, 1]
        reference = magnitude[:, j - 1] if j > 0 else magnitude[:, 1]
        new[:, j] = below * torch.from_numpy(magnitude[:, j] / np.maximum(reference, 1e-12)).to(new.dtype).clamp(max=10.0)
    out[rows] = new
    return out


@functools.lru_cache(maxsize=8)
def get_model(name: str | None = None) -> HarmonicModel:
    """`model.load(name)`, cached: each checkpoint is read once per process."""
    return load(name)


def preprocess(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 samples `[samples]` at 16 kHz (resampled with soxr if needed).

    Raises ValueError for a non-1-D or empty array (`estimate` mixes `[samples, channels]` first)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples] (or [samples, channels] for `estimate`), got shape {audio.shape}")
    if sample_rate != SAMPLE_RATE:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    if audio.size == 0:
        raise ValueError("the audio is empty")
    return audio


@torch.no_grad()
def infer(model: HarmonicModel, cqt_frames: np.ndarray, bfloat16: bool = False, engine: str = "torch") -> tuple[np.ndarray, torch.Tensor]:
    """The encoder on CQT frames `[frames, 285]`, in batches of `_BATCH`: the pitch posterior
    `[frames, bins]` (softmax of the logits at the model's temperature) and the raw amplitudes
    `[frames, K]`. `engine`: 'torch' (`bfloat16`: its convolutions in bfloat16) or 'onnxruntime'
    (`sotdemo.engine`; float32). Each frame is computed on its own, so frames of many clips may
    be concatenated (`estimate_many`)."""
    amps, logits = [], []
    if engine == "onnxruntime":
        session = onnx_encoder(model.encoder)
        for start in range(0, len(cqt_frames), _BATCH):
            lo, am = session(cqt_frames[start : start + _BATCH])
            logits.append(torch.from_numpy(lo))
            amps.append(torch.from_numpy(am))
    else:
        frames = torch.from_numpy(cqt_frames)
        for start in range(0, len(frames), _BATCH):
            out = model(frames[start : start + _BATCH], bfloat16_trunk=bfloat16)
            amps.append(out.amplitudes)
            logits.append(out.logits)
    logits_t = torch.cat(logits)
    posterior = torch.softmax(logits_t / model.config.encoder.temperature, dim=-1).numpy()
    return posterior, torch.cat(amps)


def decode(posterior: np.ndarray, model: HarmonicModel, decoder: str = "viterbi") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pitch posterior `[frames, bins]` -> (chosen bins `[frames]`, f0 Hz `[frames]`, confidence
    `[frames]`): the path (`decoder`), f0 read around it, and the posterior mass within a
    semitone of the chosen pitch and of its octave relatives (`voicing.octave_confidence`)."""
    path = viterbi_path(posterior) if decoder == "viterbi" else peak_path(posterior)
    f0_hz, _ = read_around(posterior, path, model.encoder.log2_bins.numpy())
    confidence = octave_confidence(posterior, path, model.config.encoder.bins_per_octave, PEAK_HALF_WIDTH)
    return path, f0_hz, confidence


def frame_rms(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS of each CQT frame `[frames]` (2048-sample windows centred on the frames), linear."""
    return librosa.feature.rms(y=audio, frame_length=2048, hop_length=HOP, center=True)[0][:n_frames]


def frame_level_db(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level in dBFS of each CQT frame `[frames]` (`frame_rms` in dB)."""
    return 20 * np.log10(np.maximum(frame_rms(audio, n_frames), 1e-10))


def threshold(level_db: np.ndarray, confidence: np.ndarray, harmonicity_: np.ndarray, min_level_db: float = DEFAULT_LEVEL_DB,
              min_confidence: float = DEFAULT_MIN_CONFIDENCE, min_harmonicity: float = DEFAULT_MIN_HARMONICITY,
              clear_harmonicity: float = CLEAR_HARMONICITY, clear_min_confidence: float = CLEAR_MIN_CONFIDENCE) -> np.ndarray:
    """Voiced frames `[frames]` bool: loud enough, and a spectrum whose power lies on the harmonic
    comb of the estimated f0 (`sotdemo.voicing`): at least `clear_harmonicity` of it with a posterior
    that gives the pitch at least `clear_min_confidence`, or at least `min_harmonicity` with a
    posterior that agrees on the pitch class (`min_confidence`)."""
    agreed = (confidence >= min_confidence) & (harmonicity_ >= min_harmonicity)
    clear = (harmonicity_ >= max(clear_harmonicity, min_harmonicity)) & (confidence >= clear_min_confidence)
    return (level_db >= min_level_db) & (agreed | clear)


def octave_check_step(power: FramePower, cqt_frames: np.ndarray, f0_hz: np.ndarray, amplitudes: torch.Tensor, loud: np.ndarray,
                      model: HarmonicModel) -> tuple[np.ndarray, torch.Tensor]:
    """f0 `[frames]` divided by 2, then by 3, on the `loud` frames whose spectrum holds a series of
    partials between its harmonics (`suboctave_evidence`), never below the model's lowest pitch;
    the amplitudes `[frames, K]` re-indexed (f0/2) or read off the spectrum (f0/3) there. Below
    the level gate the noise floor has peaks anywhere, so those frames are left alone."""
    f0 = np.asarray(f0_hz, dtype=np.float32).copy()  # the synthesizer's precision
    bins = model.config.encoder  # the CQT's bins are the model's front end
    for divisor in SUBHARMONIC_DIVISORS:
        in_range = f0 / divisor >= model.config.encoder.fmin_hz
        evidence = suboctave_evidence(cqt_frames, f0, divisor, bins.fmin_hz, bins.bins_per_octave)
        flagged = loud & in_range & (evidence > SUBOCTAVE_THRESHOLD)
        if divisor == 2:
            amplitudes = _octave_down(amplitudes, cqt_frames, torch.from_numpy(f0), flagged, bins.fmin_hz, bins.bins_per_octave)
        elif flagged.any():
            rows = np.flatnonzero(flagged)
            amplitudes[rows] = torch.from_numpy(comb_amplitudes(power, f0[rows] / divisor, frames=rows)).float()
        f0 = np.where(flagged, f0 / np.float32(divisor), f0)
    return f0, amplitudes


def refine_step(power: FramePower, f0_hz: np.ndarray, loud: np.ndarray) -> np.ndarray:
    """f0 `[frames]` (float32) of the `loud` frames moved onto the peaks of its partials in a short STFT
    (`refine.refine_f0`: at most `refine.MAX_CENTS`, never to another pitch); the other frames unchanged."""
    f0 = np.asarray(f0_hz, dtype=np.float32).copy()
    rows = np.flatnonzero(loud)
    if len(rows):
        f0[rows] = refine_f0(power, f0[rows].astype(np.float64), frames=rows).astype(np.float32)
    return f0


def comb_check_step(power: FramePower, posterior: np.ndarray, f0_hz: np.ndarray, amplitudes: torch.Tensor, comb: np.ndarray,
                    confidence: np.ndarray, loud: np.ndarray, model: HarmonicModel,
                    min_harmonicity: float = DEFAULT_MIN_HARMONICITY, refine: bool = False,
                    warped: FramePower | None = None) -> tuple[np.ndarray, torch.Tensor, np.ndarray, np.ndarray]:
    """On the `loud` frames whose harmonicity `comb` is below `min_harmonicity`, the pitch replaced
    where `comb_check` finds a better one (`refine`: then moved onto its partials, `refine_f0`): returns f0 `[frames]`, amplitudes `[frames, K]` (read
    off the spectrum there), harmonicity and confidence `[frames]` (the posterior's mass around
    the new pitch and its octaves), the other frames unchanged. `warped`: the same frames warped
    along the pitch track (`voicing.WarpedPower`): candidates and harmonicity take the better of the two.
    Inputs are not modified."""
    f0, comb, confidence = f0_hz.copy(), comb.copy(), confidence.copy()
    replace = comb_check(power, posterior, f0, comb, np.flatnonzero(loud & (comb < min_harmonicity)), model, min_harmonicity, warped)
    if len(replace):
        rows = replace[:, 0].astype(int)
        if refine:
            replace[:, 1] = refine_f0(power, replace[:, 1], frames=rows)
        stored = replace[:, 1].astype(np.float32)  # the comb of the pitch as f0 keeps it
        score = harmonicity(power, stored, frames=rows)
        if warped is not None:
            score = np.maximum(score, harmonicity(warped, stored, frames=rows))
        amplitudes = _take_pitch(rows, replace[:, 1], score, f0, amplitudes.clone(), comb, confidence, power, posterior, model)
    return f0, amplitudes, comb, confidence


def _take_pitch(rows: np.ndarray, new_hz: np.ndarray, score: np.ndarray, f0: np.ndarray, amplitudes: torch.Tensor,
                comb: np.ndarray, confidence: np.ndarray, power: FramePower, posterior: np.ndarray, model: HarmonicModel) -> torch.Tensor:
    """Frames `rows` take the pitch `new_hz` (Hz) whose harmonicity is `score`: `f0`, `comb` and `confidence`
    (the posterior's mass around the new pitch and its octaves) are written in place; returns the
    amplitudes `[frames, K]` with those rows read off the spectrum (`voicing.comb_amplitudes`)."""
    f0[rows] = np.asarray(new_hz).astype(np.float32)
    comb[rows] = score
    amplitudes[rows] = torch.from_numpy(comb_amplitudes(power, new_hz, frames=rows)).float()
    moved = np.abs(model.encoder.log2_bins.numpy()[None, :] - np.log2(new_hz)[:, None]).argmin(axis=1)
    confidence[rows] = octave_confidence(posterior[rows], moved, model.config.encoder.bins_per_octave, PEAK_HALF_WIDTH)
    return amplitudes


def contour_check_step(power: FramePower, posterior: np.ndarray, f0_hz: np.ndarray, amplitudes: torch.Tensor,
                       comb: np.ndarray, confidence: np.ndarray, loud: np.ndarray, model: HarmonicModel,
                       min_harmonicity: float = DEFAULT_MIN_HARMONICITY, refine: bool = False,
                       ) -> tuple[np.ndarray, torch.Tensor, np.ndarray, np.ndarray]:
    """The pitch between two anchors of one contour, where the encoder's answer there fits the spectrum worse.

    Anchors: `loud` frames whose comb alone would voice them (harmonicity >= `CLEAR_HARMONICITY`,
    confidence >= `CLEAR_MIN_CONFIDENCE`). Between two anchors at most `CONTOUR_MAX_GAP` frames apart
    whose pitches lie within `CONTOUR_MAX_CENTS`, the contour is their pitch interpolated in log f0;
    each loud frame there less harmonic than an anchor takes the contour's pitch (`refine`: moved onto
    its partials, `refine_f0`) where that pitch's comb, in the plain window or in the window warped
    along the contour (`voicing.WarpedPower`), reaches `min_harmonicity` and beats the frame's own.
    Why: on a low voice through a telephone (partials 4 and up only) the encoder can hop, frame to
    frame, between the pitch and a ratio of its partials (5/3, 3/5, 5/6 of it), none of which the comb
    check's relatives reach, while the frames around keep the pitch. Returns f0 `[frames]`,
    amplitudes `[frames, K]` (read off the spectrum where replaced), harmonicity and confidence
    `[frames]`; inputs are not modified."""
    f0, comb, confidence = f0_hz.copy(), comb.copy(), confidence.copy()
    anchors = np.flatnonzero(loud & (comb >= CLEAR_HARMONICITY) & (confidence >= CLEAR_MIN_CONFIDENCE))
    rows, contour = [], []
    for a, b in zip(anchors[:-1], anchors[1:]):
        if 1 < b - a <= CONTOUR_MAX_GAP and abs(1200 * np.log2(f0[b] / f0[a])) <= CONTOUR_MAX_CENTS:
            between = np.arange(a + 1, b)
            rows.append(between)
            contour.append(np.exp2(np.interp(between, [a, b], np.log2([f0[a], f0[b]]))))
    if not rows:
        return f0, amplitudes, comb, confidence
    rows, contour = np.concatenate(rows), np.concatenate(contour)
    keep = loud[rows] & (comb[rows] < CLEAR_HARMONICITY)
    rows, contour = rows[keep], contour[keep]
    if not len(rows):
        return f0, amplitudes, comb, confidence
    if refine:
        contour = refine_f0(power, contour, frames=rows)
    track = f0.astype(np.float64)
    track[rows] = contour
    score = np.maximum(harmonicity(power, contour, frames=rows), harmonicity(WarpedPower(power.audio, track, power.sample_rate, power.hop_length), contour, frames=rows))
    better = (score >= min_harmonicity) & (score > comb[rows])
    if better.any():
        amplitudes = _take_pitch(rows[better], contour[better], score[better], f0, amplitudes.clone(), comb, confidence, power, posterior,
                                 model)
    return f0, amplitudes, comb, confidence


PERIODICITY_FRAME = 1024  # samples (64 ms at 16 kHz): YIN's frame in `periodicity_check_step`, short enough to follow a vibrato
# bench/periodicity_calibration.py (results/periodicity_calibration.md) chose these three:
PERIODICITY_CONTRAST = 8.0  # a tooth stands out when its power per bin is 8x (9 dB) that of the gaps around it
PERIODICITY_MARGIN = 0.0  # a voiced frame moves to a sub-harmonic whose comb beats its own by this much ...
PERIODICITY_SERIES_FILL = 0.8  # ... and whose partials stand out on this share of the teeth between the first and the last
PERIODICITY_CONSENSUS = 9  # frames (144 ms): the window in which YIN's answers are checked against each other


def periodicity_track(power: FramePower, lowest_hz: float) -> np.ndarray:
    """A pitch track `[frames]` (Hz) from the waveform's periodicity, robust to YIN's slips, for windows to warp along.

    YIN (de Cheveigné & Kawahara 2002; `librosa.yin`, `PERIODICITY_FRAME` samples, `lowest_hz` ..
    `_HIGHEST_PITCH_HZ`) measures the period in the time domain, so a missing fundamental or a
    telephone band does not move it; its slips go up, to the period of a strong formant's partial.
    Its answers more than 250 cents above (or 100 below) the lower quartile of the
    `PERIODICITY_CONSENSUS` frames around are dropped and bridged in log f0, and the track smoothed over
    3 frames (48 ms, shorter than a vibrato's half cycle). A warp needs the track's relative motion to
    a few cents: `periodicity_check_step` then moves it onto the peaks of its partials
    (`refine.refine_f0`) where it warps windows."""
    from scipy.ndimage import percentile_filter, uniform_filter1d

    period = librosa.yin(power.audio, fmin=lowest_hz, fmax=_HIGHEST_PITCH_HZ, sr=power.sample_rate, frame_length=PERIODICITY_FRAME,
                         hop_length=power.hop_length, center=True)[: power.n_frames]
    log_f0 = np.log2(period)
    offset = log_f0 - percentile_filter(log_f0, 25, size=PERIODICITY_CONSENSUS, mode="nearest")
    direct = (offset >= -100 / 1200) & (offset <= 250 / 1200)
    index = np.arange(len(log_f0))
    if direct.any():
        log_f0 = np.interp(index, index[direct], log_f0[direct])
    return np.exp2(uniform_filter1d(log_f0, 3, mode="nearest"))


def _partial_number(ratio: np.ndarray, cents: float = 50.0) -> np.ndarray:
    """The integer n that `ratio` `[frames]` is within `cents` of (f0 the n-th partial of a pitch), else 0."""
    n = np.maximum(np.rint(ratio), 1)
    return np.where(np.abs(1200 * np.log2(np.maximum(ratio, 1e-9) / n)) <= cents, n, 0).astype(int)


def periodicity_check_step(power: FramePower, posterior: np.ndarray, f0_hz: np.ndarray, amplitudes: torch.Tensor,
                           comb: np.ndarray, confidence: np.ndarray, loud: np.ndarray, model: HarmonicModel,
                           min_harmonicity: float = DEFAULT_MIN_HARMONICITY, refine: bool = False,
                           min_confidence: float = DEFAULT_MIN_CONFIDENCE, clear_harmonicity: float = CLEAR_HARMONICITY,
                           clear_min_confidence: float = CLEAR_MIN_CONFIDENCE) -> tuple[np.ndarray, torch.Tensor, np.ndarray, np.ndarray]:
    """The pitch the waveform's periodicity gives, where the encoder's fits the spectrum worse.

    On a low voice through a telephone (partials 4 and up, formants, a wide vibrato) the encoder
    can read, for long stretches, a ratio of the pitch (5/6, 3/5, 5/3) or one of its partials
    (4·f0), and its track then warps the windows wrongly, so neither the comb check nor the contour
    check finds the pitch. Here the windows are warped along `periodicity_track` instead, and its
    pitch and relatives (`voicing.CANDIDATE_RATIOS`) are the candidates (`voicing.best_comb`), a
    candidate's partials counted as a series only where they stand out of the gaps around them
    (`PERIODICITY_CONTRAST`) on at least `voicing.SERIES_PARTIALS` teeth (a band of noise fills one):
    - `loud` frames not voiced so far (`threshold` at `min_harmonicity`, `min_confidence`,
      `clear_harmonicity`, `clear_min_confidence`, the level gate aside) take the best candidate whose comb reaches `min_harmonicity` and beats their own;
    - voiced frames are examined where their f0 is a partial (2, 3, 4 ... times, within 50 cents) of
      the track, or where the partials of f0/2 stand out in the plain window (YIN can take the second
      partial's period too); one whose f0 is a partial of the best candidate takes it only where its comb reaches `voicing.CLEAR_HARMONICITY`, beats their own by
      `PERIODICITY_MARGIN`, and its partials stand out on `PERIODICITY_SERIES_FILL` of the teeth
      between the first and the last (the common sub-harmonic of two notes leaves some empty).
    `refine`: the new pitch moved onto its partials (`refine_f0`). Returns f0 `[frames]`, amplitudes
    `[frames, K]` (read off the spectrum where replaced), harmonicity and confidence `[frames]`
    (the posterior's mass around the new pitch and its octaves); inputs are not modified."""
    f0, comb, confidence = f0_hz.copy(), comb.copy(), confidence.copy()
    voiced = threshold(np.zeros(len(comb)), confidence, comb, -np.inf, min_confidence, min_harmonicity, clear_harmonicity,
                       clear_min_confidence)
    unvoiced = loud & ~voiced
    if not loud.any() or len(power.audio) < PERIODICITY_FRAME:
        return f0, amplitudes, comb, confidence
    lowest = float(model.config.encoder.pitch_bins_hz()[0])
    track = periodicity_track(power, lowest)
    track = np.pad(track[: len(f0)], (0, max(len(f0) - len(track), 0)), mode="edge")  # the encoder's frames: the CQT's count
    # a voiced frame is examined where its f0 is a partial (2, 3, 4 ... times) of the period's pitch, or where the partials
    # of f0/2 stand out of their gaps in the plain window (YIN too can take the second partial's period for the pitch's)
    ratio = f0 / track
    partial = loud & voiced & (comb < 1.0 - PERIODICITY_MARGIN)
    multiple = _partial_number(ratio) >= 2
    rest = np.flatnonzero(partial & ~multiple)
    if len(rest):
        _, half_fill = comb_scores(power, f0[rest, None] / 2, rest, lowest, _HIGHEST_PITCH_HZ, contrast=PERIODICITY_CONTRAST)
        multiple[rest] = half_fill[:, 0] >= PERIODICITY_SERIES_FILL
    partial &= multiple
    if not (unvoiced | partial).any():
        return f0, amplitudes, comb, confidence
    reach = WINDOWS[-1] // (2 * power.hop_length) + 1  # the frames a warped window around an examined one spans
    near = np.convolve((unvoiced | partial).astype(float), np.ones(2 * reach + 1))[reach : reach + len(f0)] > 0
    refined = np.flatnonzero(loud & near)
    track[refined] = refine_f0(power, track[refined], frames=refined)
    warped = WarpedPower(power.audio, track, power.sample_rate, power.hop_length)
    rows = np.flatnonzero(unvoiced | partial)
    candidates = track[rows, None] * np.asarray(CANDIDATE_RATIOS)[None, :]
    share, fill = comb_scores(warped, candidates, rows, lowest, _HIGHEST_PITCH_HZ, contrast=PERIODICITY_CONTRAST)
    best, score = pick_comb(candidates, share, fill)
    better = unvoiced[rows] & (score >= min_harmonicity) & (score > comb[rows])
    if partial.any():
        series, series_score = pick_comb(candidates, share, fill, PERIODICITY_SERIES_FILL)
        below = _partial_number(f0[rows] / np.maximum(series, 1e-3)) >= 2
        move = partial[rows] & below & (series_score >= CLEAR_HARMONICITY) & (series_score >= comb[rows] + PERIODICITY_MARGIN)
        best, score = np.where(move, series, best), np.where(move, series_score, score)
        better |= move
    if better.any():
        rows, new = rows[better], best[better]
        if refine:
            new = refine_f0(power, new, frames=rows)
        stored = new.astype(np.float32)
        score = np.maximum(harmonicity(power, stored, frames=rows), harmonicity(warped, stored, frames=rows))
        keep = score >= min_harmonicity
        amplitudes = _take_pitch(rows[keep], new[keep], score[keep], f0, amplitudes.clone(), comb, confidence, power, posterior, model)
    return f0, amplitudes, comb, confidence


def comb_check(power: FramePower, posterior: np.ndarray, f0_hz: np.ndarray, comb: np.ndarray, frames: np.ndarray,
               model: HarmonicModel, min_harmonicity: float = DEFAULT_MIN_HARMONICITY, warped: FramePower | None = None) -> np.ndarray:
    """The frames `frames` (indices) whose f0 to replace by a relative that the spectrum's comb
    explains at least `min_harmonicity` and better than f0 does, and the new f0: `[frames, 2]`
    rows of (frame, f0 Hz). Candidates: `voicing.comb_candidates` (the encoder's sub- and
    over-harmonic confusions); the pitch must stay in the model's range. With `warped` (the frames
    warped along the pitch track, `voicing.WarpedPower`) each frame's best candidate is the better of
    the two spectra's."""
    if not len(frames):
        return np.zeros((0, 2))
    bins_hz = model.config.encoder.pitch_bins_hz()
    candidates = comb_candidates(posterior[frames], f0_hz[frames], bins_hz)
    best, score = best_comb(power, candidates, frames, float(bins_hz[0]), _HIGHEST_PITCH_HZ)
    if warped is not None:  # the same candidates in the windows warped along the track: the better of the two
        best_w, score_w = best_comb(warped, candidates, frames, float(bins_hz[0]), _HIGHEST_PITCH_HZ)
        best, score = np.where(score_w > score, best_w, best), np.maximum(score, score_w)
    better = (score >= min_harmonicity) & (score > comb[frames])
    return np.stack([frames[better], best[better]], axis=1)


def range_warnings(audio: np.ndarray, model: HarmonicModel, voiced: np.ndarray, level_db: np.ndarray,
                   min_level_db: float = DEFAULT_LEVEL_DB) -> list[str]:
    """What a user should know about the clip's level and range: that no frame reaches the level
    gate (silence), or that most of its energy lies below the model's lowest pitch."""
    loudest = float(level_db.max()) if len(level_db) else -np.inf
    if loudest < min_level_db:
        return [f"no frame reaches the level gate ({min_level_db:.0f} dBFS RMS; the loudest is "
                f"{max(loudest, -200):.0f} dBFS): silence or near-silence, nothing voiced"]
    lowest = float(model.config.encoder.fmin_hz)
    share = below_range_share(audio, lowest, SAMPLE_RATE)
    if share < BELOW_RANGE_WARN:
        return []
    return [f"{100 * share:.0f} % of the energy lies below {lowest:.1f} Hz, the lowest pitch this model knows "
            f"(infrasound, rumble, wind or handling noise?); that part is not analysed, and frames where it "
            f"dominates are unvoiced ({100 * voiced.mean():.0f} % voiced)"]


def scale_amplitudes(amplitudes: torch.Tensor, f0_hz: torch.Tensor, rms: np.ndarray, voiced: np.ndarray) -> torch.Tensor:
    """The encoder's amplitudes `[frames, K]` rescaled so that their harmonic tone has the input
    frame's RMS `rms` `[frames]` (`frame_rms`; the encoder sees LayerNorm-ed frames and is blind to
    level); 0 where unvoiced."""
    harmonic_numbers = torch.arange(1, amplitudes.shape[-1] + 1)
    audible = (f0_hz[:, None] * harmonic_numbers) < SAMPLE_RATE / 2
    tone_rms = torch.sqrt(((amplitudes * audible) ** 2).sum(-1) / 2).clamp_min(1e-9)
    gain = torch.from_numpy(rms).float() / tone_rms * torch.from_numpy(voiced).float()
    return amplitudes * gain[:, None]


@dataclass
class _Prepared:
    """One clip ready for the encoder: 16 kHz mono samples `[samples]`, its CQT frames `[frames, bins]`
    and what the mixing said (`warnings`)."""

    audio: np.ndarray
    spectrum: np.ndarray
    warnings: list[str]


def _prepare(audio: np.ndarray | LoadedAudio, sample_rate: int, model: HarmonicModel) -> _Prepared:
    """Check, mix (channels), resample and take the model's CQT of one clip.

    An array goes through `audio.prepare` as uploads do, mono or not: NaN/infinite samples set to 0,
    integer PCM scaled, peaks beyond full scale scaled down, clipping and cancelling channels said,
    too-short or empty input refused (`audio.AudioError`, a ValueError), with the same warnings. A
    `LoadedAudio` (`audio.load`'s result) was checked when it was read: its samples are used as they
    are and its warnings stay the caller's."""
    if isinstance(audio, LoadedAudio):
        samples, sample_rate, warnings = audio.audio, audio.sample_rate, []
    else:
        checked = prepare(np.asarray(audio), sample_rate, max_seconds=None)
        samples, sample_rate, warnings = checked.audio, checked.sample_rate, checked.warnings
    samples = preprocess(samples, sample_rate)
    return _Prepared(samples, model.front_end(samples), warnings)


def _infer_many(model: HarmonicModel, clips: list[_Prepared], engine: str, bfloat16: bool) -> list[tuple[np.ndarray, torch.Tensor]]:
    """`infer` on the frames of all `clips` concatenated (full encoder batches however short each
    clip is), split back: one (posterior, amplitudes) per clip."""
    if not clips:
        return []
    posterior, amps = infer(model, np.concatenate([c.spectrum for c in clips]), bfloat16, engine)
    bounds = np.cumsum([0] + [len(c.spectrum) for c in clips])
    return [(posterior[a:b], amps[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _finish(model: HarmonicModel, name: str, clip: _Prepared, posterior: np.ndarray, amps_t: torch.Tensor, engine_label: str,
            level_db: float, min_confidence: float, resynthesize: bool, octave_check: bool, decoder: str, min_harmonicity: float,
            clear_harmonicity: float, clear_min_confidence: float = CLEAR_MIN_CONFIDENCE, refine: bool = True) -> Estimate:
    """Everything after the encoder for one clip: decode, the checks, refinement, voicing, amplitudes, resynthesis."""
    audio, spectrum = clip.audio, clip.spectrum
    _, f0_hz, confidence = decode(posterior, model, decoder)
    f0_hz = f0_hz.astype(np.float32)
    rms = frame_rms(audio, len(spectrum))
    level = 20 * np.log10(np.maximum(rms, 1e-10))
    loud = level >= level_db
    power = FramePower(audio, SAMPLE_RATE, HOP)
    inner = loud.copy()
    inner[[0, -1]] = False  # the clip's first and last frame: half their window is padding and a cut note's click
    if octave_check:
        f0_hz, amps_t = octave_check_step(power, spectrum, f0_hz, amps_t, inner, model)
    decoded = f0_hz
    if refine:
        f0_hz = refine_step(power, f0_hz, loud)
    comb = harmonicity(power, f0_hz)
    moved = np.flatnonzero(np.abs(np.log2(f0_hz / decoded)) > _MOVED_OCTAVES)
    if len(moved):  # harmonicity's window is long (12 bins per f0): under vibrato the decoded comb may fit it better
        comb[moved] = np.maximum(comb[moved], harmonicity(power, decoded[moved], frames=moved))
    warped = WarpedPower(audio, f0_hz, SAMPLE_RATE, HOP)  # the windows in the time axis of the track's phase
    comb = np.maximum(comb, harmonicity(warped, f0_hz))  # a vibrato's partials back on the comb's teeth
    if octave_check:
        f0_hz, amps_t, comb, confidence = comb_check_step(power, posterior, f0_hz, amps_t, comb, confidence, inner, model, min_harmonicity,
                                                          refine, warped)
        f0_hz, amps_t, comb, confidence = periodicity_check_step(power, posterior, f0_hz, amps_t, comb, confidence, inner, model,
                                                                 min_harmonicity, refine, min_confidence, clear_harmonicity,
                                                                 clear_min_confidence)
        f0_hz, amps_t, comb, confidence = contour_check_step(power, posterior, f0_hz, amps_t, comb, confidence, inner, model,
                                                             min_harmonicity, refine)
    f0_t = torch.from_numpy(f0_hz).float()
    at_pitch = model.encoder.amplitudes_at(torch.from_numpy(spectrum).float(), f0_t)
    if at_pitch is not None:  # a harmonic head reads the partials at the final pitch, the checks' corrections included
        amps_t = at_pitch
    voiced = threshold(level, confidence, comb, level_db, min_confidence, min_harmonicity, clear_harmonicity, clear_min_confidence)
    amplitudes = scale_amplitudes(amps_t, f0_t, rms, voiced)
    if resynthesize:
        resynthesis = model.synthesize(f0_t[None], amplitudes[None], len(audio), hop_length=HOP)[0].numpy()
    else:
        resynthesis = np.zeros(0, dtype=np.float32)
    return Estimate(
        times_s=frame_times(len(spectrum)),
        f0_hz=f0_t.numpy().astype(np.float64),
        voiced=voiced,
        confidence=confidence.astype(np.float64),
        amplitudes=amplitudes.numpy().astype(np.float64),
        resynthesis=resynthesis.astype(np.float32),
        model_name=name or "",
        harmonicity=comb,
        level_db=level,
        warnings=clip.warnings + range_warnings(audio, model, voiced, level, level_db),
        engine=engine_label,
    )


def _check(decoder: str, precision: str, engine: str) -> tuple[str, bool]:
    """(engine, bfloat16) for `estimate`'s arguments (`engine.choose`); ValueError for wrong ones."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(map(repr, DECODERS))}, got {decoder!r}")
    return choose(engine, precision)


def _resolve(model: HarmonicModel | str | None, decoder: str, precision: str, engine: str) -> tuple[HarmonicModel, str, str, bool]:
    """(model, its name, engine, bfloat16) for `estimate`'s arguments; ValueError for wrong ones."""
    chosen, bfloat16 = _check(decoder, precision, engine)
    given = model
    model = get_model(model) if not isinstance(model, HarmonicModel) else model
    name = given if isinstance(given, str) else model.config.name  # the default's configuration name when none is given
    return model, name or "", chosen, bfloat16


def _engine_label(engine: str, bfloat16: bool) -> str:
    return f"{engine} {'bfloat16' if bfloat16 else 'float32'}"


@torch.no_grad()
def estimate(
    audio: np.ndarray | LoadedAudio,
    sample_rate: int = SAMPLE_RATE,
    model: HarmonicModel | str | None = None,
    level_db: float = DEFAULT_LEVEL_DB,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    precision: str = "auto",
    resynthesize: bool = True,
    octave_check: bool = True,
    decoder: str = "viterbi",
    min_harmonicity: float = DEFAULT_MIN_HARMONICITY,
    clear_harmonicity: float = CLEAR_HARMONICITY,
    engine: str = "auto",
    clear_min_confidence: float = CLEAR_MIN_CONFIDENCE,
    refine: bool = True,
) -> Estimate:
    """Estimate f0 and harmonic amplitudes frame by frame and resynthesize the clip.

    `preprocess` -> CQT -> `infer` (encoder) -> `decode` (path, f0, confidence) -> `octave_check_step`
    -> `refine_step` -> `voicing.harmonicity` (plain and warped along the track) -> `comb_check_step`
    -> `threshold` (voicing) -> `scale_amplitudes` -> synthesizer.

    Args:
        audio: samples `[samples]` or `[samples, channels]`, float or integer PCM, at `sample_rate`
            (resampled to 16 kHz if needed), checked and mixed to mono by `audio.prepare` as uploads
            are (NaN set to 0, clipping and cancelling channels said in `warnings`; the strongest
            channel analysed alone when they cancel); or an `audio.LoadedAudio` from `audio.load`
            (already checked; its own warnings are not repeated).
        model: a loaded model, a checkpoint name (see `model.load`), or None for the default.
        level_db: frames quieter than this RMS (dBFS) are unvoiced.
        min_confidence: frames whose posterior mass within a semitone of the chosen pitch and its
            octave relatives is below this are unvoiced (`voicing.octave_confidence`).
        min_harmonicity: frames whose power lies less than this share on the harmonic comb of the
            estimated f0 are unvoiced (`voicing.harmonicity`): noise, rumble, sounds below the range.
        clear_harmonicity: frames with at least this share are voiced if their confidence reaches
            `clear_min_confidence` (a click at a note's start or end fills the dense comb of a pitch
            far below the note's, which the posterior does not support).
        precision: 'float32', 'bfloat16' (torch's convolutions; the heads stay float32)
            or 'auto': bfloat16 where the CPU computes it natively (`bfloat16_is_fast`).
        engine: what runs the encoder (`sotdemo.engine.choose`): 'torch', 'onnxruntime' (float32) or
            'auto': torch's bfloat16 where native, else ONNX Runtime where installed, else torch's
            float32. The result's `engine` says which ran.
        resynthesize: False skips the resynthesis (`resynthesis` is then empty): pitch only.
        octave_check: check the pitch against the spectrum. (1) Divide f0 by 2, then by 3, on frames
            above the level gate whose spectrum holds a series of partials between its harmonics
            (`suboctave_evidence` > `SUBOCTAVE_THRESHOLD`; a second note a fifth or a third above is
            not a series): the octave-above-a-weak-fundamental error and a telephone voice read at
            its third partial. (2) The comb check (`comb_check`) on frames whose comb misses the
            spectrum. Never below the model's lowest pitch bin (32.7 Hz), and never on the clip's first
            and last frame (half their window is padding, and a note cut there clicks).
        decoder: which pitch bin each frame reads (`sotdemo.decode`): 'viterbi', the most probable
            smooth track through the whole clip's posteriors, or 'peak', each frame's own peak.
        refine: move f0 on frames above the level gate onto the peaks of its partials in a short
            STFT (`sotdemo.refine`; at most 100 cents, never to another pitch): the CQT's long low
            windows trail a voice's vibrato (results/refine_calibration.md).

    Raises:
        ValueError: a wrong `decoder`, `precision` or `engine`; `audio.AudioError` (a ValueError) for
            audio that cannot be analysed: empty, shorter than 50 ms, not numbers, more than 2-D,
            a rate outside 1-192 kHz, or mostly NaN.
    """
    return estimate_many([audio], sample_rate, model, level_db=level_db, min_confidence=min_confidence, precision=precision,
                         resynthesize=resynthesize, octave_check=octave_check, decoder=decoder, min_harmonicity=min_harmonicity,
                         clear_harmonicity=clear_harmonicity, engine=engine, clear_min_confidence=clear_min_confidence, refine=refine)[0]


@torch.no_grad()
def estimate_many(audios: list[np.ndarray | LoadedAudio], sample_rates: int | list[int] = SAMPLE_RATE, model: HarmonicModel | str | None = None,
                  level_db: float = DEFAULT_LEVEL_DB, min_confidence: float = DEFAULT_MIN_CONFIDENCE, precision: str = "auto",
                  resynthesize: bool = True, octave_check: bool = True, decoder: str = "viterbi",
                  min_harmonicity: float = DEFAULT_MIN_HARMONICITY, clear_harmonicity: float = CLEAR_HARMONICITY,
                  engine: str = "auto", clear_min_confidence: float = CLEAR_MIN_CONFIDENCE, refine: bool = True) -> list[Estimate]:
    """`estimate` on many clips at once: each clip's CQT frames are concatenated into full encoder
    batches (short clips no longer pay one small encoder call each), the results split back and each
    clip post-processed on its own. Each result equals `estimate` on that clip alone (the encoder
    sees one frame at a time; at most float rounding of a different batch shape apart).

    Args:
        audios: clips, each `[samples]` or `[samples, channels]`, or an `audio.LoadedAudio` (as `estimate`).
        sample_rates: one rate for all, or one per clip (Hz).
        model, and the rest: as `estimate`.

    Raises:
        ValueError: as `estimate`, for the first clip that cannot be analysed (`estimate_files`
            reports failures per file instead), or a list of rates whose length is not the clips'.
    """
    rates = [sample_rates] * len(audios) if np.isscalar(sample_rates) else list(sample_rates)
    if len(rates) != len(audios):
        raise ValueError(f"{len(rates)} sample rates for {len(audios)} clips")
    model, name, chosen, bfloat16 = _resolve(model, decoder, precision, engine)
    clips = [_prepare(audio, rate, model) for audio, rate in zip(audios, rates)]
    label = _engine_label(chosen, bfloat16)
    return [_finish(model, name, clip, posterior, amps, label, level_db, min_confidence, resynthesize, octave_check, decoder,
                    min_harmonicity, clear_harmonicity, clear_min_confidence, refine)
            for clip, (posterior, amps) in zip(clips, _infer_many(model, clips, chosen, bfloat16))]


def estimate_file(path: str | Path, model: HarmonicModel | str | None = None, max_seconds: float | None = None, **options) -> Estimate:
    """`estimate` on an audio file: `audio.load` (any format it reads; all of it by default, or
    its first `max_seconds`) then `estimate(..., **options)`. The result's `warnings` hold the
    loader's (a cut, damage, cancelling channels, clipping) and the estimate's.

    Raises:
        sotdemo.audio.AudioError: a file that cannot be read or analysed, with a message for the user.
    """
    loaded = load_audio(path, max_seconds=max_seconds)
    result = estimate(loaded, loaded.sample_rate, model, **options)
    result.warnings[:0] = loaded.warnings
    return result


def write_csv(result: Estimate, path: str | Path) -> None:
    """One row per frame: `time_s,f0_hz,voiced,confidence,harmonicity,amp_1,...,amp_K`. `confidence` says how
    much of the pitch posterior agrees on the pitch class and `harmonicity` how much of the frame's power lies
    on the comb of f0: voicing needs both (`threshold`); on noise the posterior can be peaked (confidence
    near 1) while harmonicity stays low. A result without harmonicity (an empty array) writes it empty."""
    k = result.amplitudes.shape[1]
    harmonic = len(result.harmonicity) == len(result.times_s)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", "f0_hz", "voiced", "confidence", "harmonicity", *[f"amp_{i}" for i in range(1, k + 1)]])
        for i in range(len(result.times_s)):
            writer.writerow(
                [f"{result.times_s[i]:.3f}", f"{result.f0_hz[i]:.3f}", int(result.voiced[i]), f"{result.confidence[i]:.4f}",
                 f"{result.harmonicity[i]:.4f}" if harmonic else ""]
                + [f"{a:.6g}" for a in result.amplitudes[i]]
            )
