"""The app's computations (sotdemo.views) without a browser: synthesis, analysis, transport, landscape, models."""

import csv

import numpy as np
import pytest
import soundfile as sf

from sotdemo import ot, plots, views
from sotdemo.audio import AudioError
from sotdemo.estimate import Estimate
from sotdemo.losses import sot_positions
from sotdemo.metrics import raw_pitch_accuracy
from sotdemo.voicing import CLEAR_HARMONICITY

SR = 16000


def test_synthesized_tone_has_the_pitch_vibrato_and_noise_asked_for():
    s = views.synthesize(330.0, 8, -6, -120, 0, 0, 1.0)
    spectrum = np.abs(np.fft.rfft(s.audio * np.hanning(len(s.audio))))
    assert abs(np.fft.rfftfreq(len(s.audio), 1 / SR)[np.argmax(spectrum)] - 330) < 2
    assert len(s.true_f0_hz) == 1 + SR // 256 and np.allclose(s.true_f0_hz, 330)
    vib = views.synthesize(330.0, 8, -6, -120, 5, 50, 1.0)
    assert np.isclose(vib.true_f0_hz.max(), 330 * 2 ** (50 / 1200), rtol=1e-3)
    assert np.isclose(vib.true_f0_hz.min(), 330 * 2 ** (-50 / 1200), rtol=1e-3)
    noisy = views.synthesize(330.0, 8, -6, -20, 0, 0, 1.0)
    residual = noisy.audio - s.audio
    assert 0.09 < np.sqrt(np.mean(residual**2) / np.mean(s.audio**2)) < 0.11
    with pytest.raises(ValueError, match="outside 30-4000 Hz"):
        views.synthesize(10.0)


@pytest.fixture
def random_model(app_checkpoints, monkeypatch):
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(app_checkpoints))
    return "random-init"


def test_analyse_writes_the_downloads_and_the_api_data(random_model, tmp_path):
    path = tmp_path / "take 1.wav"
    sf.write(path, views.synthesize(200.0, seconds=1.0).audio, 44100 // 2)  # read as 22.05 kHz: resampled
    clip = views.analyse(path, random_model, out_dir=tmp_path)
    rows = list(csv.reader(open(clip.csv_path)))
    assert rows[0][:5] == ["time_s", "f0_hz", "voiced", "confidence", "harmonicity"] and len(rows) - 1 == len(clip.result.f0_hz)
    np.testing.assert_allclose([float(r[4]) for r in rows[1:]], clip.result.harmonicity, atol=6e-5)  # what voicing used
    wav, rate = sf.read(clip.wav_path)
    assert rate == SR and len(wav) == len(clip.audio) and clip.wav_path.endswith("take_1_resynthesis.wav")
    data = views.pitch_data(clip)
    assert len(data["f0_hz"]) == len(data["voiced"]) == len(clip.result.f0_hz) and data["model"] == random_model
    assert "take 1.wav" in views.summary_markdown(clip)
    figures = views.estimate_figures(clip, log_freq=True)
    assert set(figures) == {"pitch", "amplitudes", "spectrograms"} and figures["spectrograms"].layout.yaxis.type == "log"
    with pytest.raises(AudioError, match="no audio"):
        views.analyse(None, random_model)
    with pytest.raises(ValueError, match="unknown model 'nope'; available: random-init"):
        views.analyse(path, "nope")


def test_cancelling_stereo_warning_reaches_the_api_answer_and_the_summary(random_model, tmp_path):
    """A stereo upload whose right channel is the left one inverted: the `/estimate` API's
    answer (`pitch_data`, what `ui.api_estimate` returns) and the summary both say so."""
    x = 0.5 * np.sin(2 * np.pi * 220.0 * np.arange(SR) / SR)
    path = tmp_path / "inverted.wav"
    sf.write(path, np.stack([x, -x], axis=1), SR, subtype="FLOAT")
    clip = views.analyse(path, random_model, downloads=False)
    warning = ("inverted.wav: the channels cancel when mixed (mono mix silent: one is phase-inverted?); "
               "channel 1 (left) is analysed alone")
    assert warning in views.pitch_data(clip)["warnings"]
    assert f"⚠ {warning}" in views.summary_markdown(clip)
    assert abs(np.sqrt(2 * np.mean(clip.audio**2)) - 0.5) < 0.01  # the tone, not the -96 dBFS mix


def test_voicing_thresholds_reach_the_estimate(tmp_path):
    """The app's voicing sliders: the shipped default model, a clean 220 Hz tone."""
    path = tmp_path / "tone.wav"
    sf.write(path, views.synthesize(220.0, seconds=1.0, noise_db=-80).audio, SR)
    default = views.analyse(path, None, downloads=False)
    assert default.result.voiced.mean() > 0.8
    strict = views.analyse(path, None, downloads=False, min_harmonicity=1.01)
    assert not strict.result.voiced.any()
    confident = views.analyse(path, None, downloads=False, min_confidence=1.01)  # only clearly harmonic frames stay voiced
    assert np.all(confident.result.voiced <= (default.result.voiced & (default.result.harmonicity >= CLEAR_HARMONICITY)))
    gated = views.analyse(path, None, downloads=False, level_db=0.0)  # the tone's frames are below 0 dBFS RMS
    assert not gated.result.voiced.any()
    np.testing.assert_array_equal(strict.result.f0_hz, default.result.f0_hz)  # f0 is always filled in


def test_no_model_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SOTDEMO_CHECKPOINTS", str(tmp_path))
    assert views.default_model() is None
    with pytest.raises(ValueError, match="No trained model is available"):
        views.analyse(tmp_path / "x.wav", None)
    monkeypatch.setattr(views, "RESULTS", tmp_path)
    text = views.models_markdown()
    assert "No trained model is available" in text and "Not yet evaluated" in text and "| sot-2048 | 23.5 / 24.5 (3.5)" in text


def test_models_tab_lists_checkpoints_and_the_reproduced_table(random_model, tmp_path, monkeypatch):
    (tmp_path / "paper_table.md").write_text("# title\n\n| config | LSD ours |\n|---|---|\n| sot-2048 | 20.0 |\n")
    monkeypatch.setattr(views, "RESULTS", tmp_path)
    text = views.models_markdown()
    assert "`random-init`" in text and "| sot-2048 | 20.0 |" in text and "Not yet evaluated" not in text
    table, _ = views.models_summary()  # a checkpoint that is no shipped configuration (random-init) has a row too
    row = next(line for line in table.splitlines() if "random-init" in line)
    assert "†" not in row  # trained on the paper's distribution: no mark


def clip_of(target, prediction, f0=300.0):
    n = 1 + len(target) // 256
    est = Estimate(np.arange(n) * 0.016, np.full(n, f0), np.ones(n, bool), np.ones(n), np.ones((n, 20)), prediction)
    return views.Clip("test", target, est)


@pytest.mark.parametrize("n_fft,logf,cutoff,p", [(2048, False, True, 2), (512, True, False, 1)])
def test_transport_view_w_is_the_plan_cost(n_fft, logf, cutoff, p):
    target = views.synthesize(440.0, 5, -6, -120, 0, 0, 0.5).audio
    pred = views.synthesize(300.0, 5, -6, -120, 0, 0, 0.5).audio
    view = views.transport_view(clip_of(target, pred), 15, n_fft, logf, cutoff, p, n_steps=5)
    a, b = views.frame_spectra(target, pred, 15, n_fft)
    x = sot_positions(n_fft, logf)
    src, dst, mass = ot.plan_indices(a, b, cutoff)
    assert np.isclose(view.w, np.sum(mass * np.abs(x[src] - x[dst]) ** p), rtol=1e-4)
    assert view.w > 1e-4 and f"W{'₁₂'[p - 1]}" in view.text
    assert set(view.figures) == {"plan", "cdf", "coupling", "interpolation"}
    same = views.transport_view(clip_of(target, target), 15, n_fft, logf, cutoff, p, n_steps=3)
    assert same.w < 1e-9
    with pytest.raises(ValueError, match="p must be"):
        views.transport_view(clip_of(target, pred), 15, p=7)


def test_the_cutoffs_missing_mass_is_named_in_the_transport_view():
    target = views.synthesize(440.0, 5, -6, -120, 0, 0, 0.5).audio
    quiet = 0.5 * target  # the prediction holds a quarter of the target's power: 75 % is missing
    with_cutoff = views.transport_view(clip_of(target, quiet), 15, cutoff=True, n_steps=3)
    assert "75 % less mass than the target" in with_cutoff.text and "not spectral content" in with_cutoff.text
    assert "less mass" not in views.transport_view(clip_of(target, quiet), 15, cutoff=False, n_steps=3).text
    assert "less mass" not in views.transport_view(clip_of(target, target), 15, cutoff=True, n_steps=3).text
    loud = 2.0 * target  # four times the target's power: 300 % more, the part above the target's total is not transported
    assert "300 % more mass than the target" in views.transport_view(clip_of(target, loud), 15, cutoff=True, n_steps=3).text
    assert "more mass" not in views.transport_view(clip_of(target, loud), 15, cutoff=False, n_steps=3).text


def test_frame_spectra_window_is_centred_on_the_frame():
    audio = np.zeros(40000, dtype=np.float32)
    audio[100 * 256] = 1.0  # a click at frame 100
    a, _ = views.frame_spectra(audio, audio, 100, 512)
    b, _ = views.frame_spectra(audio, audio, 110, 512)  # 2560 samples away: outside the window
    assert a.sum() > 0 and b.sum() == 0


@pytest.mark.slow
def test_sot_descends_to_the_target_where_lin_does_not():
    race = views.descent_race(440.0, 120.0, 5, ["SOT-2048 (transport term only)", "LIN"], steps=60)
    cents = {name: abs(1200 * np.log2(path[-1] / 440)) for name, path in race.items()}
    assert cents["SOT-2048 (transport term only)"] < 100 and cents["LIN"] > 300
    assert all(len(path) == 61 and path[0] == 120 for path in race.values())


def test_landscape_gradient_points_to_the_target_for_sot():
    grid, curves = views.landscape_curves(440.0, 5, ["SOT-2048 (transport term only)", "MSS"], n_points=60)
    far = np.abs(12 * np.log2(grid / 440)) > 0.5
    toward = {name: np.mean(np.sign(-g[far]) == np.sign(440 - grid[far])) for name, (_, g) in curves.items()}
    assert toward["SOT-2048 (transport term only)"] > 0.95 and toward["MSS"] < 0.8
    with pytest.raises(ValueError, match="outside 40-2000 Hz"):
        views.landscape_curves(5000.0, 5, ["MSS"])
    with pytest.raises(ValueError, match="choose losses among"):
        views.landscape_curves(440.0, 5, ["L7"])


def test_the_api_and_the_pitch_figure_carry_harmonicity(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, views.synthesize(196.0, seconds=1.0, noise_db=-80).audio, SR)
    clip = views.analyse(path, None, downloads=False)
    data = views.pitch_data(clip)
    assert len(data["harmonicity"]) == len(data["f0_hz"])
    assert np.median(data["harmonicity"]) > 0.9 and min(data["harmonicity"]) >= 0.0 and max(data["harmonicity"]) <= 1.0
    trace = views.estimate_figures(clip)["pitch"].data[1]
    np.testing.assert_allclose(np.asarray(trace.customdata, dtype=float), clip.result.harmonicity)
    assert "harmonicity" in trace.hovertemplate and "harmonicity" in views.summary_markdown(clip)


def test_the_best_harmonic_fit_is_shown_beside_the_resynthesis(tmp_path):
    """The summary and the API give the LSD of the least-squares harmonic fit at the estimated f0
    (the synthesizer's limit), computed independently here from the clip's f0 and voicing."""
    import torch

    from sotdemo.metrics import lsd
    from sotdemo.oracle import harmonic_fit
    from sotdemo.synth import harmonic_synth

    path = tmp_path / "tone.wav"
    sf.write(path, views.synthesize(262.0, seconds=1.0, noise_db=-60).audio, SR)
    clip = views.analyse(path, None, downloads=False)
    r = clip.result
    on = np.flatnonzero(r.voiced)
    amplitudes = np.zeros_like(r.amplitudes)
    amplitudes[on] = harmonic_fit(clip.audio, r.f0_hz, on, n_harmonics=r.amplitudes.shape[1])[1]
    fit = harmonic_synth(torch.from_numpy(r.f0_hz)[None], torch.from_numpy(amplitudes)[None], len(clip.audio), SR, 256)[0].float()
    assert clip.fit_lsd_db == pytest.approx(float(lsd(torch.from_numpy(clip.audio), fit)), rel=1e-3)
    assert views.pitch_data(clip)["fit_lsd_db"] == clip.fit_lsd_db
    assert f"best harmonic fit at this f0: {clip.fit_lsd_db:.1f}" in views.summary_markdown(clip)
    noise = tmp_path / "noise.wav"
    sf.write(noise, 0.05 * np.random.default_rng(3).standard_normal(SR), SR)
    unvoiced = views.analyse(noise, None, downloads=False)
    assert not unvoiced.result.voiced.any() and views.pitch_data(unvoiced)["fit_lsd_db"] is None  # nothing was fitted


def test_a_sung_vowel_is_synthesized_with_its_true_pitch_and_partials(tmp_path):
    vowel = views.synthesize(180, 12, -12, -120, 5, 30, 1.5, source="sung vowel /a/")  # integers, as the app's sliders give
    tone = views.synthesize(180.0, 12, -12, -120, 5.0, 30, 1.5)
    # a voice has every partial whatever the slider says: its truth has as many as the estimate (the slider's 12 for the tone)
    assert vowel.true_amplitudes.shape == (views.VOICE_TRUTH_PARTIALS,) and vowel.true_amplitudes.max() == pytest.approx(1.0)
    assert vowel.true_amplitudes[12] > vowel.true_amplitudes[11]  # /a/'s third formant (2440 Hz) lifts the 13th partial (2340 Hz)
    # /a/ has its first formant near 730 Hz: the 4th partial (720 Hz) stands above the 2nd; a plain -12 dB/oct tone falls
    assert vowel.true_amplitudes[3] > vowel.true_amplitudes[1] and tone.true_amplitudes[3] < tone.true_amplitudes[1]
    spectrum = np.abs(np.fft.rfft(vowel.audio[4000:20000] * np.hanning(16000)))
    hz = np.fft.rfftfreq(16000, 1 / SR)
    peak = lambda f: spectrum[np.abs(hz - f) < 15].max()  # noqa: E731
    assert peak(720) > peak(360)  # the audio has the formant the truth claims
    clip = views.analyse_synthesized(vowel, None)
    assert raw_pitch_accuracy(clip.true_f0_hz, clip.result.f0_hz) > 0.95
    estimated, true = views.amplitude_comparison(clip)
    assert estimated.shape == (20,) and estimated.max() == pytest.approx(1.0) and true is vowel.true_amplitudes
    figure = plots.harmonic_amplitudes_figure(estimated, true)
    assert [t.name for t in figure.data] == ["ground truth", "estimate"]
    with pytest.raises(ValueError, match="source must be one of"):
        views.synthesize(source="whistle")


def test_the_model_menu_is_short_and_starts_with_the_default():
    from sotdemo.model import DEFAULT_MODEL, available

    menu = views.menu_models()
    assert menu[0] == DEFAULT_MODEL and len(menu) == len(set(menu))
    assert all("/" not in name for name in menu) and len(menu) < len(available()) / 3
    configs = {name.split("/")[0] for name in available()}
    assert set(menu) == configs  # every configuration once; its seeds stay loadable by name


def test_the_models_summary_agrees_with_the_evaluated_table():
    """The compact table's means are the ones `sotdemo evaluate` wrote to results/paper_table.md."""
    table = (views.RESULTS / "paper_table.md").read_text()
    written = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[1].isdigit():
            written[cells[0]] = (float(cells[4].split("/")[0]), float(cells[2].split("/")[0]))  # RPA, LSD means
    rows = views.model_rows()
    assert rows[0].name == views.default_model()
    for r in rows:
        if r.name in written:
            assert r.test_rpa == pytest.approx(written[r.name][0], abs=0.051) and r.test_lsd == pytest.approx(written[r.name][1], abs=0.051)
    text, figure = views.models_summary()
    assert len(text.splitlines()) == len(rows) + 5 and len(figure.data) == 4  # header, rule, rows, blank, note, † note
    own = [r.name for r in rows if r.own_split]
    assert "sot-harmonic" in own and "sot-2048-curriculum-nocut" not in own  # realistic-data rows are marked, the paper's are not
    first_cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| ") and not line.startswith("| model")]
    marked = [cell for cell in first_cells if "†" in cell]
    assert len(marked) == len(own) and all(any(name in cell for cell in marked) for name in own)
    assert [name for name in figure.data[0].x if name.endswith(" †")] == [f"{name} †" for name in own]  # the chart marks them too
