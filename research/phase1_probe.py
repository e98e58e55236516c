"""Phase-1 probe: the first phase of the sot-2048-curriculum recipe alone, with variants.

Diagnostic for the training issue (prints, writes no results). Runs phase 1 (one partial,
split gradients, SOT tone rescaled to `sot_mass` of the target's energy) on the recipe's
train split and, every `every` steps, scores the val split's middle frames: RPA, the shares
of octave-up / octave-down errors, and the phase's own (label-free) validation loss, so one
can see whether that loss could pick a good phase-1 state without labels.

    python research/phase1_probe.py '{"seed": 42, "lr": 5e-4, "steps": 500, "cosine": false,
                                   "sot_mass": 0.05, "loss": {"sot_logf": true},
                                   "encoder": {"temperature": 0.1},
                                   "amplitudes_train_trunk": false}'
"""
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sotdemo.config import load_config  # noqa: E402
from sotdemo.losses import SpectralLoss  # noqa: E402
from sotdemo.model import HarmonicModel  # noqa: E402
from sotdemo.train import prepare  # noqa: E402

torch.set_num_threads(1)
args = json.loads(sys.argv[1])
cfg = load_config("sot-2048-curriculum")
cfg = dataclasses.replace(cfg, encoder=dataclasses.replace(cfg.encoder, **args.get("encoder", {})))
seed, steps, lr = args.get("seed", 42), args.get("steps", 500), args.get("lr", 5e-4)
mass, every = args.get("sot_mass", 0.05), args.get("every", 25)
prepared = prepare(cfg)
train, val = prepared["train"], prepared["val"]
X, A = train.middle, torch.from_numpy(train.data.audio)
VX, VA, VF = val.middle, torch.from_numpy(val.data.audio), val.data.f0_hz
torch.manual_seed(seed)
rng = np.random.default_rng(seed)
model = HarmonicModel(cfg)
loss_fn = SpectralLoss(dataclasses.replace(cfg.loss, **args.get("loss", {})))
opt = torch.optim.Adam(model.parameters(), lr, weight_decay=cfg.train.weight_decay)
gain = torch.zeros(cfg.encoder.n_harmonics)
gain[0] = 1.0


def phase_loss(target, out):
    return loss_fn.from_parameters(target, out.f0_hz, out.amplitudes * gain, True, mass)


started = time.time()
for step in range(1, steps + 1):
    if args.get("cosine"):
        for group in opt.param_groups:
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 1) / steps)))
    model.train()
    index = torch.from_numpy(rng.choice(len(X), 64, replace=False))
    out = model(X[index], args.get("amplitudes_train_trunk", True))
    loss = phase_loss(A[index], out)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if step % every == 0:
        model.eval()
        with torch.no_grad():
            vout = model(VX)
            ratio = vout.f0_hz.numpy() / VF
            cents = 1200 * np.abs(np.log2(ratio))
            vloss = float(np.mean([phase_loss(VA[i : i + 200], model(VX[i : i + 200])).item() for i in range(0, len(VX), 200)]))
        print(json.dumps({"step": step, "rpa": round(100 * float(np.mean(cents < 50)), 1),
                          "within_3st": round(100 * float(np.mean(cents < 300)), 1),
                          "median_cents": round(float(np.median(cents))),
                          "median_signed_cents": round(float(np.median(1200 * np.log2(ratio)))),
                          "iqr_signed_cents": [round(float(q)) for q in np.percentile(1200 * np.log2(ratio), [25, 75])],
                          "up": round(100 * float(np.mean(np.abs(1200 * np.log2(ratio / 2)) < 50)), 1),
                          "down": round(100 * float(np.mean(np.abs(1200 * np.log2(ratio * 2)) < 50)), 1),
                          "val_loss": round(vloss, 6), "t": round(time.time() - started)}), flush=True)
