"""Seeded synthetic datasets: audio with known f0 and harmonic amplitudes.

A `DataConfig` names a distribution and its parameters; `generate(config)` draws the whole
set from `numpy.random.default_rng(config.seed)`, so the same config gives identical arrays
on every machine. The paper's distribution (Sec. 3) is `paper`: stationary harmonic tones,
16 kHz, 4096 samples, f0 ~ U[40, 1950] Hz, the first k ~ U{1..8} harmonics on with
amplitudes ~ U[0.4, 1], partials above Nyquist removed, each clip peak-normalized to 0.9,
4000 clips split 70/20/10 (train/val/test). `realistic` (ours, for real recordings) draws
what instruments and voices do and the paper's tones do not: many partials under a spectral
tilt and formants, odd-only and weak-fundamental spectra, inharmonicity, vibrato and glides,
attacks and decays, additive white or coloured noise, levels from -40 to 0 dBFS, and a few
noise-only clips (f0 0 = no pitch). Other distributions register in `DISTRIBUTIONS` under
their own name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch

from scipy import signal as scipy_signal

from .synth import harmonic_synth

__all__ = ["DISTRIBUTIONS", "DataConfig", "Dataset", "generate", "split", "telephone"]

Split = Literal["train", "val", "test"]


@dataclass(frozen=True)
class DataConfig:
    """Parameters of a synthetic dataset (defaults: the paper's).

    The fields after `seed` shape the `realistic` distribution only (the paper's ignores them):
    spectral tilt in dB per octave of harmonic number; up to `formants_max` formant bumps
    (centre 250-4000 Hz, 0-20 dB); shares of odd-only spectra (even partials 15-40 dB down) and
    weak fundamentals (10-30 dB down); a share of clips with inharmonic partials
    f_k = k·f0·sqrt(1 + B·k²), B log-uniform up to `inharmonicity_max`; vibrato up to
    `vibrato_cents_max` (4-7 Hz) and glides up to `glide_cents_per_s_max`, both passing through
    the labelled f0 at the clip's middle sample; an attack of 5-80 ms starting up to 0.2 s
    before and 50 ms after the clip starts, then a decay (time constant 0.1-4 s, upper
    partials faster); additive noise on a share of clips at `snr_db` (white, or low-/band-
    passed, breath-like); the clip's peak at `level_db` dBFS; a share of noise-only clips; and a
    share `phone_share` of clips heard through a telephone channel (`telephone`: 300-3400 Hz band,
    8 kHz sampling), where the lowest partials are weak or gone; and a share `voice_share` of
    voice-like tones (`_voices`: vowel formants over a glottal tilt, 70-800 Hz, vibrato); and a
    share `sparse_share` of sparse tones (`_sparse`: 1-3 partials, a third of them pure sines).
    Each draws nothing when 0, so older configurations generate the same data.
    """

    distribution: str = "paper"
    n_clips: int = 4000
    n_samples: int = 4096
    sample_rate: int = 16000
    f0_min_hz: float = 40.0
    f0_max_hz: float = 1950.0
    max_harmonics: int = 8
    amplitude_min: float = 0.4
    amplitude_max: float = 1.0
    peak: float = 0.9
    split_fractions: tuple[float, float, float] = (0.7, 0.2, 0.1)
    seed: int = 0
    tilt_db_per_octave: tuple[float, float] = (-18.0, 3.0)
    formants_max: int = 3
    odd_only_share: float = 0.1
    weak_fundamental_share: float = 0.1
    inharmonic_share: float = 0.3
    inharmonicity_max: float = 3e-4
    vibrato_share: float = 0.4
    vibrato_cents_max: float = 50.0
    glide_share: float = 0.2
    glide_cents_per_s_max: float = 400.0
    noise_share: float = 0.6
    snr_db: tuple[float, float] = (0.0, 40.0)
    level_db: tuple[float, float] = (-40.0, 0.0)
    noise_only_share: float = 0.03
    phone_share: float = 0.0
    voice_share: float = 0.0
    sparse_share: float = 0.0


@dataclass
class Dataset:
    """Clips and their true parameters. `f0_hz` and `amplitudes` describe the audio as stored
    (after Nyquist removal and peak normalization)."""

    audio: np.ndarray  # [clips, samples] float32
    f0_hz: np.ndarray  # [clips] float64
    amplitudes: np.ndarray  # [clips, max_harmonics] float64, 0 for inactive partials
    sample_rate: int

    def __len__(self) -> int:
        return len(self.audio)

    def subset(self, index: np.ndarray | slice) -> "Dataset":
        return Dataset(self.audio[index], self.f0_hz[index], self.amplitudes[index], self.sample_rate)


def _paper(config: DataConfig, rng: np.random.Generator) -> Dataset:
    n, k_max = config.n_clips, config.max_harmonics
    f0 = rng.uniform(config.f0_min_hz, config.f0_max_hz, size=n)
    n_active = rng.integers(1, k_max + 1, size=n)
    amplitudes = rng.uniform(config.amplitude_min, config.amplitude_max, size=(n, k_max))
    harmonic_numbers = np.arange(1, k_max + 1)
    amplitudes *= harmonic_numbers[None, :] <= n_active[:, None]
    amplitudes *= f0[:, None] * harmonic_numbers[None, :] < config.sample_rate / 2
    audio = harmonic_synth(
        torch.from_numpy(f0), torch.from_numpy(amplitudes), config.n_samples, config.sample_rate
    ).numpy()
    gain = config.peak / np.abs(audio).max(axis=1)
    return Dataset(
        audio=(audio * gain[:, None]).astype(np.float32),
        f0_hz=f0,
        amplitudes=amplitudes * gain[:, None],
        sample_rate=config.sample_rate,
    )


def _log_uniform(rng: np.random.Generator, low: float, high: float, size) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), size=size))


def _coloured_noise(rng: np.random.Generator, n_samples: int, sample_rate: int) -> np.ndarray:
    """Unit-RMS noise `[n_samples]`: white, or through a random 2nd-order low-pass or band-pass."""
    noise = rng.standard_normal(n_samples)
    kind = rng.integers(3)
    if kind == 1:
        b, a = scipy_signal.butter(2, _log_uniform(rng, 300, 6000, None), "lowpass", fs=sample_rate)
        noise = scipy_signal.lfilter(b, a, noise)
    elif kind == 2:
        centre = _log_uniform(rng, 300, 5000, None)
        b, a = scipy_signal.butter(2, [centre / 1.6, min(centre * 1.6, 0.45 * sample_rate)], "bandpass", fs=sample_rate)
        noise = scipy_signal.lfilter(b, a, noise)
    return noise / max(np.sqrt(np.mean(noise**2)), 1e-12)


def telephone(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """`audio` `[..., samples]` through a telephone channel at the same rate: a 4th-order
    Butterworth band-pass 300-3400 Hz, then down to 8 kHz and back (soxr), which removes
    everything above 4 kHz."""
    import librosa

    sos = scipy_signal.butter(4, [300.0, 3400.0], "bandpass", fs=sample_rate, output="sos")
    narrow = librosa.resample(scipy_signal.sosfilt(sos, audio, axis=-1), orig_sr=sample_rate, target_sr=8000, res_type="soxr_hq")
    return librosa.resample(narrow, orig_sr=8000, target_sr=sample_rate, res_type="soxr_hq")[..., : audio.shape[-1]]


def _telephone_gain(hz: np.ndarray, sample_rate: int) -> np.ndarray:
    """The telephone band-pass's magnitude at `hz` (0 from 4 kHz up)."""
    sos = scipy_signal.butter(4, [300.0, 3400.0], "bandpass", fs=sample_rate, output="sos")
    _, response = scipy_signal.sosfreqz(sos, worN=np.clip(hz, 0, sample_rate / 2), fs=sample_rate)
    return np.abs(response) * (hz < 4000)


def _voices(config: DataConfig, rng: np.random.Generator, f0: np.ndarray, n_partials: np.ndarray, envelope_db: np.ndarray,
            vibrato_cents: np.ndarray, noise_only: np.ndarray) -> None:
    """Turn a share `voice_share` of the pitched clips into voice-like tones, in place: f0
    log-uniform 70-800 Hz, every partial below Nyquist, a glottal source's tilt (-6 to -18 dB per
    octave of harmonic number, ±2 dB per partial) through the first three formants of a vowel of
    `signals.VOWELS` scaled by a vocal-tract factor 0.85-1.25 (men to children), vibrato up to 80 cents
    on 70 % of them."""
    from .signals import VOWELS, formant_gain

    n, k_max = envelope_db.shape
    voices = np.flatnonzero((rng.random(n) < config.voice_share) & ~noise_only)
    k = np.arange(1, k_max + 1)
    vowels = sorted(VOWELS)
    for i in voices:
        f0[i] = _log_uniform(rng, 70.0, 800.0, None)
        n_partials[i] = k_max
        scale = rng.uniform(0.85, 1.25)
        formants = tuple((centre * scale, width * scale) for centre, width in VOWELS[vowels[rng.integers(len(vowels))]])
        gain_db = 20 * np.log10(np.maximum(formant_gain(f0[i] * k, formants), 1e-6))
        envelope_db[i] = rng.uniform(-18.0, -6.0) * np.log2(k) + gain_db + rng.normal(0, 2, k_max)
        vibrato_cents[i] = rng.uniform(0, 80) if rng.random() < 0.7 else 0.0


def _sparse(config: DataConfig, rng: np.random.Generator, n_partials: np.ndarray, envelope_db: np.ndarray, noise_only: np.ndarray) -> None:
    """Turn a share `sparse_share` of the pitched clips into sparse tones, in place: 1-3 partials
    (a third of them a pure sine), each 0 to -20 dB, no formant or tilt (the paper's tones at
    their sparsest, and whistles, flutes and sine tests)."""
    n, k_max = envelope_db.shape
    for i in np.flatnonzero((rng.random(n) < config.sparse_share) & ~noise_only):
        n_partials[i] = int(rng.integers(1, 4))
        envelope_db[i] = rng.uniform(-20.0, 0.0, k_max)
        envelope_db[i, 0] = max(envelope_db[i, 0], -10.0)


def _realistic(config: DataConfig, rng: np.random.Generator, chunk: int = 100) -> Dataset:
    n, n_samples, sr, k_max = config.n_clips, config.n_samples, config.sample_rate, config.max_harmonics
    t = np.arange(n_samples) / sr
    relative = t - t[n_samples // 2]  # 0 at the labelled (middle) sample
    k = np.arange(1, k_max + 1, dtype=np.float64)

    f0 = _log_uniform(rng, config.f0_min_hz, config.f0_max_hz, n)
    noise_only = rng.random(n) < config.noise_only_share
    # pitch motion in cents, 0 at the middle sample
    depth = np.where(rng.random(n) < config.vibrato_share, rng.uniform(0, config.vibrato_cents_max, n), 0.0)
    rate, phase = rng.uniform(4, 7, n), rng.uniform(0, 2 * np.pi, n)
    glide = np.where(rng.random(n) < config.glide_share, rng.uniform(-1, 1, n) * config.glide_cents_per_s_max, 0.0)
    # spectral envelope in dB per partial
    n_partials = np.minimum(np.floor(_log_uniform(rng, 1, k_max + 1, n)), k_max)
    envelope_db = rng.uniform(*config.tilt_db_per_octave, size=(n, 1)) * np.log2(k) + rng.normal(0, 3, (n, k_max))
    for _ in range(config.formants_max):
        present = rng.random(n) < 0.5
        centre, width = _log_uniform(rng, 250, 4000, n), rng.uniform(0.15, 0.6, n)
        gain = rng.uniform(0, 20, n) * present
        envelope_db += gain[:, None] * np.exp(-0.5 * ((np.log2(f0[:, None] * k / centre[:, None])) / width[:, None]) ** 2)
    odd_only = rng.random(n) < config.odd_only_share
    envelope_db[:, 1::2] -= (odd_only * rng.uniform(15, 40, n))[:, None]
    weak = rng.random(n) < config.weak_fundamental_share
    envelope_db[:, 0] -= weak * rng.uniform(10, 30, n)
    if config.voice_share > 0:  # its own generator: configurations without voices draw the same data as before
        _voices(config, np.random.default_rng([config.seed, 1]), f0, n_partials, envelope_db, depth, noise_only)
    if config.sparse_share > 0:  # as voices: its own generator
        _sparse(config, np.random.default_rng([config.seed, 2]), n_partials, envelope_db, noise_only)
    amplitudes = 10 ** (envelope_db / 20) * (k <= n_partials[:, None]) * ~noise_only[:, None]
    stretch = np.sqrt(1 + np.where(rng.random(n) < config.inharmonic_share, _log_uniform(rng, 1e-5, config.inharmonicity_max, n), 0.0)[:, None] * k**2)
    # attack and decay: onset in [-0.2, 0.05] s, attack 5-80 ms, decay time constant 0.1-4 s, upper partials faster
    onset, attack = rng.uniform(-0.2, 0.05, n), rng.uniform(0.005, 0.08, n)
    tau, faster = _log_uniform(rng, 0.1, 4.0, n), rng.uniform(0, 0.3, n)
    initial_phase = rng.uniform(0, 2 * np.pi, (n, k_max))
    snr = np.where(rng.random(n) < config.noise_share, rng.uniform(*config.snr_db, n), np.inf)
    level = rng.uniform(*config.level_db, n)

    audio = np.zeros((n, n_samples))
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        cents = depth[rows, None] * (np.sin(2 * np.pi * rate[rows, None] * relative + phase[rows, None]) - np.sin(phase[rows, None]))
        cents += glide[rows, None] * relative
        f0_t = f0[rows, None] * 2 ** (cents / 1200)  # [clips, samples]
        cycles = np.cumsum(f0_t, axis=1) / sr
        cycles -= cycles[:, n_samples // 2, None]
        since = t - onset[rows, None]
        rise = np.clip(since / attack[rows, None], 0, 1)
        for j in range(k_max):
            a = amplitudes[rows, j]
            partial_hz = (j + 1) * stretch[rows, j]
            audible = (a > 0) & (f0_t.max(axis=1) * partial_hz < sr / 2)
            amplitudes[rows, j] *= audible
            if not audible.any():
                continue
            decay = np.exp(-np.maximum(since, 0) * (1 + faster[rows, None] * j) / tau[rows, None])
            audio[rows] += (a * audible)[:, None] * rise * decay * np.sin(2 * np.pi * partial_hz[:, None] * cycles + initial_phase[rows, j, None])
        rms = np.sqrt(np.mean(audio[rows] ** 2, axis=1))
        audio[rows] /= np.maximum(rms, 1e-12)[:, None]
        amplitudes[rows] /= np.maximum(rms, 1e-12)[:, None]
        for i in range(rows.start, rows.stop):
            if noise_only[i] or np.isfinite(snr[i]):
                audio[i] += _coloured_noise(rng, n_samples, sr) * (1.0 if noise_only[i] else 10 ** (-snr[i] / 20))
    if config.phone_share > 0:
        phone = np.flatnonzero(rng.random(n) < config.phone_share)
        if len(phone):
            audio[phone] = telephone(audio[phone], sr)
            amplitudes[phone] *= _telephone_gain(f0[phone, None] * k * stretch[phone], sr)
    gain = 10 ** (level / 20) / np.maximum(np.abs(audio).max(axis=1), 1e-12)
    # labels at the middle sample: the partials' amplitudes there, f0 0 for noise-only clips
    at_middle = np.clip((t[n_samples // 2] - onset) / attack, 0, 1)[:, None] * np.exp(
        -np.maximum(t[n_samples // 2] - onset, 0)[:, None] * (1 + faster[:, None] * (k - 1)) / tau[:, None]
    )
    return Dataset(
        audio=(audio * gain[:, None]).astype(np.float32),
        f0_hz=np.where(noise_only, 0.0, f0),
        amplitudes=amplitudes * at_middle * gain[:, None],
        sample_rate=sr,
    )


DISTRIBUTIONS: dict[str, Callable[[DataConfig, np.random.Generator], Dataset]] = {"paper": _paper, "realistic": _realistic}


def generate(config: DataConfig = DataConfig()) -> Dataset:
    """Draw the whole dataset described by `config` (deterministic for its seed)."""
    if config.distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {config.distribution!r}; known: {sorted(DISTRIBUTIONS)}")
    return DISTRIBUTIONS[config.distribution](config, np.random.default_rng(config.seed))


def split(dataset: Dataset, name: Split, fractions: tuple[float, float, float] = (0.7, 0.2, 0.1)) -> Dataset:
    """The train, val or test part: consecutive blocks of the (already random) clip order."""
    bounds = np.round(np.cumsum((0.0, *fractions)) * len(dataset)).astype(int)
    index = {"train": 0, "val": 1, "test": 2}[name]
    return dataset.subset(slice(bounds[index], bounds[index + 1]))
