"""Load test of the web app: concurrent gradio_client clients calling `/estimate` with mixed clips.

    python bench/load_test.py                                   # 16 clients x 50 requests -> results/load_test.md
    python bench/load_test.py --clients 2 --requests 3 --max-seconds 3 --out /tmp/load.md   # seconds (CI form)

Starts `python app.py` (its queue set by --workers and --queue-size; defaults are the app's) in a
temporary folder of its own, builds a pool of clips of 1 to --max-seconds seconds in mixed formats
(WAV 16/24-bit/float, FLAC, Ogg Vorbis, MP3; 16-48 kHz; mono and stereo; harmonic tones with
vibrato and noise, f0 known), and lets every client send --warmup requests, then --requests
requests, each a clip drawn at random. A request fails if it raises or if its answer is wrong
(frame count, duration). Reports p50/p95/max latency (upload to answer, as the client sees it),
throughput, the server's CPU time and its resident memory before the warm-up, after it and at
the end (growth must stay within --rss-growth after the warm-up). Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: the repository root, so that `bench` and `sotdemo` import
    sys.path.insert(0, str(REPO))

from bench.appserver import AppServer  # noqa: E402

FORMATS = [  # (extension, soundfile format, subtype, rate, channels)
    ("wav", "WAV", "PCM_16", 44100, 2),
    ("flac", "FLAC", "PCM_16", 22050, 1),
    ("mp3", "MP3", None, 44100, 2),
    ("wav", "WAV", "FLOAT", 48000, 1),
    ("ogg", "OGG", "VORBIS", 32000, 2),
    ("wav", "WAV", "PCM_24", 16000, 1),
]


@dataclass
class Clip:
    path: Path
    seconds: float
    f0_hz: float
    fmt: str


def make_clips(directory: Path, n: int, min_seconds: float, max_seconds: float, seed: int = 0) -> list[Clip]:
    """`n` clips, durations spread evenly over [min_seconds, max_seconds], formats in turn."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    clips = []
    for i, seconds in enumerate(np.linspace(min_seconds, max_seconds, n)):
        ext, fmt, subtype, rate, channels = FORMATS[i % len(FORMATS)]
        f0 = float(np.exp(rng.uniform(np.log(80), np.log(800))))
        t = np.arange(int(seconds * rate)) / rate
        f0_t = f0 * 2 ** (0.3 / 12 * np.sin(2 * np.pi * 5 * t))  # ±30 cents vibrato
        phase = 2 * np.pi * np.cumsum(f0_t) / rate
        x = sum(np.sin(k * phase) / k for k in range(1, 9) if k * f0 * 1.02 < min(rate, 16000) / 2)
        x = 0.7 * x / np.abs(x).max() + rng.normal(0, 0.003, len(t))
        path = directory / f"clip{i:02d}_{seconds:.0f}s.{ext}"
        sf.write(path, np.repeat(x[:, None], channels, axis=1).astype(np.float32), rate, format=fmt, subtype=subtype)
        clips.append(Clip(path, float(seconds), f0, f"{fmt.lower()}{'/' + subtype.lower() if subtype else ''} {rate // 1000} kHz "
                          f"{'stereo' if channels == 2 else 'mono'}"))
    return clips


def check_answer(out: dict, clip: Clip) -> str:
    """'' if the answer fits the clip, else what is wrong."""
    expected_s = min(clip.seconds, 60.0)
    if abs(out["duration_s"] - expected_s) > 0.1:  # mp3/vorbis encoder delay and padding: a few ms
        return f"duration {out['duration_s']:.3f} s for a {expected_s:.3f} s clip"
    frames = 1 + round(out["duration_s"] * 16000) // 256
    if not len(out["f0_hz"]) == len(out["voiced"]) == len(out["times_s"]) == frames:
        return f"{len(out['f0_hz'])} frames for {out['duration_s']} s (expected {frames})"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=50, help="measured requests per client")
    parser.add_argument("--warmup", type=int, default=2, help="requests per client before memory is measured")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--pool", type=int, default=24, help="distinct clips")
    parser.add_argument("--workers", type=int, default=None, help="app.py --workers (default: the app's)")
    parser.add_argument("--queue-size", type=int, default=None, help="app.py --queue-size (default: the app's)")
    parser.add_argument("--rss-growth", type=float, default=0.10, help="allowed RSS growth after the warm-up")
    parser.add_argument("--settle", type=float, default=6.0, help="idle seconds before each memory reading")
    parser.add_argument("--note", default="", help="conditions worth recording")
    parser.add_argument("--out", default=str(REPO / "results" / "load_test.md"))
    args = parser.parse_args(argv)
    from gradio_client import Client, handle_file

    from sotdemo.ui import QUEUE_SIZE, WORKERS

    workers = args.workers or WORKERS
    queue_size = args.queue_size or QUEUE_SIZE
    app_args = ["--workers", str(workers), "--queue-size", str(queue_size)]
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        clips = make_clips(tmp / "clips", args.pool, args.min_seconds, args.max_seconds)
        print(f"{len(clips)} clips in {time.perf_counter() - t0:.1f} s", flush=True)
        with AppServer(tmp / "server", app_args) as server:
            rss_start = server.rss_bytes()
            clients = [Client(server.url, verbose=False, download_files=False) for _ in range(args.clients)]
            # warm-up on the longest third of the pool: every worker thread meets a worst-case request first
            long_clips = clips[-max(1, len(clips) // 3):]
            plan = [[long_clips[i] for i in rng.integers(0, len(long_clips), args.warmup)]
                    + [clips[i] for i in rng.integers(0, len(clips), args.requests)] for _ in clients]
            lock = threading.Lock()
            records: list[tuple[bool, float, Clip, str]] = []  # (measured, seconds, clip, error)
            warm = threading.Barrier(args.clients + 1)
            go = threading.Barrier(args.clients + 1)

            def run(client: Client, todo: list[Clip]) -> None:
                for i, clip in enumerate(todo):
                    if i == args.warmup:
                        warm.wait()  # every client warmed up: memory is measured
                        go.wait()
                    start = time.perf_counter()
                    try:
                        error = check_answer(client.predict(handle_file(str(clip.path)), "", api_name="/estimate"), clip)
                    except Exception as exc:  # noqa: BLE001 - a failed request is a result
                        error = f"{type(exc).__name__}: {exc}"[:300]
                    with lock:
                        records.append((i >= args.warmup, time.perf_counter() - start, clip, error))
                if args.warmup >= len(todo):
                    warm.wait()
                    go.wait()

            with ThreadPoolExecutor(args.clients) as pool:
                futures = [pool.submit(run, c, p) for c, p in zip(clients, plan)]
                warm.wait()
                time.sleep(args.settle)  # idle: let the app return freed memory to the OS
                rss_warm, cpu_warm = server.rss_bytes(), server.cpu_seconds()
                t_start = time.perf_counter()
                go.wait()
                for f in futures:
                    f.result()
                wall = time.perf_counter() - t_start
            cpu = server.cpu_seconds() - cpu_warm
            time.sleep(args.settle)
            rss_end, rss_peak = server.rss_bytes(), server.peak_rss_bytes()
            internal = server.internal_errors()
            leftovers = server.leftovers()

    measured = [r for r in records if r[0]]
    failures = [r for r in records if r[3]]
    latencies = np.array([r[1] for r in measured])
    audio_s = sum(min(r[2].seconds, 60.0) for r in measured)
    growth = rss_end / rss_warm - 1
    result = dict(
        clients=args.clients, requests=len(measured), warmup=len(records) - len(measured), failures=len(failures),
        p50=float(np.percentile(latencies, 50)), p95=float(np.percentile(latencies, 95)), max=float(latencies.max()),
        mean=float(latencies.mean()), wall=wall, throughput=len(measured) / wall, audio_rate=audio_s / wall, cpu=cpu,
        rss_start=rss_start, rss_warm=rss_warm, rss_end=rss_end, rss_peak=rss_peak, growth=growth, workers=workers,
        queue_size=queue_size, clip_mean=statistics.mean(c.seconds for c in clips), internal=len(internal),
        leftovers=len(leftovers),
    )
    write_report(args, result, clips, failures, measured)
    ok = not failures and not internal and not leftovers and growth <= args.rss_growth
    print(f"{len(measured)} requests, {len(failures)} failed, p50 {result['p50']:.2f} s, p95 {result['p95']:.2f} s, "
          f"max {result['max']:.2f} s, {result['throughput']:.2f} req/s, RSS {rss_warm / 2**20:.0f} -> {rss_end / 2**20:.0f} MiB "
          f"({100 * growth:+.1f} %), internal errors {len(internal)}, temporary files left {len(leftovers)} -> {args.out}")
    for r in failures[:5]:
        print("  failed:", r[2].path.name, r[3])
    return 0 if ok else 1


def write_report(args, r: dict, clips: list[Clip], failures: list, measured: list) -> None:
    mib = lambda b: f"{b / 2**20:.0f} MiB"  # noqa: E731
    by_length = {}
    for _, seconds, clip, _ in measured:
        by_length.setdefault("≤ 10 s" if clip.seconds <= 10 else "10–30 s" if clip.seconds <= 30 else "30–60 s", []).append(seconds)
    formats = sorted({c.fmt for c in clips})
    lines = [
        "# Load test: concurrent clients on /estimate",
        "",
        f"`python bench/load_test.py --clients {args.clients} --requests {args.requests} --warmup {args.warmup} "
        f"--max-seconds {args.max_seconds:g}` on {platform.machine()}, {os.cpu_count()} CPU cores"
        + (f"; {args.note}" if args.note else "") + ".",
        "",
        f"The server is `python app.py --workers {r['workers']} --queue-size {r['queue_size']}` (the app's defaults); each "
        f"client is a `gradio_client.Client` in a thread of the benchmark process (on the same machine, so the clients' "
        f"uploads and JSON parsing compete with the server for the cores). {len(clips)} clips of "
        f"{args.min_seconds:g}–{args.max_seconds:g} s (mean {r['clip_mean']:.1f} s), formats: {', '.join(formats)}; "
        f"each request draws one at random. Every client first sends {args.warmup} warm-up request(s) drawn from the "
        f"longest third of the clips; resident memory is read from /proc {args.settle:g} s after all warm-ups and "
        f"{args.settle:g} s after the last answer (the server idle: app.py returns freed heap to the OS every 5 s), "
        f"peak memory as the kernel's high-water mark.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| clients × measured requests | {r['clients']} × {args.requests} = {r['requests']} (+ {r['warmup']} warm-up) |",
        f"| failed requests (error or wrong answer) | **{r['failures']}** |",
        f"| latency p50 / p95 / max (upload to answer) | **{r['p50']:.2f} / {r['p95']:.2f} / {r['max']:.2f} s** (mean {r['mean']:.2f} s) |",
        f"| throughput | **{r['throughput']:.2f} requests/s**, {r['audio_rate']:.1f} s of audio per second ({r['wall']:.0f} s wall) |",
        f"| server CPU time (user + system) | {r['cpu']:.0f} s, {r['cpu'] / max(r['requests'], 1):.2f} s per request |",
        f"| server RSS: start / after warm-up / end / peak | {mib(r['rss_start'])} / {mib(r['rss_warm'])} / {mib(r['rss_end'])} / {mib(r['rss_peak'])} |",
        f"| RSS growth after warm-up | **{100 * r['growth']:+.1f} %** (limit {100 * args.rss_growth:.0f} %) |",
        f"| internal errors in the server log / temporary files left | {r['internal']} / {r['leftovers']} |",
        "",
        "Latency by clip length (p50 / p95 / max, s):",
        "",
        "| clips | requests | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for key in ("≤ 10 s", "10–30 s", "30–60 s"):
        if key in by_length:
            x = np.array(by_length[key])
            lines.append(f"| {key} | {len(x)} | {np.percentile(x, 50):.2f} | {np.percentile(x, 95):.2f} | {x.max():.2f} |")
    if failures:
        lines += ["", "Failures (first 10):", ""] + [f"- `{f[2].path.name}`: {f[3]}" for f in failures[:10]]
    lines += [
        "",
        "## Why this queue",
        "",
        f"- **`--workers {r['workers']}`** (`concurrency_limit` of the one `cpu` concurrency group that every computing event "
        "joins, the `/estimate` API and every tab's handlers alike): estimation is CPU-bound, so more than one event per core "
        "only makes each slower and multiplies the memory held at once; fewer leaves a core idle while another request "
        "decodes or uploads. app.py gives torch cores ÷ workers threads each. Set it to the number of cores of the server.",
        f"- **`--queue-size {r['queue_size']}`** (`max_size` of gradio's queue): the events that may wait. A full queue "
        "answers at once with \"queue is full\" instead of letting a client wait for minutes. Each waiting event holds only "
        f"its uploaded file (≤ 50 MB on disk, not in memory), so the bound is on waiting time: at the {r['throughput']:.2f} "
        f"requests/s measured here (mean clip {r['clip_mean']:.0f} s), the last of {r['queue_size']} waiting events waits about "
        f"{r['queue_size'] / r['throughput']:.0f} s, about as long as a client waits before giving up; with 60 s clips only, "
        f"about twice that. {r['clients']} clients with one request each in flight never fill it.",
        "",
        "Re-run: `python bench/load_test.py` (about "
        f"{(r['wall'] + 60) / 60:.0f} min here). CI runs the short form (2 clients × 3 requests of ≤ 3 s clips) in "
        "`tests/test_hardening.py`.",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
