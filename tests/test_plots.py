"""Figures: right traces, right data, against values computed here independently."""

import numpy as np

from sotdemo import plots

SR = 16000


def sine(f, seconds=1.0, amplitude=0.5):
    return (amplitude * np.sin(2 * np.pi * f * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def test_spectrogram_peak_sits_at_the_tone_with_its_level():
    spec = plots.spectrogram(sine(1000.0))
    assert spec.db.shape == (len(spec.freqs_hz), len(spec.times_s)) and len(spec.freqs_hz) <= 320
    mid = spec.db[:, len(spec.times_s) // 2]
    assert abs(spec.freqs_hz[np.argmax(mid)] - 1000) < 20
    assert abs(mid.max() - 20 * np.log10(0.5)) <= 1.5  # dB re a full-scale sine
    log = plots.spectrogram(sine(1000.0), log_freq=True)
    assert abs(np.log2(log.freqs_hz[np.argmax(log.db[:, 10])] / 1000)) < 0.05
    long = plots.spectrogram(np.tile(sine(300.0), 60))
    assert len(long.times_s) <= 700 and abs(long.times_s[-1] - 60) < 0.2


def test_pitch_figure_hides_unvoiced_frames_and_overlays_pyin():
    spec = plots.spectrogram(sine(220.0))
    times = np.arange(63) * 0.016
    f0 = np.full(63, 220.0)
    voiced = np.arange(63) < 40
    pyin_f0 = np.where(np.arange(32) < 20, 221.0, np.nan)
    fig = plots.pitch_figure(spec, times, f0, voiced, np.arange(32) * 0.032, pyin_f0, "m")
    kinds = [t.type for t in fig.data]
    assert kinds == ["heatmap", "scatter", "scatter"]
    track = np.asarray(fig.data[1].y, dtype=float)
    assert np.all(track[:40] == 220) and np.all(np.isnan(track[40:]))
    assert fig.data[2].name == "pYIN (librosa)"
    assert fig.layout.yaxis.range[1] >= 4 * 220


def test_amplitude_figure_in_db_and_empty_when_nothing_is_voiced():
    amps = np.zeros((10, 4))
    amps[:, 0], amps[:, 1] = 1.0, 0.1
    fig = plots.amplitude_figure(np.arange(10) * 0.016, amps, np.ones(10, bool))
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (4, 10) and np.allclose(z[0], 0) and np.allclose(z[1], -20)
    empty = plots.amplitude_figure(np.arange(10) * 0.016, amps, np.zeros(10, bool))
    assert not empty.data and "no voiced frame" in empty.layout.annotations[0].text


def test_comparison_figure_links_both_axes():
    a, b = plots.spectrogram(sine(300.0)), plots.spectrogram(sine(600.0))
    fig = plots.comparison_figure(a, b)
    assert [t.type for t in fig.data] == ["heatmap", "heatmap"]
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"
    assert fig.layout.yaxis.matches == "y2" or fig.layout.yaxis2.matches == "y"


def test_transport_figure_draws_each_move_from_source_to_destination():
    freqs = np.linspace(0, 8000, 9)
    target, pred = np.zeros(9), np.zeros(9)
    target[2], pred[1], pred[4] = 1.0, 0.25, 0.75  # 2 kHz <- 1 kHz (moves up), 2 kHz <- 4 kHz (moves down)
    fig = plots.transport_figure(freqs, target, pred, np.array([1, 4]), np.array([2, 2]), np.array([0.25, 0.75]), 8000)
    lines = {t.name: t for t in fig.data if t.name and t.name.startswith("plan")}
    up, down = lines["plan: mass moves up"], lines["plan: mass moves down"]
    assert list(up.x[:2]) == [1000, 2000] and list(down.x[:2]) == [4000, 2000]
    assert list(up.y[:2]) == [-0.15, 0.15]
    assert down.line.width > up.line.width  # more mass, thicker line
    assert "2 heaviest of 2 moves (100.0 % of the mass)" in fig.layout.title.text


def test_coupling_figure_marginals_are_the_two_spectra():
    freqs = np.arange(400) * 10.0
    coupling = np.zeros((400, 400))
    coupling[50, 100], coupling[60, 100], coupling[300, 310] = 0.2, 0.3, 0.5
    fig = plots.coupling_figure(freqs, coupling, fmax_hz=3995, max_cells=100)
    heat, _, top, right = fig.data
    assert heat.type == "heatmap" and top.type == "bar" and right.type == "bar"
    assert np.isclose(np.sum(top.y), 1) and np.isclose(np.sum(right.x), 1)
    assert np.isclose(np.max(top.y), 0.5) and np.isclose(np.asarray(right.x)[50 // 4 : 60 // 4 + 1].sum(), 0.5)


def test_interpolation_figure_has_one_animation_frame_per_time():
    freqs = np.linspace(0, 8000, 50)
    times = np.linspace(0, 1, 5)
    disp, lin = np.random.rand(5, 50), np.random.rand(5, 50)
    fig = plots.interpolation_figure(freqs, times, disp, lin, 8000)
    assert len(fig.frames) == 5 and len(fig.layout.sliders[0].steps) == 5
    np.testing.assert_allclose(fig.frames[-1].data[0].y, disp[-1], rtol=1e-6)
    np.testing.assert_allclose(fig.frames[2].data[1].y, lin[2], rtol=1e-6)


def test_landscape_figure_marks_toward_and_away_steps():
    f0 = np.geomspace(40, 2000, 50)
    bowl = np.log(f0 / 440) ** 2
    grad = 2 * np.log(f0 / 440) / f0  # its exact derivative: descent always moves toward 440 Hz
    fig = plots.landscape_figure(f0, {"bowl": (bowl, grad), "hill": (-bowl, -grad)}, 440)
    heat = [t for t in fig.data if t.type == "heatmap"][0]
    z = np.asarray(heat.z)
    far = np.abs(12 * np.log2(f0 / 440)) >= 0.5
    assert np.all(z[0][far] == 1) and np.all(z[1][far] == -1) and np.all(z[:, ~far] == 0)
    curves = [t for t in fig.data if t.type == "scatter"]
    assert np.isclose(min(curves[0].y), 0) and np.isclose(max(curves[0].y), 1)


def test_race_figure_one_line_per_loss():
    fig = plots.race_figure({"a": np.array([100.0, 200, 400]), "b": np.array([100.0, 90, 80])}, 440)
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].x) == [0, 1, 2]
    assert fig.layout.yaxis.type == "log"
