"""Encoder engines on CPU: speed on 256 frames, native and with an AVX2-only CPU emulated, and agreement
with torch float32 through the whole pitch pipeline on the real-audio corpus. Writes results/engines.md.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/engines.py [--repeats 20] [--cache .cache/bench_real]

Engines (the default model's weights in each): torch float32 (the inference path `estimate` uses:
channels-last 2-D convolutions with AVX-512 kernels, plain Conv1d below them; and each of the two forced), torch with bfloat16 convolutions, `torch.compile` (inductor),
torch int8 dynamic quantization (its Linear layers; torch has no dynamic int8 convolution), ONNX
Runtime float32 (exported with `torch.onnx`), ONNX Runtime int8 dynamic quantization and ONNX Runtime
int8 static quantization (QOperator, per-channel weights, calibrated on CQT frames of seeded
synthetic voices and tones), and the same for the residual convolution alone (7-bit weights, calibrated
on a richer synthetic set: voices, tones, missing fundamentals, coloured noise, silence; never the corpus). Speed: milliseconds per 256 frames on one thread, best of `--repeats`
after a warm-up, as ratios to torch float32 in the same process.

Each ISA runs in its own child process: "native" as the CPU is, "AVX2 (emulated)" with
ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2 (torch's kernels and oneDNN's convolutions
capped at AVX2; the child checks that torch reports AVX2). ONNX Runtime has no such switch: its
kernels pick the CPU's best ISA whatever the environment, so its rows in the AVX2 run are not an
AVX2 measurement, and the report says so.

Agreement (native child): the whole `estimate` pipeline, pitch only, on every track of the
real-audio corpus (bench/real_corpus.py; rendered once into --cache), with `estimate.infer`
replaced by each engine's: f0 difference in cents (median over all frames, over voiced frames,
99th percentile) and the share of frames with the same voicing decision, against torch float32.
Goal (issue 17): < 1 cent median and >= 99.9 % of frames.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.cpu import run_isa_children  # noqa: E402

RESIDUAL_INT8 = "ONNX Runtime int8 static (residual conv only)"
BASE = "torch float32 (`estimate`'s path)"
ENGINE_NAMES = [BASE, "torch float32 (channels-last)", "torch float32 (Conv1d)", "torch bfloat16", "torch.compile float32",
                "torch int8 dynamic (Linear)", "ONNX Runtime float32", "ONNX Runtime int8 dynamic", "ONNX Runtime int8 static",
                RESIDUAL_INT8]
_RESIDUAL_CONV = "/encoder/conv_res/conv_res.0/Conv"  # the exported graph's 40->40 kernel-15 convolution: ~85 % of the multiply-adds


def _calibration_frames(model, n_clips: int = 24):
    import numpy as np

    from sotdemo.signals import harmonic_tone, scale_to_dbfs, voice

    rng = np.random.default_rng(99)
    frames = []
    for i in range(n_clips):
        f0 = float(40 * 2 ** rng.uniform(0, 5.5))
        audio = voice(f0, 1.0, rng)[0] if i % 2 else harmonic_tone(f0, rng.uniform(0.1, 1, int(rng.integers(1, 15))), 1.0, rng=rng)
        frames.append(model.front_end(scale_to_dbfs(audio, float(rng.uniform(-50, -12))).astype(np.float32)))
    return np.concatenate(frames).astype(np.float32)


def _calibration_frames_rich(model, n_clips: int = 96, seed: int = 11):
    """CQT frames `[frames, bins]` of a richer synthetic calibration set (none of the benchmark corpus): in turn
    voices (vibrato), harmonic tones, missing-fundamental tones and coloured noise (white, pink, brown,
    rumble), 1 s each at -70 ... -12 dBFS, the tones over a white floor at -90 ... -60 dBFS, plus a second of silence."""
    import numpy as np

    from sotdemo.signals import coloured_noise, harmonic_tone, missing_fundamental, scale_to_dbfs, voice

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_clips):
        f0 = float(40 * 2 ** rng.uniform(0, 5.5))
        kind = i % 4
        if kind == 0:
            audio = voice(f0, 1.0, rng, vibrato_cents=float(rng.uniform(0, 60)))[0]
        elif kind == 1:
            audio = harmonic_tone(f0, rng.uniform(0.1, 1, int(rng.integers(1, 15))), 1.0, rng=rng)
        elif kind == 2:
            audio = missing_fundamental(f0 * 2, 1.0)
        else:
            audio = coloured_noise(str(rng.choice(["white", "pink", "brown", "rumble"])), 1.0, rng)
        audio = scale_to_dbfs(audio, float(rng.uniform(-70, -12)))
        if kind != 3:
            audio = audio + scale_to_dbfs(coloured_noise("white", len(audio) / 16000, rng), float(rng.uniform(-90, -60)))
        frames.append(model.front_end(audio.astype(np.float32)))
    frames.append(model.front_end(np.zeros(16000, dtype=np.float32)))
    return np.concatenate(frames).astype(np.float32)


def build_engines(model) -> dict[str, object]:
    """name -> callable(frames float32 [n, bins]) -> (logits [n, bins], amplitudes [n, K]) as torch tensors."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

    from sotdemo.engine import OnnxEncoder, _Heads

    encoder = model.encoder
    engines: dict[str, object] = {}

    def torch_path(bfloat16: bool):
        def run(frames):
            with torch.no_grad():
                out = encoder(torch.from_numpy(frames), bfloat16_trunk=bfloat16)
            return out.logits, out.amplitudes
        return run

    for parameter in encoder.parameters():
        parameter.requires_grad_(False)  # inference everywhere; with autograd on, `Encoder.forward` takes its Conv1d path

    def conv1d(frames):
        with torch.enable_grad():
            out = encoder(torch.from_numpy(frames))
        return out.logits, out.amplitudes

    def channels_last(frames):  # whatever the CPU: `Encoder.forward` picks Conv1d below AVX-512 kernels
        from sotdemo import encoder as encoder_module

        chosen = encoder_module._avx512_kernels
        encoder_module._avx512_kernels = lambda: True
        try:
            return torch_path(False)(frames)
        finally:
            encoder_module._avx512_kernels = chosen

    engines[BASE] = torch_path(False)
    engines["torch float32 (channels-last)"] = channels_last
    engines["torch float32 (Conv1d)"] = conv1d
    engines["torch bfloat16"] = torch_path(True)
    start = time.perf_counter()
    compiled = torch.compile(_Heads(encoder).eval())

    def run_compiled(frames):
        with torch.no_grad():
            return compiled(torch.from_numpy(frames))

    try:
        run_compiled(_calibration_frames(model, 2)[:256])
        engines["torch.compile float32"] = run_compiled
    except Exception as error:  # noqa: BLE001 - reported in the table
        engines["torch.compile float32"] = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:160]}"
    compile_s = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(_Heads(encoder).eval(), {torch.nn.Linear}, dtype=torch.qint8)

    def run_quantized(frames):
        with torch.no_grad():
            return quantized(torch.from_numpy(frames))

    engines["torch int8 dynamic (Linear)"] = run_quantized
    onnx = OnnxEncoder(encoder, threads=1)

    def run_session(session):
        def run(frames):
            logits, amplitudes = session.run(None, {"cqt": np.ascontiguousarray(frames, dtype=np.float32)})
            return torch.from_numpy(logits), torch.from_numpy(amplitudes)
        return run

    engines["ONNX Runtime float32"] = run_session(onnx.session)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"engines-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Heads(encoder).eval(), (torch.rand(4, encoder.config.n_bins),), buffer, input_names=["cqt"],
                          output_names=["logits", "amplitudes"], dynamic_axes={"cqt": {0: "frames"}}, dynamo=False, opset_version=17)
    (folder / "fp32.onnx").write_bytes(buffer.getvalue())
    quantize_dynamic(str(folder / "fp32.onnx"), str(folder / "dynamic.onnx"), weight_type=QuantType.QUInt8)
    calibration = _calibration_frames(model)

    class Reader(CalibrationDataReader):
        def __init__(self, frames):
            self.batches = iter([{"cqt": frames[i : i + 256]} for i in range(0, len(frames), 256)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(folder / "fp32.onnx"), str(folder / "static.onnx"), Reader(calibration), quant_format=QuantFormat.QOperator,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    # the residual convolution alone (the first layer, the 1x1 layers and the heads stay float32), 7-bit weights
    # (`reduce_range`: no saturation in the u8 x s8 kernels of CPUs without VNNI), min/max of the richer set
    quantize_static(str(folder / "fp32.onnx"), str(folder / "residual.onnx"), Reader(_calibration_frames_rich(model)),
                    quant_format=QuantFormat.QOperator, per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_quantize=[_RESIDUAL_CONV], reduce_range=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = 1, 1, 3
    for name, file in (("ONNX Runtime int8 dynamic", "dynamic.onnx"), ("ONNX Runtime int8 static", "static.onnx"),
                       (RESIDUAL_INT8, "residual.onnx")):
        engines[name] = run_session(ort.InferenceSession(str(folder / file), options, providers=["CPUExecutionProvider"]))
    engines["_compile_s"] = compile_s
    return engines


def child(isa: str, repeats: int, cache: str | None) -> dict:
    """Measure in this process (its environment sets the ISA); returns the JSON-able results."""
    import numpy as np
    import torch

    from bench.cpu import cpu_summary, torch_isa
    from sotdemo import estimate as estimate_lib
    from sotdemo.engine import bfloat16_is_fast
    from sotdemo.estimate import get_model

    torch.set_num_threads(1)
    if isa == "avx2" and torch.backends.cpu.get_cpu_capability() != "AVX2":
        raise SystemExit(f"ATEN_CPU_CAPABILITY=avx2 not honoured: torch reports {torch.backends.cpu.get_cpu_capability()}")
    model = get_model(None)
    engines = build_engines(model)
    compile_s = engines.pop("_compile_s")
    frames = _calibration_frames(model, 8)[:256]
    speed, failures = {}, {}
    for name, run in list(engines.items()):
        if isinstance(run, str):
            failures[name] = run
            del engines[name]
            continue
        run(frames)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(frames)
            times.append(time.perf_counter() - start)
        speed[name] = 1000 * min(times)
    out = {"isa": isa, "torch_isa": torch_isa(), "cpu": cpu_summary(), "bfloat16_is_fast": bfloat16_is_fast(), "ms": speed,
           "model": model.config.name, "failures": failures,
           "compile_s": compile_s, "agreement": {}}
    if isa == "native":
        from bench.real_corpus import build_corpus

        corpus = build_corpus(Path(cache) if cache else None, progress=False)
        original = estimate_lib.infer

        def tracks(name: str):
            run = engines[name]

            def infer(model_, cqt_frames, bfloat16=False, engine="torch"):
                logits, amps = zip(*(run(cqt_frames[i : i + 256]) for i in range(0, len(cqt_frames), 256)))
                posterior = torch.softmax(torch.cat(logits).float() / model_.config.encoder.temperature, dim=-1).numpy()
                return posterior, torch.cat(amps).float()

            estimate_lib.infer = infer
            try:
                results = [estimate_lib.estimate(t.audio, 16000, model, resynthesize=False, engine="torch") for t in corpus.tracks]
            finally:
                estimate_lib.infer = original
            return np.concatenate([r.f0_hz for r in results]), np.concatenate([r.voiced for r in results])

        f0_ref, voiced_ref = tracks(BASE)
        out["corpus"] = {"tracks": len(corpus.tracks), "seconds": corpus.seconds, "frames": int(len(f0_ref)), "voiced": float(voiced_ref.mean())}
        for name in engines:
            f0, voiced = tracks(name)
            cents = 1200 * np.abs(np.log2(f0 / f0_ref))
            out["agreement"][name] = {"median": float(np.median(cents)), "median_voiced": float(np.median(cents[voiced_ref])),
                                      "p99": float(np.percentile(cents, 99)), "voicing": float(np.mean(voiced == voiced_ref))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--cache", default=str(REPO / ".cache" / "bench_real"), help="corpus cache folder ('' for none)")
    parser.add_argument("--out", default=str(REPO / "results" / "engines.md"))
    parser.add_argument("--child", choices=("native", "avx2"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.repeats, args.cache)))
        return 0
    load0 = os.getloadavg()
    runs = run_isa_children(__file__, ["--repeats", str(args.repeats), "--cache", args.cache])
    for isa, run in runs.items():
        print(f"{isa}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in run["ms"].items()) + "".join(
            f"; {k} {v}" for k, v in run["failures"].items()), flush=True)
    load1 = os.getloadavg()
    native, avx2 = runs["native"], runs["avx2"]
    base = BASE
    lines = [
        "# Encoder engines on CPU",
        "",
        f"`OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/engines.py --repeats {args.repeats}` (bench/engines.py's docstring "
        "says what each engine is). Machine: " + native["cpu"] + ".",
        f"Load average (1, 5, 15 min): {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f} at start, {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} "
        "at the end (shared machine: ratios within one run are what count).",
        "",
        f"Speed: the default model's (`{native['model']}`) encoder on 256 CQT frames, one thread, best of {args.repeats}; ratio = torch float32 "
        "as `estimate` runs it (channels-last with AVX-512 kernels, plain Conv1d below them: `Encoder.forward`) / this engine, in the same process. Native: " + native["torch_isa"]
        + f". AVX2 (emulated): {avx2['torch_isa']}; ONNX Runtime cannot be capped, so its rows there (marked *) still run "
        "its AVX-512 kernels and are not an AVX2 figure.",
        "",
        "| engine | native [ms] | native ratio | AVX2 emulated [ms] | AVX2 ratio | f0 median [cents] | f0 median voiced [cents] | "
        "f0 99th pct [cents] | same voicing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    def ms(run: dict, name: str) -> str:
        return f"{run['ms'][name]:.1f}" if name in run["ms"] else "failed"

    def ratio(run: dict, name: str) -> str:
        return f"{run['ms'][base] / run['ms'][name]:.2f}" if name in run["ms"] else "–"

    for name in ENGINE_NAMES:
        a = native["agreement"].get(name, {})
        star = "*" if name.startswith("ONNX") else ""
        if name not in native["ms"] or name not in avx2["ms"]:
            lines.append(f"| {name} | {ms(native, name)} | {ratio(native, name)} | {ms(avx2, name)} | {ratio(avx2, name)} | "
                         + " | ".join(f"{a[k]:.3f}" if k in a else "–" for k in ("median", "median_voiced", "p99"))
                         + (f" | {100 * a['voicing']:.2f} % |" if "voicing" in a else " | – |"))
            continue
        lines.append(f"| {name} | {native['ms'][name]:.1f} | {native['ms'][base] / native['ms'][name]:.2f} | "
                     f"{avx2['ms'][name]:.1f}{star} | {avx2['ms'][base] / avx2['ms'][name]:.2f}{star} | "
                     f"{a.get('median', float('nan')):.3f} | {a.get('median_voiced', float('nan')):.3f} | {a.get('p99', float('nan')):.2f} | "
                     f"{100 * a.get('voicing', float('nan')):.2f} % |")
    for isa, run in (("native", native), ("AVX2 (emulated)", avx2)):
        for name, message in run.get("failures", {}).items():
            lines.append(f"\n{name}, {isa}: {message}.")
    corpus = native.get("corpus", {})
    lines += [
        "",
        f"Agreement: against torch float32 through the whole `estimate` pipeline (pitch only, Viterbi, checks, voicing) on the "
        f"real-audio corpus ({corpus.get('tracks')} tracks, {corpus.get('seconds', 0):.0f} s, {corpus.get('frames')} frames, "
        f"{100 * corpus.get('voiced', 0):.0f} % voiced), native run. Goal: < 1 cent median, >= 99.9 % same voicing. "
        f"torch.compile took {native['compile_s']:.0f} s to compile (native), {avx2['compile_s']:.0f} s (AVX2).",
        "",
        f"`engine='auto'` (sotdemo.engine.choose): torch bfloat16 where the CPU has it natively (here: {native['bfloat16_is_fast']}; "
        f"with the AVX2 cap: {avx2['bfloat16_is_fast']}), else ONNX Runtime float32 where installed, else torch float32.",
        "",
    ]
    def meets(name: str) -> str:
        a = native["agreement"].get(name)
        return "–" if not a else ("meets" if a["median"] < 1 and a["voicing"] >= 0.999 else "misses")

    lines += [f"The int8 rows are measured here only; no `engine` runs them. Agreement goal: int8 dynamic {meets('ONNX Runtime int8 dynamic')} it, "
              f"int8 static on every layer {meets('ONNX Runtime int8 static')} it, int8 static on the residual convolution alone "
              f"{meets(RESIDUAL_INT8)} it on this corpus (adopting it needs its calibration ranges at run time: a calibration pass "
              "of seconds per process, or ranges shipped with each checkpoint).", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
