"""What people upload: each kind of input of the real-uploads issue, generated from a seed, with the right answer as the assertion.

Kinds: weak or missing fundamental, phone-band voices, coloured noise alone, sounds below the
model's range, a note sounding under the next one, voices. Each is drawn at several frequencies,
levels and seeds (`sotdemo.signals`), analysed by `estimate` with the default model and default
thresholds, and scored against the generator's f0 (50 cents, mir_eval's convention).
"""

from __future__ import annotations

import numpy as np
import pytest

from sotdemo import signals
from sotdemo.estimate import estimate

SR = 16000


def _cents(estimate_hz: np.ndarray, truth_hz: float | np.ndarray) -> np.ndarray:
    return 1200 * np.abs(np.log2(np.asarray(estimate_hz) / truth_hz))


def _assert_voiced_at(result, truth_hz, min_voiced: float = 0.95, min_correct: float = 0.95) -> None:
    voiced = result.voiced
    assert voiced.mean() >= min_voiced, f"only {100 * voiced.mean():.1f} % of frames voiced"
    truth = np.broadcast_to(np.asarray(truth_hz, dtype=np.float64), voiced.shape)
    correct = _cents(result.f0_hz[voiced], truth[voiced]) <= 50
    assert correct.mean() >= min_correct, f"{100 * correct.mean():.1f} % of voiced frames within 50 cents; median f0 {np.median(result.f0_hz[voiced]):.1f} Hz"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_missing_fundamental_is_voiced_at_its_pitch(seed):
    rng = np.random.default_rng(seed)
    f0 = float(np.exp(rng.uniform(np.log(90), np.log(500))))
    audio = signals.scale_to_dbfs(signals.missing_fundamental(f0, 1.5, (2, 10), rng=rng), rng.uniform(-35, -10))
    _assert_voiced_at(estimate(audio, SR, resynthesize=False), f0)


def test_the_issue_example_g3_without_fundamental():
    audio = signals.scale_to_dbfs(signals.missing_fundamental(196.0, 1.5, (2, 10), rng=np.random.default_rng(5)), -20)
    _assert_voiced_at(estimate(audio, SR, resynthesize=False), 196.0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_phone_band_voice_is_voiced_at_its_pitch(seed):
    rng = np.random.default_rng(100 + seed)
    f0 = float(rng.uniform(85, 220))
    audio, track = signals.voice(f0, 1.5, rng, vibrato_cents=rng.uniform(0, 40), breath_db=-35)
    phone = signals.phone_band(audio, SR)  # 300-3400 Hz at 8 kHz
    result = estimate(phone, 8000, resynthesize=False)
    truth = track[np.minimum((result.times_s * SR).astype(int), len(track) - 1)]
    _assert_voiced_at(result, truth, min_voiced=0.9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_voice_is_voiced_at_its_pitch(seed):
    rng = np.random.default_rng(200 + seed)
    f0 = float(np.exp(rng.uniform(np.log(80), np.log(700))))
    audio, track = signals.voice(f0, 1.5, rng, vibrato_cents=rng.uniform(0, 80), jitter=0.008, breath_db=-25)
    result = estimate(audio, SR, resynthesize=False)
    truth = track[np.minimum((result.times_s * SR).astype(int), len(track) - 1)]
    _assert_voiced_at(result, truth)


@pytest.mark.parametrize("colour,level_db,seed", [
    ("pink", -35, 0), ("brown", -35, 0), ("pink", -20, 1), ("brown", -15, 2), ("pink", -45, 3), ("brown", -45, 4),
])
def test_coloured_noise_alone_is_not_voiced(colour, level_db, seed):
    rng = np.random.default_rng(300 + seed)
    audio = signals.scale_to_dbfs(signals.coloured_noise(colour, 3.0, rng), level_db)
    assert estimate(audio, SR, resynthesize=False).voiced.mean() <= 0.05


@pytest.mark.parametrize("band,level_db,seed", [((20, 120), -30, 0), ((30, 80), -25, 1), ((15, 200), -20, 2), ((40, 100), -35, 3)])
def test_rumble_alone_is_not_voiced(band, level_db, seed):
    rng = np.random.default_rng(400 + seed)
    audio = signals.scale_to_dbfs(signals.coloured_noise("rumble", 3.0, rng, band_hz=band), level_db)
    assert estimate(audio, SR, resynthesize=False).voiced.mean() <= 0.05


@pytest.mark.parametrize("seed", [0, 1])
def test_white_noise_alone_is_not_voiced(seed):
    audio = signals.scale_to_dbfs(signals.coloured_noise("white", 3.0, np.random.default_rng(500 + seed)), -30)
    assert estimate(audio, SR, resynthesize=False).voiced.mean() <= 0.01


@pytest.mark.parametrize("hz", [25.0, 12.0, 30.0])
def test_a_sound_below_the_models_range_is_not_voiced_and_is_named(hz):
    t = np.arange(int(1.5 * SR)) / SR
    result = estimate(0.5 * np.sin(2 * np.pi * hz * t + 0.3), SR, resynthesize=False)
    assert result.voiced.mean() <= 0.01
    assert any("below 32.7 Hz" in w for w in result.warnings), result.warnings


def test_a_tone_in_range_gets_no_range_warning():
    t = np.arange(int(1.5 * SR)) / SR
    assert estimate(0.5 * np.sin(2 * np.pi * 220 * t), SR, resynthesize=False).warnings == []


@pytest.mark.parametrize("f0,interval,below_db,seed,slope", [
    (110.0, 1.5, 6, 0, 1.0), (146.8, 1.5, 6, 1, 1.0), (98.0, 1.25, 6, 2, 1.0), (220.0, 1.5, 3, 3, 1.0), (82.4, 1.5, 10, 4, 1.0),
    (165.0, 1.25, 6, 5, 1.5),  # together periodic at f0/4: the comb check must not take that common sub-harmonic
])
def test_a_note_sounding_under_the_next_one_keeps_its_pitch(f0, interval, below_db, seed, slope):
    rng = np.random.default_rng(600 + seed)
    k = np.arange(1, 9)
    low = signals.harmonic_tone(f0, k**-slope, 1.5, rng=rng)
    high = signals.harmonic_tone(f0 * interval, k**-slope, 1.5, rng=rng) * 10 ** (-below_db / 20)
    audio = signals.scale_to_dbfs(low + high, -18)
    _assert_voiced_at(estimate(audio, SR, resynthesize=False), f0)


def test_harmonicity_separates_a_tone_from_noise():
    from sotdemo.voicing import harmonicity

    rng = np.random.default_rng(7)
    n = SR
    tone = signals.harmonic_tone(150.0, 1 / np.arange(1, 11), 1.0, rng=rng)
    noise = signals.coloured_noise("white", 1.0, rng)
    f0 = np.full(1 + n // 256, 150.0)
    assert np.median(harmonicity(tone, f0)) > 0.95
    assert np.median(harmonicity(noise, f0)) < 0.55
    # the tone is missing its fundamental: its overtones are still teeth
    assert np.median(harmonicity(signals.missing_fundamental(150.0, 1.0, (2, 10)), f0)) > 0.95
    # a sound off the comb (a 25 Hz sine under a 40 Hz comb) scores about 0
    t = np.arange(n) / SR
    assert np.median(harmonicity(np.sin(2 * np.pi * 25 * t), np.full(len(f0), 40.0))) < 0.05


def test_estimate_takes_channels_and_warns_when_they_cancel():
    x = signals.scale_to_dbfs(signals.harmonic_tone(220.0, 1 / np.arange(1, 7), 1.5), -20)
    result = estimate(np.stack([x, -x], axis=1), SR, resynthesize=False)
    assert any("channels cancel" in w for w in result.warnings), result.warnings
    _assert_voiced_at(result, 220.0)
    assert not estimate(np.stack([x, 0.5 * x], axis=1), SR, resynthesize=False).warnings  # ordinary stereo: mixed, silent


@pytest.mark.parametrize("kind", ["zeros", "dither"])
def test_silence_says_so_and_nothing_else(kind):
    rng = np.random.default_rng(9)
    audio = np.zeros(SR) if kind == "zeros" else rng.triangular(-1, 0, 1, SR) / 32768
    result = estimate(audio, SR, resynthesize=False)
    assert not result.voiced.any()
    assert len(result.warnings) == 1 and result.warnings[0].startswith("no frame reaches the level gate"), result.warnings


def _abrupt_notes(seed: int, n: int = 6):
    """Notes of 10 partials (random phases: a click at each end) between near-silences, and their f0."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(110), np.log(880))))
        tone = signals.harmonic_tone(f0, 1 / np.arange(1, 11), 0.6, rng=rng)
        gap = np.zeros(int(0.3 * 16000))
        audio = np.concatenate([gap, signals.scale_to_dbfs(tone, rng.uniform(-30, -6)), gap])
        yield audio + signals.scale_to_dbfs(rng.standard_normal(len(audio)), -80), f0


@pytest.mark.slow
def test_clicks_at_note_edges_are_not_voiced_far_below_the_note():
    """A note's abrupt start or end (a click) fills the dense comb of a pitch 2-4 octaves below it, so
    harmonicity alone would voice it there; a frame voiced on harmonicity alone now needs some posterior
    support (`voicing.CLEAR_MIN_CONFIDENCE`, chosen in bench/voicing_calibration.py). The frames whose
    posterior does support a lower octave (the CQT's long low-frequency windows straddling the edge) remain:
    docs/benchmarks.md; 3-5 % of the frames within 0.1 s of an edge on these seeds, never a frame away from one."""
    from sotdemo.voicing import CLEAR_MIN_CONFIDENCE

    wrong, edge = {0.0: 0, CLEAR_MIN_CONFIDENCE: 0}, 0
    for audio, f0 in _abrupt_notes(31):
        for floor in wrong:
            r = estimate(audio, 16000, clear_min_confidence=floor)
            far = r.voiced & (1200 * np.log2(np.maximum(r.f0_hz, 1e-3) / f0) <= -1100)
            near = (np.abs(r.times_s - 0.3) <= 0.1) | (np.abs(r.times_s - 0.9) <= 0.1)  # the note sounds 0.3-0.9 s
            wrong[floor] += int(far.sum())
            if floor:
                edge += int(near.sum())
                assert not (far & ~near).any()
                assert r.voiced[(r.times_s > 0.45) & (r.times_s < 0.75)].all()  # the note itself stays voiced
    assert wrong[CLEAR_MIN_CONFIDENCE] <= wrong[0.0], wrong
    assert wrong[CLEAR_MIN_CONFIDENCE] <= 0.08 * edge, (wrong, edge)


def test_a_mono_array_is_checked_as_uploads_are():
    """`estimate` on a plain `[samples]` array: the same checks and warnings as a file or a stereo array."""
    from sotdemo.audio import AudioError

    x = signals.scale_to_dbfs(signals.harmonic_tone(220.0, 1 / np.arange(1, 7), 1.0), -12)
    clipped = estimate(np.clip(8 * x, -1, 1), SR, resynthesize=False)
    assert any("is clipped" in w for w in clipped.warnings), clipped.warnings
    holes = x.copy()
    holes[1000:1010] = np.nan
    patched = estimate(holes, SR, resynthesize=False)
    assert any("NaN/infinite samples were set to 0" in w for w in patched.warnings), patched.warnings
    _assert_voiced_at(patched, 220.0)
    pcm = estimate((x * 32767).astype(np.int16), SR, resynthesize=False)  # integer PCM is scaled, not read as ±32767
    np.testing.assert_allclose(pcm.f0_hz, estimate(x, SR, resynthesize=False).f0_hz, rtol=1e-3)
    assert not pcm.warnings
    with pytest.raises(AudioError, match="too short"):
        estimate(x[:100], SR)
    assert not estimate(x, SR, resynthesize=False).warnings  # an ordinary tone: nothing to say


def test_the_checks_leave_a_clips_first_and_last_frame_alone():
    """A note cut at the clip's start: the first frame's window is half padding plus the cut's click, so the
    octave and comb checks read its spectrum wrong (on these 10 pairs a fifth apart, before: 9 first or last
    frames voiced an octave or more low with the checks, 6 without); they skip the first and last frame, which
    keep the decoded pitch."""
    rng = np.random.default_rng(78)
    checked_low = plain_low = 0
    for _ in range(10):
        f0 = float(np.exp(rng.uniform(np.log(100), np.log(800))))
        k = np.arange(1, 9)
        pair = signals.harmonic_tone(f0, 1 / k, 1.0, rng=rng) + 0.7 * signals.harmonic_tone(1.5 * f0, 1 / k, 1.0, rng=rng)
        audio = signals.scale_to_dbfs(pair, -18).astype(np.float32)
        for flag in (True, False):
            r = estimate(audio, SR, resynthesize=False, octave_check=flag)
            low = int(sum(r.voiced[j] and 1200 * np.log2(r.f0_hz[j] / f0) < -600 for j in (0, -1)))
            if flag:
                checked_low += low
            else:
                plain_low += low
    assert checked_low <= plain_low, (checked_low, plain_low)
