"""Shared fixtures: a checkpoint root for the app and the app itself running in a subprocess."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from sotdemo.config import load_config
from sotdemo.model import DEFAULT_MODEL, HarmonicModel, save

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "checkpoints" / DEFAULT_MODEL


@pytest.fixture(scope="session")
def app_checkpoints(tmp_path_factory) -> Path:
    """A checkpoint root with an untrained `random-init` model (for plumbing tests) and, when the
    repository ships it, a copy of the default model (for accuracy tests; a copy, not a link,
    because `model.available` globs with `**`, which does not enter linked folders)."""
    root = tmp_path_factory.mktemp("app-checkpoints")
    torch.manual_seed(0)
    save(HarmonicModel(load_config("sot-2048")), root / "random-init", extra_config={"seed": 0})
    if any(SHIPPED.glob("**/model.safetensors")):
        shutil.copytree(SHIPPED, root / DEFAULT_MODEL)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url(app_checkpoints, tmp_path_factory):
    """`python app.py` on a free port in a subprocess; its URL. The log is printed on failure."""
    port = _free_port()
    log = tmp_path_factory.mktemp("app-log") / "app.log"
    env = {**os.environ, "SOTDEMO_CHECKPOINTS": str(app_checkpoints), "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        if process.poll() is not None:
            pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if time.time() > deadline:
                process.kill()
                pytest.fail(f"app.py did not answer within 90 s:\n{log.read_text()}")
            time.sleep(0.5)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    text = log.read_text()
    # user errors (gr.Error) are fine; an internal error is logged by sotdemo.ui's guard
    assert "sotdemo.ui ERROR" not in text, f"the app hit an internal error:\n{text}"


def pytest_collection_modifyitems(items):
    """Tests that start the app server (fixtures `app_url`, `server`), a browser, or train the smoke model are slow:
    `pytest -m "not slow"` skips them."""
    for item in items:
        if {"app_url", "server", "browser", "smoke_checkpoints"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
