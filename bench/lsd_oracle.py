"""How close is the resynthesis to the best a 20-harmonic synthesizer can do? (issue 15)

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/lsd_oracle.py [MODEL ...] [--out results/lsd_oracle.md]

For every scored note, the paper's LSD (`metrics.lsd`: STFT 1024 Hann, hop 256, mean squared dB
difference) between the input and

- (a) the resynthesis `estimate` returns (default decoding, voicing and amplitude scaling: what a
  user downloads), for each model given (default: the default model);
- (b) the **oracle**: the same synthesizer (`synth.harmonic_synth`, frame-rate controls at hop 256)
  driven by the true f0 and, frame by frame, the least-squares amplitudes of its 20 partials
  (`sotdemo.oracle.harmonic_fit`: sines and cosines at k·f0 fitted to the Hann-windowed 1024-sample frame; the
  amplitude of partial k is the modulus of its complex coefficient). The true f0 is refined per
  frame within ±40 cents to the value whose partials explain most of the frame's energy, since a
  sampled instrument is rarely tuned exactly to its nominal pitch. This is what the harmonic model
  itself can reach: whatever it misses (noise, attack transients, partials above the 20th,
  inharmonicity) no encoder can fix.

and the ratio (a)/(b) per note, summarised per family and register (median and mean). Last, each
model on the test split of the paper's distribution as `sotdemo evaluate` scores it.

Notes: the steady parts (onset + 100 ms to note-off − 50 ms) of the instrument notes of the real
corpus (bench/real_corpus.py: sampled GM instruments rendered by fluidsynth), and seeded synthetic
families with known f0 (`sotdemo.signals`): sung/spoken vowels, the same through a phone band,
and sparse tones of 1-3 partials. For the sparse tones the table also gives the level of the
loudest partial the input lacks, relative to the loudest partial of the estimate (dB, median over
voiced frames), and the share of tones where it is above -40 dB.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.real_corpus import SAMPLE_RATE, build_corpus  # noqa: E402
from sotdemo import signals  # noqa: E402
from sotdemo.estimate import estimate  # noqa: E402
from sotdemo.metrics import lsd  # noqa: E402
from sotdemo.model import DEFAULT_MODEL, load  # noqa: E402
from sotdemo.oracle import harmonic_fit  # noqa: E402
from sotdemo.synth import harmonic_synth  # noqa: E402

HOP, N_FFT, K = 256, 1024, 20
INSTRUMENT_FAMILIES = ("piano", "guitar", "strings", "woodwinds", "brass", "organ", "choir")
REGISTERS = ((0.0, 130.0, "low (< 130 Hz)"), (130.0, 520.0, "mid (130-520 Hz)"), (520.0, 1e9, "high (≥ 520 Hz)"))
SPURIOUS_LIMIT_DB = -40.0


@dataclass
class Item:
    """One scored note: its audio (the whole clip it sits in), the scored span, its true f0 per frame."""

    name: str
    family: str
    audio: np.ndarray  # [samples] at 16 kHz
    span: tuple[int, int]  # frames [first, last) scored
    f0_hz: np.ndarray  # [frames of the clip] true f0 (0 outside notes)
    n_partials: int = 0  # sparse tones: how many partials the input has (0: not a sparse tone)
    oracle: dict | None = None  # filled by `oracle_row`


def _synth(f0_hz: np.ndarray, amplitudes: np.ndarray, n_samples: int) -> np.ndarray:
    return harmonic_synth(torch.from_numpy(f0_hz)[None], torch.from_numpy(amplitudes)[None], n_samples, SAMPLE_RATE, HOP)[0].numpy()


def _segment_lsd(reference: np.ndarray, other: np.ndarray, span: tuple[int, int]) -> float:
    a, b = span[0] * HOP, span[1] * HOP
    return float(lsd(torch.from_numpy(reference[a:b].astype(np.float32)), torch.from_numpy(other[a:b].astype(np.float32))))


def instrument_items(cache: Path | None) -> list[Item]:
    corpus = build_corpus(cache, progress=False)
    items = []
    for track in corpus.tracks:
        if track.family not in INSTRUMENT_FAMILIES:
            continue
        n_frames = len(track.audio) // HOP + 1
        times = np.arange(n_frames) * HOP / SAMPLE_RATE
        for note in track.notes:
            start, end = note.steady()
            first, last = int(np.ceil(start * SAMPLE_RATE / HOP)), int(np.floor(end * SAMPLE_RATE / HOP))
            if last - first < 4:
                continue
            f0 = np.zeros(n_frames)
            f0[first:last] = note.f0_at(times[first:last])
            lo, hi = max(0, (first - 40) * HOP), min(len(track.audio), (last + 40) * HOP)  # the note with context
            shift = lo // HOP
            items.append(Item(f"{note.instrument} {note.hz:.0f} Hz", track.family, track.audio[lo:hi].astype(np.float64),
                              (first - shift, last - shift), f0[shift : shift + (hi - lo) // HOP + 1]))
    return items


def synthetic_items(n: int, seed: int = 20261130) -> list[Item]:
    rng = np.random.default_rng(seed)
    items = []
    seconds = 1.2
    n_frames = int(seconds * SAMPLE_RATE) // HOP + 1
    span = (8, n_frames - 8)
    for i in range(n):
        hz = float(np.exp(rng.uniform(np.log(90), np.log(450))))
        audio, f0 = signals.voice(hz, seconds, rng, vibrato_cents=float(rng.uniform(0, 60)), breath_db=float(rng.uniform(-40, -25)))
        items.append(Item(f"voice {hz:.0f} Hz", "voices", audio, span, f0[np.minimum(np.arange(n_frames) * HOP, len(f0) - 1)]))
        narrow = signals.phone_band(audio, SAMPLE_RATE)
        wide = librosa.resample(narrow, orig_sr=8000, target_sr=SAMPLE_RATE, res_type="soxr_hq")[: len(audio)]
        items.append(Item(f"phone voice {hz:.0f} Hz", "phone voices", wide, span, f0[np.minimum(np.arange(n_frames) * HOP, len(f0) - 1)]))
        hz = float(np.exp(rng.uniform(np.log(100), np.log(1500))))
        count = int(rng.integers(1, 4))
        amplitudes = rng.uniform(0.3, 1.0, count)
        tone = signals.harmonic_tone(hz, amplitudes, seconds, SAMPLE_RATE, rng)
        tone = 0.5 * tone / np.abs(tone).max()
        items.append(Item(f"{count} partial(s) {hz:.0f} Hz", "sparse tones", tone, span, np.full(n_frames, hz), count))
    return items


def oracle_row(item: Item) -> dict:
    """The oracle's median f0 and LSD on one item (computed once per item: `Item.oracle`)."""
    if item.oracle is None:
        frames = np.arange(*item.span)
        f0, amplitudes = harmonic_fit(item.audio, item.f0_hz, frames, SAMPLE_RATE, HOP, N_FFT, K, search_cents=40.0)
        n_frames = len(item.audio) // HOP + 1
        full_f0, full_amp = np.zeros(n_frames), np.zeros((n_frames, K))
        full_f0[frames], full_amp[frames] = f0, amplitudes
        full_f0[: frames[0]], full_f0[frames[-1] + 1 :] = f0[0], f0[-1]
        oracle = _synth(full_f0, full_amp, len(item.audio))
        item.oracle = {"f0": float(np.median(f0)), "oracle": _segment_lsd(item.audio, oracle, item.span)}
    return item.oracle


def score(items: list[Item], models: dict) -> list[dict]:
    """One row per item: its family, median true f0, the oracle's LSD and each model's (`{name: HarmonicModel}`)."""
    rows = []
    for item in items:
        frames = np.arange(*item.span)
        row = {"name": item.name, "family": item.family, **oracle_row(item)}
        for name, model in models.items():
            result = estimate(item.audio, SAMPLE_RATE, model=model)
            row[name] = _segment_lsd(item.audio, result.resynthesis.astype(np.float64), item.span)
            if item.n_partials:
                voiced = frames[result.voiced[frames]]
                amps = result.amplitudes[voiced]
                lacks = (np.arange(1, K + 1) > item.n_partials) & (np.arange(1, K + 1) * row["f0"] < SAMPLE_RATE / 2)
                if len(voiced):
                    level = 20 * np.log10(np.maximum(amps[:, lacks].max(axis=1), 1e-12) / np.maximum(amps.max(axis=1), 1e-12))
                    row[f"{name} spurious"] = float(np.median(level))
                else:
                    row[f"{name} spurious"] = float("nan")
        rows.append(row)
    return rows


def _cpu() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def paper_split(models: dict) -> dict[str, dict[str, float]]:
    """Each model on the test split of the paper's distribution, scored as `sotdemo evaluate` scores
    it (every CQT frame, soft-argmax f0, frame-wise resynthesis): RPA, RCA (%) and LSD."""
    from sotdemo.config import load_config
    from sotdemo.train import evaluate_split, prepare

    test = prepare(load_config("sot-2048"), ("test",))["test"]
    return {name: evaluate_split(model, test) for name, model in models.items()}


def report(rows: list[dict], model_names: list[str], seconds: float, n_synthetic: int, paper: dict | None = None) -> str:
    def fmt(values: list[float]) -> str:
        return f"{np.median(values):.1f} / {np.mean(values):.1f}" if values else "–"

    def ratio(values_a, values_b) -> str:
        r = np.asarray(values_a) / np.asarray(values_b)
        return f"{np.median(r):.2f} / {np.mean(r):.2f}" if len(r) else "–"

    groups: list[tuple[str, list[dict]]] = []
    instrument = [r for r in rows if r["family"] in INSTRUMENT_FAMILIES]
    groups.append(("**all instrument notes**", instrument))
    for family in INSTRUMENT_FAMILIES:
        groups.append((family, [r for r in instrument if r["family"] == family]))
    for low, high, label in REGISTERS:
        groups.append((f"instruments, {label}", [r for r in instrument if low <= r["f0"] < high]))
    for family in ("voices", "phone voices", "sparse tones"):
        groups.append((f"**{family}** (synthetic)", [r for r in rows if r["family"] == family]))

    header = "| notes | n | oracle LSD (median / mean) | " + " | ".join(f"{m}: LSD | {m}: ratio to oracle" for m in model_names) + " |"
    lines = [
        "# Resynthesis against the harmonic synthesizer's limit",
        "",
        f"Generated by `python bench/lsd_oracle.py {' '.join(model_names)}` (bench/lsd_oracle.py; see its docstring) "
        f"in {seconds / 60:.1f} min on {_cpu()}, {n_synthetic} clips per synthetic family (seeded).",
        "",
        "LSD: the paper's (mean squared dB difference, STFT 1024, hop 256) between the input and a resynthesis, over the "
        "steady part of each note. Oracle: the same 20-harmonic synthesizer with the true f0 (refined per frame within "
        "±40 cents) and per-frame least-squares amplitudes. Ratio: per note, model LSD / oracle LSD; median / mean.",
        "",
        header,
        "|" + "---|" * (3 + 2 * len(model_names)),
    ]
    for label, group in groups:
        if not group:
            continue
        cells = [label, str(len(group)), fmt([r["oracle"] for r in group])]
        for m in model_names:
            cells += [fmt([r[m] for r in group]), ratio([r[m] for r in group], [r["oracle"] for r in group])]
        lines.append("| " + " | ".join(cells) + " |")
    sparse = [r for r in rows if r["family"] == "sparse tones"]
    if sparse:
        lines += ["", "Sparse tones (1-3 partials): the loudest partial the input lacks, relative to the estimate's loudest (dB, "
                  "median over voiced frames), median over tones, and the share of tones above "
                  f"{SPURIOUS_LIMIT_DB:.0f} dB:", "", "| model | median level of missing partials (dB) | tones above "
                  f"{SPURIOUS_LIMIT_DB:.0f} dB |", "|---|---|---|"]
        for m in model_names:
            levels = np.array([r[f"{m} spurious"] for r in sparse])
            finite = levels[np.isfinite(levels)]
            lines.append(f"| {m} | {np.median(finite):.1f} | {100 * np.mean(finite > SPURIOUS_LIMIT_DB):.0f} % of {len(finite)} |")
    if paper:
        lines += ["", "The paper's test split (400 tones of 1-8 partials, `sotdemo evaluate`'s scoring: every CQT frame, "
                  "soft-argmax f0, frame-wise resynthesis; the paper's SOT-2048 row: LSD 23.5 mean, RPA 75.0 mean / 99.7 median):",
                  "", "| model | RPA % | RCA % | LSD |", "|---|---|---|---|"]
        lines += [f"| {m} | {v['rpa']:.1f} | {v['rca']:.1f} | {v['lsd']:.1f} |" for m, v in paper.items()]
    worst = sorted(instrument, key=lambda r: -r[model_names[0]] / r["oracle"])[:8]
    if worst:
        lines += ["", f"Instrument notes with the highest ratio ({model_names[0]}):", "", "| note | oracle LSD | LSD | ratio |", "|---|---|---|---|"]
        lines += [f"| {r['name']} | {r['oracle']:.1f} | {r[model_names[0]]:.1f} | {r[model_names[0]] / r['oracle']:.2f} |" for r in worst]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=[DEFAULT_MODEL], help="checkpoint names (default: the default model)")
    parser.add_argument("--out", default=str(REPO / "results" / "lsd_oracle.md"))
    parser.add_argument("--clips", type=int, default=16, help="clips per synthetic family")
    parser.add_argument("--cache", default=str(REPO / ".cache" / "bench_real"), help="real corpus cache folder ('' for none)")
    parser.add_argument("--no-instruments", action="store_true", help="synthetic families only (no corpus rendering)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    items = synthetic_items(args.clips)
    if not args.no_instruments:
        items = instrument_items(Path(args.cache) if args.cache else None) + items
    models = {name: load(name) for name in args.models}
    rows = score(items, models)
    text = report(rows, args.models, time.perf_counter() - started, args.clips, paper_split(models))
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
