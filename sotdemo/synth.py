"""Differentiable harmonic synthesizer: the DDSP oscillator bank (paper Sec. 2, decoder).

A harmonic tone is a sum of K sinusoids at integer multiples of f0,

    x[n] = sum_k a_k[n] * sin(2π k φ[n]),   φ[n] = sum_{m<n} f0[m] / sample_rate   (cycles),

with partials at or above Nyquist silenced. The module keeps *controls* (frame-rate
parameters -> audio-rate frequencies and masked amplitudes: `get_controls`) apart from
*signal* generation (`get_signal`); `harmonic_synth` chains the two. Everything is a torch
op, so gradients reach f0 and the amplitudes; float32 and float64 both work.
"""

from __future__ import annotations

import math

import torch

__all__ = ["get_controls", "get_signal", "harmonic_synth", "level_matched", "upsample_linear", "upsample_smooth"]


def _frame_positions(n_frames: int, n_samples: int, hop_length: int | None, like: torch.Tensor) -> torch.Tensor:
    """Fractional frame index for every audio sample, shape [n_samples].

    With `hop_length`, frame i sits at sample i*hop_length (librosa's centered convention);
    without it, the frames are spread evenly from the first to the last sample.
    """
    n = torch.arange(n_samples, dtype=like.dtype, device=like.device)
    if n_frames == 1:
        return torch.zeros_like(n)
    if hop_length is None:
        position = n * ((n_frames - 1) / max(n_samples - 1, 1))
    else:
        position = n / hop_length
    return position.clamp(0, n_frames - 1)


def _interpolate(controls: torch.Tensor, position: torch.Tensor, smooth: bool) -> torch.Tensor:
    """Interpolate `controls` [batch, frames, C] at fractional frame `position` [samples]."""
    left = position.floor().long().clamp(max=controls.shape[1] - 1)
    right = (left + 1).clamp(max=controls.shape[1] - 1)
    frac = position - left.to(position.dtype)
    if smooth:  # raised-cosine crossfade: continuous value and slope at every frame
        frac = 0.5 - 0.5 * torch.cos(math.pi * frac)
    frac = frac[None, :, None]
    return controls[:, left] * (1 - frac) + controls[:, right] * frac


def upsample_linear(controls: torch.Tensor, n_samples: int, hop_length: int | None = None) -> torch.Tensor:
    """Linear interpolation of frame-rate controls [batch, frames, C] to [batch, n_samples, C]."""
    position = _frame_positions(controls.shape[1], n_samples, hop_length, controls)
    return _interpolate(controls, position, smooth=False)


def upsample_smooth(controls: torch.Tensor, n_samples: int, hop_length: int | None = None) -> torch.Tensor:
    """Raised-cosine interpolation of [batch, frames, C] to [batch, n_samples, C] (no corners)."""
    position = _frame_positions(controls.shape[1], n_samples, hop_length, controls)
    return _interpolate(controls, position, smooth=True)


def get_controls(
    f0_hz: torch.Tensor,
    amplitudes: torch.Tensor,
    n_samples: int,
    sample_rate: int = 16000,
    hop_length: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn synthesizer parameters into audio-rate controls.

    Args:
        f0_hz: fundamental frequency in Hz, `[batch]` (constant per clip) or `[batch, frames]`.
        amplitudes: linear harmonic amplitudes, `[batch, K]` or `[batch, frames, K]`
            (harmonic k+1 at index k).
        n_samples: output length in samples.
        sample_rate: in Hz (default 16000, the paper's).
        hop_length: samples between frames of frame-rate controls; None spreads the frames
            evenly over the clip.

    Returns:
        `(f0, amps)`: f0 in Hz `[batch, n_samples]` (linear interpolation; a per-clip f0 stays
        `[batch, 1]`, which `get_signal` synthesizes in closed form), and amplitudes
        `[batch, n_samples or 1, K]` (raised-cosine interpolation) with every partial whose
        frequency k·f0 is at or above Nyquist set to zero at that sample.
    """
    if f0_hz.dim() == 1:
        f0_hz = f0_hz[:, None]
    if amplitudes.dim() == 2:
        amplitudes = amplitudes[:, None, :]
    if f0_hz.dim() != 2 or amplitudes.dim() != 3 or amplitudes.shape[0] != f0_hz.shape[0]:
        raise ValueError(
            f"expected f0 [batch] or [batch, frames] and amplitudes [batch, K] or [batch, frames, K], "
            f"got {tuple(f0_hz.shape)} and {tuple(amplitudes.shape)}"
        )
    constant = f0_hz.shape[1] == 1 and amplitudes.shape[1] == 1
    if not constant:
        f0_hz = upsample_linear(f0_hz[..., None], n_samples, hop_length)[..., 0]
        amplitudes = upsample_smooth(amplitudes, n_samples, hop_length)
    harmonic_numbers = torch.arange(1, amplitudes.shape[-1] + 1, dtype=f0_hz.dtype, device=f0_hz.device)
    below_nyquist = (f0_hz[..., None] * harmonic_numbers) < sample_rate / 2
    return f0_hz, amplitudes * below_nyquist


def get_signal(f0_hz: torch.Tensor, amplitudes: torch.Tensor, n_samples: int, sample_rate: int = 16000) -> torch.Tensor:
    """Oscillator bank: `[batch, n_samples]` audio from audio-rate controls.

    Args:
        f0_hz: `[batch, n_samples]` (time-varying) or `[batch, 1]` (constant) in Hz.
        amplitudes: `[batch, n_samples or 1, K]`, already Nyquist-masked.

    Phase is the running sum of the instantaneous frequency, starting at 0 (sine phase),
    accumulated as cycles of f0 wrapped to [0, 1) (in float64 when the input is float32, so
    long clips keep their pitch). With z = exp(2πi·φ), the bank is Im(Σ_k a_k z^k), evaluated
    by Horner's rule: K complex multiply-adds on `[batch, n_samples]` instead of a
    `[batch, n_samples, K]` tensor of sines (half the time and memory, same accuracy).
    """
    n = torch.arange(n_samples, device=f0_hz.device)
    if f0_hz.shape[1] == 1:
        cycles = torch.remainder(f0_hz * (n.to(f0_hz.dtype) / sample_rate), 1.0)  # closed form for constant f0
    else:
        accumulate = torch.float64 if f0_hz.dtype == torch.float32 else f0_hz.dtype
        increments = f0_hz.to(accumulate) / sample_rate
        cycles = torch.cumsum(increments, dim=1) - increments  # exclusive sum: phase 0 at n = 0
        cycles = torch.remainder(cycles, 1.0).to(f0_hz.dtype)
    z = torch.polar(torch.ones_like(cycles), (2 * math.pi) * cycles)
    acc = torch.zeros_like(z)
    for k in range(amplitudes.shape[-1] - 1, -1, -1):
        acc = (acc + amplitudes[..., k]) * z
    return acc.imag


def harmonic_synth(
    f0_hz: torch.Tensor,
    amplitudes: torch.Tensor,
    n_samples: int,
    sample_rate: int = 16000,
    hop_length: int | None = None,
) -> torch.Tensor:
    """Synthesize harmonic tones: `[batch, n_samples]` from f0 (Hz) and K harmonic amplitudes.

    See `get_controls` for the accepted shapes. Differentiable w.r.t. `f0_hz` and `amplitudes`.
    """
    f0, amps = get_controls(f0_hz, amplitudes, n_samples, sample_rate, hop_length)
    return get_signal(f0, amps, n_samples, sample_rate)


def level_matched(amplitudes: torch.Tensor, f0_hz: torch.Tensor, target_rms: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """`amplitudes` `[batch, K]` scaled so that their constant harmonic tone at `f0_hz` `[batch]` has
    RMS `target_rms` `[batch]` (partials at or above Nyquist do not count; sinusoids of amplitude a
    have RMS a/sqrt(2)). Differentiable in the amplitudes: the result depends only on their shape,
    which is what a model whose amplitudes are relative to the frame learns (`estimate` scales
    them the same way to the input frame's RMS)."""
    k = torch.arange(1, amplitudes.shape[-1] + 1, dtype=amplitudes.dtype, device=amplitudes.device)
    audible = (f0_hz.detach()[..., None] * k) < sample_rate / 2
    tone_rms = torch.sqrt(((amplitudes * audible) ** 2).sum(-1) / 2).clamp_min(1e-9)
    return amplitudes * (target_rms / tone_rms)[..., None]
