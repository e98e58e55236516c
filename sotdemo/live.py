"""Live analysis of a microphone stream, with no gradio: chunks in -> rolling pitch track, tuner, transport plan out.

A `LiveSession` keeps the last `BUFFER_S` (60 s) of the stream at the model's rate (16 kHz) in a
ring buffer, resampled chunk by chunk with a streaming soxr resampler (librosa's resampling
backend; a stream, so chunk boundaries leave no clicks). Each chunk is analysed incrementally:
`estimate.estimate` runs on the new audio plus `CONTEXT_S` before it (the CQT's lowest bins reach
about 0.8 s to each side) and re-reads the last `REVISE_S` of frames, which were at the edge of
the previous update (their CQT saw zeros where this chunk now is). The voicing thresholds and the
model are the Estimate tab's.

Chunks are buffered until `UPDATE_EVERY_S` of new audio has arrived (gradio's microphone sends
0.1 s chunks, whatever the event's `stream_every`): one analysis per update, not per chunk. In the
app the analysis runs on the session's own worker thread (`feed(..., wait=False)`): gradio keeps
only the newest chunk that arrives while the stream handler runs, so the handler only buffers.

A `LivePool` caps the sessions open at once (`MAX_SESSIONS`, env `SOTDEMO_LIVE_SESSIONS`) with a
clear message when full (`LiveFull`), and closes a session that goes quiet: no chunk for
`IDLE_CLOSE_S` seconds (a client that vanished), or `SILENCE_CLOSE_S` seconds of stream without
a frame above the level gate (`LiveClosed` on its next chunk). A closed session keeps its audio,
so it can still be kept as a clip.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import librosa
import numpy as np
import plotly.graph_objects as go
import soxr
import torch

from . import ot, plots
from .estimate import DEFAULT_LEVEL_DB, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_HARMONICITY, estimate
from .losses import sot_positions
from .spectral import HOP, SAMPLE_RATE, stft_frequencies
from .views import frame_spectra, note_name

__all__ = [
    "BUFFER_S", "CONTEXT_S", "IDLE_CLOSE_S", "LiveClosed", "LiveFull", "LivePool", "LiveSession", "LiveUpdate", "MAX_SESSIONS",
    "REVISE_S", "SILENCE_CLOSE_S", "UPDATE_EVERY_S", "WINDOW_S", "plan_figure", "read_chunk", "tuner_markdown",
]

BUFFER_S = 60.0  # the stream kept (and what "Keep clip" hands to the other tabs)
WINDOW_S = 10.0  # the rolling pitch track shows this much
CONTEXT_S = 0.8  # audio analysed before the first new frame: the lowest CQT bin's half-length (32.7 Hz, 36 bins per octave)
REVISE_S = 0.25  # frames this close to the previous update's end are read again with the new audio after them
UPDATE_EVERY_S = 0.3  # analyse once this much new audio has arrived (browsers send 0.1 s chunks; analysing each would not keep up)
TUNER_S = 0.2  # the tuner reads the median f0 of the voiced frames in the stream's last TUNER_S
PLAN_FFT = 2048  # the transport plan's window (the Transport plan tab's default)
MAX_SESSIONS = max(1, int(os.environ.get("SOTDEMO_LIVE_SESSIONS", "1")))  # live sessions at once, all users together
IDLE_CLOSE_S = 10.0  # a session that receives no chunk for this long is closed
SILENCE_CLOSE_S = 30.0  # a session whose stream has had no frame above the level gate for this long is closed
GAP_CHECK_S = 3.0  # the received share is judged after this much stream time
MIN_RECEIVED_SHARE = 0.9  # less audio than this share of the elapsed time: a warning (chunks were lost)
_BUFFER = int(BUFFER_S * SAMPLE_RATE)
_CONTEXT_FRAMES = int(round(CONTEXT_S * SAMPLE_RATE / HOP))
_REVISE_FRAMES = int(round(REVISE_S * SAMPLE_RATE / HOP))
_MAX_FRAMES = _BUFFER // HOP


class LiveFull(ValueError):
    """Every live slot is taken: the message says so and what to do."""


class LiveClosed(ValueError):
    """The session was closed (quiet, idle, stopped): the message says why."""


@dataclass
class LiveUpdate:
    """What one chunk changed: the stream's end and the frames (re)analysed."""

    end_s: float  # stream time of the last sample [s]
    analysed: bool  # True: a new analysis (and `LiveSession.view`) is ready since the last feed; False: only buffered
    new_frames: int  # frames (re)analysed by the latest analysis
    f0_hz: float | None  # the tuner's f0 (median over the voiced frames of the last TUNER_S), None if none is voiced
    plan_frame: int  # the absolute frame whose transport plan is drawn (-1: none yet)
    latency_s: float = float("nan")  # when `analysed`: from the arrival of the chunk that started the analysis to now


@dataclass
class _Track:
    """The rolling track: per absolute frame index first..first+len-1, at most the buffer's frames."""

    first: int = 0
    f0_hz: np.ndarray = field(default_factory=lambda: np.zeros(0))
    voiced: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    level_db: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def replace_from(self, start: int, f0: np.ndarray, voiced: np.ndarray, confidence: np.ndarray, level_db: np.ndarray) -> None:
        keep = start - self.first
        if not 0 <= keep <= len(self.f0_hz):  # the first update, or a gap (a chunk longer than the buffer): start afresh
            self.first, keep = start, 0
        self.f0_hz = np.concatenate([self.f0_hz[:keep], f0])
        self.voiced = np.concatenate([self.voiced[:keep], voiced])
        self.confidence = np.concatenate([self.confidence[:keep], confidence])
        self.level_db = np.concatenate([self.level_db[:keep], level_db])
        drop = max(0, len(self.f0_hz) - _MAX_FRAMES)
        if drop:
            self.first += drop
            self.f0_hz, self.voiced = self.f0_hz[drop:], self.voiced[drop:]
            self.confidence, self.level_db = self.confidence[drop:], self.level_db[drop:]


class LiveSession:
    """One microphone stream: ring buffer (16 kHz), resampler, incremental analysis, rolling track.

    Args:
        model: a checkpoint name (None: the default model) or a loaded model, as `estimate.estimate`.
        level_db, min_confidence, min_harmonicity: the voicing thresholds (`estimate.estimate`).
        clock: seconds, monotonic (`time.monotonic`; tests pass their own).
        update_every_s: analyse once this much new audio has arrived (`UPDATE_EVERY_S`; 0: every chunk).
    """

    def __init__(self, model=None, level_db: float = DEFAULT_LEVEL_DB, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 min_harmonicity: float = DEFAULT_MIN_HARMONICITY, clock: Callable[[], float] = time.monotonic,
                 update_every_s: float = UPDATE_EVERY_S):
        self.model = model
        self.update_every = int(round(update_every_s * SAMPLE_RATE))
        self.analysed_total = 0  # `total` at the last analysis
        self.level_db, self.min_confidence, self.min_harmonicity = float(level_db), float(min_confidence), float(min_harmonicity)
        self.clock = clock
        self.buffer = np.zeros(_BUFFER, dtype=np.float32)
        self.total = 0  # samples received since the start (16 kHz)
        self.analysed_frames = 0  # frames 0..analysed_frames-1 have been read at least once
        self.track = _Track()
        self.input_rate: int | None = None
        self._resampler: soxr.ResampleStream | None = None
        self.last_chunk = clock()
        self.started: float | None = None  # clock at the first chunk, less that chunk's duration
        self.last_loud_s = 0.0  # stream time of the last frame above the level gate
        self.closed: str | None = None  # why the session was closed, once it is
        self.plan: tuple[np.ndarray, np.ndarray, int] | None = None  # (audio, resynthesis, frame within them) of the drawn frame
        self.plan_frame = -1
        self.new_frames = 0
        self.view: tuple[go.Figure, go.Figure, str] | None = None  # (pitch figure, plan figure, tuner text) of the latest analysis
        self.version = self.shown_version = 0  # analyses finished / reported by `feed`
        self.view_chunk_time = 0.0
        self.warnings: list[str] = []  # `estimate`'s warnings about the latest analysed stretch (clipping, energy below the range ...)
        self._running: Future | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._error: Exception | None = None
        self.lock = threading.RLock()

    # -- audio -------------------------------------------------------------------------------
    @property
    def seconds(self) -> float:
        """Stream time received so far [s]."""
        return self.total / SAMPLE_RATE

    def recent(self, n: int) -> np.ndarray:
        """The last `n` samples received (at most `BUFFER_S` of them), float32 at 16 kHz."""
        n = int(min(n, self.total, _BUFFER))
        end = self.total % _BUFFER
        if n <= end:
            return self.buffer[end - n : end].copy()
        return np.concatenate([self.buffer[_BUFFER - (n - end) :], self.buffer[:end]])

    def received_share(self) -> float:
        """Audio received / time since the stream started (≈ 1; lower when chunks were lost on the way, e.g.
        gradio keeping only the newest chunk while its handler is busy). NaN in the first `GAP_CHECK_S`."""
        if self.started is None:
            return float("nan")
        elapsed = self.last_chunk - self.started
        return self.seconds / elapsed if elapsed >= GAP_CHECK_S else float("nan")

    def gap_warning(self) -> str | None:
        """A warning when less than `MIN_RECEIVED_SHARE` of the stream's time arrived as audio, else None."""
        share = self.received_share()
        if not share < MIN_RECEIVED_SHARE:
            return None
        return (f"only {100 * share:.0f} % of the microphone's audio reached the analysis ({self.seconds:.1f} s in "
                f"{self.last_chunk - self.started:.1f} s): chunks were lost on the way (a busy server or a slow connection), "
                "so the track has gaps and the kept clip is shorter than the time recorded")

    def clip(self) -> tuple[np.ndarray, list[str]]:
        """The last ≤ 60 s as a clip `[samples]` float32 at 16 kHz, and a warning if the stream was longer.

        Raises ValueError if nothing was received."""
        if self.total == 0:
            raise ValueError("nothing recorded yet: start the microphone first")
        warnings = []
        if self.total > _BUFFER:
            warnings.append(f"the live stream lasted {self.seconds:.1f} s; only its last {BUFFER_S:.0f} s are kept")
        if self.gap_warning():
            warnings.append(self.gap_warning())
        return self.recent(_BUFFER), warnings

    def _append(self, samples: np.ndarray) -> None:
        samples = samples[-_BUFFER:]
        start = self.total % _BUFFER
        first = min(len(samples), _BUFFER - start)
        self.buffer[start : start + first] = samples[:first]
        self.buffer[: len(samples) - first] = samples[first:]
        self.total += len(samples)

    def _to_model_rate(self, sample_rate: int, chunk: np.ndarray) -> np.ndarray:
        """A chunk `[samples]` or `[samples, channels]` (int PCM or float) -> mono float32 at 16 kHz."""
        data = np.asarray(chunk)
        if data.ndim not in (1, 2) or data.size == 0:
            raise ValueError(f"a live chunk must be [samples] or [samples, channels] audio, got shape {data.shape}")
        if np.issubdtype(data.dtype, np.integer):
            data = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
        data = data.astype(np.float32)
        if data.ndim == 2:
            data = data.mean(axis=1)
        if not np.isfinite(data).all():
            raise ValueError("the live chunk holds NaN or infinite samples")
        sample_rate = int(sample_rate)
        if not 4000 <= sample_rate <= 384000:
            raise ValueError(f"a live chunk's sample rate must be 4-384 kHz, got {sample_rate} Hz")
        if sample_rate != self.input_rate:  # first chunk, or the browser changed its rate: a new resampler
            if self._resampler is not None:
                self._append(self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
            self.input_rate = sample_rate
            self._resampler = None if sample_rate == SAMPLE_RATE else soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1, dtype="float32",
                                                                                           quality="HQ")
        if self._resampler is None:
            return data
        return self._resampler.resample_chunk(data)

    # -- analysis ----------------------------------------------------------------------------
    def feed(self, sample_rate: int, chunk: np.ndarray, wait: bool = True) -> LiveUpdate:
        """Add one chunk; once `update_every_s` of new audio has arrived, analyse what it made readable
        and redraw (`view`). Returns what changed.

        Args:
            sample_rate: the chunk's rate [Hz] (the browser's, e.g. 48000).
            chunk: `[samples]` or `[samples, channels]`, int PCM (as gradio sends it) or float in [-1, 1].
            wait: True: analyse here, before returning. False (the app): analyse on the session's worker
                thread and return at once; the update is reported by the first `feed` after it finished.
                Gradio keeps only the newest chunk that arrives while its handler runs, so the handler
                must only buffer.

        Raises:
            LiveClosed: the session was closed (its message says why).
            ValueError: a malformed chunk; an error of a background analysis, at the next chunk.
        """
        with self.lock:
            if self.closed:
                raise LiveClosed(self.closed)
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            now = self.clock()
            self.last_chunk = now
            samples = self._to_model_rate(sample_rate, chunk)
            if self.started is None:
                self.started = now - len(np.asarray(chunk)) / float(sample_rate)
            self._append(samples)
            job = None
            idle = self._running is None or self._running.done()
            if idle and self.total - self.analysed_total >= max(self.update_every, 1):
                self.analysed_total = self.total
                job = self._snapshot(now)
                if not wait:
                    if self._executor is None:
                        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sotdemo-live")
                    self._running = self._executor.submit(self._run, job)
        if job is not None and wait:
            self._run(job, raise_errors=True)
        with self.lock:
            fresh = self.version > self.shown_version
            self.shown_version = self.version
            return LiveUpdate(self.seconds, fresh, self.new_frames, self.tuner_f0(), self.plan_frame,
                              now - self.view_chunk_time if fresh else float("nan"))

    def _snapshot(self, now: float) -> tuple | None:
        """What the next analysis reads (under the lock): the audio from the context before the first frame to re-read."""
        last = (self.total - 1) // HOP  # the newest frame whose centre has been received
        first = max(0, min(self.analysed_frames, last + 1) - _REVISE_FRAMES, (self.total - _BUFFER) // HOP + _CONTEXT_FRAMES)
        start_frame = max(0, first - _CONTEXT_FRAMES, -(-(self.total - _BUFFER) // HOP))
        if last < first or self.total - start_frame * HOP < 2 * HOP:  # nothing new, or too short yet (the first few ms)
            return None
        return self.recent(self.total - start_frame * HOP), start_frame, first, last, self.seconds, now

    def _run(self, job: tuple | None, raise_errors: bool = False) -> None:
        try:
            if job is not None:
                self._analyse(*job)
        except Exception as error:  # noqa: BLE001 - handed to the next feed
            if raise_errors:
                raise
            with self.lock:
                self._error = error

    def _analyse(self, audio: np.ndarray, start_frame: int, first: int, last: int, end_s: float, chunk_time: float) -> None:
        """Estimate `audio` (starting at frame `start_frame`), store frames first..last, redraw the view."""
        result = estimate(audio, SAMPLE_RATE, self.model, self.level_db, self.min_confidence, min_harmonicity=self.min_harmonicity)
        skip = first - start_frame
        n = min(len(result.f0_hz), last - start_frame + 1)
        with self.lock:
            self.track.replace_from(first, result.f0_hz[skip:n], result.voiced[skip:n], result.confidence[skip:n],
                                    result.level_db[skip:n])
            self.analysed_frames = last + 1
            self.new_frames = n - skip
            self.warnings = [f"microphone: {w}" for w in result.warnings]
            loud = np.flatnonzero(result.level_db[skip:n] >= self.level_db)
            if loud.size:
                self.last_loud_s = max(self.last_loud_s, (first + loud[-1]) * HOP / SAMPLE_RATE)
            # the plan's frame: the newest one whose whole window has arrived, preferring a voiced one among the new frames
            complete = (len(audio) - PLAN_FFT // 2) // HOP
            if complete >= skip:
                voiced = np.flatnonzero(result.voiced[skip : complete + 1])
                frame = skip + int(voiced[-1]) if voiced.size else complete
                self.plan = (audio, result.resynthesis, frame)
                self.plan_frame = start_frame + frame
            if end_s - self.last_loud_s > SILENCE_CLOSE_S:
                self.closed = (f"live analysis stopped: {SILENCE_CLOSE_S:.0f} s without any sound above the level gate "
                               f"({self.level_db:.0f} dBFS). Record again to restart, or keep the clip.")
        view = (self.pitch_figure(), self.plan_figure(), self.tuner())
        with self.lock:
            self.view, self.view_chunk_time = view, chunk_time
            self.version += 1

    def tuner_f0(self) -> float | None:
        """Median f0 [Hz] of the voiced frames in the stream's last `TUNER_S`; None if none is voiced."""
        t = self.track
        recent = slice(max(0, len(t.f0_hz) - int(round(TUNER_S * SAMPLE_RATE / HOP))), len(t.f0_hz))
        voiced = t.f0_hz[recent][t.voiced[recent]]
        return float(np.median(voiced)) if voiced.size else None

    def track_window(self, window_s: float = WINDOW_S) -> dict[str, np.ndarray]:
        """The rolling track over the stream's last `window_s`: times_s (stream time), f0_hz, voiced, confidence `[frames]`."""
        t = self.track
        n = min(len(t.f0_hz), int(round(window_s * SAMPLE_RATE / HOP)))
        first = t.first + len(t.f0_hz) - n
        return {"times_s": (first + np.arange(n)) * HOP / SAMPLE_RATE, "f0_hz": t.f0_hz[-n:] if n else t.f0_hz[:0],
                "voiced": t.voiced[-n:] if n else t.voiced[:0], "confidence": t.confidence[-n:] if n else t.confidence[:0]}

    # -- views -------------------------------------------------------------------------------
    def pitch_figure(self, window_s: float = WINDOW_S) -> go.Figure:
        """The rolling pitch track (`plots.live_pitch_figure`) of the last `window_s`."""
        w = self.track_window(window_s)
        return plots.live_pitch_figure(w["times_s"], w["f0_hz"], w["voiced"], w["confidence"], self.seconds, window_s)

    def plan_figure(self) -> go.Figure:
        """The transport plan of the newest complete frame (`plan_figure`); an empty chart before there is one."""
        if self.plan is None:
            return plots.live_placeholder("Transport plan: waiting for the first 64 ms of sound")
        audio, resynthesis, frame = self.plan
        fig, w = plan_figure(audio, resynthesis, frame)
        f0 = self.track.f0_hz[self.plan_frame - self.track.first] if self.plan_frame >= self.track.first else float("nan")
        voiced = bool(self.track.voiced[self.plan_frame - self.track.first]) if self.plan_frame >= self.track.first else False
        fig.update_layout(title=f"Transport plan at {self.plan_frame * HOP / SAMPLE_RATE:.2f} s · f0 {f0:.1f} Hz "
                                f"({'voiced' if voiced else 'unvoiced'}) · W₂² = {w:.3g}")
        return fig

    def tuner(self) -> str:
        """The tuner's text (`tuner_markdown`) for the current f0."""
        return tuner_markdown(self.tuner_f0())


def read_chunk(path: str | os.PathLike) -> tuple[int, np.ndarray]:
    """A microphone chunk as the browser sends it: `(rate Hz, samples [samples] or [samples, channels])`.

    Gradio's recorder sends the first chunk's 44-byte WAV header followed by 16-bit PCM, whose
    header's length fields describe the first chunk only; the data after the header is read
    whole. Any other file is read with soundfile. Raises ValueError for a file that is neither."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) >= 44 and data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt " and data[36:40] == b"data":
        fmt, channels, rate = np.frombuffer(data[20:22], "<u2")[0], np.frombuffer(data[22:24], "<u2")[0], np.frombuffer(data[24:28], "<u4")[0]
        bits = np.frombuffer(data[34:36], "<u2")[0]
        if fmt == 1 and bits == 16 and channels >= 1:
            pcm = data[44 : 44 + (len(data) - 44) // (2 * channels) * 2 * channels]
            samples = np.frombuffer(pcm, "<i2").reshape(-1, channels)
            return int(rate), samples[:, 0] if channels == 1 else samples
    import soundfile

    try:
        samples, rate = soundfile.read(path, dtype="int16")
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise ValueError(f"a live chunk is not readable audio ({error})") from None
    return int(rate), samples


def plan_figure(audio: np.ndarray, resynthesis: np.ndarray, frame: int, n_fft: int = PLAN_FFT, cutoff: bool = True,
                p: int = 2) -> tuple[go.Figure, float]:
    """The Transport plan tab's plan figure (`plots.transport_figure`) for frame `frame` of `audio`
    `[samples]` (target) and `resynthesis` `[samples]` (prediction), 16 kHz, and W_p^p of that frame
    (positions on a 0…1 linear-frequency axis)."""
    target, pred = frame_spectra(audio, resynthesis, frame, n_fft)
    positions = sot_positions(n_fft, False)
    freqs = stft_frequencies(n_fft)
    w = float(ot.wasserstein_1d(torch.from_numpy(target), torch.from_numpy(pred), torch.from_numpy(positions), p, cutoff))
    source_bin, target_bin, mass = ot.plan_indices(target, pred, cutoff)
    reach = max(freqs[min(np.searchsorted(c, 0.999), len(freqs) - 1)] for c in (ot.cdf(target), ot.cdf(pred)))
    fmax = float(min(freqs[-1], max(500.0, 1.15 * reach)))
    a, b = target / max(target.sum(), 1e-30), pred / max(pred.sum(), 1e-30)
    return plots.transport_figure(freqs, a, b, source_bin, target_bin, mass, fmax, False), w


def tuner_markdown(f0_hz: float | None) -> str:
    """The tuner: note, f0 and cents off the nearest equal-tempered note (A4 = 440 Hz), and a needle between ±50 cents."""
    if f0_hz is None or not np.isfinite(f0_hz):
        return "### — \nno voiced frame in the last 0.2 s (sing or play a note)"
    midi = float(librosa.hz_to_midi(f0_hz))
    cents = 100 * (midi - round(midi))
    slots = 21
    needle = int(round((cents + 50) / 100 * (slots - 1)))
    line = "".join("●" if i == needle else ("┃" if i == slots // 2 else "─") for i in range(slots))
    return f"### {note_name(f0_hz)} · {f0_hz:.1f} Hz\n`♭ {line} ♯` ({cents:+.0f} cents)"


class LivePool:
    """The live sessions open at once, at most `max_sessions`; quiet ones are closed.

    Args:
        max_sessions: the cap (default `MAX_SESSIONS`, env `SOTDEMO_LIVE_SESSIONS`).
        idle_close_s: a session without a chunk for this long is closed by `sweep`.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, max_sessions: int = MAX_SESSIONS, idle_close_s: float = IDLE_CLOSE_S, clock: Callable[[], float] = time.monotonic):
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
        self.max_sessions, self.idle_close_s, self.clock = int(max_sessions), float(idle_close_s), clock
        self._open: list[LiveSession] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        """Sessions open now (after closing the quiet ones)."""
        self.sweep()
        return len(self._open)

    def open(self, model=None, level_db: float = DEFAULT_LEVEL_DB, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
             min_harmonicity: float = DEFAULT_MIN_HARMONICITY) -> LiveSession:
        """A new session (arguments as `LiveSession`). Raises `LiveFull` when `max_sessions` are open."""
        self.sweep()
        with self._lock:
            if len(self._open) >= self.max_sessions:
                raise LiveFull(f"all {self.max_sessions} live slot{'s are' if self.max_sessions > 1 else ' is'} in use by other "
                               "listeners; try again in a minute (or upload a recording in the Estimate tab)")
            session = LiveSession(model, level_db, min_confidence, min_harmonicity, clock=self.clock)
            self._open.append(session)
            return session

    def feed(self, session: LiveSession, sample_rate: int, chunk: np.ndarray, wait: bool = True) -> LiveUpdate:
        """`session.feed`; a session it closes (silence) leaves the pool. Raises as `LiveSession.feed`."""
        try:
            return session.feed(sample_rate, chunk, wait)
        finally:
            if session.closed:
                self.close(session)

    def close(self, session: LiveSession, reason: str = "live analysis stopped") -> None:
        """Close `session` (its audio stays readable by `clip`) and free its slot."""
        with session.lock:
            session.closed = session.closed or reason
            if session._executor is not None:
                session._executor.shutdown(wait=False)
        with self._lock:
            if session in self._open:
                self._open.remove(session)

    def sweep(self) -> None:
        """Close the sessions that received no chunk for `idle_close_s`."""
        now = self.clock()
        for session in list(self._open):
            if now - session.last_chunk > self.idle_close_s:
                self.close(session, f"live analysis stopped: no sound arrived for {self.idle_close_s:.0f} s. Record again to restart.")
