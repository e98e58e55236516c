"""sotdemo.decode: the Viterbi path against librosa's dense Viterbi, and what each decoder reads."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from sotdemo.decode import peak_path, read_around, transition_matrix, viterbi_path
from sotdemo.encoder import EncoderConfig

BINS_HZ = EncoderConfig().pitch_bins_hz()
LOG2_BINS = np.log2(BINS_HZ)
FIFTH_PARTIAL = int(round(np.log2(5) * 36))  # bins above the fundamental (36 per octave)


@pytest.mark.parametrize(("n", "frames", "max_step", "jump", "concentration"), [
    (285, 300, 6, 1e-3, 0.3), (40, 120, 2, 0.1, 1.0), (12, 60, 0, 0.3, 0.5), (285, 1, 6, 1e-3, 0.3), (25, 80, 3, 0.9, 2.0),
])
def test_viterbi_path_is_librosas_viterbi_on_the_same_transition_matrix(n, frames, max_step, jump, concentration):
    rng = np.random.default_rng(n + frames)
    posterior = rng.dirichlet(np.full(n, concentration), size=frames)
    matrix = transition_matrix(n, max_step, jump)
    assert np.allclose(matrix.sum(axis=1), 1.0)
    ours = viterbi_path(posterior, max_step, jump)
    theirs, their_logp = librosa.sequence.viterbi((posterior + 1e-6).T, matrix, return_logp=True)
    assert np.array_equal(ours, theirs)
    log_matrix = np.log(matrix)
    logp = np.log(1 / n) + np.log(posterior[0, ours[0]] + 1e-6) + sum(
        log_matrix[ours[t - 1], ours[t]] + np.log(posterior[t, ours[t]] + 1e-6) for t in range(1, frames))
    assert logp == pytest.approx(their_logp, rel=1e-9)


def _track(bins: list[int], width: float = 1.0) -> np.ndarray:
    """A posterior `[frames, 285]`: a Gaussian bump (sd `width` bins) on each frame's bin, plus a small floor."""
    grid = np.arange(285)[None, :]
    posterior = np.exp(-0.5 * ((grid - np.asarray(bins)[:, None]) / width) ** 2) + 1e-4
    return posterior / posterior.sum(axis=1, keepdims=True)


def test_viterbi_steps_over_a_few_frames_on_another_partial_where_the_peak_follows_them():
    truth = [100] * 40
    peaks = truth.copy()
    peaks[15:24] = [100 + FIFTH_PARTIAL] * 9  # the posterior's peak on the 5th partial for 9 frames ...
    posterior = 0.6 * _track(peaks) + 0.4 * _track(truth)  # ... while the fundamental keeps some mass
    assert np.array_equal(peak_path(posterior), peaks)
    assert np.array_equal(viterbi_path(posterior), truth)


def test_viterbi_follows_real_note_changes_and_vibrato():
    vibrato = np.round(150 + 1.5 * np.sin(np.arange(60) * 2 * np.pi / 12)).astype(int).tolist()  # ±1/2 semitone, 5 Hz
    notes = [100] * 30 + [170] * 30 + vibrato + [40] * 30  # jumps of 70 bins and more, held for 0.5 s
    posterior = _track(notes)
    assert np.array_equal(viterbi_path(posterior), notes)
    assert np.array_equal(peak_path(posterior), notes)


def test_viterbi_path_edge_cases():
    assert viterbi_path(np.zeros((0, 285))).shape == (0,)
    assert viterbi_path(np.full((5, 285), np.nan)).shape == (5,)  # NaNs are read as 0, not propagated
    with pytest.raises(ValueError, match="posterior"):
        viterbi_path(np.zeros(285))
    with pytest.raises(ValueError, match="jump_probability"):
        viterbi_path(np.ones((3, 285)), jump_probability=0.0)


def test_read_around_takes_the_local_mean_and_mass_around_the_chosen_bin():
    posterior = np.zeros((2, 285))
    posterior[0, 100] = 0.7  # a peak and a weaker mode an octave up
    posterior[0, 136] = 0.3
    posterior[1, 100], posterior[1, 101] = 0.5, 0.5  # two neighbouring bins: half way in log2
    f0, confidence = read_around(posterior, peak_path(posterior), LOG2_BINS)
    assert f0[0] == pytest.approx(BINS_HZ[100], rel=1e-9)  # the octave mode is ignored
    soft_argmax = 2 ** (0.7 * np.log2(BINS_HZ[100]) + 0.3 * np.log2(BINS_HZ[136]))
    assert abs(1200 * np.log2(soft_argmax / BINS_HZ[100])) > 300  # what the soft-argmax would say
    assert f0[1] == pytest.approx(np.sqrt(BINS_HZ[100] * BINS_HZ[101]), rel=1e-9)
    assert confidence == pytest.approx([0.7, 1.0])  # the mass within a semitone of the chosen bin
    # a path that reads the octave mode: its own f0 and its own (smaller) mass
    f0, confidence = read_around(posterior[:1], np.array([136]), LOG2_BINS)
    assert f0[0] == pytest.approx(BINS_HZ[136], rel=1e-9) and confidence[0] == pytest.approx(0.3)
    # the top edge: the window is clipped, not wrapped; no mass at all: the bin's own frequency
    edge = np.zeros((2, 285))
    edge[0, 284] = 1.0
    f0, confidence = read_around(edge, np.array([284, 50]), LOG2_BINS)
    assert f0 == pytest.approx([BINS_HZ[284], BINS_HZ[50]], rel=1e-9) and confidence == pytest.approx([1.0, 0.0])
