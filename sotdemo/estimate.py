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
  (results/bench_real_viterbi.md);
- `confidence`: the mass of the posterior within ±1 semitone of the chosen bin, 0..1: how much
  of it agrees with the estimate;
- `voiced`: level gate (frame RMS >= `level_db` dBFS) and `confidence >= min_confidence`;
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

from .decode import peak_path, read_around, viterbi_path
from .model import HarmonicModel, load
from .spectral import CQT_BINS_PER_OCTAVE, CQT_FMIN, HOP, SAMPLE_RATE, cqt, frame_times

__all__ = [
    "DECODERS", "DEFAULT_LEVEL_DB", "DEFAULT_MIN_CONFIDENCE", "SUBOCTAVE_THRESHOLD", "Estimate", "bfloat16_is_fast", "estimate", "get_model",
    "suboctave_evidence", "write_csv",
]

DEFAULT_LEVEL_DB = -50.0
DEFAULT_MIN_CONFIDENCE = 0.8  # white noise: 0.4 % of frames pass, clean harmonic tones all (sot-realistic; sot-2048-curriculum: 2.4 %, all)
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
    warnings: list[str] = field(default_factory=list)


SUBOCTAVE_THRESHOLD = 0.05  # chosen on synthetic clips of the realistic distribution: bench/octave_check.py
_CHECK_PARTIALS = 10


def _energy_at(power: np.ndarray, hz: np.ndarray) -> np.ndarray:
    """CQT power `[frames, bins]` at frequencies `hz` `[frames, n]`: the largest of the nearest
    bin and its two neighbours (tolerates mistuning and inharmonicity); 0 off the CQT's range."""
    position = np.round((np.log2(np.maximum(hz, 1e-3)) - np.log2(CQT_FMIN)) * CQT_BINS_PER_OCTAVE).astype(int)
    out = np.zeros(hz.shape)
    for offset in (-1, 0, 1):
        out = np.maximum(out, np.take_along_axis(power, np.clip(position + offset, 0, power.shape[1] - 1), axis=1))
    return out * ((position >= 1) & (position < power.shape[1] - 1))


def suboctave_evidence(cqt_frames: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
    """How much the spectrum says the pitch is f0/2, per frame `[frames]` (0 = nothing).

    Over the odd multiples of f0/2 (f0/2, 3f0/2, ..., 19f0/2), the CQT power standing above the
    mean of the points a quarter of f0 to either side (a partial, not noise), summed and divided
    by the power at the harmonics f0 ... 10f0. A tone whose pitch is f0 has no partials between
    its harmonics (median 3e-6 on the benchmark's correctly estimated frames); when the encoder
    answers the octave above a weak fundamental, the odd partials of the true pitch stand there
    (median 0.08 on its octave-up frames; synthetic figures in results/octave_check.md). `cqt_frames`: `[frames, 285]` linear magnitude; `f0_hz`: `[frames]`.
    """
    power = np.asarray(cqt_frames, dtype=np.float64) ** 2
    f0 = np.asarray(f0_hz, dtype=np.float64)[:, None]
    harmonics = _energy_at(power, f0 * np.arange(1, _CHECK_PARTIALS + 1)).sum(axis=1)
    odd_halves = np.arange(1, 2 * _CHECK_PARTIALS, 2) / 2
    between = _energy_at(power, f0 * odd_halves)
    sides = 0.5 * (_energy_at(power, f0 * (odd_halves - 0.25)) + _energy_at(power, f0 * (odd_halves + 0.25)))
    return np.maximum(between - sides, 0).sum(axis=1) / np.maximum(harmonics, 1e-20)


def _octave_down(amplitudes: torch.Tensor, cqt_frames: np.ndarray, f0_hz: torch.Tensor, flagged: np.ndarray) -> torch.Tensor:
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
    magnitude = np.sqrt(_energy_at(np.asarray(cqt_frames[rows.numpy()], dtype=np.float64) ** 2, half * np.arange(1, k + 1)))
    for j in range(0, k, 2):  # partial j+1 (odd) of the halved f0
        below = new[:, j - 1] if j > 0 else new[:, 1]
        reference = magnitude[:, j - 1] if j > 0 else magnitude[:, 1]
        new[:, j] = below * torch.from_numpy(magnitude[:, j] / np.maximum(reference, 1e-12)).to(new.dtype).clamp(max=10.0)
    out[rows] = new
    return out


def bfloat16_is_fast() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AMX or AVX512-BF16)."""
    try:
        return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes
        return False


@functools.lru_cache(maxsize=8)
def get_model(name: str | None = None) -> HarmonicModel:
    """`model.load(name)`, cached: each checkpoint is read once per process."""
    return load(name)


@torch.no_grad()
def estimate(
    audio: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    model: HarmonicModel | str | None = None,
    level_db: float = DEFAULT_LEVEL_DB,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    precision: str = "auto",
    resynthesize: bool = True,
    octave_check: bool = True,
    decoder: str = "viterbi",
) -> Estimate:
    """Estimate f0 and harmonic amplitudes frame by frame and resynthesize the clip.

    Args:
        audio: mono samples `[samples]`, float, at `sample_rate` (resampled to 16 kHz if needed).
        model: a loaded model, a checkpoint name (see `model.load`), or None for the default.
        level_db: frames quieter than this RMS (dBFS) are unvoiced.
        min_confidence: frames whose posterior mass within a semitone of the chosen bin is below this are unvoiced.
        precision: 'float32', 'bfloat16' (the encoder's convolutions; its heads stay float32)
            or 'auto': bfloat16 where the CPU computes it natively (`bfloat16_is_fast`).
        resynthesize: False skips the resynthesis (`resynthesis` is then empty): pitch only.
        octave_check: halve f0 on frames above the level gate whose spectrum holds partials at odd multiples of
            f0/2 (`suboctave_evidence` > `SUBOCTAVE_THRESHOLD`): the octave-above-a-weak-fundamental error.
            Never below the model's lowest pitch bin (32.7 Hz for the shipped models).
        decoder: which pitch bin each frame reads (`sotdemo.decode`): 'viterbi', the most probable
            smooth track through the whole clip's posteriors, or 'peak', each frame's own peak.
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(map(repr, DECODERS))}, got {decoder!r}")
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}")
    bfloat16 = precision == "bfloat16" or (precision == "auto" and bfloat16_is_fast())
    name = model if isinstance(model, str) or model is None else model.config.name
    model = get_model(model) if not isinstance(model, HarmonicModel) else model
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio [samples], got shape {audio.shape}")
    if sample_rate != SAMPLE_RATE:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    if audio.size == 0:
        raise ValueError("the audio is empty")
    spectrum = cqt(audio)
    frames = torch.from_numpy(spectrum)  # [frames, 285]
    amps, logits = [], []
    for start in range(0, len(frames), _BATCH):
        out = model(frames[start : start + _BATCH], bfloat16_trunk=bfloat16)
        amps.append(out.amplitudes)
        logits.append(out.logits)
    amps_t, logits_t = torch.cat(amps), torch.cat(logits)
    posterior = torch.softmax(logits_t / model.config.encoder.temperature, dim=-1).numpy()
    path = viterbi_path(posterior) if decoder == "viterbi" else peak_path(posterior)
    f0_hz, confidence = read_around(posterior, path, model.encoder.log2_bins.numpy())
    f0_t = torch.from_numpy(f0_hz).float()
    rms = librosa.feature.rms(y=audio, frame_length=2048, hop_length=HOP, center=True)[0][: len(frames)]
    loud = 20 * np.log10(np.maximum(rms, 1e-10)) >= level_db
    voiced = loud & (confidence >= min_confidence)
    if octave_check:  # frames above the level gate: below it, the noise floor has peaks anywhere
        in_range = f0_t.numpy() / 2 >= model.config.encoder.fmin_hz  # f0/2 must stay in the model's pitch range
        flagged = loud & in_range & (suboctave_evidence(spectrum, f0_t.numpy()) > SUBOCTAVE_THRESHOLD)
        amps_t = _octave_down(amps_t, spectrum, f0_t, flagged)
        f0_t = torch.where(torch.from_numpy(flagged), f0_t / 2, f0_t)
    harmonic_numbers = torch.arange(1, amps_t.shape[-1] + 1)
    audible = (f0_t[:, None] * harmonic_numbers) < SAMPLE_RATE / 2
    tone_rms = torch.sqrt(((amps_t * audible) ** 2).sum(-1) / 2).clamp_min(1e-9)
    gain = torch.from_numpy(rms).float() / tone_rms * torch.from_numpy(voiced).float()
    amplitudes = amps_t * gain[:, None]

    if resynthesize:
        resynthesis = model.synthesize(f0_t[None], amplitudes[None], len(audio), hop_length=HOP)[0].numpy()
    else:
        resynthesis = np.zeros(0, dtype=np.float32)
    return Estimate(
        times_s=frame_times(len(frames)),
        f0_hz=f0_t.numpy().astype(np.float64),
        voiced=voiced,
        confidence=confidence.astype(np.float64),
        amplitudes=amplitudes.numpy().astype(np.float64),
        resynthesis=resynthesis.astype(np.float32),
        model_name=name or "",
    )


def write_csv(result: Estimate, path: str | Path) -> None:
    """One row per frame: `time_s,f0_hz,voiced,confidence,amp_1,...,amp_K`."""
    k = result.amplitudes.shape[1]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", "f0_hz", "voiced", "confidence", *[f"amp_{i}" for i in range(1, k + 1)]])
        for i in range(len(result.times_s)):
            writer.writerow(
                [f"{result.times_s[i]:.3f}", f"{result.f0_hz[i]:.3f}", int(result.voiced[i]), f"{result.confidence[i]:.4f}"]
                + [f"{a:.6g}" for a in result.amplitudes[i]]
            )
