"""Real-audio pitch corpus: sampled instruments (fluidsynth + FluidR3 GM), sox tones, vibrato, melodies.

Every track is 16 kHz mono float32 with its ground truth as a list of `Note`s (onset, offset,
nominal f0; a vibrato note carries its f0 curve). Notes are separated by silences so that
voicing false alarms can be measured; the steady part of a note skips `ATTACK_S` after the
onset and `RELEASE_S` before the note-off.

Sampled instruments are rendered from Standard MIDI Files (written with mido) by
`fluidsynth -ni -R 0 -C 0 -F out.wav -r 16000 FluidR3_GM.sf2 file.mid` (reverb and chorus
off), and each note is checked against its nominal pitch by two estimators that are not scored
here as methods of the benchmark's table: a sub-harmonic summation over a long-window spectrum
(`harmonic_sum_f0`) and librosa's pYIN (median over the steady part). A note is kept when either
agrees with the nominal pitch within 50 cents and it has no partial at an odd multiple of f0/2
within 20 dB of its strongest harmonic (`sub_octave_db`: such a tone, e.g. an organ with a quint
rank, is also a harmonic series an octave lower, so its octave is ambiguous); a preset whose notes mostly sound at the same
non-zero whole-semitone offset (both estimators agreeing) is transposed, and is re-rendered with
its MIDI notes shifted back; notes that still fail are dropped. What was checked, fixed and
dropped is kept in `Corpus.checks` / `Corpus.dropped` for the report.

Rendered tracks are peak-normalised to -6 dBFS and get a white noise floor at -70 dBFS (a quiet
recording's floor, not digital silence). Tools: Debian packages fluidsynth, fluid-soundfont-gm, sox.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import librosa
import mido
import numpy as np
import soundfile as sf
from scipy.ndimage import maximum_filter1d

__all__ = [
    "ATTACK_S",
    "Corpus",
    "INSTRUMENTS",
    "Instrument",
    "Note",
    "RELEASE_S",
    "SAMPLE_RATE",
    "SOUNDFONT",
    "Track",
    "build_corpus",
    "harmonic_sum_f0",
    "midi_to_hz",
    "render_midi",
    "tools_available",
    "verify_note",
]

SAMPLE_RATE = 16000
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
ATTACK_S = 0.10  # skipped after each onset
RELEASE_S = 0.05  # skipped before each note-off
NOTE_S = 0.6
GAP_S = 0.8  # note-off to next onset: release tail, then silence
LEAD_S = 0.5
PEAK = 0.5  # -6 dBFS
NOISE_FLOOR_DB = -70.0
TOLERANCE_CENTS = 50.0
SUB_OCTAVE_LIMIT_DB = -20.0  # partials at odd multiples of f0/2 louder than this: octave-ambiguous, dropped
_VERSION = 5  # bump when the corpus recipe changes (cache key)


def midi_to_hz(midi: float) -> float:
    return float(440.0 * 2 ** ((midi - 69) / 12))


@dataclass(frozen=True)
class Instrument:
    name: str
    family: str
    program: int  # General MIDI program, 0-based
    low: int  # MIDI range rendered (within 40-2000 Hz: MIDI 28..95)
    high: int
    n_notes: int


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("Acoustic Grand Piano", "piano", 0, 28, 95, 10),
    Instrument("Nylon Guitar", "guitar", 24, 40, 83, 6),
    Instrument("Steel Guitar", "guitar", 25, 40, 83, 6),
    Instrument("Violin", "strings", 40, 55, 95, 6),
    Instrument("Cello", "strings", 42, 36, 76, 6),
    Instrument("Contrabass", "strings", 43, 28, 55, 5),
    Instrument("Flute", "woodwinds", 73, 60, 95, 6),
    Instrument("Clarinet", "woodwinds", 71, 50, 89, 6),
    Instrument("Oboe", "woodwinds", 68, 58, 88, 5),
    Instrument("Bassoon", "woodwinds", 70, 34, 72, 6),
    Instrument("Alto Sax", "woodwinds", 65, 49, 80, 5),
    Instrument("Trumpet", "brass", 56, 54, 82, 5),
    Instrument("Trombone", "brass", 57, 40, 72, 5),
    Instrument("French Horn", "brass", 60, 35, 77, 6),
    Instrument("Tuba", "brass", 58, 28, 58, 5),
    Instrument("Church Organ", "organ", 19, 36, 91, 8),
    Instrument("Choir Aahs", "choir", 52, 40, 81, 6),
    Instrument("Voice Oohs", "choir", 53, 48, 79, 5),
)

# (name, GM program, [(midi, beats)] with midi None = rest; tempo in beats per minute)
MELODIES: tuple[tuple[str, int, int, list[tuple[int | None, float]]], ...] = (
    ("Violin melody (Ode to Joy)", 40, 100, [(76, 1), (76, 1), (77, 1), (79, 1), (79, 1), (77, 1), (76, 1), (74, 1), (72, 1), (72, 1), (74, 1), (76, 1), (76, 1.5), (74, 0.5), (74, 2), (None, 1)]),
    ("Flute melody (scale and leaps)", 73, 110, [(72, 1), (74, 1), (76, 1), (77, 1), (79, 1), (None, 0.5), (84, 1), (79, 1), (76, 1), (72, 2), (None, 1)]),
    ("Cello melody (low line)", 42, 80, [(43, 1), (47, 1), (50, 1), (55, 1), (None, 0.5), (52, 1), (48, 1), (45, 1), (43, 2), (None, 1)]),
    ("Piano melody (arpeggios)", 0, 120, [(48, 1), (52, 1), (55, 1), (60, 1), (64, 1), (67, 1), (72, 1), (None, 1), (81, 1), (77, 1), (74, 1), (69, 2), (None, 1)]),
)

SOX_WAVES = ("square", "sawtooth", "triangle", "pluck")
SOX_F0 = (55.0, 147.0, 440.0, 1245.0)
VIBRATO_F0 = (98.0, 262.0, 659.0, 1568.0)
VIBRATO_RATE_HZ, VIBRATO_DEPTH_CENTS = 5.5, 50.0  # +-50 cents, 1 semitone peak to peak
NOISY_SNR_DB = (20.0, 10.0)  # square at 20 dB, sawtooth at 10 dB


@dataclass
class Note:
    onset: float  # s
    offset: float  # s (note-off)
    hz: float  # nominal f0 (the vibrato centre for a vibrato note)
    midi: float
    instrument: str
    family: str
    vibrato: bool = False

    def steady(self) -> tuple[float, float]:
        return self.onset + ATTACK_S, self.offset - RELEASE_S

    def f0_at(self, t: np.ndarray) -> np.ndarray:
        """Ground-truth f0 at times `t` (constant, or the vibrato curve)."""
        if not self.vibrato:
            return np.full(np.shape(t), self.hz)
        return self.hz * 2 ** (VIBRATO_DEPTH_CENTS / 1200 * np.sin(2 * np.pi * VIBRATO_RATE_HZ * (np.asarray(t) - self.onset)))


@dataclass
class Track:
    name: str
    family: str  # instrument family, or synthetic / noisy / vibrato / melody
    source: str  # fluidsynth / sox / numpy
    audio: np.ndarray  # [samples] float32, 16 kHz, what the methods see
    clean: np.ndarray  # [samples] the same without added noise: decides where silence is
    notes: list[Note]
    noise_db: float = NOISE_FLOOR_DB  # level of the added noise (dBFS RMS)

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass
class Corpus:
    tracks: list[Track]
    checks: list[dict] = field(default_factory=list)  # one per rendered note: nominal, SHS, pYIN, verdict
    dropped: list[dict] = field(default_factory=list)
    fixes: list[dict] = field(default_factory=list)  # transposed presets re-rendered

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.tracks)


def tools_available() -> list[str]:
    """What is missing to build the corpus (empty when fluidsynth, sox and the soundfont exist)."""
    missing = [tool for tool in ("fluidsynth", "sox") if shutil.which(tool) is None]
    if not SOUNDFONT.is_file():
        missing.append(str(SOUNDFONT))
    return missing


# ---------------------------------------------------------------- rendering


def _write_midi(path: Path, program: int, events: list[tuple[float, float, int]], velocity: int = 100) -> None:
    """A type-0 SMF: one channel, `events` = (onset s, offset s, MIDI note), tempo 120 (1 beat = 0.5 s)."""
    ticks_per_beat, seconds_per_beat = 960, 0.5
    mid = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=int(seconds_per_beat * 1e6), time=0))
    channel = 0 if program >= 0 else 9
    track.append(mido.Message("program_change", program=program, channel=channel, time=0))
    timeline = sorted([(on, 1, n) for on, _, n in events] + [(off, 0, n) for _, off, n in events])
    now = 0
    for t, is_on, note in timeline:
        tick = int(round(t / seconds_per_beat * ticks_per_beat))
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=note, velocity=velocity if is_on else 0, channel=channel, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=ticks_per_beat))
    mid.save(path)


def render_midi(program: int, events: list[tuple[float, float, int]], seconds: float, workdir: Path) -> np.ndarray:
    """Render `events` (onset s, offset s, MIDI note) on a GM program: mono float32 [samples] at 16 kHz,
    exactly `seconds` long, not normalised."""
    workdir.mkdir(parents=True, exist_ok=True)
    mid, wav = workdir / "render.mid", workdir / "render.wav"
    _write_midi(mid, program, events)
    subprocess.run(
        ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-F", str(wav), "-r", str(SAMPLE_RATE), str(SOUNDFONT), str(mid)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, expected {SAMPLE_RATE}")
    audio = audio.mean(axis=1)
    n = int(round(seconds * SAMPLE_RATE))
    return np.pad(audio, (0, max(0, n - len(audio))))[:n]


def _sox_tone(wave: str, hz: float, seconds: float, workdir: Path) -> np.ndarray:
    wav = workdir / "tone.wav"
    subprocess.run(
        ["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "32", "-e", "floating-point", str(wav), "synth", f"{seconds}", wave, f"{hz}", "fade", "q", "0.01", f"{seconds}", "0.02"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    audio, _ = sf.read(wav, dtype="float32")
    n = int(round(seconds * SAMPLE_RATE))
    return np.pad(audio, (0, max(0, n - len(audio))))[:n]


def _vibrato_tone(note: Note, seconds: float, n_harmonics: int = 10) -> np.ndarray:
    """Sawtooth-like tone (1/k amplitudes, below Nyquist) following `note.f0_at`, 10 ms fades."""
    t = note.onset + np.arange(int(round(seconds * SAMPLE_RATE))) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(note.f0_at(t)) / SAMPLE_RATE
    f_max = note.hz * 2 ** (VIBRATO_DEPTH_CENTS / 1200)
    tone = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1) if k * f_max < SAMPLE_RATE / 2)
    fade = np.minimum(1.0, np.minimum(np.arange(len(t)), np.arange(len(t))[::-1]) / (0.01 * SAMPLE_RATE))
    return (tone * fade).astype(np.float32)


def _schedule(n: int, note_s: float = NOTE_S, gap_s: float = GAP_S) -> tuple[list[tuple[float, float]], float]:
    spans = [(LEAD_S + i * (note_s + gap_s), LEAD_S + i * (note_s + gap_s) + note_s) for i in range(n)]
    return spans, spans[-1][1] + gap_s + 0.4


def _finish(clean: np.ndarray, rng: np.random.Generator, noise_db: float = NOISE_FLOOR_DB, snr_db: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Peak-normalise to -6 dBFS and add white noise (the floor, or at `snr_db` below the notes' RMS)."""
    clean = (clean * PEAK / max(float(np.abs(clean).max()), 1e-9)).astype(np.float32)
    if snr_db is not None:
        active = clean[np.abs(clean) > 1e-4]
        noise_db = 10 * np.log10(np.mean(active.astype(np.float64) ** 2)) - snr_db
    noise = rng.standard_normal(len(clean)) * 10 ** (noise_db / 20)
    return (clean + noise).astype(np.float32), clean, float(noise_db)


# ---------------------------------------------------------------- pitch check


def harmonic_sum_f0(segment: np.ndarray, nominal_hz: float, span_cents: float = 2500.0, step_cents: float = 5.0, n_harmonics: int = 12, decay: float = 0.84) -> float:
    """Sub-harmonic summation (Hermes 1988) over a long-window spectrum of a steady segment.

    Scores every candidate f0 within `span_cents` of `nominal_hz` by the sum of decay^(k-1) times
    the (square-root) spectral magnitude near its k-th harmonic (±30 cents) and returns the best.
    Independent of the methods scored by the benchmark (no frames, no learning, no YIN)."""
    segment = np.asarray(segment, dtype=np.float64)
    n_fft = 1 << 17
    mag = np.sqrt(np.abs(np.fft.rfft(segment * np.hanning(len(segment)), n_fft)))
    freqs = np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE)
    # Log-frequency grid (step_cents) holding the max magnitude of the FFT bins in each cell.
    lo_hz = nominal_hz * 2 ** (-span_cents / 1200)
    hi_hz = min(SAMPLE_RATE / 2 - 1, nominal_hz * 2 ** (span_cents / 1200) * n_harmonics)
    edges = lo_hz * 2 ** (np.arange(0, 1200 * np.log2(hi_hz / lo_hz) + step_cents, step_cents) / 1200)
    idx = np.searchsorted(freqs, edges)
    idx = np.clip(idx, 0, len(mag) - 1)
    cells = np.maximum.reduceat(mag, idx)[:-1] if len(idx) > 1 else mag[idx]
    cells = maximum_filter1d(cells, size=int(2 * 30 / step_cents) + 1)
    n_candidates = int(2 * span_cents / step_cents) + 1
    scores = np.zeros(n_candidates)
    for k in range(1, n_harmonics + 1):
        offset = int(round(1200 * np.log2(k) / step_cents))
        part = cells[offset : offset + n_candidates]
        scores[: len(part)] += decay ** (k - 1) * part
    coarse = lo_hz * 2 ** (int(np.argmax(scores)) * step_cents / 1200)
    # Refine on the FFT bins themselves, 1 cent apart, within ±40 cents of the coarse winner.
    fine = coarse * 2 ** (np.arange(-40, 41) / 1200)
    harmonics = np.arange(1, n_harmonics + 1)
    weights = decay ** (harmonics - 1) * (fine[:, None] * harmonics < SAMPLE_RATE / 2)
    fine_scores = (weights * np.interp(fine[:, None] * harmonics, freqs, mag)).sum(axis=1)
    return float(fine[int(np.argmax(fine_scores))])


def sub_octave_db(segment: np.ndarray, nominal_hz: float) -> float:
    """Level (dB re the strongest of harmonics 1-6) of the strongest partial at 0.5, 1.5 or 2.5 x nominal.

    Such partials (e.g. an organ's quint rank at 1.5 f0) make the tone also a harmonic series on
    f0 / 2: its octave is ambiguous. Peaks are taken within ±half a semitone of each multiple."""
    segment = np.asarray(segment, dtype=np.float64)
    n_fft = 1 << 17
    mag = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE)

    def peak(multiple: float) -> float:
        band = (freqs > nominal_hz * multiple * 2 ** (-0.5 / 12)) & (freqs < nominal_hz * multiple * 2 ** (0.5 / 12))
        return float(mag[band].max()) if band.any() else 0.0

    harmonic = max(peak(k) for k in range(1, 7))
    sub = max(peak(m) for m in (0.5, 1.5, 2.5))
    return float(20 * np.log10(max(sub, 1e-12) / max(harmonic, 1e-12)))


def _cents(hz: float, ref_hz: float) -> float:
    return float(1200 * np.log2(hz / ref_hz)) if hz > 0 and np.isfinite(hz) else float("nan")


def verify_note(clean: np.ndarray, note: Note) -> dict:
    """Check one rendered note against its nominal pitch with SHS and pYIN (median over its steady part)."""
    start, stop = (int(round(s * SAMPLE_RATE)) for s in note.steady())
    segment = clean[start:stop]
    shs = harmonic_sum_f0(segment, note.hz)
    f0, voiced, _ = librosa.pyin(
        segment.astype(np.float32), fmin=max(30.0, note.hz / 4), fmax=min(4000.0, note.hz * 4), sr=SAMPLE_RATE,
        frame_length=4096 if note.hz < 80 else 2048, hop_length=256, center=False,
    )
    pyin = float(np.nanmedian(f0[voiced])) if voiced.any() else float("nan")
    shs_c, pyin_c = _cents(shs, note.hz), _cents(pyin, note.hz)
    shs_ok = abs(shs_c) <= TOLERANCE_CENTS
    pyin_ok = np.isfinite(pyin_c) and abs(pyin_c) <= TOLERANCE_CENTS
    sub_db = sub_octave_db(segment, note.hz)
    return {
        "instrument": note.instrument,
        "midi": note.midi,
        "nominal_hz": round(note.hz, 2),
        "shs_hz": round(shs, 2),
        "pyin_hz": round(pyin, 2) if np.isfinite(pyin) else None,
        "shs_cents": round(shs_c, 1),
        "pyin_cents": round(pyin_c, 1) if np.isfinite(pyin_c) else None,
        "sub_octave_db": round(sub_db, 1),
        "keep": bool((shs_ok or pyin_ok) and sub_db < SUB_OCTAVE_LIMIT_DB),
        "agree": "both" if shs_ok and pyin_ok else "SHS only" if shs_ok else "pYIN only" if pyin_ok else "neither",
    }


def _offset_semitones(check: dict) -> int | None:
    """The whole-semitone offset both estimators agree on (None if they do not agree)."""
    if check["pyin_cents"] is None:
        return None
    a, b = round(check["shs_cents"] / 100), round(check["pyin_cents"] / 100)
    return a if a == b and abs(check["shs_cents"] - 100 * a) <= 50 and abs(check["pyin_cents"] - 100 * b) <= 50 else None


# ---------------------------------------------------------------- corpus


def _note_midis(inst: Instrument, quick: bool) -> list[int]:
    if quick:
        return [69, 45] if inst.program == 0 else [inst.low + 12]
    return [int(round(m)) for m in np.linspace(inst.low, inst.high, inst.n_notes)]


def _render_instrument(inst: Instrument, midis: list[int], workdir: Path, shift: int = 0) -> tuple[np.ndarray, list[Note], float]:
    spans, seconds = _schedule(len(midis))
    events = [(on, off, m + shift) for (on, off), m in zip(spans, midis)]
    audio = render_midi(inst.program, events, seconds, workdir)
    notes = [Note(on, off, midi_to_hz(m), m, inst.name, inst.family) for (on, off), m in zip(spans, midis)]
    return audio, notes, seconds


def _instrument_track(inst: Instrument, midis: list[int], workdir: Path, corpus: Corpus, rng: np.random.Generator, family: str | None = None) -> Track | None:
    audio, notes, _ = _render_instrument(inst, midis, workdir)
    checks = [verify_note(audio, n) for n in notes]
    offsets = [_offset_semitones(c) for c in checks]
    common = max(set(offsets), key=offsets.count) if offsets else None
    if common not in (None, 0) and offsets.count(common) >= 0.6 * len(offsets):
        corpus.fixes.append({"instrument": inst.name, "shift_semitones": common, "notes": len(midis)})
        audio, notes, _ = _render_instrument(inst, midis, workdir, shift=-common)
        checks = [verify_note(audio, n) for n in notes]
    corpus.checks.extend(checks)
    kept = []
    for note, check in zip(notes, checks):
        if check["keep"]:
            kept.append(note)
        else:
            corpus.dropped.append({**check, "reason": _drop_reason(check)})
    if family:
        for note in kept:
            note.family = family
    if not kept:
        return None
    noisy, clean, noise_db = _finish(audio, rng)
    # Dropped notes stay in the audio, unscored (their frames are neither steady nor silent).
    return Track(inst.name, family or inst.family, "fluidsynth", noisy, clean, kept, noise_db)


def _drop_reason(check: dict) -> str:
    if check["sub_octave_db"] >= SUB_OCTAVE_LIMIT_DB:
        return f"octave-ambiguous: a partial at an odd multiple of f0/2 at {check['sub_octave_db']:.0f} dB re the strongest harmonic (SHS {check['shs_cents']:+.0f} c, pYIN {check['pyin_cents']} c)"
    off = _offset_semitones(check)
    if off is not None:
        return f"sounds {off:+d} semitones from nominal (SHS and pYIN agree)"
    return "pitch ambiguous: neither SHS nor pYIN within 50 cents of nominal"


def _melody_events(tempo_bpm: int, line: list[tuple[int | None, float]]) -> list[tuple[float, float, int]]:
    beat = 60.0 / tempo_bpm
    t, events = LEAD_S, []
    for midi, beats in line:
        if midi is not None:
            events.append((t, t + beats * beat * 0.95, midi))  # 5 % articulation gap
        t += beats * beat
    return events


def _sox_tracks(workdir: Path, rng: np.random.Generator, quick: bool) -> list[Track]:
    tracks = []
    freqs = SOX_F0[2:3] if quick else SOX_F0
    waves = SOX_WAVES[:1] if quick else SOX_WAVES
    spans, seconds = _schedule(len(freqs))
    for wave in waves:
        clean = np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.float32)
        notes = []
        for (on, off), hz in zip(spans, freqs):
            start = int(round(on * SAMPLE_RATE))
            tone = _sox_tone(wave, hz, off - on, workdir)
            clean[start : start + len(tone)] += tone
            notes.append(Note(on, off, hz, 69 + 12 * np.log2(hz / 440), f"sox {wave}", "synthetic"))
        audio, clean, noise_db = _finish(clean, rng)
        tracks.append(Track(f"sox {wave}", "synthetic", "sox", audio, clean, notes, noise_db))
        if wave in ("square", "sawtooth") and not quick:
            snr = NOISY_SNR_DB[0] if wave == "square" else NOISY_SNR_DB[1]
            noisy, clean_n, noise_db = _finish(clean, rng, snr_db=snr)
            renamed = [Note(n.onset, n.offset, n.hz, n.midi, f"sox {wave} SNR {snr:.0f} dB", "noisy") for n in notes]
            tracks.append(Track(f"sox {wave} + white noise, SNR {snr:.0f} dB", "noisy", "sox", noisy, clean_n, renamed, noise_db))
    return tracks


def _vibrato_track(rng: np.random.Generator, quick: bool) -> Track:
    freqs = VIBRATO_F0[1:2] if quick else VIBRATO_F0
    spans, seconds = _schedule(len(freqs), note_s=1.0)
    clean = np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.float32)
    notes = []
    for (on, off), hz in zip(spans, freqs):
        note = Note(on, off, hz, 69 + 12 * np.log2(hz / 440), "vibrato tone", "vibrato", vibrato=True)
        tone = _vibrato_tone(note, off - on)
        start = int(round(on * SAMPLE_RATE))
        clean[start : start + len(tone)] += tone
        notes.append(note)
    audio, clean, noise_db = _finish(clean, rng)
    return Track(f"vibrato ±{VIBRATO_DEPTH_CENTS:.0f} cents at {VIBRATO_RATE_HZ} Hz (numpy)", "vibrato", "numpy", audio, clean, notes, noise_db)


def _recipe(quick: bool) -> dict:
    return {
        "version": _VERSION, "quick": quick, "instruments": [asdict(i) for i in INSTRUMENTS], "melodies": MELODIES,
        "sox": [SOX_WAVES, SOX_F0], "vibrato": [VIBRATO_F0, VIBRATO_RATE_HZ, VIBRATO_DEPTH_CENTS], "snr": NOISY_SNR_DB,
        "timing": [ATTACK_S, RELEASE_S, NOTE_S, GAP_S, LEAD_S, PEAK, NOISE_FLOOR_DB],
    }


def _save(corpus: Corpus, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"checks": corpus.checks, "dropped": corpus.dropped, "fixes": corpus.fixes, "tracks": []}
    for i, track in enumerate(corpus.tracks):
        sf.write(directory / f"{i:03d}.wav", track.audio, SAMPLE_RATE, subtype="FLOAT")
        sf.write(directory / f"{i:03d}-clean.wav", track.clean, SAMPLE_RATE, subtype="FLOAT")
        meta = {k: v for k, v in asdict(track).items() if k not in ("audio", "clean")}
        manifest["tracks"].append(meta)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _load(directory: Path) -> Corpus:
    manifest = json.loads((directory / "manifest.json").read_text())
    tracks = []
    for i, meta in enumerate(manifest["tracks"]):
        audio, _ = sf.read(directory / f"{i:03d}.wav", dtype="float32")
        clean, _ = sf.read(directory / f"{i:03d}-clean.wav", dtype="float32")
        notes = [Note(**n) for n in meta.pop("notes")]
        tracks.append(Track(audio=audio, clean=clean, notes=notes, **meta))
    return Corpus(tracks, manifest["checks"], manifest["dropped"], manifest["fixes"])


def build_corpus(cache_dir: Path | None = None, quick: bool = False, progress: bool = True) -> Corpus:
    """Render (or load from `cache_dir`, keyed by the recipe) the whole corpus; `quick`: a few notes."""
    key = hashlib.sha1(json.dumps(_recipe(quick), sort_keys=True, default=str).encode()).hexdigest()[:12]
    target = Path(cache_dir) / f"corpus-{key}" if cache_dir is not None else None
    if target is not None and (target / "manifest.json").is_file():
        return _load(target)
    missing = tools_available()
    if missing:
        raise RuntimeError(f"cannot render the corpus, missing: {', '.join(missing)}")
    from tqdm import tqdm

    rng = np.random.default_rng(20240417)
    corpus = Corpus([])
    instruments = [i for i in INSTRUMENTS if i.program in (0, 73)] if quick else list(INSTRUMENTS)
    melodies = () if quick else MELODIES
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for inst in tqdm(instruments, desc="render + check instruments", disable=not progress):
            track = _instrument_track(inst, _note_midis(inst, quick), workdir, corpus, rng)
            if track is not None:
                corpus.tracks.append(track)
        for name, program, tempo, line in tqdm(melodies, desc="render + check melodies", disable=not progress):
            events = _melody_events(tempo, line)
            seconds = events[-1][1] + GAP_S + 0.4
            audio = render_midi(program, events, seconds, workdir)
            notes = [Note(on, off, midi_to_hz(m), m, name, "melody") for on, off, m in events]
            checks = [verify_note(audio, n) for n in notes]
            corpus.checks.extend(checks)
            kept = [n for n, c in zip(notes, checks) if c["keep"]]
            corpus.dropped.extend({**c, "reason": _drop_reason(c)} for c in checks if not c["keep"])
            noisy, clean, noise_db = _finish(audio, rng)
            corpus.tracks.append(Track(name, "melody", "fluidsynth", noisy, clean, kept, noise_db))
        corpus.tracks.extend(_sox_tracks(workdir, rng, quick))
        corpus.tracks.append(_vibrato_track(rng, quick))
    if target is not None:
        _save(corpus, target)
    return corpus
