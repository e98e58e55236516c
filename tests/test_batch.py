"""A corpus of files (`sotdemo.batch`): here, in worker processes and on a Dask cluster, the same
results, a message for each file that fails and the others carried on; `@LIST` on the command line."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SHIPPED
from sotdemo.__main__ import main
from sotdemo.audio import load
from sotdemo.batch import estimate_files, read_file_list
from sotdemo.estimate import estimate, write_csv
from sotdemo.signals import harmonic_tone, voice

SR = 16000
needs_model = pytest.mark.skipif(not any(SHIPPED.glob("**/model.safetensors")), reason="no shipped default model")
HZ = (98.0, 147.0, 220.0, 311.1, 440.0, 622.3, 880.0, 1244.5, 130.8, 185.0, 261.6)


def _corpus(folder, n: int = len(HZ)) -> tuple[list[str], str]:
    """`n` seeded clips of 0.6-1.8 s (tones and voices at the pitches `HZ`, 44.1 kHz and 16 kHz, mono and
    stereo) and a broken file in the middle; returns (paths in order, the broken one)."""
    rng = np.random.default_rng(5)
    paths = []
    for i, hz in enumerate(HZ[:n]):
        seconds = float(rng.uniform(0.6, 1.8))
        audio = voice(hz, seconds, rng)[0] if i % 2 else 0.4 * harmonic_tone(hz, 1 / np.arange(1, 8), seconds, rng=rng)
        rate = 44100 if i % 3 == 0 else SR
        if rate != SR:
            audio = np.interp(np.arange(int(len(audio) * rate / SR)) * SR / rate, np.arange(len(audio)), audio)
        path = folder / f"clip{i:02d}.{'flac' if i % 4 == 1 else 'wav'}"
        sf.write(path, np.stack([audio, 0.5 * audio], axis=1) if i == 2 else audio, rate)
        paths.append(str(path))
    broken = folder / "broken.wav"
    broken.write_bytes(b"RIFF not really audio")
    paths.insert(len(paths) // 2, str(broken))
    return paths, str(broken)


@needs_model
def test_files_in_chunks_give_each_files_own_estimate_and_report_failures(tmp_path):
    paths, broken = _corpus(tmp_path)
    results = estimate_files(paths, files_per_task=4, progress=False, resynthesize=False)
    assert [r.path for r in results] == paths
    failed = [r for r in results if r.error is not None]
    assert [r.path for r in failed] == [broken] and failed[0].estimate is None and failed[0].error.startswith("broken.wav: ")
    for result, hz in zip([r for r in results if r.error is None], HZ):
        loaded = load(result.path, max_seconds=None)
        alone = estimate(loaded.audio, loaded.sample_rate, resynthesize=False)
        np.testing.assert_allclose(result.estimate.f0_hz, alone.f0_hz, rtol=1e-5)
        np.testing.assert_array_equal(result.estimate.voiced, alone.voiced)
        assert result.estimate.warnings == loaded.warnings + alone.warnings
        voiced = result.estimate.f0_hz[result.estimate.voiced]
        assert voiced.size > 0.5 * len(result.estimate.f0_hz) and abs(1200 * np.log2(np.median(voiced) / hz)) < 50, result.path


def test_a_file_list_lists_paths_one_a_line(tmp_path):
    listing = tmp_path / "files.txt"
    listing.write_text("# corpus\na.wav\n\n  sub dir/b c.flac  \n")
    assert read_file_list(listing) == ["a.wav", "sub dir/b c.flac"]
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="lists no file"):
        read_file_list(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="cannot read the file list"):
        read_file_list(tmp_path / "missing.txt")


@needs_model
def test_the_cli_reads_a_file_list_and_says_how_many_failed(tmp_path, capsys):
    paths, broken = _corpus(tmp_path, 3)
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(paths[1:]) + "\n")
    assert main(["estimate", paths[0], f"@{listing}", "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").glob("*.csv")) == ["clip00.csv", "clip01.csv", "clip02.csv"]
    assert captured.err.count(f"error: {broken}: ") == 1 and "error: 1 of 4 files could not be analysed" in captured.err
    assert main(["estimate", f"@{tmp_path / 'nothing.txt'}", "--out", str(tmp_path)]) == 2
    assert "cannot read the file list" in capsys.readouterr().err


@pytest.mark.slow
@needs_model
def test_a_dask_cluster_gives_the_local_csvs_and_reports_failures_per_file(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    paths, broken = _corpus(tmp_path)
    local = estimate_files(paths, files_per_task=3, progress=False, resynthesize=False)
    messages = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        remote = estimate_files(paths, client=client, files_per_task=3, progress=False, on_message=messages.append, resynthesize=False)
        assert len(client.run(lambda: 1)) == 2  # two worker processes
        assert main(["estimate", *paths, "--out", str(tmp_path / "cli-dask"), "--dask", cluster.scheduler_address]) == 1
    assert main(["estimate", *paths, "--out", str(tmp_path / "cli-local")]) == 1
    for name in (Path(p).stem + ".csv" for p in paths if p != broken):
        assert (tmp_path / "cli-dask" / name).read_text() == (tmp_path / "cli-local" / name).read_text()
    err = capsys.readouterr().err
    assert err.count(f"error: {broken}: ") == 2 and "progress at http" in err
    assert len(messages) == 1 and "progress at http" in messages[0] and "4 tasks" in messages[0]
    assert [r.path for r in remote] == paths
    for a, b in zip(local, remote):
        assert a.error == b.error
        if a.error is None:
            write_csv(a.estimate, tmp_path / "a.csv")
            write_csv(b.estimate, tmp_path / "b.csv")
            assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text(), a.path
            assert a.estimate.warnings == b.estimate.warnings
    assert [r.path for r in remote if r.error] == [broken]


def test_a_dask_workers_small_trim_threshold_is_raised_once(monkeypatch):
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns glibc's dynamic mmap
    threshold off (estimates ran ~2x slower there): a chunk raises both thresholds, once per process,
    and leaves a process alone that has no such setting."""
    import ctypes

    from sotdemo import batch

    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    for env, expected in ((None, []), ("65536", [(-3, batch.HEAP_THRESHOLD_BYTES), (-1, 2 * batch.HEAP_THRESHOLD_BYTES)])):
        monkeypatch.setattr(batch, "_HEAP_CHECKED", False)
        if env is None:
            monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
        else:
            monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", env)
        calls.clear()
        batch._roomy_heap()
        batch._roomy_heap()
        assert calls == expected
