"""Which part of the `realistic` distribution a model gets wrong: RPA per isolated effect.

Diagnostic (prints, writes no results). Draws 300 clips of the realistic distribution with
every optional effect off (clean: many partials under tilt and formants, envelopes, level),
then with one effect switched on for every clip (noise at a fixed SNR, inharmonicity,
vibrato, glide, odd-only, weak fundamental), and scores each model's middle-frame f0
against the label: RPA with the training-time soft-argmax and with `estimate`'s decoding
around the peak, and the shares of octave-up / octave-down errors.

    python research/realistic_probe.py sot-2048-curriculum/seed-101112 sot-realistic/seed-42
"""
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sotdemo.data import DataConfig, generate  # noqa: E402
from sotdemo.decode import peak_path, read_around  # noqa: E402
from sotdemo.model import load  # noqa: E402
from sotdemo.spectral import cqt  # noqa: E402

torch.set_num_threads(1)
CLEAN = DataConfig(
    distribution="realistic", n_clips=300, max_harmonics=40, f0_max_hz=2000.0, seed=11,
    odd_only_share=0.0, weak_fundamental_share=0.0, inharmonic_share=0.0, vibrato_share=0.0,
    glide_share=0.0, noise_share=0.0, noise_only_share=0.0,
)
VARIANTS = {
    "clean": {},
    "noise 30 dB": {"noise_share": 1.0, "snr_db": (30.0, 30.0)},
    "noise 10 dB": {"noise_share": 1.0, "snr_db": (10.0, 10.0)},
    "noise 0 dB": {"noise_share": 1.0, "snr_db": (0.0, 0.0)},
    "inharmonic": {"inharmonic_share": 1.0},
    "vibrato": {"vibrato_share": 1.0},
    "glide": {"glide_share": 1.0},
    "odd only": {"odd_only_share": 1.0},
    "weak fundamental": {"weak_fundamental_share": 1.0},
    "paper-like (<=8 partials, flat)": {"max_harmonics": 8, "tilt_db_per_octave": (0.0, 0.0), "formants_max": 0},
}


def main(names: list[str]) -> None:
    models = {name: load(name) for name in names}
    print(f"{'variant':34s}" + "".join(f"{n[-24:]:>28s}" for n in names))
    for variant, changes in VARIANTS.items():
        data = generate(dataclasses.replace(CLEAN, **changes))
        frames = torch.from_numpy(cqt(data.audio))[:, 8]
        row = f"{variant:34s}"
        for model in models.values():
            with torch.no_grad():
                out = model(frames)
            posterior = torch.softmax(out.logits / model.config.encoder.temperature, -1).numpy()
            local, _ = read_around(posterior, peak_path(posterior), model.encoder.log2_bins.numpy())
            soft = 1200 * np.log2(out.f0_hz.numpy() / data.f0_hz)
            near = 1200 * np.log2(local / data.f0_hz)
            up, down = np.mean(np.abs(near - 1200) < 50), np.mean(np.abs(near + 1200) < 50)
            row += f"   {np.mean(np.abs(soft) < 50) * 100:5.1f} {np.mean(np.abs(near) < 50) * 100:5.1f} ↑{up * 100:4.1f} ↓{down * 100:4.1f}"
        print(row, flush=True)
    print("columns per model: RPA soft-argmax, RPA estimate's decoding, octave up, octave down (%)")


if __name__ == "__main__":
    main(sys.argv[1:])
