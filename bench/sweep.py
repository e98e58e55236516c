"""Train every configuration x seed that has no checkpoint yet, a few runs at a time.

Each run is `python -m sotdemo train --config NAME --seed N --threads 1` in its own process
(one thread each: parallel runs with more threads slow each other down, numba's included),
its log in logs/NAME-seed-N.log. Runs whose checkpoints/NAME/seed-N/ exists are skipped, so
the sweep resumes where it stopped. `--max-steps` caps every configuration's step count
(the paper's rows ask for 25 000 steps, about 2 h each on this CPU).

    python bench/sweep.py --configs sot-2048-curriculum sot-2048 lin mss --jobs 2 --max-steps 1200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sotdemo.config import config_names, load_config  # noqa: E402
from sotdemo.model import checkpoint_root  # noqa: E402


def run(name: str, seed: int, steps: int, logs: Path) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sotdemo", "train", "--config", name, "--seed", str(seed), "--threads", "1", "--steps", str(steps)]
    started = time.time()
    with open(logs / f"{name}-seed-{seed}.log", "w") as log:
        code = subprocess.call(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return f"{name} seed {seed}: exit {code} after {time.time() - started:.0f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=config_names())
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: each configuration's seeds")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args()
    logs = ROOT / "logs"
    logs.mkdir(exist_ok=True)
    todo = []
    for name in args.configs:
        config = load_config(name)
        steps = min(config.train.steps, args.max_steps or config.train.steps)
        for seed in args.seeds or config.train.seeds:
            if not (checkpoint_root() / name / f"seed-{seed}" / "model.safetensors").exists():
                todo.append((name, seed, steps))
    print(f"{len(todo)} runs to do", flush=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        for line in pool.map(lambda job: run(*job, logs), todo):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
