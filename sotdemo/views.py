"""What each tab of the web app computes, with no gradio: audio in -> numbers and figures out.

`sotdemo.ui` only wires these functions to widgets; the tests and the benchmark call them
directly. Errors a user can cause raise `AudioError` or `ValueError` with a message fit to show.

- Estimate: `analyse` (load + `estimate.estimate` + summary + downloads), `estimate_figures`,
  `pyin_track`, `pitch_data` (the `/estimate` API's JSON).
- Synthesize: `synthesize` (a harmonic tone with tilt, vibrato and noise, and its true f0).
- Transport plan: `frame_spectra` and `transport_view` for one frame of a clip.
- Loss landscape: `LOSSES`, `landscape_curves`, `descent_race`.
- Models: `models_markdown`.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import librosa
import numpy as np
import plotly.graph_objects as go
import soundfile as sf
import torch

from . import ot, plots, signals
from .signals import VOWELS
from .audio import AudioError, LoadedAudio, display_name, load, prepare
from .config import load_config
from .estimate import DEFAULT_LEVEL_DB, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_HARMONICITY, Estimate, estimate, write_csv
from .losses import LossConfig, SpectralLoss, landscape, sot_positions
from .metrics import lsd, raw_pitch_accuracy
from .oracle import fit_resynthesis
from .model import DEFAULT_MODEL, available, checkpoint_root
from .spectral import HOP, SAMPLE_RATE, stft, stft_frequencies
from .synth import harmonic_synth

__all__ = [
    "Clip", "LOSSES", "Synthesized", "TransportView", "analyse", "default_model", "descent_race", "estimate_figures",
    "SOURCES", "ModelRow", "amplitude_comparison", "menu_models", "model_rows", "models_summary", "frame_spectra", "landscape_curves", "models_markdown", "pitch_data", "pyin_track", "summary_markdown", "synthesize",
    "transport_view",
]

PYIN_HOP = 512  # pYIN is the slow part of the Estimate tab; every 2nd frame is enough for an overlay
DOWNLOADS_MAX_AGE_S = 3600  # CSV/WAV downloads older than this are deleted (the web app hands out copies at once)
MAX_RACE_STEPS = 500  # bounds the CPU time of one gradient-descent race
RESULTS = Path(__file__).resolve().parent.parent / "results"


@dataclass
class Clip:
    """An analysed clip: the input, the estimate and where its downloads were written."""

    name: str
    audio: np.ndarray  # [samples] float32, 16 kHz mono
    result: Estimate
    warnings: list[str] = field(default_factory=list)
    csv_path: str | None = None
    wav_path: str | None = None
    lsd_db: float = float("nan")
    fit_lsd_db: float = float("nan")  # LSD of the best harmonic fit at the estimated f0 (`oracle.fit_resynthesis`)
    true_f0_hz: np.ndarray | None = None  # [frames] when the clip was synthesized
    true_amplitudes: np.ndarray | None = None  # [K] relative partial amplitudes when the clip was synthesized
    pyin: tuple[np.ndarray, np.ndarray] | None = None  # (times_s, f0_hz) once computed


def default_model() -> str | None:
    """The model the dropdown starts on: `DEFAULT_MODEL` if shipped, else the first available."""
    names = available()
    if DEFAULT_MODEL in names:
        return DEFAULT_MODEL
    return names[0] if names else None


def menu_models() -> list[str]:
    """What the app's model menu offers: the default model first, then one entry per configuration
    (its best seed; `model.load` resolves the name) and stand-alone models. Every seed stays
    loadable by name from the CLI and the `/estimate` API."""
    names = [name for name in available() if "/" not in name]
    default = default_model()
    return ([default] if default in names else []) + [name for name in names if name != default]


def no_model_message() -> str:
    return (f"No trained model is available (looked in {checkpoint_root().name}/). Estimate, Synthesize and the transport plan "
            "of a clip need one: train with `python -m sotdemo train --config sot-2048-curriculum --seed 42`. "
            "The loss landscape works without a model.")


def _require_model(model: str | None) -> str:
    """`model`, or the default one; ValueError naming the choices if it does not exist."""
    from .model import resolve

    if not model:
        if not available():
            raise ValueError(no_model_message())
        return default_model()
    resolve(model)
    return model


def _stem(name: str) -> str:
    stem = Path(name).stem or "audio"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:60]


def _downloads_root() -> Path:
    """This process's folder for downloads (removed at exit); files older than
    `DOWNLOADS_MAX_AGE_S` in it are deleted whenever a new download is written."""
    root = Path(tempfile.gettempdir()) / f"sotdemo-downloads-{os.getpid()}"
    if not root.is_dir():
        root.mkdir()
        atexit.register(shutil.rmtree, root, True)
    cutoff = time.time() - DOWNLOADS_MAX_AGE_S
    for folder in root.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:  # another request swept it
            pass
    return root


def analyse_audio(loaded: LoadedAudio, name: str, model: str | None, out_dir: str | Path | None = None,
                  downloads: bool = True, level_db: float = DEFAULT_LEVEL_DB,
                  min_confidence: float = DEFAULT_MIN_CONFIDENCE, min_harmonicity: float = DEFAULT_MIN_HARMONICITY) -> Clip:
    """Estimate a loaded clip, measure the LSD of its resynthesis and (if `downloads`) write CSV + WAV
    downloads into `out_dir`, by default a new folder under this process's downloads folder.
    `level_db`, `min_confidence` and `min_harmonicity`: the voicing thresholds (see `estimate.estimate`)."""
    result = estimate(loaded, loaded.sample_rate, _require_model(model), float(level_db), float(min_confidence),
                      min_harmonicity=float(min_harmonicity))
    clip = Clip(name=name, audio=loaded.audio, result=result, warnings=list(loaded.warnings))
    clip.lsd_db = float(lsd(torch.from_numpy(loaded.audio), torch.from_numpy(result.resynthesis)))
    fit = fit_resynthesis(loaded.audio, result.f0_hz, result.voiced, result.sample_rate, HOP, result.amplitudes.shape[1])
    clip.fit_lsd_db = float(lsd(torch.from_numpy(loaded.audio), torch.from_numpy(fit)))
    if not downloads:
        return clip
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(dir=_downloads_root()))
    clip.csv_path = str(out / f"{_stem(name)}_f0.csv")
    clip.wav_path = str(out / f"{_stem(name)}_resynthesis.wav")
    write_csv(result, clip.csv_path)
    sf.write(clip.wav_path, result.resynthesis, result.sample_rate, subtype="PCM_16")
    return clip


def analyse(path: str | Path, model: str | None, out_dir: str | Path | None = None, downloads: bool = True,
            level_db: float = DEFAULT_LEVEL_DB, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
            min_harmonicity: float = DEFAULT_MIN_HARMONICITY) -> Clip:
    """The Estimate tab's work for an audio file: `audio.load` (first 60 s) and `analyse_audio`."""
    model = _require_model(model)
    if not path:
        raise AudioError("no audio: upload a file, record, or pick an example first")
    return analyse_audio(load(path), display_name(Path(path).name), model, out_dir, downloads, level_db, min_confidence, min_harmonicity)


def note_name(f0_hz: float) -> str:
    """Nearest equal-tempered note and the deviation in cents, e.g. 'A4 +3 ct'."""
    midi = librosa.hz_to_midi(f0_hz)
    cents = 100 * (midi - round(midi))
    return f"{librosa.midi_to_note(round(midi), unicode=False)} {cents:+.0f} ct"


def summary_markdown(clip: Clip) -> str:
    """Per-clip summary: duration, voiced share, median f0 and note, LSD, warnings."""
    r = clip.result
    voiced = r.f0_hz[r.voiced]
    lines = [f"**{clip.name}** · {len(clip.audio) / SAMPLE_RATE:.2f} s analysed · model `{r.model_name}` · "
             f"{len(r.f0_hz)} frames of {1000 * HOP / SAMPLE_RATE:.0f} ms, {100 * r.voiced.mean():.0f} % voiced"]
    if voiced.size:
        median = float(np.median(voiced))
        lines.append(f"**median f0 {median:.1f} Hz ({note_name(median)})** · range {np.percentile(voiced, 5):.0f}–"
                     f"{np.percentile(voiced, 95):.0f} Hz (5–95 %) · harmonicity {np.median(r.harmonicity[r.voiced]):.2f} "
                     f"(median over voiced frames) · resynthesis LSD {clip.lsd_db:.1f} dB² "
                     f"(best harmonic fit at this f0: {clip.fit_lsd_db:.1f} dB², the synthesizer's limit)")
    else:
        lines.append(f"**no voiced frame** (too quiet, or no frame whose power lies on a harmonic comb: noise?) · "
                     f"resynthesis LSD {clip.lsd_db:.1f} dB²")
    if clip.true_f0_hz is not None:
        rpa = raw_pitch_accuracy(clip.true_f0_hz, r.f0_hz) * 100
        lines.append(f"**RPA {rpa:.1f} %** of frames within 50 cents of the true f0 (every frame counted)")
    lines += [f"⚠ {w}" for w in clip.warnings + r.warnings]
    return "  \n".join(lines)


def pyin_track(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """librosa's pYIN f0 (40–2000 Hz) for comparison: `(times_s [n], f0_hz [n])`, NaN = unvoiced.

    Hop 512 (32 ms) and 0.25-semitone states: the full-resolution setting costs ~10 s per 10 s
    of audio on one core, too slow for an overlay.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < 2048:
        audio = np.pad(audio, (0, 2048 - len(audio)))
    f0, voiced, _ = librosa.pyin(audio, fmin=40.0, fmax=2000.0, sr=sample_rate, frame_length=2048, hop_length=PYIN_HOP,
                                 resolution=0.25, n_thresholds=50)
    f0 = np.where(voiced, f0, np.nan)
    return np.arange(len(f0)) * PYIN_HOP / sample_rate, f0


def estimate_figures(clip: Clip, log_freq: bool = False) -> dict[str, go.Figure]:
    """The Estimate tab's figures: 'pitch' (track over spectrogram, with pYIN once `clip.pyin` is
    set), 'amplitudes', 'spectrograms' (input vs resynthesis)."""
    r = clip.result
    input_spec = plots.spectrogram(clip.audio, log_freq=log_freq)
    resynthesis_spec = plots.spectrogram(r.resynthesis, log_freq=log_freq)
    pyin_times, pyin_f0 = clip.pyin if clip.pyin is not None else (None, None)
    return {
        "pitch": plots.pitch_figure(input_spec, r.times_s, r.f0_hz, r.voiced, pyin_times, pyin_f0, r.model_name, r.harmonicity),
        "amplitudes": plots.amplitude_figure(r.times_s, r.amplitudes, r.voiced),
        "spectrograms": plots.comparison_figure(input_spec, resynthesis_spec),
    }


def pitch_figure(clip: Clip, log_freq: bool = False) -> go.Figure:
    """Only the pitch figure (after pYIN arrives)."""
    r = clip.result
    pyin_times, pyin_f0 = clip.pyin if clip.pyin is not None else (None, None)
    return plots.pitch_figure(plots.spectrogram(clip.audio, log_freq=log_freq), r.times_s, r.f0_hz, r.voiced, pyin_times, pyin_f0,
                              r.model_name, r.harmonicity)


def default_frame(clip: Clip) -> int:
    """A frame worth looking at first: the most confident voiced frame, else the loudest one."""
    r = clip.result
    if r.voiced.any():
        return int(np.argmax(np.where(r.voiced, r.confidence, -1.0)))
    rms = librosa.feature.rms(y=clip.audio, frame_length=2048, hop_length=HOP)[0][: len(r.f0_hz)]
    return int(np.argmax(rms))


def pitch_data(clip: Clip) -> dict:
    """The `/estimate` API's answer: per-frame pitch track and amplitudes, plus a summary. `lsd_db` and
    `fit_lsd_db` are the paper's LSD (mean squared dB difference, so in dB², as the page shows them) of the
    resynthesis and of the best harmonic fit at the estimated f0 (None when no frame is voiced)."""
    r = clip.result
    voiced = r.f0_hz[r.voiced]
    median = float(np.median(voiced)) if voiced.size else None
    return {
        "name": clip.name,
        "model": r.model_name,
        "sample_rate": r.sample_rate,
        "hop_s": HOP / SAMPLE_RATE,
        "duration_s": len(clip.audio) / SAMPLE_RATE,
        "median_f0_hz": median,
        "note": note_name(median) if median else None,
        "voiced_fraction": float(r.voiced.mean()),
        "lsd_db": clip.lsd_db,
        "fit_lsd_db": clip.fit_lsd_db if r.voiced.any() else None,  # no voiced frame: nothing was fitted
        "warnings": clip.warnings + r.warnings,
        "times_s": np.round(r.times_s, 4).tolist(),
        "f0_hz": np.round(r.f0_hz, 3).tolist(),
        "voiced": r.voiced.astype(bool).tolist(),
        "confidence": np.round(r.confidence, 4).tolist(),
        "harmonicity": np.round(r.harmonicity, 4).tolist(),
        "amplitudes": np.round(r.amplitudes, 6).tolist(),
    }


# ----------------------------------------------------------------------------------------------
# Synthesize
# ----------------------------------------------------------------------------------------------
SOURCES = ("harmonic tone", *(f"sung vowel /{v}/" for v in VOWELS))  # what the Synthesize tab can make


@dataclass
class Synthesized:
    audio: np.ndarray  # [samples] float32 at 16 kHz, peak 0.8 (before noise)
    true_f0_hz: np.ndarray  # [frames] f0 at the estimator's frame times
    true_amplitudes: np.ndarray | None = None  # [K] relative amplitudes of the partials (steady part), linear


def synthesize(
    f0_hz: float = 220.0,
    n_harmonics: int = 8,
    tilt_db_per_octave: float = -6.0,
    noise_db: float = -60.0,
    vibrato_hz: float = 0.0,
    vibrato_cents: float = 0.0,
    seconds: float = 2.0,
    seed: int = 0,
    source: str = "harmonic tone",
) -> Synthesized:
    """A harmonic tone from the project's synthesizer: amplitudes fall by `tilt_db_per_octave`
    (harmonic k at 0 dB + tilt·log2 k), sinusoidal vibrato, white noise at `noise_db` re the tone's
    RMS. `source` 'sung vowel /a/' (one of `SOURCES`) makes a voice instead (`signals.voice`: glottal
    source with that tilt, the vowel's formants, the vibrato, a little jitter and breath; every
    partial below Nyquist). Returns the audio, the true f0 at every estimator frame (hop 256) and
    the true relative amplitudes of the first `n_harmonics` partials.

    Raises ValueError for f0 outside 30-4000 Hz, a duration outside 0.1-60 s, an unknown source."""
    if not 30 <= f0_hz <= 4000:
        raise ValueError(f"f0 {f0_hz:g} Hz is outside 30-4000 Hz")
    if not 0.1 <= seconds <= 60:
        raise ValueError(f"duration {seconds:g} s is outside 0.1-60 s")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    n_harmonics = int(np.clip(n_harmonics, 1, 40))
    n = int(seconds * SAMPLE_RATE)
    n_frames = 1 + n // HOP
    t = np.arange(n_frames) * HOP / SAMPLE_RATE
    k = np.arange(1, n_harmonics + 1)
    if source == "harmonic tone":
        f0 = f0_hz * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * vibrato_hz * t))
        amps = 10 ** (tilt_db_per_octave * np.log2(k) / 20) * (k * f0_hz < SAMPLE_RATE / 2)
        audio = harmonic_synth(torch.from_numpy(f0)[None], torch.from_numpy(amps)[None, None].expand(1, n_frames, -1), n,
                               SAMPLE_RATE, hop_length=HOP)[0].numpy()
    else:
        vowel = source[-2]
        audio, f0_samples = signals.voice(f0_hz, seconds, np.random.default_rng(seed), SAMPLE_RATE, vowel, tilt_db_per_octave,
                                          vibrato_cents, vibrato_hz, jitter=0.003, shimmer=0.02, breath_db=-40.0)
        f0 = f0_samples[np.minimum(np.arange(n_frames) * HOP, n - 1)]
        # a voice has every partial below Nyquist whatever the slider says: the truth shows as many as the model estimates
        amps = signals.voice_partials(f0_hz, vowel, VOICE_TRUTH_PARTIALS, tilt_db_per_octave)
    audio = 0.8 * audio / max(np.abs(audio).max(), 1e-9)
    if noise_db > -120:
        rms = np.sqrt(np.mean(audio**2))
        audio = audio + np.random.default_rng(seed).normal(0, rms * 10 ** (noise_db / 20), n)
        audio = np.clip(audio, -1, 1)
    return Synthesized(audio.astype(np.float32), f0, amps / max(amps.max(), 1e-12))


VOICE_TRUTH_PARTIALS = 20  # partials of a sung vowel's truth drawn beside the estimate (the encoder's K)


def analyse_synthesized(synth: Synthesized, model: str | None, name: str = "synthesized tone") -> Clip:
    """Estimate a synthesized tone; the clip keeps the ground truth for RPA and plots."""
    clip = analyse_audio(prepare(synth.audio, SAMPLE_RATE, name=name), name, model)
    clip.true_f0_hz = synth.true_f0_hz[: len(clip.result.f0_hz)]
    clip.true_amplitudes = synth.true_amplitudes
    return clip


def amplitude_comparison(clip: Clip) -> tuple[np.ndarray, np.ndarray | None]:
    """The estimate's harmonic amplitudes (median over voiced frames, `[K]`) and the truth's
    (`[<= K]` or None), each relative to its strongest partial, linear."""
    r = clip.result
    estimated = np.median(r.amplitudes[r.voiced], axis=0) if r.voiced.any() else np.zeros(r.amplitudes.shape[1])
    estimated = estimated / max(estimated.max(), 1e-12)
    return estimated, clip.true_amplitudes


# ----------------------------------------------------------------------------------------------
# Transport plan of one frame
# ----------------------------------------------------------------------------------------------
_SUB, _SUP = dict(zip(range(1, 4), "₁₂₃")), dict(zip(range(1, 4), "¹²³"))


@dataclass
class TransportView:
    w: float  # W_p^p between the frame's target and prediction (the SOT term of that frame)
    text: str
    figures: dict[str, go.Figure]


def frame_spectra(audio: np.ndarray, resynthesis: np.ndarray, frame: int, n_fft: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Power spectra `[n_fft//2+1]` of input (target) and resynthesis (prediction) around frame
    `frame` (centre at frame*256 samples), flat-top window as in the SOT loss; zero-padded at the
    clip's edges."""
    centre = int(frame) * HOP
    segments = []
    for signal in (audio, resynthesis):
        padded = np.pad(np.asarray(signal, dtype=np.float64), (n_fft // 2, n_fft // 2))
        segments.append(padded[centre : centre + n_fft])
    spec = stft(torch.from_numpy(np.stack(segments)), n_fft, HOP, "flattop", power=True)[:, 0]
    return spec[0].numpy(), spec[1].numpy()


def transport_view(clip: Clip, frame: int, n_fft: int = 2048, logf: bool = False, cutoff: bool = True, p: int = 2,
                   n_steps: int = 21) -> TransportView:
    """Every figure of the Transport plan tab for one frame, and W_p^p of that frame."""
    if p not in _SUB:
        raise ValueError(f"p must be 1, 2 or 3, got {p}")
    frame = int(np.clip(frame, 0, len(clip.result.f0_hz) - 1))
    target, pred = frame_spectra(clip.audio, clip.result.resynthesis, frame, n_fft)
    positions = sot_positions(n_fft, logf)
    freqs = stft_frequencies(n_fft)
    w = float(ot.wasserstein_1d(torch.from_numpy(target), torch.from_numpy(pred), torch.from_numpy(positions), p, cutoff))
    source_bin, target_bin, mass = ot.plan_indices(target, pred, cutoff)
    target_cdf = ot.cdf(target)
    pred_cdf = ot.cdf(pred, cutoff_mass=float(target.sum()) if cutoff else None)
    levels = np.linspace(0, 1, 801)
    cutoff_mass = float(target.sum()) if cutoff else None
    # frequency range that holds 99.9 % of both spectra's mass, at least 500 Hz
    reach = max(freqs[min(np.searchsorted(c, 0.999), len(freqs) - 1)] for c in (target_cdf, ot.cdf(pred)))
    fmax = float(min(freqs[-1], max(500.0, 1.15 * reach)))
    coupling = ot.coupling_matrix(target, pred, cutoff=cutoff)
    times = np.linspace(0, 1, n_steps)
    displacement = np.stack([ot.displacement_interpolation(target, pred, positions, t, cutoff) for t in times])
    a, b = target / max(target.sum(), 1e-30), pred / max(pred.sum(), 1e-30)
    linear = np.stack([(1 - t) * b + t * a for t in times])
    silent = [name for name, s in (("target", target), ("prediction", pred)) if s.sum() <= ot.SILENCE_FLOOR]
    r = clip.result
    text = (f"frame {frame} at {r.times_s[frame]:.3f} s · estimated f0 {r.f0_hz[frame]:.1f} Hz "
            f"({'voiced' if r.voiced[frame] else 'unvoiced'}) · window {n_fft}, {'log' if logf else 'linear'} frequency, "
            f"cutoff {'on' if cutoff else 'off'}, p = {p} · **W{_SUB[p]}{_SUP[p]} = {w:.3g}** (positions on a 0…1 axis)")
    if silent:
        text += f" · ⚠ the {' and '.join(silent)} frame is silent: treated as uniform mass"
    elif cutoff and pred.sum() < target.sum():
        missing = 1 - float(pred.sum() / target.sum())
        text += (f" · frequency cutoff: the prediction holds {100 * missing:.0f} % less mass than the target; that share is "
                 "drawn leaving from the top bin (the prediction's quantile function is clamped there), it is not spectral content")
    elif cutoff and pred.sum() > target.sum():
        excess = float(pred.sum() / target.sum()) - 1
        text += (f" · frequency cutoff: the prediction holds {100 * excess:.0f} % more mass than the target; its highest "
                 "part is not transported (its CDF rises above 1 there, which the loss ignores)")
    figures = {
        "plan": plots.transport_figure(freqs, a, b, source_bin, target_bin, mass, fmax, logf),
        "cdf": plots.cdf_figure(freqs, target_cdf, pred_cdf, levels, ot.quantile_function(target, freqs, levels),
                                ot.quantile_function(pred, freqs, levels, cutoff_mass), fmax, logf),
        "coupling": plots.coupling_figure(freqs, coupling, fmax),
        "interpolation": plots.interpolation_figure(freqs, times, displacement, linear, fmax, logf),
    }
    return TransportView(w, text, figures)


# ----------------------------------------------------------------------------------------------
# Loss landscape and gradient-descent race
# ----------------------------------------------------------------------------------------------
def _loss(name: str, **changes) -> LossConfig:
    return dataclasses.replace(load_config(name).loss, **changes)


LOSSES: dict[str, Callable[[], LossConfig]] = {  # the losses the landscape tab compares
    "SOT-2048 (transport term only)": lambda: _loss("sot-2048", lin_weight=0.0),
    "SOT-2048 (paper row: + 0.05 LIN)": lambda: _loss("sot-2048"),
    "SOT-512": lambda: _loss("sot-512"),
    "SOT-512 LogF": lambda: _loss("sot-512-logf"),
    "SOT-2048 no cutoff": lambda: _loss("sot-2048-nocut"),
    "LIN": lambda: _loss("lin"),
    "MSS": lambda: _loss("mss"),
}
LANDSCAPE_SAMPLES = 4096  # one training clip: 0.256 s


def _tone_amplitudes(n_harmonics: int) -> torch.Tensor:
    return torch.ones(int(np.clip(n_harmonics, 1, 20)), dtype=torch.float64)


def _check_f0(name: str, f0_hz: float) -> float:
    if not 40 <= float(f0_hz) <= 2000:
        raise ValueError(f"{name} {f0_hz:g} Hz is outside 40-2000 Hz")
    return float(f0_hz)


def landscape_curves(target_f0_hz: float, n_harmonics: int, names: list[str], n_points: int = 120) -> tuple[np.ndarray, dict]:
    """Loss and d loss / d f0 for predicted f0 on a log grid 40–2000 Hz, for each loss in `names`.

    Target and prediction are harmonic tones with `n_harmonics` equal amplitudes (4096 samples).
    Returns `(f0_grid [n_points], {name: (values, grads)})`.
    """
    target_f0_hz = _check_f0("target f0", target_f0_hz)
    unknown = [n for n in names if n not in LOSSES]
    if unknown or not names:
        raise ValueError(f"choose losses among: {', '.join(LOSSES)}")
    grid = np.geomspace(40, 2000, n_points)
    amps = _tone_amplitudes(n_harmonics)
    target = harmonic_synth(torch.tensor([target_f0_hz], dtype=torch.float64), amps[None], LANDSCAPE_SAMPLES)[0]
    return grid, {name: landscape(SpectralLoss(LOSSES[name]()), target, grid, amps, LANDSCAPE_SAMPLES) for name in names}


def descent_race(target_f0_hz: float, start_f0_hz: float, n_harmonics: int, names: list[str], steps: int = 60,
                 learning_rate: float = 0.05) -> dict[str, np.ndarray]:
    """Gradient descent on one harmonic oscillator's f0 under each loss, from the same start.

    Adam on log2 f0 (step ~`learning_rate` octaves, so the losses' very different scales do not
    matter), f0 kept in 30–4000 Hz. Returns `{name: f0 per iteration [steps + 1]}`.
    """
    target_f0_hz = _check_f0("target f0", target_f0_hz)
    start_f0_hz = _check_f0("start f0", start_f0_hz)
    if not 1 <= int(steps) <= MAX_RACE_STEPS:
        raise ValueError(f"iterations must be 1-{MAX_RACE_STEPS}, got {steps}")
    unknown = [n for n in names if n not in LOSSES]
    if unknown or not names:
        raise ValueError(f"choose losses among: {', '.join(LOSSES)}")
    amps = _tone_amplitudes(n_harmonics)[None]
    target = harmonic_synth(torch.tensor([target_f0_hz], dtype=torch.float64), amps, LANDSCAPE_SAMPLES)
    out = {}
    for name in names:
        loss = SpectralLoss(LOSSES[name]())
        log_f0 = torch.tensor([math.log2(start_f0_hz)], dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.Adam([log_f0], lr=learning_rate)
        path = [start_f0_hz]
        for _ in range(steps):
            optimiser.zero_grad()
            loss(target, harmonic_synth(2**log_f0, amps, LANDSCAPE_SAMPLES)).backward()
            optimiser.step()
            with torch.no_grad():
                log_f0.clamp_(math.log2(30), math.log2(4000))
            path.append(float(2 ** log_f0.item()))
        out[name] = np.array(path)
    return out


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------
def _metrics(name: str) -> dict:
    from .model import resolve

    try:
        return json.loads((resolve(name) / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class ModelRow:
    name: str
    seeds: int
    test_rpa: float | None  # mean over seeds, %
    test_lsd: float | None  # mean over seeds, the paper's LSD
    paper_rpa: float | None  # the paper's mean, %
    paper_lsd: float | None
    own_split: bool = False  # scored on its own (realistic) distribution's test split, not the paper's tones


def model_rows() -> list[ModelRow]:
    """One row per entry of the model menu (`menu_models`): test-split RPA and LSD averaged over
    the configuration's seeds (their metrics.json, written by `sotdemo evaluate`) beside the
    paper's means (Table 1) where the paper has the row."""
    from .evaluate import PAPER_TABLE
    from .model import checkpoint_root

    rows = []
    for name in menu_models():
        tests = []
        for metrics in sorted((checkpoint_root() / name).glob("**/metrics.json")):
            test = json.loads(metrics.read_text()).get("test", {})
            if isinstance(test.get("rpa"), (int, float)) and isinstance(test.get("lsd"), (int, float)):
                tests.append((test["rpa"], test["lsd"]))
        paper = PAPER_TABLE.get(name)
        mean = lambda cell: float(cell.split("/")[0]) if cell else None  # noqa: E731 - "mean / median (std)"
        rows.append(ModelRow(name, len(tests), float(np.mean([t[0] for t in tests])) if tests else None,
                             float(np.mean([t[1] for t in tests])) if tests else None,
                             mean(paper[1]) if paper else None, mean(paper[0]) if paper else None,
                             _distribution(checkpoint_root() / name) != "paper"))
    return rows


def _distribution(folder: Path) -> str:
    """The data distribution a checkpoint folder's models were trained on (their config.json; 'paper' if none says)."""
    for config in sorted(folder.glob("**/config.json")):
        try:
            return str(json.loads(config.read_text()).get("data", {}).get("distribution", "paper"))
        except (OSError, ValueError):
            continue
    return "paper"


def models_summary() -> tuple[str, go.Figure]:
    """The Models tab at a glance: a compact table (default first) and its chart (`plots.models_figure`)."""
    rows = model_rows()
    if not rows:
        return no_model_message(), plots.models_figure([], [], [], [], [])
    cell = lambda v, digits=1: "–" if v is None else f"{v:.{digits}f}"  # noqa: E731
    lines = ["| model | seeds | RPA % ours | RPA % paper | LSD ours | LSD paper |", "|---|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(rows):
        name = f"**{r.name}** (default)" if i == 0 and r.name == default_model() else r.name
        name += " †" if r.own_split else ""
        lines.append(f"| {name} | {r.seeds} | {cell(r.test_rpa)} | {cell(r.paper_rpa)} | {cell(r.test_lsd)} | {cell(r.paper_lsd)} |")
    lines.append("\nTest split of the paper's tones, mean over seeds; *paper*: Table 1's means. Details below.")
    if any(r.own_split for r in rows):
        lines.append("† scored on the test split of its own training distribution (realistic sounds with noise, decays, voices, "
                     "telephone band), a harder set than the paper's tones; on the paper's tones and on real instruments see "
                     "results/lsd_oracle.md and results/bench_real.md.")
    figure = plots.models_figure([r.name + (" †" if r.own_split else "") for r in rows], [r.test_rpa for r in rows], [r.paper_rpa for r in rows],
                                 [r.test_lsd for r in rows], [r.paper_lsd for r in rows])
    return "\n".join(lines), figure


def models_markdown() -> str:
    """The shipped checkpoints with their validation/test metrics, the reproduced table if
    `results/paper_table.md` exists (else a clear 'not yet evaluated'), and the paper's table."""
    from .evaluate import PAPER_TABLE

    names = available()
    lines = ["### Shipped checkpoints", ""]
    if not names:
        lines.append(no_model_message())
    else:
        lines += ["| model | val LSD | val RPA % | val RCA % | test LSD | test RPA % | test RCA % | steps |", "|---|---|---|---|---|---|---|---|"]
        for name in names:
            m = _metrics(name)
            test = m.get("test", {})
            cell = lambda v: f"{v:.2f}" if isinstance(v, (int, float)) else "–"  # noqa: E731
            default = " (default)" if name == default_model() else ""
            lines.append(f"| `{name}`{default} | {cell(m.get('best_val_lsd'))} | {cell(m.get('best_val_rpa'))} | {cell(m.get('best_val_rca'))} "
                         f"| {cell(test.get('lsd'))} | {cell(test.get('rpa'))} | {cell(test.get('rca'))} | {m.get('best_step', '–')} |")
    lines += ["", "### Reproduction of the paper's table", ""]
    table = RESULTS / "paper_table.md"
    if table.is_file():
        body = table.read_text().split("\n", 1)[1]  # drop the file's own title
        lines.append(body.replace("\n## ", "\n#### "))
    else:
        lines.append("**Not yet evaluated**: `results/paper_table.md` does not exist. Run `python -m sotdemo evaluate` "
                     "after training to score every checkpoint on the test split. The paper's figures:")
        lines += ["", "| config | LSD ↓ | RPA % ↑ | RCA % ↑ |", "|---|---|---|---|"]
        lines += [f"| {name} | {lsd_} | {rpa} | {rca or '–'} |" for name, (lsd_, rpa, rca) in PAPER_TABLE.items()]
        lines.append("\nmean / median (std) over 5 seeds (Torres et al., ICASSP 2024, Table 1).")
    return "\n".join(lines)
