"""Plotly figures of the web app: spectrograms, pitch tracks, transport plans, loss landscapes.

Every function takes plain numpy arrays (Hz, seconds, linear magnitudes or masses) and returns a
`plotly.graph_objects.Figure`; nothing here imports gradio or runs a model. Large arrays are
reduced before they are drawn (max-pooled over time, cropped and pooled over frequency) so a
60 s clip still gives a figure of a few hundred kB.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "Spectrogram",
    "amplitude_figure",
    "comparison_figure",
    "coupling_figure",
    "cdf_figure",
    "interpolation_figure",
    "landscape_figure",
    "live_pitch_figure",
    "live_placeholder",
    "pitch_figure",
    "race_figure",
    "spectrogram",
    "synthesis_figure",
    "transport_figure",
]

FLOOR_DB = -100.0
UP, DOWN, STAY = "#d95f02", "#1b6ac9", "#9a9a9a"  # transport direction colours
TARGET, PRED = "#1b9e77", "#7570b3"
_PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=45), height=380)


@dataclass
class Spectrogram:
    """A magnitude spectrogram ready to draw: `db[freqs, times]` in dB re a full-scale sine."""

    times_s: np.ndarray  # [times]
    freqs_hz: np.ndarray  # [freqs]
    db: np.ndarray  # [freqs, times] int8 dB
    log_freq: bool


def _pool_max(values: np.ndarray, size: int, axis: int = -1) -> np.ndarray:
    """Max over consecutive groups so that `axis` has at most `size` entries."""
    axis = axis % values.ndim
    n = values.shape[axis]
    if n <= size:
        return values
    group = int(np.ceil(n / size))
    widths = [(0, 0)] * values.ndim
    widths[axis] = (0, (-n) % group)
    padded = np.pad(values, widths, mode="edge")
    shape = list(padded.shape)
    shape[axis : axis + 1] = [shape[axis] // group, group]
    return padded.reshape(shape).max(axis=axis + 1)


def _pool_coords(coords: np.ndarray, size: int) -> np.ndarray:
    """Mean coordinate of each group of `_pool_max` along an axis of `len(coords)` entries."""
    n = len(coords)
    if n <= size:
        return coords
    group = int(np.ceil(n / size))
    padded = np.pad(np.asarray(coords, dtype=np.float64), (0, (-n) % group), mode="edge")
    return padded.reshape(-1, group).mean(axis=1)


def spectrogram(
    audio: np.ndarray,
    sample_rate: int = 16000,
    n_fft: int = 1024,
    hop_length: int = 256,
    log_freq: bool = False,
    fmin_hz: float = 40.0,
    max_times: int = 700,
    max_freqs: int = 320,
) -> Spectrogram:
    """Hann-window STFT of `audio` `[samples]` in dB re a full-scale sine, frames at i*hop.

    Frames are centred (librosa's convention), so column i matches the estimator's frame i.
    With `log_freq` the rows are resampled onto `max_freqs` log-spaced frequencies from
    `fmin_hz` to Nyquist, else max-pooled to at most `max_freqs` rows; time is max-pooled to at
    most `max_times` columns. dB values are rounded to integers (int8) to keep figures small.
    """
    audio = np.asarray(audio, dtype=np.float32)
    window_sum = n_fft / 2  # sum of a periodic Hann window
    mag = np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=hop_length, window="hann", center=True))
    db = 20 * np.log10(np.maximum(mag / (window_sum / 2), 1e-5))
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)
    times = np.arange(db.shape[1]) * hop_length / sample_rate
    if log_freq:
        log_freqs = np.geomspace(fmin_hz, sample_rate / 2, max_freqs)
        position = np.interp(log_freqs, freqs, np.arange(len(freqs)))
        lo = np.floor(position).astype(int)
        hi = np.minimum(lo + 1, len(freqs) - 1)
        frac = (position - lo)[:, None]
        db = db[lo] * (1 - frac) + db[hi] * frac
        freqs = log_freqs
    else:
        db, freqs = _pool_max(db, max_freqs, axis=0), _pool_coords(freqs, max_freqs)
    db, times = _pool_max(db, max_times, axis=1), _pool_coords(times, max_times)
    return Spectrogram(times, freqs, np.round(np.clip(db, FLOOR_DB, 0)).astype(np.int8), log_freq)


def _heatmap(spec: Spectrogram, name: str, showscale: bool = True, colorscale: str = "Magma") -> go.Heatmap:
    return go.Heatmap(
        x=spec.times_s, y=spec.freqs_hz, z=spec.db, zmin=FLOOR_DB, zmax=0, colorscale=colorscale, name=name,
        colorbar=dict(title="dB", len=0.8) if showscale else None, showscale=showscale,
        hovertemplate="%{x:.2f} s, %{y:.0f} Hz: %{z:.0f} dB<extra>" + name + "</extra>",
    )


def _freq_axis(log_freq: bool, fmax_hz: float | None = None, fmin_hz: float = 40.0) -> dict:
    if log_freq:
        return dict(type="log", title="frequency [Hz]", range=[np.log10(fmin_hz), np.log10(fmax_hz or 8000)])
    return dict(title="frequency [Hz]", range=[0, fmax_hz or 8000])


def pitch_figure(
    spec: Spectrogram,
    times_s: np.ndarray,
    f0_hz: np.ndarray,
    voiced: np.ndarray,
    pyin_times_s: np.ndarray | None = None,
    pyin_f0_hz: np.ndarray | None = None,
    model_name: str = "model",
    harmonicity: np.ndarray | None = None,
) -> go.Figure:
    """The estimated pitch track (voiced frames only) over the input spectrogram, plus pYIN.

    `f0_hz`, `voiced`, `harmonicity` (shown on hover; `voicing.harmonicity`): `[frames]` at
    `times_s`; `pyin_f0_hz`: NaN where pYIN finds no pitch.
    """
    fig = go.Figure(_heatmap(spec, "input", colorscale="Greys_r"))
    track = np.where(voiced, f0_hz, np.nan)
    comb = np.full(len(track), np.nan) if harmonicity is None else np.asarray(harmonicity, dtype=np.float64)
    fig.add_trace(go.Scatter(x=times_s, y=track, mode="lines", name=f"f0 ({model_name})", line=dict(color="#00e5ff", width=3),
                             customdata=comb, hovertemplate="%{x:.3f} s: %{y:.1f} Hz, harmonicity %{customdata:.2f}<extra>estimate</extra>"))
    if pyin_f0_hz is not None:
        fig.add_trace(go.Scatter(x=pyin_times_s, y=pyin_f0_hz, mode="lines", name="pYIN (librosa)",
                                 line=dict(color="#ffb000", width=2, dash="dot"),
                                 hovertemplate="%{x:.3f} s: %{y:.1f} Hz<extra>pYIN</extra>"))
    voiced_f0 = np.concatenate([f0_hz[voiced], pyin_f0_hz[np.isfinite(pyin_f0_hz)] if pyin_f0_hz is not None else []])
    top = float(np.clip(4 * np.max(voiced_f0), 500, 8000)) if voiced_f0.size else 2000.0
    fig.update_layout(title="Pitch track over the input spectrogram", xaxis_title="time [s]",
                      yaxis=_freq_axis(spec.log_freq, top), legend=dict(orientation="h", y=1.1, x=1, xanchor="right"), **_LAYOUT)
    return fig


def amplitude_figure(times_s: np.ndarray, amplitudes: np.ndarray, voiced: np.ndarray) -> go.Figure:
    """Harmonic amplitudes over time: `amplitudes[frames, K]` (linear) drawn in dB; unvoiced blank."""
    if not np.any(voiced):
        fig = go.Figure()
        fig.add_annotation(text="no voiced frame: nothing to show", showarrow=False, font=dict(size=16), x=0.5, y=0.5,
                           xref="paper", yref="paper")
        fig.update_layout(title="Harmonic amplitudes", xaxis=dict(visible=False), yaxis=dict(visible=False), **_LAYOUT)
        return fig
    db = 20 * np.log10(np.maximum(amplitudes, 1e-5)).T  # [K, frames]
    db[:, ~np.asarray(voiced, bool)] = np.nan
    db = _pool_max(np.nan_to_num(db, nan=-1e9), 700, axis=1)
    db = np.where(db < -1e8, np.nan, db).astype(np.float32)
    fig = go.Figure(go.Heatmap(x=_pool_coords(np.asarray(times_s), 700), y=np.arange(1, db.shape[0] + 1), z=db,
                               zmin=-80, zmax=0, colorscale="Viridis", colorbar=dict(title="dB"),
                               hovertemplate="%{x:.2f} s, harmonic %{y}: %{z:.1f} dB<extra></extra>"))
    fig.update_layout(title="Harmonic amplitudes", xaxis_title="time [s]", yaxis_title="harmonic number k (at k·f0)", **_LAYOUT)
    return fig


def comparison_figure(input_spec: Spectrogram, resynthesis_spec: Spectrogram) -> go.Figure:
    """Input and resynthesis spectrograms, one above the other, with linked time and frequency axes."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("input", "resynthesis (harmonic model)"))
    fig.add_trace(_heatmap(input_spec, "input"), row=1, col=1)
    fig.add_trace(_heatmap(resynthesis_spec, "resynthesis", showscale=False), row=2, col=1)
    fig.update_yaxes(**_freq_axis(input_spec.log_freq))
    fig.update_yaxes(matches="y", row=2, col=1)  # zooming in frequency zooms both
    fig.update_xaxes(title_text="time [s]", row=2, col=1)
    fig.update_layout(**{**_LAYOUT, "height": 560})
    return fig


def synthesis_figure(times_s: np.ndarray, true_f0_hz: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray) -> go.Figure:
    """Ground-truth f0 of a synthesized tone next to the estimate (voiced frames), log frequency."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=times_s, y=true_f0_hz, name="ground truth", line=dict(color="#333", width=4)))
    fig.add_trace(go.Scatter(x=times_s, y=np.where(voiced, f0_hz, np.nan), name="estimate", line=dict(color=_PALETTE[1], width=2)))
    values = np.concatenate([true_f0_hz, f0_hz[voiced]])
    fig.update_layout(title="f0: ground truth vs estimate", xaxis_title="time [s]",
                      yaxis=dict(type="log", title="f0 [Hz]", range=np.log10([values.min() / 1.5, values.max() * 1.5])), **_LAYOUT)
    return fig


def harmonic_amplitudes_figure(estimated: np.ndarray, true: np.ndarray | None = None) -> go.Figure:
    """True vs estimated harmonic amplitudes, each relative to its strongest partial, in dB:
    `estimated` `[K]`, `true` `[<= K]` (linear; None: the estimate alone)."""
    fig = go.Figure()
    k = np.arange(1, len(estimated) + 1)
    if true is not None:
        fig.add_trace(go.Bar(x=np.arange(1, len(true) + 1), y=20 * np.log10(np.maximum(true, 1e-4)) + 80, base=-80, name="ground truth",
                             marker_color="#333", opacity=0.35, hovertemplate="partial %{x}: %{y:.1f} dB<extra>truth</extra>"))
    fig.add_trace(go.Scatter(x=k, y=20 * np.log10(np.maximum(estimated, 1e-4)), mode="lines+markers", name="estimate",
                             line=dict(color=_PALETTE[1], width=2), hovertemplate="partial %{x}: %{y:.1f} dB<extra>estimate</extra>"))
    fig.update_layout(title="Harmonic amplitudes: truth vs estimate (median of voiced frames)",
                      xaxis=dict(title="partial k", dtick=1), yaxis=dict(title="dB re the strongest", range=[-80, 5]), **_LAYOUT)
    return fig


# ----------------------------------------------------------------------------------------------
# transport plan views (one spectral frame)
# ----------------------------------------------------------------------------------------------
def _xaxis(logf: bool, fmax_hz: float, fmin_hz: float = 30.0) -> dict:
    if logf:
        return dict(type="log", title="frequency [Hz]", range=[np.log10(fmin_hz), np.log10(fmax_hz)])
    return dict(title="frequency [Hz]", range=[0, fmax_hz])


def transport_figure(
    freqs_hz: np.ndarray,
    target: np.ndarray,
    pred: np.ndarray,
    source_bin: np.ndarray,
    target_bin: np.ndarray,
    mass: np.ndarray,
    fmax_hz: float,
    logf: bool = False,
    max_lines: int = 400,
) -> go.Figure:
    """Target mass (up) and predicted mass (down) over frequency, joined by the transport plan.

    `target`, `pred`: `[bins]` normalised masses; `source_bin`, `target_bin`, `mass`: `[k]` plan
    entries (prediction bin -> target bin). Each line carries one entry: width and opacity grow
    with its mass, colour says whether the mass moves up or down in frequency. The heaviest
    `max_lines` entries are drawn.
    """
    fig = go.Figure()
    scale = max(float(target.max()), float(pred.max()), 1e-12)
    for sign, values, colour, fill, name in ((1, target, TARGET, "rgba(27,158,119,0.35)", "target spectrum (mass)"),
                                             (-1, pred, PRED, "rgba(117,112,179,0.35)", "predicted spectrum (mass)")):
        fig.add_trace(go.Scatter(x=freqs_hz, y=np.full(len(freqs_hz), 0.15 * sign), mode="lines", line=dict(width=0),
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=freqs_hz, y=sign * (0.15 + 0.85 * values / scale), fill="tonexty", mode="lines", name=name,
                                 line=dict(color=colour, width=1), fillcolor=fill, hoverinfo="skip"))
    order = np.argsort(mass)[::-1][:max_lines]
    shown = float(mass[order].sum()) if mass.size else 0.0
    top = float(mass[order[0]]) if order.size else 1.0
    levels = [(0.5, 1.01, 6, 0.9), (0.2, 0.5, 4, 0.7), (0.05, 0.2, 2.5, 0.5), (0.0, 0.05, 1, 0.3)]
    for direction, colour, label in ((1, UP, "moves up"), (-1, DOWN, "moves down"), (0, STAY, "stays")):
        first = True
        for lo, hi, width, opacity in levels:
            chosen = [e for e in order if lo <= mass[e] / top < hi and np.sign(target_bin[e] - source_bin[e]) == direction]
            if not chosen:
                continue
            xs = np.full(3 * len(chosen), np.nan)
            ys = np.full(3 * len(chosen), np.nan)
            xs[0::3], xs[1::3] = freqs_hz[source_bin[chosen]], freqs_hz[target_bin[chosen]]
            ys[0::3], ys[1::3] = -0.15, 0.15
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width), opacity=opacity,
                                     name=f"plan: mass {label}", legendgroup=label, showlegend=first, hoverinfo="skip"))
            first = False
    fig.update_layout(
        title=f"Transport plan: the {len(order)} heaviest of {mass.size} moves ({100 * shown:.1f} % of the mass)",
        xaxis=_xaxis(logf, fmax_hz), yaxis=dict(showticklabels=False, title="prediction ↓   ·   target ↑", range=[-1.05, 1.05]),
        legend=dict(orientation="h", y=-0.22), **{**_LAYOUT, "height": 430},
    )
    return fig


def cdf_figure(
    freqs_hz: np.ndarray,
    target_cdf: np.ndarray,
    pred_cdf: np.ndarray,
    levels: np.ndarray,
    target_quantile_hz: np.ndarray,
    pred_quantile_hz: np.ndarray,
    fmax_hz: float,
    logf: bool = False,
) -> go.Figure:
    """Left: the two CDFs over frequency. Right: the quantile functions (inverse CDFs) over the
    level r; the shaded gap at each r is the distance the r-th quantile of mass travels."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cumulative mass F(f)", "quantile functions F⁻¹(r): the gap is transported"))
    fig.add_trace(go.Scatter(x=freqs_hz, y=target_cdf, name="target", line=dict(color=TARGET, shape="hv")), row=1, col=1)
    fig.add_trace(go.Scatter(x=freqs_hz, y=pred_cdf, name="prediction", line=dict(color=PRED, shape="hv")), row=1, col=1)
    fig.add_trace(go.Scatter(x=levels, y=target_quantile_hz, name="target F⁻¹", line=dict(color=TARGET, shape="hv"), showlegend=False), row=1, col=2)
    fig.add_trace(go.Scatter(x=levels, y=pred_quantile_hz, name="prediction F⁻¹", line=dict(color=PRED, shape="hv"), fill="tonexty",
                             fillcolor="rgba(217,95,2,0.25)", showlegend=False), row=1, col=2)
    fig.update_xaxes(**_xaxis(logf, fmax_hz), row=1, col=1)
    fig.update_yaxes(title_text="mass", row=1, col=1)
    fig.update_xaxes(title_text="quantile level r", range=[0, 1], row=1, col=2)
    y = _xaxis(logf, fmax_hz)
    fig.update_yaxes(type=y.get("type", "linear"), range=y["range"], title_text="frequency [Hz]", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    return fig


def _pool_sum_2d(matrix: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    group = max(1, int(np.ceil(matrix.shape[0] / size)))
    n = int(np.ceil(matrix.shape[0] / group)) * group
    padded = np.zeros((n, n))
    padded[: matrix.shape[0], : matrix.shape[1]] = matrix
    return padded.reshape(n // group, group, n // group, group).sum(axis=(1, 3)), group


def coupling_figure(freqs_hz: np.ndarray, coupling: np.ndarray, fmax_hz: float, max_cells: int = 160) -> go.Figure:
    """The coupling matrix `coupling[pred_bin, target_bin]` (log colour) with its two marginals.

    Cropped to `fmax_hz` and summed into at most `max_cells` × `max_cells` cells. Mass on the
    diagonal stays where it is; mass above it moves up in frequency.
    """
    keep = int(np.searchsorted(freqs_hz, fmax_hz, side="right"))
    pooled, group = _pool_sum_2d(coupling[:keep, :keep], max_cells)
    centres = freqs_hz[:keep][::group][: pooled.shape[0]] + (freqs_hz[1] - freqs_hz[0]) * (group - 1) / 2
    fig = make_subplots(rows=2, cols=2, column_widths=[0.8, 0.2], row_heights=[0.22, 0.78], shared_xaxes="columns",
                        shared_yaxes="rows", horizontal_spacing=0.02, vertical_spacing=0.03)
    z = np.where(pooled > 0, np.log10(np.maximum(pooled, 1e-12)), np.nan)
    fig.add_trace(go.Heatmap(x=centres, y=centres, z=z, zmin=-6, zmax=0, colorscale="YlOrRd", colorbar=dict(title="log₁₀ mass", x=1.02),
                             hovertemplate="from %{y:.0f} Hz to %{x:.0f} Hz: 10^%{z:.1f}<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Scatter(x=[centres[0], centres[-1]], y=[centres[0], centres[-1]], mode="lines", line=dict(color="#888", dash="dot"),
                             showlegend=False, hoverinfo="skip"), row=2, col=1)
    fig.add_trace(go.Bar(x=centres, y=pooled.sum(0), marker_color=TARGET, name="target marginal"), row=1, col=1)
    fig.add_trace(go.Bar(y=centres, x=pooled.sum(1), orientation="h", marker_color=PRED, name="prediction marginal"), row=2, col=2)
    fig.update_xaxes(title_text="target frequency [Hz] (to)", row=2, col=1)
    fig.update_yaxes(title_text="predicted frequency [Hz] (from)", row=2, col=1)
    fig.update_layout(title="Coupling matrix and its marginals", bargap=0, legend=dict(orientation="h", y=-0.15),
                      **{**_LAYOUT, "height": 520})
    return fig


def interpolation_figure(freqs_hz: np.ndarray, times: np.ndarray, displacement: np.ndarray, linear: np.ndarray,
                         fmax_hz: float, logf: bool = False) -> go.Figure:
    """Animation over t ∈ [0, 1]: displacement interpolation (mass slides along frequency, what
    OT sees) beside the linear blend (1−t)·pred + t·target (what L1/L2 losses see).

    `displacement`, `linear`: `[len(times), bins]` masses on `freqs_hz`.
    """
    keep = int(np.searchsorted(freqs_hz, fmax_hz, side="right"))
    x = freqs_hz[:keep].astype(np.float32)
    top = 1.05 * float(max(displacement[:, :keep].max(), linear[:, :keep].max(), 1e-12))

    def traces(i: int) -> list[go.Scatter]:
        return [go.Scatter(x=x, y=displacement[i, :keep].astype(np.float32), fill="tozeroy", line=dict(color=UP), name="displacement (OT)"),
                go.Scatter(x=x, y=linear[i, :keep].astype(np.float32), fill="tozeroy", line=dict(color=DOWN), name="linear blend (L1/L2)",
                           xaxis="x2", yaxis="y2")]

    fig = make_subplots(rows=1, cols=2, subplot_titles=("displacement interpolation: mass slides", "linear blend: mass fades"))
    for trace in traces(0):
        fig.add_trace(trace)
    fig.frames = [go.Frame(data=traces(i), name=f"{t:.2f}") for i, t in enumerate(times)]
    steps = [dict(method="animate", label=f"{t:.2f}", args=[[f"{t:.2f}"], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
             for t in times]
    fig.update_layout(
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.28, xanchor="left", buttons=[
            dict(label="▶ play", method="animate", args=[None, dict(frame=dict(duration=120, redraw=True), fromcurrent=True, transition=dict(duration=0))]),
            dict(label="❚❚", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])],
        sliders=[dict(active=0, x=0.12, len=0.88, y=-0.2, currentvalue=dict(prefix="t = "), steps=steps)],
        showlegend=False, **{**_LAYOUT, "height": 430, "margin": dict(l=60, r=20, t=50, b=110)},
    )
    axis = _xaxis(logf, fmax_hz)
    fig.update_xaxes(**{k: v for k, v in axis.items() if k != "title"})
    fig.update_yaxes(range=[0, top], title_text="mass", col=1)
    fig.update_yaxes(range=[0, top], col=2)
    return fig


# ----------------------------------------------------------------------------------------------
# loss landscape
# ----------------------------------------------------------------------------------------------
def models_figure(names: list[str], rpa: list[float | None], paper_rpa: list[float | None], lsd: list[float | None],
                  paper_lsd: list[float | None]) -> go.Figure:
    """RPA (%, higher is better) and LSD (lower is better) per model, ours beside the paper's,
    as two bar charts side by side; None draws no bar."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("RPA % (higher is better)", "LSD (lower is better)"), horizontal_spacing=0.08)
    nan = lambda values: [np.nan if v is None else v for v in values]  # noqa: E731
    for col, (ours, paper) in enumerate(((rpa, paper_rpa), (lsd, paper_lsd)), start=1):
        fig.add_trace(go.Bar(x=names, y=nan(ours), name="ours", marker_color=_PALETTE[1], showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Bar(x=names, y=nan(paper), name="paper", marker_color="#999", showlegend=col == 1), row=1, col=col)
    layout = {**_LAYOUT, "margin": dict(_LAYOUT["margin"], t=80)}  # room for the legend above the subplot titles
    fig.update_layout(title="Paper's tones, test split: ours vs the paper", barmode="group",
                      legend=dict(orientation="h", y=1.2, x=1, xanchor="right", yanchor="bottom"), **layout)
    fig.update_annotations(yshift=-4)
    fig.update_xaxes(tickangle=-40)
    return fig


def landscape_figure(f0_hz: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]], target_f0_hz: float) -> go.Figure:
    """Top: each loss vs predicted f0 (scaled to 0..1 so shapes compare). Bottom: for each loss,
    whether gradient descent moves the predicted f0 toward the target (green) or away (red).

    `curves[name] = (values [n], d_values_d_f0 [n])` on the grid `f0_hz [n]`.
    """
    names = list(curves)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.06,
                        subplot_titles=("loss (each scaled to 0…1)", "gradient descent step: toward the target (green) or away (red)"))
    toward = np.zeros((len(names), len(f0_hz)))
    for i, name in enumerate(names):
        values, grad = curves[name]
        span = float(values.max() - values.min()) or 1.0
        fig.add_trace(go.Scatter(x=f0_hz, y=(values - values.min()) / span, name=name, line=dict(color=_PALETTE[i % len(_PALETTE)])), row=1, col=1)
        toward[i] = np.where(np.sign(-grad) == np.sign(target_f0_hz - f0_hz), 1.0, -1.0)
        toward[i][np.abs(12 * np.log2(f0_hz / target_f0_hz)) < 0.5] = 0.0
    fig.add_trace(go.Heatmap(x=f0_hz, y=names, z=toward, zmin=-1, zmax=1, showscale=False,
                             colorscale=[[0, "#d7301f"], [0.5, "#f0f0f0"], [1, "#31a354"]],
                             hovertemplate="%{y} at %{x:.0f} Hz<extra></extra>"), row=2, col=1)
    for row in (1, 2):
        fig.add_vline(x=target_f0_hz, line=dict(color="#000", dash="dash"), row=row, col=1)
    fig.update_xaxes(type="log", range=np.log10([f0_hz.min(), f0_hz.max()]))
    fig.update_xaxes(title_text="predicted f0 [Hz]", row=2, col=1)
    fig.update_layout(legend=dict(orientation="h", y=1.12), **{**_LAYOUT, "height": 560})
    return fig


def race_figure(trajectories: dict[str, np.ndarray], target_f0_hz: float) -> go.Figure:
    """Predicted f0 over gradient-descent iterations under each loss, from the same start."""
    fig = go.Figure()
    for i, (name, f0) in enumerate(trajectories.items()):
        fig.add_trace(go.Scatter(x=np.arange(len(f0)), y=f0, name=name, line=dict(color=_PALETTE[i % len(_PALETTE)])))
    fig.add_hline(y=target_f0_hz, line=dict(color="#000", dash="dash"), annotation_text="target f0")
    fig.update_layout(title="Gradient-descent race (Adam on log f0)", xaxis_title="iteration",
                      yaxis=dict(type="log", title="predicted f0 [Hz]"), legend=dict(orientation="h", y=-0.2), **{**_LAYOUT, "height": 430})
    return fig


_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def live_pitch_figure(times_s: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray, confidence: np.ndarray, now_s: float,
                      window_s: float = 10.0) -> go.Figure:
    """The Live tab's rolling pitch track: voiced frames only, as dots whose opacity is the
    confidence (0..1, floored at 0.15 so every voiced frame shows), over the last `window_s`
    seconds before `now_s` (x: seconds relative to now); y: log frequency with note names
    (A4 = 440 Hz) spanning the voiced frames (at least an octave, default E2-C6 before any).
    `times_s`, `f0_hz`, `voiced`, `confidence`: `[frames]`, stream time [s] and Hz."""
    voiced = np.asarray(voiced, dtype=bool)
    x = np.asarray(times_s, dtype=np.float64)[voiced] - now_s
    y = np.asarray(f0_hz, dtype=np.float64)[voiced]
    alpha = np.clip(np.asarray(confidence, dtype=np.float64)[voiced], 0.15, 1.0)
    if y.size:
        lo, hi = np.log2(np.percentile(y, 2)) - 0.25, np.log2(np.percentile(y, 98)) + 0.25
        middle, half = (lo + hi) / 2, max((hi - lo) / 2, 0.5)
        lo, hi = middle - half, middle + half
    else:
        lo, hi = np.log2(82.41), np.log2(1046.5)
    midi = np.arange(int(np.floor(69 + 12 * (lo - np.log2(440)))), int(np.ceil(69 + 12 * (hi - np.log2(440)))) + 1)
    step = 1 if len(midi) <= 16 else (2 if len(midi) <= 32 else 12)
    if step == 2:  # the natural notes
        midi = midi[np.isin(midi % 12, [0, 2, 4, 5, 7, 9, 11])]
    elif step == 12:
        midi = midi[np.isin(midi % 12, [0, 9])]  # C and A
    names = [f"{_NOTE_NAMES[m % 12]}{m // 12 - 1}" for m in midi]
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers", name="f0 (voiced frames; opacity = confidence)",
        marker=dict(color="#0072b2", size=7, opacity=alpha, line=dict(width=0)),
        customdata=np.stack([alpha], axis=-1) if y.size else None,
        hovertemplate="%{x:.2f} s: %{y:.1f} Hz, confidence %{customdata[0]:.2f}<extra></extra>"))
    fig.update_layout(
        title=f"Pitch, last {window_s:.0f} s (stream time {now_s:.1f} s)",
        xaxis=dict(title="seconds ago", range=[-window_s, 0]),
        yaxis=dict(type="log", range=[lo * np.log10(2), hi * np.log10(2)], tickvals=440 * 2 ** ((midi - 69) / 12), ticktext=names,
                   title="note", gridcolor="#e5e5e5"),
        showlegend=False, **_LAYOUT)
    return fig


def live_placeholder(message: str) -> go.Figure:
    """An empty chart that says what it waits for (`message`)."""
    fig = go.Figure()
    fig.update_layout(title=message, xaxis=dict(visible=False), yaxis=dict(visible=False), **_LAYOUT)
    return fig
