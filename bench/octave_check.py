"""Choose `estimate.SUBOCTAVE_THRESHOLD` on synthetic data: the octave check's threshold sweep.

    OMP_NUM_THREADS=1 python bench/octave_check.py [--model NAME] [--out results/octave_check.md]

Draws 3000 clips of the `realistic` distribution (seed 21; training uses seed 1), decodes the
default model's middle-frame f0 as `estimate` does, computes `estimate.suboctave_evidence`, and
for each threshold reports the share of correct frames that the check would halve (new
errors), the share of octave-up errors it would fix, and the resulting RPA. The threshold
with the best RPA here is the one `estimate` uses; the real-instrument benchmark
(bench/bench_real.py) never enters the choice.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sotdemo.data import DataConfig, generate  # noqa: E402
from sotdemo.decode import peak_path, read_around  # noqa: E402
from sotdemo.estimate import SUBOCTAVE_THRESHOLD, get_model, suboctave_evidence  # noqa: E402
from sotdemo.spectral import cqt  # noqa: E402

THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2, 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results" / "octave_check.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = get_model(args.model)
    data = generate(DataConfig(distribution="realistic", n_clips=3000, max_harmonics=40, f0_max_hz=2000.0, seed=21))
    pitched = data.f0_hz > 0
    spectrum = cqt(data.audio[pitched])[:, 8]  # the middle frame of each clip
    with torch.no_grad():
        out = model(torch.from_numpy(spectrum))
    posterior = torch.softmax(out.logits / model.config.encoder.temperature, -1).numpy()
    f0, _ = read_around(posterior, peak_path(posterior), model.encoder.log2_bins.numpy())  # independent clips: each its own peak
    evidence = suboctave_evidence(spectrum, f0)
    cents = 1200 * np.log2(f0 / data.f0_hz[pitched])
    right, up = np.abs(cents) < 50, np.abs(cents - 1200) < 50
    lines = [
        "# Octave check: threshold sweep on synthetic data",
        "",
        f"`python bench/octave_check.py` with model `{args.model or 'default'}`: {pitched.sum()} pitched clips of the `realistic` "
        "distribution (seed 21), middle frame, f0 decoded as `estimate` does. Without the check: "
        f"RPA {100 * right.mean():.2f} %, octave-up errors {100 * up.mean():.2f} %.",
        "",
        "| threshold | correct frames halved % | octave-up errors fixed % | RPA with the check % |",
        "|---:|---:|---:|---:|",
    ]
    for threshold in THRESHOLDS:
        flagged = evidence > threshold
        rpa = (np.sum(right & ~flagged) + np.sum(up & flagged)) / len(cents)
        mark = " (used)" if threshold == SUBOCTAVE_THRESHOLD else ""
        lines.append(f"| {threshold}{mark} | {100 * np.mean(flagged[right]):.2f} | {100 * np.mean(flagged[up]):.1f} | {100 * rpa:.2f} |")
    lines += ["", "Evidence quantiles (50/90/99 %) on correct frames: " + ", ".join(f"{q:.2g}" for q in np.percentile(evidence[right], [50, 90, 99]))
              + "; (10/50/90 %) on octave-up errors: " + ", ".join(f"{q:.2g}" for q in np.percentile(evidence[up], [10, 50, 90])) + "."]
    # f0/3 (`estimate` tries it after f0/2, at the same threshold): what it would move on the same frames
    halved = np.where(evidence > SUBOCTAVE_THRESHOLD, f0 / 2, f0)
    third = suboctave_evidence(spectrum, halved, 3)
    cents = 1200 * np.log2(halved / data.f0_hz[pitched])
    right, twelfth = np.abs(cents) < 50, np.abs(cents - 1902) < 50
    moved = third > SUBOCTAVE_THRESHOLD
    lines += ["", f"Then f0/3 at the same threshold ({SUBOCTAVE_THRESHOLD}): it moves {100 * np.mean(moved[right]):.2f} % of the correct frames "
              f"and {100 * np.mean(moved[twelfth]) if twelfth.any() else 0:.1f} % of the {int(twelfth.sum())} frames read a twelfth up (3 f0); "
              f"RPA {100 * right.mean():.2f} % -> {100 * (np.sum(right & ~moved) + np.sum(twelfth & moved)) / len(cents):.2f} %. "
              "(This distribution has no telephone voices; tests/test_real_uploads.py and results/bench_uploads.md have them.)"]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
