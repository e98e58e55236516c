"""Variants of the `sot-harmonic` amplitude phase (and one pitch fine-tune), scored against the oracle.

    OMP_NUM_THREADS=1 python research/amplitude_probe.py TAG STEPS LR EVAL_EVERY ['{"stage": {...}, "data": {...}}'] [--pitch]

Trains `sot-harmonic` (seed 123) with the phase's steps, learning rate, validation interval and the
JSON overrides of its `Stage` and `DataConfig`, then prints the validation curve and
`bench/lsd_oracle.py`'s report on its instrument notes and 10 clips per synthetic family.
`--pitch`: instead, a pitch fine-tune from sot-harmonic/seed-456 (f0 trained by the SOT term with
split gradients on the target's own partials, sot_mass 1, lr as given).

Runs quoted in docs/training.md and the issue notes (2026-11-30): `A 300 3e-3 30`; `B 300 1e-3 30` (the
shipped recipe); `C 300 3e-3 30 '{"stage": {"loss": {"sot_weight": 0, "lin_weight": 1, "log_weight": 0.3}}}'`;
`E 300 1e-3 30 '{"stage": {"loss": {"sot_weight": 0, "lin_weight": 1, "log_weight": 1, "ms_scales": [2048, 1024]}}}'`;
`G 300 1e-3 30 '{"data": {"noise_share": 0}}'`; `P1 100 1e-4 10 --pitch`. The loss-window (D, H) and
calibrated-input (F) variants needed code that was not kept.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.lsd_oracle import instrument_items, report, score, synthetic_items  # noqa: E402
from sotdemo.config import Stage, load_config  # noqa: E402
from sotdemo.train import prepare, train  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    args = [a for a in sys.argv[1:] if a != "--pitch"]
    tag, steps, lr, eval_every = args[0], int(args[1]), float(args[2]), int(args[3])
    over = json.loads(args[4]) if len(args) > 4 else {}
    cfg = load_config("sot-harmonic")
    if "--pitch" in sys.argv:
        stage = Stage(steps=steps, train_f0=True, split_gradients=True, sot_mass=1.0, sot_tone="target", cosine_to=0.1,
                      amplitudes_train_trunk=False, match_level=True, **over.get("stage", {}))
        init = "sot-harmonic/seed-456"
    else:
        stage = dataclasses.replace(cfg.train.curriculum[0], steps=steps, **over.get("stage", {}))
        init = cfg.train.init_from
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **over.get("data", {})),
                              train=dataclasses.replace(cfg.train, steps=steps, learning_rate=lr, eval_every=eval_every,
                                                        curriculum=(stage,), init_from=init))
    model, metrics = train(cfg, 123, prepared=prepare(cfg), progress=False)
    print(json.dumps({k: metrics[k] for k in ("wall_time_s", "best_step", "best_val_lsd", "best_val_rpa")}))
    for point in metrics["curve"]:
        print(point)
    items = instrument_items(Path(__file__).resolve().parent.parent / ".cache" / "bench_real") + synthetic_items(10)
    print(report(score(items, {tag: model}), [tag], 0, 10))


if __name__ == "__main__":
    main()
