"""Speed of `estimate` as a multiple of real time, on 1 and 2 threads, float32 vs bfloat16.

    OMP_NUM_THREADS=2 python bench/speed.py [--seconds 60] [--out results/speed.md]

Times `sotdemo.estimate.estimate` (default model) on `--seconds` of a synthetic melody (harmonic
tones, 16 kHz, so no resampling) after one warm-up call: pitch only (`resynthesize=False`, what
a pitch tracker does) and with the resynthesis the app plays, each with the encoder's
convolutions in float32 and in bfloat16 (`precision`), on 1 and 2 torch threads; best of 3
runs. librosa.pyin on 10 s of the same audio gives the reference. The load average at start
and end is in the report: run it on an otherwise idle machine.
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
                seconds = best_of(lambda: estimate(audio, model=model, precision=precision, resynthesize=resynthesize))
                rows.append((threads, precision, "pitch + resynthesis" if resynthesize else "pitch only", args.seconds / seconds))
    torch.set_num_threads(1)
    short = audio[:160000]
    pyin = len(short) / 16000 / best_of(lambda: librosa.pyin(short, fmin=40.0, fmax=2000.0, sr=16000, frame_length=2048, hop_length=256), runs=1)
    lines = [
        "# Speed of `estimate` (× real time)",
        "",
        f"`python bench/speed.py --seconds {args.seconds:g}`: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"CPU bfloat16 native: {bfloat16_is_fast()}; load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at the end. "
        f"Default model, {args.seconds:g} s synthetic melody at 16 kHz, best of 3 after a warm-up; `precision='auto'` picks "
        f"{'bfloat16' if bfloat16_is_fast() else 'float32'} on this CPU.",
        "",
        "| threads | encoder convolutions | output | × real time |",
        "|---:|---|---|---:|",
    ]
    lines += [f"| {t} | {p} | {o} | {x:.0f} |" for t, p, o, x in rows]
    lines += ["", f"librosa.pyin (fmin 40, fmax 2000, frame 2048, hop 256), 1 thread, 10 s: {pyin:.1f}× real time.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
