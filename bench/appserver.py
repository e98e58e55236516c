"""`python app.py` in a subprocess for the load and fuzz benchmarks: its URL, memory and temporary files.

The server gets a temporary folder of its own (TMPDIR and GRADIO_TEMP_DIR point inside it), so
`leftovers()` can list every file it left behind and `private_paths()` what an answer must not
show. Memory is read from /proc (Linux): resident set size now (`rss_bytes`) and at its peak.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`app.py` with `args`, its own temporary folders under `directory`, and a log file."""

    def __init__(self, directory: Path, args: list[str] | None = None, env: dict[str, str] | None = None):
        self.directory = Path(directory)
        self.args = list(args or [])
        self.env = dict(env or {})
        self.tmp = self.directory / "tmp"
        self.gradio_tmp = self.directory / "gradio"
        self.log_path = self.directory / "app.log"
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout_s: float = 120.0) -> "AppServer":
        for folder in (self.tmp, self.gradio_tmp):
            folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {**os.environ, "TMPDIR": str(self.tmp), "GRADIO_TEMP_DIR": str(self.gradio_tmp),
               "GRADIO_ANALYTICS_ENABLED": "False", **self.env}
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port), *self.args], cwd=REPO,
                                            env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.process.returncode}:\n{self.log()}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"app.py did not answer within {timeout_s:.0f} s:\n{self.log()}") from None
                time.sleep(0.25)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"{field} not in /proc/{self.pid}/status")

    def rss_bytes(self) -> int:
        """Resident set size of the server process now."""
        return self._status("VmRSS")

    def peak_rss_bytes(self) -> int:
        """Largest resident set size the server process has had."""
        return self._status("VmHWM")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def internal_errors(self) -> list[str]:
        """Log lines of failures the app did not expect (its guard logs them as sotdemo.ui ERROR; user
        errors are not logged, gradio's own refusals are logged by gradio with their traceback)."""
        return [line for line in self.log().splitlines() if "sotdemo.ui ERROR" in line]

    def private_paths(self) -> list[str]:
        return [str(self.directory), str(REPO)]

    def leftovers(self, include_uploads: bool = False) -> list[str]:
        """Files the server left in its temporary folders: its own always; gradio's upload cache
        (emptied by the app's cache time-to-live) only with `include_uploads`."""
        roots = [self.tmp] + ([self.gradio_tmp] if include_uploads else [])
        return sorted(str(p.relative_to(self.directory)) for root in roots for p in root.rglob("*") if p.is_file())
