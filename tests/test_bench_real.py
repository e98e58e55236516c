"""The real-audio benchmark: its scoring against mir_eval, its ground truth, its pitch check of
rendered GM presets, and its quick form end to end (those two need fluidsynth, sox and FluidR3)."""


import mir_eval
import numpy as np
import pytest

mido = pytest.importorskip("mido", reason="mido writes the benchmark's MIDI files (requirements-dev.txt)")

from bench import bench_real, real_corpus  # noqa: E402
from bench.real_corpus import SAMPLE_RATE, Note, Track  # noqa: E402

needs_tools = pytest.mark.skipif(bool(real_corpus.tools_available()), reason=f"missing: {', '.join(real_corpus.tools_available())} (apt-get install fluidsynth fluid-soundfont-gm sox)")


def test_score_matches_mir_eval_on_known_errors():
    """100 steady frames at 220 Hz: 80 right (within 20 cents), 10 an octave up, 10 a semitone off;
    10 of them called unvoiced. 50 silence frames, 5 called voiced. 7 unscored frames, all wrong."""
    ref = np.r_[np.full(100, 220.0), np.zeros(50), np.full(7, 220.0)]
    est = np.r_[np.full(80, 220.0 * 2 ** (20 / 1200)), np.full(10, 440.0), np.full(10, 220.0 * 2 ** (1 / 12)), np.full(50, 300.0), np.full(7, 900.0)]
    voiced = np.r_[np.ones(90, bool), np.zeros(10, bool), np.ones(5, bool), np.zeros(45, bool), np.ones(7, bool)]
    category = np.r_[np.ones(100, int), np.zeros(50, int), np.full(7, -1)]
    s = bench_real.score(ref, est, voiced, category)
    assert s["rpa"] == pytest.approx(0.80)
    assert s["rca"] == pytest.approx(0.90)
    assert s["recall"] == pytest.approx(0.90)
    assert s["fa"] == pytest.approx(0.10)
    # mir_eval's own pipeline on the scored frames (10 ms grid, unvoiced estimates as negative f0).
    scored = category >= 0
    times = np.arange(scored.sum()) * 0.01
    est_signed = np.where(voiced, est, -est)[scored]
    reference = mir_eval.melody.evaluate(times, ref[scored], times, est_signed)
    assert s["rpa"] == pytest.approx(reference["Raw Pitch Accuracy"])
    assert s["rca"] == pytest.approx(reference["Raw Chroma Accuracy"])
    assert s["recall"] == pytest.approx(reference["Voicing Recall"])
    assert s["fa"] == pytest.approx(reference["Voicing False Alarm"])


def _track_with(notes: list[Note], seconds: float, hz: float = 220.0) -> Track:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    clean = np.zeros_like(t)
    for n in notes:
        on = (t >= n.onset) & (t < n.offset + 0.05)  # a 50 ms tail after the note-off
        clean[on] = 0.3 * np.sin(2 * np.pi * hz * t[on])
    return Track("test", "synthetic", "numpy", clean.astype(np.float32), clean.astype(np.float32), notes)


def test_frame_truth_steady_silence_and_unscored():
    notes = [Note(0.5, 1.1, 220.0, 57, "test", "synthetic"), Note(2.0, 3.0, 262.0, 60, "vib", "vibrato", vibrato=True)]
    track = _track_with(notes, 4.0)
    times = np.array([0.1, 0.55, 0.7, 1.08, 1.12, 1.2, 1.6, 2.3, 3.5])
    ref, category, index = bench_real.frame_truth(track, times)
    # 0.1 s: silence; 0.55 attack; 0.7 steady; 1.08 within 50 ms of the note-off; 1.12 and 1.2
    # release tail (sounding within 100 ms); 1.6 silence; 2.3 steady vibrato; 3.5 silence.
    assert category.tolist() == [0, -1, 1, -1, -1, -1, 0, 1, 0]
    assert ref[2] == 220.0 and index[2] == 0 and index[7] == 1
    expected = 262.0 * 2 ** (real_corpus.VIBRATO_DEPTH_CENTS / 1200 * np.sin(2 * np.pi * real_corpus.VIBRATO_RATE_HZ * 0.3))
    assert ref[7] == pytest.approx(expected) and abs(ref[7] - 262.0) > 1.0


def test_harmonic_sum_and_sub_octave_check_on_known_spectra():
    t = np.arange(int(0.6 * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 233.0  # between the nominal's semitones: the estimate must find the true tone, not snap
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 9))
    assert 1200 * abs(np.log2(real_corpus.harmonic_sum_f0(tone, 220.0) / f0)) < 5
    assert real_corpus.sub_octave_db(tone, f0) < -40
    quint = tone + 0.5 * np.sin(2 * np.pi * 1.5 * f0 * t)  # an organ quint: the tone now also reads as f0 / 2
    assert real_corpus.sub_octave_db(quint, f0) > real_corpus.SUB_OCTAVE_LIMIT_DB


@needs_tools
def test_rendered_piano_a4_sounds_at_440_and_a_wrong_label_is_caught(tmp_path):
    spans = [(0.3, 1.3, 69)]
    audio = real_corpus.render_midi(0, spans, 2.0, tmp_path)
    assert audio.shape == (2 * SAMPLE_RATE,) and np.abs(audio).max() > 0.01
    note = Note(0.3, 1.3, 440.0, 69, "Acoustic Grand Piano", "piano")
    check = real_corpus.verify_note(audio, note)
    assert abs(check["pyin_cents"]) <= 50 and abs(check["shs_cents"]) <= 50 and check["keep"]
    wrong = real_corpus.verify_note(audio, Note(0.3, 1.3, 220.0, 57, "Acoustic Grand Piano", "piano"))
    assert not wrong["keep"]
    assert real_corpus._drop_reason(wrong).startswith("sounds +12 semitones")


@pytest.mark.slow
@needs_tools
def test_quick_benchmark_end_to_end(tmp_path):
    out = tmp_path / "bench_real.md"
    assert bench_real.main(["--quick", "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    text = out.read_text()
    summary = text.split("## Summary")[1].split("\n## ")[0]
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in summary.splitlines() if line.startswith("| ") and "real time" not in line}
    pyin = rows["pYIN"]
    assert float(pyin[1]) >= 95.0  # pYIN on clean piano / flute notes: ground truth and frame times line up
    assert any("(default)" in name for name in rows)
    assert "## Corpus" in text and "Pitch check" in text
    # --report-only rewrites the same report from the saved frames, running nothing.
    assert bench_real.main(["--quick", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "again.md"), "--report-only"]) == 0
    assert (tmp_path / "again.md").read_text() == text
    # --update re-runs the selected methods into the saved run, keeps the other rows and says so.
    assert bench_real.main(["--quick", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "updated.md"), "--update", "--only", "pyin"]) == 0
    updated = (tmp_path / "updated.md").read_text()
    assert "Re-run into this table" in updated and "): pYIN; every other row" in updated
    assert [line for line in updated.splitlines() if "(default)" in line][:1] == [line for line in text.splitlines() if "(default)" in line][:1]


def test_every_shipped_checkpoint_is_benchmarked():
    root = bench_real.model_lib.checkpoint_root()
    shipped = sorted(p.parent.relative_to(root).as_posix() for p in root.glob("**/model.safetensors"))
    assert sorted(bench_real.shipped_models()) == shipped


def test_local_decoding_ignores_a_second_posterior_mode():
    """real_decoding's diagnosis: a posterior with 70 % at 200 Hz and 30 % an octave up has its
    soft-argmax between the two (~+360 cents), its local average on the peak."""
    from bench import real_decoding
    import torch

    log2_bins = torch.log2(torch.tensor(50.0 * 2 ** (np.arange(120) / 36)))
    at_200, at_400 = int(round(36 * np.log2(200 / 50))), int(round(36 * np.log2(400 / 50)))
    posterior = torch.full((1, 120), 1e-9)
    posterior[0, at_200], posterior[0, at_400] = 0.7, 0.3
    soft, local = real_decoding.decode(torch.log(posterior), log2_bins, temperature=1.0)
    assert 1200 * np.log2(soft[0] / 200) == pytest.approx(360, abs=5)
    assert local[0] == pytest.approx(200, rel=1e-3)
