"""Named run configurations: one JSON file per configuration in sotdemo/configs/.

A configuration bundles the loss, encoder, dataset and training settings of one row of the
paper's table (`lin`, `mss`, `sot-2048`, `sot-512`, `sot-512-logf`, `sot-2048-nocut`,
`sot-2048-ms512`) or of a model of our own. A file names a `base` configuration and states only
what differs from it (`sot-2048` is the root and spells everything out); `load_config(name)`
resolves the chain into typed dataclasses, and `RunConfig.to_dict()` writes the full form into
each checkpoint's config.json.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from .data import DataConfig
from .encoder import EncoderConfig
from .losses import LossConfig

__all__ = ["RunConfig", "Stage", "TrainConfig", "config_names", "load_config"]


@dataclass(frozen=True)
class Stage:
    """One phase of a training curriculum (ours; the paper trains in a single phase).

    `steps`: length of the phase; `n_harmonics`: how many partials the synthesizer may use
    (the others are silenced; None = all K); `train_f0`: False freezes f0: only the
    amplitude head learns during the phase (the shared trunk feeds the pitch head too); `split_gradients`: the SOT term trains f0 only and
    the multi-scale terms the amplitudes only (`SpectralLoss.from_parameters`);
    `fade_in_steps`: partials that the previous phase silenced enter with a gain rising
    linearly from 0 to 1 over this many steps (0 = at once); `sot_mass`: with split
    gradients, the share of the target's energy the SOT term's tone is scaled to (None: as
    predicted), or 'fundamental': the tone is compared with as much of the target's lowest
    mass as lies under the tone's main lobe (see `SpectralLoss.from_parameters`); `loss`: fields of the run's `LossConfig`
    replaced during the phase (e.g. `{"sot_logf": true}`); `cosine_to`: the learning rate
    decays along a half cosine from the run's rate to this fraction of it by the end of the
    phase (None: constant); `keep_best`: at the end of the phase, go back to the weights with
    the lowest validation value of the SOT term of the phase's loss (label-free; checked every
    `eval_every` steps; with split gradients, the term that trains f0) and restart Adam's moments; `amplitudes_train_trunk`: False keeps
    the amplitude loss out of the shared trunk (only the amplitude head learns from it);
    `sot_tone`: with split gradients and `sot_mass`, 'target' gives the SOT term's tone the
    amplitudes of the target's own partials at the predicted f0 (`SpectralLoss.from_parameters`);
    `input_frame`: which CQT frame of each training clip the encoder sees, 'middle' (fully inside
    the clip) or 'any' (one drawn at random per clip and step, the clip's edge frames included,
    which evaluation also scores: their CQT sees part of the clip and zero padding);
    `match_level`: the predicted tone is scaled to the clip's RMS before the loss
    (`synth.level_matched`), so the amplitude head learns only the partials' relative levels,
    as `estimate` uses them (for the harmonic head, whose amplitudes are relative to the frame);
    `sharpen_weight`: adds this times the pitch posterior's mass farther than a semitone from its
    own peak (`losses.posterior_spread`; label-free: the peak is the model's own answer), so that
    the soft-argmax f0 (the paper's reading, which averages every bin) is not pulled by far modes.
    """

    steps: int
    n_harmonics: int | None = None
    train_f0: bool = True
    split_gradients: bool = False
    fade_in_steps: int = 0
    sot_mass: float | str | None = None
    loss: dict[str, Any] = field(default_factory=dict)
    cosine_to: float | None = None
    keep_best: bool = False
    amplitudes_train_trunk: bool = True
    sot_tone: str = "predicted"
    input_frame: str = "middle"
    match_level: bool = False
    sharpen_weight: float = 0.0

    def __post_init__(self):
        if self.input_frame not in ("middle", "any"):
            raise ValueError(f"input_frame must be 'middle' or 'any', got {self.input_frame!r}")
        if self.sot_tone not in ("predicted", "target"):
            raise ValueError(f"sot_tone must be 'predicted' or 'target', got {self.sot_tone!r}")
        if isinstance(self.sot_mass, str) and self.sot_mass != "fundamental":
            raise ValueError(f"sot_mass must be a number, 'fundamental' or None, got {self.sot_mass!r}")

    def learning_rate(self, base: float, t: int) -> float:
        """The learning rate at step `t` (0-based) of the phase, for the run's rate `base`."""
        if self.cosine_to is None or self.steps <= 1:
            return base
        return base * (self.cosine_to + (1 - self.cosine_to) * 0.5 * (1 + np.cos(np.pi * t / (self.steps - 1))))


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: the paper's Sec. 3).

    `curriculum`: phases run in order; empty = one phase of `steps` with every partial (the
    paper). When given, `steps` must equal the sum of the phases' steps. `init_from`: a
    checkpoint name (`CONFIG/seed-N`) whose encoder weights start the run instead of a random
    initialisation (a warm start; its encoder sizes must match); None: random (the paper).
    `readout_temperatures`: after training, the soft-argmax temperature the model reads f0 at in
    eval mode (`EncoderConfig.readout_temperature`) is chosen among these by the validation
    split's LSD over every frame (`train.choose_readout`; label-free); empty: the training temperature.
    """

    steps: int = 25000
    batch_size: int = 64
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    eval_every: int = 500
    seeds: tuple[int, ...] = (42, 123, 456, 789, 101112)
    curriculum: tuple[Stage, ...] = ()
    init_from: str | None = None
    readout_temperatures: tuple[float, ...] = ()

    def __post_init__(self):
        if any(not t > 0 for t in self.readout_temperatures):
            raise ValueError(f"readout_temperatures must be positive, got {self.readout_temperatures}")
        if self.curriculum and sum(s.steps for s in self.curriculum) != self.steps:
            raise ValueError(f"curriculum phases sum to {sum(s.steps for s in self.curriculum)} steps, not {self.steps}")

    def stages(self) -> tuple[Stage, ...]:
        """The phases to run (a single all-partials phase when there is no curriculum)."""
        return self.curriculum or (Stage(self.steps),)

    def with_steps(self, steps: int) -> "TrainConfig":
        """The same schedule stretched or shrunk to `steps` in total (phases keep their shares)."""
        if not self.curriculum:
            return dataclasses.replace(self, steps=steps)
        bounds = np.round(np.cumsum([0] + [s.steps for s in self.curriculum]) * steps / self.steps).astype(int)
        phases = tuple(dataclasses.replace(s, steps=int(b - a)) for s, a, b in zip(self.curriculum, bounds[:-1], bounds[1:]))
        return dataclasses.replace(self, steps=steps, curriculum=phases)


@dataclass(frozen=True)
class RunConfig:
    name: str
    description: str
    loss: LossConfig = field(default_factory=LossConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RunConfig":
        sections = {"loss": LossConfig, "encoder": EncoderConfig, "data": DataConfig, "train": TrainConfig}
        unknown = set(raw) - set(sections) - {"name", "description"}
        if unknown:
            raise ValueError(f"unknown configuration section(s): {sorted(unknown)}")
        return cls(
            name=raw["name"],
            description=raw.get("description", ""),
            **{key: _build(kind, raw.get(key, {})) for key, kind in sections.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(kind: type, values: dict[str, Any]):
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown {kind.__name__} field(s): {sorted(unknown)}")
    # JSON has lists where the dataclasses hold tuples
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    if kind is TrainConfig and "curriculum" in values:
        values["curriculum"] = tuple(_build(Stage, stage) for stage in values["curriculum"])
    return kind(**values)


def config_names() -> list[str]:
    """Names of the shipped configurations."""
    return sorted(p.name[: -len(".json")] for p in (resources.files("sotdemo") / "configs").iterdir() if p.name.endswith(".json"))


def _raw(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Configuration `name` as a plain dict with its `base` chain resolved: each section of the
    file overrides the base's field by field (lists, and a curriculum, replace the base's whole)."""
    if name in seen:
        raise ValueError(f"configuration {name!r} inherits from itself: {' -> '.join((*seen, name))}")
    names = config_names()
    if name not in names:
        raise ValueError(f"unknown configuration {name!r}; available: {', '.join(names)}")
    raw = json.loads((resources.files("sotdemo") / "configs" / f"{name}.json").read_text())
    base = raw.pop("base", None)
    if base is None:
        return raw
    merged = _raw(base, (*seen, name))
    for key, value in raw.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


def load_config(name: str) -> RunConfig:
    """The shipped configuration `name` (see `config_names()`). A file may name a `base`
    configuration and state only what differs from it (its name, description and changed fields).

    Raises ValueError for an unknown name, an unknown field or section, or a base cycle."""
    return RunConfig.from_dict(_raw(name))
