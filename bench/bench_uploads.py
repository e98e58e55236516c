"""What people upload, with known truth: voices, phone calls, missing fundamentals, notes under notes,
noise alone, cancelling stereo and compressed formats, every method in one run.

    OMP_NUM_THREADS=2 python bench/bench_uploads.py [--clips 12] [--threads 2] [--out results/bench_uploads.md]

A sibling of bench/bench_real.py (sampled instruments) for the kinds of input of the real-uploads
issue. Every clip is generated here (`sotdemo.signals`; seed base 9000, apart from the voicing
calibration's 7000 and the tests' seeds), written to a file where the family is about files, and
read back through `sotdemo.audio.load`, exactly as the CLI and the app read uploads; then every
method gets the same 16 kHz mono samples:
- the default model through `sotdemo.estimate.estimate` (its own voicing), pitch only;
- librosa.pyin (fmin 40, fmax 2000, frame 2048, hop 256), its voiced flag;
- torchcrepe tiny and full (hop 10 ms, weighted-argmax decoding, voiced if periodicity >= 0.5),
  if torchcrepe imports (see bench/bench_real.py for its install).

Families (`--clips` clips each, 2 s): voices (glottal source with -6...-15 dB/oct tilt, formants of
five vowels, vibrato 0-100 cents, jitter, shimmer, breath; 80-800 Hz), phone voices (the same
through 300-3400 Hz at 8 kHz, 80-300 Hz), missing fundamental (partials 2-10 or 3-12 at 1/k,
60-800 Hz), notes under notes (a note with the fifth or third above 6-12 dB below it; the lower
note is the truth), cancelling stereo (a voice with right = -left, as WAV), compressed formats (a
voice as AAC in .m4a, Opus in .webm, MP3, encoded by the ffmpeg CLI at 64-96 kbit/s), and noise
alone (white, pink, brown, 20-150 Hz rumble, each at -50 ... -10 dBFS RMS; 5-30 Hz sines: below the
range). Scores: RPA (mir_eval, 50 cents, voicing ignored) and voicing recall on pitched frames at
least 0.1 s from the clip's ends; false alarms (share of frames voiced) on the noise families.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mir_eval
import numba
import numpy as np
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository root, so that `bench` and `sotdemo` import
    sys.path.insert(0, str(REPO))

from bench.bench_real import Method, _crepe, _ours, _pyin  # noqa: E402

from sotdemo import signals  # noqa: E402
from sotdemo.audio import load  # noqa: E402
from sotdemo.model import DEFAULT_MODEL  # noqa: E402

SEED = 9000
SR = 16000
SECONDS = 2.0
EDGE_S = 0.1
PITCHED = ("voices", "phone voices", "missing fundamental", "notes under notes", "cancelling stereo", "compressed formats")
UNPITCHED = ("white noise", "pink noise", "brown noise", "rumble", "below range")


def _voice(rng: np.random.Generator, low: float = 80.0, high: float = 800.0) -> tuple[np.ndarray, np.ndarray]:
    f0 = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return signals.voice(f0, SECONDS, rng, vibrato_cents=rng.uniform(0, 100), vibrato_hz=rng.uniform(4.5, 6.5),
                         jitter=rng.uniform(0, 0.01), shimmer=rng.uniform(0, 0.1), breath_db=rng.uniform(-40, -15),
                         tilt_db_per_octave=rng.uniform(-15, -6))


def _encode(audio: np.ndarray, suffix: str, folder: Path, index: int) -> Path:
    """`audio` (16 kHz) written as WAV and encoded by the ffmpeg CLI to `suffix`."""
    wav = folder / f"clip{index}.wav"
    sf.write(wav, audio, SR, subtype="PCM_16")
    out = folder / f"clip{index}{suffix}"
    codec = {".m4a": ["-c:a", "aac", "-b:a", "96k"], ".webm": ["-c:a", "libopus", "-b:a", "64k"], ".mp3": ["-c:a", "libmp3lame", "-b:a", "96k"]}[suffix]
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), *codec, str(out)], check=True)
    return out


def clips(n: int, folder: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray | None]]]:
    """Family -> [(16 kHz mono samples as `audio.load` returns them, true f0 per sample or None)]."""
    rng = np.random.default_rng(SEED)
    out: dict[str, list] = {f: [] for f in PITCHED + UNPITCHED}
    for _ in range(n):
        audio, f0 = _voice(rng)
        out["voices"].append((signals.scale_to_dbfs(audio, rng.uniform(-35, -10)), f0))
        audio, f0 = _voice(rng, 80, 300)
        phone = signals.scale_to_dbfs(signals.phone_band(audio, SR), rng.uniform(-35, -10))
        path = folder / f"phone{len(out['phone voices'])}.wav"
        sf.write(path, phone, 8000, subtype="PCM_16")
        out["phone voices"].append((load(path).audio, f0))
        hz = float(np.exp(rng.uniform(np.log(60), np.log(800))))
        lowest = int(rng.integers(2, 4))
        tone = signals.missing_fundamental(hz, SECONDS, (lowest, lowest + 8), rng=rng)
        out["missing fundamental"].append((signals.scale_to_dbfs(tone, rng.uniform(-35, -10)), np.full(len(tone), hz)))
        hz = float(np.exp(rng.uniform(np.log(60), np.log(600))))
        k = np.arange(1, 11)
        upper = signals.harmonic_tone(hz * float(rng.choice([1.5, 1.25])), 1 / k, SECONDS, rng=rng) * 10 ** (-rng.uniform(6, 12) / 20)
        mix = signals.harmonic_tone(hz, 1 / k, SECONDS, rng=rng) + upper
        out["notes under notes"].append((signals.scale_to_dbfs(mix, rng.uniform(-30, -10)), np.full(len(mix), hz)))
        audio, f0 = _voice(rng)
        audio = signals.scale_to_dbfs(audio, rng.uniform(-30, -10))
        path = folder / f"stereo{len(out['cancelling stereo'])}.wav"
        sf.write(path, np.stack([audio, -audio], axis=1), SR, subtype="PCM_16")
        out["cancelling stereo"].append((load(path).audio, f0))
        audio, f0 = _voice(rng)
        suffix = (".m4a", ".webm", ".mp3")[len(out["compressed formats"]) % 3]
        path = _encode(signals.scale_to_dbfs(audio, rng.uniform(-30, -10)), suffix, folder, len(out["compressed formats"]))
        loaded = load(path).audio
        out["compressed formats"].append((loaded, _fit(f0, len(loaded))))
        for colour in ("white", "pink", "brown"):
            noise = signals.coloured_noise(colour, SECONDS, rng)
            out[f"{colour} noise"].append((signals.scale_to_dbfs(noise, rng.uniform(-50, -10)), None))
        low = rng.uniform(20, 60)
        rumble = signals.coloured_noise("rumble", SECONDS, rng, band_hz=(low, min(150.0, low * rng.uniform(2, 6))))
        out["rumble"].append((signals.scale_to_dbfs(rumble, rng.uniform(-45, -10)), None))
        t = np.arange(int(SECONDS * SR)) / SR
        out["below range"].append((10 ** (rng.uniform(-35, -6) / 20) * np.sin(2 * np.pi * rng.uniform(5, 30) * t), None))
    return out


def _fit(track: np.ndarray, n: int) -> np.ndarray:
    """The truth track padded (with its last value) or cut to the decoded length (codecs add priming)."""
    return track[:n] if len(track) >= n else np.concatenate([track, np.full(n - len(track), track[-1])])


def score(method: Method, family: list[tuple[np.ndarray, np.ndarray | None]]) -> dict[str, float]:
    ref, est, voiced, seconds, audio_seconds, fa = [], [], [], 0.0, 0.0, []
    for audio, truth in family:
        start = time.perf_counter()
        times, f0, flags = method.run(np.asarray(audio, dtype=np.float32))
        seconds += time.perf_counter() - start
        audio_seconds += len(audio) / SR
        flags = np.asarray(flags, dtype=bool)
        if truth is None:
            fa.append(flags)
            continue
        keep = (times >= EDGE_S) & (times <= len(audio) / SR - EDGE_S)
        ref.append(truth[np.minimum((times[keep] * SR).astype(int), len(truth) - 1)])
        est.append(np.nan_to_num(np.asarray(f0, dtype=np.float64)[keep], nan=0.0))
        voiced.append(flags[keep])
    out = {"speed": audio_seconds / max(seconds, 1e-9)}
    if fa:
        out["fa"] = float(np.concatenate(fa).mean())
    if ref:
        r, e, v = np.concatenate(ref), np.concatenate(est), np.concatenate(voiced)
        ones = np.ones(len(r))
        out["rpa"] = float(mir_eval.melody.raw_pitch_accuracy(ones, mir_eval.melody.hz2cents(r), ones, mir_eval.melody.hz2cents(e)))
        out["recall"] = float(v.mean())
        out["frames"] = len(r)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=12, help="clips per family")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-crepe", action="store_true", help="leave CREPE out (it is the slow one)")
    parser.add_argument("--no-pyin", action="store_true", help="leave pYIN out")
    parser.add_argument("--models", nargs="+", default=[DEFAULT_MODEL], help="our checkpoints to run (default: the default model)")
    parser.add_argument("--out", default=str(REPO / "results" / "bench_uploads.md"))
    parser.add_argument("--cache", default=str(REPO / ".cache" / "bench_uploads.json"), help="where each run's scores are kept ('' for none)")
    parser.add_argument("--update", action="store_true", help="re-run only --models (ours) into the last saved run of the same --clips: "
                        "pYIN's and CREPE's rows keep their saved scores, and the report says which rows were re-run when")
    args = parser.parse_args(argv)
    command = sys.argv[1:] if argv is None else list(argv)
    saved_path = Path(args.cache) if args.cache else None
    previous = None
    if args.update:
        previous = json.loads(saved_path.read_text()) if saved_path is not None and saved_path.is_file() else None
        if previous is None or previous["clips"] != args.clips:
            print(f"no saved run of --clips {args.clips} to update (run without --update first)", file=sys.stderr)
            return 2
        args.no_pyin = args.no_crepe = True
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    start, load0 = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        families = clips(args.clips, Path(folder))
    found = [_ours(name) for name in args.models]
    if not args.no_pyin:
        found.append(Method("pYIN", _pyin, "librosa.pyin, frame 2048, hop 256, its voiced flag"))
    if not args.no_crepe:
        found += [m for m in (_crepe("tiny"), _crepe("full")) if m is not None]
    results = {}
    for method in found:
        method.run(families["voices"][0][0][:SR].astype(np.float32))  # warm-up, not timed
        results[method.name] = {f: score(method, clips_) for f, clips_ in families.items()}
        print(method.name, {f: {k: round(v, 3) for k, v in s.items()} for f, s in results[method.name].items()}, file=sys.stderr)
    wall = time.perf_counter() - start
    notes = [(m.name, m.note) for m in found]
    run = {"command": command, "wall": wall, "load": [load0, os.getloadavg()[0]], "threads": args.threads, "date": time.strftime("%Y-%m-%d")}
    updates = []
    if previous is not None:  # the re-run rows replace theirs; the header keeps the saved run's command
        merged = dict(previous["results"])
        merged.update(results)
        results = merged
        notes = list({**dict(previous["notes"]), **dict(notes)}.items())
        # a re-run of the same rows supersedes the earlier one: only the latest is described
        what = ", ".join(m.name for m in found)
        updates = [*(u for u in previous.get("updates", []) if u["what"] != what), {**run, "what": what}]
        run = previous["run"]
    if saved_path is not None:
        saved_path.parent.mkdir(parents=True, exist_ok=True)
        saved_path.write_text(json.dumps({"clips": args.clips, "results": results, "notes": notes, "run": run, "updates": updates}))
    wall, load0, load1 = run["wall"], run["load"][0], run["load"][1]
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "# Uploads benchmark: voices, phone calls, missing fundamentals, noise, stereo, formats",
        "",
        f"`python bench/bench_uploads.py {' '.join(run['command'])}` (bench/bench_uploads.py; its docstring "
        f"describes every family). {cpu}, {os.cpu_count()} cores, {run['threads']} thread(s); load average {load0:.1f} at start, "
        f"{load1:.1f} at the end; whole run {wall / 60:.1f} min. {args.clips} clips of {SECONDS:.0f} s per family, seed "
        f"base {SEED}; files read back through `sotdemo.audio.load` where the family is about files, and every method gets the same samples.",
        *[f"\n**Re-run into this table** ({u['date']}, `python bench/bench_uploads.py {' '.join(u['command'])}`, {u['wall'] / 60:.1f} min, "
          f"load average {u['load'][0]:.1f} / {u['load'][1]:.1f}): {u['what']}; every other row is from the run above." for u in updates],
        "",
        "## Pitched families: RPA % / voicing recall %",
        "",
        "| method | " + " | ".join(PITCHED) + " |",
        "|---|" + "---:|" * len(PITCHED),
    ]
    for name, fams in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * fams[f]['rpa']:.1f} / {100 * fams[f]['recall']:.1f}" for f in PITCHED) + " |")
    lines += ["", "## Noise alone: false alarms (% of frames voiced)", "", "| method | " + " | ".join(UNPITCHED) + " | × real time (all families) |",
              "|---|" + "---:|" * (len(UNPITCHED) + 1)]
    for name, fams in results.items():
        total_speed = len(fams) / sum(1 / max(s["speed"], 1e-9) for s in fams.values())
        lines.append(f"| {name} | " + " | ".join(f"{100 * fams[f]['fa']:.1f}" for f in UNPITCHED) + f" | {total_speed:.3g} |")
    frames = results[next(iter(results))]
    lines += ["", "Frames scored (first method): " + ", ".join(f"{f} {frames[f]['frames']}" for f in PITCHED) + ".",
              "", "Methods: " + "; ".join(f"**{name}**: {note}" for name, note in notes), ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
