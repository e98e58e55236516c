"""Load and validate user audio: any common format, rate and channel count -> mono 16 kHz float32.

Decoding uses soundfile (libsndfile: wav, flac, ogg/vorbis, opus, mp3 with libsndfile >= 1.1);
resampling uses librosa (soxr). Problems raise `AudioError` with a message that names the
problem and can be shown to a user as is (no traceback, no server path; file names are
shortened and stripped of control and markup characters).

Limits, all checked before the samples are decoded where the header allows: files of at most
`MAX_FILE_BYTES`, rates `MIN_RATE`-`MAX_RATE`, at most `MAX_CHANNELS` channels, at least
`MIN_SECONDS` of audio; only the first `MAX_SECONDS` are decoded, block by block and mixed to
mono on the way, so a small compressed file that declares hours of many-channel audio costs at
most `MAX_SECONDS` of mono samples in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

__all__ = [
    "AudioError", "LoadedAudio", "MAX_CHANNELS", "MAX_FILE_BYTES", "MAX_RATE", "MAX_SECONDS", "MIN_RATE", "MIN_SECONDS",
    "TARGET_RATE", "display_name", "load", "prepare",
]

TARGET_RATE = 16000
MAX_SECONDS = 60.0  # longer inputs are analysed up to this point
MIN_SECONDS = 0.05  # two periods of the lowest pitch the encoder knows (40 Hz)
MAX_FILE_BYTES = 200 * 1024 * 1024  # for local files (the CLI); the web app's upload limit is lower (sotdemo.ui)
MAX_CHANNELS = 16  # third-order ambisonics; more is not a recording to take the pitch of
MIN_RATE, MAX_RATE = 1000, 192000  # the highest common studio rate; the analysis runs at 16 kHz anyway
_BLOCK = 8192  # frames decoded at a time (a damaged file keeps what came before the damage)
_DECODER_ERRORS = (RuntimeError, TypeError, ValueError, OverflowError, EOFError, MemoryError)  # what soundfile raises
_EARLY_END = 0.02  # a file holding < 98 % of the frames its header declares "ends early"


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


def display_name(name: str, limit: int = 60) -> str:
    """`name` fit for a message: control and markup characters replaced, at most `limit` characters."""
    name = "".join(c if c.isprintable() and c not in "<>&\"'`\\/" else "_" for c in str(name)) or "audio"
    return name if len(name) <= limit else f"{name[: limit - 12]}…{name[-11:]}"


def _check_layout(name: str, sample_rate: int, channels: int) -> None:
    if channels < 1:
        raise AudioError(f"{name}: the header declares {channels} channels")
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
    channels: int | None = None,
) -> LoadedAudio:
    """Validate decoded samples `[samples]` or `[samples, channels]` and make them mono 16 kHz.

    `total_samples`: length of the whole recording when `audio` is only its beginning (as
    `load` reads it), so the duration and the truncation warning are right. `channels`: the
    recording's channel count when `audio` was already mixed to mono (as `load` does).
    """
    name = display_name(name)
    audio = np.asarray(audio)
    if audio.dtype.kind not in "fiu":
        raise AudioError(f"{name}: samples must be numbers, got {audio.dtype}")
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2:
        raise AudioError(f"{name}: expected [samples] or [samples, channels], got shape {audio.shape}")
    channels = audio.shape[1] if channels is None else channels
    _check_layout(name, sample_rate, max(channels, audio.shape[1]))
    if audio.shape[0] == 0:
        raise AudioError(f"{name}: the file contains no samples")
    if audio.shape[0] < MIN_SECONDS * sample_rate:
        n = audio.shape[0]
        raise AudioError(f"{name}: {n} sample{'s' * (n != 1)} ({1000 * n / sample_rate:.2g} ms) is too short; "
                         f"at least {1000 * MIN_SECONDS:.0f} ms are needed")
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
    peak = float(np.abs(mono).max())
    if peak > 1.0:  # float files may exceed full scale; 1e30 would overflow the spectra
        mono /= peak
        warnings.append(f"{name}: samples reach ±{peak:.3g}, beyond full scale (±1); scaled down to ±1")
    elif peak >= 0.999:
        warnings.append(f"{name} is clipped or at full scale (peak {peak:.3f}); estimates may show distortion partials")
    if sample_rate != TARGET_RATE:
        mono = librosa.resample(mono, orig_sr=sample_rate, target_sr=TARGET_RATE, res_type="soxr_hq")
    return LoadedAudio(
        audio=mono.astype(np.float32),
        sample_rate=TARGET_RATE,
        original_rate=int(sample_rate),
        original_channels=channels,
        original_seconds=original_seconds,
        truncated=truncated,
        warnings=warnings,
    )


def load(path: str | os.PathLike, max_seconds: float | None = MAX_SECONDS, max_bytes: int = MAX_FILE_BYTES) -> LoadedAudio:
    """Decode the audio file at `path` (its first `max_seconds`) and `prepare` it.

    `AudioError` says what is wrong. A file that ends before the length its header declares is
    analysed as far as it goes, with a warning."""
    path = Path(path)
    name = display_name(path.name)
    try:
        size = path.stat().st_size
    except OSError:
        raise AudioError(f"{name}: no such file") from None
    if not path.is_file():
        raise AudioError(f"{name}: not a file")
    if size == 0:
        raise AudioError(f"{name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise AudioError(f"{name}: {size / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB limit")
    warnings = []
    try:
        with sf.SoundFile(path) as f:
            rate, channels, declared = f.samplerate, f.channels, f.frames
            _check_layout(name, rate, channels)  # before reading a byte of a hostile layout
            wanted = -1 if max_seconds is None else int(max_seconds * rate)
            parts, damage = _read_mono(f, wanted)
    except AudioError:
        raise
    except _DECODER_ERRORS as error:
        raise AudioError(f"{name}: not a readable audio file ({_short(error)})") from None
    if damage:
        if not parts:
            raise AudioError(f"{name}: not a readable audio file ({damage})")
        seconds = sum(map(len, parts)) / rate
        warnings.append(f"{name} is damaged after {seconds:.3g} s ({damage}); the first {seconds:.3g} s are analysed")
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    total = declared
    if not damage and len(audio) < (declared if wanted < 0 else min(declared, wanted)) * (1 - _EARLY_END):
        warnings.append(f"{name} ends early: its header declares {declared / rate:.4g} s, it holds {len(audio) / rate:.3g} s "
                        "(truncated or damaged file); the part that is there is analysed")
        total = len(audio)
    loaded = prepare(audio, rate, max_seconds, name, total_samples=max(total, len(audio)), channels=channels)
    loaded.warnings[:0] = warnings
    return loaded


def _read_mono(f: sf.SoundFile, frames: int) -> tuple[list[np.ndarray], str]:
    """Decode up to `frames` frames (-1: all) block by block, mixing each block to mono.

    Returns the mono blocks and, if decoding failed part-way, why (the blocks before the failure
    are kept). Reads until the data ends, whatever length the header declares: soundfile's own
    `blocks` trusts the declared length and pads a short file with uninitialised memory."""
    parts: list[np.ndarray] = []
    remaining = frames
    # libsndfile 1.2.2's MPEG decoder returns wrong samples after the first of several reads, so an
    # mp3 is read in one call (at most 60 s of 2 channels at 48 kHz: 23 MB)
    block = -1 if f.format == "MP3" else _BLOCK
    while remaining != 0:
        size = block if remaining < 0 else remaining if block < 0 else min(block, remaining)
        try:
            samples = f.read(size, dtype="float32", always_2d=True)
        except _DECODER_ERRORS as error:
            return parts, _short(error)
        if not len(samples):
            break
        parts.append(samples.mean(axis=1, dtype=np.float64).astype(np.float32))
        remaining = 0 if block < 0 else remaining - len(samples) if remaining > 0 else -1
    return parts, ""


def _short(error: Exception) -> str:
    """The last clause of a decoder's message (never a path), at most 120 characters."""
    text = str(error).split(":")[-1].strip().rstrip(".") or type(error).__name__
    if "does not exist" in text:  # libsndfile's words when no decoder takes the file (it does exist)
        text = "Format not recognised"
    return display_name(text, 120)
