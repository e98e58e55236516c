"""`python -m sotdemo estimate`: every warning of the loaded audio and of the estimate reaches stderr."""

import csv

import numpy as np
import pytest
import soundfile as sf

from conftest import SHIPPED
from sotdemo.__main__ import main

SR = 16000


@pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
def test_estimate_prints_the_warnings_and_analyses_cancelling_stereo(tmp_path, capsys):
    """Right = -left: the mix is silent; the CLI warns and analyses the left channel (voiced at 220 Hz)."""
    t = np.arange(int(1.5 * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * 220.0 * t) / k for k in range(1, 7))
    x = 0.5 * x / np.abs(x).max()
    path = tmp_path / "inverted.wav"
    sf.write(path, np.stack([x, -x], axis=1), SR, subtype="PCM_16")
    assert main(["estimate", str(path), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"warning: {path}: the channels cancel when mixed (mono mix ")  # 16-bit rounding: ~85 dB
               and line.endswith("one is phase-inverted?); channel 1 (left) is analysed alone") for line in err), err
    assert all(line.startswith("warning: ") for line in err)
    with open(tmp_path / "inverted.csv") as f:
        rows = list(csv.DictReader(f))
    voiced = np.array([float(r["f0_hz"]) for r in rows if r["voiced"] == "1"])
    assert len(voiced) > 0.8 * len(rows)
    assert abs(1200 * np.log2(np.median(voiced) / 220.0)) < 50


def test_estimate_prints_the_estimates_warnings_with_the_file_name(tmp_path, capsys, monkeypatch):
    """Warnings of the estimate (which does not know the file) are printed with the file's name."""
    from sotdemo import estimate as estimate_module
    from sotdemo.estimate import Estimate

    def fake_finish(model, name, clip, *args, **kwargs):
        n = len(clip.spectrum)
        return Estimate(np.arange(n) * 0.016, np.full(n, 220.0), np.ones(n, bool), np.ones(n), np.zeros((n, 20)),
                        np.zeros(len(clip.audio), np.float32), warnings=["something the estimate noticed"])

    monkeypatch.setattr(estimate_module, "_infer_many", lambda model, clips, *args: [(None, None)] * len(clips))
    monkeypatch.setattr(estimate_module, "_finish", fake_finish)
    path = tmp_path / "tone.flac"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 220.0 * np.arange(SR * 70) / SR), SR)  # 70 s: the CLI reads it all, no cut
    assert main(["estimate", str(path), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err.splitlines() == [f"warning: {path}: something the estimate noticed"]


def test_every_input_gets_its_own_csv():
    from sotdemo.__main__ import csv_names

    assert csv_names(["a.wav", "b.flac"]) == ["a.csv", "b.csv"]
    assert csv_names(["a.m4a", "a.webm", "b.mp4"]) == ["a.m4a.csv", "a.webm.csv", "b.csv"]
    assert csv_names(["x/a.wav", "y/a.wav", "z/a.wav"]) == ["a.wav.csv", "a.wav-2.csv", "a.wav-3.csv"]


@pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
def test_same_named_inputs_do_not_overwrite_each_other(tmp_path, capsys):
    t = np.arange(SR) / SR
    for folder, hz in (("one", 220.0), ("two", 330.0)):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "take.wav", 0.3 * np.sin(2 * np.pi * hz * t), SR)
    out = tmp_path / "out"
    assert main(["estimate", str(tmp_path / "one" / "take.wav"), str(tmp_path / "two" / "take.wav"), "--out", str(out)]) == 0
    medians = []
    for name in ("take.wav.csv", "take.wav-2.csv"):
        with open(out / name) as f:
            medians.append(np.median([float(r["f0_hz"]) for r in csv.DictReader(f) if r["voiced"] == "1"]))
    assert abs(medians[0] - 220) < 5 and abs(medians[1] - 330) < 5


def test_help_needs_no_heavy_import_and_the_decoders_agree():
    import subprocess
    import sys

    from sotdemo.__main__ import DECODER_CHOICES, ENGINE_CHOICES
    from sotdemo.engine import ENGINES
    from sotdemo.estimate import DECODERS

    assert DECODER_CHOICES == DECODERS and ENGINE_CHOICES == ENGINES
    code = "import sys; from sotdemo.__main__ import main\ntry:\n    main(['estimate', '--help'])\nexcept SystemExit: pass\nprint(sorted(m for m in ('torch', 'librosa', 'numba') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip().endswith("[]")


@pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
def test_the_resynthesis_is_written_only_when_asked(tmp_path, capsys):
    t = np.arange(SR) / SR
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 220.0 * t), SR)
    assert main(["estimate", str(tmp_path / "tone.wav"), "--out", str(tmp_path / "a")]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["tone.csv"]
    assert main(["estimate", str(tmp_path / "tone.wav"), "--out", str(tmp_path / "b"), "--resynthesis"]) == 0
    audio, rate = sf.read(tmp_path / "b" / "tone.resynthesis.wav")
    assert rate == SR and len(audio) == SR and abs(np.sqrt(np.mean(audio**2)) - 0.3 / np.sqrt(2)) < 0.05


@pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
def test_outputs_never_overwrite_an_input(tmp_path, capsys):
    t = np.arange(SR) / SR
    song = tmp_path / "song.wav"
    sf.write(song, 0.3 * np.sin(2 * np.pi * 220.0 * t), SR, subtype="FLOAT")
    before = song.read_bytes()
    assert main(["estimate", str(song), "--out", str(tmp_path), "--resynthesis"]) == 0  # next to the input, the default
    assert song.read_bytes() == before and (tmp_path / "song.resynthesis.wav").is_file() and (tmp_path / "song.csv").is_file()
    other = tmp_path / "take.resynthesis.wav"
    sf.write(other, 0.3 * np.sin(2 * np.pi * 330.0 * t), SR)
    kept = other.read_bytes()
    assert main(["estimate", str(tmp_path / "take.wav"), str(other), "--out", str(tmp_path), "--resynthesis"]) == 2
    assert "would overwrite an input file" in capsys.readouterr().err and other.read_bytes() == kept


@pytest.mark.slow
@pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
def test_jobs_give_the_same_csvs_and_report_failures_per_file(tmp_path, capsys):
    t = np.arange(SR) / SR
    files = []
    for i, hz in enumerate((110.0, 220.0, 330.0)):
        files.append(str(tmp_path / f"tone{i}.wav"))
        sf.write(files[-1], 0.3 * np.sin(2 * np.pi * hz * t), SR)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    assert main(["estimate", *files, str(broken), "--out", str(tmp_path / "one"), "--jobs", "1"]) == 1
    assert main(["estimate", *files, str(broken), "--out", str(tmp_path / "two"), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count(f"error: {broken}:") == 2  # the path as given: two broken.wav in different folders are told apart
    for i in range(3):
        assert (tmp_path / "one" / f"tone{i}.csv").read_text() == (tmp_path / "two" / f"tone{i}.csv").read_text()


@pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
def test_no_refine_writes_the_decoded_f0(tmp_path):
    """`--no-refine` gives `estimate(..., refine=False)`'s f0; by default the f0 of a vibrato tone is refined."""
    from sotdemo import signals
    from sotdemo.estimate import estimate

    audio, _ = signals.voice(120.0, 1.0, np.random.default_rng(5), vowel="a", vibrato_cents=90.0)
    audio = (0.3 * audio).astype(np.float32)
    sf.write(tmp_path / "sung.wav", audio, SR, subtype="FLOAT")
    for flag, folder in (([], "on"), (["--no-refine"], "off")):
        assert main(["estimate", str(tmp_path / "sung.wav"), "--out", str(tmp_path / folder), *flag]) == 0
    read = {f: np.array([float(r["f0_hz"]) for r in csv.DictReader(open(tmp_path / f / "sung.csv"))]) for f in ("on", "off")}
    for flag, folder in ((True, "on"), (False, "off")):
        assert np.allclose(read[folder], estimate(audio, resynthesize=False, refine=flag).f0_hz, atol=2e-3)
    assert not np.allclose(read["on"], read["off"], atol=0.5)


def test_a_clipped_file_is_named_once_in_its_warning(tmp_path, capsys):
    t = np.arange(SR) / SR
    sf.write(tmp_path / "loud.wav", np.clip(3 * np.sin(2 * np.pi * 220.0 * t), -1, 1), SR, subtype="FLOAT")
    assert main(["estimate", str(tmp_path / "loud.wav"), "--out", str(tmp_path)]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "clipped" in line]
    assert lines == [f"warning: {tmp_path / 'loud.wav'} is clipped or at full scale (peak 1.000); estimates may show distortion partials"]
