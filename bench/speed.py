"""Speed of `estimate` as a multiple of real time, on 1 and 2 threads, float32 vs bfloat16.

    OMP_NUM_THREADS=2 python bench/speed.py [--seconds 60] [--out results/speed.md]

Times `sotdemo.estimate.estimate` (default model) on `--seconds` of a synthetic melody (harmonic
tones, 16 kHz, so no resampling) after one warm-up call: pitch only (`resynthesize=False`, what
a pitch tracker does) and with the resynthesis the app plays, each with the encoder's
convolutions in float32 and in bfloat16 (`precision`), on 1 and 2 torch threads; best of 5
runs. librosa.pyin on 10 s of the same audio gives the reference. Two more tables back the
choices in `sotdemo`: the encoder's convolutional trunk on 256 frames as `Conv1d` (the training
path) vs the channels-last inference path, and `estimate`'s frames per encoder call. The load
average at start and end is in the report: run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sotdemo import estimate as estimate_lib  # noqa: E402
from sotdemo.estimate import bfloat16_is_fast, estimate, get_model  # noqa: E402


def melody(seconds: float, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    notes = []
    for _ in range(int(np.ceil(seconds / 0.5))):
        f0 = 55.0 * 2 ** (rng.integers(0, 48) / 12)
        t = np.arange(rate // 2) / rate
        notes.append(sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 11) if k * f0 < rate / 2) * 0.2)
    return np.concatenate(notes)[: int(seconds * rate)].astype(np.float32)


def best_of(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results" / "speed.md"))
    args = parser.parse_args(argv)
    load0 = os.getloadavg()[0]
    audio = melody(args.seconds)
    model = get_model(None)
    estimate(audio[:16000], model=model)
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for precision in ("float32", "bfloat16"):
            for resynthesize in (False, True):
                seconds = best_of(lambda: estimate(audio, model=model, precision=precision, resynthesize=resynthesize), runs=5)
                rows.append((threads, precision, "pitch + resynthesis" if resynthesize else "pitch only", args.seconds / seconds))
    trunk_rows, batch_rows = [], []
    encoder = model.encoder
    frames = encoder.norm(torch.rand(256, encoder.config.n_bins) ** 4).reshape(256, 1, -1)

    def conv1d_trunk() -> torch.Tensor:
        h = encoder.conv_in(frames)
        return encoder.pointwise(h + encoder.conv_res(h))

    for threads in (1, 2):
        torch.set_num_threads(threads)
        for bfloat16 in (False, True):
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
                ms = [1000 * best_of(fn, runs=20) for fn in (conv1d_trunk, lambda: encoder._trunk_channels_last(frames))]
            trunk_rows.append((threads, "bfloat16" if bfloat16 else "float32", *ms))
    torch.set_num_threads(2)
    chosen = estimate_lib._BATCH
    for batch in (128, 256, 512, 1024):
        estimate_lib._BATCH = batch
        batch_rows.append((batch, args.seconds / best_of(lambda: estimate(audio, model=model, resynthesize=False))))
    estimate_lib._BATCH = chosen
    torch.set_num_threads(1)
    short = audio[:160000]
    pyin = len(short) / 16000 / best_of(lambda: librosa.pyin(short, fmin=40.0, fmax=2000.0, sr=16000, frame_length=2048, hop_length=256), runs=1)
    lines = [
        "# Speed of `estimate` (× real time)",
        "",
        f"`python bench/speed.py --seconds {args.seconds:g}`: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"CPU bfloat16 native: {bfloat16_is_fast()}; load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at the end. "
        f"Default model, {args.seconds:g} s synthetic melody at 16 kHz, best of 5 after a warm-up; `precision='auto'` picks "
        f"{'bfloat16' if bfloat16_is_fast() else 'float32'} on this CPU.",
        "",
        "| threads | encoder convolutions | output | × real time |",
        "|---:|---|---|---:|",
    ]
    lines += [f"| {t} | {p} | {o} | {x:.0f} |" for t, p, o, x in rows]
    lines += ["", "Encoder trunk (convolutions + activations) on 256 frames, best of 20, no autograd:", "",
              "| threads | precision | Conv1d (training path) [ms] | channels-last (inference path) [ms] |", "|---:|---|---:|---:|"]
    lines += [f"| {t} | {p} | {a:.1f} | {b:.1f} |" for t, p, a, b in trunk_rows]
    lines += ["", f"Frames per encoder call (`estimate._BATCH`, now {chosen}), 2 threads, `precision='auto'`, pitch only:", "",
              "| frames per call | × real time |", "|---:|---:|"]
    lines += [f"| {b} | {x:.0f} |" for b, x in batch_rows]
    lines += ["", f"librosa.pyin (fmin 40, fmax 2000, frame 2048, hop 256), 1 thread, 10 s: {pyin:.1f}× real time.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
