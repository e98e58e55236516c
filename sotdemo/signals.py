"""Seeded test signals with known truth: the kinds of sound people upload.

Each generator returns float64 samples `[samples]` (or `[samples, 2]` for stereo) at the sample
rate it is given and, where there is a pitch, the true f0 per sample or a constant, so tests,
voicing calibration (bench/voicing_calibration.py) and benchmarks (bench/bench_real.py) can
score against it. Kinds: harmonic tones with any partial amplitudes (a weak or missing
fundamental), voice-like tones (glottal source with spectral tilt, formants, vibrato, jitter,
shimmer, breath noise), the telephone band (300-3400 Hz at 8 kHz), coloured noise (white, pink,
brown, band-limited rumble), and two notes sounding together. Every random draw comes from the
`numpy.random.Generator` passed in, so a seed fixes the signal.
"""

from __future__ import annotations

from typing import Literal

import librosa
import numpy as np
from scipy import signal as scipy_signal

__all__ = [
    "NOISE_COLOURS", "VOWELS", "coloured_noise", "formant_gain", "harmonic_tone", "missing_fundamental", "phone_band", "scale_to_dbfs", "voice",
    "voice_partials",
]

NoiseColour = Literal["white", "pink", "brown", "rumble"]
NOISE_COLOURS: tuple[str, ...] = ("white", "pink", "brown", "rumble")

# Formant centre frequencies and bandwidths (Hz) of sung or spoken vowels, adult voice, first
# three formants (after Peterson & Barney 1952; bandwidths as in classic formant synthesizers).
VOWELS: dict[str, tuple[tuple[float, float], ...]] = {
    "a": ((730, 90), (1090, 110), (2440, 160)),
    "e": ((530, 70), (1840, 100), (2480, 160)),
    "i": ((270, 60), (2290, 100), (3010, 200)),
    "o": ((570, 80), (840, 90), (2410, 160)),
    "u": ((300, 60), (870, 90), (2240, 160)),
}


def scale_to_dbfs(audio: np.ndarray, rms_db: float) -> np.ndarray:
    """`audio` scaled so that its RMS over all samples is `rms_db` dBFS."""
    rms = float(np.sqrt(np.mean(np.square(audio))))
    return audio * (10 ** (rms_db / 20) / max(rms, 1e-20))


def harmonic_tone(
    f0_hz: float | np.ndarray,
    amplitudes: np.ndarray,
    seconds: float,
    sample_rate: int = 16000,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Sum of partials k·f0 with `amplitudes[k-1]` (linear), random start phases from `rng`
    (zero if None). `f0_hz` a constant or per-sample `[samples]`; partials at or above Nyquist
    are left out. Returns `[samples]`, peak not normalized."""
    n = int(round(seconds * sample_rate))
    f0 = np.broadcast_to(np.asarray(f0_hz, dtype=np.float64), (n,))
    cycles = np.cumsum(f0) / sample_rate
    phases = rng.uniform(0, 2 * np.pi, len(amplitudes)) if rng is not None else np.zeros(len(amplitudes))
    out = np.zeros(n)
    for k, a in enumerate(np.asarray(amplitudes, dtype=np.float64), start=1):
        if a == 0:
            continue
        audible = k * f0 < sample_rate / 2
        out += a * audible * np.sin(2 * np.pi * k * cycles + phases[k - 1])
    return out


def missing_fundamental(f0_hz: float, seconds: float, partials: tuple[int, int] = (2, 10), sample_rate: int = 16000,
                        rng: np.random.Generator | None = None) -> np.ndarray:
    """Partials `partials[0]`..`partials[1]` of f0 at 1/k, no fundamental (telephone speech,
    small speakers): the pitch heard is f0. `[samples]`."""
    k = np.arange(1, partials[1] + 1)
    amplitudes = np.where(k >= partials[0], 1.0 / k, 0.0)
    return harmonic_tone(f0_hz, amplitudes, seconds, sample_rate, rng)


def formant_gain(hz: np.ndarray, formants: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Magnitude response of a cascade of second-order resonances (unit gain at 0 Hz) at `hz`."""
    hz = np.asarray(hz, dtype=np.float64)
    gain = np.ones_like(hz)
    for centre, bandwidth in formants:
        gain *= centre**2 / np.sqrt((centre**2 - hz**2) ** 2 + (bandwidth * hz) ** 2)
    return gain


def voice_partials(f0_hz: float, vowel: str, n_partials: int, tilt_db_per_octave: float = -12.0, sample_rate: int = 16000) -> np.ndarray:
    """Linear amplitudes `[n_partials]` of a steady `voice` at `f0_hz` before peak normalization:
    the glottal tilt times the vowel's formant gain at k·f0 (0 at or above Nyquist)."""
    k = np.arange(1, n_partials + 1)
    hz = k * float(f0_hz)
    return 10 ** (tilt_db_per_octave * np.log2(k) / 20) * formant_gain(hz, VOWELS[vowel]) * (hz < sample_rate / 2)


def voice(
    f0_hz: float,
    seconds: float,
    rng: np.random.Generator,
    sample_rate: int = 16000,
    vowel: str | None = None,
    tilt_db_per_octave: float = -12.0,
    vibrato_cents: float = 0.0,
    vibrato_hz: float = 5.5,
    jitter: float = 0.005,
    shimmer: float = 0.05,
    breath_db: float = -30.0,
    glide_cents: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A voice-like harmonic tone and its true f0 per sample: `(audio [samples], f0_hz [samples])`.

    Source: a glottal pulse train's harmonics with a spectral tilt of `tilt_db_per_octave` (dB per
    octave of harmonic number; -12 is a typical modal voice), every partial below Nyquist.
    Filter: the formants of `vowel` (one of `VOWELS`; None draws one). Pitch: `f0_hz` with
    sinusoidal vibrato of `vibrato_cents` at `vibrato_hz`, a linear glide of `glide_cents` over
    the clip, and jitter (random cycle-to-cycle f0 variation, relative standard deviation
    `jitter`, low-passed to 30 Hz). Shimmer: amplitude variation of relative s.d. `shimmer`.
    Breath: white noise through the same formants, `breath_db` dB relative to the voiced part's
    RMS (None or -inf: none). Peak normalized to 0.5. Formants follow Peterson & Barney (1952).
    """
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    formants = VOWELS[vowel if vowel is not None else rng.choice(sorted(VOWELS))]

    def smooth_noise(relative_sd: float) -> np.ndarray:
        if relative_sd <= 0:
            return np.zeros(n)
        b, a = scipy_signal.butter(2, 30.0, "lowpass", fs=sample_rate)
        x = scipy_signal.filtfilt(b, a, rng.standard_normal(n))
        return relative_sd * x / max(np.std(x), 1e-12)

    cents = vibrato_cents * np.sin(2 * np.pi * vibrato_hz * t + rng.uniform(0, 2 * np.pi)) + glide_cents * (t / max(seconds, 1e-9) - 0.5)
    f0 = f0_hz * 2 ** (cents / 1200) * (1 + smooth_noise(jitter))
    cycles = np.cumsum(f0) / sample_rate
    n_partials = int(sample_rate / 2 // (f0.min() if n else f0_hz))
    out = np.zeros(n)
    for k in range(1, n_partials + 1):
        hz = k * f0
        amplitude = 10 ** (tilt_db_per_octave * np.log2(k) / 20) * formant_gain(hz, formants)
        out += (hz < sample_rate / 2) * amplitude * np.sin(2 * np.pi * k * cycles + rng.uniform(0, 2 * np.pi))
    out *= 1 + smooth_noise(shimmer)
    if breath_db is not None and np.isfinite(breath_db):
        noise = rng.standard_normal(n)
        spectrum = np.fft.rfft(noise) * formant_gain(np.fft.rfftfreq(n, 1 / sample_rate), formants)
        noise = np.fft.irfft(spectrum, n)
        out += scale_to_dbfs(noise, 20 * np.log10(max(np.sqrt(np.mean(out**2)), 1e-20)) + breath_db)
    out *= 0.5 / max(np.abs(out).max(), 1e-20)
    return out, f0


def phone_band(audio: np.ndarray, sample_rate: int, low_hz: float = 300.0, high_hz: float = 3400.0, phone_rate: int = 8000) -> np.ndarray:
    """`audio` through a telephone channel: 4th-order Butterworth band-pass `low_hz`-`high_hz`,
    resampled to `phone_rate` (returned at that rate). `[samples at phone_rate]`."""
    sos = scipy_signal.butter(4, [low_hz, high_hz], "bandpass", fs=sample_rate, output="sos")
    filtered = scipy_signal.sosfilt(sos, audio)
    return librosa.resample(filtered, orig_sr=sample_rate, target_sr=phone_rate, res_type="soxr_hq")


def coloured_noise(colour: NoiseColour, seconds: float, rng: np.random.Generator, sample_rate: int = 16000,
                   band_hz: tuple[float, float] = (20.0, 120.0)) -> np.ndarray:
    """Unit-RMS noise `[samples]` of a colour: 'white' (flat), 'pink' (power ∝ 1/f), 'brown'
    (∝ 1/f², wind and handling noise) or 'rumble' (white noise band-limited to `band_hz`,
    traffic and machinery), shaped in the frequency domain (bins below 5 Hz zeroed)."""
    if colour not in NOISE_COLOURS:
        raise ValueError(f"colour must be one of {NOISE_COLOURS}, got {colour!r}")
    n = int(round(seconds * sample_rate))
    spectrum = np.fft.rfft(rng.standard_normal(n))
    hz = np.fft.rfftfreq(n, 1 / sample_rate)
    safe = np.maximum(hz, 5.0)
    shape = {
        "white": np.ones_like(hz),
        "pink": 1 / np.sqrt(safe),
        "brown": 1 / safe,
        "rumble": ((hz >= band_hz[0]) & (hz <= band_hz[1])).astype(float),
    }[colour]
    noise = np.fft.irfft(spectrum * shape * (hz >= 5.0), n)
    return noise / max(np.sqrt(np.mean(noise**2)), 1e-20)
