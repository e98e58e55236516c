"""Audio loading: formats, bit depths, channels and rates; bad input gets a specific message;
channels that cancel when mixed."""

from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile as sf

from sotdemo.audio import AudioError, load, prepare


def tone(rate, seconds=0.5, f=440.0):
    return 0.5 * np.sin(2 * np.pi * f * np.arange(int(rate * seconds)) / rate)


def peak_hz(x, rate=16000):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)]


@pytest.mark.parametrize(
    "fmt,subtype,rate,channels",
    [("wav", "PCM_16", 44100, 2), ("wav", "PCM_24", 48000, 1), ("wav", "FLOAT", 16000, 1), ("wav", "PCM_U8", 8000, 1),
     ("flac", "PCM_16", 22050, 2), ("ogg", "VORBIS", 32000, 1), ("wav", "PCM_32", 96000, 8)],
)
def test_formats_rates_and_channels_load_as_mono_16k(tmp_path, fmt, subtype, rate, channels):
    data = np.repeat(tone(rate)[:, None], channels, axis=1)
    path = tmp_path / f"x.{fmt}"
    sf.write(path, data, rate, subtype=subtype)
    loaded = load(path)
    assert loaded.sample_rate == 16000 and loaded.original_rate == rate and loaded.original_channels == channels
    assert loaded.audio.dtype == np.float32 and loaded.audio.ndim == 1
    assert abs(len(loaded.audio) - 8000) <= 2
    assert abs(peak_hz(loaded.audio) - 440) < 3
    assert 0.4 < np.abs(loaded.audio).max() < 0.6


def test_long_files_are_cut_with_a_warning(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, tone(16000, 70.0), 16000)
    loaded = load(path)
    assert loaded.truncated and len(loaded.audio) == 60 * 16000
    assert "lasts 70.0 s; only the first 60 s are analysed" in loaded.warnings[0]


@pytest.mark.parametrize(
    "content,message",
    [(b"", "the file is empty"), (b"hello, this is text", "not a readable audio file"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a readable audio file")],
)
def test_bad_files_get_specific_messages(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        load(path)


def test_missing_file():
    with pytest.raises(AudioError, match="nope.wav: no such file"):
        load("/nonexistent/nope.wav")


def test_nan_and_silence_and_clipping():
    x = tone(16000)
    x[:100] = np.nan
    loaded = prepare(x, 16000)
    assert np.isfinite(loaded.audio).all() and "NaN/infinite samples were set to 0" in loaded.warnings[0]
    with pytest.raises(AudioError, match="100 % of the samples are NaN"):
        prepare(np.full(1000, np.nan), 16000)
    assert prepare(np.zeros(1000), 16000).audio.max() == 0
    assert "clipped" in prepare(np.clip(3 * x[100:], -1, 1), 16000).warnings[0]
    with pytest.raises(AudioError, match="sample rate 1 Hz is outside"):
        prepare(x, 1)
    with pytest.raises(AudioError, match="no samples"):
        prepare(np.zeros((0, 2)), 16000)


@pytest.mark.parametrize(
    "fmt,subtype,rate,channels",
    [("mp3", "MPEG_LAYER_III", 44100, 2), ("mp3", "MPEG_LAYER_III", 22050, 1), ("wav", "DOUBLE", 11025, 6),
     ("flac", "PCM_24", 96000, 1), ("ogg", "OPUS", 48000, 2), ("wav", "PCM_16", 8000, 1), ("aiff", "PCM_16", 44100, 2)],
)
def test_more_formats_rates_and_channels(tmp_path, fmt, subtype, rate, channels):
    data = np.repeat(tone(rate, 1.0)[:, None], channels, axis=1)
    path = tmp_path / f"x.{fmt}"
    sf.write(path, data, rate, subtype=subtype)
    loaded = load(path)
    assert loaded.original_rate == rate and loaded.original_channels == channels
    assert abs(len(loaded.audio) - 16000) <= 1200  # mp3 and opus add encoder delay/padding
    assert abs(peak_hz(loaded.audio) - 440) < 3
    assert 0.4 < np.abs(loaded.audio).max() < 0.6


def test_truncated_file_loads_what_is_there(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, tone(16000, 1.0), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: 44 + 16000])  # header + 0.5 s of 16-bit samples
    loaded = load(path)
    assert abs(len(loaded.audio) - 8000) <= 1
    assert abs(peak_hz(loaded.audio) - 440) < 3


def test_random_bytes_and_header_only(tmp_path):
    noise = tmp_path / "noise.flac"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="noise.flac: not a readable audio file"):
        load(noise)
    header = tmp_path / "header.wav"
    sf.write(header, tone(16000, 0.1), 16000, subtype="PCM_16")
    header.write_bytes(header.read_bytes()[:44])
    with pytest.raises(AudioError, match="header.wav: (the file contains no samples|not a readable audio file)"):
        load(header)


def test_nan_filled_float_file(tmp_path):
    path = tmp_path / "nan.wav"
    sf.write(path, np.full(8000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: 100 % of the samples are NaN or infinite"):
        load(path)
    x = tone(16000).astype(np.float32)
    x[::100] = np.inf
    sf.write(path, x, 16000, subtype="FLOAT")
    loaded = load(path)
    assert np.isfinite(loaded.audio).all() and "1 % NaN/infinite samples were set to 0" in loaded.warnings[0]


def test_ten_minute_file_reads_only_the_first_minute(tmp_path):
    path = tmp_path / "ten_minutes.wav"
    sf.write(path, np.tile(tone(8000, 1.0), 600).astype(np.float32), 8000, subtype="PCM_16")
    loaded = load(path)
    assert loaded.truncated and loaded.original_seconds == 600.0 and len(loaded.audio) == 60 * 16000
    assert "lasts 600.0 s; only the first 60 s are analysed" in loaded.warnings[0]


# ----------------------------------------------------------------------------------------------
# What libsndfile does not read goes through FFmpeg (PyAV)
# ----------------------------------------------------------------------------------------------
def faded_tone(rate, seconds=1.0, f=220.0, level=0.5):
    """A sine with 20 ms fades (an abrupt onset makes lossy codecs overshoot)."""
    t = np.arange(int(rate * seconds)) / rate
    return level * np.sin(2 * np.pi * f * t) * np.minimum(1, np.minimum(t, seconds - t) / 0.02)


def encode_av(path, audio, rate, codec, video=False, options=None):
    """Write `audio` ([samples] or [samples, channels] in [-1, 1]) with PyAV's FFmpeg encoder `codec`
    into `path` (container from the extension); `video`: a 10 fps picture stream first, as in a phone's video."""
    audio = np.asarray(audio, dtype=np.float32).reshape(len(audio), -1)
    layout = {1: "mono", 2: "stereo"}.get(audio.shape[1], f"{audio.shape[1]}c")
    with av.open(str(path), "w", options=options or {}) as out:
        picture = out.add_stream("mpeg4", rate=10) if video else None
        sound = out.add_stream(codec, rate=rate, layout=layout)
        if codec in ("aac", "wmav2"):
            sound.bit_rate = 64000 * audio.shape[1]
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
            for i in range(max(1, int(10 * len(audio) / rate))):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i % 256, np.uint8), format="rgb24")
                frame.pts = i
                out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio.T), format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        out.mux(sound.encode(frame))
        out.mux(sound.encode(None))


def level(x):
    """Amplitude of a sine from its RMS, away from the fades."""
    return float(np.sqrt(2 * np.mean(x[2000:-2000] ** 2)))


@pytest.mark.parametrize(
    "name,codec,rate,channels,video,lossy",
    [("x.m4a", "aac", 44100, 2, False, True), ("x.webm", "libopus", 48000, 1, False, True),
     ("phone.mp4", "aac", 44100, 2, True, True), ("phone.mov", "aac", 48000, 1, True, True),
     ("screen.mkv", "libopus", 48000, 2, True, True), ("x.wma", "wmav2", 44100, 2, False, True),
     ("x.amr", "libopencore_amrnb", 8000, 1, False, True), ("x.aac", "aac", 22050, 1, False, True),
     ("x.mka", "flac", 96000, 1, False, False), ("alac.m4a", "alac", 32000, 2, False, False)],
)
def test_what_libsndfile_cannot_read_goes_through_ffmpeg(tmp_path, name, codec, rate, channels, video, lossy):
    path = tmp_path / name
    encode_av(path, np.repeat(faded_tone(rate)[:, None], channels, axis=1), rate, codec, video)
    with pytest.raises(sf.LibsndfileError):  # this is FFmpeg's work
        sf.info(path)
    loaded = load(path)
    assert loaded.original_rate == rate and loaded.original_channels == channels and loaded.warnings == []
    assert loaded.audio.dtype == np.float32 and loaded.sample_rate == 16000
    tolerance = 0.1 if lossy else 1 / rate  # lossy codecs add priming and padding (AAC 1024 + up to 1024 frames)
    assert abs(len(loaded.audio) / 16000 - 1.0) <= tolerance + 1 / 16000
    assert abs(loaded.original_seconds - 1.0) <= tolerance
    assert abs(peak_hz(loaded.audio) - 220) < 2
    assert abs(level(loaded.audio) - 0.5) < (0.15 if codec == "libopencore_amrnb" else 0.02)  # AMR is a speech codec


@pytest.mark.parametrize("name,codec,options", [("long.m4a", "aac", {}), ("browser.webm", "libopus", {"live": "1"})])
def test_long_ffmpeg_files_are_cut_at_sixty_seconds_with_a_warning(tmp_path, name, codec, options):
    """A 70 s file; the webm is written as a browser records it, without a duration in its header."""
    path = tmp_path / name
    encode_av(path, np.repeat(faded_tone(48000, 70.0)[:, None], 2, axis=1), 48000, codec, options=options)
    with av.open(str(path)) as container:
        assert (container.duration is None) == bool(options)
    loaded = load(path)
    assert loaded.truncated and len(loaded.audio) == 60 * 16000 and loaded.original_channels == 2
    assert loaded.original_seconds == pytest.approx(70.0, abs=0.05)
    assert loaded.warnings == [f"{name} lasts 70.0 s; only the first 60 s are analysed"]
    assert abs(peak_hz(loaded.audio[:16000]) - 220) < 2


def write_video_only(path, frames: int = 10, container: str | None = None) -> None:
    """A black 64x48 MPEG-4 video with no audio stream, `frames` frames at 10 fps."""
    with av.open(str(path), "w", format=container) as out:
        picture = out.add_stream("mpeg4", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(picture.encode(frame))
        out.mux(picture.encode(None))


def test_a_video_without_sound_is_a_clear_error(tmp_path):
    path = tmp_path / "silent film.mp4"
    write_video_only(path)
    with pytest.raises(AudioError, match=r"^silent film.mp4: no audio stream \(a video without sound\?\)$"):
        load(path)


def test_a_damaged_m4a_keeps_what_comes_before_the_damage(tmp_path):
    whole = tmp_path / "whole.m4a"
    encode_av(whole, faded_tone(44100, 3.0), 44100, "aac", options={"movflags": "+faststart"})  # index first, as phones write
    data = whole.read_bytes()
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(data[: len(data) // 2])
    loaded = load(cut)
    assert 1.0 < len(loaded.audio) / 16000 < 2.0 and loaded.original_seconds == pytest.approx(3.0, abs=0.03)
    assert len(loaded.warnings) == 1 and "cut.m4a is damaged after 1." in loaded.warnings[0]
    assert abs(peak_hz(loaded.audio) - 220) < 2
    late_index = tmp_path / "late_index.m4a"  # ffmpeg's default: the index (moov) at the end, cut away here
    encode_av(late_index, faded_tone(44100, 3.0), 44100, "aac")
    late_index.write_bytes(late_index.read_bytes()[:20000])
    with pytest.raises(AudioError, match=r"^late_index.m4a: not a readable audio file \(Format not recognised\)$"):
        load(late_index)


# ----------------------------------------------------------------------------------------------
# Channels that cancel when mixed
# ----------------------------------------------------------------------------------------------
def write_stereo(path, left, right, rate=44100):
    stereo = np.stack([left, right], axis=1)
    if path.suffix == ".m4a":
        encode_av(path, stereo, rate, "aac")
    else:
        sf.write(path, stereo, rate, subtype="FLOAT" if path.suffix == ".wav" else "PCM_16")


@pytest.mark.parametrize("ext", ["wav", "flac", "m4a"])
@pytest.mark.parametrize("gains,channel", [((1.0, -1.0), "channel 1 (left)"), ((-0.8, 1.0), "channel 2 (right)")])
def test_cancelling_channels_are_analysed_through_the_strongest(tmp_path, ext, gains, channel):
    x = faded_tone(44100)
    path = tmp_path / f"inverted.{ext}"
    write_stereo(path, gains[0] * x, gains[1] * x)
    loaded = load(path)
    assert loaded.original_channels == 2 and len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    assert warning.startswith(f"inverted.{ext}: the channels cancel when mixed (mono mix ")
    assert warning.endswith(f" one is phase-inverted?); {channel} is analysed alone")
    assert abs(level(loaded.audio) - 0.5) < 0.02 and abs(peak_hz(loaded.audio) - 220) < 2  # the tone at its level


@pytest.mark.parametrize("ext", ["wav", "flac", "m4a"])
def test_partly_cancelling_silent_and_ordinary_stereo_are_mixed_without_that_warning(tmp_path, ext):
    x = faded_tone(44100)
    for name, left, right, expected in [("partial", x, -0.5 * x, 0.125), ("silent", 0 * x, 0 * x, 0.0), ("ordinary", x, 0.6 * x, 0.4)]:
        path = tmp_path / f"{name}.{ext}"
        write_stereo(path, left, right)
        loaded = load(path)
        assert loaded.warnings == [], name
        assert abs(level(loaded.audio) - expected) < 0.01, name  # the mix's level: the channel mean


def test_prepare_finds_cancelling_channels_in_memory():
    x = faded_tone(16000)
    for data in (np.stack([x, -x], axis=1), (np.stack([-x, x], axis=1) * 32767).astype(np.int16)):
        loaded = prepare(data, 16000, name="mic")
        assert loaded.warnings == [("mic: the channels cancel when mixed (mono mix silent: one is phase-inverted?); "
                                    "channel 1 (left) is analysed alone")]
        assert abs(level(loaded.audio) - 0.5) < 0.01
    four = np.stack([0.2 * x, -0.2 * x, 0 * x, 0.001 * x], axis=1)  # a pair that cancels, the rest near silent
    loaded = prepare(four, 16000, name="array")
    assert loaded.warnings[0].endswith("; channel 1 is analysed alone") and "mono mix " in loaded.warnings[0]
    noise = np.random.default_rng(0).standard_normal((16000, 16)) * 0.1  # unrelated channels mix 12 dB below each
    assert prepare(noise, 16000).warnings == []
    assert prepare(np.stack([x, -0.5 * x], axis=1), 16000).warnings == []
    assert prepare(np.zeros((16000, 2)), 16000).warnings == []


def test_an_array_of_channels_by_samples_is_told_to_transpose():
    stereo = np.zeros((2, 16000), dtype=np.float32)
    with pytest.raises(AudioError, match=r"shape \(2, 16000\).*transpose"):
        prepare(stereo, 16000)
    assert prepare(stereo.T, 16000).audio.shape == (16000,)


@pytest.mark.parametrize("name,rate,seconds,video", [("a.m4a", 16000, 1.37, False), ("b.m4a", 44100, 1.0, False),
                                                     ("phone.mp4", 48000, 2.21, True), ("phone.mov", 22050, 0.83, False)])
def test_an_mp4s_end_padding_is_not_analysed(tmp_path, name, rate, seconds, video):
    """AAC pads its last frame (up to 1024 frames) past the end the MP4 declares; that padding is not the
    recording and is dropped: the file's audio is exactly as long as what was encoded."""
    path = tmp_path / name
    tone = faded_tone(rate, seconds)
    encode_av(path, tone, rate, "aac", video)
    with av.open(str(path)) as container:
        decoded = sum(frame.samples for frame in container.decode(audio=0))
    assert decoded > len(tone)  # FFmpeg decodes the padding too
    loaded = load(path)
    assert loaded.warnings == []
    assert abs(len(loaded.audio) - len(tone) * 16000 / rate) <= 2  # the declared length is exact to a sample; resampling rounds
    assert loaded.original_seconds == pytest.approx(len(tone) / rate, abs=1.5 / rate)
