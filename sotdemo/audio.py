"""Load and validate user audio: any common format, rate and channel count -> mono 16 kHz float32.

Decoding uses soundfile (libsndfile: wav, flac, ogg/vorbis, opus, mp3 with libsndfile >= 1.1);
resampling uses librosa (soxr). Problems raise `AudioError` with a message that names the
problem and can be shown to a user as is (no traceback, no server path).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

__all__ = ["AudioError", "LoadedAudio", "MAX_SECONDS", "TARGET_RATE", "load", "prepare"]

TARGET_RATE = 16000
MAX_SECONDS = 60.0  # longer inputs are analysed up to this point
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_CHANNELS = 64
MIN_RATE, MAX_RATE = 1000, 768000


class AudioError(ValueError):
    """User audio that cannot be analysed; the message says why."""


@dataclass
class LoadedAudio:
    audio: np.ndarray  # [samples] float32, mono, TARGET_RATE
    sample_rate: int
    original_rate: int
    original_channels: int
    original_seconds: float
    truncated: bool
    warnings: list[str]


def _check_layout(name: str, sample_rate: int, channels: int) -> None:
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioError(f"{name}: sample rate {sample_rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if channels > MAX_CHANNELS:
        raise AudioError(f"{name}: {channels} channels is more than the {MAX_CHANNELS} supported")


def prepare(
    audio: np.ndarray,
    sample_rate: int,
    max_seconds: float | None = MAX_SECONDS,
    name: str = "audio",
    total_samples: int | None = None,
) -> LoadedAudio:
    """Validate decoded samples `[samples]` or `[samples, channels]` and make them mono 16 kHz.

    `total_samples`: length of the whole recording when `audio` is only its beginning (as
    `load` reads it), so the duration and the truncation warning are right.
    """
    audio = np.asarray(audio)
    if audio.dtype.kind not in "fiu":
        raise AudioError(f"{name}: samples must be numbers, got {audio.dtype}")
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2:
        raise AudioError(f"{name}: expected [samples] or [samples, channels], got shape {audio.shape}")
    channels = audio.shape[1]
    _check_layout(name, sample_rate, channels)
    if audio.shape[0] == 0:
        raise AudioError(f"{name}: the file contains no samples")
    if audio.dtype.kind in "iu":  # integer PCM -> [-1, 1]
        info = np.iinfo(audio.dtype)
        audio = (audio.astype(np.float64) - (info.max + info.min + 1) / 2) / ((info.max - info.min + 1) / 2)
    warnings = []
    original_seconds = (audio.shape[0] if total_samples is None else total_samples) / sample_rate
    truncated = max_seconds is not None and original_seconds > max_seconds
    if truncated:
        audio = audio[: int(max_seconds * sample_rate)]
        warnings.append(f"{name} lasts {original_seconds:.1f} s; only the first {max_seconds:.0f} s are analysed")
    finite = np.isfinite(audio)
    if not finite.all():
        share = 1 - finite.mean()
        if share > 0.5:
            raise AudioError(f"{name}: {100 * share:.0f} % of the samples are NaN or infinite")
        audio = np.where(finite, audio, 0.0)
        warnings.append(f"{name}: {100 * share:.2g} % NaN/infinite samples were set to 0")
    mono = audio.mean(axis=1, dtype=np.float64)
    if sample_rate != TARGET_RATE:
        mono = librosa.resample(mono, orig_sr=sample_rate, target_sr=TARGET_RATE, res_type="soxr_hq")
    peak = float(np.abs(mono).max()) if mono.size else 0.0
    if peak >= 0.999:
        warnings.append(f"{name} is clipped or at full scale (peak {peak:.3f}); estimates may show distortion partials")
    return LoadedAudio(
        audio=mono.astype(np.float32),
        sample_rate=TARGET_RATE,
        original_rate=int(sample_rate),
        original_channels=channels,
        original_seconds=original_seconds,
        truncated=truncated,
        warnings=warnings,
    )


def load(path: str | os.PathLike, max_seconds: float | None = MAX_SECONDS) -> LoadedAudio:
    """Decode the audio file at `path` and `prepare` it; `AudioError` says what is wrong."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError:
        raise AudioError(f"{name}: no such file") from None
    if size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise AudioError(f"{name}: {size / 2**20:.0f} MB is over the {MAX_FILE_BYTES / 2**20:.0f} MB limit")
    try:
        with sf.SoundFile(path) as f:
            rate = f.samplerate
            _check_layout(name, rate, f.channels)  # before reading a byte of a hostile layout
            frames = -1 if max_seconds is None else int(max_seconds * rate)
            audio = f.read(frames=frames, dtype="float32", always_2d=True)
            total = f.frames
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{name}: not a readable audio file ({_short(error)})") from None
    return prepare(audio, rate, max_seconds, name, total_samples=total)


def _short(error: Exception) -> str:
    text = str(error).split(":")[-1].strip() or type(error).__name__
    return text[:120]
