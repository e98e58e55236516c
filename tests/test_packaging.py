"""Packaging: pyproject declares what the requirements files pin, and a built wheel works on its own.

The wheel test builds `sotdemo` as `pip install .` would (not editable), installs it into a
folder of its own, and runs its `sotdemo` console script in another directory: the default model
must come with it (setup.py copies it from checkpoints/)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO
from sotdemo import __version__
from sotdemo.model import DEFAULT_MODEL


def _lines(name: str) -> set[str]:
    """Requirement lines of a requirements file, comments and spaces dropped."""
    text = (REPO / name).read_text()
    return {re.sub(r"\s+", "", line.split("#")[0]) for line in text.splitlines() if line.split("#")[0].strip()}


def test_the_requirements_files_pin_what_pyproject_declares():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    plain = lambda items: {re.sub(r"\s+", "", i) for i in items if not i.startswith("sotdemo[")}  # noqa: E731
    assert _lines("requirements.txt") == plain(project["dependencies"]) | plain(extras["app"])
    assert _lines("requirements-dev.txt") == plain(extras["dev"])
    assert _lines("requirements-bench.txt") == plain(extras["bench"])
    assert project["scripts"]["sotdemo"] == "sotdemo.__main__:main"


@pytest.mark.slow
def test_a_built_wheel_runs_the_cli_elsewhere_with_the_default_model(tmp_path):
    wheels, target, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", str(REPO), "-w", str(wheels)],
                   check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("sotdemo-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True)
    assert (target / "sotdemo" / "checkpoints" / DEFAULT_MODEL).is_dir()
    assert sorted(p.name for p in (target / "sotdemo" / "examples").glob("*.wav")) == sorted(p.name for p in (REPO / "examples").glob("*.wav"))
    t = np.arange(16000) / 16000
    sf.write(work / "tone.wav", 0.3 * sum(np.sin(2 * np.pi * k * 220.0 * t) / k for k in range(1, 6)), 16000)
    env = {**os.environ, "PYTHONPATH": str(target)}  # ahead of the clone's editable install
    env.pop("SOTDEMO_CHECKPOINTS", None)
    script = [sys.executable, str(target / "bin" / "sotdemo")]
    where = subprocess.run([sys.executable, "-c", "import sotdemo.model as m; print(m.__file__); print(m.checkpoint_root())"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(target / "sotdemo" / "model.py"), str(target / "sotdemo" / "checkpoints")]
    version = subprocess.run([*script, "--version"], cwd=work, env=env, capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"sotdemo {__version__}"
    run = subprocess.run([*script, "estimate", "tone.wav", "--out", "tracks"], cwd=work, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with open(work / "tracks" / "tone.csv") as f:
        f0 = [float(r["f0_hz"]) for r in csv.DictReader(f) if r["voiced"] == "1"]
    assert len(f0) > 40 and abs(1200 * np.log2(np.median(f0) / 220.0)) < 50


def test_the_readme_deploys_as_a_hugging_face_space():
    import gradio

    head = (REPO / "README.md").read_text().split("---\n")
    assert head[0] == "" and len(head) > 2
    meta = dict(line.split(": ", 1) for line in head[1].strip().splitlines())
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and (REPO / meta["app_file"]).is_file()
    assert meta["sdk_version"].split(".")[0] == gradio.__version__.split(".")[0]  # the major version requirements.txt allows
