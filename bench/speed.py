"""Pitch trackers' speed on the same audio in one run, native and with an AVX2-only CPU emulated; ratios.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/speed.py [--seconds 30] [--out results/speed.md]

Methods, all on the same `--seconds` of a synthetic melody (harmonic tones, 16 kHz, so no resampling),
one thread each, best of `--repeats` after a warm-up (pYIN: best of 2):
- ours: `sotdemo.estimate.estimate` with the default model, pitch only (`resynthesize=False`, what a
  pitch tracker does), `engine='auto'` (what users get: `sotdemo.engine.choose`), and the same forced to
  torch float32 and to ONNX Runtime, so that the engine's share is visible;
- PESTO (`pesto-pitch`, model mir-1k_g7, 16 ms hop), if installed (pip install --no-deps pesto-pitch:
  its torchaudio dependency would pull a CUDA build; this script stubs torchaudio, which PESTO uses
  only to read files);
- pYIN (`librosa.pyin`, fmin 40, fmax 2000, frame 2048, hop 256);
- CREPE tiny (`torchcrepe`, hop 10 ms, fmin 40, fmax 2000), if installed (see requirements-bench.txt).

Each ISA runs in its own child process: native, and "AVX2 (emulated)" with ATEN_CPU_CAPABILITY=avx2 and
ONEDNN_MAX_CPU_ISA=AVX2 (torch's kernels and oneDNN capped; the child checks torch reports AVX2). This
caps torch-based methods (ours on torch, PESTO, CREPE); ONNX Runtime has no such switch and keeps its
AVX-512 kernels (marked), and pYIN (numpy/numba) is not capped either. A second table: our pipeline's
variants (engines, resynthesis, 2 threads) and frames per encoder call, native only. CPU model, vector
extensions and load averages are in the report; on a shared machine the ratios within one run count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.cpu import run_isa_children  # noqa: E402

OURS = "ours (default model, pitch only, engine auto)"


def melody(seconds: float, rate: int = 16000) -> np.ndarray:
    """Half-second harmonic notes (10 partials at 1/k) at random semitones from 55 Hz, seeded, `[samples]`."""
    rng = np.random.default_rng(0)
    notes = []
    for _ in range(int(np.ceil(seconds / 0.5))):
        f0 = 55.0 * 2 ** (rng.integers(0, 48) / 12)
        t = np.arange(rate // 2) / rate
        notes.append(sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 11) if k * f0 < rate / 2) * 0.2)
    return np.concatenate(notes)[: int(seconds * rate)].astype(np.float32)


def best_of(fn, runs: int = 3) -> float:
    """The shortest of `runs` wall times of `fn()` in seconds (after none: warm up before)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def methods(audio: np.ndarray) -> dict[str, tuple[callable, str]]:
    """name -> (run on `audio`, what it computes with); only the methods that import."""
    import librosa
    import torch

    from sotdemo.engine import onnxruntime_available
    from sotdemo.estimate import estimate, get_model

    model = get_model(None)
    out = {}
    auto = estimate(audio[:16000], model=model, resynthesize=False)
    out[OURS] = (lambda: estimate(audio, model=model, resynthesize=False), auto.engine)
    out["ours, torch float32"] = (lambda: estimate(audio, model=model, resynthesize=False, engine="torch", precision="float32"),
                                  "torch float32")
    if onnxruntime_available():
        out["ours, ONNX Runtime float32"] = (lambda: estimate(audio, model=model, resynthesize=False, engine="onnxruntime"),
                                             "onnxruntime float32")
    sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))  # PESTO and torchcrepe read files with it only
    try:
        import pesto

        pesto_model = pesto.load_model("mir-1k_g7", step_size=16.0, sampling_rate=16000)
        x = torch.from_numpy(audio)

        def run_pesto():
            with torch.inference_mode():
                return pesto_model(x, sr=16000, convert_to_freq=True, return_activations=False)

        out["PESTO (mir-1k_g7)"] = (run_pesto, f"pesto-pitch {getattr(pesto, '__version__', '?')}, torch")
    except ImportError as error:
        print(f"PESTO left out: {error}", file=sys.stderr)
    out["pYIN (librosa)"] = (lambda: librosa.pyin(audio, fmin=40.0, fmax=2000.0, sr=16000, frame_length=2048, hop_length=256),
                             f"librosa {librosa.__version__}")
    try:
        import torchcrepe

        x = torch.from_numpy(audio)[None]

        def run_crepe():
            with torch.inference_mode():
                return torchcrepe.predict(x, 16000, hop_length=160, fmin=40.0, fmax=2000.0, model="tiny",
                                          decoder=torchcrepe.decode.weighted_argmax, batch_size=512, device="cpu")

        out["CREPE tiny (torchcrepe)"] = (run_crepe, "torchcrepe, torch")
    except ImportError as error:
        print(f"CREPE left out: {error}", file=sys.stderr)
    return out


def child(isa: str, seconds: float, repeats: int) -> dict:
    import torch

    from bench.cpu import cpu_summary, torch_isa

    torch.set_num_threads(1)
    if isa == "avx2" and torch.backends.cpu.get_cpu_capability() != "AVX2":
        raise SystemExit(f"ATEN_CPU_CAPABILITY=avx2 not honoured: torch reports {torch.backends.cpu.get_cpu_capability()}")
    audio = melody(seconds)
    from sotdemo.estimate import get_model as default_model

    result = {"isa": isa, "cpu": cpu_summary(), "torch_isa": torch_isa(), "torch": torch.__version__, "methods": {}, "variants": [],
              "model": default_model(None).config.name}
    for name, (run, what) in methods(audio).items():
        run()  # warm-up: model loads, numba compiles, caches
        result["methods"][name] = {"x_real_time": seconds / best_of(run, 2 if name.startswith("pYIN") else repeats), "what": what}
        print(f"{isa}: {name}: {result['methods'][name]['x_real_time']:.1f}x real time", file=sys.stderr, flush=True)
    if isa == "native":
        from sotdemo import estimate as estimate_lib
        from sotdemo.estimate import estimate, get_model

        model = get_model(None)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for engine, precision in (("torch", "float32"), ("torch", "bfloat16"), ("onnxruntime", "float32")):
                for resynthesize in (False, True):
                    def run():
                        return estimate(audio, model=model, resynthesize=resynthesize, engine=engine, precision=precision)
                    run()
                    result["variants"].append((threads, f"{engine} {precision}", resynthesize, seconds / best_of(run, repeats)))
        torch.set_num_threads(1)
        chosen, result["batches"] = estimate_lib._BATCH, []
        for batch in (128, 256, 512, 1024):
            estimate_lib._BATCH = batch
            result["batches"].append((batch, seconds / best_of(lambda: estimate(audio, model=model, resynthesize=False), repeats)))
        estimate_lib._BATCH = chosen
        result["batch"] = chosen
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "results" / "speed.md"))
    parser.add_argument("--child", choices=("native", "avx2"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.seconds, args.repeats)))
        return 0
    load0 = os.getloadavg()
    runs = run_isa_children(__file__, ["--seconds", str(args.seconds), "--repeats", str(args.repeats)])
    load1 = os.getloadavg()
    native, avx2 = runs["native"], runs["avx2"]
    names = list(native["methods"])
    lines = [
        "# Speed: pitch trackers in one run (× real time, and ours / each)",
        "",
        f"`OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/speed.py --seconds {args.seconds:g} --repeats {args.repeats}`. "
        f"Machine: {native['cpu']}; torch {native['torch']}. Load average (1, 5, 15 min): {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f} "
        f"at start, {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} at the end (a shared machine: absolute figures vary with the other "
        "jobs, ratios within one run much less).",
        "",
        f"Ours: the default model, `{native['model']}`. Every method on the same {args.seconds:g} s synthetic melody at 16 kHz, one "
        f"thread, best of {args.repeats} after a warm-up "
        "(pYIN best of 2). Native: " + native["torch_isa"] + f". AVX2 (emulated): {avx2['torch_isa']}; marked * where a method "
        "is not capped by it (ONNX Runtime picks its kernels from the CPU; pYIN is numpy/numba). Ours with `engine='auto'` ran "
        f"**{native['methods'][OURS]['what']}** natively and **{avx2['methods'][OURS]['what']}** with the AVX2 cap.",
        "",
        "| method | native × real time | ours / it, native | AVX2 (emulated) × real time | ours / it, AVX2 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in names:
        star = "*" if "ONNX" in name or name.startswith("pYIN") or (name == OURS and "onnx" in avx2["methods"][OURS]["what"]) else ""
        n, a = native["methods"][name]["x_real_time"], avx2["methods"].get(name, {}).get("x_real_time", float("nan"))
        lines.append(f"| {name} | {n:.1f} | {native['methods'][OURS]['x_real_time'] / n:.2f} | {a:.1f}{star} | "
                     f"{avx2['methods'][OURS]['x_real_time'] / a:.2f} |")
    ratio = {isa: {name: runs[isa]["methods"][OURS]["x_real_time"] / m["x_real_time"] for name, m in runs[isa]["methods"].items()}
             for isa in runs}
    goals = []
    for isa, label in (("native", "native"), ("avx2", "AVX2 (emulated)")):
        for method, target in (("PESTO (mir-1k_g7)", 2), ("pYIN (librosa)", 40)):
            if method in ratio[isa]:
                value = ratio[isa][method]
                goals.append(f"{label}: ours / {method.split(' ')[0]} = {value:.1f} (goal >= {target}: {'met' if value >= target else 'not met'})")
    lines += ["", "Goals (issue 17): " + "; ".join(goals) + ".", "",
              "Our pipeline's variants (native, `estimate` on the same audio; × real time):", "",
              "| threads | encoder | output | × real time |", "|---:|---|---|---:|"]
    lines += [f"| {t} | {e} | {'pitch + resynthesis' if r else 'pitch only'} | {x:.0f} |" for t, e, r, x in native["variants"]]
    lines += ["", f"Frames per encoder call (`estimate._BATCH`, now {native['batch']}), 1 thread, engine auto, pitch only:", "",
              "| frames per call | × real time |", "|---:|---:|"]
    lines += [f"| {b} | {x:.0f} |" for b, x in native["batches"]]
    lines.append("")
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
