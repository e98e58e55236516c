"""Smoke training writes a loadable checkpoint; estimate and its CLI on real audio files."""

import csv
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from sotdemo import model as model_lib
from sotdemo.config import load_config
from sotdemo.estimate import estimate
from sotdemo.train import evaluate_split, prepare, train, with_readout

SR = 16000


def smoke_config():
    cfg = load_config("sot-2048")
    return dataclasses.replace(
        cfg,
        data=dataclasses.replace(cfg.data, n_clips=120),
        train=dataclasses.replace(cfg.train, steps=30, eval_every=10, batch_size=16, learning_rate=1e-3),
    )


@pytest.fixture(scope="module")
def smoke_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    torch.set_num_threads(2)
    _, metrics = train(smoke_config(), seed=7, out_dir=root / "sot-2048" / "seed-7", progress=False)
    return root, metrics


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(smoke_checkpoints):
    _, again = train(smoke_config(), seed=7, progress=False)
    assert again["curve"] == smoke_checkpoints[1]["curve"]


def test_smoke_training_lowers_the_loss_and_writes_a_checkpoint(smoke_checkpoints, monkeypatch):
    root, metrics = smoke_checkpoints
    curve = metrics["curve"]
    assert [c["step"] for c in curve] == [10, 20, 30]
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]
    assert {p.name for p in (root / "sot-2048" / "seed-7").iterdir()} == {"model.safetensors", "config.json", "metrics.json"}
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(root))
    loaded = model_lib.load("sot-2048")
    assert loaded.config.train.steps == 30
    assert np.isfinite(metrics["best_val_lsd"])


@pytest.mark.slow
def test_a_run_can_start_from_a_checkpoint(smoke_checkpoints, monkeypatch):
    root, _ = smoke_checkpoints
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(root))
    start = model_lib.load("sot-2048/seed-7")
    cfg = smoke_config()
    frozen = dataclasses.replace(cfg.train, steps=2, eval_every=2, learning_rate=0.0, init_from="sot-2048/seed-7")
    warm, _ = train(dataclasses.replace(cfg, train=frozen), seed=1, progress=False)
    for name, value in start.encoder.state_dict().items():
        torch.testing.assert_close(warm.encoder.state_dict()[name], value, rtol=0, atol=0)
    cold, _ = train(dataclasses.replace(cfg, train=dataclasses.replace(frozen, init_from=None)), seed=1, progress=False)
    assert not torch.equal(cold.encoder.pitch_head.kernel, start.encoder.pitch_head.kernel)
    other = dataclasses.replace(cfg, encoder=dataclasses.replace(cfg.encoder, conv_channels=8), train=frozen)
    with pytest.raises(ValueError, match="other encoder sizes"):
        train(other, seed=1, progress=False)


@pytest.mark.slow
def test_a_run_chooses_its_readout_temperature_by_validation_lsd(smoke_checkpoints, monkeypatch):
    """`TrainConfig.readout_temperatures`: the chosen one is the validation LSD's minimum (checked
    against `evaluate_split` at each), the saved config carries it, and a run can start from it."""
    root, _ = smoke_checkpoints
    cfg = smoke_config()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=10, eval_every=10, readout_temperatures=(0.1, 0.05, 0.02)))
    model, metrics = train(cfg, seed=7, out_dir=root / "chosen" / "seed-7", progress=False)
    readout = metrics["readout"]
    assert readout["temperatures"] == [0.1, 0.05, 0.02]
    assert readout["chosen"] == readout["temperatures"][int(np.argmin(readout["val_lsd"]))]
    assert model.config.encoder.readout_temperature == readout["chosen"] == model.encoder.readout
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(root))
    assert model_lib.load("chosen/seed-7").encoder.readout == readout["chosen"]
    val = prepare(cfg, ("val",))["val"]
    for temperature, score in zip(readout["temperatures"], readout["val_lsd"]):
        assert evaluate_split(with_readout(model, temperature), val)["lsd"] == pytest.approx(score, rel=1e-4)
    warm = dataclasses.replace(smoke_config().train, steps=2, eval_every=2, init_from="chosen/seed-7")
    restarted, _ = train(dataclasses.replace(smoke_config(), train=warm), seed=1, progress=False)
    assert restarted.config.encoder.readout_temperature is None  # the new run's own config decides


def tone(f0, seconds=1.0, n_harmonics=5, rate=SR):
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harmonics + 1))


def test_estimate_returns_aligned_frames_and_silence_is_unvoiced(smoke_checkpoints, monkeypatch):
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(smoke_checkpoints[0]))
    audio = np.concatenate([tone(220.0), np.zeros(SR)]).astype(np.float32)
    result = estimate(audio, SR, "sot-2048")
    n = len(result.f0_hz)
    assert n == 1 + len(audio) // 256
    assert result.amplitudes.shape == (n, 20) and result.voiced.shape == (n,)
    np.testing.assert_allclose(result.times_s[:3], [0, 0.016, 0.032])
    assert result.resynthesis.shape == audio.shape and np.isfinite(result.resynthesis).all()
    assert not result.voiced[-40:].any()  # digital silence never shows a pitch
    assert np.all(result.amplitudes[~result.voiced] == 0)


@pytest.mark.slow
@pytest.mark.parametrize("fmt,subtype", [("wav", "PCM_16"), ("flac", "PCM_24")])
def test_estimate_cli_writes_the_documented_csv(smoke_checkpoints, tmp_path, fmt, subtype):
    path = tmp_path / f"tone.{fmt}"
    rate = 44100 if fmt == "wav" else SR
    sf.write(path, tone(330.0, 0.5, rate=rate), rate, subtype=subtype)
    out = tmp_path / "out"
    env = {"SOTDEMO_CHECKPOINTS": str(smoke_checkpoints[0]), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "sotdemo", "estimate", str(path), "--model", "sot-2048/seed-7", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = list(csv.reader(open(out / "tone.csv")))
    assert rows[0] == ["time_s", "f0_hz", "voiced", "confidence", "harmonicity"] + [f"amp_{k}" for k in range(1, 21)]
    assert len(rows) - 1 == 1 + 8000 // 256
    first = rows[1]
    assert float(first[0]) == 0.0 and float(first[1]) > 0 and first[2] in ("0", "1") and 0 <= float(first[3]) <= 1


@pytest.mark.slow
def test_estimate_cli_reports_a_corrupt_file(tmp_path, smoke_checkpoints):
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    env = {"SOTDEMO_CHECKPOINTS": str(smoke_checkpoints[0]), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "sotdemo", "estimate", str(bad), "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 1
    assert "notes.wav: not a readable audio file" in run.stderr and "Traceback" not in run.stderr


def test_both_decoders_find_the_notes_of_clean_tones_and_a_wrong_decoder_is_refused():
    model = model_lib.load(None)
    notes = (82.4, 220.0, 659.3, 1318.5)
    audio = np.concatenate([tone(f0, 0.5) for f0 in notes])
    for decoder in ("viterbi", "peak"):
        result = estimate(audio, SR, model=model, decoder=decoder, resynthesize=False)
        position = result.times_s / 0.5  # in notes
        truth = np.asarray(notes)[np.minimum(position.astype(int), len(notes) - 1)]
        inside = np.abs(position % 1 - 0.5) < 0.2  # the middle 0.2 s: the low CQT bins hear the previous note for ~0.1 s
        cents = 1200 * np.abs(np.log2(result.f0_hz / truth))
        assert np.all(cents[inside] < 50), decoder
    with pytest.raises(ValueError, match="decoder must be one of 'viterbi', 'peak'"):
        estimate(audio, SR, model=model, decoder="argmax")


def test_bfloat16_convolutions_agree_with_float32_within_a_cent():
    model = model_lib.load(None)  # the shipped default: a trained posterior, as users get it
    audio = np.concatenate([tone(f0, 0.5) for f0 in (82.4, 220.0, 659.3, 1318.5)])
    exact = estimate(audio, SR, model=model, precision="float32")
    fast = estimate(audio, SR, model=model, precision="bfloat16", resynthesize=False)
    cents = 1200 * np.abs(np.log2(fast.f0_hz / exact.f0_hz))
    # inside the notes every voiced frame agrees; within 0.1 s of a note change the comb check weighs
    # near-equal candidates on a spectrum holding two notes, and a hair's difference may pick another
    steady = np.abs((exact.times_s / 0.5 + 0.5) % 1 - 0.5) * 0.5 > 0.1
    assert np.median(cents) < 1 and np.max(cents[exact.voiced & steady]) < 5
    assert np.mean(cents[exact.voiced] < 5) >= 0.98
    np.testing.assert_array_equal(fast.times_s, exact.times_s)
    assert fast.resynthesis.size == 0 and exact.resynthesis.size == audio.size
    with pytest.raises(ValueError, match="precision"):
        estimate(audio, SR, model=model, precision="half")


def test_suboctave_evidence_sees_the_odd_partials_of_the_octave_below():
    from sotdemo.estimate import SUBOCTAVE_THRESHOLD, suboctave_evidence
    from sotdemo.spectral import cqt

    t = np.arange(SR) / SR
    for f0 in (65.4, 110.0, 392.0):
        weak = sum((0.02 if k == 1 else 1 / k) * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 13) if k * f0 < 7500)
        frames = cqt(weak.astype(np.float32))[10:-10]
        at_f0 = suboctave_evidence(frames, np.full(len(frames), f0))
        octave_up = suboctave_evidence(frames, np.full(len(frames), 2 * f0))
        assert np.max(at_f0) < SUBOCTAVE_THRESHOLD / 10  # nothing between the harmonics of the true pitch
        assert np.min(octave_up) > SUBOCTAVE_THRESHOLD  # the octave above: partials 3, 5, 7 ... sit between its harmonics


def test_the_octave_check_leaves_clean_tones_alone():
    model = model_lib.load(None)
    for f0 in (55.0, 130.8, 440.0, 1760.0):
        audio = tone(f0, 1.0, n_harmonics=8)
        checked = estimate(audio, SR, model=model)
        plain = estimate(audio, SR, model=model, octave_check=False)
        np.testing.assert_array_equal(checked.f0_hz, plain.f0_hz)
        np.testing.assert_array_equal(checked.amplitudes, plain.amplitudes)
        assert np.all(np.abs(1200 * np.log2(checked.f0_hz[checked.voiced] / f0)) < 50)


def test_the_octave_check_halves_an_octave_error_and_keeps_the_partials(monkeypatch):
    """A missing-fundamental tone (partials 2..12 of 98 Hz) whose posterior we force onto 196 Hz:
    the check answers 98 Hz, its amplitudes keep the levels of the partials both pitches share and
    the halved frames have the odd partials back."""
    from sotdemo import estimate as estimate_lib
    from sotdemo.spectral import cqt

    t = np.arange(SR) / SR
    audio = 0.3 * sum(np.sin(2 * np.pi * k * 98.0 * t) / k for k in range(2, 13))
    model = model_lib.load(None)
    pinned = torch.full((len(cqt(audio.astype(np.float32))), model.config.encoder.n_bins), -1e4)
    pinned[:, int(round(np.log2(196.0 / model.config.encoder.fmin_hz) * 36))] = 0.0

    original = model.forward

    def forced(frames, *args, **kwargs):
        out = original(frames, *args, **kwargs)
        out.logits = pinned[: len(frames)]
        return out

    monkeypatch.setattr(model, "forward", forced)
    plain = estimate(audio, SR, model=model, octave_check=False)
    checked = estimate(audio, SR, model=model)
    middle = slice(10, -10)
    assert np.all(np.abs(1200 * np.log2(plain.f0_hz[middle] / 196.0)) < 50)
    assert np.all(np.abs(1200 * np.log2(checked.f0_hz[middle] / 98.0)) < 50)
    k = checked.amplitudes.shape[1]
    assert plain.voiced[middle].all() and checked.voiced[middle].all()  # both tracks have amplitudes to compare
    # partial j of 196 Hz is partial 2j of 98 Hz: the same spectral line, read by the harmonic head at either pitch
    ratio_db = 20 * np.log10(checked.amplitudes[middle][:, 1::2][:, : k // 2] / plain.amplitudes[middle][:, : k // 2])
    assert np.all(np.abs(ratio_db[:, :5]) < 6.0), np.abs(ratio_db[:, :5]).max()
    assert np.all(checked.amplitudes[middle][:, 2] > 0.3 * checked.amplitudes[middle][:, 1])  # partial 3 is back
    assert estimate_lib.SUBOCTAVE_THRESHOLD == 0.05


def test_the_octave_check_never_halves_below_the_models_lowest_pitch():
    """Full-scale DC (the input a CI fuzz run found): the encoder reads about 40 Hz and the CQT's
    low-bin leakage looks like sub-octave partials; halving would leave the model's 32.7 Hz range."""
    model = model_lib.load(None)
    lowest = model.config.encoder.fmin_hz
    for audio in (np.ones(1000, np.float32), np.ones(SR, np.float32), tone(34.0, 1.0, n_harmonics=8)):
        r = estimate(audio, SR, model=model)
        assert np.all(r.f0_hz >= lowest * 0.99), r.f0_hz.min()


def test_the_estimate_names_the_default_model_it_used():
    from sotdemo.estimate import estimate
    from sotdemo.model import DEFAULT_MODEL

    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)).astype(np.float32)
    assert estimate(tone, 16000).model_name == DEFAULT_MODEL
    assert estimate(tone, 16000, model=f"{DEFAULT_MODEL}/seed-42").model_name == f"{DEFAULT_MODEL}/seed-42"
