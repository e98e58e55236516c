"""Encoder engines (`sotdemo.engine`): ONNX Runtime gives torch float32's pitch tracks and voicing, and
`choose` follows its rule, including under the environment caps that emulate an AVX2-only CPU."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SHIPPED
from sotdemo import engine
from sotdemo import model as model_lib
from sotdemo.estimate import estimate, estimate_many
from sotdemo.signals import harmonic_tone, scale_to_dbfs, voice

SR = 16000
needs_model = pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
needs_ort = pytest.mark.skipif(not engine.onnxruntime_available(), reason="onnxruntime/onnx not installed")


def _clips(n: int = 12, seed: int = 17) -> list[np.ndarray]:
    """Seeded voices (vibrato, jitter, breath, each vowel) and harmonic tones (random amplitudes and
    levels, some quiet enough to meet the level gate), 1-2 s each, with silence between notes."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        seconds = float(rng.uniform(1.0, 2.0))
        f0 = float(55 * 2 ** rng.uniform(0, 4.5))
        if i % 2:
            audio, _ = voice(f0, seconds, rng, vibrato_cents=float(rng.uniform(0, 60)))
        else:
            audio = harmonic_tone(f0, rng.uniform(0.1, 1, int(rng.integers(1, 12))), seconds, rng=rng)
        audio = scale_to_dbfs(audio, float(rng.uniform(-55, -15)))
        clips.append(np.concatenate([np.zeros(int(rng.integers(0, 4000))), audio, np.zeros(int(rng.integers(0, 4000)))]).astype(np.float32))
    return clips


@needs_model
@needs_ort
def test_onnxruntime_tracks_agree_with_torch_float32():
    """Goal of issue 17: < 1 cent median on f0, >= 99.9 % of frames with the same voicing decision."""
    model = model_lib.load(None)
    clips = _clips()
    reference = estimate_many(clips, SR, model, engine="torch", precision="float32", resynthesize=False)
    fast = estimate_many(clips, SR, model, engine="onnxruntime", resynthesize=False)
    assert {r.engine for r in reference} == {"torch float32"} and {r.engine for r in fast} == {"onnxruntime float32"}
    f0_ref, f0_fast = (np.concatenate([r.f0_hz for r in results]) for results in (reference, fast))
    voiced_ref, voiced_fast = (np.concatenate([r.voiced for r in results]) for results in (reference, fast))
    cents = 1200 * np.abs(np.log2(f0_fast / f0_ref))
    assert len(cents) > 1000 and 0.2 < voiced_ref.mean() < 1  # a set with voiced and unvoiced frames
    assert np.median(cents) < 1 and np.median(cents[voiced_ref]) < 1
    assert np.mean(voiced_fast == voiced_ref) >= 0.999
    amplitude_error = max(np.abs(a.amplitudes - b.amplitudes).max() for a, b in zip(reference, fast))
    assert amplitude_error < 1e-3


@needs_model
def test_many_clips_at_once_give_what_each_gives_alone():
    model = model_lib.load(None)
    clips = _clips(6, seed=3)
    for name in ("torch",) + (("onnxruntime",) if engine.onnxruntime_available() else ()):
        together = estimate_many(clips, SR, model, engine=name, resynthesize=True)
        for clip, many in zip(clips, together):
            alone = estimate(clip, SR, model, engine=name)
            assert many.engine == alone.engine
            np.testing.assert_allclose(many.f0_hz, alone.f0_hz, rtol=1e-5)
            np.testing.assert_array_equal(many.voiced, alone.voiced)
            np.testing.assert_allclose(many.confidence, alone.confidence, atol=1e-5)
            np.testing.assert_allclose(many.amplitudes, alone.amplitudes, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(many.resynthesis, alone.resynthesis, atol=1e-4)
            assert many.warnings == alone.warnings and len(many.times_s) == len(alone.times_s) == 1 + len(clip) // 256
    with pytest.raises(ValueError, match="2 sample rates for 6 clips"):
        estimate_many(clips, [SR, SR], model)


def test_choose_follows_its_rule_and_refuses_what_it_cannot_do(monkeypatch):
    monkeypatch.setattr(engine, "bfloat16_is_fast", lambda: True)
    assert engine.choose("auto", "auto") == ("torch", True)
    assert engine.choose("torch", "float32") == ("torch", False)
    monkeypatch.setattr(engine, "bfloat16_is_fast", lambda: False)
    assert engine.choose("torch", "auto") == ("torch", False)
    assert engine.choose("auto", "bfloat16") == ("torch", True)  # asked for: emulated, slow, but what was asked
    monkeypatch.setattr(engine, "onnxruntime_available", lambda: True)
    assert engine.choose("auto", "auto") == ("onnxruntime", False)
    with pytest.raises(ValueError, match="ONNX Runtime runs the encoder in float32"):
        engine.choose("onnxruntime", "bfloat16")
    monkeypatch.setattr(engine, "onnxruntime_available", lambda: False)
    assert engine.choose("auto", "auto") == ("torch", False)
    with pytest.raises(ValueError, match="pip install onnxruntime onnx"):
        engine.choose("onnxruntime", "auto")
    with pytest.raises(ValueError, match="engine must be one of"):
        engine.choose("tensorrt")
    with pytest.raises(ValueError, match="precision must be"):
        engine.choose("auto", "half")


def test_an_avx2_cap_turns_bfloat16_off():
    """The environment that emulates an AVX2-only CPU (bench/engines.py) must not leave torch on emulated bfloat16."""
    code = ("import torch; from sotdemo.engine import avx512_kernels, bfloat16_is_fast; "
            "print(torch.backends.cpu.get_cpu_capability(), bfloat16_is_fast(), avx512_kernels())")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["AVX2", "False", "False"]  # and the float32 trunk takes plain Conv1d there (`Encoder.forward`)


@needs_model
@needs_ort
def test_the_onnx_session_follows_the_model_and_its_thread_count():
    import torch

    model = model_lib.load(None)
    frames = np.abs(np.random.default_rng(0).standard_normal((300, model.config.encoder.n_bins))).astype(np.float32) ** 2
    session = engine.onnx_encoder(model.encoder, threads=1)
    assert engine.onnx_encoder(model.encoder, threads=1) is session and engine.onnx_encoder(model.encoder, threads=2) is not session
    logits, amplitudes = session(frames)
    with torch.no_grad():
        out = model(torch.from_numpy(frames))
    np.testing.assert_allclose(logits, out.logits.numpy(), atol=1e-4)
    # a head that reads the CQT at the partials of f0 (amplitude_head='harmonic') passes the logits' rounding on through f0
    np.testing.assert_allclose(amplitudes, out.amplitudes.numpy(), rtol=2e-3, atol=1e-5)
    other = model_lib.load(None)  # another model object (same weights here): its own session
    assert engine.onnx_encoder(other.encoder, threads=1) is not session
