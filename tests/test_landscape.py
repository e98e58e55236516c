"""The paper's central claim as a test: SOT's f0 gradient points toward the target from
anywhere in 40-1950 Hz; vertical losses (LIN, MSS) do not; padded framing breaks SOT.

For target harmonic tones at several f0 in 60-1800 Hz, a predicted tone with the same
amplitudes is swept over 100 log-spaced f0 in 40-1950 Hz and the exact derivative of the loss
w.r.t. the predicted f0 is taken (autograd through STFT, OT and synthesizer, float64).
Starts within half a semitone of the target are not counted (there the sign is noise-free
but the question "which way to the target" has no meaning).
"""

import dataclasses

import numpy as np
import pytest
import torch

from sotdemo.config import load_config
from sotdemo.losses import SpectralLoss, share_toward_target

TARGETS_HZ = (60.0, 150.0, 440.0, 1000.0, 1800.0)
STARTS_HZ = np.geomspace(40, 1950, 100)
AMPLITUDES = torch.tensor([1.0, 0.8, 0.6, 0.5, 0.4], dtype=torch.float64)


def share_pointing_to_target(loss_config) -> tuple[float, list[float]]:
    """Pooled share over all targets (every target has the same number of counted starts ±1), per target."""
    loss = SpectralLoss(loss_config)
    per_target = [share_toward_target(loss, f, STARTS_HZ, AMPLITUDES) for f in TARGETS_HZ]
    return float(np.mean(per_target)), per_target


# the transport term of the paper's SOT-2048 row (flat-top 2048, power spectra, cutoff)
SOT_2048 = dataclasses.replace(load_config("sot-2048").loss, lin_weight=0.0)


@pytest.fixture(scope="module")
def sot_inside():
    return share_pointing_to_target(SOT_2048)


def test_sot_gradient_points_to_the_target_from_anywhere(sot_inside):
    pooled, per_target = sot_inside
    assert pooled >= 0.95, per_target
    assert min(per_target) >= 0.9, per_target


@pytest.mark.slow
def test_vertical_losses_point_the_right_way_far_less_often(sot_inside):
    lin, _ = share_pointing_to_target(load_config("lin").loss)
    mss, _ = share_pointing_to_target(load_config("mss").loss)
    assert lin <= 0.75 and mss <= 0.75, (lin, mss)
    assert sot_inside[0] - max(lin, mss) >= 0.25


@pytest.mark.parametrize("framing", ["center", "pad_end"])
def test_padded_framing_breaks_sot_and_inside_framing_fixes_it(sot_inside, framing):
    padded, _ = share_pointing_to_target(dataclasses.replace(SOT_2048, framing=framing))
    assert padded <= 0.8, padded
    assert sot_inside[0] - padded >= 0.15
