"""Tests for sotdemo.ot against independent references (scipy, POT, explicit loops)."""

from __future__ import annotations

import numpy as np
import ot as pot
import pytest
import scipy.stats
import torch

from sotdemo.ot import (
    SILENCE_FLOOR,
    cdf,
    coupling_matrix,
    displacement_interpolation,
    plan_indices,
    quantile_function,
    transport_plan,
    wasserstein_1d,
    wasserstein_1d_sorted,
)

F64 = torch.float64


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def spectra(rng: np.random.Generator, frames: int, n: int, sparsity: float = 0.0) -> np.ndarray:
    """Random non-negative spectra; a fraction `sparsity` of bins set to zero."""
    w = rng.gamma(0.5, 1.0, size=(frames, n))
    if sparsity > 0:
        w[rng.random((frames, n)) < sparsity] = 0.0
    w[w.sum(-1) == 0, 0] = 1.0  # keep every frame non-silent
    return w


def grid(n: int, kind: str) -> np.ndarray:
    if kind == "lin":
        return np.linspace(0.0, 1.0, n)
    # log frequency of bins 1..n of an STFT, a strictly increasing non-uniform grid
    return np.log(np.arange(1, n + 1) * 21.5)


def normalized(w: np.ndarray) -> np.ndarray:
    return w / w.sum(-1, keepdims=True)


def w_ours(a, b, x, p=2, cutoff=False, fn=wasserstein_1d) -> np.ndarray:
    return fn(torch.as_tensor(a), torch.as_tensor(b), torch.as_tensor(x), p=p, cutoff=cutoff).numpy()


def clipped_quantile(cum: np.ndarray, x: np.ndarray, r: float) -> float:
    """F^{-1}(r) = x[min(first i with cum[i] >= r, n-1)], by a plain scan."""
    for i, c in enumerate(cum):
        if c >= r:
            return x[i]
    return x[-1]


def reference_cutoff_w(a: np.ndarray, b: np.ndarray, x: np.ndarray, p: float) -> float:
    """Cutoff SOT straight from the definition: integrate over r in [0, 1].

    target a -> a / sum(a); pred b -> b / sum(a) (target's mass). Both
    quantile functions are piecewise constant with breakpoints at their
    cumulative sums; integrate exactly by evaluating them at the midpoint of
    every piece of [0, 1] between consecutive breakpoints.
    """
    A = np.cumsum(a) / a.sum()
    A[-1] = 1.0
    B = np.cumsum(b) / a.sum()
    breaks = np.unique(np.concatenate([[0.0, 1.0], A[A <= 1], B[B <= 1]]))
    total = 0.0
    for lo, hi in zip(breaks[:-1], breaks[1:]):
        mid = 0.5 * (lo + hi)
        total += (hi - lo) * abs(clipped_quantile(A, x, mid) - clipped_quantile(B, x, mid)) ** p
    return total


# --------------------------------------------------------------------------
# value vs independent libraries
# --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lin", "log"])
@pytest.mark.parametrize("n,sparsity", [(1, 0.0), (2, 0.0), (7, 0.3), (64, 0.0), (64, 0.8), (257, 0.95), (1025, 0.5)])
def test_p1_matches_scipy(n, sparsity, kind):
    rng = np.random.default_rng(n * 7 + int(sparsity * 100))
    a, b = spectra(rng, 6, n, sparsity), spectra(rng, 6, n, sparsity)
    x = grid(n, kind)
    ours = w_ours(a, b, x, p=1)
    ref = np.array([scipy.stats.wasserstein_distance(x, x, a[k], b[k]) for k in range(6)])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(w_ours(a, b, x, p=1, fn=wasserstein_1d_sorted), ref, rtol=1e-10, atol=1e-13)


def test_pot_returns_w_p_to_the_p():
    # unit mass at 0 vs unit mass at 2: W_2 = 2, W_2^2 = 4.  POT gives W_p^p (no root).
    x = np.array([0.0, 2.0])
    assert pot.wasserstein_1d(x, x, np.array([1.0, 0.0]), np.array([0.0, 1.0]), p=2) == pytest.approx(4.0)
    assert w_ours(np.array([1.0, 0.0]), np.array([0.0, 1.0]), x, p=2) == pytest.approx(4.0, rel=1e-15)


@pytest.mark.parametrize("kind", ["lin", "log"])
@pytest.mark.parametrize("n,sparsity", [(3, 0.0), (16, 0.5), (257, 0.0), (1025, 0.9)])
def test_p2_matches_pot(n, sparsity, kind):
    rng = np.random.default_rng(1000 + n)
    a, b = spectra(rng, 5, n, sparsity), spectra(rng, 5, n, sparsity)
    x = grid(n, kind)
    ref = np.array([pot.wasserstein_1d(x, x, normalized(a[k]), normalized(b[k]), p=2) for k in range(5)])
    np.testing.assert_allclose(w_ours(a, b, x, p=2), ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(w_ours(a, b, x, p=2, fn=wasserstein_1d_sorted), ref, rtol=1e-10, atol=1e-14)
    # p = 3 as well (POT supports any p >= 1)
    ref3 = np.array([pot.wasserstein_1d(x, x, normalized(a[k]), normalized(b[k]), p=3) for k in range(5)])
    np.testing.assert_allclose(w_ours(a, b, x, p=3), ref3, rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------
# transport plan
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n,sparsity", [(5, 0.0), (40, 0.0), (40, 0.7), (300, 0.5)])
def test_plan_matches_pot_emd_1d(n, sparsity):
    rng = np.random.default_rng(2000 + n)
    a, b = spectra(rng, 1, n, sparsity)[0], spectra(rng, 1, n, sparsity)[0]
    x = grid(n, "log")
    P = coupling_matrix(a, b, x)
    # POT: rows = first measure (prediction = source), cols = second (target)
    G = pot.emd_1d(x, x, normalized(b), normalized(a), metric="sqeuclidean", dense=True)
    np.testing.assert_allclose(P, G, atol=1e-12)
    np.testing.assert_allclose(P.sum(1), normalized(b), atol=1e-13)
    np.testing.assert_allclose(P.sum(0), normalized(a), atol=1e-13)

    src, tgt, mass = transport_plan(a, b, x)
    assert 0 < len(mass) <= 2 * n - 1
    assert np.all(mass > 0)
    assert mass.sum() == pytest.approx(1.0, abs=1e-13)
    for p in (1, 2):
        assert np.sum(mass * np.abs(src - tgt) ** p) == pytest.approx(float(w_ours(a, b, x, p=p)), rel=1e-11, abs=1e-15)
    # plan is monotone: both index sequences non-decreasing
    ib, ia, _ = plan_indices(a, b)
    assert np.all(np.diff(ib) >= 0) and np.all(np.diff(ia) >= 0)
    assert np.array_equal(x[ib], src) and np.array_equal(x[ia], tgt)


@pytest.mark.parametrize("scale", [0.3, 0.999, 1.7])
def test_plan_cutoff_marginals_and_cost(scale):
    rng = np.random.default_rng(7)
    n = 50
    a, b = spectra(rng, 1, n)[0], spectra(rng, 1, n)[0]
    b = b / b.sum() * a.sum() * scale  # prediction mass = scale * target mass
    x = grid(n, "lin")
    src, tgt, mass = transport_plan(a, b, x, cutoff=True)
    assert mass.sum() == pytest.approx(1.0, abs=1e-13)
    assert len(mass) <= 2 * n - 1
    P = coupling_matrix(a, b, x, cutoff=True)
    np.testing.assert_allclose(P.sum(0), normalized(a), atol=1e-13)
    # source marginal: pred / target mass truncated at cumulative 1, deficit at the last bin
    bh = b / a.sum()
    trunc = np.diff(np.minimum(np.cumsum(bh), 1.0), prepend=0.0)
    trunc[-1] += max(0.0, 1.0 - bh.sum())
    np.testing.assert_allclose(P.sum(1), trunc, atol=1e-13)
    assert np.sum(mass * (src - tgt) ** 2) == pytest.approx(float(w_ours(a, b, x, cutoff=True)), rel=1e-11)


# --------------------------------------------------------------------------
# cutoff
# --------------------------------------------------------------------------
def test_cutoff_hand_computed():
    x = np.array([0.0, 0.25, 1.0])
    a = np.array([0.0, 3.0, 0.0])  # target: all mass at 0.25
    # pred with half the target's mass at 0: half the level range maps to x[0],
    # the missing half to the last position x[2]: 0.5*0.25^2 + 0.5*0.75^2
    assert w_ours(a, np.array([1.5, 0.0, 0.0]), x, cutoff=True) == pytest.approx(0.3125, rel=1e-15)
    # pred with twice the target's mass: only the first unit of mass is transported
    assert w_ours(a, np.array([3.0, 0.0, 3.0]), x, cutoff=True) == pytest.approx(0.0625, rel=1e-15)
    # without cutoff the same pred is normalized: half at 0, half at 1
    assert w_ours(a, np.array([3.0, 0.0, 3.0]), x, cutoff=False) == pytest.approx(0.3125, rel=1e-15)


@pytest.mark.parametrize("scale", [0.05, 0.4, 0.97, 1.0, 1.03, 2.5, 10.0])
@pytest.mark.parametrize("p", [1, 2])
def test_cutoff_matches_definition(scale, p):
    rng = np.random.default_rng(int(scale * 100) + p)
    n = 24
    a, b = spectra(rng, 4, n, 0.3), spectra(rng, 4, n, 0.3)
    b = b / b.sum(-1, keepdims=True) * a.sum(-1, keepdims=True) * scale
    x = grid(n, "log")
    ref = np.array([reference_cutoff_w(a[k], b[k], x, p) for k in range(4)])
    np.testing.assert_allclose(w_ours(a, b, x, p=p, cutoff=True), ref, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(w_ours(a, b, x, p=p, cutoff=True, fn=wasserstein_1d_sorted), ref, rtol=1e-11, atol=1e-14)


def test_cutoff_fine_grid_integration():
    """Numerical integration of the clipped quantile functions on a fine r-grid."""
    rng = np.random.default_rng(3)
    n = 10
    a = rng.uniform(0.1, 1.0, n)
    x = grid(n, "lin")
    r = (np.arange(200_000) + 0.5) / 200_000
    for scale in (0.6, 1.4):
        b = rng.uniform(0.1, 1.0, n)
        b = b / b.sum() * a.sum() * scale
        qa = quantile_function(a, x, r)
        qb = quantile_function(b, x, r, cutoff_mass=a.sum())
        approx = np.mean((qa - qb) ** 2)
        assert float(w_ours(a, b, x, cutoff=True)) == pytest.approx(approx, rel=2e-4)


# --------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [wasserstein_1d, wasserstein_1d_sorted])
@pytest.mark.parametrize("cutoff,scale", [(False, 1.0), (True, 0.6), (True, 1.5)])
@pytest.mark.parametrize("p", [1, 2])
def test_gradcheck(fn, cutoff, scale, p):
    g = torch.Generator().manual_seed(11)
    n = 7
    a = (0.1 + torch.rand(3, n, generator=g, dtype=F64)).requires_grad_()
    b = ((0.1 + torch.rand(3, n, generator=g, dtype=F64)) * scale).requires_grad_()
    x = torch.as_tensor(grid(n, "log"))
    assert torch.autograd.gradcheck(lambda u, v: fn(u, v, x, p=p, cutoff=cutoff), (a, b), eps=1e-7, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("cutoff", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numba_matches_sorted_value_and_grad(cutoff, dtype):
    """Numba kernel vs the sort formulation evaluated in float64 on the same inputs.

    Bins are kept away from zero: with (near-)zero bins, CDF levels tie and the
    two paths may pick different (equally valid) subgradients; in float32 the
    sort path's own rounding also reorders near-tied levels.
    """
    g = torch.Generator().manual_seed(5)
    n = 257
    a = (0.02 + torch.rand(4, 9, n, generator=g, dtype=F64) ** 4).to(dtype).requires_grad_()
    b = ((0.02 + torch.rand(4, 9, n, generator=g, dtype=F64) ** 4) * 1.3).to(dtype).requires_grad_()
    x = torch.linspace(0, 1, n, dtype=dtype)
    a64 = a.detach().to(F64).requires_grad_()
    b64 = b.detach().to(F64).requires_grad_()
    w1 = wasserstein_1d(a, b, x, cutoff=cutoff)
    w2 = wasserstein_1d_sorted(a64, b64, x.to(F64), cutoff=cutoff)
    assert w1.dtype == dtype and w1.shape == (4, 9)
    tol = dict(rtol=1e-10, atol=1e-14) if dtype == F64 else dict(rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(w1.to(F64), w2, **tol)
    weights = torch.rand(4, 9, generator=g, dtype=F64)
    g1 = torch.autograd.grad((w1 * weights.to(dtype)).sum(), [a, b])
    g2 = torch.autograd.grad((w2 * weights).sum(), [a64, b64])
    for u, v in zip(g1, g2):
        scale = v.abs().max()
        torch.testing.assert_close(u.to(F64) / scale, v / scale, rtol=0, atol=1e-11 if dtype == F64 else 1e-6)


def test_grad_only_pred_and_only_target():
    g = torch.Generator().manual_seed(2)
    n = 33
    a0 = torch.rand(5, n, generator=g, dtype=F64)
    b0 = torch.rand(5, n, generator=g, dtype=F64)
    x = torch.linspace(0, 1, n, dtype=F64)
    for cutoff in (False, True):
        a, b = a0.clone().requires_grad_(), b0.clone().requires_grad_()
        ga_ref, gb_ref = torch.autograd.grad(wasserstein_1d_sorted(a, b, x, cutoff=cutoff).sum(), [a, b])
        b = b0.clone().requires_grad_()
        (gb,) = torch.autograd.grad(wasserstein_1d(a0, b, x, cutoff=cutoff).sum(), [b])
        torch.testing.assert_close(gb, gb_ref, rtol=1e-9, atol=1e-12)
        a = a0.clone().requires_grad_()
        (ga,) = torch.autograd.grad(wasserstein_1d(a, b0, x, cutoff=cutoff).sum(), [a])
        torch.testing.assert_close(ga, ga_ref, rtol=1e-9, atol=1e-12)


def test_cutoff_target_gets_extra_gradient_term():
    """With cutoff, pred/target_mass makes W depend on the target's scale."""
    n = 20
    rng = np.random.default_rng(4)
    a = torch.as_tensor(rng.uniform(0.1, 1, n)).requires_grad_()
    b = torch.as_tensor(rng.uniform(0.1, 1, n))
    x = torch.linspace(0, 1, n, dtype=F64)
    w = wasserstein_1d(a, b, x, cutoff=True)
    (ga,) = torch.autograd.grad(w, [a])
    # scaling the target changes W only through the cutoff: d/ds W(s a) at s=1 = <ga, a> != 0
    h = 1e-6
    fd = (wasserstein_1d(a.detach() * (1 + h), b, x, cutoff=True) - wasserstein_1d(a.detach() * (1 - h), b, x, cutoff=True)) / (2 * h)
    assert abs(float(fd)) > 1e-4
    assert float((ga * a.detach()).sum()) == pytest.approx(float(fd), rel=1e-6)
    # without cutoff W is scale invariant in each input
    (ga0,) = torch.autograd.grad(wasserstein_1d(a, b, x, cutoff=False), [a])
    assert abs(float((ga0 * a.detach()).sum())) < 1e-14


# --------------------------------------------------------------------------
# shapes and dtypes
# --------------------------------------------------------------------------
def test_batched_shapes_and_dtypes():
    rng = np.random.default_rng(9)
    B, T, n = 3, 4, 129
    a, b = spectra(rng, B * T, n, 0.2).reshape(B, T, n), spectra(rng, B * T, n, 0.2).reshape(B, T, n)
    x = grid(n, "lin")
    for cutoff in (False, True):
        w64 = w_ours(a, b, x, cutoff=cutoff)
        assert w64.shape == (B, T)
        single = np.array([[float(w_ours(a[i, j], b[i, j], x, cutoff=cutoff)) for j in range(T)] for i in range(B)])
        np.testing.assert_array_equal(w64, single)
        assert w_ours(a[0, 0], b[0, 0], x, cutoff=cutoff).shape == ()
        w32 = wasserstein_1d(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32),
                             torch.as_tensor(x, dtype=torch.float32), cutoff=cutoff)
        assert w32.dtype == torch.float32
        assert np.max(np.abs(w32.numpy() - w64) / np.abs(w64)) <= 1e-4
        w32s = wasserstein_1d_sorted(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32),
                                     torch.as_tensor(x, dtype=torch.float32), cutoff=cutoff)
        assert np.max(np.abs(w32s.numpy() - w64) / np.abs(w64)) <= 1e-4


def test_noncontiguous_broadcast_and_no_grad():
    rng = np.random.default_rng(10)
    n = 65
    a = torch.as_tensor(spectra(rng, 6, n))
    b = torch.as_tensor(spectra(rng, 6, n))
    x = torch.as_tensor(grid(n, "log"))
    ref = wasserstein_1d(a, b, x)
    # non-contiguous views
    a_t = a.t().contiguous().t()
    b_t = b.t().contiguous().t()
    assert not a_t.is_contiguous()
    torch.testing.assert_close(wasserstein_1d(a_t, b_t, x), ref, rtol=0, atol=0)
    # broadcast a single target against a batch of predictions, gradient sums over the batch
    a0 = a[0].clone().requires_grad_()
    w = wasserstein_1d(a0, b, x)
    assert w.shape == (6,)
    (ga,) = torch.autograd.grad(w.sum(), [a0])
    a0s = a[0].clone().requires_grad_()
    (ga_s,) = torch.autograd.grad(wasserstein_1d_sorted(a0s, b, x).sum(), [a0s])
    torch.testing.assert_close(ga, ga_s, rtol=1e-9, atol=1e-13)
    with torch.no_grad():
        w = wasserstein_1d(a.requires_grad_(), b, x)
    assert w.grad_fn is None


def test_input_validation():
    a = torch.rand(4)
    with pytest.raises(ValueError):
        wasserstein_1d(a, a, torch.tensor([0.0, 2.0, 1.0, 3.0]))
    with pytest.raises(ValueError):
        wasserstein_1d(a, a, torch.linspace(0, 1, 5))
    with pytest.raises(ValueError):
        wasserstein_1d(a, a, torch.linspace(0, 1, 4), p=0.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_dispatch_matches_cpu():
    rng = np.random.default_rng(12)
    a = torch.as_tensor(spectra(rng, 8, 257))
    b = torch.as_tensor(spectra(rng, 8, 257))
    x = torch.linspace(0, 1, 257, dtype=F64)
    for cutoff in (False, True):
        w_gpu = wasserstein_1d(a.cuda(), b.cuda(), x.cuda(), cutoff=cutoff).cpu()
        torch.testing.assert_close(w_gpu, wasserstein_1d(a, b, x, cutoff=cutoff), rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------
# silence
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [wasserstein_1d, wasserstein_1d_sorted])
@pytest.mark.parametrize("cutoff", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_silence_is_finite(fn, cutoff, dtype):
    n = 16
    x = torch.linspace(0, 1, n, dtype=dtype)
    rng = np.random.default_rng(13)
    sig = torch.as_tensor(rng.uniform(0.0, 1.0, n), dtype=dtype)
    zero = torch.zeros(n, dtype=dtype)
    tiny = torch.full((n,), SILENCE_FLOOR / (4 * n), dtype=dtype)
    uniform = torch.ones(n, dtype=dtype)
    cases = [(zero, sig), (sig, zero), (zero, zero), (tiny, sig), (sig, tiny)]
    for t0, p0 in cases:
        t = t0.clone().requires_grad_()
        p = p0.clone().requires_grad_()
        w = fn(t, p, x, cutoff=cutoff)
        gt, gp = torch.autograd.grad(w, [t, p])
        assert torch.isfinite(w) and torch.isfinite(gt).all() and torch.isfinite(gp).all()
        # a silent input is uniform and gets no gradient
        t_eff = uniform if float(t0.sum()) <= SILENCE_FLOOR else t0
        # a silent prediction is uniform with unit mass (relative to the target's mass under cutoff)
        p_eff = uniform * t_eff.sum() / n if float(p0.sum()) <= SILENCE_FLOOR else p0
        if float(t0.sum()) <= SILENCE_FLOOR:
            assert torch.all(gt == 0)
            cut_eff = False  # no reference mass: pred normalized by its own mass
        else:
            cut_eff = cutoff
        if float(p0.sum()) <= SILENCE_FLOOR:
            assert torch.all(gp == 0)
        expected = fn(t_eff.to(F64), p_eff.to(F64), x.to(F64), cutoff=cut_eff)
        torch.testing.assert_close(w.to(F64), expected, rtol=1e-5, atol=1e-7)


def test_non_finite_frame_gives_nan_only_there():
    n = 32
    x = torch.linspace(0, 1, n, dtype=F64)
    a = torch.rand(3, n, dtype=F64, generator=torch.Generator().manual_seed(1))
    b = torch.rand(3, n, dtype=F64, generator=torch.Generator().manual_seed(2))
    a[1, 5] = float("nan")
    b[2, 7] = float("inf")
    bb = b.clone().requires_grad_()
    w = wasserstein_1d(a, bb, x, cutoff=True)
    (gb,) = torch.autograd.grad(w.sum(), [bb])
    assert torch.isfinite(w[0]) and torch.isnan(w[1:]).all()
    assert torch.isfinite(gb[0]).all() and torch.isnan(gb[1:]).all()


def test_quiet_but_not_silent_is_scale_invariant():
    rng = np.random.default_rng(14)
    n = 64
    a, b = spectra(rng, 2, n)
    x = grid(n, "lin")
    ref = w_ours(a, b, x)
    q = w_ours(a * 1e-9, b * 1e-9, x)  # total mass ~1e-8 > SILENCE_FLOOR
    np.testing.assert_allclose(q, ref, rtol=1e-12)


# --------------------------------------------------------------------------
# drawing helpers
# --------------------------------------------------------------------------
def test_cdf_and_quantile_function():
    w = np.array([0.0, 1.0, 0.0, 1.0])
    x = np.array([0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(cdf(w), [0.0, 0.5, 0.5, 1.0])
    np.testing.assert_array_equal(cdf(w, cutoff_mass=4.0), [0.0, 0.25, 0.25, 0.5])
    np.testing.assert_array_equal(cdf(np.zeros(4)), [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(quantile_function(w, x, [0.0, 0.25, 0.5, 0.75, 1.0]), [0.0, 1.0, 1.0, 3.0, 3.0])
    # levels beyond the (scaled) mass clip to the last position
    np.testing.assert_array_equal(quantile_function(w, x, [0.4, 0.6], cutoff_mass=4.0), [3.0, 3.0])


@pytest.mark.parametrize("kind", ["lin", "log"])
def test_displacement_interpolation(kind):
    rng = np.random.default_rng(15)
    n = 90
    a, b = spectra(rng, 1, n, 0.6)[0], spectra(rng, 1, n, 0.6)[0]
    x = grid(n, kind)
    np.testing.assert_allclose(displacement_interpolation(a, b, x, 0.0), normalized(b), rtol=0, atol=1e-15)
    np.testing.assert_allclose(displacement_interpolation(a, b, x, 1.0), normalized(a), rtol=0, atol=1e-15)
    mean_a, mean_b = float(normalized(a) @ x), float(normalized(b) @ x)
    for t in (0.1, 0.37, 0.5, 0.9):
        mu = displacement_interpolation(a, b, x, t)
        assert np.all(mu >= 0)
        assert mu.sum() == pytest.approx(1.0, abs=1e-13)
        assert float(mu @ x) == pytest.approx((1 - t) * mean_b + t * mean_a, rel=1e-12)
    # a single moving peak: halfway between bins 10 and 30 of a linear grid is bin 20
    xl = grid(n, "lin")
    e10, e30 = np.eye(n)[10], np.eye(n)[30]
    np.testing.assert_allclose(displacement_interpolation(e30, e10, xl, 0.5), np.eye(n)[20], atol=1e-12)


@pytest.mark.slow
def test_the_numba_kernel_leaves_torchs_thread_count_alone():
    """numba's OpenMP layer shares torch's runtime: without care, the first kernel call reset a
    1-thread torch to numba's 2 threads, which changed reduction orders mid-run and made training
    with OMP_NUM_THREADS=1 irreproducible (found by the keep_best test)."""
    import os
    import subprocess
    import sys

    script = (
        "import torch\nfrom sotdemo.ot import wasserstein_1d\n"
        "a = torch.rand(64, 1025); b = torch.rand(64, 1025, requires_grad=True)\n"
        "wasserstein_1d(a, b, torch.linspace(0, 1, 1025), 2, True).sum().backward()\n"
        "print(torch.get_num_threads())\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
