"""The paper's encoder: size, shapes, soft-argmax and the Toeplitz pitch head."""

import numpy as np
import pytest
import torch

from sotdemo.encoder import Encoder, EncoderConfig, ToeplitzLinear, exp_sigmoid


def test_parameter_count_is_the_papers():
    n = sum(p.numel() for p in Encoder().parameters())
    assert 45_000 <= n <= 48_000, n


def test_shapes_and_ranges():
    enc = Encoder().eval()
    out = enc(torch.rand(2, 5, 285))
    assert out.f0_hz.shape == (2, 5) and out.amplitudes.shape == (2, 5, 20) and out.logits.shape == (2, 5, 285)
    bins = EncoderConfig().pitch_bins_hz()
    assert (out.f0_hz >= bins[0]).all() and (out.f0_hz <= bins[-1]).all()
    assert (out.amplitudes > 0).all() and (out.amplitudes <= 2).all()


def test_soft_argmax_of_a_sharp_posterior_is_the_bin_frequency():
    enc = Encoder()
    bins = EncoderConfig().pitch_bins_hz()
    logits = torch.full((3, 285), -50.0)
    idx = [0, 100, 284]
    logits[range(3), idx] = 50.0
    np.testing.assert_allclose(enc.f0_from_logits(logits).numpy(), bins[idx], rtol=1e-5)
    # two equal neighbours: the geometric mean (soft-argmax in log frequency)
    logits = torch.full((1, 285), -50.0)
    logits[0, 100:102] = 50.0
    assert enc.f0_from_logits(logits).item() == pytest.approx(np.sqrt(bins[100] * bins[101]), rel=1e-5)


def test_toeplitz_layer_equals_its_explicit_matrix():
    layer = ToeplitzLinear(channels=2, n_in=7, n_out=5)
    x = torch.randn(3, 2, 7)
    w = layer.kernel.detach()  # [channels, 11]
    matrix = torch.stack([torch.stack([w[c, i - o + 4] for i in range(7)]) for o in range(5) for c in range(2)]).reshape(5, 2, 7)
    expected = torch.einsum("oci,bci->bo", matrix, x)
    torch.testing.assert_close(layer(x), expected)


def test_exp_sigmoid():
    assert exp_sigmoid(torch.tensor(0.0)).item() == pytest.approx(2 * 0.5 ** np.log(10) + 1e-7)
    assert exp_sigmoid(torch.tensor(100.0)).item() == pytest.approx(2.0)


def test_amplitudes_can_be_kept_from_training_the_shared_trunk():
    torch.manual_seed(0)
    encoder = Encoder()
    frames = torch.rand(4, 285)
    for train_trunk in (True, False):
        encoder.zero_grad(set_to_none=True)
        encoder(frames, amplitudes_train_trunk=train_trunk).amplitudes.sum().backward()
        assert encoder.amplitude_head.weight.grad.abs().sum() > 0
        trunk = encoder.conv_in[0].weight.grad
        assert (trunk is not None and trunk.abs().sum() > 0) == train_trunk
        assert encoder.pitch_head.kernel.grad is None
    # the option changes gradients only, not what is predicted
    encoder.eval()
    assert torch.equal(encoder(frames).amplitudes, encoder(frames, amplitudes_train_trunk=False).amplitudes)


def test_the_inference_trunk_equals_the_training_trunk():
    """Without autograd the trunk runs as channels-last 2-D convolutions (faster on CPU): same
    weights, same output to float rounding, dropout and all, in float32 and under bfloat16."""
    torch.manual_seed(0)
    encoder = Encoder(EncoderConfig()).eval()
    frames = torch.rand(37, 285) ** 4
    with torch.enable_grad():
        trained = encoder(frames)
    with torch.no_grad():
        fast = encoder(frames)
        fast_bf16 = encoder(frames, bfloat16_trunk=True)
    torch.testing.assert_close(fast.logits, trained.logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast.amplitudes, trained.amplitudes, rtol=1e-5, atol=1e-6)
    with torch.enable_grad():
        trained_bf16 = encoder(frames, bfloat16_trunk=True)
    torch.testing.assert_close(fast_bf16.logits, trained_bf16.logits, rtol=0.05, atol=0.05)
    assert not torch.equal(fast_bf16.logits, fast.logits)  # bfloat16 really ran


def test_the_float32_inference_trunk_follows_the_cpu(monkeypatch):
    """float32 inference takes the channels-last trunk with AVX-512 kernels and plain Conv1d below them
    (faster there: results/engines.md); bfloat16 stays channels-last; both give the training trunk's output."""
    from sotdemo import encoder as encoder_module

    torch.manual_seed(0)
    encoder = Encoder(EncoderConfig()).eval()
    frames = torch.rand(21, 285) ** 4
    with torch.enable_grad():
        trained = encoder(frames)
    calls = []
    original = Encoder._trunk_channels_last
    monkeypatch.setattr(Encoder, "_trunk_channels_last", lambda self, x: calls.append(1) or original(self, x))
    for avx512, channels_last in ((True, 1), (False, 0)):
        monkeypatch.setattr(encoder_module, "_avx512_kernels", lambda avx512=avx512: avx512)
        calls.clear()
        with torch.no_grad():
            out = encoder(frames)
        assert len(calls) == channels_last
        torch.testing.assert_close(out.logits, trained.logits, rtol=1e-5, atol=1e-5)
        calls.clear()
        with torch.no_grad():
            encoder(frames, bfloat16_trunk=True)
        assert len(calls) == 1


def test_the_harmonic_head_reads_partials_at_any_pitch_without_moving_it():
    """The harmonic amplitude head: K amplitudes per frame, at the pitch head's f0 in `forward` and
    at any f0 through `amplitudes_at`; no gradient reaches f0 through its sampling positions; and
    the ONNX export (sotdemo.engine) gives the same amplitudes."""
    torch.manual_seed(0)
    encoder = Encoder(EncoderConfig(amplitude_head="harmonic")).eval()
    frames = torch.rand(6, 285)
    out = encoder(frames)
    assert out.amplitudes.shape == (6, 20) and bool((out.amplitudes > 0).all())
    torch.testing.assert_close(encoder.amplitudes_at(frames, out.f0_hz), out.amplitudes, rtol=1e-5, atol=1e-7)
    f0 = torch.full((6,), 220.0, requires_grad=True)
    encoder.amplitudes_at(frames, f0).sum().backward()
    assert f0.grad is None
    assert Encoder(EncoderConfig()).amplitudes_at(frames, f0) is None  # the paper's head has no pitch to read at
    pytest.importorskip("onnxruntime")
    from sotdemo.engine import OnnxEncoder

    logits, amplitudes = OnnxEncoder(encoder)(frames.numpy())
    np.testing.assert_allclose(amplitudes, out.amplitudes.detach().numpy(), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="amplitude_head"):
        EncoderConfig(amplitude_head="dense")


def test_the_readout_temperature_applies_in_eval_mode_only():
    """A posterior with its peak at bin 200 and a broad mode an octave below (bin 164): the soft-argmax
    at the training temperature is pulled flat; at a cooler readout it follows the peak. Reference:
    the same softmax written in NumPy."""
    config = EncoderConfig(readout_temperature=0.05)
    enc = Encoder(config)
    bins = np.log2(config.pitch_bins_hz())
    logits = np.full(285, -2.0)
    logits[200] = 0.0
    logits[160:169] = -0.5
    x = torch.tensor(logits, dtype=torch.float32)[None]

    def reference(temperature):
        w = np.exp((logits - logits.max()) / temperature)
        return 2 ** (w @ bins / w.sum())

    enc.train()
    assert enc.readout == 0.1
    np.testing.assert_allclose(enc.f0_from_logits(x).item(), reference(0.1), rtol=1e-5)
    enc.eval()
    assert enc.readout == 0.05
    cool = enc.f0_from_logits(x).item()
    np.testing.assert_allclose(cool, reference(0.05), rtol=1e-5)
    peak = 2 ** bins[200]
    assert abs(1200 * np.log2(cool / peak)) < 10 < abs(1200 * np.log2(reference(0.1) / peak))
    assert Encoder(EncoderConfig()).eval().readout == 0.1  # none chosen: the training temperature
