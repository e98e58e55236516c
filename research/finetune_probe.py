"""Fine-tuning probe for the realistic default model: a short warm-started run with variants.

Diagnostic (prints, writes no results). Trains `sot-realistic` for `steps` with the given
learning rate and overrides of its data / loss / train sections, keeps the weights in
/tmp/finetune-probe/<tag>, then prints `research/realistic_probe.py`'s table for the starting
model and the fine-tuned one (RPA per isolated effect, both decodings).

    python research/finetune_probe.py '{"tag": "a", "steps": 400, "lr": 1e-4,
                                     "data": {"snr_db": [15, 50]}, "loss": {}, "train": {},
                                     "stage": {"split_gradients": true}}'

`"seed"` (default 42) picks the training seed; `"stages"` (a list of `Stage` fields) replaces the
single phase with a curriculum, its steps summed."""
import dataclasses
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from realistic_probe import main as probe  # noqa: E402
from sotdemo.config import Stage, load_config  # noqa: E402
from sotdemo.train import train  # noqa: E402

torch.set_num_threads(1)
args = json.loads(sys.argv[1])
cfg = load_config(args.get("config", "sot-realistic"))
fix = lambda d: {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}  # noqa: E731
steps = sum(stage["steps"] for stage in args["stages"]) if "stages" in args else args.get("steps", 400)
cfg = dataclasses.replace(
    cfg,
    data=dataclasses.replace(cfg.data, **fix(args.get("data", {}))),
    loss=dataclasses.replace(cfg.loss, **fix(args.get("loss", {}))),
    train=dataclasses.replace(
        cfg.train, steps=steps, learning_rate=args.get("lr", cfg.train.learning_rate),
        curriculum=tuple(Stage(**stage) for stage in args["stages"]) if "stages" in args else (Stage(steps, cosine_to=args.get("cosine_to", 0.1), **args.get("stage", {})),), **fix(args.get("train", {})),
    ),
)
root = Path("/tmp/finetune-probe")
seed = args.get("seed", 42)
out = root / args["tag"] / f"seed-{seed}"
_, metrics = train(cfg, seed, out_dir=out, progress=False)
print(json.dumps({k: metrics[k] for k in ("best_step", "best_val_lsd", "best_val_rpa", "wall_time_s")}))
print("curve", [(p["step"], round(p["val_rpa"], 1)) for p in metrics["curve"]])
import os  # noqa: E402

os.environ["SOTDEMO_CHECKPOINTS"] = str(root)
(root / "start").mkdir(parents=True, exist_ok=True)
start = Path(__file__).resolve().parent.parent / "checkpoints" / cfg.train.init_from
for name in ("model.safetensors", "config.json"):
    target = root / "start" / "seed-0" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes((start / name).read_bytes())
probe(["start/seed-0", f"{args['tag']}/seed-{seed}"])
