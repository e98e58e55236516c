"""What makes up a trained model's LSD? Oracle substitutions on the test split, and the cutoff's blind spot.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/lsd_budget.py [MODEL ...] [--extra-root DIR] [--out results/lsd_budget.md]

For each model (default: the shipped seeds of sot-2048-curriculum-w1 and sot-2048-curriculum-nocut
where present), every test clip's middle CQT frame is encoded and the clip resynthesized with
constant parameters (how training sees it), then scored with the paper's LSD (`metrics.lsd`):
as predicted; with the true f0 and the predicted amplitudes; with the predicted f0 and the true
amplitudes; and with the predicted parameters but the partials that the clip does not have
(above its number of active harmonics, 1..8, or above 8) silenced ("spurious partials"). The
LSD of each number of active harmonics shows where the error sits. Then, as `evaluate` scores the
test split, every CQT frame: the LSD of the frame-wise resynthesis, and the f0 error of the edge
frames against the middle one. `--extra-root DIR`: also score the seeds of the same configurations
found under another checkpoint root (e.g. checkpoints trained from an older configuration).

The second table evaluates the paper's SOT-2048 term (flat-top 2048, power, linear axis, p = 2)
between a target tone of k partials and the same tone with extra partials, with and without the
frequency cutoff: with the cutoff the predicted mass above the target's total is not transported,
so extra partials above the target's cost (nearly) nothing. The third shows how much LSD an f0
error of a fraction of a cent costs (true amplitudes), frame by frame.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sotdemo.config import load_config  # noqa: E402
from sotdemo.losses import LossConfig, SpectralLoss  # noqa: E402
from sotdemo.metrics import lsd, lsd_per_frame  # noqa: E402
from sotdemo.model import available, load  # noqa: E402
from sotdemo.spectral import HOP  # noqa: E402
from sotdemo.synth import harmonic_synth  # noqa: E402
from sotdemo.data import DataConfig  # noqa: E402
from sotdemo.train import EncodedSplit, evaluate_split, loss_targets, prepare  # noqa: E402

DEFAULT_CONFIGS = ("sot-2048-curriculum-w1", "sot-2048-curriculum-nocut")


@functools.lru_cache(maxsize=None)
def test_split(data: DataConfig) -> EncodedSplit:
    """The test split of a data configuration, generated once for all the models that share it."""
    return prepare(dataclasses.replace(load_config("sot-2048"), data=data), ("test",))["test"]


def budget(name: str) -> dict:
    model = load(name)
    model.eval()
    test = test_split(model.config.data)
    data = test.data
    target = torch.from_numpy(loss_targets(data, model.config.data.peak))
    n_samples = data.audio.shape[1]
    with torch.no_grad():
        out = model(test.middle[:, None])
        f0_pred, amp_pred = out.f0_hz, out.amplitudes
        n_partials = amp_pred.shape[-1]
        amp_true = torch.zeros_like(amp_pred)
        amp_true[:, 0, : data.amplitudes.shape[1]] = torch.from_numpy(data.amplitudes).float()
        f0_true = torch.from_numpy(data.f0_hz).float()[:, None]
        n_active = (data.amplitudes > 0).sum(axis=1)
        present = (torch.arange(n_partials)[None, :] < torch.from_numpy(n_active)[:, None]).float()[:, None]

        def score(f0: torch.Tensor, amplitudes: torch.Tensor) -> np.ndarray:
            return lsd(target, model.synthesize(f0, amplitudes, n_samples, hop_length=HOP), per_clip=True).numpy()

        predicted = score(f0_pred, amp_pred)
        row = {
            "predicted": predicted.mean(),
            "true f0": score(f0_true, amp_pred).mean(),
            "true amplitudes": score(f0_pred, amp_true).mean(),
            "spurious partials silenced": score(f0_pred, amp_pred * present).mean(),
            "spurious share": float((amp_pred * (1 - present)).pow(2).sum((-1, -2)).div(amp_pred.pow(2).sum((-1, -2))).median()),
            "by n_active": {k: predicted[n_active == k].mean() for k in range(1, 9)},
        }
        every = model(test.frames).f0_hz.numpy()  # [clips, 17]
    cents = np.abs(1200 * np.log2(every / data.f0_hz[:, None]))
    row["all frames"] = evaluate_split(model, test)["lsd"]
    row["edge cents"] = float(np.median(cents[:, [0, -1]]))
    row["middle cents"] = float(np.median(cents[:, cents.shape[1] // 2]))
    return row


def f0_error_table() -> list[str]:
    """The paper's LSD per STFT frame (`metrics.lsd_per_frame`) of each test clip resynthesized with
    its true amplitudes and f0 off by a few cents."""
    data = test_split(load_config("sot-2048").data).data
    target = torch.from_numpy(data.audio)
    amplitudes = torch.from_numpy(data.amplitudes).float()
    lines = [
        "| f0 error (cents) | LSD | STFT frames 0-12 | frames 13-15 (they reach past the clip's end) |",
        "|---|---|---|---|",
    ]
    for cents in (0.5, 1.0, 2.0, 5.0):
        f0 = torch.from_numpy(data.f0_hz).float() * 2 ** (cents / 1200)
        per_frame = lsd_per_frame(target, harmonic_synth(f0, amplitudes, data.audio.shape[1], 16000)).mean(dim=0)
        lines.append(f"| {cents:g} | {per_frame.mean():.2f} | {per_frame[:13].mean():.2f} | {per_frame[13:].mean():.2f} |")
    return lines


def cutoff_table() -> list[str]:
    lines = [
        "| target: f0, partials | prediction | SOT with cutoff | SOT without cutoff |",
        "|---|---|---|---|",
    ]
    for f0, k in ((220.0, 1), (220.0, 3), (700.0, 2)):
        for extra in (0, 2, 8):
            a_target = torch.zeros(1, 20)
            a_target[0, :k] = 1.0
            a_pred = a_target.clone()
            a_pred[0, k : k + extra] = 1.0
            f0_hz = torch.tensor([f0])
            target = harmonic_synth(f0_hz, a_target, 4096, 16000)
            pred = harmonic_synth(f0_hz, a_pred, 4096, 16000)
            values = []
            for cutoff in (True, False):
                loss = SpectralLoss(LossConfig(lin_weight=0.0, sot_cutoff=cutoff))
                values.append(loss(target, pred).item())
            lines.append(f"| {f0:.0f} Hz, {k} | + {extra} partials above | {values[0]:.2e} | {values[1]:.2e} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="checkpoint names (default: the seeds of " + ", ".join(DEFAULT_CONFIGS) + ")")
    parser.add_argument("--out", default=str(REPO / "results" / "lsd_budget.md"))
    parser.add_argument("--extra-root", help="a second checkpoint root whose seeds of the default configurations are scored too (marked *)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.models or [n for n in available() if n.split("/")[0] in DEFAULT_CONFIGS and "/seed-" in n]
    rows = {}
    for name in names:
        rows[name] = budget(name)
        print(name, {k: v for k, v in rows[name].items() if k != "by n_active"}, flush=True)
    if args.extra_root:
        os.environ["SOTDEMO_CHECKPOINTS"] = args.extra_root
        for name in [n for n in available() if n.split("/")[0] in DEFAULT_CONFIGS and "/seed-" in n]:
            rows[name + " *"] = budget(name)
            print(name, "*", {k: v for k, v in rows[name + " *"].items() if k != "by n_active"}, flush=True)
    lines = [
        "# LSD budget: where a trained model's log-spectral distance comes from",
        "",
        "Generated by `python bench/lsd_budget.py" + (f" --extra-root {args.extra_root}" if args.extra_root else "") + "` (see its docstring).",
        "Test split of the paper's distribution (400 clips), middle CQT frame per clip, constant-parameter",
        "resynthesis, the paper's LSD (mean squared dB difference). \"Spurious share\": median share of the",
        "predicted partials' energy in partials the clip does not have.",
        "",
        "The last three columns score every CQT frame as `evaluate` does (frame-wise resynthesis of all 17",
        "frames): its LSD, and the median f0 error in cents of the clip's first and last frames (their CQT",
        "sees part of the clip and zero padding) and of its middle frame.",
        *(["", "\\* trained from the configuration at commit 3495954 (`git show 3495954:sotdemo/configs/sot-2048-curriculum-nocut.json`):",
           "no cutoff in phases 2-3 but middle frames only; not shipped (`--extra-root`)."] if args.extra_root else []),
        "",
        "| model | LSD as predicted | with true f0 | with true amplitudes | spurious partials silenced | spurious share | LSD, all frames | f0 error at edge frames (cents) | middle frame (cents) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['predicted']:.1f} | {r['true f0']:.1f} | {r['true amplitudes']:.1f} | "
            f"{r['spurious partials silenced']:.1f} | {100 * r['spurious share']:.1f} % | {r['all frames']:.1f} | "
            f"{r['edge cents']:.2f} | {r['middle cents']:.2f} |"
        )
    lines += ["", "LSD by the clip's number of active partials (as predicted):", ""]
    lines += ["| model | " + " | ".join(str(k) for k in range(1, 9)) + " |", "|---|" + "---|" * 8]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{r['by n_active'][k]:.1f}" for k in range(1, 9)) + " |")
    lines += [
        "",
        "## The frequency cutoff does not see partials above the target's",
        "",
        "The paper's SOT-2048 term (no multi-scale term) between a target tone (unit amplitudes) and the",
        "same tone with extra partials of unit amplitude above it:",
        "",
        *cutoff_table(),
        "",
        "## LSD is sensitive to tiny f0 errors at the clip's end",
        "",
        "Each test clip resynthesized with its true amplitudes and its true f0 times 2^(c/1200): the paper's",
        "LSD pads the STFT at the end, so its last three frames see the tone cut off, and the leakage of",
        "that edge depends on each partial's phase there, which an f0 error shifts by 2π·Δf·T:",
        "",
        *f0_error_table(),
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
