"""Real-audio pitch benchmark: every shipped model vs pYIN and CREPE on sampled instruments.

    python bench/bench_real.py [--threads 2] [--quick] [--out results/bench_real.md]

Builds (or reuses from .cache/bench_real/) the corpus of bench/real_corpus.py: GM instrument
notes rendered by fluidsynth with the FluidR3 soundfont, each checked against its nominal pitch;
sox tones (square, sawtooth, triangle, pluck), the same with white noise, vibrato tones and MIDI
melodies. Then runs, in one process and one run, on every track:
- every shipped model (each checkpoints/**/model.safetensors, found through `sotdemo.model`) via
  `sotdemo.estimate.estimate` (its own voicing: level gate and posterior confidence);
- librosa.pyin (fmin 40, fmax 2000, frame 2048, hop 256 = our frames), its voiced flag;
- torchcrepe tiny and full (hop 10 ms, fmin 40, fmax 2000; voiced when its periodicity >= 0.5),
  if torchcrepe imports. Decoding: the weighted average around the argmax (the original CREPE's
  default): torchcrepe 0.0.24's Viterbi decoder (with librosa 0.11) returned the top bin, ~1980 Hz,
  with periodicity 0 on every frame of these tracks, clean notes included, once their silences
  hold the -70 dBFS noise floor. Install, keeping the CPU torch (torchcrepe's
  dependencies would pull a CUDA torchaudio; only its file loader needs torchaudio, so this
  script stubs that module):  pip install --no-deps torchcrepe resampy mido
Each method is scored at its own frame times against the ground truth at those times:
RPA / RCA (mir_eval.melody, 50 cents, voicing ignored) on frames in the steady part of a note,
voicing recall on those frames, voicing false alarm on silence frames (no note sounding and
the noise-free rendering below -80 dBFS, 10 dB under the noise floor, within ±0.1 s; the tracks have a -70 dBFS noise floor,
the noisy tracks white noise at 20 or 10 dB SNR), per family, instrument and register, and
its speed as seconds of audio per second of computation on `--threads` threads (default 2: the
whole 2-core machine of issue 5's goal; run it with nothing else running for speeds that mean
anything; the report states the load average at the start and the end).

Writes results/bench_real.md (or --out) and keeps every method's scored frames in the cache
folder, so that `--report-only` rewrites the report from the last run without running anything.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import librosa
import mir_eval
import numba
import numpy as np
import torch
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository root, so that `bench` and `sotdemo` import
    sys.path.insert(0, str(REPO))

from bench import real_corpus  # noqa: E402
from bench.real_corpus import SAMPLE_RATE, Corpus, Track, build_corpus, tools_available  # noqa: E402

from sotdemo import model as model_lib  # noqa: E402
from sotdemo.estimate import bfloat16_is_fast, estimate  # noqa: E402

__all__ = ["Method", "REGISTERS", "frame_truth", "main", "methods", "register_of", "score"]

SILENCE_DB = -80.0  # noise-free rendering RMS below this within ±SILENCE_MARGIN_S: silence (10 dB under the floor)
SILENCE_MARGIN_S = 0.1
CREPE_THRESHOLD = 0.5
REGISTERS = ((0, 100, "< 100 Hz"), (100, 400, "100-400 Hz"), (400, 1000, "400-1000 Hz"), (1000, 1e9, "> 1000 Hz"))
INSTRUMENT_FAMILIES = ("piano", "guitar", "strings", "woodwinds", "brass", "organ", "choir")


@dataclass
class Method:
    name: str
    run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]  # audio -> times, f0 Hz, voiced
    note: str = ""


# ---------------------------------------------------------------- methods


def _ours(name: str) -> Method:
    model = model_lib.load(name)

    def run(audio: np.ndarray):
        result = estimate(audio, SAMPLE_RATE, model=model, resynthesize=False)
        return result.times_s, result.f0_hz, result.voiced

    default = model_lib.resolve(None) == model_lib.resolve(name)
    precision = "bfloat16 convolutions" if bfloat16_is_fast() else "float32"
    return Method(name + (" (default)" if default else ""), run, f"sotdemo.estimate, default decoding (Viterbi) and voicing, pitch only (no resynthesis), {precision}")


def _pyin(audio: np.ndarray):
    f0, voiced, _ = librosa.pyin(audio, fmin=40.0, fmax=2000.0, sr=SAMPLE_RATE, frame_length=2048, hop_length=256, fill_na=None)
    return librosa.times_like(f0, sr=SAMPLE_RATE, hop_length=256), f0, voiced


def _crepe(capacity: str) -> Method | None:
    try:
        sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))  # only torchcrepe.load (files) uses it
        import torchcrepe
    except ImportError:
        return None

    def run(audio: np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
        f0, periodicity = torchcrepe.predict(
            x, SAMPLE_RATE, hop_length=160, fmin=40.0, fmax=2000.0, model=capacity, decoder=torchcrepe.decode.weighted_argmax,
            return_periodicity=True, batch_size=512, device="cpu",
        )
        f0, periodicity = f0[0].numpy().astype(np.float64), periodicity[0].numpy()
        return np.arange(len(f0)) * 0.01, f0, periodicity >= CREPE_THRESHOLD

    return Method(f"CREPE {capacity}", run, f"torchcrepe {capacity}, hop 10 ms, weighted-argmax decoding, voiced if periodicity >= {CREPE_THRESHOLD}")


def shipped_models() -> list[str]:
    """Every checkpoint folder holding weights, as `sotdemo.model.load` names (seeds and stand-alone models)."""
    root = model_lib.checkpoint_root()
    return [name for name in model_lib.available() if (root / name / "model.safetensors").is_file()]


def methods(quick: bool = False, only: str | None = None) -> tuple[list[Method], list[str]]:
    """The methods to run and notes on those skipped. `quick` (unless `only` is given): the default
    model and pYIN only; `only`: the methods whose name contains it."""
    notes = []
    quick = quick and not only
    names = [model_lib.DEFAULT_MODEL] if quick else shipped_models()
    found = []
    for name in names:
        try:
            found.append(_ours(name))
        except (ValueError, OSError, RuntimeError, KeyError) as error:
            notes.append(f"model {name} skipped: {error}")
    found.append(Method("pYIN", _pyin, "librosa.pyin, frame 2048, hop 256, its voiced flag"))
    if not quick:
        for capacity in ("tiny", "full"):
            crepe = _crepe(capacity)
            if crepe is None:
                notes.append("CREPE skipped: torchcrepe is not installed (pip install --no-deps torchcrepe resampy)")
                break
            found.append(crepe)
    if only:
        found = [m for m in found if only.lower() in m.name.lower()]
    return found, notes


# ---------------------------------------------------------------- ground truth and scores


def register_of(hz: np.ndarray) -> np.ndarray:
    labels = np.full(np.shape(hz), "", dtype=object)
    for lo, hi, label in REGISTERS:
        labels[(hz >= lo) & (hz < hi)] = label
    return labels


def frame_truth(track: Track, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground truth at `times`: reference f0 (0 where none), category (1 steady voiced, 0 silence,
    -1 unscored: attacks, releases, tails, dropped notes) and the index of the note (-1 if none)."""
    times = np.asarray(times, dtype=np.float64)
    ref = np.zeros(len(times))
    category = np.full(len(times), -1)
    note_index = np.full(len(times), -1)
    for i, note in enumerate(track.notes):
        lo, hi = note.steady()
        inside = (times >= lo) & (times <= hi)
        ref[inside] = note.f0_at(times[inside])
        category[inside] = 1
        note_index[inside] = i
    hop = 160
    rms = librosa.feature.rms(y=track.clean, frame_length=2048, hop_length=hop, center=True)[0]
    loud = 20 * np.log10(np.maximum(rms, 1e-10)) >= SILENCE_DB
    margin = int(round(SILENCE_MARGIN_S * SAMPLE_RATE / hop))
    near_loud = np.convolve(loud.astype(float), np.ones(2 * margin + 1), mode="same") > 0
    frame = np.clip(np.round(times * SAMPLE_RATE / hop).astype(int), 0, len(rms) - 1)
    category[(category == -1) & ~near_loud[frame]] = 0
    return ref, category, note_index


def score(ref_hz: np.ndarray, est_hz: np.ndarray, est_voiced: np.ndarray, category: np.ndarray) -> dict[str, float]:
    """mir_eval RPA / RCA on steady frames (category 1; voicing ignored, as mir_eval's raw measures do),
    voicing recall on them and voicing false alarm on silence frames (category 0). NaN where no frames."""
    steady, silence = category == 1, category == 0
    est = np.nan_to_num(np.asarray(est_hz, dtype=np.float64), nan=0.0)
    out = {"rpa": float("nan"), "rca": float("nan"), "recall": float("nan"), "fa": float("nan"), "steady": int(steady.sum()), "silence": int(silence.sum())}
    if steady.any():
        ones = np.ones(int(steady.sum()))
        ref_c = mir_eval.melody.hz2cents(np.asarray(ref_hz, dtype=np.float64)[steady])
        est_c = mir_eval.melody.hz2cents(est[steady])
        out["rpa"] = float(mir_eval.melody.raw_pitch_accuracy(ones, ref_c, ones, est_c))
        out["rca"] = float(mir_eval.melody.raw_chroma_accuracy(ones, ref_c, ones, est_c))
    scored = steady | silence
    if scored.any():
        recall, fa = mir_eval.melody.voicing_measures(steady[scored].astype(float), np.asarray(est_voiced, dtype=bool)[scored].astype(float))
        out["recall"] = float(recall) if steady.any() else float("nan")
        out["fa"] = float(fa) if silence.any() else float("nan")
    return out


# ---------------------------------------------------------------- run


@dataclass
class Frames:
    """Every scored frame of one method, pooled over the corpus."""

    ref: np.ndarray
    est: np.ndarray
    voiced: np.ndarray
    category: np.ndarray
    family: np.ndarray
    instrument: np.ndarray
    seconds: float  # computation time
    audio_seconds: float

    def select(self, mask: np.ndarray) -> dict[str, float]:
        return score(self.ref[mask], self.est[mask], self.voiced[mask], self.category[mask])

    def error_kinds(self, mask: np.ndarray) -> dict[str, float]:
        """Among steady frames in `mask`: shares off by an octave up / down, and other errors."""
        m = mask & (self.category == 1)
        cents = 1200 * np.log2(np.maximum(self.est[m], 1e-3) / self.ref[m])
        n = max(int(m.sum()), 1)
        return {
            "octave up": float(np.sum(np.abs(cents - 1200) < 50)) / n,
            "octave down": float(np.sum(np.abs(cents + 1200) < 50)) / n,
            "fifth/twelfth": float(np.sum((np.abs(cents - 1902) < 50) | (np.abs(cents - 702) < 50) | (np.abs(cents + 1902) < 50) | (np.abs(cents + 702) < 50))) / n,
            "other": float(np.sum((np.abs(cents) >= 50) & (np.abs(np.abs(cents) - 1200) >= 50) & (np.abs(np.abs(cents) - 1902) >= 50) & (np.abs(np.abs(cents) - 702) >= 50))) / n,
        }


def run_method(method: Method, corpus: Corpus, progress: bool = True) -> Frames:
    warm = corpus.tracks[0].audio[: SAMPLE_RATE]
    method.run(warm)  # loads weights, compiles, fills caches: not timed
    parts, total = [], 0.0
    for track in tqdm(corpus.tracks, desc=method.name, disable=not progress, leave=False):
        start = time.perf_counter()
        times, f0, voiced = method.run(track.audio)
        total += time.perf_counter() - start
        ref, category, note_index = frame_truth(track, times)
        family = np.array([track.notes[i].family if i >= 0 else track.family for i in note_index], dtype=object)
        instrument = np.array([track.notes[i].instrument if i >= 0 else track.name for i in note_index], dtype=object)
        parts.append((ref, np.asarray(f0, dtype=np.float64), np.asarray(voiced, dtype=bool), category, family, instrument))
    columns = [np.concatenate(c) for c in zip(*parts)]
    return Frames(*columns, seconds=total, audio_seconds=corpus.seconds)


# ---------------------------------------------------------------- report


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}"


def _speed(frames: Frames) -> float:
    return frames.audio_seconds / max(frames.seconds, 1e-9)


def _times(x: float) -> str:
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def _goals(results: dict[str, Frames], default: str, threads: int, load: tuple) -> list[str]:
    """Issue 5's goals for the default model, checked against this run."""
    instrument = lambda fr: fr.select(np.isin(fr.family, INSTRUMENT_FAMILIES))  # noqa: E731
    ours = instrument(results[default])
    fa = results[default].select(results[default].family != "noisy")["fa"]
    lines = ["", "Goals of issue 5 for the default model, in this run:", ""]

    def line(text: str, ok: bool) -> None:
        lines.append(f"- {'met' if ok else 'NOT met'}: {text}")

    line(f"RPA on instrument notes >= 99 %: {_pct(ours['rpa'])} %", ours["rpa"] >= 0.99)
    if "CREPE full" in results:
        crepe = instrument(results["CREPE full"])["rpa"]
        line(f"at least CREPE full's ({_pct(crepe)} %)", ours["rpa"] >= crepe)
    if "pYIN" in results:
        pyin = instrument(results["pYIN"])["rpa"]
        line(f"within one point of pYIN's ({_pct(pyin)} %)", ours["rpa"] >= pyin - 0.01)
        line(f">= 100x real time on this CPU: {_times(_speed(results[default]))}x on {threads} thread(s), load average {load[0]:.1f} / {load[1]:.1f} at start / end (pYIN {_times(_speed(results['pYIN']))}x)", _speed(results[default]) >= 100)
    line(f"voicing false alarms on silence <= 5 %: {_pct(fa)} %", fa <= 0.05)
    return lines


def _report(corpus: Corpus, results: dict[str, Frames], method_notes: list[str], notes: list[tuple[str, str]], command: list[str], wall: float, load: tuple, threads: int = 1,
            updates: list | None = None) -> str:
    any_frames = next(iter(results.values()))
    instrument_mask = np.isin(any_frames.family, INSTRUMENT_FAMILIES)
    lines = [
        "# Real-audio pitch benchmark",
        "",
        f"`{' '.join(['python', 'bench/bench_real.py', *command])}` (bench/bench_real.py, corpus from bench/real_corpus.py). "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, every method on {threads} thread(s) "
        f"(torch.set_num_threads({threads}), OMP/NUMBA {threads}); load average {load[0]:.1f} at start, {load[1]:.1f} at the end "
        f"(the run itself keeps it near {threads}; well above that, other jobs shared the machine and speeds are indicative); whole run {wall / 60:.1f} min.",
        "",
        f"Corpus: {len(corpus.tracks)} tracks, {corpus.seconds:.0f} s of 16 kHz audio, "
        f"{sum(len(t.notes) for t in corpus.tracks)} scored notes. Each method is scored at its own frame times. "
        "RPA/RCA (mir_eval, 50 cents, voicing decision ignored) on frames in the steady part of a note "
        f"(from onset + 100 ms to note-off − 50 ms); voicing recall on those frames; voicing false alarm (FA) on silence "
        f"frames (nothing sounding within ±{SILENCE_MARGIN_S * 1000:.0f} ms: noise-free rendering below {SILENCE_DB:.0f} dBFS; "
        "the tracks are peak-normalised to -6 dBFS over a -70 dBFS white noise floor). \"Instrument notes\" = the GM instrument "
        "notes (piano, guitar, strings, woodwinds, brass, organ, choir); the noisy tracks' silences are white noise at 20 / 10 dB "
        "below the notes (FA noise). Speed: seconds of audio per second of computation (× real time), whole corpus.",
        *[f"\n**Re-run into this table** ({u['date']}, `{' '.join(['python', 'bench/bench_real.py', *u['command']])}`, "
          f"{u['wall'] / 60:.1f} min, load average {u['load'][0]:.1f} / {u['load'][1]:.1f}): {u['what']}; every other row is "
          "from the run above." for u in (updates or [])],
        "",
        "## Summary",
        "",
        "| method | RPA % instrument notes | RCA % instrument notes | voicing recall % instrument notes | RPA % melodies | RPA % sox tones | RPA % noisy | RPA % vibrato | RPA % all | voicing recall % | FA % silence | FA % noise | × real time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, fr in results.items():
        inst = fr.select(np.isin(fr.family, INSTRUMENT_FAMILIES))
        fam = {f: fr.select(fr.family == f) for f in ("melody", "synthetic", "noisy", "vibrato")}
        everything = fr.select(np.ones(len(fr.ref), dtype=bool))
        clean_sil = fr.select(fr.family != "noisy")
        noisy = fam["noisy"]
        lines.append(
            f"| {name} | {_pct(inst['rpa'])} | {_pct(inst['rca'])} | {_pct(inst['recall'])} | {_pct(fam['melody']['rpa'])} | {_pct(fam['synthetic']['rpa'])} | "
            f"{_pct(noisy['rpa'])} | {_pct(fam['vibrato']['rpa'])} | {_pct(everything['rpa'])} | {_pct(everything['recall'])} | "
            f"{_pct(clean_sil['fa'])} | {_pct(noisy['fa'])} | {_times(_speed(fr))} |"
        )
    n_steady = int(np.sum(any_frames.category == 1))
    lines += ["", f"Frames scored (first method): {n_steady} steady, {int(np.sum(any_frames.category == 0))} silence, "
              f"{int(np.sum(instrument_mask & (any_frames.category == 1)))} steady on instrument notes."]
    for note in method_notes:
        lines.append(f"- {note}")
    lines += ["", "Methods: " + "; ".join(f"**{n}**: {m}" for n, m in notes)]

    # Per family, every method.
    families = list(dict.fromkeys([*INSTRUMENT_FAMILIES, "melody", "synthetic", "noisy", "vibrato"]))
    lines += ["", "## RPA % per family (every method)", "", "| method | " + " | ".join(families) + " |", "|---|" + "---:|" * len(families)]
    for name, fr in results.items():
        lines.append(f"| {name} | " + " | ".join(_pct(fr.select(fr.family == f)["rpa"]) for f in families) + " |")

    lines += ["", "## Voicing recall % / false alarms % per family (every method; FA on the family's silence frames)", "",
              "| method | " + " | ".join(families) + " |", "|---|" + "---:|" * len(families)]
    for name, fr in results.items():
        cells = []
        for f in families:
            s = fr.select(fr.family == f)
            cells.append(f"{_pct(s['recall'])} / {_pct(s['fa'])}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    # Per register on instrument notes, every method.
    lines += ["", "## RPA % per register, instrument notes (every method)", "", "| method | " + " | ".join(r[2] for r in REGISTERS) + " |", "|---|" + "---:|" * len(REGISTERS)]
    for name, fr in results.items():
        reg = register_of(fr.ref)
        lines.append(f"| {name} | " + " | ".join(_pct(fr.select(np.isin(fr.family, INSTRUMENT_FAMILIES) & (reg == r[2]))["rpa"]) for r in REGISTERS) + " |")

    # Per instrument: our configurations' resolved models and the baselines.
    shown = [n for n in results if "(default)" in n] + [n for n in results if "/" not in n and "(default)" not in n]
    instruments = list(dict.fromkeys(any_frames.instrument[any_frames.category == 1]))
    lines += ["", "## Per instrument (RPA % / RCA %; steady frames of the first method)", "",
              "| instrument | family | frames | " + " | ".join(shown) + " |", "|---|---|---:|" + "---:|" * len(shown)]
    for inst in instruments:
        mask0 = (any_frames.instrument == inst) & (any_frames.category == 1)
        family = any_frames.family[mask0][0]
        cells = []
        for n in shown:
            s = results[n].select((results[n].instrument == inst) & (results[n].category == 1))
            cells.append(f"{_pct(s['rpa'])} / {_pct(s['rca'])}")
        lines.append(f"| {inst} | {family} | {int(mask0.sum())} | " + " | ".join(cells) + " |")

    # Where the default model loses.
    default = next((n for n in results if "(default)" in n), None)
    if default is not None:
        fr = results[default]
        lines += ["", f"## Where {default} loses", "", "Instruments below 99 % RPA or more than one point below pYIN, with the kinds of errors (share of steady frames):", "",
                  "| instrument | failing frames per register | RPA % | pYIN RPA % | octave up | octave down | fifth / twelfth | other |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        pyin = results.get("pYIN")
        for inst in instruments:
            mask = fr.instrument == inst
            s = fr.select(mask & (fr.category == 1))
            p = pyin.select((pyin.instrument == inst) & (pyin.category == 1))["rpa"] if pyin else float("nan")
            if s["rpa"] < 0.99 or (p == p and s["rpa"] < p - 0.01):
                steady = mask & (fr.category == 1)
                wrong = steady & (np.abs(1200 * np.log2(np.maximum(fr.est, 1e-3) / np.maximum(fr.ref, 1e-3))) >= 50)
                regs = register_of(fr.ref[wrong])
                reg_text = ", ".join(f"{r[2]}: {np.sum(regs == r[2])}" for r in REGISTERS if np.sum(regs == r[2]))
                k = fr.error_kinds(mask)
                lines.append(f"| {inst} | {reg_text} | {_pct(s['rpa'])} | {_pct(p)} | {_pct(k['octave up'])} | {_pct(k['octave down'])} | {_pct(k['fifth/twelfth'])} | {_pct(k['other'])} |")

        lines += ["", "Why: `estimate` picks each frame's pitch bin by a Viterbi path through the clip's pitch posteriors (a smooth "
                  "pitch that rarely jumps: [bench_real_viterbi.md](bench_real_viterbi.md); each frame's own peak scored 98.3 % on these notes, the "
                  "training soft-argmax far less: [bench_real_decoding.md](bench_real_decoding.md)), reads f0 around it and then halves f0 "
                  "where the spectrum holds partials at odd multiples of f0/2 ([octave_check.md](octave_check.md)). What the default "
                  "model still gets wrong, read off the frames: the choir patch's 82.4 Hz note (detuned voices: 3 frames 53-55 cents "
                  "flat, 5 an octave down; pYIN also fails there), a nylon guitar frame; in the melodies, frames at note changes (the cello's line reading the octave below the previous "
                  "note) and the decaying ends of two piano notes, where the posterior falls to the lowest bins at low confidence."]
        lines += _goals(results, default, threads, load)

    # The corpus and its checks.
    lines += ["", "## Corpus", "", "| track | family | source | seconds | scored notes | noise |", "|---|---|---|---:|---:|---|"]
    for t in corpus.tracks:
        midis = sorted({round(n.midi, 1) for n in t.notes})
        lines.append(f"| {t.name} | {t.family} | {t.source} | {t.seconds:.1f} | {len(t.notes)} (MIDI {midis[0]:g}–{midis[-1]:g}) | {t.noise_db:.0f} dBFS |")
    agree = {}
    for check in corpus.checks:
        agree[check["agree"]] = agree.get(check["agree"], 0) + 1
    lines += ["", f"**Pitch check** of the {len(corpus.checks)} rendered notes (sub-harmonic summation on a long-window spectrum of the steady part, and pYIN's median "
              "over it; kept when either is within 50 cents of the nominal pitch and no partial at an odd multiple of f0/2 is within "
              f"{-real_corpus.SUB_OCTAVE_LIMIT_DB:.0f} dB of the strongest harmonic): " + ", ".join(f"{v} {k}" for k, v in sorted(agree.items())) + "."]
    cents = np.array([c["shs_cents"] for c in corpus.checks if c["keep"] and abs(c["shs_cents"]) <= 50])
    if len(cents):
        lines.append(f"Kept notes' tuning by SHS: median {np.median(cents):+.0f} cents, 95th percentile of |deviation| {np.percentile(np.abs(cents), 95):.0f} cents.")
    if corpus.fixes:
        lines += ["", "Transposed presets (re-rendered with the MIDI notes shifted back): " + "; ".join(f"{f['instrument']} sounded {f['shift_semitones']:+d} semitones" for f in corpus.fixes) + "."]
    else:
        lines += ["", "No preset was transposed as a whole (no preset had most notes at one non-zero semitone offset)."]
    if corpus.dropped:
        lines += ["", "Dropped notes (left in the audio, unscored):", "", "| instrument | MIDI | nominal Hz | SHS Hz | pYIN Hz | reason |", "|---|---:|---:|---:|---:|---|"]
        for d in corpus.dropped:
            lines.append(f"| {d['instrument']} | {d['midi']:g} | {d['nominal_hz']} | {d['shs_hz']} | {d['pyin_hz']} | {d['reason']} |")
    else:
        lines += ["", "No note was dropped."]
    partial = [c for c in corpus.checks if c["keep"] and c["agree"] != "both"]
    if partial:
        lines += ["", "Kept with one estimator only: " + "; ".join(f"{c['instrument']} MIDI {c['midi']:g} ({c['agree']}: SHS {c['shs_hz']} Hz, pYIN {c['pyin_hz']} Hz, nominal {c['nominal_hz']} Hz)" for c in partial) + "."]
    lines += ["", "## Re-run", "", "```bash", "sudo apt-get install -y fluidsynth fluid-soundfont-gm sox",
              "pip install --no-deps torchcrepe resampy mido   # keeps the CPU torch; see requirements-bench.txt",
              "python bench/bench_real.py --threads 2   # every model in checkpoints/, pYIN, CREPE; nothing else running", "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few notes, the default model and pYIN (seconds; for tests)")
    parser.add_argument("--threads", type=int, default=2, help="torch / OpenMP / numba threads for every method (default 2)")
    parser.add_argument("--only", default=None, help="run only methods whose name contains this")
    parser.add_argument("--ours", action="store_true", help="run only this project's checkpoints (every `sotdemo.estimate` method)")
    parser.add_argument("--update", action="store_true", help="re-run the selected methods (--only / --ours) into the last saved run: "
                        "the other methods keep their saved frames, and the report says which rows were re-run when")
    parser.add_argument("--cache", default=str(REPO / ".cache" / "bench_real"), help="corpus cache folder ('' for none)")
    parser.add_argument("--out", default=str(REPO / "results" / "bench_real.md"))
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last run's saved frames (in --cache), running nothing")
    args = parser.parse_args(argv)
    missing = tools_available()
    if missing:
        print(f"cannot build the corpus, missing: {', '.join(missing)} (apt-get install fluidsynth fluid-soundfont-gm sox)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    start, load0 = time.perf_counter(), os.getloadavg()[0]
    corpus = build_corpus(Path(args.cache) if args.cache else None, quick=args.quick, progress=not args.quick)
    saved = Path(args.cache) / f"last-run{'-quick' if args.quick else ''}.pkl" if args.cache else None
    if args.report_only:
        if saved is None or not saved.is_file():
            print("no saved run to report (run without --report-only first)", file=sys.stderr)
            return 2
        state = pickle.loads(saved.read_bytes())
        state["results"] = {name: Frames(**fields) for name, fields in state["results"].items()}
    else:
        found, method_notes = methods(args.quick, args.only)
        if args.ours:
            found = [m for m in found if m.note.startswith("sotdemo.estimate")]
        previous = None
        if args.update:
            if saved is None or not saved.is_file():
                print("no saved run to update (run without --update first)", file=sys.stderr)
                return 2
            previous = pickle.loads(saved.read_bytes())
        results = {}
        for method in found:
            results[method.name] = run_method(method, corpus, progress=not args.quick)
            fr = results[method.name]
            s = fr.select(np.ones(len(fr.ref), dtype=bool))
            print(f"{method.name}: RPA {_pct(s['rpa'])} %, FA {_pct(s['fa'])} %, {_times(_speed(fr))}x real time", file=sys.stderr)
        state = {
            "results": results, "method_notes": method_notes, "notes": [(m.name, m.note) for m in found],
            "command": list(sys.argv[1:] if argv is None else argv), "wall": time.perf_counter() - start, "load": (load0, os.getloadavg()[0]),
            "threads": args.threads,
        }
        if previous is not None:  # the re-run rows replace theirs, in the saved run's order; the header keeps the saved run's command
            rerun = {name.removesuffix(" (default)") for name in results}  # the default's mark moves with the default
            merged = {name: Frames(**fields) for name, fields in previous["results"].items() if name.removesuffix(" (default)") not in rerun}
            merged.update(results)
            update = {"date": time.strftime("%Y-%m-%d"), "command": state["command"], "wall": state["wall"], "load": state["load"],
                      "what": ", ".join(results) if len(results) <= 3 else f"{len(results)} methods: every one whose note starts "
                      "with sotdemo.estimate (this project's checkpoints)" if args.ours else f"{len(results)} methods"}
            notes = {name: note for name, note in previous["notes"] if name.removesuffix(" (default)") not in rerun}
            notes.update(state["notes"])
            earlier = [u for u in previous.get("updates", []) if not (args.ours and "--ours" in u["command"])]  # rows all re-run now
            state = {**previous, "results": merged, "notes": list(notes.items()), "updates": [*earlier, update]}
        if saved is not None:  # plain dicts of arrays: readable whichever way this module was imported
            saved.write_bytes(pickle.dumps({**state, "results": {name: vars(fr) for name, fr in results.items()}}))
    text = _report(corpus, **state)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
