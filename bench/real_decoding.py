"""How much of our models' real-audio pitch error is the soft-argmax decoding, not the posterior?

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/real_decoding.py [--out results/bench_real_decoding.md]

On the corpus of bench/real_corpus.py (the cached one bench_real.py uses), every shipped model's
pitch posterior (softmax of its logits at its temperature) is decoded two ways on the same CQT
frames: the soft-argmax over all bins (what the encoder returns and `sotdemo.estimate` reports)
and a local average, the posterior-weighted mean of log2 f0 within ±1 semitone (±3 bins) of the
posterior's peak (CREPE's decoding; the same window as estimate's confidence). Scored like
bench_real.py (mir_eval RPA / RCA on steady frames). A diagnostic for the next model, not a method
of the benchmark: nothing in sotdemo changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository root, so that `bench` and `sotdemo` import
    sys.path.insert(0, str(REPO))

from bench.bench_real import INSTRUMENT_FAMILIES, _pct, frame_truth, score, shipped_models  # noqa: E402
from bench.real_corpus import build_corpus  # noqa: E402

from sotdemo import model as model_lib  # noqa: E402
from sotdemo.spectral import cqt, frame_times  # noqa: E402

HALF_WIDTH = 3  # bins (1/3 semitone each)


def decode(logits: torch.Tensor, log2_bins: torch.Tensor, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(soft-argmax f0, local-average f0) in Hz for logits `[frames, bins]`."""
    posterior = torch.softmax(logits / temperature, dim=-1)
    log2_bins = log2_bins.to(posterior.dtype)
    soft = torch.exp2(posterior @ log2_bins)
    peak = posterior.argmax(dim=-1, keepdim=True)
    idx = torch.arange(posterior.shape[-1])[None]
    window = (idx - peak).abs() <= HALF_WIDTH
    local_w = posterior * window
    local = torch.exp2((local_w @ log2_bins) / local_w.sum(-1).clamp_min(1e-12))
    return soft.numpy().astype(np.float64), local.numpy().astype(np.float64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=str(REPO / ".cache" / "bench_real"))
    parser.add_argument("--out", default=str(REPO / "results" / "bench_real_decoding.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    corpus = build_corpus(Path(args.cache), progress=False)
    frames = [torch.from_numpy(cqt(t.audio)) for t in corpus.tracks]
    truths = [frame_truth(t, frame_times(len(f))) for t, f in zip(corpus.tracks, frames)]
    family = np.concatenate([[t.notes[i].family if i >= 0 else t.family for i in truth[2]] for t, truth in zip(corpus.tracks, truths)])
    ref = np.concatenate([truth[0] for truth in truths])
    category = np.concatenate([truth[1] for truth in truths])
    instrument_notes = np.isin(family, INSTRUMENT_FAMILIES)
    default = model_lib.resolve(None)
    lines = [
        "# Real-audio pitch: soft-argmax vs local-average decoding of the same posterior",
        "",
        f"`python bench/real_decoding.py` on the corpus of bench/bench_real.py ({len(corpus.tracks)} tracks, {corpus.seconds:.0f} s). "
        "RPA / RCA % (mir_eval, 50 cents) on steady frames. *soft-argmax*: the encoder's f0 (what `estimate` reports); "
        "*local*: the posterior-weighted mean of log2 f0 within ±1 semitone of the posterior's peak.",
        "",
        "| model | RPA instrument notes, soft-argmax | RPA instrument notes, local | RCA instrument notes, soft-argmax | RCA instrument notes, local | RPA all, soft-argmax | RPA all, local |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in shipped_models():
        model = model_lib.load(name)
        log2_bins = torch.log2(torch.from_numpy(model.config.encoder.pitch_bins_hz()).float())
        soft, local = [], []
        with torch.no_grad():
            for f in frames:
                s, l_ = decode(model(f).logits, log2_bins, model.config.encoder.temperature)
                soft.append(s)
                local.append(l_)
        soft_all, local_all = np.concatenate(soft), np.concatenate(local)
        voiced = np.ones(len(ref), dtype=bool)
        si, li = score(ref[instrument_notes], soft_all[instrument_notes], voiced[instrument_notes], category[instrument_notes]), score(ref[instrument_notes], local_all[instrument_notes], voiced[instrument_notes], category[instrument_notes])
        sa, la = score(ref, soft_all, voiced, category), score(ref, local_all, voiced, category)
        label = name + (" (default)" if model_lib.resolve(name) == default else "")
        lines.append(f"| {label} | {_pct(si['rpa'])} | {_pct(li['rpa'])} | {_pct(si['rca'])} | {_pct(li['rca'])} | {_pct(sa['rpa'])} | {_pct(la['rpa'])} |")
        print(lines[-1], file=sys.stderr)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
