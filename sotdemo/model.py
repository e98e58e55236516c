"""Encoder + harmonic synthesizer as one model, and its checkpoints on disk.

A checkpoint is a folder checkpoints/<name>/ holding `model.safetensors` (the encoder's
weights; no pickle anywhere), `config.json` (the full `RunConfig` plus the seed) and
`metrics.json` (what training and evaluation measured). `load(name)` accepts a configuration
name (`sot-2048`: the seed with the best validation LSD among its seed-N subfolders), a seed
(`sot-2048/seed-42`) or None for the default model.

Loading is safe with names from strangers (the web app's `/estimate` takes one): a name must be
one that `available()` lists, so only folders under the checkpoint root (after links are
followed) are read, and only as safetensors and JSON, never pickle.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .config import RunConfig
from .encoder import Encoder, EncoderOutput
from .spectral import cqt
from .synth import harmonic_synth

__all__ = ["DEFAULT_MODEL", "PACKAGED", "HarmonicModel", "available", "checkpoint_root", "load", "resolve", "save"]

DEFAULT_MODEL = "sot-harmonic"  # sot-realistic's pitch + the harmonic amplitude head trained on voices, phone and noise too; see configs
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class HarmonicModel(nn.Module):
    """CQT frames -> (f0, harmonic amplitudes) -> audio, for one `RunConfig`."""

    def __init__(self, config: RunConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.encoder)

    def forward(self, cqt_frames: torch.Tensor, amplitudes_train_trunk: bool = True, bfloat16_trunk: bool = False) -> EncoderOutput:
        """`cqt_frames`: `[..., 285]` linear-magnitude CQT frames (see `Encoder.forward`)."""
        return self.encoder(cqt_frames, amplitudes_train_trunk, bfloat16_trunk)

    def front_end(self, audio: np.ndarray) -> np.ndarray:
        """The model's own input: CQT frames `[..., frames, n_bins]` of 16 kHz `audio` `[..., samples]`,
        with the bins its encoder was built for (`EncoderConfig`: fmin, n_bins, bins per octave)."""
        e = self.config.encoder
        return cqt(audio, self.config.data.sample_rate, e.fmin_hz, e.n_bins, e.bins_per_octave)

    def synthesize(self, f0_hz: torch.Tensor, amplitudes: torch.Tensor, n_samples: int, hop_length: int | None = None) -> torch.Tensor:
        """Audio `[batch, n_samples]` at the configuration's sample rate (see `synth.harmonic_synth`)."""
        return harmonic_synth(f0_hz, amplitudes, n_samples, self.config.data.sample_rate, hop_length)


PACKAGED = Path(__file__).resolve().parent / "checkpoints"  # the default model inside an installed wheel (setup.py copies it)


def checkpoint_root() -> Path:
    """Where checkpoints live: $SOTDEMO_CHECKPOINTS; else checkpoints/ next to the package (a
    clone, the source of truth); else the copy of the default model an installed wheel carries."""
    if "SOTDEMO_CHECKPOINTS" in os.environ:
        return Path(os.environ["SOTDEMO_CHECKPOINTS"])
    clone = Path(__file__).resolve().parent.parent / "checkpoints"
    return clone if clone.is_dir() or not PACKAGED.is_dir() else PACKAGED


def save(model: HarmonicModel, directory: Path, extra_config: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None) -> None:
    """Write model.safetensors, config.json (+ `extra_config`, e.g. the seed) and metrics.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.encoder.state_dict().items()}
    save_file(state, directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps({**model.config.to_dict(), **(extra_config or {})}, indent=2) + "\n")
    if metrics is not None:
        (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def available() -> list[str]:
    """Every loadable name: configurations with seeds, their seeds, and stand-alone models."""
    root = checkpoint_root()
    names = []
    for weights in sorted(root.glob("**/model.safetensors")):
        relative = weights.parent.relative_to(root).as_posix()
        if "/" in relative and relative.rsplit("/", 1)[0] not in names:
            names.append(relative.rsplit("/", 1)[0])
        names.append(relative)
    return names


def _val_lsd(directory: Path) -> float:
    try:
        return float(json.loads((directory / "metrics.json").read_text())["best_val_lsd"])
    except (OSError, KeyError, ValueError, TypeError):
        return float("inf")


def resolve(name: str | None = None) -> Path:
    """The checkpoint folder behind `name` (see module docstring); ValueError if there is none."""
    name = DEFAULT_MODEL if name is None else name
    root = checkpoint_root()
    if not isinstance(name, str) or len(name) > 100 or not _NAME.match(name) or ".." in name:
        shown = repr(name)[:60] + ("…" if len(repr(name)) > 60 else "")
        raise ValueError(f"invalid model name {shown}; available: {', '.join(available()) or 'none'}")
    if name not in available():
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available()) or 'none'}")
    directory = root / name
    if not directory.resolve().is_relative_to(root.resolve()):  # a link out of the checkpoint root
        raise ValueError(f"model {name!r} lies outside {root.name}/")
    if (directory / "model.safetensors").is_file():
        return directory
    seeds = [d for d in sorted(directory.glob("seed-*")) if (d / "model.safetensors").is_file()]
    if seeds:
        return min(seeds, key=_val_lsd)
    raise ValueError(f"unknown model {name!r}; available: {', '.join(available()) or 'none'}")


def load(name: str | None = None) -> HarmonicModel:
    """A ready (eval-mode, CPU) model from checkpoints/<name>; see module docstring for names."""
    directory = resolve(name)
    raw = json.loads((directory / "config.json").read_text())
    config = RunConfig.from_dict({k: v for k, v in raw.items() if k in ("name", "description", "loss", "encoder", "data", "train")})
    model = HarmonicModel(config)
    model.encoder.load_state_dict(load_file(directory / "model.safetensors"))
    return model.eval()
