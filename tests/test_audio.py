"""Audio loading: formats, bit depths, channels and rates; bad input gets a specific message."""

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
