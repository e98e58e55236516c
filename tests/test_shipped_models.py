"""The shipped checkpoints really estimate pitch: scored on clips generated fresh for this test."""

import numpy as np
import pytest
import torch

from sotdemo import model as model_lib
from sotdemo.data import DataConfig, generate
from sotdemo.metrics import raw_pitch_accuracy
from sotdemo.spectral import cqt
from sotdemo.train import EncodedSplit, evaluate_split

pytestmark = pytest.mark.slow  # every test here evaluates shipped checkpoints on fresh clips

DEFAULT = "sot-harmonic"  # the app's and the CLI's default: PITCH's encoder with the harmonic amplitude head
PITCH = "sot-realistic"  # the paper-tone recipe below, fine-tuned on realistic sounds: the default's pitch
RECIPE = "sot-2048-curriculum"  # our recipe on the paper's tones (issue 3's reliable SOT-2048)


@pytest.fixture(scope="module")
def fresh_clips():
    """200 clips of the paper's distribution from a seed no training or evaluation split uses."""
    data = generate(DataConfig(n_clips=200, seed=20261126))
    return EncodedSplit(data, torch.from_numpy(cqt(data.audio, data.sample_rate)))


def test_default_model_is_shipped():
    assert model_lib.DEFAULT_MODEL == DEFAULT
    assert model_lib.resolve(None).parent.name == DEFAULT
    assert model_lib.load(None).config.train.init_from.startswith(PITCH + "/")
    assert model_lib.load(PITCH).config.train.init_from.startswith(RECIPE + "/")


def test_the_default_models_pitch_and_voicing_are_its_pitch_models():
    """The default's amplitude phase froze f0: on fresh clips of the kinds people upload, its f0 and
    voicing equal those of the checkpoint it started from, frame for frame."""
    from sotdemo import signals
    from sotdemo.estimate import estimate

    default = model_lib.load(None)
    start = model_lib.load(default.config.train.init_from)
    rng = np.random.default_rng(20261130)
    clips = [signals.voice(float(rng.uniform(90, 400)), 1.0, rng)[0], signals.harmonic_tone(261.6, 1 / np.arange(1, 8), 1.0, 16000, rng),
             signals.coloured_noise("pink", 1.0, rng)]
    for audio in clips:
        a, b = estimate(audio, 16000, default), estimate(audio, 16000, start)
        np.testing.assert_array_equal(a.f0_hz, b.f0_hz)
        np.testing.assert_array_equal(a.voiced, b.voiced)
        assert not np.array_equal(a.amplitudes[a.voiced], b.amplitudes[b.voiced]) or not a.voiced.any()


@pytest.mark.parametrize("name", [None, RECIPE])
def test_default_and_paper_recipe_find_pitch_on_fresh_clips(fresh_clips, name):
    model = model_lib.load(name)
    with torch.no_grad():
        f0 = model(fresh_clips.middle).f0_hz.numpy()
    truth = fresh_clips.data.f0_hz
    assert 100 * raw_pitch_accuracy(truth, f0) >= 95.0  # mir_eval's 50-cent criterion
    assert np.mean(np.abs(1200 * np.log2(f0 / truth)) < 50) >= 0.95  # the same, by hand


@pytest.mark.parametrize("name", [None, RECIPE])
def test_default_and_paper_recipe_score_every_frame_and_resynthesize(fresh_clips, name):
    scores = evaluate_split(model_lib.load(name), fresh_clips)
    assert scores["rpa"] >= 95.0 and scores["rca"] >= scores["rpa"]
    assert scores["lsd"] < 100.0  # after 50 training steps a model still scores about 370


def test_the_defaults_soft_argmax_reads_paper_tones_at_its_chosen_readout(fresh_clips):
    """The soft-argmax of every frame (what `evaluate` scores) reads >= 99 % of fresh paper-distribution
    frames within 50 cents at the readout temperature the run chose without labels; at the training
    temperature it averages in posterior mass far below the peak and reads fewer."""
    import json

    from sotdemo.train import with_readout

    model = model_lib.load(None)
    chosen = model.config.encoder.readout_temperature
    assert chosen is not None and chosen < model.config.encoder.temperature
    record = json.loads((model_lib.resolve(None) / "metrics.json").read_text())["readout"]
    assert record["chosen"] == chosen == record["temperatures"][int(np.argmin(record["val_lsd"]))]
    cool = evaluate_split(model, fresh_clips)["rpa"]
    assert cool >= 99.0
    assert evaluate_split(with_readout(model_lib.load(None), model.config.encoder.temperature), fresh_clips)["rpa"] < cool


def test_default_voicing_threshold_rejects_noise_and_keeps_clean_tones():
    from sotdemo.estimate import estimate

    rng = np.random.default_rng(0)
    noise = estimate(0.1 * rng.standard_normal(64000).astype(np.float32), 16000, None)
    assert noise.voiced.mean() <= 0.05
    t = np.arange(32000) / 16000
    for f0 in (110.0, 440.0):
        tone = 0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
        assert estimate(tone.astype(np.float32), 16000, None).voiced[2:-2].mean() == 1.0


def test_four_of_five_seeds_of_the_unbiased_phase_one_recipe_find_pitch_on_fresh_clips(fresh_clips):
    """sot-2048-curriculum-fundamental (issue 3's reliability row): 4 of its 5 shipped seeds reach
    98 % RPA on fresh clips; seed 123 does not (phase 1 ends a semitone off; see docs/training.md)."""
    scores = {}
    for seed in (42, 123, 456, 789, 101112):
        model = model_lib.load(f"sot-2048-curriculum-fundamental/seed-{seed}")
        with torch.no_grad():
            f0 = model(fresh_clips.middle).f0_hz.numpy()
        scores[seed] = 100 * raw_pitch_accuracy(fresh_clips.data.f0_hz, f0)
    assert sum(score >= 98.0 for score in scores.values()) >= 4, scores


@pytest.mark.parametrize("seed", [42, 123, 456, 789, 101112])
def test_every_seed_of_the_w1_recipe_finds_pitch_on_fresh_clips(fresh_clips, seed):
    """sot-2048-curriculum-w1, issue 3's reliability goal: every shipped seed >= 98 % RPA."""
    model = model_lib.load(f"sot-2048-curriculum-w1/seed-{seed}")
    with torch.no_grad():
        f0 = model(fresh_clips.middle).f0_hz.numpy()
    assert 100 * raw_pitch_accuracy(fresh_clips.data.f0_hz, f0) >= 98.0


@pytest.fixture(scope="module")
def nocut_scores(fresh_clips):
    """Every frame of the fresh clips scored by each shipped seed of sot-2048-curriculum-nocut."""
    return {seed: evaluate_split(model_lib.load(f"sot-2048-curriculum-nocut/seed-{seed}"), fresh_clips) for seed in (42, 123, 456, 789, 101112)}


def test_the_nocut_recipe_meets_the_reliability_goal_on_fresh_clips(nocut_scores):
    """sot-2048-curriculum-nocut, issue 3's whole goal for SOT-2048: every seed >= 98 % RPA, the
    mean >= 99 %, and the mean LSD <= 23.5 (the paper's SOT-2048 mean)."""
    rpa = {seed: s["rpa"] for seed, s in nocut_scores.items()}
    lsd = {seed: s["lsd"] for seed, s in nocut_scores.items()}
    assert min(rpa.values()) >= 98.0 and np.mean(list(rpa.values())) >= 99.0, rpa
    assert np.mean(list(lsd.values())) <= 23.5, lsd
