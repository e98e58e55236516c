"""Real-audio pitch: each frame's posterior peak vs a Viterbi path through the clip (sotdemo.decode).

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/real_viterbi.py [--out results/bench_real_viterbi.md]

On the corpus of bench/real_corpus.py (the cached one bench_real.py uses), runs
`sotdemo.estimate.estimate` (pitch only, everything else at its defaults) on every track with
`decoder="peak"` and `decoder="viterbi"` for the shipped models that learned pitch (sot-realistic,
sot-2048-curriculum, sot-2048-curriculum-logf: every seed), scored as bench_real.py scores them.
Then, for the default model only, the Viterbi path's two parameters over a grid (the largest
smooth step per frame, `MAX_STEP_BINS`, and the probability of a jump to any bin per frame,
`JUMP_PROBABILITY`), every cell reported, to show how much the result depends on them: the
shipped values were set a priori (2 semitones per 16 ms frame covers vibrato and glides; a
jump about once per 1000 frames) and are not tuned on this corpus. Also times the decoding
alone (`viterbi_path` on the whole corpus's posteriors).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository root, so that `bench` and `sotdemo` import
    sys.path.insert(0, str(REPO))

from bench.bench_real import INSTRUMENT_FAMILIES, Method, _pct, run_method  # noqa: E402
from bench.real_corpus import SAMPLE_RATE, build_corpus  # noqa: E402

from sotdemo import decode  # noqa: E402
from sotdemo import estimate as estimate_module  # noqa: E402
from sotdemo import model as model_lib  # noqa: E402
from sotdemo.spectral import cqt  # noqa: E402

CONFIGS = ("sot-realistic", "sot-2048-curriculum", "sot-2048-curriculum-logf")
STEPS = (3, 6, 12)
JUMPS = (1e-2, 1e-3, 1e-5)


def _method(model, decoder: str) -> Method:
    def run(audio: np.ndarray):
        result = estimate_module.estimate(audio, SAMPLE_RATE, model=model, resynthesize=False, decoder=decoder)
        return result.times_s, result.f0_hz, result.voiced

    return Method(decoder, run)


def _scores(frames) -> list[str]:
    inst = frames.select(np.isin(frames.family, INSTRUMENT_FAMILIES))
    steady = frames.category == 1
    wrong = steady & np.isin(frames.family, INSTRUMENT_FAMILIES) & (
        np.abs(1200 * np.log2(np.maximum(frames.est, 1e-3) / np.maximum(frames.ref, 1e-3))) >= 50)
    melody = frames.select(frames.family == "melody")
    everything = frames.select(np.ones(len(frames.ref), dtype=bool))
    clean = frames.select(frames.family != "noisy")
    return [_pct(inst["rpa"]), str(int(wrong.sum())), _pct(inst["rca"]), _pct(melody["rpa"]), _pct(everything["rpa"]),
            _pct(everything["recall"]), _pct(clean["fa"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=str(REPO / ".cache" / "bench_real"))
    parser.add_argument("--out", default=str(REPO / "results" / "bench_real_viterbi.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    corpus = build_corpus(Path(args.cache), progress=False)
    default = model_lib.resolve(None)
    columns = "RPA % instrument notes | wrong frames, instrument notes | RCA % instrument notes | RPA % melodies | RPA % all | voicing recall % | FA % silence"
    lines = [
        "# Real-audio pitch: posterior peak vs Viterbi path",
        "",
        f"`python bench/real_viterbi.py` (bench/real_viterbi.py) on the corpus of bench/bench_real.py ({len(corpus.tracks)} tracks, "
        f"{corpus.seconds:.0f} s). `sotdemo.estimate` with everything at its defaults but the decoder (sotdemo/decode.py): "
        "*peak* reads each frame around its own posterior peak, *viterbi* around the most probable smooth path through the "
        f"clip's posteriors (at most {decode.MAX_STEP_BINS} bins = {decode.MAX_STEP_BINS / 3:.0f} semitones per 16 ms frame, "
        f"a jump anywhere with probability {decode.JUMP_PROBABILITY:g} per frame). Scored as bench_real.py: mir_eval RPA / RCA "
        "(50 cents) on steady frames, voicing recall on them, false alarms on silence frames of the clean tracks.",
        "",
        "## Every seed of the models that learned pitch",
        "",
        f"| model | decoder | {columns} |",
        "|---|---|" + "---:|" * 7,
    ]
    names = [n for n in model_lib.available() if n.split("/")[0] in CONFIGS and "/seed-" in n]
    for name in names:
        model = model_lib.load(name)
        label = name + (" (default)" if model_lib.resolve(name) == default else "")
        for decoder in estimate_module.DECODERS[::-1]:
            frames = run_method(_method(model, decoder), corpus, progress=False)
            lines.append(f"| {label} | {decoder} | " + " | ".join(_scores(frames)) + " |")
            print(lines[-1], file=sys.stderr, flush=True)

    default_name = next((n for n in names if model_lib.resolve(n) == default), str(default))
    lines += ["", f"## The Viterbi path's parameters, default model ({default_name})", "",
              f"Shipped: max step {decode.MAX_STEP_BINS} bins, jump probability {decode.JUMP_PROBABILITY:g}.", "",
              f"| max step, bins | jump probability | {columns} |", "|---:|---:|" + "---:|" * 7]
    model = model_lib.load(None)
    shipped = estimate_module.viterbi_path
    try:
        for step in STEPS:
            for jump in JUMPS:
                estimate_module.viterbi_path = functools.partial(decode.viterbi_path, max_step=step, jump_probability=jump)
                frames = run_method(_method(model, "viterbi"), corpus, progress=False)
                lines.append(f"| {step} | {jump:g} | " + " | ".join(_scores(frames)) + " |")
                print(lines[-1], file=sys.stderr, flush=True)
    finally:
        estimate_module.viterbi_path = shipped

    posteriors = []
    with torch.no_grad():
        for track in corpus.tracks:
            logits = model(torch.from_numpy(cqt(track.audio))).logits
            posteriors.append(torch.softmax(logits / model.config.encoder.temperature, -1).numpy())
    decode.viterbi_path(posteriors[0][:10])  # compiles (or loads numba's cache): not timed
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for posterior in posteriors:
            decode.viterbi_path(posterior)
        best = min(best, time.perf_counter() - start)
    n_frames = sum(len(p) for p in posteriors)
    lines += ["", f"Decoding alone: `viterbi_path` on the corpus's {n_frames} frames of posteriors took {best * 1000:.0f} ms "
              f"(best of 5, 1 thread): {corpus.seconds / best:.0f}x real time, {best / n_frames * 1e6:.1f} µs per frame.", ""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
