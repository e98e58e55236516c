"""The default model's harmonic amplitudes on tones whose partials are known (issue 15).

Seeded generators: sparse tones (1-3 partials at random levels) must come back without partials
they lack (none above -40 dB relative to the loudest: the previous default put them at -10 dB), and
with the ones they have near their level;
richer tones (a 1/k spectrum, a sung vowel) with their spectral envelope. Truth: the generator's
amplitudes (`signals`), compared as levels relative to the loudest partial (estimate scales the
amplitudes to the input's RMS, so the shape is what the model estimates).
"""

import numpy as np
import pytest

from sotdemo import signals
from sotdemo.estimate import estimate

pytestmark = pytest.mark.slow  # every test runs the shipped default model

SR = 16000
MODEL = None  # the default model
# How far a partial's level may be from the truth. The default model's levels are close on sung vowels
# (median error < 3 dB) but it steepens a 1/k spectrum (partials 5-10 read 5-9 dB low; docs/training.md):
# ENVELOPE_DB bounds that (a regression guard), and an expected failure keeps the 3 dB goal in view.
LEVEL_DB = 6.0
ENVELOPE_DB = 8.0


def _relative_db(amplitudes: np.ndarray) -> np.ndarray:
    """Median over frames of each partial's level relative to the frame's loudest, dB `[K]`."""
    level = 20 * np.log10(np.maximum(amplitudes, 1e-12) / np.maximum(amplitudes.max(axis=1, keepdims=True), 1e-12))
    return np.median(level, axis=0)


@pytest.mark.parametrize("seed", range(6))
def test_sparse_tones_come_back_without_partials_they_lack(seed):
    rng = np.random.default_rng(1000 + seed)
    f0 = float(np.exp(rng.uniform(np.log(110), np.log(1000))))
    count = int(rng.integers(1, 4))
    truth = rng.uniform(0.3, 1.0, count)
    audio = signals.scale_to_dbfs(signals.harmonic_tone(f0, truth, 1.0, SR, rng), float(rng.uniform(-35, -10)))
    audio = audio + signals.scale_to_dbfs(rng.standard_normal(len(audio)), -80)
    result = estimate(audio.astype(np.float32), SR, MODEL)
    steady = np.zeros(len(result.voiced), bool)
    steady[4:-4] = True
    voiced = result.voiced & steady
    assert voiced.mean() > 0.7 * steady.mean()
    assert np.all(np.abs(1200 * np.log2(result.f0_hz[voiced] / f0)) < 50)
    level = _relative_db(result.amplitudes[voiced])
    audible = np.arange(1, 21) * f0 < SR / 2
    lacks = audible & (np.arange(1, 21) > count)
    assert np.all(level[lacks] < -40), (f0, truth, level.round(1))
    expected = 20 * np.log10(truth / truth.max())
    np.testing.assert_allclose(level[:count], expected, atol=LEVEL_DB, err_msg=f"f0 {f0:.1f}, truth {truth}")


def _one_over_k_error(seed: int) -> tuple[float, np.ndarray]:
    """f0 and the level error (dB) of partials 1-10 of a seeded 1/k tone; asserts partials 11-20 stay low."""
    rng = np.random.default_rng(2000 + seed)
    f0 = float(np.exp(rng.uniform(np.log(100), np.log(400))))
    truth = 1 / np.arange(1, 11)
    audio = signals.scale_to_dbfs(signals.harmonic_tone(f0, truth, 1.0, SR, rng), -20)
    result = estimate(audio.astype(np.float32), SR, MODEL)
    voiced = result.voiced.copy()
    voiced[:4] = voiced[-4:] = False
    level = _relative_db(result.amplitudes[voiced])
    assert np.all(level[10:][np.arange(11, 21) * f0 < SR / 2] < -30)
    return f0, level[:10] - 20 * np.log10(truth)


@pytest.mark.parametrize("seed", range(3))
def test_a_one_over_k_tone_keeps_its_spectral_envelope(seed):
    """The envelope's shape: levels fall with k as the truth does (rank correlation), within ENVELOPE_DB
    in the median -- what the default model does today (6-7 dB, the bias below), as a bound."""
    f0, error = _one_over_k_error(seed)
    level = error + 20 * np.log10(1 / np.arange(1, 11))
    rank = np.corrcoef(np.argsort(np.argsort(-level)), np.arange(10))[0, 1]
    assert rank >= 0.8 and np.median(np.abs(error)) <= ENVELOPE_DB, (f0, error.round(1))


@pytest.mark.xfail(strict=True, reason="known bias of the default model: upper partials of a 1/k tone read 5-9 dB low (docs/training.md)")
@pytest.mark.parametrize("seed", range(3))
def test_a_one_over_k_tone_within_3_db(seed):
    f0, error = _one_over_k_error(seed)
    assert np.median(np.abs(error)) <= 3.0, (f0, error.round(1))


@pytest.mark.parametrize("vowel", ["a", "i", "u"])
def test_a_sung_vowel_keeps_its_formant_envelope(vowel):
    rng = np.random.default_rng(ord(vowel))
    f0 = float(rng.uniform(150, 300))
    audio, f0_curve = signals.voice(f0, 1.2, rng, vowel=vowel, vibrato_cents=0.0, jitter=0.0, shimmer=0.0, breath_db=None)
    result = estimate(audio.astype(np.float32), SR, MODEL)
    voiced = result.voiced.copy()
    voiced[:4] = voiced[-4:] = False
    truth = signals.voice_partials(f0, vowel, 20)
    expected = 20 * np.log10(np.maximum(truth, 1e-12) / truth.max())
    level = _relative_db(result.amplitudes[voiced])
    strong = expected > -30  # the partials that shape what is heard
    assert np.median(np.abs(level[strong] - expected[strong])) <= ENVELOPE_DB, (level.round(1), expected.round(1))
