"""The Gradio web app: Blocks wiring only (the work is in `sotdemo.views`, figures in `sotdemo.plots`).

Six tabs (Estimate, Synthesize, Transport plan, Loss landscape, Models, Live) and one named API
endpoint, `/estimate` (audio file in -> pitch-track JSON out). This is the only module of the
package that imports gradio. Errors a user can cause come back as `gr.Error` with the message of
the `AudioError`/`ValueError` behind them; anything else is logged on the server and the user
sees a short message without a traceback.

Load limits (see docs/deployment.md): every event that computes runs in one
concurrency group, "cpu", of `workers` slots shared by all users, so the CPU a server spends at
once is bounded whatever the number of visitors; the queue in front of it (`QUEUE_SIZE`, set by
app.py) turns clients away with a message once full. Uploads are capped at `MAX_UPLOAD_MB`,
and gradio deletes uploads, handed-out files and each session's clip `CACHE_TTL_S` after they were made.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from pathlib import Path
from typing import Callable

import gradio as gr
import soundfile as sf

from . import live, views
from .audio import MAX_SECONDS, AudioError, prepare
from .estimate import DEFAULT_LEVEL_DB, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_HARMONICITY
from .voicing import CLEAR_HARMONICITY
from .model import available
from .plots import harmonic_amplitudes_figure, landscape_figure, live_placeholder, race_figure, synthesis_figure
from .spectral import SAMPLE_RATE

__all__ = ["CACHE_TTL_S", "EXAMPLES_DIR", "MAX_FILE_SIZE", "MAX_UPLOAD_MB", "QUEUE_SIZE", "UPLOAD_TYPES", "WORKERS", "build"]

log = logging.getLogger("sotdemo.ui")
EXAMPLES_DIR = next((d for d in (Path(__file__).resolve().parent.parent / "examples", Path(__file__).resolve().parent / "examples")
                     if d.is_dir()), Path(__file__).resolve().parent / "examples")  # a clone's, else the installed wheel's
MAX_UPLOAD_MB = 50  # 60 s of 8-channel 48 kHz 16-bit WAV is 46 MB; only the first 60 s are analysed anyway
MAX_FILE_SIZE = f"{MAX_UPLOAD_MB}mb"
CSS = ("#models-table th { white-space: nowrap; } #models-table td { overflow-wrap: normal; word-break: normal; } "
       "#models-table th, #models-table td { padding: 6px 8px; }")  # the page's own styles (gradio 6 takes them at launch):
# the Models table's titles on one line, its model names broken at their hyphens only, and room for both at 1280 px
WORKERS = 2  # computing events at once, all users together (app.py --workers; one per core)
QUEUE_SIZE = 64  # waiting events beyond which clients are turned away (app.py --queue-size); see README
CACHE_TTL_S = 3600  # uploads and downloads are deleted after this (app.py --cache-ttl)
PLAY_FRAMES = 12  # frames visited by the transport tab's play-through
PLAY_LIMIT = 8  # play-throughs at once: each only sleeps and moves the slider (the redraws it causes queue as "cpu")
LIVE_EVERY_S = 0.25  # the event's stream_every (gradio 6's microphone sends 0.1 s chunks anyway; live.UPDATE_EVERY_S batches them)
LIVE_TIME_LIMIT_S = 120  # a live stream holds a "cpu" slot while it runs; it ends after this long (record again to go on)
FIRST_EXAMPLE = "melody_gaps_noise.wav"  # the Estimate tab's clip on first load (and the Transport plan tab's)
# what the file box offers besides the browser's audio/video types (sotdemo.audio decodes whatever libsndfile or FFmpeg reads)
UPLOAD_TYPES = ["audio", "video", ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".mp4", ".mov",
                ".mkv", ".mka", ".3gp", ".wma", ".wmv", ".amr", ".caf", ".aif", ".aiff", ".ac3", ".avi"]

INTRO = """# Harmonic parameter estimation with Spectral Optimal Transport
A small encoder turns each 16 ms frame of audio into a fundamental frequency f0 and 20 harmonic amplitudes;
a harmonic synthesizer turns those back into sound. It was trained **without labels**, only by comparing
its resynthesis with the input through **Spectral Optimal Transport** (Torres, Peeters & Richard, ICASSP 2024):
how far spectral mass must slide along the frequency axis to turn one spectrum into the other."""

ESTIMATE_HELP = f"""Upload a recording (wav, flac, ogg, mp3, m4a, webm, ...; any rate, mono or stereo), record one, or pick an
example; for a video (mp4, mov, mkv, ...) or a file the audio box refuses, use the file box below it: its first audio
track is analysed. At most the first {MAX_SECONDS:.0f} s are analysed. The **pitch track** is drawn over the input's
spectrogram only where a frame is voiced: loud enough, and periodic at f0, i.e. most of its power lies on the harmonic comb k·f0 (*harmonicity*; with a
pitch posterior that agrees, or a clearly harmonic frame): thresholds under *Voicing thresholds*. The dotted line is librosa's pYIN for comparison. The
**amplitude** map shows how strong each harmonic k·f0 is over time, and the two spectrograms below compare the input
with the resynthesis on shared axes: what the model did not capture (noise, inharmonic partials) is missing below."""

SYNTH_HELP = """Make a tone whose f0 you know, a plain harmonic tone or a **sung vowel** (a glottal source through the
vowel's formants, with a little jitter and breath), then see what the model makes of it. Tilt sets how fast the harmonics
fade (dB per octave), vibrato wobbles the pitch, noise is white noise relative to the tone. The figures draw the
true f0 next to the estimate (RPA is the share of frames within 50 cents, a quarter tone, of the truth) and the true
harmonic amplitudes next to the estimated ones: the other half of harmonic parameter estimation."""

TRANSPORT_HELP = """One frame of the last clip you estimated or synthesized: the input is the **target** (green, up),
the resynthesis the **prediction** (purple, down), both as mass over frequency. Each line of the transport plan carries
mass from a predicted frequency to a target frequency (thicker = more mass; orange moves up, blue moves down); W is the
mass times the distance moved (to the power p), the SOT loss of this frame. Below: the two CDFs and the quantile
functions (the shaded gap is how far each slice of mass travels), the coupling matrix with its marginals, and an
animation of the mass sliding (OT) beside the fading blend that bin-by-bin losses (L1/L2) see."""

LANDSCAPE_HELP = """A target tone at the f0 you set and a prediction that is the same tone at another f0: how does each loss
change as the predicted f0 sweeps 40–2000 Hz (log axis)? Below each curve, green means a gradient-descent step moves the
prediction **toward** the target, red **away**. Transport losses slope toward the target from far away; bin-by-bin
losses (LIN, MSS) are flat or bumpy until the partials overlap. The race runs gradient descent from one start under each loss."""

LIVE_HELP = f"""Press record and sing or play: every {live.UPDATE_EVERY_S:g} s the new audio is analysed (with the model and the
voicing thresholds of the Estimate tab) and the **pitch** of the last {live.WINDOW_S:.0f} s scrolls by, note names on the
left, voiced frames only, fainter where the model is less sure. The **tuner** reads the last 0.2 s; below it, the newest
frame's spectrum (target, up) and its resynthesis (prediction, down) with the **transport plan** between them, as in
the Transport plan tab. **Keep clip** hands the last {live.BUFFER_S:.0f} s to the Estimate and Transport plan tabs.
A stream stops after {LIVE_TIME_LIMIT_S} s, {live.SILENCE_CLOSE_S:.0f} s of silence, or {live.IDLE_CLOSE_S:.0f} s without
sound arriving; the server takes {live.MAX_SESSIONS} live listener(s) at once (`SOTDEMO_LIVE_SESSIONS`)."""

MODELS_HELP = """One row per model in the menu (the default first): on the test split of the paper's synthetic tones, RPA
(% of frames within 50 cents of the true pitch) and LSD (the paper's log-spectral distance of the resynthesis, lower is
better), averaged over the shipped seeds, beside the paper's Table 1 where it has the row. The default model was tuned for
real recordings, not these tones: its real-audio figures are in README and results/bench_real.md."""


def _guard(action: str) -> Callable:
    """Turn user-caused errors into `gr.Error` with their message; log anything else."""

    def decorate(fn: Callable) -> Callable:
        def translate(error: Exception) -> gr.Error:
            if isinstance(error, gr.Error):
                return error
            if isinstance(error, (AudioError, ValueError)):
                return gr.Error(str(error), print_exception=False)  # the user's problem, not the server's
            log.exception("%s failed", action)
            return gr.Error(f"{action} failed with an internal error ({type(error).__name__}); the server log has the details.")

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args, **kwargs):
                try:
                    yield from fn(*args, **kwargs)
                except Exception as error:  # noqa: BLE001 - every failure becomes a message
                    raise translate(error) from None

            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as error:  # noqa: BLE001
                raise translate(error) from None

        return wrapper

    return decorate


def _examples() -> list[list[str]]:
    return [[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.wav"))]


def _model_banner() -> str:
    return "" if available() else f"> ⚠ **{views.no_model_message()}**"


def _model_choices():
    return gr.update(choices=views.menu_models(), value=views.default_model())


def _slider_for(clip: views.Clip):
    return gr.update(minimum=0, maximum=max(len(clip.result.f0_hz) - 1, 1), value=views.default_frame(clip), step=1)


def _clip_outputs(clip: views.Clip, log_freq: bool) -> tuple:
    for warning in clip.warnings + clip.result.warnings:
        gr.Warning(warning)
    figures = views.estimate_figures(clip, log_freq)
    return (views.summary_markdown(clip), figures["pitch"], figures["amplitudes"], figures["spectrograms"], clip.wav_path,
            [clip.csv_path, clip.wav_path], clip, _slider_for(clip))


@_guard("Estimation")
def run_estimate(path: str | None, file_path: str | None, model: str | None, log_freq: bool,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE, level_db: float = DEFAULT_LEVEL_DB,
                 min_harmonicity: float = DEFAULT_MIN_HARMONICITY) -> tuple:
    """The Estimate button: the file box's file while it holds one (a video, ...), else the audio box's."""
    return _clip_outputs(views.analyse(file_path or path, model, level_db=level_db, min_confidence=min_confidence,
                                       min_harmonicity=min_harmonicity), log_freq)


@_guard("pYIN")
def add_pyin(clip: views.Clip | None, log_freq: bool) -> tuple:
    if clip is None:
        return gr.skip(), clip
    if clip.pyin is None:
        clip.pyin = views.pyin_track(clip.audio)
    return views.pitch_figure(clip, log_freq), clip


@_guard("Redrawing")
def redraw(clip: views.Clip | None, log_freq: bool) -> tuple:
    if clip is None:
        return gr.skip(), gr.skip(), gr.skip()
    figures = views.estimate_figures(clip, log_freq)
    return figures["pitch"], figures["amplitudes"], figures["spectrograms"]


@_guard("Synthesis")
def run_synthesize(f0, n_harmonics, tilt, noise_db, vibrato_hz, vibrato_cents, seconds, model, source="harmonic tone") -> tuple:
    synth = views.synthesize(f0, int(n_harmonics), tilt, noise_db, vibrato_hz, vibrato_cents, seconds, source=source)
    clip = views.analyse_synthesized(synth, model, name=f"synthesized {f0:g} Hz {source}")
    r = clip.result
    return ((16000, synth.audio), views.summary_markdown(clip), synthesis_figure(r.times_s, clip.true_f0_hz, r.f0_hz, r.voiced),
            harmonic_amplitudes_figure(*views.amplitude_comparison(clip)), clip.wav_path, clip, _slider_for(clip))


@_guard("Transport plan")
def run_transport(clip: views.Clip | None, frame: float, n_fft: str, logf: bool, cutoff: bool, p: str) -> tuple:
    if clip is None:
        return ("No clip yet: run **Estimate** or **Synthesize** first; this tab then shows that clip's frames.",
                gr.skip(), gr.skip(), gr.skip(), gr.skip())
    view = views.transport_view(clip, int(frame), int(n_fft), bool(logf), bool(cutoff), int(p))
    f = view.figures
    return view.text, f["plan"], f["cdf"], f["coupling"], f["interpolation"]


@_guard("Play-through")
def play_frames(clip: views.Clip | None, frame: float):
    if clip is None:
        raise gr.Error("No clip yet: run Estimate or Synthesize first.")
    n = len(clip.result.f0_hz)
    for i in range(PLAY_FRAMES + 1):
        yield round(i * (n - 1) / PLAY_FRAMES)
        time.sleep(1.0)


@_guard("Loss landscape")
def run_landscape(target_f0: float, n_harmonics: float, names: list[str]):
    grid, curves = views.landscape_curves(target_f0, int(n_harmonics), names)
    return landscape_figure(grid, curves, target_f0)


@_guard("Gradient-descent race")
def run_race(target_f0: float, start_f0: float, n_harmonics: float, names: list[str], steps: float):
    return race_figure(views.descent_race(target_f0, start_f0, int(n_harmonics), names, int(steps)), target_f0)


@_guard("Estimation")
def api_estimate(audio_file: str | None, model: str | None = None, min_confidence: float | None = DEFAULT_MIN_CONFIDENCE,
                 level_db: float | None = DEFAULT_LEVEL_DB, min_harmonicity: float | None = DEFAULT_MIN_HARMONICITY) -> dict:
    """`/estimate`: an audio file in; per-frame times_s, f0_hz, voiced, confidence, harmonicity, amplitudes out
    (plus median_f0_hz, note, warnings). `model`: a checkpoint name, empty for the default. The voicing
    thresholds are the Estimate tab's (`estimate.estimate`): `min_confidence` (0..1), `level_db` (dBFS),
    `min_harmonicity` (0..1); empty for the defaults; a value outside its range is an error."""
    thresholds = {"min_confidence": (min_confidence, DEFAULT_MIN_CONFIDENCE, 0.0, 1.0), "level_db": (level_db, DEFAULT_LEVEL_DB, -120.0, 0.0),
                  "min_harmonicity": (min_harmonicity, DEFAULT_MIN_HARMONICITY, 0.0, 1.0)}
    values = {}
    for name, (value, default, low, high) in thresholds.items():
        value = default if value is None else float(value)
        if not low <= value <= high:  # NaN fails too
            raise ValueError(f"{name} must lie in {low:g} .. {high:g}, got {value:g}")
        values[name] = value
    return views.pitch_data(views.analyse(audio_file, model or None, downloads=False, **values))


def _live_status(session: live.LiveSession, pool: live.LivePool) -> str:
    state = f"stopped ({session.closed})" if session.closed else "● listening"
    warnings = [w for w in (session.gap_warning(), *session.warnings) if w]  # lost chunks; the latest analysis's own warnings
    return (f"{state} · {session.seconds:.1f} s received, the last {min(session.seconds, live.BUFFER_S):.1f} s kept · "
            f"live slots in use: {pool.active} of {pool.max_sessions}" + "".join(f"  \n⚠ {w}" for w in warnings))


def live_stream(pool: live.LivePool, chunk: str | tuple | None, session: live.LiveSession | None, model: str | None,
                min_confidence: float = DEFAULT_MIN_CONFIDENCE, level_db: float = DEFAULT_LEVEL_DB,
                min_harmonicity: float = DEFAULT_MIN_HARMONICITY) -> tuple:
    """The Live tab's stream handler, one call per microphone chunk (a file path, or `(rate, samples)`): opens a session
    on the first chunk (`LiveFull` when the pool is full), feeds it, and returns the pitch figure, the
    plan figure, the tuner, the status line and the session. Raises `LiveClosed` once the session is closed."""
    if chunk is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), session
    if session is None or session.closed:
        name = model or views.default_model()
        if not name:
            raise ValueError(views.no_model_message())
        session = pool.open(name, level_db, min_confidence, min_harmonicity)
    rate, samples = live.read_chunk(chunk) if isinstance(chunk, str) else chunk  # not pydub: it may spawn ffmpeg per chunk
    update = pool.feed(session, rate, samples, wait=False)  # the session's worker analyses: this handler only buffers
    if session.closed:
        raise live.LiveClosed(session.closed)
    if not update.analysed:  # buffered only: nothing to redraw
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), session
    return (*session.view, _live_status(session, pool), session)


def live_stop(pool: live.LivePool, session: live.LiveSession | None) -> str:
    """The microphone stopped: free the session's live slot (its audio stays for Keep clip)."""
    if session is None:
        return "Not recording: press record to start."
    pool.close(session, "you stopped the microphone")
    return _live_status(session, pool) + " · **Keep clip** to open it in the Estimate and Transport plan tabs"


@_guard("Keeping the live clip")
def live_keep(session: live.LiveSession | None, model: str | None, log_freq: bool, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
              level_db: float = DEFAULT_LEVEL_DB, min_harmonicity: float = DEFAULT_MIN_HARMONICITY) -> tuple:
    """Keep clip: the live stream's last ≤ 60 s analysed as an Estimate-tab clip (audio box, figures, clip state)."""
    if session is None:
        raise gr.Error("Nothing recorded yet: press record in the Live tab first.", print_exception=False)
    audio, warnings = session.clip()
    name = "live recording.wav"
    loaded = prepare(audio, SAMPLE_RATE, name=name)
    loaded.warnings[:0] = warnings
    clip = views.analyse_audio(loaded, name, model, level_db=level_db, min_confidence=min_confidence, min_harmonicity=min_harmonicity)
    path = Path(clip.csv_path).parent / "live_recording.wav"
    sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
    kept = f"Kept {len(audio) / SAMPLE_RATE:.1f} s as a clip: the Estimate and Transport plan tabs now show it."
    return (str(path), *_clip_outputs(clip, log_freq), kept)


_FIRST: dict = {}  # first-load views, computed once per process (and again once their download files are swept)
_FIRST_LOCK = threading.Lock()


def _first(key: tuple, compute: Callable, files: Callable = lambda value: []):
    with _FIRST_LOCK:
        value = _FIRST.get(key)
        if value is None or not all(Path(f).is_file() for f in files(value)):
            value = _FIRST[key] = compute()
        return value


@_guard("Loading the example")
def first_estimate(model: str | None, log_freq: bool) -> tuple:
    """First load: the Estimate tab on `FIRST_EXAMPLE` (with pYIN), so no tab opens empty; the clip also feeds the Transport plan tab."""
    path = EXAMPLES_DIR / FIRST_EXAMPLE
    if not path.is_file() or not (model or views.default_model()):
        return (gr.skip(),) * 9

    def compute():
        clip = views.analyse(path, model)
        clip.pyin = views.pyin_track(clip.audio)
        return clip

    clip = _first(("estimate", model, str(path)), compute, lambda c: [c.csv_path, c.wav_path])
    return (str(path), *_clip_outputs(clip, log_freq))


@_guard("Loading the example")
def first_synthesis(model: str | None) -> tuple:
    """First load: the Synthesize tab with its sliders' starting values (the clip state is left to the Estimate tab)."""
    if not (model or views.default_model()):
        return (gr.skip(),) * 5
    out = _first(("synthesize", model), lambda: run_synthesize(220, 8, -6, -60, 5, 30, 2, model), lambda o: [o[4]])
    return out[:5]


@_guard("Loading the example")
def first_landscape(target_f0: float, n_harmonics: float, names: list[str], start_f0: float, steps: float) -> tuple:
    """First load: the Loss landscape tab's curves and race at the sliders' starting values."""
    key = ("landscape", target_f0, n_harmonics, tuple(names), start_f0, steps)
    return _first(key, lambda: (run_landscape(target_f0, n_harmonics, names), run_race(target_f0, start_f0, n_harmonics, names, steps)))


def build(workers: int = WORKERS, cache_ttl_s: int = CACHE_TTL_S, live_sessions: int = live.MAX_SESSIONS) -> gr.Blocks:
    """The whole app (not launched): `workers` computing events at once; cached files live `cache_ttl_s`;
    at most `live_sessions` microphone streams at once (each holds one of the `workers` slots while it streams)."""
    private = dict(api_visibility="private")
    live_pool = live.LivePool(max_sessions=live_sessions)
    cpu = dict(concurrency_id="cpu", concurrency_limit=max(1, int(workers)))  # one pool of slots for all heavy events
    with gr.Blocks(title="sotdemo: harmonic estimation with Spectral Optimal Transport",
                   delete_cache=(max(1, min(cache_ttl_s, 600)), cache_ttl_s)) as demo:
        gr.Markdown(INTRO)
        banner = gr.Markdown(_model_banner())
        clip_state = gr.State(None, time_to_live=cache_ttl_s)  # a clip (≤ 60 s) per session, not forever
        with gr.Tabs():
            with gr.Tab("Estimate", id="estimate"):
                gr.Markdown(ESTIMATE_HELP)
                with gr.Row():
                    with gr.Column(scale=2):
                        audio_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio in", elem_id="audio-in")
                        file_in = gr.File(file_types=UPLOAD_TYPES, type="filepath", elem_id="file-in", height=90,
                                          label="…or a video or another audio file (mp4, mov, mkv, webm, m4a, wma, amr, ...); "
                                                "while this box holds a file, it is what Estimate analyses")
                        examples = _examples()
                        if examples:
                            gr.Examples(examples, inputs=[audio_in], label="Examples (made by the project's synthesizer)")
                    with gr.Column(scale=1):
                        model = gr.Dropdown(choices=views.menu_models(), value=views.default_model(), elem_id="model",
                                            label="Model (the default first; one per configuration, its best seed)")
                        log_freq = gr.Checkbox(False, label="Log-frequency spectrograms")
                        with gr.Accordion("Voicing thresholds", open=False):
                            min_harm = gr.Slider(0, 1.01, value=DEFAULT_MIN_HARMONICITY, step=0.01, elem_id="min-harmonicity",
                                                 label="min harmonicity (share of the frame's power on the harmonic comb of f0)")
                            min_conf = gr.Slider(0, 1, value=DEFAULT_MIN_CONFIDENCE, step=0.05, elem_id="min-confidence",
                                                 label="min confidence (posterior mass within ±1 semitone of f0 and its octaves; "
                                                       f"frames with harmonicity ≥ {CLEAR_HARMONICITY} need none)")
                            level_gate = gr.Slider(-90, 0, value=DEFAULT_LEVEL_DB, step=1, elem_id="level-gate",
                                                   label="level gate [dBFS frame RMS]")
                        estimate_btn = gr.Button("Estimate", variant="primary", elem_id="estimate-btn")
                        resynthesis = gr.Audio(label="Resynthesis (harmonic model)", type="filepath", interactive=False)
                        downloads = gr.File(label="Downloads: pitch track CSV, resynthesis WAV", file_count="multiple", interactive=False)
                summary = gr.Markdown(elem_id="summary")
                pitch_plot = gr.Plot(label="Pitch track", elem_id="pitch-plot")
                amp_plot = gr.Plot(label="Harmonic amplitudes", elem_id="amp-plot")
                spec_plot = gr.Plot(label="Input vs resynthesis", elem_id="spec-plot")

            with gr.Tab("Synthesize", id="synthesize"):
                gr.Markdown(SYNTH_HELP)
                with gr.Row():
                    with gr.Column():
                        s_source = gr.Dropdown(list(views.SOURCES), value=views.SOURCES[0], label="source", elem_id="synth-source")
                        s_f0 = gr.Slider(40, 2000, value=220, step=1, label="f0 [Hz]")
                        s_harm = gr.Slider(1, 20, value=8, step=1, label="number of harmonics (a vowel has all; these are compared)")
                        s_tilt = gr.Slider(-24, 0, value=-6, step=1, label="tilt [dB per octave] (a voice: about -12)")
                        s_noise = gr.Slider(-80, 0, value=-60, step=1, label="noise [dB re tone]")
                    with gr.Column():
                        s_vib_hz = gr.Slider(0, 10, value=5, step=0.5, label="vibrato rate [Hz]")
                        s_vib_ct = gr.Slider(0, 200, value=30, step=5, label="vibrato depth [cents]")
                        s_seconds = gr.Slider(0.5, 10, value=2, step=0.5, label="duration [s]")
                        synth_btn = gr.Button("Synthesize and estimate", variant="primary")
                with gr.Row():
                    synth_audio = gr.Audio(label="Synthesized tone", interactive=False)
                    synth_resynthesis = gr.Audio(label="Model's resynthesis", type="filepath", interactive=False)
                synth_summary = gr.Markdown()
                with gr.Row():
                    synth_plot = gr.Plot(label="Ground truth vs estimate")
                    synth_amp_plot = gr.Plot(label="Harmonic amplitudes: ground truth vs estimate", elem_id="synth-amp-plot")

            with gr.Tab("Transport plan", id="transport"):
                gr.Markdown(TRANSPORT_HELP)
                with gr.Row():
                    frame = gr.Slider(0, 1, value=0, step=1, label="frame (16 ms each)", elem_id="frame-slider", scale=3)
                    play_btn = gr.Button("▶ play through frames", scale=1)
                with gr.Row():
                    n_fft = gr.Radio(["2048", "512"], value="2048", label="SOT window size (samples)")
                    logf = gr.Checkbox(False, label="LogF (log-frequency positions)")
                    cutoff = gr.Checkbox(True, label="frequency cutoff")
                    p = gr.Radio(["1", "2"], value="2", label="p (cost |distance|^p)")
                transport_info = gr.Markdown("No clip yet: run **Estimate** or **Synthesize** first.", elem_id="transport-info")
                plan_plot = gr.Plot(label="Transport plan", elem_id="plan-plot")
                with gr.Row():
                    cdf_plot = gr.Plot(label="CDFs and quantile functions")
                with gr.Row():
                    coupling_plot = gr.Plot(label="Coupling matrix")
                    interp_plot = gr.Plot(label="Displacement interpolation vs linear blend")

            with gr.Tab("Loss landscape", id="landscape"):
                gr.Markdown(LANDSCAPE_HELP)
                with gr.Row():
                    l_target = gr.Slider(40, 2000, value=440, step=1, label="target f0 [Hz]")
                    l_harm = gr.Slider(1, 20, value=5, step=1, label="harmonics (equal amplitudes)")
                l_losses = gr.CheckboxGroup(list(views.LOSSES), value=list(views.LOSSES)[:2] + ["LIN", "MSS"], label="losses")
                landscape_btn = gr.Button("Compute landscape", variant="primary")
                landscape_plot = gr.Plot(label="Loss vs predicted f0", elem_id="landscape-plot")
                with gr.Row():
                    r_start = gr.Slider(40, 2000, value=120, step=1, label="start f0 [Hz]")
                    r_steps = gr.Slider(10, 200, value=60, step=10, label="iterations")
                    race_btn = gr.Button("Run the race")
                race_plot = gr.Plot(label="Gradient-descent race", elem_id="race-plot")

            with gr.Tab("Models", id="models"):
                gr.Markdown(MODELS_HELP)
                with gr.Row():
                    models_table = gr.Markdown(elem_id="models-table")
                    models_plot = gr.Plot(label="Ours vs the paper", elem_id="models-plot")
                with gr.Accordion("Details: every checkpoint and the full reproduced table", open=False):
                    models_md = gr.Markdown()
                refresh_btn = gr.Button("Refresh")

            with gr.Tab("Live", id="live"):
                gr.Markdown(LIVE_HELP)
                live_state = gr.State(None, time_to_live=cache_ttl_s)  # this browser's live session (≤ 60 s of audio)
                with gr.Row():
                    with gr.Column(scale=2):
                        live_mic = gr.Audio(sources=["microphone"], streaming=True, type="filepath", label="Microphone", elem_id="live-mic")
                    with gr.Column(scale=1):
                        live_tuner = gr.Markdown(live.tuner_markdown(None), elem_id="live-tuner")
                        keep_btn = gr.Button("Keep clip (last 60 s → Estimate, Transport plan)", elem_id="live-keep")
                live_status = gr.Markdown("Not recording: press record to start.", elem_id="live-status")
                live_pitch = gr.Plot(live_placeholder("Pitch: press record and sing or play"), label="Pitch, last 10 s",
                                     elem_id="live-pitch")
                live_plan = gr.Plot(live_placeholder("Transport plan of the newest frame: press record"),
                                    label="Newest frame: input vs resynthesis and the transport plan", elem_id="live-plan")

        # the /estimate API: hidden components, one named endpoint
        with gr.Row(visible=False):
            api_file = gr.File(type="filepath", label="audio_file")
            api_model = gr.Textbox(value="", label="model")
            api_thresholds = [gr.Number(value=DEFAULT_MIN_CONFIDENCE, label="min_confidence"),
                              gr.Number(value=DEFAULT_LEVEL_DB, label="level_db"),
                              gr.Number(value=DEFAULT_MIN_HARMONICITY, label="min_harmonicity")]
            api_out = gr.JSON(label="pitch track")
            api_btn = gr.Button("api")

        estimate_outputs = [summary, pitch_plot, amp_plot, spec_plot, resynthesis, downloads, clip_state, frame]
        transport_inputs = [clip_state, frame, n_fft, logf, cutoff, p]
        transport_outputs = [transport_info, plan_plot, cdf_plot, coupling_plot, interp_plot]

        estimate_btn.click(run_estimate, [audio_in, file_in, model, log_freq, min_conf, level_gate, min_harm], estimate_outputs, **private,
                           **cpu).success(add_pyin, [clip_state, log_freq], [pitch_plot, clip_state], **private, **cpu)
        log_freq.change(redraw, [clip_state, log_freq], [pitch_plot, amp_plot, spec_plot], **private, **cpu)
        synth_btn.click(run_synthesize, [s_f0, s_harm, s_tilt, s_noise, s_vib_hz, s_vib_ct, s_seconds, model, s_source],
                        [synth_audio, synth_summary, synth_plot, synth_amp_plot, synth_resynthesis, clip_state, frame], **private, **cpu)
        gr.on([frame.change, n_fft.change, logf.change, cutoff.change, p.change], run_transport, transport_inputs,
              transport_outputs, trigger_mode="always_last", **private, **cpu)
        play_btn.click(play_frames, [clip_state, frame], [frame], concurrency_limit=PLAY_LIMIT, **private)
        landscape_btn.click(run_landscape, [l_target, l_harm, l_losses], [landscape_plot], **private, **cpu)
        race_btn.click(run_race, [l_target, r_start, l_harm, l_losses, r_steps], [race_plot], **private, **cpu)
        refresh_btn.click(views.models_markdown, None, [models_md], **private).then(_model_choices, None, [model], **private).then(
            views.models_summary, None, [models_table, models_plot], **private)
        demo.load(_model_choices, None, [model], **private).then(_model_banner, None, [banner], **private).then(
            views.models_markdown, None, [models_md], **private).then(views.models_summary, None, [models_table, models_plot], **private)
        api_btn.click(api_estimate, [api_file, api_model, *api_thresholds], [api_out], api_name="estimate", **cpu)

        thresholds = [min_conf, level_gate, min_harm]
        stream, stop = functools.partial(live_stream, live_pool), functools.partial(live_stop, live_pool)
        stream.__name__, stop.__name__ = "live_stream", "live_stop"  # the events' names (as the other handlers')
        live_mic.stream(_guard("Live analysis")(stream), [live_mic, live_state, model, *thresholds],
                        [live_pitch, live_plan, live_tuner, live_status, live_state], stream_every=LIVE_EVERY_S,
                        time_limit=LIVE_TIME_LIMIT_S, show_progress="hidden", **private, **cpu)
        live_mic.stop_recording(stop, [live_state], [live_status], **private)
        keep_btn.click(live_keep, [live_state, model, log_freq, *thresholds], [audio_in, *estimate_outputs, live_status], **private, **cpu)

        # first load: every tab shows something (computed once per process, see `_first`)
        demo.load(first_estimate, [model, log_freq], [audio_in, *estimate_outputs], **private, **cpu).then(
            first_synthesis, [model], [synth_audio, synth_summary, synth_plot, synth_amp_plot, synth_resynthesis], **private, **cpu).then(
            first_landscape, [l_target, l_harm, l_losses, r_start, r_steps], [landscape_plot, race_plot], **private, **cpu)
    return demo
