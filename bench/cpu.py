"""What every speed result names: the CPU model, its vector extensions, and what torch makes of them."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}  # an AVX2-only CPU, as torch and oneDNN see it
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx_vnni",
                "amx_tile", "amx_bf16", "amx_int8")


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else `platform.processor()`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def vector_flags() -> list[str]:
    """The vector extensions of `VECTOR_FLAGS` this CPU reports (/proc/cpuinfo flags)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                return [f for f in VECTOR_FLAGS if f in present]
    except OSError:
        pass
    return []


def torch_isa() -> str:
    """torch's kernel level and the oneDNN cap, as this process runs them (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA)."""
    import torch

    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"torch kernels {torch.backends.cpu.get_cpu_capability()}" + (f", oneDNN capped at {cap}" if cap else "")


def cpu_summary() -> str:
    """One line: model, logical cores, vector extensions."""
    return f"{cpu_model()}, {os.cpu_count()} logical cores, vector extensions: {' '.join(vector_flags()) or 'unknown'}"


def run_isa_children(script: str, arguments: list[str]) -> dict[str, dict]:
    """Run `script --child ISA ARGUMENTS` once natively and once with the AVX2 cap (`AVX2_ENV`), one
    thread each, and return each child's result: the JSON after the last `RESULT ` line of its
    stdout. SystemExit with the child's output if one fails."""
    runs = {}
    for isa in ("native", "avx2"):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", **(AVX2_ENV if isa == "avx2" else {})}
        done = subprocess.run([sys.executable, script, "--child", isa, *arguments], env=env, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise SystemExit(f"the {isa} run failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        runs[isa] = json.loads(lines[-1][len("RESULT "):])
    return runs
