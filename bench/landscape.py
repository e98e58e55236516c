"""Gradient orientation of every configured loss: how often d(loss)/d(f0) points to the target.

For target harmonic tones at 60, 150, 440, 1000 and 1800 Hz (5 harmonics, amplitudes 1, 0.8,
0.6, 0.5, 0.4) and a predicted tone with the same amplitudes at 100 log-spaced f0 in
40-1950 Hz, counts the starts (farther than half a semitone from the target) at which one
gradient-descent step on the predicted f0 moves it toward the target. Each configuration is
measured as shipped (with its multi-scale term) and for its transport term alone, under the
three STFT framings. Writes results/landscape.md. Re-run: `python bench/landscape.py`.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sotdemo.config import config_names, load_config  # noqa: E402
from sotdemo.losses import SpectralLoss, share_toward_target  # noqa: E402

TARGETS_HZ = (60.0, 150.0, 440.0, 1000.0, 1800.0)
STARTS_HZ = np.geomspace(40, 1950, 100)
AMPLITUDES = torch.tensor([1.0, 0.8, 0.6, 0.5, 0.4], dtype=torch.float64)
FRAMINGS = ("inside", "center", "pad_end")


def shares(loss_config) -> list[float]:
    loss = SpectralLoss(loss_config)
    return [share_toward_target(loss, f, STARTS_HZ, AMPLITUDES) for f in TARGETS_HZ]


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results" / "landscape.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    started = time.time()
    rows = []
    for name in config_names():
        base = load_config(name).loss
        variants = [("as configured", base)]
        if base.sot_weight and (base.lin_weight or base.log_weight):
            variants.append(("transport term only", dataclasses.replace(base, lin_weight=0.0, log_weight=0.0)))
        for label, cfg in variants:
            per_framing = {f: shares(dataclasses.replace(cfg, framing=f)) for f in FRAMINGS}
            rows.append((name, label, per_framing))
            print(name, label, {f: round(float(np.mean(v)), 3) for f, v in per_framing.items()}, flush=True)
    lines = [
        "# Gradient orientation of the losses",
        "",
        "Share (%) of predicted f0 in 40-1950 Hz (100 log-spaced, those within half a semitone of the target",
        "excluded) at which the exact derivative of the loss w.r.t. the predicted f0 points toward the target",
        "f0; mean over targets at 60, 150, 440, 1000 and 1800 Hz (5 harmonics, same amplitudes for the",
        "prediction). Frames: `inside` = every STFT frame inside the 4096-sample clip (our default);",
        "`center` = torch/librosa centred frames with zero padding; `pad_end` = zero padding at the end",
        "(the paper's code). Per-target shares for the inside framing in brackets.",
        "",
        "| config | loss | inside | center | pad_end | inside, per target (60/150/440/1000/1800 Hz) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, label, per in rows:
        cells = [f"{100 * np.mean(per[f]):.1f}" for f in FRAMINGS]
        detail = " / ".join(f"{100 * v:.0f}" for v in per["inside"])
        lines.append(f"| {name} | {label} | {' | '.join(cells)} | {detail} |")
    lines += ["", f"Measured by `python bench/landscape.py` in {time.time() - started:.0f} s (float64, torch {torch.__version__})."]
    out = Path(args.out)
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
