"""Web-app speed: server-side `/estimate` time for 1, 10 and 60 s clips, the whole Estimate tab for
a 10 s clip, and start-up time of `python app.py`. Writes results/bench_app.md.

    python bench/bench_app.py [--threads 2] [--repeats 5] [--note "..."]

Goals (issue 4): a 10 s clip fully processed (estimate, resynthesis and every figure of the
Estimate tab) in <= 1 s on 2 cores; start-up <= 10 s. Clips are harmonic tones with vibrato
from the project's synthesizer, written as 44.1 kHz 16-bit WAV so that decoding and resampling
are part of the measurement, as for an upload. The model is the default checkpoint (or --model);
its weights do not change the amount of work.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.cpu import cpu_summary  # noqa: E402


def _median_time(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up: model load, numba, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def _startup(repeats: int) -> list[float]:
    """Seconds from `python app.py` to the first HTTP 200 on its page."""
    out = []
    for _ in range(repeats):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except OSError:
                    if process.poll() is not None or time.perf_counter() - start > 120:
                        raise RuntimeError("app.py did not start")
                    time.sleep(0.05)
            out.append(time.perf_counter() - start)
        finally:
            process.terminate()
            process.wait(timeout=20)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch/numba/OpenMP threads")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="checkpoint name (default: the app's default model)")
    parser.add_argument("--note", default="", help="conditions worth recording (e.g. another job on the other core)")
    parser.add_argument("--out", default=str(REPO / "results" / "bench_app.md"))
    args = parser.parse_args()
    load0 = os.getloadavg()
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import soundfile as sf
    import torch

    torch.set_num_threads(args.threads)
    from sotdemo import views
    from sotdemo.ui import api_estimate

    model = args.model or views.default_model()
    if model is None:
        sys.exit(views.no_model_message())
    folder = Path(tempfile.mkdtemp(prefix="bench-app-"))
    rows = []
    for seconds in (1, 10, 60):
        audio = views.synthesize(196.0, 10, -5, -50, 5, 30, seconds).audio
        path = folder / f"clip_{seconds}s.wav"
        sf.write(path, np.interp(np.arange(int(seconds * 44100)) * 16000 / 44100, np.arange(len(audio)), audio), 44100,
                 subtype="PCM_16")
        api, api_min = _median_time(lambda: api_estimate(str(path), model), args.repeats)

        def estimate_tab() -> None:
            clip = views.analyse(path, model)
            for figure in views.estimate_figures(clip).values():
                figure.to_json()  # what gr.Plot sends to the browser

        tab, tab_min = _median_time(estimate_tab, args.repeats)
        clip = views.analyse(path, model)
        pyin, _ = _median_time(lambda: views.pyin_track(clip.audio), max(1, args.repeats // 2))
        size = sum(len(f.to_json()) for f in views.estimate_figures(clip).values()) / 1e6
        rows.append((seconds, api, api_min, tab, tab_min, pyin, size))
        print(f"{seconds:>3} s: /estimate {api:.3f} s, Estimate tab {tab:.3f} s, pYIN {pyin:.3f} s, figures {size:.2f} MB", flush=True)
    startup = _startup(3)
    print(f"start-up: {', '.join(f'{s:.2f}' for s in startup)} s", flush=True)

    ten = next(r for r in rows if r[0] == 10)
    lines = [
        "# Benchmark: web app",
        "",
        "Server-side time of the `/estimate` endpoint (decode + resample + CQT + encoder + resynthesis + LSD + CSV/WAV",
        "downloads + JSON) and of the whole Estimate tab (the same plus its three Plotly figures, serialized as sent to",
        "the browser), for harmonic tones with vibrato given as 44.1 kHz 16-bit WAV; median (min) of "
        f"{args.repeats} runs after one warm-up. The pYIN overlay is computed in a second step after the",
        "tab's results are shown (`.success` chain), so it is listed apart. Start-up: `python app.py` until its page",
        "answers HTTP 200 (3 runs).",
        "",
        f"Goal: 10 s clip, whole Estimate tab <= 1 s on 2 cores -> **{ten[3]:.2f} s with {args.threads} thread(s): "
        f"{'met' if ten[3] <= 1 else 'not met'}** ({ten[3] + ten[5]:.2f} s with the pYIN overlay); start-up <= 10 s -> **{statistics.median(startup):.1f} s: "
        f"{'met' if statistics.median(startup) <= 10 else 'not met'}**.",
        "",
        "| clip | /estimate [s] | Estimate tab [s] | + pYIN overlay [s] | figures sent [MB] |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {s} s | {a:.3f} ({am:.3f}) | {t:.3f} ({tm:.3f}) | {p:.2f} | {mb:.2f} |" for s, a, am, t, tm, p, mb in rows]
    lines += [
        "",
        f"Start-up: {', '.join(f'{s:.2f} s' for s in startup)}.",
        "",
        "## Setup",
        "",
        f"- CPU: {cpu_summary()}; threads: {args.threads} (torch, numba, OpenMP)",
        f"- load average (1, 5, 15 min): {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f} at start, "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()) + " at the end",
        f"- model: `{model}`; torch {torch.__version__}, python {platform.python_version()}",
    ]
    if args.note:
        lines.append(f"- conditions: {args.note}")
    lines += ["", f"Re-run: `python bench/bench_app.py --threads {args.threads}` (writes this file)."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
