"""Build hook: the wheel carries the default model and the app's example clips, copied from the top-level
checkpoints/ and examples/ (the source of truth).

Everything else about the package is in pyproject.toml. `pip install .` (not editable) runs this;
`sotdemo.model.checkpoint_root` finds the copy under sotdemo/checkpoints/ when there is no clone
around the package."""

import re
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED_FILES = ("model.safetensors", "config.json", "metrics.json")


def default_model() -> str:
    """`DEFAULT_MODEL` read from sotdemo/model.py without importing the package (torch is not needed to build)."""
    return re.search(r'^DEFAULT_MODEL = "([^"]+)"', (ROOT / "sotdemo" / "model.py").read_text(), re.M).group(1)


class BuildWithDefaultModel(build_py):
    def run(self):
        super().run()
        examples = Path(self.build_lib) / "sotdemo" / "examples"
        for wav in sorted((ROOT / "examples").glob("*.wav")):  # the app's example clips (340 KB)
            examples.mkdir(parents=True, exist_ok=True)
            shutil.copy2(wav, examples / wav.name)
        source = ROOT / "checkpoints" / default_model()
        target = Path(self.build_lib) / "sotdemo" / "checkpoints" / default_model()
        for seed in sorted(source.glob("seed-*")):
            for name in SHIPPED_FILES:
                if (seed / name).is_file():
                    (target / seed.name).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(seed / name, target / seed.name / name)


setup(cmdclass={"build_py": BuildWithDefaultModel})
