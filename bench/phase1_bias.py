"""Where does phase 1's objective put f0? The curriculum's first phase, as a function of f0.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/phase1_bias.py [--out results/phase1_bias.md]

Phase 1 of `sot-2048-curriculum` (and `-logf`) trains f0 alone with the SOT term on a tone of ONE
partial rescaled to `sot_mass` (5 %) of the target's energy: with the frequency cutoff, that
tone is transported onto the lowest 5 % of the target's spectral mass, which was meant to be
the fundamental. This script evaluates that SOT term (the phase's loss without its amplitude-only
multi-scale term) on a grid of predicted f0 from -600 to +600 cents around the true f0 (5-cent
steps) for analytic harmonic targets (the paper's clip: 4096 samples, 16 kHz, peak 0.9) and
reports where its minimum lies: 0 cents would be an unbiased objective. Variants: the SOT
term's axis (linear, log), window (flat-top, Hann), FFT size and `sot_mass`, and the fix,
`sot_mass='fundamental'` (the tone, normalised, against the target's lowest mass of the share
under the tone's main lobe; `SpectralLoss.from_parameters`). Then, on 400 validation clips of
the paper's distribution, the share of clips on which that term's f0 gradient points from a
start (an octave above or below, a few semitones off, random) toward the true f0.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sotdemo.config import load_config  # noqa: E402
from sotdemo.losses import SpectralLoss  # noqa: E402
from sotdemo.synth import harmonic_synth  # noqa: E402
from sotdemo.train import prepare  # noqa: E402

TARGETS = (  # (f0 Hz, amplitudes of the partials)
    (60.0, [1.0]), (60.0, [1.0] * 8), (100.0, [1.0] * 4), (100.0, [0.4] + [1.0] * 7),
    (300.0, [1.0]), (300.0, [1.0] * 8), (300.0, [0.4] + [1.0] * 7), (1000.0, [1.0]), (1000.0, [1.0] * 8),
)
VARIANTS = (  # (label, LossConfig overrides, sot_mass)
    ("curriculum phase 1: linear axis, flat-top 2048, mass 0.05", {"sot_logf": False}, 0.05),
    ("curriculum-logf phase 1: log axis, flat-top 2048, mass 0.05", {"sot_logf": True}, 0.05),
    ("log axis, Hann 2048, mass 0.05", {"sot_logf": True, "sot_window": "hann"}, 0.05),
    ("log axis, Hann 4096, mass 0.05", {"sot_logf": True, "sot_window": "hann", "sot_n_fft": 4096}, 0.05),
    ("log axis, flat-top 2048, mass 0.01", {"sot_logf": True}, 0.01),
    ("log axis, flat-top 2048, mass 0.2", {"sot_logf": True}, 0.2),
    ("sot_mass 'fundamental' (curriculum-fundamental phase 1): log axis, flat-top 2048", {"sot_logf": True}, "fundamental"),
    ("sot_mass 'fundamental', linear axis, flat-top 2048", {"sot_logf": False}, "fundamental"),
    ("sot_mass 'fundamental', log axis, p = 1 (curriculum-w1 phase 1)", {"sot_logf": True, "sot_p": 1}, "fundamental"),
)


def argmin_cents(loss: SpectralLoss, f0: float, amplitudes: list[float], mass: float | str, n_harmonics: int = 20) -> float:
    """Cents from `f0` at which the one-partial SOT term is lowest, on a 5-cent grid over ±600 cents."""
    a = torch.zeros(1, n_harmonics)
    a[0, : len(amplitudes)] = torch.tensor(amplitudes)
    target = harmonic_synth(torch.tensor([f0]), a, 4096, 16000)
    target = target * 0.9 / target.abs().max()
    cents = np.arange(-600, 601, 5)
    one_partial = torch.zeros(1, n_harmonics)
    one_partial[0, 0] = 1.0
    values = [loss.from_parameters(target, torch.tensor([f0 * 2 ** (c / 1200)]), one_partial, True, mass).item() for c in cents]
    return float(cents[int(np.argmin(values))])


STARTS = (("an octave above", 2.0), ("an octave below", 0.5), ("+2 semitones", 2 ** (2 / 12)), ("+475 cents", 2 ** (475 / 1200)),
          ("-3 semitones", 2 ** (-3 / 12)))


def share_toward(loss: SpectralLoss, audio: torch.Tensor, f0_true: np.ndarray, start: np.ndarray, mass: float | str) -> float:
    """% of clips on which gradient descent on the one-partial SOT term moves f0 from `start` toward `f0_true`."""
    one_partial = torch.zeros(1, 20)
    one_partial[0, 0] = 1.0
    toward = []
    for i in range(len(f0_true)):
        f0 = torch.tensor([start[i]], dtype=torch.float32, requires_grad=True)
        (grad,) = torch.autograd.grad(loss.from_parameters(audio[i : i + 1], f0, one_partial, True, mass), f0)
        toward.append(np.sign(-grad.item()) == np.sign(f0_true[i] - start[i]))
    return 100 * float(np.mean(toward))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "results" / "phase1_bias.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    base = load_config("sot-2048-curriculum").loss
    names = [f"{f0:.0f} Hz, {len(a)} partial{'s' if len(a) > 1 else ''}{', weak fundamental (0.4)' if a[0] < 1 else ''}" for f0, a in TARGETS]
    lines = [
        "# Phase 1's objective is biased: where its minimum over f0 lies",
        "",
        "`python bench/phase1_bias.py` (bench/phase1_bias.py). The SOT term of the curriculum's phase 1 (one partial, rescaled to "
        "`sot_mass` of the target's energy, frequency cutoff, power spectra, W2²) evaluated over predicted f0 from -600 to +600 "
        "cents around the true f0 in 5-cent steps, on analytic targets (4096 samples at 16 kHz, peak 0.9; partials of the given "
        "amplitudes). Cells: the cents at which it is lowest (0 = unbiased; ±600 = at or beyond the grid's edge).",
        "",
        "| variant | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for label, overrides, mass in VARIANTS:
        loss = SpectralLoss(dataclasses.replace(base, lin_weight=0.0, log_weight=0.0, **overrides))
        cells = [f"{argmin_cents(loss, f0, a, mass):+.0f}" for f0, a in TARGETS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    config = load_config("sot-2048-curriculum")
    val = prepare(config, ("val",))["val"]
    audio, f0_true = torch.from_numpy(val.data.audio[:400]), val.data.f0_hz[:400]
    rng = np.random.default_rng(0)
    starts = [(label, f0_true * ratio) for label, ratio in STARTS] + [
        ("random in 40-1950 Hz", np.exp(rng.uniform(np.log(40.0), np.log(1950.0), len(f0_true))))]
    lines += ["", "## Does the gradient point home?", "",
              f"% of the first {len(f0_true)} validation clips of `sot-2048-curriculum` (the paper's distribution) on which the "
              "f0 gradient of the one-partial SOT term (log axis, flat-top 2048) points from the start toward the true f0:", "",
              "| start | " + " | ".join(label for label, _ in starts) + " |", "|---|" + "---:|" * len(starts)]
    log_loss = SpectralLoss(dataclasses.replace(base, lin_weight=0.0, log_weight=0.0, sot_logf=True))
    for label, mass in (("mass 0.05 (curriculum-logf)", 0.05), ("sot_mass 'fundamental'", "fundamental")):
        lines.append(f"| {label} | " + " | ".join(f"{share_toward(log_loss, audio, f0_true, start, mass):.0f}" for _, start in starts) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    near = (-300, -200, -100, -50, -25, 0, 25, 50, 100, 200, 300)
    lines += ["", "## Its shape near f0", "",
              "The `sot_mass='fundamental'` term (log axis) at a few cents from the true f0, relative to its value 100 cents above "
              "(1.00), with W2² (p = 2, curriculum-fundamental) and W1 (p = 1, curriculum-w1): with p = 2 it rises more slowly "
              "below f0 than above at 500-1000 Hz, so a model whose predictions scatter around f0 lowers the average by settling "
              "flat; with p = 1 the two sides are closer.", "",
              "| target | p | " + " | ".join(f"{c:+d}" for c in near) + " |", "|---|---:|" + "---:|" * len(near)]
    for f0, partials in ((60.0, [1.0] * 8), (100.0, [0.4] + [1.0] * 7), (200.0, [1.0] * 4), (500.0, [1.0] * 8), (1000.0, [1.0] * 8)):
        a = torch.zeros(1, 20)
        a[0, : len(partials)] = torch.tensor(partials)
        target = harmonic_synth(torch.tensor([f0]), a, 4096, 16000)
        target = target * 0.9 / target.abs().max()
        one_partial = torch.zeros(1, 20)
        one_partial[0, 0] = 1.0
        for p in (2, 1):
            shape_loss = SpectralLoss(dataclasses.replace(base, lin_weight=0.0, log_weight=0.0, sot_logf=True, sot_p=p))
            values = [shape_loss.from_parameters(target, torch.tensor([f0 * 2 ** (c / 1200)]), one_partial, True, "fundamental").item() for c in near]
            reference = values[near.index(100)]
            label = f"{f0:.0f} Hz, {len(partials)} partials{' (weak fundamental)' if partials[0] < 1 else ''}"
            lines.append(f"| {label} | {p} | " + " | ".join(f"{v / reference:.2f}" for v in values) + " |")
    lines += [
        "",
        "Read: the tone of one partial carries all its mass in the window's main lobe, while the lowest 5 % of a target's mass is "
        "the lower skirt of its fundamental's lobe (and any leakage below it) when the fundamental is strong, so the minimum lies "
        "below f0, by hundreds of cents at low f0; when the fundamental holds less than 5 % of the energy (a weak fundamental "
        "under 7 strong partials: 2.2 %), the lowest 5 % reaches into the second partial and the minimum lies above f0. No "
        "window, FFT size or fixed mass removes both: the mass that would be unbiased is the fundamental's own share, which "
        "differs from clip to clip. `sot_mass='fundamental'` takes that share from the target itself, as the mass under the "
        "predicted tone's main lobe (bins within 20 dB of its peak), and compares the normalised tone with that much of the "
        "target's lowest mass: at the true f0 it is the fundamental's whole lobe, and the minimum lies on f0.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
