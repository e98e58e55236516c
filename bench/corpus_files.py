"""Many short files through the CLI: here, with `--jobs 2`, and on a 2-worker Dask LocalCluster. Writes results/corpus_files.md.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/corpus_files.py [--files 200] [--seed 0]

Generates `--files` seeded clips of 1-3 s into a temporary folder (harmonic tones and voices from
`sotdemo.signals`, half at 44.1 kHz 16-bit WAV, half 16 kHz FLAC, a few stereo) and lists them in
files.txt. Then, in one run:
1. the sum of per-file pitch times: `estimate` (default model, pitch only, engine auto) on each clip
   already in memory, one at a time, in this process with a warm model: the work a file needs;
2. `python -m sotdemo estimate @files.txt --out DIR` (one process, files through the encoder 8 at a time),
   wall time from the command's start to its exit: start-up, reading, writing included;
3. the same with `--jobs 2` (two spawned worker processes);
4. the same with `--dask ADDRESS` on a `LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`
   started before (a standing cluster); run twice: fresh workers (loading the model) and warm ones.
Goals (issue 17): (2) <= 1.5x (1); (4) <= 1.3x (3) with identical CSVs. Every thread count is 1
(OMP_NUM_THREADS=1 for this script and its children; Dask and the workers use one torch thread per task).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.cpu import cpu_summary  # noqa: E402


def make_corpus(folder: Path, n: int, seed: int) -> list[Path]:
    """`n` seeded clips of 1-3 s in `folder` (module docstring); their paths."""
    from sotdemo.signals import harmonic_tone, scale_to_dbfs, voice

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        seconds = float(rng.uniform(1.0, 3.0))
        f0 = float(55 * 2 ** rng.uniform(0, 4.5))
        if i % 2:
            audio = voice(f0, seconds, rng, vibrato_cents=float(rng.uniform(0, 50)))[0]
        else:
            audio = harmonic_tone(f0, rng.uniform(0.1, 1, int(rng.integers(2, 12))), seconds, rng=rng)
        audio = scale_to_dbfs(audio, float(rng.uniform(-35, -15)))
        if i % 2:
            path = folder / f"clip{i:04d}.flac"
            data, rate = audio, 16000
        else:
            path = folder / f"clip{i:04d}.wav"
            rate = 44100
            data = np.interp(np.arange(int(len(audio) * rate / 16000)) * 16000 / rate, np.arange(len(audio)), audio)
        if i % 10 == 3:
            data = np.stack([data, 0.8 * data], axis=1)
        sf.write(path, np.clip(data, -1, 1), rate)
        paths.append(path)
    return paths


def run_cli(args: list[str]) -> float:
    """Wall seconds of `python -m sotdemo estimate ARGS` (exit status checked)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sotdemo", "estimate", *args], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sotdemo estimate {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds


def same_csvs(a: Path, b: Path) -> tuple[int, int]:
    """(files identical byte for byte, files compared) between two output folders."""
    names = sorted(p.name for p in a.glob("*.csv"))
    if names != sorted(p.name for p in b.glob("*.csv")):
        return 0, len(names)
    return sum(filecmp.cmp(a / n, b / n, shallow=False) for n in names), len(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="checkpoint name (default: the default model)")
    parser.add_argument("--out", default=str(REPO / "results" / "corpus_files.md"))
    args = parser.parse_args(argv)
    model_args = ["--model", args.model] if args.model else []
    os.environ.update(OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    import torch
    from distributed import Client, LocalCluster

    from sotdemo.audio import load
    from sotdemo.estimate import estimate, get_model

    torch.set_num_threads(1)
    load0 = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="corpus-files-"))
    (folder / "audio").mkdir()
    paths = make_corpus(folder / "audio", args.files, args.seed)
    listing = folder / "files.txt"
    listing.write_text("".join(f"{p}\n" for p in paths))
    clips = [load(p, max_seconds=None) for p in paths]
    audio_s = sum(len(c.audio) / c.sample_rate for c in clips)
    model = get_model(args.model)
    engine = estimate(clips[0].audio, clips[0].sample_rate, model, resynthesize=False).engine  # warm-up
    start = time.perf_counter()
    for clip in clips:
        estimate(clip.audio, clip.sample_rate, model, resynthesize=False)
    per_file = time.perf_counter() - start
    print(f"sum of per-file pitch times: {per_file:.1f} s for {audio_s:.0f} s of audio", flush=True)
    walls = {"one process": run_cli([*model_args, f"@{listing}", "--out", str(folder / "one")])}
    print(f"CLI, one process: {walls['one process']:.1f} s", flush=True)
    walls["--jobs 2"] = run_cli([*model_args, f"@{listing}", "--out", str(folder / "jobs2"), "--jobs", "2"])
    print(f"CLI --jobs 2: {walls['--jobs 2']:.1f} s", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, Client(cluster):
        walls["--dask, fresh workers"] = run_cli([*model_args, f"@{listing}", "--out", str(folder / "dask"), "--dask", cluster.scheduler_address])
        print(f"CLI --dask (fresh workers): {walls['--dask, fresh workers']:.1f} s", flush=True)
        walls["--dask, warm workers"] = run_cli([*model_args, f"@{listing}", "--out", str(folder / "dask2"), "--dask", cluster.scheduler_address])
        print(f"CLI --dask (warm workers): {walls['--dask, warm workers']:.1f} s", flush=True)
    load1 = os.getloadavg()
    identical = {name: same_csvs(folder / "one", folder / sub) for name, sub in (("--jobs 2", "jobs2"), ("--dask", "dask"),
                                                                                  ("--dask, warm", "dask2"))}
    cli_ratio = walls["one process"] / per_file
    dask_ratio = walls["--dask, fresh workers"] / walls["--jobs 2"]
    lines = [
        "# Many short files: CLI, worker processes, Dask",
        "",
        f"`OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/corpus_files.py --files {args.files} --seed {args.seed}"
        + (f" --model {args.model}" if args.model else "") + "` "
        f"({args.files} seeded clips of 1-3 s, {audio_s:.0f} s of audio in all; bench/corpus_files.py's docstring says what each "
        f"row runs). Machine: {cpu_summary()}. Model: `{model.config.name}`; engine (auto): {engine}. Load average (1, 5, 15 min): {load0[0]:.1f} {load0[1]:.1f} "
        f"{load0[2]:.1f} at start, {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} at the end (shared machine: ratios within this run count).",
        "",
        "| run | wall [s] | × real time | / sum of per-file pitch times |",
        "|---|---:|---:|---:|",
        f"| sum of per-file pitch times (in memory, warm model, one at a time) | {per_file:.1f} | {audio_s / per_file:.0f} | 1.00 |",
    ]
    lines += [f"| `sotdemo estimate @files.txt` {name} | {w:.1f} | {audio_s / w:.0f} | {w / per_file:.2f} |" for name, w in walls.items()]
    lines += [
        "",
        f"Goals (issue 17): CLI in one process <= 1.5x the sum of per-file pitch times -> **{cli_ratio:.2f}: "
        f"{'met' if cli_ratio <= 1.5 else 'not met'}**; Dask (2 workers, fresh) <= 1.3x `--jobs 2` -> **{dask_ratio:.2f}: "
        f"{'met' if dask_ratio <= 1.3 else 'not met'}** (warm workers: {walls['--dask, warm workers'] / walls['--jobs 2']:.2f}).",
        "",
        "CSVs identical byte for byte to the one-process run: "
        + "; ".join(f"{name}: {same} of {total}" for name, (same, total) in identical.items()) + ".",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
