"""The per-frame encoder: one CQT frame -> f0 (Hz) and K harmonic amplitudes (paper Sec. 3).

A small PESTO-like network (~46K parameters with the paper's sizes), written from the
paper's description: LayerNorm over the frame, Conv1d(1->40, k=15), one residual
Conv1d(40->40, k=15), 1x1 convolutions 40->30->30->10, dropout, 10->3, flatten (3*285),
then two heads:
- pitch: a Toeplitz (convolutional, shift-equivariant) linear layer 3*285 -> 285 logits
  over log-spaced frequencies; f0 is their soft-argmax at temperature 0.1, taken in log2(Hz)
  (in eval mode at `readout_temperature` where a run chose one after training, `Encoder.readout`);
- amplitudes: Linear(3*285 -> K) with the exponentiated sigmoid 2·sigmoid(x)^ln(10) + 1e-7
  (the paper's), or ours, `amplitude_head="harmonic"` (`HarmonicAmplitudeHead`): the frame's
  log-CQT read at each partial's position k·f0 (and a few bins around it) and mapped by a small
  MLP shared by all partials to that partial's amplitude, relative to the frame's level.
Leaky ReLU (slope 0.3) after every convolution.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .spectral import CQT_BINS, CQT_BINS_PER_OCTAVE, CQT_FMIN


@functools.lru_cache(maxsize=1)
def _avx512_kernels() -> bool:
    """`engine.avx512_kernels`, asked once per process (the environment caps are read at start-up)."""
    from .engine import avx512_kernels

    return avx512_kernels()

__all__ = ["Encoder", "EncoderConfig", "EncoderOutput", "HarmonicAmplitudeHead", "ToeplitzLinear", "exp_sigmoid"]


@dataclass(frozen=True)
class EncoderConfig:
    """Sizes of the encoder; the defaults are the paper's."""

    n_bins: int = CQT_BINS  # CQT bins in, pitch bins out: the model's front end (`spectral.cqt` with these three)
    fmin_hz: float = CQT_FMIN  # frequency of pitch bin 0 (the CQT's lowest bin)
    bins_per_octave: int = CQT_BINS_PER_OCTAVE  # pitch bins are the CQT's bins
    conv_channels: int = 40
    kernel_size: int = 15
    pointwise_channels: tuple[int, ...] = (30, 30, 10, 3)
    dropout: float = 0.2
    n_harmonics: int = 20
    temperature: float = 0.1  # the pitch posterior's: training's soft-argmax, and the posterior `estimate` decodes
    readout_temperature: float | None = None  # the soft-argmax's in eval mode (None: `temperature`), chosen after training
    # by validation LSD, label-free (`TrainConfig.readout_temperatures`)
    leaky_slope: float = 0.3
    amplitude_head: str = "linear"  # "linear" (the paper's) or "harmonic" (`HarmonicAmplitudeHead`, ours)
    harmonic_hidden: int = 32  # width of the harmonic head's MLP

    def __post_init__(self):
        if self.amplitude_head not in ("linear", "harmonic"):
            raise ValueError(f"amplitude_head must be 'linear' or 'harmonic', got {self.amplitude_head!r}")

    def pitch_bins_hz(self) -> np.ndarray:
        """Frequency in Hz of each pitch logit, log-spaced like the CQT, `[n_bins]`."""
        return self.fmin_hz * 2.0 ** (np.arange(self.n_bins) / self.bins_per_octave)


@dataclass
class EncoderOutput:
    """What the encoder predicts for each frame (leading shape = the input's without bins)."""

    f0_hz: torch.Tensor  # [...]
    amplitudes: torch.Tensor  # [..., K]
    logits: torch.Tensor  # [..., n_bins]


def exp_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """DDSP's exponentiated sigmoid 2·sigmoid(x)^ln(10) + 1e-7: positive, at most 2, smooth near 0."""
    return 2.0 * torch.sigmoid(x) ** math.log(10.0) + 1e-7


class ToeplitzLinear(nn.Module):
    """Linear map [batch, channels, n_in] -> [batch, n_out] whose weight depends only on i - o.

    Each channel c has one kernel w_c of n_in + n_out - 1 taps and
    y[o] = sum_c sum_i w_c[i - o + n_out - 1] x_c[i]: a shift in the input shifts the output,
    which suits pitch on a log-frequency axis.
    """

    def __init__(self, channels: int, n_in: int, n_out: int):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(channels, n_in + n_out - 1))
        nn.init.uniform_(self.kernel, -1 / math.sqrt(channels * n_in), 1 / math.sqrt(channels * n_in))
        self.n_in = n_in

    def matrix(self) -> torch.Tensor:
        """The dense weight, `[n_out, channels * n_in]`: row o is the kernel window starting at
        tap n_out-1-o (sliding windows: cheaper than a long convolution, deterministic backward)."""
        return self.kernel.unfold(1, self.n_in, 1).flip(1).permute(1, 0, 2).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.matrix().T


class HarmonicAmplitudeHead(nn.Module):
    """Harmonic amplitudes read off the CQT frame at the partials' positions (ours).

    The paper's head is a linear map from features at fixed frequencies, so the amplitude of
    partial k must be found at a different place for every f0: a linear layer cannot do that
    readout, and its amplitudes stay poor (results/lsd_oracle.md). This head is pitch-relative:
    for each partial k it samples the frame's log-magnitude CQT (dB relative to the frame's peak,
    floored at `FLOOR_DB`) at the fractional bin of k·f0 and at `OFFSETS` bins around it (the
    partial's lobe, its neighbours, the noise floor between them), adds log2(k) and log2(f0), and
    maps these with an MLP shared by all partials to a log-amplitude (exponentiated sigmoid, as
    the paper's head). Amplitudes are relative to the frame: `estimate` scales them to the input's
    level and training matches the tone's level to the clip (`Stage.match_level`). The sampling
    positions carry no gradient: f0 is the pitch head's business, trained by the SOT term.
    About 1.5K parameters; any f0 can be asked for (`Encoder.amplitudes_at`), so the amplitudes
    follow a pitch that `estimate`'s checks correct.
    """

    OFFSETS = (-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0)  # CQT bins (1/3 semitone each)
    FLOOR_DB = -100.0

    def __init__(self, n_harmonics: int, fmin_hz: float, bins_per_octave: int, hidden: int = 32, leaky_slope: float = 0.3):
        super().__init__()
        self.n_harmonics, self.fmin_hz, self.bins_per_octave = n_harmonics, fmin_hz, bins_per_octave
        act = nn.LeakyReLU(leaky_slope)
        self.mlp = nn.Sequential(nn.Linear(len(self.OFFSETS) + 2, hidden), act, nn.Linear(hidden, hidden), act, nn.Linear(hidden, 1))
        self.register_buffer("offsets", torch.tensor(self.OFFSETS), persistent=False)

    def forward(self, cqt_frames: torch.Tensor, f0_hz: torch.Tensor) -> torch.Tensor:
        """`cqt_frames` `[frames, bins]` (linear magnitude), `f0_hz` `[frames]` -> amplitudes `[frames, K]`."""
        return self.from_log2(cqt_frames, torch.log2(f0_hz.detach().to(cqt_frames.dtype).clamp_min(1.0)))

    def from_log2(self, cqt_frames: torch.Tensor, log2_f0: torch.Tensor) -> torch.Tensor:
        """As `forward`, with f0 given as log2(Hz) `[frames]` (what the pitch head's soft-argmax
        computes; keeps the exported ONNX graph free of exp2)."""
        n_bins = cqt_frames.shape[-1]
        level = 20 * torch.log10(cqt_frames.clamp_min(1e-12) / cqt_frames.amax(-1, keepdim=True).clamp_min(1e-12))
        level = level.clamp_min(self.FLOOR_DB) / -self.FLOOR_DB  # [frames, bins] in [-1, 0]
        k = torch.arange(1, self.n_harmonics + 1, dtype=cqt_frames.dtype, device=cqt_frames.device)
        log2_f0 = log2_f0.detach().to(cqt_frames.dtype).clamp_min(0.0)
        position = (log2_f0[:, None] + torch.log2(k) - math.log2(self.fmin_hz)) * self.bins_per_octave  # [frames, K]
        where = (position[..., None] + self.offsets).clamp(0, n_bins - 1)  # [frames, K, offsets]
        left = where.floor().long().clamp(max=n_bins - 2)
        frac = where - left
        flat = where.shape[0], -1
        low = torch.gather(level, 1, left.reshape(flat)).reshape(where.shape)
        high = torch.gather(level, 1, (left + 1).reshape(flat)).reshape(where.shape)
        sampled = low * (1 - frac) + high * frac
        extra = torch.stack([torch.log2(k).expand_as(position) / math.log2(self.n_harmonics),
                             (log2_f0 - math.log2(self.fmin_hz))[:, None].expand_as(position) / 8.0], dim=-1)
        return exp_sigmoid(self.mlp(torch.cat([sampled, extra], dim=-1))[..., 0])


class Encoder(nn.Module):
    """CQT frame(s) `[..., n_bins]` (linear magnitude) -> `EncoderOutput`."""

    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = config
        c = config
        act = nn.LeakyReLU(c.leaky_slope)
        self.norm = nn.LayerNorm(c.n_bins)
        padding = c.kernel_size // 2
        self.conv_in = nn.Sequential(nn.Conv1d(1, c.conv_channels, c.kernel_size, padding=padding), act)
        self.conv_res = nn.Sequential(nn.Conv1d(c.conv_channels, c.conv_channels, c.kernel_size, padding=padding), act)
        layers: list[nn.Module] = []
        widths = (c.conv_channels, *c.pointwise_channels)
        for i, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
            if i == len(widths) - 2:
                layers.append(nn.Dropout(c.dropout))
            layers += [nn.Conv1d(width_in, width_out, 1), act]
        self.pointwise = nn.Sequential(*layers)
        features = c.pointwise_channels[-1] * c.n_bins
        self.pitch_head = ToeplitzLinear(c.pointwise_channels[-1], c.n_bins, c.n_bins)
        if c.amplitude_head == "harmonic":
            self.amplitude_head = HarmonicAmplitudeHead(c.n_harmonics, c.fmin_hz, c.bins_per_octave, c.harmonic_hidden, c.leaky_slope)
        else:
            self.amplitude_head = nn.Linear(features, c.n_harmonics)
        self.register_buffer("log2_bins", torch.from_numpy(np.log2(c.pitch_bins_hz())).float(), persistent=False)

    def forward(self, cqt_frames: torch.Tensor, amplitudes_train_trunk: bool = True, bfloat16_trunk: bool = False) -> EncoderOutput:
        """`amplitudes_train_trunk=False` (training only): the amplitude head reads the shared
        features detached, so a loss on the amplitudes trains that head alone.
        `bfloat16_trunk` (inference): the convolutions run in bfloat16 (CPU autocast), the heads
        in float32; about twice as fast on CPUs with AMX or AVX512-BF16 and within a fraction of
        a cent of float32 (`estimate` chooses it where the CPU has them).
        Without autograd on CPU the trunk runs channels-last (`_trunk_channels_last`), except in
        float32 where torch's kernels are below AVX-512 (`engine.avx512_kernels`): there plain
        Conv1d is faster."""
        leading = cqt_frames.shape[:-1]
        x = self.norm(cqt_frames.reshape(-1, 1, cqt_frames.shape[-1]))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16_trunk):
            if torch.is_grad_enabled() or x.device.type != "cpu" or not (bfloat16_trunk or _avx512_kernels()):
                x = self.conv_in(x)
                x = x + self.conv_res(x)
                x = self.pointwise(x)
            else:
                x = self._trunk_channels_last(x)
        x = x.to(cqt_frames.dtype)
        logits = self.pitch_head(x)
        f0_hz = self.f0_from_logits(logits)
        if self.config.amplitude_head == "harmonic":
            log2_f0 = torch.softmax(logits / self.readout, dim=-1) @ self.log2_bins.to(logits.dtype)
            amplitudes = self.amplitude_head.from_log2(cqt_frames.reshape(-1, cqt_frames.shape[-1]), log2_f0)
        else:
            features = x.flatten(1) if amplitudes_train_trunk else x.flatten(1).detach()
            amplitudes = exp_sigmoid(self.amplitude_head(features))
        return EncoderOutput(
            f0_hz=f0_hz.reshape(leading),
            amplitudes=amplitudes.reshape(*leading, -1),
            logits=logits.reshape(*leading, -1),
        )

    def amplitudes_at(self, cqt_frames: torch.Tensor, f0_hz: torch.Tensor) -> torch.Tensor | None:
        """The harmonic head's amplitudes `[frames, K]` of CQT frames `[frames, bins]` at any f0
        `[frames]` (Hz), e.g. a decoded or corrected pitch; None for the paper's linear head, whose
        amplitudes belong to the frame, not to an f0."""
        if self.config.amplitude_head != "harmonic":
            return None
        return self.amplitude_head(cqt_frames, f0_hz)

    def _trunk_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutional trunk `[frames, 1, bins] -> [frames, channels, bins]` computed as 2-D
        convolutions over `[frames, channels, bins, 1]` in channels-last memory (the first layer
        as a matrix product): the same weights and result (to float rounding), 1.2-2.4x faster
        on CPU than `Conv1d` (256 frames, float32 and bfloat16, 1-2 threads: bench/speed.py).
        Inference only."""

        def conv(layer: nn.Conv1d, h: torch.Tensor) -> torch.Tensor:
            return F.conv2d(h, layer.weight.unsqueeze(-1), layer.bias, padding=(layer.padding[0], 0))

        act, first = self.conv_in[1], self.conv_in[0]
        # the first layer has one input channel: oneDNN's convolution is slow there, a matrix product
        # over the unfolded frames is not, and its [frames, bins, channels] result is channels-last
        windows = F.pad(x[:, 0], (first.padding[0], first.padding[0])).unfold(-1, first.kernel_size[0], 1)
        h = torch.addmm(first.bias, windows.reshape(-1, first.kernel_size[0]), first.weight[:, 0, :].t())
        h = act(h.view(x.shape[0], x.shape[-1], -1).permute(0, 2, 1).unsqueeze(-1))
        h = h + act(conv(self.conv_res[0], h))
        for layer in self.pointwise:
            h = conv(layer, h) if isinstance(layer, nn.Conv1d) else layer(h)
        return h.squeeze(-1).contiguous()

    @property
    def readout(self) -> float:
        """The soft-argmax's temperature now: `EncoderConfig.readout_temperature` in eval mode where set,
        else `temperature` (training always reads f0 at the temperature it trains with)."""
        chosen = self.config.readout_temperature
        return self.config.temperature if self.training or chosen is None else chosen

    def f0_from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Soft-argmax `[...]` Hz over the log-spaced pitch bins (in log2 Hz) of `logits` `[..., bins]`, at `readout`."""
        weights = torch.softmax(logits / self.readout, dim=-1)
        return torch.exp2(weights @ self.log2_bins.to(weights.dtype))
