"""Seeded synthetic datasets: audio with known f0 and harmonic amplitudes.

A `DataConfig` names a distribution and its parameters; `generate(config)` draws the whole
set from `numpy.random.default_rng(config.seed)`, so the same config gives identical arrays
on every machine. The paper's distribution (Sec. 3) is `paper`: stationary harmonic tones,
16 kHz, 4096 samples, f0 ~ U[40, 1950] Hz, the first k ~ U{1..8} harmonics on with
amplitudes ~ U[0.4, 1], partials above Nyquist removed, each clip peak-normalized to 0.9,
4000 clips split 70/20/10 (train/val/test). Other distributions register in
`DISTRIBUTIONS` under their own name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch

from .synth import harmonic_synth

__all__ = ["DISTRIBUTIONS", "DataConfig", "Dataset", "generate", "split"]

Split = Literal["train", "val", "test"]


@dataclass(frozen=True)
class DataConfig:
    """Parameters of a synthetic dataset (defaults: the paper's)."""

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


DISTRIBUTIONS: dict[str, Callable[[DataConfig, np.random.Generator], Dataset]] = {"paper": _paper}


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
