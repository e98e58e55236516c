"""Choose the voicing thresholds (`voicing.MIN_CONFIDENCE`, `voicing.MIN_HARMONICITY`) on synthetic sets.

    OMP_NUM_THREADS=1 python bench/voicing_calibration.py [--model NAME] [--clips 40] [--out results/voicing_calibration.md]

Every clip is generated here from its own seed (`sotdemo.signals`, `sotdemo.data`; seed base
7000, distinct from training's and from the benchmarks'), analysed once by `estimate` with every
voicing threshold at zero, and the thresholds are then swept over the stored per-frame
confidence and harmonicity:

- pitched families (frames at least 0.1 s from the clip's ends, true f0 known per frame): tones of
  the `realistic` training distribution (1 s, constant parameters; only frames above -50 dBFS, as its
  clips start late or decay into their noise), voice-like tones (glottal
  source, formants, vibrato, jitter, breath; 70-700 Hz), the same through a telephone channel
  (300-3400 Hz at 8 kHz), low voices (70-130 Hz, open vowels, 30-80 cents of vibrato), missing-fundamental tones (partials 2-10 or 3-12), tones in white or
  pink noise (SNR 5-30 dB) and a note with the next one, a fifth or a third above, still sounding
  3-12 dB below it (the lower one is the truth; a legato line, where the next note is already loud);
- unpitched families (every frame above the level gate should be unvoiced): white, pink, brown
  noise and 20-150 Hz rumble at -50 ... -10 dBFS, and sines below the model's range (5-30 Hz);
- note edges: notes of 10 partials (60-1000 Hz) that start and stop abruptly between near-silences;
  a frame within 0.1 s of either end voiced at a pitch half an octave or more off counts as a false
  alarm (a click's flat spectrum fills the dense comb of a pitch 2-3 octaves down). Reported beside
  the noise families; it sets the floor of confidence a frame voiced on harmonicity alone needs (the
  highest floor that costs no family any recall), not the other thresholds.

The chosen thresholds maximise the lowest recall of the pitched families subject to a false-alarm
rate of at most 1 % on every unpitched family (the goals are 1 % for white noise and 5 % for
coloured noise; the margin is for colours, bands and levels not drawn here). The benchmarks (bench/bench_real.py) never enter the choice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sotdemo import signals  # noqa: E402
from sotdemo.data import DataConfig, generate  # noqa: E402
from sotdemo.estimate import DEFAULT_LEVEL_DB, estimate, get_model  # noqa: E402
from sotdemo.spectral import SAMPLE_RATE  # noqa: E402
from sotdemo import voicing  # noqa: E402
from sotdemo.voicing import CLEAR_HARMONICITY, CLEAR_MIN_CONFIDENCE, MIN_CONFIDENCE, MIN_HARMONICITY  # noqa: E402
from sotdemo.voicing import TOOTH_SPREAD as USED_SPREAD  # noqa: E402

SEED = 7000
CONFIDENCES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
HARMONICITIES = (0.6, 0.65, 0.7, 0.75)
CLEARS = (0.8, 0.85, 0.9, 0.95, 1.01)  # 1.01: never voiced on harmonicity alone
FLOORS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2)  # the confidence a frame voiced on harmonicity alone still needs
SPREADS = (0.0, 0.01, 0.02, 0.03)
LEVELS = (-50.0, -55.0, -60.0, -65.0, -70.0)
REALISTIC_FLOOR_DB = -50.0  # the `realistic` clips' frames scored as pitched
MAX_FALSE_ALARM = 0.01
EDGE_S = 0.1
EDGE_GAP_S, EDGE_NOTE_S = 0.3, 0.6  # the note-edge family: near-silence, the note, near-silence
EDGES = "note edges (wrong pitch)"
RECALL_RESOLUTION = 0.005  # lowest recalls closer than half a point tie (a family has about 2000 frames, 50 per clip)
EDGE_WRONG_CENTS = 600.0  # an edge frame voiced this far off the note's pitch is a false alarm (a glide into the note is not)


def _pitched_clips(n: int) -> dict[str, list[tuple[np.ndarray, int, np.ndarray]]]:
    """Family -> [(audio, sample rate, true f0 per 16 kHz sample)]."""
    rng = np.random.default_rng(SEED)
    out: dict[str, list] = {k: [] for k in ("realistic tones", "voices", "low voices", "phone voices", "missing fundamental", "tones in noise",
                                            "two notes")}
    data = generate(DataConfig(distribution="realistic", n_clips=3 * n, n_samples=SAMPLE_RATE, max_harmonics=20, f0_max_hz=1600.0,
                               seed=SEED, vibrato_share=0.0, glide_share=0.0, noise_only_share=0.0))
    for audio, f0 in zip(data.audio, data.f0_hz):
        if f0 > 0 and len(out["realistic tones"]) < n:
            out["realistic tones"].append((audio.astype(np.float64), SAMPLE_RATE, np.full(len(audio), f0)))
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(70), np.log(700))))
        audio, track = signals.voice(f0, 1.0, rng, vibrato_cents=rng.uniform(0, 80), jitter=rng.uniform(0, 0.01),
                                     breath_db=rng.uniform(-40, -15), tilt_db_per_octave=rng.uniform(-15, -6))
        level = rng.uniform(-60, -6)
        out["voices"].append((signals.scale_to_dbfs(audio, level), SAMPLE_RATE, track))
        out["phone voices"].append((signals.scale_to_dbfs(signals.phone_band(audio, SAMPLE_RATE), level), 8000, track))
        low, low_track = signals.voice(float(rng.uniform(70, 130)), 1.0, rng, vowel=str(rng.choice(["a", "o", "e"])),
                                       vibrato_cents=rng.uniform(30, 80), jitter=rng.uniform(0, 0.008), breath_db=rng.uniform(-40, -20))
        out["low voices"].append((signals.scale_to_dbfs(low, rng.uniform(-40, -6)), SAMPLE_RATE, low_track))
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(60), np.log(1000))))
        lowest = int(rng.integers(2, 4))
        audio = signals.missing_fundamental(f0, 1.0, (lowest, lowest + 8), rng=rng)
        out["missing fundamental"].append((signals.scale_to_dbfs(audio, rng.uniform(-60, -6)), SAMPLE_RATE, np.full(len(audio), f0)))
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(50), np.log(1200))))
        k = np.arange(1, 21)
        tone = signals.harmonic_tone(f0, 10 ** (rng.uniform(-12, -3) * np.log2(k) / 20), 1.0, rng=rng)
        noise = signals.coloured_noise(str(rng.choice(["white", "pink"])), 1.0, rng)
        snr = rng.uniform(5, 30)
        mix = signals.scale_to_dbfs(tone, 0) + signals.scale_to_dbfs(noise, -snr)
        out["tones in noise"].append((signals.scale_to_dbfs(mix, rng.uniform(-60, -6)), SAMPLE_RATE, np.full(len(mix), f0)))
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(60), np.log(600))))
        interval = float(rng.choice([1.5, 1.25]))
        k = np.arange(1, 11)
        low = signals.harmonic_tone(f0, 1 / k, 1.0, rng=rng)
        high = signals.harmonic_tone(f0 * interval, 1 / k, 1.0, rng=rng) * 10 ** (-rng.uniform(3, 12) / 20)
        mix = low + high
        out["two notes"].append((signals.scale_to_dbfs(mix, rng.uniform(-50, -6)), SAMPLE_RATE, np.full(len(mix), f0)))
    return out


def _unpitched_clips(n: int) -> dict[str, list[tuple[np.ndarray, int]]]:
    rng = np.random.default_rng(SEED + 1)
    out: dict[str, list] = {}
    for colour in ("white", "pink", "brown"):
        out[f"{colour} noise"] = [(signals.scale_to_dbfs(signals.coloured_noise(colour, 1.5, rng), rng.uniform(-75, -10)), SAMPLE_RATE)
                                  for _ in range(n)]
    out["rumble"] = []
    for _ in range(n):
        low = rng.uniform(15, 60)
        band = (low, low * rng.uniform(2, 6))
        out["rumble"].append((signals.scale_to_dbfs(signals.coloured_noise("rumble", 1.5, rng, band_hz=band), rng.uniform(-75, -10)), SAMPLE_RATE))
    t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    out["below range (5-30 Hz sines)"] = [
        (10 ** (rng.uniform(-40, -6) / 20) * np.sqrt(2) * np.sin(2 * np.pi * rng.uniform(5, 30) * t + rng.uniform(0, 6.3)), SAMPLE_RATE)
        for _ in range(n)]
    return out


def _edge_clips(n: int) -> list[tuple[np.ndarray, int, np.ndarray]]:
    """Notes that start and stop abruptly (0-3 ms ramps, random phases: a click at each end) between
    0.3 s of near-silence (-80 dBFS white noise): [(audio, rate, true f0 per sample)], the note at
    0.3-0.9 s."""
    rng = np.random.default_rng(SEED + 2)
    out = []
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(60), np.log(1000))))
        k = np.arange(1, 11)
        tone = signals.harmonic_tone(f0, k ** -rng.uniform(0.5, 1.5), EDGE_NOTE_S, rng=rng)
        ramp = int(rng.uniform(0, 0.003) * SAMPLE_RATE)
        if ramp:
            tone[:ramp] *= np.linspace(0, 1, ramp)
            tone[-ramp:] *= np.linspace(1, 0, ramp)
        gap = np.zeros(int(EDGE_GAP_S * SAMPLE_RATE))
        audio = np.concatenate([gap, signals.scale_to_dbfs(tone, rng.uniform(-40, -6)), gap])
        audio += signals.scale_to_dbfs(rng.standard_normal(len(audio)), -80)
        out.append((audio, SAMPLE_RATE, np.full(len(audio), f0)))
    return out


def _analyse_edges(model, clips: list, harmonicity: float) -> dict[str, np.ndarray]:
    """The frames within `EDGE_S` of a note's start or end: confidence, harmonicity, level, correctness."""
    conf, harm, correct, levels = [], [], [], []
    for audio, rate, truth in clips:
        r = estimate(audio.astype(np.float32), rate, model=model, resynthesize=False, min_confidence=0.0, min_harmonicity=harmonicity,
                     clear_harmonicity=0.0, level_db=-np.inf, clear_min_confidence=0.0)
        keep = (np.abs(r.times_s - EDGE_GAP_S) <= EDGE_S) | (np.abs(r.times_s - EDGE_GAP_S - EDGE_NOTE_S) <= EDGE_S)
        correct.append(np.abs(1200 * np.log2(np.maximum(r.f0_hz[keep], 1e-3) / truth[0])) < EDGE_WRONG_CENTS)
        conf.append(r.confidence[keep])
        harm.append(r.harmonicity[keep])
        levels.append(r.level_db[keep])
    return {"confidence": np.concatenate(conf), "harmonicity": np.concatenate(harm), "level": np.concatenate(levels), "correct": np.concatenate(correct)}


def _quantiles(values: np.ndarray) -> str:
    return " / ".join(f"{np.percentile(values, q):.2f}" for q in (5, 50, 95))


def _analyse(model, families: dict, harmonicity: float, pitched: bool) -> dict[str, dict[str, np.ndarray]]:
    """Per family, the frames' confidence, harmonicity and (pitched) correctness after `estimate`
    with its comb check at `harmonicity` and every other voicing threshold at zero."""
    out = {}
    for family, clips in families.items():
        conf, harm, correct, levels = [], [], [], []
        for clip in clips:
            audio, rate = clip[0], clip[1]
            r = estimate(audio.astype(np.float32), rate, model=model, resynthesize=False, min_confidence=0.0, min_harmonicity=harmonicity,
                         clear_harmonicity=0.0, level_db=-np.inf, clear_min_confidence=0.0)
            level = r.level_db
            if pitched:
                truth = clip[2]
                keep = (r.times_s >= EDGE_S) & (r.times_s <= len(truth) / SAMPLE_RATE - EDGE_S)
                if family == "realistic tones":  # its clips start late or decay into their noise: score where the tone is loud
                    keep &= level >= REALISTIC_FLOOR_DB
                centres = np.minimum((r.times_s * SAMPLE_RATE).astype(int), len(truth) - 1)
                correct.append(np.abs(1200 * np.log2(r.f0_hz[keep] / truth[centres[keep]])) <= 50)
            else:
                keep = np.ones(len(level), dtype=bool)
            levels.append(level[keep])
            conf.append(r.confidence[keep])
            harm.append(r.harmonicity[keep])
        out[family] = {"confidence": np.concatenate(conf), "harmonicity": np.concatenate(harm), "level": np.concatenate(levels)}
        if pitched:
            out[family]["correct"] = np.concatenate(correct)
    return out


def _voiced(v: dict[str, np.ndarray], c: float, h: float, clear: float, level: float, floor: float) -> np.ndarray:
    clear_path = (v["harmonicity"] >= max(clear, h)) & (v["confidence"] >= floor)
    return (v["level"] >= level) & (((v["confidence"] >= c) & (v["harmonicity"] >= h)) | clear_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--clips", type=int, default=40, help="clips per family")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "results" / "voicing_calibration.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = get_model(args.model)
    pitched_clips, unpitched_clips, edge_clips = _pitched_clips(args.clips), _unpitched_clips(args.clips), _edge_clips(args.clips)
    grid = []  # ((confidence, harmonicity, clear, level, spread, floor), recall per family, false alarms per family)
    stats = {}
    for spread in SPREADS:
        voicing.TOOTH_SPREAD = spread
        for h in HARMONICITIES:
            pitched = _analyse(model, pitched_clips, h, True)
            unpitched = _analyse(model, unpitched_clips, h, False)
            edges = _analyse_edges(model, edge_clips, h)
            stats[h, spread] = (pitched, unpitched)
            for c in CONFIDENCES:
                for clear in CLEARS:
                    for level in LEVELS:
                        for floor in FLOORS:
                            recall = {f: float((_voiced(v, c, h, clear, level, floor) & v["correct"]).mean()) for f, v in pitched.items()}
                            false_alarm = {f: float(_voiced(v, c, h, clear, level, floor).mean()) for f, v in unpitched.items()}
                            false_alarm[EDGES] = float((_voiced(edges, c, h, clear, level, floor) & ~edges["correct"]).mean())
                            grid.append(((c, h, clear, level, spread, floor), recall, false_alarm))
    voicing.TOOTH_SPREAD = USED_SPREAD
    def noise_alarms(g) -> float:
        return max(v for f, v in g[2].items() if f != EDGES)

    allowed = [g for g in grid if noise_alarms(g) <= MAX_FALSE_ALARM and g[0][5] == 0.0]
    # the lowest recall decides down to RECALL_RESOLUTION: a smaller difference is a few frames of one clip
    best_lowest = max(min(g[1].values()) for g in allowed)
    near = [g for g in allowed if min(g[1].values()) >= best_lowest - RECALL_RESOLUTION - 1e-9]
    first = max(near, key=lambda g: (round(float(np.mean(list(g[1].values()))), 3), -noise_alarms(g), g[0][3]))
    # then the floor: as high as it goes without costing any pitched family recall (it only removes frames voiced on
    # harmonicity alone that the posterior does not support: the click-filled combs at note edges)
    same = [g for g in grid if g[0][:5] == first[0][:5] and all(g[1][f] >= first[1][f] - 0.001 for f in first[1])]
    best = max(same, key=lambda g: (-g[2][EDGES], g[0][5]))
    used = (MIN_CONFIDENCE, MIN_HARMONICITY, CLEAR_HARMONICITY, DEFAULT_LEVEL_DB, USED_SPREAD, CLEAR_MIN_CONFIDENCE)

    name = args.model or "default"
    lines = [
        "# Voicing thresholds: calibration on synthetic sets",
        "",
        f"`python bench/voicing_calibration.py --clips {args.clips}` with model `{name}`: {args.clips} clips per family, seed base {SEED} "
        f"(the script's docstring lists the families). Pitched frames: at least {EDGE_S} s from the clip's ends (levels -60 ... -6 dBFS); "
        "unpitched: every frame (noise at -75 ... -10 dBFS). A frame is voiced when its RMS reaches the *level* gate and its harmonicity "
        "(share of power on the comb of the estimated f0; the better of the plain window and the window warped along the pitch track, "
        "`voicing.WarpedPower`) reaches the *clear* threshold with a confidence at least the *floor*, or "
        "reaches the *harmonicity* threshold with a confidence (posterior mass within a semitone of the pitch and its octave relatives) "
        "at the *confidence* threshold. The comb check (frames below the harmonicity threshold try the pitch's relatives) and the "
        "contour check (they try the pitch of the contour between two clearly harmonic frames, `estimate.contour_check_step`) run at the "
        "harmonicity threshold, and so does the periodicity check (frames not voiced, and voiced frames read at a partial of the pitch, "
        "try YIN's pitch in windows warped along its track, `estimate.periodicity_check_step`). "
        f"*{EDGES}*: frames within {EDGE_S} s of the start or end of a note that starts and stops abruptly "
        f"(a click), counted as false alarms when voiced at a pitch {EDGE_WRONG_CENTS:.0f} cents or more off the note's (the "
        "frames next to the note's ends see part silence: a pitch a little off there is a transition, not a false alarm).",
        "",
        "**Recall** counts frames voiced *and* within 50 cents of the truth (a frame voiced at a wrong pitch is not recalled). "
        f"Chosen: among the thresholds with every false-alarm rate on noise ≤ {100 * MAX_FALSE_ALARM:.0f} % and no floor, those whose "
        f"lowest recall is within {100 * RECALL_RESOLUTION:.1f} points of the highest lowest recall (a smaller difference is a few frames of "
        "one clip), and of these the highest mean recall (ties: the lower false alarms, the higher level gate); then the floor that removes "
        "the most wrong note-edge frames without costing any family recall: "
        f"**confidence ≥ {best[0][0]}, harmonicity ≥ {best[0][1]}, clear ≥ {best[0][2]}, level ≥ {best[0][3]} dBFS, tooth spread "
        f"{best[0][4]}, floor {best[0][5]}**. `sotdemo` uses confidence ≥ {used[0]}, harmonicity ≥ {used[1]}, clear ≥ {used[2]}, "
        f"level ≥ {used[3]} dBFS, tooth spread {used[4]} (`voicing.TOOTH_SPREAD`: teeth widen by this share of k·f0, for vibrato), "
        f"floor {used[5]} (`voicing.CLEAR_MIN_CONFIDENCE`).",
        "",
        "## Recall on pitched families and false alarms on unpitched ones (%), selected rows",
        "",
    ]
    families_p, families_u = list(grid[0][1]), list(grid[0][2])
    lines.append("| confidence | harmonicity | clear | level dBFS | tooth spread | floor | " + " | ".join(f"recall: {f}" for f in families_p)
                 + " | " + " | ".join(f"FA: {f}" for f in families_u) + " |")
    lines.append("|" + "---:|" * (6 + len(families_p) + len(families_u)))
    for key, recall, false_alarm in grid:
        mark = " (used)" if key == used else ""
        mark += " (chosen)" if key == best[0] else ""
        one_off = sum(a != b for a, b in zip(key, used))
        if not mark and one_off != 1:  # the used thresholds and every row that changes one of them
            continue
        lines.append(f"| {key[0]}{mark} | {key[1]} | {key[2]} | {key[3]} | {key[4]} | {key[5]} | "
                     + " | ".join(f"{100 * recall[f]:.1f}" for f in families_p)
                     + " | " + " | ".join(f"{100 * false_alarm[f]:.1f}" for f in families_u) + " |")
    pitched, unpitched = stats.get((used[1], used[4]), stats[best[0][1], best[0][4]])
    lines += ["", f"## Per family at harmonicity {used[1]}: frames, pitch accuracy, quantiles of the two measures", "",
              "| family | frames | RPA % (all frames) | confidence 5/50 % | harmonicity 5/50/95 % |", "|---|---:|---:|---:|---:|"]
    for f, v in pitched.items():
        lines.append(f"| {f} | {len(v['correct'])} | {100 * v['correct'].mean():.1f} | "
                     f"{np.percentile(v['confidence'], 5):.2f} / {np.median(v['confidence']):.2f} | {_quantiles(v['harmonicity'])} |")
    for f, v in unpitched.items():
        lines.append(f"| {f} | {len(v['harmonicity'])} | – | {np.percentile(v['confidence'], 5):.2f} / {np.median(v['confidence']):.2f} | "
                     f"{_quantiles(v['harmonicity'])} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
