"""Hardening: hostile files through `audio.load` and the API, the load test's short form, safe
loading and launch settings, and property-based tests (hypothesis) of loading and estimation."""

import functools
import io
import re
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sotdemo.audio import MAX_CHANNELS, MAX_RATE, MIN_RATE, MIN_SECONDS, AudioError, load, prepare

from bench import fuzz
from bench.appserver import AppServer
from sotdemo.model import DEFAULT_MODEL
from test_audio import encode_av, faded_tone

REPO = Path(__file__).resolve().parent.parent

SHIPPED_DEFAULT = any((REPO / "checkpoints").glob(f"{DEFAULT_MODEL}/**/model.safetensors"))


# ----------------------------------------------------------------------------------------------
# The hostile corpus
# ----------------------------------------------------------------------------------------------
CORPUS = fuzz.corpus()


def test_corpus_is_large_and_covers_the_issue():
    names = " ".join(c.name for c in CORPUS)
    assert len(CORPUS) >= 30
    for kind in ("empty", "one_sample", "truncated", "huge_declared", "all_nan", "all_inf", "channels_64", "rate_1hz",
                 "rate_384k", "notes.wav", "page.wav", "archive.wav", "garbage_frames.mp3", "a" * 100, "<img"):
        assert kind in names, kind


@pytest.mark.parametrize("case", CORPUS, ids=[repr(c.name)[1:30] for c in CORPUS])
def test_every_hostile_file_gets_its_specific_outcome_from_load(tmp_path, case):
    path = tmp_path / case.name
    path.write_bytes(case.data)
    error, warnings, _ = fuzz.through_load(path)
    assert fuzz.judge(case, error, warnings, [str(tmp_path)]) == ""
    if error is None:
        loaded = load(path)
        assert loaded.audio.dtype == np.float32 and np.isfinite(loaded.audio).all()
        assert np.abs(loaded.audio).max(initial=0) <= 1.05


def test_judge_can_fail():
    """The corpus check is not vacuous: a wrong message, a path and an unexpected result are caught."""
    case = fuzz.Case("x.wav", b"", r"the file is empty")
    assert fuzz.judge(case, "x.wav: not a readable audio file", [], []) != ""
    assert fuzz.judge(case, "x.wav: the file is empty /srv/app/x", [], ["/srv/app"]) != ""
    assert fuzz.judge(case, None, [], []) != ""
    assert fuzz.judge(fuzz.Case("y.wav", b"", "", ok=True), "y.wav: broken", [], []) != ""


@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_24"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", None)])
def test_block_decoding_equals_decoding_the_whole_file(tmp_path, fmt, subtype):
    """`load` decodes block by block; soundfile reading the file in one call is the reference
    (libsndfile 1.2.2's MP3 decoder returns wrong samples after the first of several reads)."""
    rate = 48000 if subtype == "OPUS" else 16000
    t = np.arange(int(1.5 * rate)) / rate
    stereo = np.stack([0.4 * np.sin(2 * np.pi * 330 * t), 0.3 * np.sin(2 * np.pi * 550 * t)], axis=1)
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, stereo, rate, format=fmt, subtype=subtype)
    whole, _ = sf.read(path, dtype="float32", always_2d=True)
    loaded = load(path, max_seconds=None)
    if rate == 16000:
        np.testing.assert_allclose(loaded.audio, whole.mean(axis=1), atol=1e-6)
    else:
        assert len(loaded.audio) == round(len(whole) * 16000 / rate)
    assert loaded.original_channels == 2 and not loaded.warnings


@pytest.mark.slow
def test_a_small_file_declaring_much_audio_costs_only_sixty_seconds_of_mono(tmp_path):
    path = tmp_path / "bomb.flac"
    sf.write(path, np.zeros((192000 * 70, 8), np.int16), 192000, subtype="PCM_16")  # 70 s, 8 channels
    assert path.stat().st_size < 1_000_000
    loaded = load(path)
    assert loaded.truncated and len(loaded.audio) == 60 * 16000 and loaded.original_channels == 8


# ----------------------------------------------------------------------------------------------
# Hostile files that reach FFmpeg (what libsndfile does not recognise goes to PyAV)
# ----------------------------------------------------------------------------------------------
@functools.cache
def _m4a(faststart: bool) -> bytes:
    """3 s of a 220 Hz tone as AAC in MP4, the index (moov) first (as phones write) or last (ffmpeg's default)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.m4a"
        encode_av(path, faded_tone(44100, 3.0), 44100, "aac", options={"movflags": "+faststart"} if faststart else None)
        return path.read_bytes()


def _written_by_pyav(tmp_path: Path, name: str, write) -> bytes:
    path = tmp_path / f"made-{name}"
    write(path)
    return path.read_bytes()


def _pcm_mkv(rate: int):
    def write(path):
        import av

        with av.open(str(path), "w", format="matroska") as out:
            stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
            frame = av.AudioFrame.from_ndarray(np.zeros((1, rate // 2), np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, 0
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    return write


def _video_only(path):
    from test_audio import write_video_only

    write_video_only(path, frames=5, container="matroska")


def _png(width: int, height: int) -> bytes:
    """A valid grey PNG image (FFmpeg has image demuxers; none may read an upload)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = zlib.compress(b"".join(b"\x00" + bytes([128] * width) for _ in range(height)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def ffmpeg_corpus(tmp_path: Path) -> list[fuzz.Case]:
    """Files libsndfile does not recognise, so that FFmpeg gets them: damaged and hostile containers,
    and files that name other files (a playlist, a concat list naming a readable WAV, which must not be read)."""
    rng = np.random.default_rng(1)
    (tmp_path / "referenced.wav").write_bytes(fuzz.encode(fuzz.tone(1.0)))
    encode_av(tmp_path / "segment.ts", faded_tone(48000), 48000, "aac")
    late, early = _m4a(False), _m4a(True)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("word/document.xml", "<w/>" * 100)
    png = _png(8, 8)
    return [
        fuzz.Case("late_index_cut.m4a", late[: len(late) // 2], fuzz.NOT_AUDIO, what="m4a cut before its index"),
        fuzz.Case("header_then_noise.mp4", early[:200] + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(), fuzz.NOT_AUDIO,
                  what="MP4 header, then random bytes"),
        fuzz.Case("noise_in_the_middle.m4a", early[: len(early) // 2] + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
                  + early[len(early) // 2 + 3000:], r"is damaged after 1\.\d+ s", ok=True, what="3 kB of noise in an m4a"),
        fuzz.Case("early_index_cut.m4a", early[: len(early) // 2], r"is damaged after 1\.\d+ s|ends early", ok=True,
                  what="m4a (index first) cut in half"),
        fuzz.Case("playlist.m3u8", b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nsegment.ts\n#EXT-X-ENDLIST\n",
                  fuzz.NOT_AUDIO, what="HLS playlist naming a readable MPEG-TS file"),
        fuzz.Case("list.m4a", b"ffconcat version 1.0\nfile referenced.wav\n", fuzz.NOT_AUDIO,
                  what="concat list naming a readable WAV"),
        fuzz.Case("stream.sdp", b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 96\n"
                  b"a=rtpmap:96 L16/16000/1\n", fuzz.NOT_AUDIO, what="SDP (would listen on a port)"),
        fuzz.Case("picture.mp4", png, fuzz.NOT_AUDIO, what="a PNG named .mp4"),
        fuzz.Case("document.m4a", zipped.getvalue(), fuzz.NOT_AUDIO, what="a zip (office document) named .m4a"),
        fuzz.Case("rate_384k.mkv", _written_by_pyav(tmp_path, "rate.mkv", _pcm_mkv(384000)),
                  r"sample rate 384000 Hz is outside 1000-192000 Hz", what="PCM in Matroska at 384 kHz"),
        fuzz.Case("no_sound.mkv", _written_by_pyav(tmp_path, "video.mkv", _video_only),
                  r"no audio stream \(a video without sound\?\)", what="video only"),
    ]


def test_hostile_files_reaching_ffmpeg_get_specific_outcomes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the playlist's and the list's relative names point
    for case in ffmpeg_corpus(tmp_path):
        path = tmp_path / case.name
        path.write_bytes(case.data)
        start = time.perf_counter()
        error, warnings, _ = fuzz.through_load(path)
        assert time.perf_counter() - start < 10, case.name
        assert fuzz.judge(case, error, warnings, [str(tmp_path)]) == "", case.name


def test_ffmpeg_never_opens_a_second_file(tmp_path, monkeypatch):
    """Playlists and concat lists are not among the allowed demuxers; were they, FFmpeg still may
    open no other file. Plain PyAV reads what they name (the check is not vacuous)."""
    import av

    from sotdemo import audio

    monkeypatch.chdir(tmp_path)
    cases = [c for c in ffmpeg_corpus(tmp_path) if c.name in ("playlist.m3u8", "list.m4a")]
    monkeypatch.setattr(audio, "_DEMUXERS", audio._DEMUXERS + ",hls,concat")
    for case in cases:
        path = tmp_path / case.name
        path.write_bytes(case.data)
        with av.open(str(path)) as container:
            assert sum(frame.samples for frame in container.decode(audio=0)) >= 16000  # 1 s, at 16 or 48 kHz
        with pytest.raises(AudioError, match=f"^{re.escape(case.name)}: " + fuzz.NOT_AUDIO):
            load(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["late.m4a", "early.m4a"]), cut=st.floats(0.0, 1.0), tail=st.binary(max_size=2000),
       flips=st.lists(st.integers(0, 60000), max_size=20))
def test_damaged_ffmpeg_files_give_a_result_or_an_audio_error(tmp_path, kind, cut, tail, flips):
    """An MP4 cut anywhere, bits flipped anywhere, arbitrary bytes after: a clean result or an AudioError."""
    base = bytearray(_m4a(kind.startswith("early")))
    for position in flips:
        base[position % len(base)] ^= 0x5A
    path = tmp_path / kind
    path.write_bytes(bytes(base[: int(cut * len(base))]) + tail)
    loaded = _loads_or_says_why(path, tmp_path)
    assert loaded is None or np.abs(loaded.audio).max(initial=0) <= 1.05


def _loads_or_says_why(path, folder):
    """`load(path)`: clean samples, or an AudioError naming the file and not the folder (then None)."""
    try:
        loaded = load(path)
    except AudioError as error:
        assert str(error).startswith(f"{path.name}: ") and str(folder) not in str(error)
        return None
    assert np.isfinite(loaded.audio).all() and len(loaded.audio) >= MIN_SECONDS * 16000 - 1
    return loaded


# ----------------------------------------------------------------------------------------------
# The app under hostile input (one server with a short cache time-to-live)
# ----------------------------------------------------------------------------------------------
API_SAMPLE = ["empty.wav", "one_sample.wav", "rate_384k.wav", "channels_64.wav", "all_nan.wav", "page.wav", "archive.wav",
              "truncated.flac", "garbage_frames.mp3", "<img src=x onerror=alert('1')>.wav", fuzz.LONG_NAME, "huge_floats.wav"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, app_checkpoints):
    directory = tmp_path_factory.mktemp("hardening-server")
    app = AppServer(directory, ["--cache-ttl", "3"], env={"SOTDEMO_CHECKPOINTS": str(app_checkpoints)}).start()
    yield app
    app.stop()
    assert app.internal_errors() == [], app.log()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=False)


def test_hostile_sample_through_the_api(server, client, tmp_path):
    cases = {c.name: c for c in CORPUS}
    valid = tmp_path / "valid.wav"
    valid.write_bytes(fuzz.encode(fuzz.tone(0.5)))
    for name in API_SAMPLE:
        path = tmp_path / name
        path.write_bytes(cases[name].data)
        error, warnings, _ = fuzz.through_api(client, path, "random-init")
        assert fuzz.judge(cases[name], error, warnings, server.private_paths() + [str(tmp_path)]) == "", name
        alive, _, _ = fuzz.through_api(client, valid, "random-init")
        assert alive is None and server.process.poll() is None, f"after {name}: {alive}"
    # the app leaves no file of its own; gradio's uploads go after the cache time-to-live (3 s here)
    assert server.leftovers() == []
    assert fuzz.wait_for_uploads_deleted(server, API_SAMPLE, 20) == []


def test_api_parameters_do_not_reach_server_files(server, client, tmp_path):
    valid = tmp_path / "valid.wav"
    valid.write_bytes(fuzz.encode(fuzz.tone(0.5)))
    probes = fuzz.api_probes(server, client, valid)
    assert len(probes) == 2 * len(fuzz.SERVER_PATHS) + len(fuzz.BAD_MODELS)
    assert [p for p in probes if p["verdict"]] == []


def test_upload_over_the_limit_is_refused_and_the_server_goes_on(server, client, tmp_path):
    from gradio_client import handle_file

    from sotdemo.ui import MAX_UPLOAD_MB

    big = tmp_path / "big.wav"
    with open(big, "wb") as f:
        f.truncate((MAX_UPLOAD_MB + 1) * 2**20)
    limit = MAX_UPLOAD_MB * 2**20
    with pytest.raises(Exception, match=f"exceeds the maximum file size of {limit} bytes"):  # gradio_client checks first
        client.predict(handle_file(str(big)), "random-init", api_name="/estimate")
    import httpx

    with open(big, "rb") as f:  # the server enforces it too
        answer = httpx.post(server.url + "gradio_api/upload", files={"files": ("big.wav", f)}, timeout=120)
    assert answer.status_code == 413 and f"maximum allowed size of {limit} bytes" in answer.text
    valid = tmp_path / "valid.wav"
    valid.write_bytes(fuzz.encode(fuzz.tone(0.5)))
    assert fuzz.through_api(client, valid, "random-init")[0] is None


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_server_listens_on_loopback_only(server):
    address = _outward_address()
    if address is None:
        pytest.skip("no non-loopback interface")
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection((address, port), timeout=2).close()
    socket.create_connection(("127.0.0.1", port), timeout=2).close()


# ----------------------------------------------------------------------------------------------
# The load test, short form
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_load_test_short_form(tmp_path, app_checkpoints):
    out = tmp_path / "load.md"
    command = [sys.executable, str(REPO / "bench" / "load_test.py"), "--clients", "2", "--requests", "3", "--warmup", "1",
               "--max-seconds", "3", "--pool", "6", "--rss-growth", "0.5", "--settle", "1", "--out", str(out)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "SOTDEMO_CHECKPOINTS": str(app_checkpoints)})
    assert run.returncode == 0, run.stdout + run.stderr
    report = out.read_text()
    assert "| failed requests (error or wrong answer) | **0** |" in report
    assert "2 × 3 = 6 (+ 2 warm-up)" in report
    assert re.search(r"latency p50 / p95 / max .* \*\*[\d.]+ / [\d.]+ / [\d.]+ s\*\*", report)


def test_load_test_counts_wrong_answers():
    from bench.load_test import Clip, check_answer

    clip = Clip(Path("x.wav"), 2.0, 220.0, "wav")
    good = {"duration_s": 2.0, "f0_hz": [0.0] * 126, "voiced": [True] * 126, "times_s": [0.0] * 126}
    assert check_answer(good, clip) == ""
    assert "frames" in check_answer({**good, "f0_hz": [0.0] * 125}, clip)
    assert "duration" in check_answer({**good, "duration_s": 1.0}, clip)


# ----------------------------------------------------------------------------------------------
# Safe loading and launch settings
# ----------------------------------------------------------------------------------------------
def test_no_pickle_anywhere_in_the_package():
    package = REPO / "sotdemo"
    pattern = re.compile(r"torch\.load\(|import pickle|from pickle|allow_pickle\s*=\s*True|joblib|dill")
    offenders = [p.name for p in package.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_models_load_only_by_known_name_from_the_checkpoint_root(tmp_path, monkeypatch):
    import torch

    from sotdemo.config import load_config
    from sotdemo.model import HarmonicModel, available, load, resolve, save

    root, outside = tmp_path / "root", tmp_path / "outside"
    torch.manual_seed(0)
    save(HarmonicModel(load_config("sot-2048")), root / "good")
    save(HarmonicModel(load_config("sot-2048")), outside / "evil")
    (root / "linked").symlink_to(outside / "evil")
    torch.save({"x": 1}, root / "pickled.pt")  # a pickle lying in the root is never a model
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(root))
    assert available() == ["good"]
    assert load("good").encoder is not None
    for name, message in [("linked", "unknown model"), ("../outside/evil", "invalid model name"),
                          (str(outside / "evil"), "invalid model name"), ("pickled.pt", "unknown model"),
                          ("good/../good", "invalid model name"), ("y" * 500, "invalid model name")]:
        with pytest.raises(ValueError, match=message):
            resolve(name)


def test_launch_binds_loopback_without_share_and_caps_uploads(monkeypatch):
    import app

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    from sotdemo.ui import MAX_UPLOAD_MB, QUEUE_SIZE, WORKERS

    options = app.launch_options(app.parse_args([]))
    assert options["server_name"] == "127.0.0.1" and options["share"] is False
    assert options["max_file_size"] == f"{MAX_UPLOAD_MB}mb"
    assert app.launch_options(app.parse_args(["--host", "0.0.0.0"]))["server_name"] == "0.0.0.0"
    args = app.parse_args([])
    assert (args.workers, args.queue_size) == (WORKERS, QUEUE_SIZE)
    with pytest.raises(SystemExit):
        app.parse_args(["--workers", "0"])


def test_every_computing_event_shares_one_bounded_pool(tmp_path, monkeypatch):
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(tmp_path))
    from sotdemo import ui

    demo = ui.build(workers=3, cache_ttl_s=120)
    by_name = {d.fn.__name__: d for d in demo.fns.values() if d.fn is not None}
    for name in ("run_estimate", "add_pyin", "redraw", "run_synthesize", "run_transport", "run_landscape", "run_race",
                 "api_estimate", "live_stream", "live_keep", "first_estimate", "first_synthesis", "first_landscape"):
        assert by_name[name].concurrency_id == "cpu" and by_name[name].concurrency_limit == 3, name
    assert by_name["play_frames"].concurrency_id != "cpu"
    assert by_name["live_stream"].time_limit == ui.LIVE_TIME_LIMIT_S  # a stream holds its slot; it ends
    assert demo.delete_cache == (120, 120)
    assert [b.time_to_live for b in demo.blocks.values() if type(b).__name__ == "State"] == [120, 120]  # the clip, the live session


def test_heavy_parameters_are_bounded():
    from sotdemo import views

    with pytest.raises(ValueError, match="iterations must be 1-500"):
        views.descent_race(440, 220, 5, ["LIN"], steps=10_000)
    with pytest.raises(ValueError, match="choose losses among"):
        views.descent_race(440, 220, 5, ["no such loss"], steps=5)
    with pytest.raises(ValueError, match="duration 600 s is outside"):
        views.synthesize(seconds=600)


# ----------------------------------------------------------------------------------------------
# Property-based tests
# ----------------------------------------------------------------------------------------------
RATES = st.sampled_from([1, 999, MIN_RATE, 8000, 11025, 16000, 22050, 44100, 48000, MAX_RATE, MAX_RATE + 1, 384000])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def sample_arrays(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8]))
    channels = draw(st.integers(1, MAX_CHANNELS + 2))
    n = draw(st.integers(0, 6000))
    if np.dtype(dtype).kind == "f":
        elements = st.one_of(st.floats(-(2.0**100), 2.0**100, width=np.dtype(dtype).itemsize * 8),
                             st.sampled_from([np.nan, np.inf, -np.inf]))
    else:
        elements = None
    data = draw(hnp.arrays(dtype, (n, channels), elements=elements, fill=elements))
    return data


@FEW
@given(data=sample_arrays(), rate=RATES)
def test_prepare_returns_clean_mono_16k_or_a_specific_error(data, rate):
    n, channels = data.shape
    finite = np.isfinite(data.astype(np.float64))  # prepare counts non-finite samples, not frames
    expected_errors = []
    if not MIN_RATE <= rate <= MAX_RATE:
        expected_errors.append(f"sample rate {rate} Hz is outside")
    if channels > MAX_CHANNELS:
        expected_errors.append(f"{channels} channels is more than")
    if n == 0:
        expected_errors.append("no samples")
    elif n < MIN_SECONDS * rate:
        expected_errors.append("is too short")
    try:
        loaded = prepare(data, rate, name="clip.wav")
    except AudioError as error:
        message = str(error)
        assert message.startswith("clip.wav")
        assert any(e in message for e in expected_errors) or (
            not expected_errors and "NaN or infinite" in message and 1 - finite.mean() > 0.5), message
        return
    assert not expected_errors, f"accepted although: {expected_errors}"
    assert 1 - finite.mean() <= 0.5
    kept = min(n, int(60 * rate))
    assert loaded.audio.dtype == np.float32 and loaded.audio.ndim == 1
    assert abs(len(loaded.audio) - kept * 16000 / rate) <= 1
    assert np.isfinite(loaded.audio).all() and np.abs(loaded.audio).max() <= 1.5  # resampling may ring a little
    assert loaded.original_channels == channels and loaded.original_seconds == pytest.approx(n / rate)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ints=hnp.arrays(np.int16, st.tuples(st.integers(800, 20000), st.integers(1, 4))),
       fmt=st.sampled_from(["WAV", "FLAC"]))
def test_load_gives_the_channel_mean_of_what_was_written(tmp_path, ints, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, ints, 16000, format=fmt, subtype="PCM_16")
    loaded = load(path)
    truth = ints.astype(np.float64).mean(axis=1) / 32768  # PCM_16 full scale
    peak = np.abs(truth).max()
    expected = truth / peak if peak > 1 else truth
    np.testing.assert_allclose(loaded.audio, expected, atol=1e-6)
    assert loaded.original_channels == ints.shape[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(["wav", "flac", "mp3", "ogg"]), cut=st.floats(0.0, 1.0), tail=st.binary(max_size=2000))
def test_damaged_files_load_or_raise_audio_error_only(tmp_path, prefix, cut, tail):
    """A real file cut anywhere and followed by arbitrary bytes: a clean result or an AudioError."""
    base = fuzz.encode(fuzz.tone(0.3), fmt={"wav": "WAV", "flac": "FLAC", "mp3": "MP3", "ogg": "OGG"}[prefix])
    path = tmp_path / f"x.{prefix}"
    path.write_bytes(base[: int(cut * len(base))] + tail)
    _loads_or_says_why(path, tmp_path)


@pytest.mark.skipif(not SHIPPED_DEFAULT, reason="no shipped default model")
@settings(max_examples=25, deadline=None)
@given(audio=hnp.arrays(np.float32, st.integers(1, 12000), elements=st.floats(-1, 1, width=32)),
       scale=st.sampled_from([0.0, 1e-6, 0.01, 1.0]))
def test_estimate_gives_one_sane_row_per_frame(audio, scale):
    from sotdemo.audio import MIN_SECONDS, AudioError
    from sotdemo.estimate import estimate

    audio = audio * np.float32(scale)
    if len(audio) < MIN_SECONDS * 16000:  # checked as uploads are: too short to hold two periods of the lowest pitch
        with pytest.raises(AudioError, match="too short"):
            estimate(audio, 16000)
        return
    r = estimate(audio, 16000)
    frames = 1 + len(audio) // 256
    assert len(r.times_s) == len(r.f0_hz) == len(r.voiced) == len(r.confidence) == len(r.amplitudes) == frames
    np.testing.assert_allclose(r.times_s, np.arange(frames) * 0.016, atol=1e-9)
    assert np.isfinite(r.f0_hz).all() and (r.f0_hz > 20).all() and (r.f0_hz < 8000).all()
    assert ((r.confidence >= 0) & (r.confidence <= 1 + 1e-6)).all() and r.voiced.dtype == bool
    assert np.isfinite(r.amplitudes).all() and (r.amplitudes >= 0).all()
    assert (r.amplitudes[~r.voiced] == 0).all()  # unvoiced frames carry no harmonic energy
    assert r.resynthesis.shape == audio.shape and np.isfinite(r.resynthesis).all()
    if scale <= 1e-6:  # at most -120 dBFS: below the -50 dB level gate everywhere
        assert not r.voiced.any() and (r.amplitudes == 0).all()
