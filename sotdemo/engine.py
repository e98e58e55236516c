"""Which code runs the encoder at inference: torch (float32 or bfloat16 convolutions) or ONNX Runtime.

Measured in bench/engines.py (results/engines.md): on a CPU that computes bfloat16 natively (AMX or
AVX512-BF16) torch's bfloat16 convolutions are the fastest; elsewhere ONNX Runtime running the same
weights in float32 (exported with `torch.onnx`) beats torch float32, torch.compile and int8 dynamic
quantization, and agrees with torch float32 to ~1e-6 in the logits. `choose` picks by that rule;
every estimate records what ran (`Estimate.engine`), so no run differs silently.

The ONNX graph is exported from the loaded model's own weights once per process and model (about
0.5 s), kept in memory, and run with as many intra-op threads as torch has at the time
(`torch.get_num_threads()`).
"""

from __future__ import annotations

import io
import os
import threading
import warnings
import weakref

import numpy as np
import torch
from torch import nn

__all__ = ["ENGINES", "OnnxEncoder", "avx512_kernels", "bfloat16_is_fast", "choose", "onnxruntime_available", "onnx_encoder"]

ENGINES = ("auto", "torch", "onnxruntime")
_CAPPED_ISAS = ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2", "avx512_core", "avx512_core_vnni")  # oneDNN ISAs below bf16
_BELOW_AVX512 = ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2")  # oneDNN ISAs below AVX-512


def avx512_kernels() -> bool:
    """Whether torch runs AVX-512 kernels here: its kernel level (`ATEN_CPU_CAPABILITY`) is AVX-512 or
    above and oneDNN is not capped below it (`ONEDNN_MAX_CPU_ISA`). The encoder's float32 inference
    trunk follows it (`Encoder.forward`): channels-last 2-D convolutions where True (60.7 vs 102 ms per
    256 frames for plain Conv1d), plain Conv1d where False (98 vs 150 ms with the AVX2 caps;
    results/engines.md)."""
    return torch.backends.cpu.get_cpu_capability() in ("AVX512", "AVX512_BF16", "AMX") \
        and os.environ.get("ONEDNN_MAX_CPU_ISA", "").lower() not in _BELOW_AVX512


def bfloat16_is_fast() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AMX or AVX512-BF16) and torch may use them:
    False also where torch's kernels are capped below AVX-512 (`ATEN_CPU_CAPABILITY`) or oneDNN's
    below its bfloat16 ISAs (`ONEDNN_MAX_CPU_ISA`), the way an AVX2-only CPU is emulated."""
    try:
        hardware = bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes
        return False
    capped = torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AVX512_BF16", "AMX") \
        or os.environ.get("ONEDNN_MAX_CPU_ISA", "").lower() in _CAPPED_ISAS
    return hardware and not capped


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime and the `onnx` package (torch's exporter needs it) import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def choose(engine: str = "auto", precision: str = "auto") -> tuple[str, bool]:
    """(engine, bfloat16 convolutions) for an `estimate` call.

    `engine`: 'torch', 'onnxruntime' or 'auto'; `precision`: 'float32', 'bfloat16' (torch only) or
    'auto'. 'auto' picks torch with bfloat16 convolutions where they are native (`bfloat16_is_fast`),
    else ONNX Runtime in float32 where it is installed, else torch in float32.

    Raises:
        ValueError: an unknown engine or precision, bfloat16 asked of ONNX Runtime, or ONNX Runtime
            asked for and not installed (with the command that installs it).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', got {precision!r}")
    if engine == "onnxruntime":
        if precision == "bfloat16":
            raise ValueError("precision 'bfloat16' is torch's (engine='torch'); ONNX Runtime runs the encoder in float32")
        if not onnxruntime_available():
            raise ValueError("engine 'onnxruntime' needs ONNX Runtime and onnx: pip install onnxruntime onnx")
        return "onnxruntime", False
    fast = bfloat16_is_fast()
    if engine == "torch":
        return "torch", precision == "bfloat16" or (precision == "auto" and fast)
    if precision == "bfloat16" or (precision == "auto" and fast):
        return "torch", True
    return ("onnxruntime" if onnxruntime_available() else "torch"), False


class _Heads(nn.Module):
    """The encoder as the ONNX graph sees it: CQT frames `[frames, bins]` -> (logits `[frames, bins]`,
    amplitudes `[frames, K]`), float32, the inference path of `Encoder.forward`."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, cqt_frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.encoder(cqt_frames)
        return out.logits, out.amplitudes


class OnnxEncoder:
    """A model's encoder exported with `torch.onnx` (its current weights) and run by ONNX Runtime
    on `threads` intra-op threads. Call it on float32 CQT frames `[frames, n_bins]`: returns
    (logits `[frames, n_bins]`, amplitudes `[frames, K]`), float32 numpy arrays."""

    def __init__(self, encoder: nn.Module, threads: int = 1):
        import onnxruntime as ort

        buffer = io.BytesIO()
        example = torch.rand(4, encoder.config.n_bins)
        # the TorchScript exporter (the dynamo one needs onnxscript and takes seconds; this graph is plain), tracing the
        # Conv1d path of `Encoder.forward` (the one taken with autograd on): ONNX Runtime picks its own convolution kernels
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notices and tracer remarks: nothing a user can act on
            torch.onnx.export(_Heads(encoder).eval(), (example,), buffer, input_names=["cqt"], output_names=["logits", "amplitudes"],
                              dynamic_axes={"cqt": {0: "frames"}, "logits": {0: "frames"}, "amplitudes": {0: "frames"}},
                              dynamo=False, opset_version=17)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
        self.threads = threads

    def __call__(self, cqt_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, amplitudes = self.session.run(None, {"cqt": np.ascontiguousarray(cqt_frames, dtype=np.float32)})
        return logits, amplitudes


_SESSIONS: "weakref.WeakKeyDictionary[nn.Module, dict[int, OnnxEncoder]]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def onnx_encoder(encoder: nn.Module, threads: int | None = None) -> OnnxEncoder:
    """The `OnnxEncoder` of `encoder` for `threads` (default: torch's current number), exported on
    first use and kept while the encoder lives. An encoder whose weights change after that (training)
    must not be run through it."""
    threads = threads or torch.get_num_threads()
    with _LOCK:
        per_model = _SESSIONS.setdefault(encoder, {})
        if threads not in per_model:
            per_model[threads] = OnnxEncoder(encoder, threads)
        return per_model[threads]
