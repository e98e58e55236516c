"""Exact 1-D optimal transport between spectra (Spectral Optimal Transport).

This module implements the loss of Torres, Peeters & Richard, "Unsupervised
Harmonic Parameter Estimation Using Differentiable DSP and Spectral Optimal
Transport", ICASSP 2024, Sec. 2 ("Spectral Optimal Transport"): every spectral
frame is treated as a mass distribution over the frequency axis and two frames
are compared with the 1-D Wasserstein distance, which has a closed form in
terms of quantile functions (inverse CDFs)::

    W_p^p(a, b) = int_0^1 |F_a^{-1}(r) - F_b^{-1}(r)|^p dr,
    F^{-1}(r)   = x[min(first index i with CDF[i] >= r, n - 1)].

``a`` is the target spectrum, ``b`` the prediction, ``x`` the sorted grid of bin
positions shared by both (linear frequency normalised to [0, 1], or log
frequency), ``CDF = cumsum(weights)``.

For discrete spectra the integral is exact: merge the two sorted cumulative
sequences ``A = cumsum(a)`` and ``B = cumsum(b)`` into the levels
``0 = r_0 <= r_1 <= ... <= r_K``; on each interval ``(r_{k-1}, r_k]`` both
quantile functions are constant, so::

    W_p^p = sum_k (r_k - r_{k-1}) * |x[ia_k] - x[ib_k]|^p .

The optimal plan is the monotone (north-west corner) coupling that moves mass
``r_k - r_{k-1}`` between bins ``ib_k`` (prediction) and ``ia_k`` (target).

Conventions (shared by every function in this module)
-----------------------------------------------------
* Inputs are non-negative weights (magnitudes or power), last axis = bins.
* ``cutoff=False`` (balanced): target and prediction are each divided by their
  own total mass, so both have unit mass.
* ``cutoff=True`` (the paper's "frequency cutoff"): the target is divided by
  its own mass, the prediction by the *target's* mass. Quantile levels above 1
  are ignored, i.e. predicted mass beyond the target's total is not
  transported (typically the high-frequency excess of a too-loud prediction).
  If the scaled prediction has total mass below 1, the missing mass sits where
  the clipped quantile function puts it: at the last grid position
  ``x[n - 1]`` (the ``min(..., n - 1)`` clip). This is the convention of
  searchsorted-with-clip implementations (POT's ``wasserstein_1d`` and the
  paper's reference code ``sot-loss``).
* Silence: a frame whose total mass (sum over bins, computed in float64, in the
  input's own units) is ``<= SILENCE_FLOOR = 1e-12`` is treated as a uniform
  distribution of unit mass and receives a ZERO gradient. With ``cutoff=True``
  and a silent target there is no reference mass, so the prediction is then
  normalised by its own mass (as with ``cutoff=False``); a silent prediction is
  uniform with unit mass in both modes. Values and gradients are always finite
  for finite inputs (a frame with a NaN or inf weight gives NaN).
* Normalised target CDFs (and prediction CDFs when normalised by their own
  mass) are clamped to <= 1 and their last value is set to exactly 1, so
  float rounding can neither break monotonicity nor leave a sliver of
  un-transported mass.
* Positions get no gradient; only first-order gradients are provided by the
  fast CPU path.

Implementations
---------------
* :func:`wasserstein_1d` -- dispatching entry point. For CPU tensors it runs
  a numba kernel: an O(n) two-pointer merge of the two cumulative sequences per
  frame (no sort, because both spectra share one sorted grid), parallel over
  frames, float64 accumulation, with the analytic gradient computed in the same
  pass. Other devices (e.g. CUDA) use :func:`wasserstein_1d_sorted`. The
  kernel is JIT-compiled on first use (about 5 s per dtype) and cached on disk
  by numba (``__pycache__``; later processes load it in under a second).
* :func:`wasserstein_1d_sorted` -- the sort/searchsorted quantile formulation
  used by POT and the paper's code, in plain differentiable torch (any device).
* :func:`transport_plan`, :func:`plan_indices`, :func:`coupling_matrix`,
  :func:`cdf`, :func:`quantile_function`, :func:`displacement_interpolation`
  -- single-frame numpy helpers (readable reference implementation, used for
  plots and the web app).
"""

from __future__ import annotations

from typing import Union

import numba
import numpy as np
import torch

__all__ = [
    "SILENCE_FLOOR",
    "wasserstein_1d",
    "wasserstein_1d_sorted",
    "transport_plan",
    "plan_indices",
    "coupling_matrix",
    "cdf",
    "quantile_function",
    "displacement_interpolation",
]

#: A frame whose total mass (sum of the non-negative input over bins, float64)
#: is ``<= SILENCE_FLOOR`` is "silent": treated as uniform, zero gradient.
SILENCE_FLOOR: float = 1e-12

ArrayLike = Union[np.ndarray, torch.Tensor]


# --------------------------------------------------------------------------
# input checks shared by the torch entry points
# --------------------------------------------------------------------------
def _check_p(p: float) -> float:
    p = float(p)
    if not p >= 1.0:
        raise ValueError(f"p must be >= 1, got {p}")
    return p


def _prepare(
    target: torch.Tensor, pred: torch.Tensor, positions: ArrayLike
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Broadcast target/pred, pick a float dtype and validate the grid."""
    if not isinstance(target, torch.Tensor) or not isinstance(pred, torch.Tensor):
        raise TypeError("target and pred must be torch tensors")
    if target.device != pred.device:
        raise ValueError(f"target on {target.device} but pred on {pred.device}")
    if target.shape != pred.shape:
        target, pred = torch.broadcast_tensors(target, pred)
    dtype = torch.promote_types(target.dtype, pred.dtype)
    if dtype not in (torch.float32, torch.float64):
        dtype = torch.float32
    target = target.to(dtype)
    pred = pred.to(dtype)
    if target.ndim < 1 or target.shape[-1] < 1:
        raise ValueError("inputs must have a non-empty last (bins) axis")
    x = torch.as_tensor(positions).detach()
    if x.ndim != 1 or x.shape[0] != target.shape[-1]:
        raise ValueError(
            f"positions must have shape [bins]=[{target.shape[-1]}], got {tuple(x.shape)}"
        )
    if x.shape[0] > 1 and bool((x[1:] < x[:-1]).any()):
        raise ValueError("positions must be sorted (non-decreasing)")
    return target, pred, x


# --------------------------------------------------------------------------
# numba kernel (fast CPU path)
# --------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _fill_cdf(w, scale, silent, force, out):  # pragma: no cover - jitted
    """out[:n] = cumsum(w * scale) (uniform if silent); out[n] = +inf sentinel.

    With ``force`` the CDF is clamped to <= 1 and its last value set to 1.
    """
    n = w.shape[0]
    acc = 0.0
    if silent:
        step = 1.0 / n
        for i in range(n):
            acc += step
            out[i] = min(acc, 1.0)
    elif force:
        for i in range(n):
            acc += w[i] * scale
            out[i] = min(acc, 1.0)
    else:
        for i in range(n):
            acc += w[i] * scale
            out[i] = acc
    if force or silent:
        out[n - 1] = 1.0
    out[n] = np.inf


@numba.njit(cache=True, nogil=True)
def _frame_kernel(a, b, xp, p, cutoff, need_ga, need_gb, ga, gb, A, B, G):  # pragma: no cover
    """W_p^p of one frame by a two-pointer merge; optionally fills ga / gb.

    a, b: [n] raw weights (float32/float64). xp: [n+1] float64 positions with
    xp[n] = xp[n-1] (the quantile clip). ga, gb: [n] outputs for dW/da, dW/db
    (written only when need_* is set). A, B: [n+1], G: [2n+3] float64
    scratch. G[i] collects dW/dA_i, G[n+1+j] collects dW/dB_j, G[2n+2] is a
    write-off slot.
    """
    n = a.shape[0]
    sa = 0.0
    sb = 0.0
    for i in range(n):
        sa += a[i]
        sb += b[i]
    if not (np.isfinite(sa) and np.isfinite(sb)):
        # non-finite input: NaN result (also keeps the merge below in bounds)
        if need_ga:
            ga[:] = np.nan
        if need_gb:
            gb[:] = np.nan
        return np.nan
    silent_a = sa <= SILENCE_FLOOR
    silent_b = sb <= SILENCE_FLOOR
    sca = 0.0 if silent_a else 1.0 / sa
    # prediction divided by the target's mass (cutoff) or by its own mass
    b_by_a = cutoff and (not silent_a) and (not silent_b)
    if silent_b:
        scb = 0.0
    elif b_by_a:
        scb = sca
    else:
        scb = 1.0 / sb
    _fill_cdf(a, sca, silent_a, True, A)
    _fill_cdf(b, scb, silent_b, not b_by_a, B)

    grad = need_ga or need_gb
    dummy = 2 * n + 2
    if grad:
        G[:] = 0.0
    # Merge: exactly 2n levels; the +inf sentinels make the exhausted CDF lose
    # every comparison, and xp[n] implements the clip min(index, n-1). Levels
    # > 1 only exist under cutoff (unit-mass CDFs are clamped to <= 1).
    i = 0
    j = 0
    w = 0.0
    r_prev = 0.0
    c_prev = 0.0
    pos_prev = dummy
    for _ in range(2 * n):
        ai = A[i]
        bj = B[j]
        take_a = ai <= bj
        r = ai if take_a else bj
        if r > 1.0:
            break  # cutoff: this and all remaining levels are not transported
        d = xp[i] - xp[j]
        if p == 2.0:
            c = d * d
        elif p == 1.0:
            c = abs(d)
        else:
            c = abs(d) ** p
        w += (r - r_prev) * c
        if grad:
            pos = i if take_a else n + 1 + j
            G[pos_prev] = c_prev - c  # dW/dr_prev = c_prev - c_next
            pos_prev = pos
        c_prev = c
        r_prev = r
        ti = np.int64(take_a)
        i += ti
        j += 1 - ti
    if grad:
        G[pos_prev] = c_prev  # last included level: dW/dr_K = c_K
        # <G_a, a_hat> = sum_i dW/dA_i * A_i, likewise for b
        s_a = 0.0
        s_b = 0.0
        for j in range(n):
            s_a += G[j] * A[j]
            s_b += G[n + 1 + j] * B[j]
        if need_ga:
            if silent_a:
                ga[:] = 0.0
            else:
                extra = s_a + (s_b if b_by_a else 0.0)
                acc = 0.0
                for j in range(n - 1, -1, -1):
                    acc += G[j]
                    ga[j] = (acc - extra) * sca
        if need_gb:
            if silent_b:
                gb[:] = 0.0
            else:
                extra = 0.0 if b_by_a else s_b
                acc = 0.0
                for j in range(n - 1, -1, -1):
                    acc += G[n + 1 + j]
                    gb[j] = (acc - extra) * scb
    return w


@numba.njit(parallel=True, cache=True)
def _batch_kernel(a, b, xp, p, cutoff, need_ga, need_gb, out_w, ga, gb, n_chunks):  # pragma: no cover
    """Frames of :func:`_frame_kernel` in parallel; a, b, ga, gb: [F, n].

    Frames are split in contiguous chunks (a few per thread) so the float64
    scratch buffers are allocated once per chunk, not once per frame.
    ga / gb are [1, 1] dummies when the corresponding gradient is not needed.
    """
    n_frames, n = a.shape
    n_chunks = max(1, min(n_frames, n_chunks))
    grad = need_ga or need_gb
    for ch in numba.prange(n_chunks):
        c = np.int64(ch)  # prange index may be unsigned; keep index arithmetic integer
        lo = c * n_frames // n_chunks
        hi = (c + 1) * n_frames // n_chunks
        A = np.empty(n + 1)
        B = np.empty(n + 1)
        G = np.empty(2 * n + 3 if grad else 1)
        for f in range(lo, hi):
            out_w[f] = _frame_kernel(
                a[f], b[f], xp, p, cutoff, need_ga, need_gb,
                ga[f if need_ga else 0], gb[f if need_gb else 0], A, B, G,
            )


def _numba_forward(
    target: torch.Tensor,
    pred: torch.Tensor,
    xp: np.ndarray,
    p: float,
    cutoff: bool,
    need_ga: bool,
    need_gb: bool,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Run the kernel on contiguous CPU tensors, sharing memory with numpy.

    xp: [bins + 1] float64 positions padded with a copy of the last one.
    """
    n = target.shape[-1]
    lead = target.shape[:-1]
    a = target.detach().contiguous().view(-1, n)
    b = pred.detach().contiguous().view(-1, n)
    n_frames = a.shape[0]
    dtype = target.dtype
    out_w = np.empty(n_frames, dtype=np.float64)
    ga = torch.empty((n_frames, n) if need_ga else (1, 1), dtype=dtype)
    gb = torch.empty((n_frames, n) if need_gb else (1, 1), dtype=dtype)
    if n_frames > 0:
        torch_threads = torch.get_num_threads()
        _batch_kernel(
            a.numpy(), b.numpy(), xp, p, cutoff, need_ga, need_gb,
            out_w, ga.numpy(), gb.numpy(), 8 * numba.get_num_threads(),
        )
        if torch.get_num_threads() != torch_threads:
            # numba's OpenMP layer can share torch's OpenMP runtime and reset its thread count;
            # a changed count changes torch's reduction order, and training stops being reproducible
            torch.set_num_threads(torch_threads)
    w = torch.from_numpy(out_w).to(dtype).view(lead)
    return (
        w,
        ga.view(target.shape) if need_ga else None,
        gb.view(target.shape) if need_gb else None,
    )


class _Wasserstein1DNumba(torch.autograd.Function):
    """Autograd wrapper: the kernel returns the gradients with the value."""

    @staticmethod
    def forward(ctx, target, pred, xp, p, cutoff, need_ga, need_gb):  # noqa: D102
        w, ga, gb = _numba_forward(target, pred, xp, p, cutoff, need_ga, need_gb)
        ctx.save_for_backward(
            ga if ga is not None else torch.empty(0),
            gb if gb is not None else torch.empty(0),
        )
        ctx.has = (need_ga, need_gb)
        return w

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102
        ga, gb = ctx.saved_tensors
        go = grad_out.unsqueeze(-1)
        da = ga * go if ctx.has[0] and ctx.needs_input_grad[0] else None
        db = gb * go if ctx.has[1] and ctx.needs_input_grad[1] else None
        return da, db, None, None, None, None, None


def wasserstein_1d(
    target: torch.Tensor,
    pred: torch.Tensor,
    positions: ArrayLike,
    p: float = 2,
    cutoff: bool = False,
) -> torch.Tensor:
    """Exact W_p^p between spectral frames (no p-th root), differentiable.

    Args:
        target: ``[..., bins]`` non-negative target weights (magnitude or
            power); any number of leading batch axes.
        pred: ``[..., bins]`` non-negative predicted weights (broadcastable
            against ``target``).
        positions: ``[bins]`` sorted (non-decreasing) bin positions shared by
            both inputs, in the units in which the cost is measured (e.g.
            frequency normalised to [0, 1], or log frequency). No gradient.
        p: order of the ground cost ``|x - y|^p``, ``p >= 1``. Default 2.
        cutoff: ``False`` (default): both inputs normalised to unit mass.
            ``True``: the paper's frequency cutoff -- ``pred`` is divided by
            the target's mass and quantile levels above 1 are dropped (see
            the module docstring for the full convention, incl. silence).

    Returns:
        ``[...]`` tensor of W_p^p per frame (the leading shape of the inputs),
        dtype float32 or float64 like the inputs (other dtypes compute in
        float32).

    CPU tensors use the numba two-pointer kernel (float64 accumulation,
    analytic gradient for both ``target`` and ``pred``, first order only);
    other devices use :func:`wasserstein_1d_sorted`.
    """
    p = _check_p(p)
    target, pred, x = _prepare(target, pred, positions)
    if target.device.type != "cpu":
        return wasserstein_1d_sorted(target, pred, x, p=p, cutoff=cutoff)
    x_np = x.cpu().numpy()
    xp = np.empty(x_np.shape[0] + 1, dtype=np.float64)  # positions + clip pad
    xp[:-1] = x_np
    xp[-1] = x_np[-1]
    grad_on = torch.is_grad_enabled()
    need_ga = bool(grad_on and target.requires_grad)
    need_gb = bool(grad_on and pred.requires_grad)
    return _Wasserstein1DNumba.apply(target, pred, xp, p, bool(cutoff), need_ga, need_gb)


# --------------------------------------------------------------------------
# sort-based formulation (any device, plain autograd)
# --------------------------------------------------------------------------
def _unit_cdf_torch(w: torch.Tensor, scale: torch.Tensor, force: torch.Tensor | bool,
                    silent: torch.Tensor) -> torch.Tensor:
    """cumsum(w / scale), uniform where ``silent``; clamp + last=1 where ``force``."""
    n = w.shape[-1]
    safe = torch.where(silent, torch.ones_like(scale), scale)
    w_hat = torch.where(silent, torch.full_like(w, 1.0 / n), w / safe)
    c = torch.cumsum(w_hat, dim=-1)
    forced = torch.cat([c[..., :-1].clamp(max=1.0), torch.ones_like(c[..., -1:])], dim=-1)
    if isinstance(force, bool):
        return forced if force else c
    return torch.where(force, forced, c)


def wasserstein_1d_sorted(
    target: torch.Tensor,
    pred: torch.Tensor,
    positions: ArrayLike,
    p: float = 2,
    cutoff: bool = False,
) -> torch.Tensor:
    """Sort-based quantile formulation of :func:`wasserstein_1d` (any device).

    Same signature, shapes, conventions and result as :func:`wasserstein_1d`:
    concatenate the two CDFs, sort them into the merged levels, searchsorted
    both CDFs at those levels (indices clipped to ``bins - 1``) and sum
    ``(r_k - r_{k-1}) * |x[ia_k] - x[ib_k]|^p`` (levels > 1 zeroed when
    ``cutoff``). This is the formulation of POT and of the paper's code;
    gradients come from plain torch autograd (through ``sort``), computed in
    the input dtype. Returns ``[...]`` W_p^p per frame.

    Precision: everything runs in the input dtype. In float32 the cumulative
    sums and the level differences ``r_k - r_{k-1}`` lose accuracy (measured
    up to ~6e-3 relative error on harmonic power spectra with 1025 bins, see
    ``results/bench_ot.md``), and near-tied levels may be ordered differently,
    which changes the gradient; pass float64 tensors when that matters. At
    exact ties (e.g. zero-weight bins) it picks a different, also valid,
    subgradient than the numba kernel.
    """
    p = _check_p(p)
    target, pred, x = _prepare(target, pred, positions)
    n = target.shape[-1]
    x = x.to(device=target.device, dtype=target.dtype)
    sa = target.sum(-1, keepdim=True)
    sb = pred.sum(-1, keepdim=True)
    silent_a = sa <= SILENCE_FLOOR
    silent_b = sb <= SILENCE_FLOOR
    A = _unit_cdf_torch(target, sa, True, silent_a)
    if cutoff:
        b_by_a = ~silent_a & ~silent_b
        B = _unit_cdf_torch(pred, torch.where(b_by_a, sa, sb), ~b_by_a, silent_b)
    else:
        B = _unit_cdf_torch(pred, sb, True, silent_b)
    lead = A.shape[:-1]
    A = A.reshape(-1, n).contiguous()
    B = B.reshape(-1, n).contiguous()
    qs = torch.sort(torch.cat([A, B], dim=-1), dim=-1).values
    ia = torch.searchsorted(A, qs).clamp_(max=n - 1)
    ib = torch.searchsorted(B, qs).clamp_(max=n - 1)
    d = (x[ia] - x[ib]).abs()
    cost = d if p == 1.0 else (d * d if p == 2.0 else d.pow(p))
    delta = torch.diff(qs, dim=-1, prepend=torch.zeros_like(qs[:, :1]))
    if cutoff:
        delta = torch.where(qs > 1.0, torch.zeros_like(delta), delta)
    return (delta * cost).sum(-1).reshape(lead)


# --------------------------------------------------------------------------
# single-frame numpy helpers (readable reference; plots and web app)
# --------------------------------------------------------------------------
def _np1d(v: ArrayLike, name: str) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    return arr


def cdf(weights: ArrayLike, cutoff_mass: float | None = None) -> np.ndarray:
    """Normalised cumulative sums of one frame, following the module conventions.

    Args:
        weights: ``[bins]`` non-negative weights (numpy or torch).
        cutoff_mass: ``None`` (default): divide by the frame's own mass; the
            result is clamped to <= 1 with last value exactly 1. A number
            (the target's mass, for the prediction under ``cutoff=True``):
            divide by it instead, no clamping (may end above or below 1).
            A silent frame (mass <= ``SILENCE_FLOOR``) gives the uniform CDF;
            a silent ``cutoff_mass`` falls back to the own mass.

    Returns:
        ``[bins]`` float64 CDF values (dimensionless mass levels).
    """
    w = _np1d(weights, "weights")
    n = w.shape[0]
    s = float(w.sum())
    if s <= SILENCE_FLOOR:
        c = np.arange(1, n + 1, dtype=np.float64) / n
        c[-1] = 1.0
        return c
    if cutoff_mass is not None and float(cutoff_mass) > SILENCE_FLOOR:
        return np.cumsum(w) / float(cutoff_mass)
    c = np.minimum(np.cumsum(w) / s, 1.0)
    c[-1] = 1.0
    return c


def quantile_function(
    weights: ArrayLike,
    positions: ArrayLike,
    levels: ArrayLike,
    cutoff_mass: float | None = None,
) -> np.ndarray:
    """Quantile function ``F^{-1}(r) = x[min(first i with CDF[i] >= r, n-1)]``.

    Args:
        weights: ``[bins]`` non-negative weights of one frame.
        positions: ``[bins]`` sorted positions.
        levels: ``[k]`` quantile levels r in [0, 1] (r = 0 gives ``x[0]``;
            levels beyond the frame's total mass give ``x[n-1]``).
        cutoff_mass: as in :func:`cdf`.

    Returns:
        ``[k]`` float64 positions.
    """
    x = _np1d(positions, "positions")
    c = cdf(weights, cutoff_mass)
    if c.shape != x.shape:
        raise ValueError("weights and positions must have the same length")
    r = np.asarray(levels, dtype=np.float64)
    idx = np.minimum(np.searchsorted(c, r, side="left"), x.shape[0] - 1)
    return x[idx]


def _pair_cdfs(target: ArrayLike, pred: ArrayLike, cutoff: bool) -> tuple[np.ndarray, np.ndarray]:
    a = _np1d(target, "target")
    b = _np1d(pred, "pred")
    if a.shape != b.shape:
        raise ValueError(f"target and pred must have the same length, got {a.shape}, {b.shape}")
    A = cdf(a)
    B = cdf(b, cutoff_mass=float(a.sum()) if cutoff else None)
    return A, B


def _merge(A: np.ndarray, B: np.ndarray, cutoff: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monotone coupling from two CDFs on a shared grid (reference version).

    Returns ``(ia, ib, mass)``: target bin, prediction bin and mass of each
    plan entry, in order of increasing quantile level, zero-mass entries
    dropped and consecutive entries with the same bin pair merged (so there
    are at most ``2 * bins - 1`` entries).
    """
    n = A.shape[0]
    levels = np.sort(np.concatenate([A, B]), kind="stable")
    ia = np.minimum(np.searchsorted(A, levels, side="left"), n - 1)
    ib = np.minimum(np.searchsorted(B, levels, side="left"), n - 1)
    mass = np.diff(levels, prepend=0.0)
    if cutoff:
        mass[levels > 1.0] = 0.0
    keep = mass > 0.0
    ia, ib, mass = ia[keep], ib[keep], mass[keep]
    if mass.size > 1:
        new = np.ones(mass.size, dtype=bool)
        new[1:] = (ia[1:] != ia[:-1]) | (ib[1:] != ib[:-1])
        group = np.cumsum(new) - 1
        mass = np.bincount(group, weights=mass)
        ia, ib = ia[new], ib[new]
    return ia, ib, mass


def plan_indices(
    target: ArrayLike, pred: ArrayLike, cutoff: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin indices of the exact monotone coupling of one frame.

    Args:
        target, pred: ``[bins]`` non-negative weights (numpy or torch).
        cutoff: as in :func:`wasserstein_1d`.

    Returns:
        ``(pred_idx, target_idx, mass)``: int arrays ``[k]`` and float64
        ``[k]``; mass ``mass[e]`` moves from prediction bin ``pred_idx[e]`` to
        target bin ``target_idx[e]``. Only positive masses; ``k <= 2*bins-1``.
    """
    A, B = _pair_cdfs(target, pred, cutoff)
    ia, ib, mass = _merge(A, B, cutoff)
    return ib, ia, mass


def transport_plan(
    target: ArrayLike, pred: ArrayLike, positions: ArrayLike, cutoff: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact monotone optimal coupling of one frame, as a list of moves.

    Mass moves FROM the prediction (source) TO the target. With
    ``cutoff=False`` the masses sum to 1 and the marginals are the normalised
    inputs. With ``cutoff=True`` the target marginal is the normalised
    target; the source marginal is the prediction divided by the target's
    mass, truncated at cumulative mass 1, with any deficit below 1 located at
    the last bin (``positions[-1]``), per the module convention. In both
    cases ``sum(mass * |source_pos - target_pos|**p) == wasserstein_1d``.

    Args:
        target, pred: ``[bins]`` non-negative weights (numpy or torch).
        positions: ``[bins]`` sorted positions.
        cutoff: as in :func:`wasserstein_1d`.

    Returns:
        ``(source_pos, target_pos, mass)``: three float64 arrays ``[k]`` with
        ``k <= 2*bins - 1``, positive masses only.
    """
    x = _np1d(positions, "positions")
    ib, ia, mass = plan_indices(target, pred, cutoff)
    if x.shape[0] != _np1d(target, "target").shape[0]:
        raise ValueError("positions must have the same length as target")
    return x[ib], x[ia], mass


def coupling_matrix(
    target: ArrayLike, pred: ArrayLike, positions: ArrayLike | None = None, cutoff: bool = False
) -> np.ndarray:
    """Dense coupling ``P[pred_bin, target_bin]`` (float64, ``[bins, bins]``).

    ``P.sum(1)`` is the prediction marginal, ``P.sum(0)`` the normalised
    target; see :func:`transport_plan`. ``positions`` is accepted for API
    symmetry and is not needed (the plan depends only on the weights).
    """
    ib, ia, mass = plan_indices(target, pred, cutoff)
    n = _np1d(target, "target").shape[0]
    P = np.zeros((n, n), dtype=np.float64)
    np.add.at(P, (ib, ia), mass)
    return P


def displacement_interpolation(
    target: ArrayLike, pred: ArrayLike, positions: ArrayLike, t: float, cutoff: bool = False
) -> np.ndarray:
    """McCann displacement interpolant between pred (t=0) and target (t=1).

    Every plan entry's mass is placed at ``(1-t)*source + t*target`` and split
    linearly between the two neighbouring grid points (so total mass and the
    mean position are preserved; the mean moves linearly in t). At ``t=0`` and
    ``t=1`` the result is exactly the normalised prediction / target (for
    ``cutoff=True`` the prediction as seen by the plan, see
    :func:`transport_plan`).

    Args:
        target, pred: ``[bins]`` non-negative weights.
        positions: ``[bins]`` sorted positions (interpolation happens in these
            units, e.g. log frequency gives a log-frequency glide).
        t: interpolation time in [0, 1].
        cutoff: as in :func:`wasserstein_1d`.

    Returns:
        ``[bins]`` float64 masses on the same grid (summing to 1).
    """
    x = _np1d(positions, "positions")
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be in [0, 1], got {t}")
    ib, ia, mass = plan_indices(target, pred, cutoff)
    n = x.shape[0]
    out = np.zeros(n, dtype=np.float64)
    if t == 0.0:
        np.add.at(out, ib, mass)
        return out
    if t == 1.0:
        np.add.at(out, ia, mass)
        return out
    y = (1.0 - t) * x[ib] + t * x[ia]
    k = np.clip(np.searchsorted(x, y, side="right") - 1, 0, n - 1)
    k1 = np.minimum(k + 1, n - 1)
    span = x[k1] - x[k]
    frac = np.where(span > 0, (y - x[k]) / np.where(span > 0, span, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)
    np.add.at(out, k, mass * (1.0 - frac))
    np.add.at(out, k1, mass * frac)
    return out
