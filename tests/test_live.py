"""sotdemo.live: a microphone stream analysed chunk by chunk against analytic tones of known f0, the session cap and quiet-close."""

import re

import numpy as np
import pytest
import soundfile as sf

from conftest import SHIPPED
from sotdemo import live
from sotdemo.estimate import estimate


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def tone(f0, seconds, rate, n_harmonics=6, level=0.3):
    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harmonics + 1) if k * f0 < rate / 2)
    return (level * x / np.abs(x).max() * 32767).astype(np.int16)


def chunks(x, rate, seconds=0.1):
    step = int(seconds * rate)
    return [x[i : i + step] for i in range(0, len(x), step)]


@pytest.fixture(scope="module")
def model():
    if not any(SHIPPED.glob("**/model.safetensors")):
        pytest.skip("no shipped default model")
    return None  # the default model


@pytest.mark.parametrize("f0, rate, note", [(220.0, 48000, "A3"), (146.83, 44100, "D3")])
def test_the_tuner_reads_the_tone_and_the_track_matches_the_offline_estimate(model, f0, rate, note):
    session = live.LiveSession(model, clock=Clock())
    x = tone(f0, 2.0, rate)
    updates = [session.feed(rate, c) for c in chunks(x, rate)]
    assert sum(u.analysed for u in updates) >= 5  # one analysis per ~0.3 s, not one per 0.1 s chunk
    assert abs(1200 * np.log2(updates[-1].f0_hz / f0)) < 10
    shown = float(re.search(r"([0-9.]+) Hz", session.tuner()).group(1))
    assert session.tuner().startswith(f"### {note} ") and abs(1200 * np.log2(shown / f0)) < 10
    # the incremental track equals the offline estimate of the same 16 kHz audio, frame for frame
    audio, warnings = session.clip()
    assert warnings == [] and abs(len(audio) / 16000 - 2.0) < 0.02
    offline = estimate(audio, 16000)
    w = session.track_window()
    n = len(w["f0_hz"])
    assert n >= len(offline.f0_hz) - 20
    cents = 1200 * np.abs(np.log2(w["f0_hz"][5:n] / offline.f0_hz[5:n]))
    assert np.percentile(cents, 95) < 5
    assert w["voiced"][10:].mean() > 0.95


def test_background_analysis_reports_its_update_at_a_later_chunk(model):
    session = live.LiveSession(model, clock=Clock())
    x = tone(330.0, 1.0, 16000)
    seen = 0
    for c in chunks(x, 16000):
        seen += session.feed(16000, c, wait=False).analysed
        if session._running is not None:
            session._running.result()  # the worker finished before the next chunk arrives
    assert seen >= 2 and session.view is not None
    pitch, plan, tuner = session.view
    assert "E4" in tuner and "Transport plan at" in plan.layout.title.text


def test_the_cap_turns_a_session_away_with_a_message_and_a_closed_one_frees_its_slot(model):
    clock = Clock()
    pool = live.LivePool(max_sessions=2, idle_close_s=10, clock=clock)
    a, b = pool.open(model), pool.open(model)
    with pytest.raises(live.LiveFull, match="all 2 live slots are in use"):
        pool.open(model)
    pool.close(a, "stopped")
    assert pool.active == 1
    c = pool.open(model)
    assert pool.active == 2 and c is not a and b.closed is None
    with pytest.raises(live.LiveClosed, match="stopped"):
        pool.feed(a, 16000, tone(220.0, 0.1, 16000))


def test_a_session_without_chunks_is_closed_and_freed(model):
    clock = Clock()
    pool = live.LivePool(max_sessions=1, idle_close_s=10, clock=clock)
    quiet = pool.open(model)
    pool.feed(quiet, 16000, tone(220.0, 0.1, 16000))
    clock.now += 9
    with pytest.raises(live.LiveFull, match="1 live slot is in use"):
        pool.open(model)
    clock.now += 2  # 11 s without a chunk
    fresh = pool.open(model)
    assert pool.active == 1 and fresh is not quiet
    with pytest.raises(live.LiveClosed, match="no sound arrived for 10 s"):
        pool.feed(quiet, 16000, tone(220.0, 0.1, 16000))
    assert len(quiet.clip()[0]) == 1600  # its audio stays for Keep clip


def test_a_silent_stream_is_closed_after_the_silence_limit(model, monkeypatch):
    monkeypatch.setattr(live, "SILENCE_CLOSE_S", 2.0)
    clock = Clock()
    pool = live.LivePool(max_sessions=1, clock=clock)
    session = pool.open(model)
    loud = tone(220.0, 1.0, 16000)
    silence = np.zeros(1600, dtype=np.int16)
    for c in chunks(loud, 16000):
        pool.feed(session, 16000, c)
    for i in range(40):  # up to 4 s of silence after the tone
        clock.now += 0.1
        pool.feed(session, 16000, silence)
        if session.closed:
            break
    assert session.closed and "without any sound above the level gate" in session.closed
    assert 2.0 <= 0.1 * (i + 1) <= 2.5  # closed at the first analysis after 2 s of silence
    assert pool.active == 0
    with pytest.raises(live.LiveClosed):
        pool.feed(session, 16000, silence)


def test_the_buffer_keeps_the_last_60_s_and_says_so(model, monkeypatch):
    session = live.LiveSession(model, clock=Clock(), update_every_s=1e9)  # buffering only
    second = np.arange(16000, dtype=np.float32) / 16000 * 0.5
    for i in range(62):
        session.feed(16000, second + 0.001 * i)
    audio, warnings = session.clip()
    assert len(audio) == 60 * 16000
    assert audio[0] == pytest.approx(0.002) and audio[-1] == pytest.approx(0.061 + 0.5 * 15999 / 16000)
    assert warnings == ["the live stream lasted 62.0 s; only its last 60 s are kept"]


def test_lost_chunks_are_reported():
    clock = Clock()
    session = live.LiveSession(clock=clock, update_every_s=1e9)
    for _ in range(40):  # 0.1 s of audio every 0.2 s: half of it lost on the way
        session.feed(16000, np.zeros(1600, dtype=np.int16))
        clock.now += 0.2
    assert "only 51 % of the microphone's audio reached the analysis (4.0 s in 7.9 s)" in session.gap_warning()
    assert any("only 51 %" in w for w in session.clip()[1])
    steady = live.LiveSession(clock=clock, update_every_s=1e9)
    for _ in range(40):
        steady.feed(16000, np.zeros(1600, dtype=np.int16))
        clock.now += 0.1
    assert steady.gap_warning() is None


def test_bad_chunks_are_clear_errors(tmp_path):
    session = live.LiveSession(clock=Clock())
    with pytest.raises(ValueError, match="shape"):
        session.feed(16000, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="sample rate"):
        session.feed(100, np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        session.feed(16000, np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="nothing recorded"):
        session.clip()
    text = tmp_path / "chunk.wav"
    text.write_text("not audio")
    with pytest.raises(ValueError, match="not readable audio"):
        live.read_chunk(text)


def test_read_chunk_reads_past_the_first_chunks_header(tmp_path):
    """The browser sends the first chunk's header (its length fields) followed by all PCM since: read it all."""
    x = tone(220.0, 0.3, 48000)
    first = tmp_path / "first.wav"
    sf.write(first, x[:4800], 48000, subtype="PCM_16")
    header = first.read_bytes()[:44]
    chunk = tmp_path / "chunk.wav"
    chunk.write_bytes(header + x.tobytes())
    rate, samples = live.read_chunk(chunk)
    assert rate == 48000 and np.array_equal(samples, x)


def test_tuner_text():
    assert live.tuner_markdown(None).startswith("### —")
    text = live.tuner_markdown(440 * 2 ** (20 / 1200))
    assert "A4 +20 ct" in text and "440" not in text.split("·")[0]


def test_the_live_status_carries_the_analysis_warnings(model):
    """A clipped microphone and one whose energy lies below the model's range: the session keeps the latest
    analysis's warnings and the Live tab's status line shows them; a clean tone has none."""
    from sotdemo import ui

    pool = live.LivePool()
    cases = {"clipped": np.clip(tone(220.0, 1.0, 48000, level=1.0).astype(np.int32) * 2, -32768, 32767).astype(np.int16),
             "below range": (0.3 * 32767 * np.sin(2 * np.pi * 25.0 * np.arange(48000) / 48000)).astype(np.int16),
             "clean": tone(220.0, 1.0, 48000)}
    expected = {"clipped": "full scale", "below range": "lies below 32.7 Hz", "clean": None}
    for name, audio in cases.items():
        session = pool.open(model)
        for chunk in chunks(audio, 48000):
            session.feed(48000, chunk)
        status = ui._live_status(session, pool)
        if expected[name] is None:
            assert session.warnings == [] and "⚠" not in status
        else:
            assert any(expected[name] in w for w in session.warnings), session.warnings
            assert any(w.startswith("microphone: ") and w in status for w in session.warnings)
        pool.close(session)
