"""Free-parameter probe: optimise f0 and K amplitudes per clip directly (no encoder) under a loss.

Diagnostic for the training issue. 64 clips of the paper's distribution (seed 3); every clip
starts at the same f0 (`init`, Hz) with amplitudes sigmoid(`a0`); Adam at `lr` on log f0 and
the raw amplitudes for `steps`. Prints RPA, octave-down share, predicted/true f0 percentiles
and the mean fundamental amplitude every 100 steps.

    python research/free_probe.py '{"loss": {"lin_weight": 0.0}, "K": 8, "a0": -3.0, "init": 400.0}'
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import torch, numpy as np, dataclasses, sys, json
torch.set_num_threads(1)
from sotdemo.config import load_config
from sotdemo.data import generate, DataConfig
from sotdemo.losses import SpectralLoss
from sotdemo.synth import harmonic_synth
args = json.loads(sys.argv[1])
d = generate(DataConfig(n_clips=64, seed=3)); A = torch.from_numpy(d.audio); F = d.f0_hz
cfg = dataclasses.replace(load_config("sot-2048").loss, **args.get("loss", {}))
L = SpectralLoss(cfg)
K = args.get("K", 20)
logf = torch.full((64,), np.log(args.get("init", 400.0)), requires_grad=True)
araw = torch.full((64, K), args.get("a0", 0.0), requires_grad=True)
opt = torch.optim.Adam([logf, araw], args.get("lr", 0.02))
for step in range(1, args.get("steps", 300) + 1):
    amps = torch.sigmoid(araw)
    pred = harmonic_synth(logf.exp(), amps, 4096)
    loss = L.per_clip(A, pred).sum(); opt.zero_grad(); loss.backward(); opt.step()
    if step % 100 == 0:
        r = logf.exp().detach().numpy() / F; c = 1200 * np.log2(r)
        print(step, "RPA", np.mean(np.abs(c) < 50).round(3), "oct-", np.mean(np.abs(c + 1200) < 50).round(3), "ratio pct", np.percentile(r, [10, 50, 90]).round(2), "a1", amps[:, 0].mean().item(), flush=True)
