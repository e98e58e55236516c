"""Load and validate user audio: any common format, rate and channel count -> mono 16 kHz float32.

Decoding uses soundfile (libsndfile: wav, flac, aiff, ogg/vorbis, ogg/opus, mp3) first; what
libsndfile does not recognise goes to PyAV (FFmpeg): m4a/aac, webm/opus, wma, amr, ac3 and the
first audio stream of a video (mp4, mov, mkv, avi, ...). FFmpeg only ever reads the one file,
through a Python file object: only the audio and video containers in `_DEMUXERS` are opened
(never playlists, image sequences or concat lists), and any attempt to open a second file or URL
is refused (`_NO_PROTOCOL`, `_no_other_files`). Resampling uses librosa (soxr). Problems raise
`AudioError` with a message that names the problem and can be shown to a user as is (no
traceback, no server path; file names are shortened and stripped of control and markup characters).

Limits, all checked before the samples are decoded where the header allows: files of at most
`MAX_FILE_BYTES`, rates `MIN_RATE`-`MAX_RATE`, at most `MAX_CHANNELS` channels, at least
`MIN_SECONDS` of audio; only the first `MAX_SECONDS` are decoded, block by block and mixed to
mono on the way, so a small compressed file that declares hours of many-channel audio costs at
most `MAX_SECONDS` of mono samples in memory.

Channels that cancel: while mixing, the energy of the mix and of each channel is summed. When
the mix is more than 10 dB below what uncorrelated channels of those energies would give (mean
channel energy / channels; `_CANCEL_RATIO`), the channels cancel: for two channels of equal level
that is a correlation below -0.9, as when one is phase-inverted (right = -left). The strongest
channel is then analysed alone, with a warning; a file is read a second time for it (cancelling
files are rare, and the first pass keeps only the mix in memory). Partial cancellation such as
right = -0.5 left (7 dB below) is analysed as mixed; silent channels (mean square below
`_SILENT_MEAN_SQUARE`) never count as cancelling.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
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
_CODEC_SLACK = 2048  # frames of priming and padding a lossy codec may add to or take from the declared length (FFmpeg)
_SF_UNRECOGNISED = 1  # libsndfile's SF_ERR_UNRECOGNISED_FORMAT: no libsndfile decoder takes the file
_CANCEL_RATIO = 0.1  # mix energy below this share of the uncorrelated channels' mix: the channels cancel (module docstring)
_SILENT_MEAN_SQUARE = 1e-10  # -100 dBFS: channels this quiet hold nothing to analyse, cancelling or not
# FFmpeg demuxers PyAV may use (names as FFmpeg spells them): audio and video containers only
_DEMUXERS = ("mov,matroska,ogg,asf,avi,flv,mpeg,mpegts,aac,loas,mp3,amr,amrnb,amrwb,ac3,eac3,dts,truehd,wav,w64,aiff,caf,au,"
             "flac,wv,ape,tta,tak,mpc,mpc8,dsf,rm,xwma,voc")
_NO_PROTOCOL = "none"  # FFmpeg's protocol whitelist: matches no protocol, so no demuxer opens a second file or URL
_PCM_SCALE = {"u8": 128.0, "s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}  # FFmpeg integer sample formats -> [-1, 1]


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


# ----------------------------------------------------------------------------------------------
# Mixing to mono, and channels that cancel
# ----------------------------------------------------------------------------------------------
class _Mixer:
    """Mixes `[frames, channels]` blocks to mono `[frames]` float64 (the channel mean) and sums
    the energy (sum of squares) of the mix and of each channel. With `channel` set it passes
    that channel (0-based) through instead and sums nothing: the second pass of `load`."""

    def __init__(self, channel: int | None = None) -> None:
        self.channel = channel
        self.frames = 0
        self.mix_energy = 0.0
        self.channel_energy = np.zeros(0)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        if self.channel is not None:
            return block[:, self.channel].astype(np.float64)
        mono = block.mean(axis=1, dtype=np.float64)
        if block.shape[1] > 1:
            self._add(block, mono)
        return mono

    def _add(self, block: np.ndarray, mono: np.ndarray) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # huge or non-finite samples: handled below
            energy = np.array([np.dot(samples, samples) for samples in block.T], dtype=np.float64)  # BLAS: 10x np.square
            mix = float(np.dot(mono, mono))
        if not (np.isfinite(energy).all() and np.isfinite(mix)):  # NaN/inf count as 0, as `prepare` sets them; no overflow
            block = np.where(np.isfinite(block), block, 0).astype(np.float64)
            mono = block.mean(axis=1)
            with np.errstate(over="ignore"):  # beyond 1e154: inf, and `cancelling` declines to judge
                energy, mix = np.square(block).sum(axis=0), float(np.dot(mono, mono))
        if self.channel_energy.shape != energy.shape:
            self.channel_energy = np.zeros_like(energy)
        self.frames += len(block)
        self.mix_energy += mix
        self.channel_energy += energy

    def cancelling(self, name: str) -> tuple[int, str] | None:
        """(the strongest channel, the warning) if the channels cancel in the mix, else None."""
        channels = len(self.channel_energy)
        if channels < 2 or not self.frames:
            return None
        mean = float(self.channel_energy.mean())
        if not (np.isfinite(mean) and np.isfinite(self.mix_energy)) or mean / self.frames < _SILENT_MEAN_SQUARE:
            return None  # samples too large to square, or silence
        if self.mix_energy >= _CANCEL_RATIO * mean / channels:
            return None
        strongest = int(np.argmax(self.channel_energy))
        return strongest, _cancel_warning(name, self.mix_energy / mean, strongest, channels)


def _cancel_warning(name: str, ratio: float, channel: int, channels: int) -> str:
    """What `load`/`prepare` tell the user when the channels cancel; `ratio`: mix / mean channel energy."""
    below = "silent" if ratio < 1e-12 else f"{-10 * np.log10(ratio):.0f} dB below the channels"
    side = f" ({('left', 'right')[channel]})" if channels == 2 else ""
    return (f"{name}: the channels cancel when mixed (mono mix {below}: one is phase-inverted?); "
            f"channel {channel + 1}{side} is analysed alone")


# ----------------------------------------------------------------------------------------------
# Samples in memory
# ----------------------------------------------------------------------------------------------
def prepare(
    audio: np.ndarray,
    sample_rate: int,
    max_seconds: float | None = MAX_SECONDS,
    name: str = "audio",
    total_samples: int | None = None,
    channels: int | None = None,
) -> LoadedAudio:
    """Validate decoded samples `[samples]` or `[samples, channels]` and make them mono 16 kHz.

    Several channels are mixed to mono (their mean), unless they cancel when mixed: then the
    strongest channel is analysed alone, with a warning (module docstring). `total_samples`:
    length of the whole recording when `audio` is only its beginning (as `load` reads it), so
    the duration and the truncation warning are right. `channels`: the recording's channel
    count when `audio` was already mixed to mono (as `load` does). Raises `AudioError`.
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
    if audio.shape[1] > MAX_CHANNELS and 0 < audio.shape[0] <= MAX_CHANNELS and MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioError(f"{name}: {audio.shape[1]} channels is more than the {MAX_CHANNELS} supported: an array of shape "
                         f"{audio.shape} reads as {audio.shape[0]} samples of {audio.shape[1]} channels; pass [samples, channels] "
                         f"(transpose it: audio.T)")
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
    mono = _mono(audio, name, warnings)
    peak = float(np.abs(mono).max())
    if peak > 1.0:  # float files may exceed full scale; 1e30 would overflow the spectra
        mono = mono / peak
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


def _mono(audio: np.ndarray, name: str, warnings: list[str]) -> np.ndarray:
    """`[samples, channels]` finite samples -> `[samples]` float64: the mix, or the strongest
    channel when the channels cancel (with a warning appended to `warnings`)."""
    mixer = _Mixer()
    mono = mixer(audio)
    cancel = mixer.cancelling(name)
    if cancel is None:
        return mono
    warnings.append(cancel[1])
    return audio[:, cancel[0]].astype(np.float64)


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
@dataclass
class _Decoded:
    """What a decoder read of a file's first `max_seconds`."""

    audio: np.ndarray  # [frames] float32: the mono mix (or the selected channel) at `rate`
    rate: int  # Hz
    channels: int
    declared: int  # frames the header declares (what was read, if it declares nothing)
    damage: str  # why decoding stopped before the end, "" if it did not
    mixer: _Mixer  # what mixed the channels, with their energies
    slack: int = 0  # frames by which an intact file may miss its declared length (a codec's priming and padding)
    exact_end: bool = False  # `declared` is the stream's own length (an MP4's sample table): decoded frames past it are padding
    read_again: Callable[[_Mixer], _Decoded] | None = None  # the same decoder on the same file, with another mixer


class _NotRecognised(Exception):
    """libsndfile does not recognise the file's format (PyAV gets its turn)."""


def load(path: str | os.PathLike, max_seconds: float | None = MAX_SECONDS, max_bytes: int = MAX_FILE_BYTES) -> LoadedAudio:
    """Decode the audio file at `path` (its first `max_seconds`) and `prepare` it.

    `AudioError` says what is wrong. A file that ends before the length its header declares is
    analysed as far as it goes, with a warning; so is one that is damaged part-way, and one whose
    channels cancel when mixed is analysed through its strongest channel (module docstring)."""
    path = Path(path)
    name = display_name(path.name)
    _check_file(path, name, max_bytes)
    decoded = _decode(path, name, max_seconds)
    warnings, total = _length_warnings(decoded, name, max_seconds)
    audio = decoded.audio
    cancel = decoded.mixer.cancelling(name)
    if cancel is not None:
        again = decoded.read_again(_Mixer(cancel[0]))
        if len(again.audio) == len(audio):  # the same decoder on the same file: always, but never analyse a mismatch
            audio = again.audio
            warnings.append(cancel[1])
    if decoded.exact_end and not decoded.damage and decoded.declared < len(audio) <= decoded.declared + decoded.slack:
        audio = audio[: decoded.declared]  # the encoder's padding of its last frame (AAC: up to 1024 frames), not the recording
        total = min(total, len(audio))
    loaded = prepare(audio, decoded.rate, max_seconds, name, total_samples=total, channels=decoded.channels)
    loaded.warnings[:0] = warnings
    return loaded


def _check_file(path: Path, name: str, max_bytes: int) -> None:
    """`AudioError` unless `path` is a file of 1 to `max_bytes` bytes."""
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


def _decode(path: Path, name: str, max_seconds: float | None) -> _Decoded:
    """libsndfile if it recognises the format, else FFmpeg (PyAV)."""
    try:
        return _read_soundfile(path, name, max_seconds, _Mixer())
    except _NotRecognised:
        return _read_av(path, name, max_seconds, _Mixer())


def _length_warnings(decoded: _Decoded, name: str, max_seconds: float | None) -> tuple[list[str], int]:
    """Warnings about a file damaged part-way or shorter than declared, and its length in frames.
    Raises `AudioError` if nothing could be decoded."""
    rate, n, declared = decoded.rate, len(decoded.audio), decoded.declared
    if decoded.damage:
        if not n:
            raise AudioError(f"{name}: not a readable audio file ({decoded.damage})")
        seconds = n / rate
        warning = f"{name} is damaged after {seconds:.3g} s ({decoded.damage}); the first {seconds:.3g} s are analysed"
        return [warning], max(declared, n)
    wanted = declared if max_seconds is None else min(declared, int(max_seconds * rate))
    if n < wanted * (1 - _EARLY_END) - decoded.slack:
        return [(f"{name} ends early: its header declares {declared / rate:.4g} s, it holds {n / rate:.3g} s "
                 "(truncated or damaged file); the part that is there is analysed")], n
    return [], declared if declared > n + decoded.slack else n  # within the slack: a codec's padding, not more audio


def _frames_wanted(max_seconds: float | None, rate: int) -> int:
    return -1 if max_seconds is None else int(max_seconds * rate)


def _read_soundfile(path: Path, name: str, max_seconds: float | None, mixer: _Mixer) -> _Decoded:
    """Decode with libsndfile; `_NotRecognised` if it does not know the format."""
    try:
        with sf.SoundFile(path) as f:
            rate, channels, declared = f.samplerate, f.channels, f.frames
            _check_layout(name, rate, channels)  # before reading a byte of a hostile layout
            parts, damage = _read_mono(f, _frames_wanted(max_seconds, rate), mixer)
    except AudioError:
        raise
    except sf.LibsndfileError as error:
        if error.code == _SF_UNRECOGNISED:
            raise _NotRecognised from None
        raise AudioError(f"{name}: not a readable audio file ({_short(error)})") from None
    except _DECODER_ERRORS as error:
        raise AudioError(f"{name}: not a readable audio file ({_short(error)})") from None
    decoded = _Decoded(_join(parts), rate, channels, declared, damage, mixer)
    decoded.read_again = lambda again: _read_soundfile(path, name, max_seconds, again)
    return decoded


def _read_mono(f: sf.SoundFile, frames: int, mixer: _Mixer) -> tuple[list[np.ndarray], str]:
    """Decode up to `frames` frames (-1: all) block by block, each block through `mixer`.

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
        parts.append(mixer(samples).astype(np.float32))
        remaining = 0 if block < 0 else remaining - len(samples) if remaining > 0 else -1
    return parts, ""


def _join(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _short(error: Exception) -> str:
    """The last clause of a decoder's message (never a path), at most 120 characters."""
    text = str(error).split(":")[-1].strip().rstrip(".") or type(error).__name__
    if "does not exist" in text:  # libsndfile's words when no decoder takes the file (it does exist)
        text = "Format not recognised"
    return display_name(text, 120)


# ----------------------------------------------------------------------------------------------
# FFmpeg (PyAV): what libsndfile does not recognise
# ----------------------------------------------------------------------------------------------
def _read_av(path: Path, name: str, max_seconds: float | None, mixer: _Mixer) -> _Decoded:
    """Decode the first audio stream of `path` with FFmpeg."""
    try:
        options = {"format_whitelist": _DEMUXERS, "protocol_whitelist": _NO_PROTOCOL}
        with open(path, "rb") as file, av.open(_Unnamed(file), options=options, io_open=_no_other_files,
                                               metadata_errors="ignore") as container:
            decoded = _decode_av(container, name, max_seconds, mixer)
    except AudioError:
        raise
    except _RefersElsewhere:
        raise AudioError(f"{name}: not a readable audio file (it refers to other files, which are not read)") from None
    except av.FFmpegError as error:  # opening failed: not a container FFmpeg knows (or may use here), or no header
        raise AudioError(f"{name}: not a readable audio file ({_av_reason(error, opening=True)})") from None
    except (OSError, *_DECODER_ERRORS) as error:
        raise AudioError(f"{name}: not a readable audio file ({type(error).__name__})") from None
    decoded.read_again = lambda again: _read_av(path, name, max_seconds, again)
    return decoded


class _Unnamed:
    """A binary file without its name: FFmpeg then recognises a format by the content alone, not
    by the extension (a text file named .mp3 is not opened as an MP3 without a header)."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


class _RefersElsewhere(Exception):
    """The container asked FFmpeg to open another file or URL."""


def _no_other_files(url: str, flags: int, options: dict) -> None:
    """PyAV's `io_open`: a container that names another file or URL (playlists, references) is not read."""
    raise _RefersElsewhere


def _decode_av(container: av.container.InputContainer, name: str, max_seconds: float | None, mixer: _Mixer) -> _Decoded:
    """The container's first audio stream, decoded (its first `max_seconds`) and mixed by `mixer`."""
    stream = _audio_stream(container, name)
    codec = stream.codec_context
    _check_layout(name, codec.sample_rate, codec.channels)  # before decoding a sample of a hostile layout
    packets = container.demux(stream)
    frames = _frames_of(packets)
    try:
        first = next(frames, None)
    except (av.FFmpegError, *_DECODER_ERRORS) as error:
        raise AudioError(f"{name}: not a readable audio file ({_av_reason(error)})") from None
    # what the decoder makes of the stream decides (HE-AAC may declare half its rate, or mono for parametric stereo)
    rate, channels = (first.sample_rate, first.layout.nb_channels) if first else (codec.sample_rate, codec.channels)
    _check_layout(name, rate, channels)
    wanted = _frames_wanted(max_seconds, rate)
    parts, damage = _mix_frames(itertools.chain([first] if first else [], frames), rate, channels, wanted, mixer)
    declared = _declared_frames(container, stream, rate)
    exact_end = bool(stream.duration) and stream.duration > 0 and container.format.name.startswith("mov")
    if declared is None:  # the container does not say (e.g. a browser's webm recording)
        n = sum(map(len, parts))
        declared = max(n, _end_frames(packets, stream, rate)) if n == wanted and not damage else n
    slack = max(_CODEC_SLACK, 2 * (codec.frame_size or 0))
    return _Decoded(_join(parts), rate, channels, declared, damage, mixer, slack, exact_end=exact_end)


def _audio_stream(container: av.container.InputContainer, name: str) -> av.AudioStream:
    """The container's first audio stream, if FFmpeg can decode it; `AudioError` otherwise."""
    if not container.streams.audio:
        if container.streams.video:
            raise AudioError(f"{name}: no audio stream (a video without sound?)")
        raise AudioError(f"{name}: not a readable audio file (no audio stream in it)")
    stream = container.streams.audio[0]
    if stream.codec_context is None:
        raise AudioError(f"{name}: not a readable audio file (no decoder for its audio codec)")
    return stream


def _frames_of(packets: Iterator[av.Packet]) -> Iterator[av.AudioFrame]:
    """The decoded frames of `packets` (the last, empty packet flushes the decoder); FFmpeg's errors pass through."""
    for packet in packets:
        yield from packet.decode()


def _mix_frames(frames: Iterable[av.AudioFrame], rate: int, channels: int, wanted: int,
                mixer: _Mixer) -> tuple[list[np.ndarray], str]:
    """Up to `wanted` frames (-1: all) of `frames`, each decoded frame through `mixer`. Returns
    the mono blocks and, if decoding failed part-way, why (the blocks before the failure are kept)."""
    parts: list[np.ndarray] = []
    remaining = wanted
    try:
        for frame in frames:
            if frame.sample_rate != rate or frame.layout.nb_channels != channels:
                return parts, (f"the stream changes from {channels} channels at {rate} Hz "
                               f"to {frame.layout.nb_channels} at {frame.sample_rate} Hz")
            block = _frame_samples(frame)
            if remaining >= 0:
                block = block[:remaining]
                remaining -= len(block)
            parts.append(mixer(block).astype(np.float32))
            if remaining == 0:
                break
    except av.FFmpegError as error:
        return parts, _av_reason(error)
    except _DECODER_ERRORS as error:
        return parts, type(error).__name__
    return parts, ""


def _frame_samples(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame -> `[samples, channels]` float32 in [-1, 1], from any FFmpeg sample format
    (planar: one row per channel; packed: channels interleaved)."""
    samples = frame.to_ndarray()
    if frame.format.is_planar:
        samples = samples.T
    else:
        samples = samples.reshape(-1, frame.layout.nb_channels)
    kind = frame.format.packed.name
    if kind == "u8":
        return (samples.astype(np.float32) - 128.0) / 128.0
    if kind in _PCM_SCALE:
        return (samples / _PCM_SCALE[kind]).astype(np.float32)
    return samples.astype(np.float32)


def _declared_frames(container: av.container.InputContainer, stream: av.AudioStream, rate: int) -> int | None:
    """The stream's length in frames as the container declares it, None if it does not."""
    if stream.duration is not None and stream.duration > 0 and stream.time_base:
        return round(float(stream.duration * stream.time_base) * rate)
    if container.duration is not None and container.duration > 0:
        return round(container.duration / av.time_base * rate)
    return None


def _end_frames(packets: Iterator[av.Packet], stream: av.AudioStream, rate: int) -> int:
    """Where the remaining `packets` of `stream` end, in frames from the stream's start (demuxed, not decoded)."""
    end = 0.0
    try:
        for packet in packets:
            if packet.pts is not None and packet.time_base:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except av.FFmpegError:
        pass
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
    return round((end - start) * rate)


def _av_reason(error: Exception, opening: bool = False) -> str:
    """FFmpeg's reason without the file name it appends; an open that fails for want of a
    demuxer (or of one allowed here) reads as libsndfile's words for the same."""
    if opening and isinstance(error, (av.InvalidDataError, av.ArgumentError, av.DemuxerNotFoundError)):
        return "Format not recognised"
    text = getattr(error, "strerror", None) or type(error).__name__
    return display_name(str(text).rstrip("."), 120)
