"""Web-app start-up: seconds from `python app.py` to the first HTTP 200 of its page, and to the end of
the model's warm-up (its "warm-up done" log line). Writes results/app_startup.md.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/app_startup.py [--runs 5]

Goal (issue 17): the page answers within 10 s on this 2-core machine, before the model has loaded.
Two variants alternate run by run, so that both see the same load (the ratio is what counts on a
shared machine): the app as shipped (`app.py`: torch and librosa imported in a second thread while
gradio imports, `sotdemo.serve._preload`) and the same app with that thread left out (the imports
one after the other, as before issue 17). CPU model, vector extensions and load averages are in the report.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.appserver import free_port  # noqa: E402
from bench.cpu import cpu_summary  # noqa: E402


PRELOAD = ("import sys, threading\n"
           "def preload():\n    import torch, librosa\n"
           "threading.Thread(target=preload, daemon=True).start()\n"
           "import sotdemo.serve as s\ns.main(sys.argv[1:])")
VARIANTS = {"as shipped": [str(REPO / "app.py")], "with a preload thread (experiment)": ["-c", PRELOAD]}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(command: list[str], timeout_s: float = 120.0) -> tuple[float, float, float]:
    """(seconds to the page's first HTTP 200, CPU seconds the server used until then, seconds to
    "warm-up done") for `python COMMAND`."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="app-startup-") as folder:
        log_path = Path(folder) / "app.log"
        env = {**os.environ, "SOTDEMO_CHECKPOINTS": str(REPO / "checkpoints"), "GRADIO_ANALYTICS_ENABLED": "False",
               "TMPDIR": folder, "GRADIO_TEMP_DIR": folder}
        start = time.perf_counter()
        with open(log_path, "w") as log:
            process = subprocess.Popen([sys.executable, *command, "--port", str(port)], cwd=REPO, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
        try:
            page = warm = cpu = None
            while warm is None:
                if process.poll() is not None:
                    raise RuntimeError(f"app.py exited with {process.returncode}:\n{log_path.read_text()}")
                if time.perf_counter() - start > timeout_s:
                    raise RuntimeError(f"app.py not ready within {timeout_s:.0f} s:\n{log_path.read_text()}")
                if page is None:
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                        page = time.perf_counter() - start
                        cpu = _cpu_seconds(process.pid)
                    except OSError:
                        pass
                text = log_path.read_text(errors="replace")
                if "warm-up failed" in text:
                    raise RuntimeError(f"the warm-up failed:\n{text}")
                if "warm-up done" in text:
                    warm = time.perf_counter() - start
                time.sleep(0.05)
            return page, cpu, warm
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "results" / "app_startup.md"))
    args = parser.parse_args(argv)
    load0 = os.getloadavg()
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in VARIANTS}
    start_once(VARIANTS["as shipped"])  # file-system caches warm for both
    for run in range(args.runs):
        for name, command in VARIANTS.items():
            times[name].append(start_once(command))
            page, cpu, warm = times[name][-1]
            print(f"run {run + 1}, {name}: page {page:.2f} s (CPU {cpu:.2f} s), warm {warm:.2f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    load1 = os.getloadavg()
    rows = []
    for name, values in times.items():
        pages, cpus, warms = ([v[i] for v in values] for i in range(3))
        rows.append((name, statistics.median(pages), min(pages), max(pages), statistics.median(cpus), statistics.median(warms)))
    ours = rows[0][1]
    lines = [
        "# Web-app start-up",
        "",
        f"`OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/app_startup.py --runs {args.runs}`: `python app.py` until its page "
        f"answers HTTP 200, and until its log says the model's warm-up is done; median (min-max) of {args.runs} runs, the two "
        "variants alternating run by run (module docstring).",
        "",
        f"Goal: page <= 10 s -> **{ours:.1f} s: {'met' if ours <= 10 else 'not met'}**"
        + f" (median; {rows[0][2]:.1f} s at best), {rows[0][4]:.1f} s of CPU; {rows[1][0]}: {rows[1][1]:.1f} s, "
        f"{rows[1][4]:.1f} s of CPU (ratio {rows[1][1] / ours:.2f} in wall time).",
        "",
        "| variant | page answers [s] | min-max [s] | CPU until then [s] | warm-up done [s] |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {name} | {median:.2f} | {low:.2f}-{high:.2f} | {cpu:.2f} | {warm:.2f} |" for name, median, low, high, cpu, warm in rows]
    lines += ["", f"Machine: {cpu_summary()}.", f"Load average (1, 5, 15 min): {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f} at start, "
              f"{load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} at the end (the machine is shared: absolute times vary, ratios less).", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
