"""Named run configurations: one JSON file per configuration in sotdemo/configs/.

A configuration bundles the loss, encoder, dataset and training settings of one row of the
paper's table (`lin`, `mss`, `sot-2048`, `sot-512`, `sot-512-logf`, `sot-2048-nocut`,
`sot-2048-ms512`) or of a model of our own. Every field of every section is spelled out in
the file; `load_config(name)` turns it into typed dataclasses, and `RunConfig.to_dict()`
writes the same form into each checkpoint's config.json.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .data import DataConfig
from .encoder import EncoderConfig
from .losses import LossConfig

__all__ = ["RunConfig", "TrainConfig", "config_names", "load_config"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: the paper's Sec. 3)."""

    steps: int = 25000
    batch_size: int = 64
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    eval_every: int = 500
    seeds: tuple[int, ...] = (42, 123, 456, 789, 101112)


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
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def config_names() -> list[str]:
    """Names of the shipped configurations."""
    return sorted(p.name[: -len(".json")] for p in (resources.files("sotdemo") / "configs").iterdir() if p.name.endswith(".json"))


def load_config(name: str) -> RunConfig:
    """The shipped configuration `name` (see `config_names()`)."""
    names = config_names()
    if name not in names:
        raise ValueError(f"unknown configuration {name!r}; available: {', '.join(names)}")
    raw = json.loads((resources.files("sotdemo") / "configs" / f"{name}.json").read_text())
    return RunConfig.from_dict(raw)
