"""Unsupervised training of the encoder through the synthesizer (paper Sec. 3).

No label reaches the loss: each step encodes CQT frames, synthesizes tones from the predicted
f0 and amplitudes, and compares them with the input audio under the configuration's
`SpectralLoss`. The paper's data are stationary, so every CQT frame of a clip carries the
same information: we encode one frame per clip and synthesize the whole clip with constant
parameters, far cheaper than encoding all frames (shared/paper.md). By default that frame is the
middle one (fully inside the signal); a curriculum phase may draw any frame instead
(`Stage.input_frame`), so that the encoder also learns the edge frames, whose CQT sees part of
the clip and zero padding, and which the test-split evaluation scores. Validation (RPA, RCA,
LSD on the val split) runs every `eval_every` steps on the middle frame of each clip and a
resynthesis with its constant parameters (17x cheaper than all frames; the test-split
evaluation in `evaluate` uses all frames); the weights with the best validation LSD are kept,
as in the paper.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .config import RunConfig, Stage
from .data import Dataset, generate, split
from .losses import SpectralLoss, posterior_spread
from .metrics import lsd, raw_chroma_accuracy, raw_pitch_accuracy
from .model import HarmonicModel, load, save
from .encoder import EncoderConfig
from .synth import level_matched
from .spectral import CQT_BINS, CQT_BINS_PER_OCTAVE, CQT_FMIN, HOP, cqt

__all__ = ["EncodedSplit", "evaluate_split", "loss_targets", "prepare", "train"]


@dataclass
class EncodedSplit:
    """A data split with its CQT frames: `frames` is `[clips, frames, 285]` float32."""

    data: Dataset
    frames: torch.Tensor

    @property
    def middle(self) -> torch.Tensor:
        """The middle CQT frame of every clip, `[clips, 285]`."""
        return self.frames[:, self.frames.shape[1] // 2]


def cache_dir() -> Path:
    """Where CQT frames of generated datasets are cached: $SOTDEMO_CACHE, else ~/.cache/sotdemo."""
    return Path(os.environ.get("SOTDEMO_CACHE", Path.home() / ".cache" / "sotdemo"))


def _frames(part: Dataset, encoder: EncoderConfig = EncoderConfig()) -> torch.Tensor:
    """CQT frames of `part` with the encoder's bins, read from the cache when this exact audio and
    front end were seen before (the file name hashes both, so a stale file never matches)."""
    front = (encoder.fmin_hz, encoder.n_bins, encoder.bins_per_octave)
    digest = hashlib.sha256(part.audio.tobytes()).hexdigest()[:20]
    suffix = "" if front == (CQT_FMIN, CQT_BINS, CQT_BINS_PER_OCTAVE) else "-" + hashlib.sha256(repr(front).encode()).hexdigest()[:8]
    path = cache_dir() / f"cqt-{digest}{suffix}.npy"
    if path.exists():
        return torch.from_numpy(np.load(path))
    frames = cqt(part.audio, part.sample_rate, *front)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(temporary, frames)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only home only costs the recomputation
    return torch.from_numpy(frames)


def prepare(config: RunConfig, splits: tuple[str, ...] = ("train", "val")) -> dict[str, EncodedSplit]:
    """Generate the configuration's dataset and compute (or read cached) CQT frames of the wanted splits."""
    dataset = generate(config.data)
    prepared = {}
    for name in splits:
        part = split(dataset, name, config.data.split_fractions)
        prepared[name] = EncodedSplit(part, _frames(part, config.encoder))
    return prepared


@torch.no_grad()
def evaluate_split(
    model: HarmonicModel, encoded: EncodedSplit, batch_size: int = 256, all_frames: bool = True
) -> dict[str, float]:
    """RPA and RCA (%) over every frame of every clip with a pitch, and LSD of the frame-wise resynthesis of every clip;
    with `all_frames=False`, of the middle frame only and a resynthesis with its constant
    parameters (how training sees a clip)."""
    model.eval()
    data = encoded.data
    targets = loss_targets(data, model.config.data.peak)
    n_samples = data.audio.shape[1]
    source = encoded.frames if all_frames else encoded.middle[:, None]
    f0_all, lsd_all = [], []
    relative = model.config.encoder.amplitude_head == "harmonic"
    for start in range(0, len(data), batch_size):
        frames = source[start : start + batch_size]
        out = model(frames)
        f0_all.append(out.f0_hz.numpy())
        amplitudes = out.amplitudes
        if relative:  # amplitudes relative to the frame: at the clip's level, as `estimate` scales them
            rms = torch.from_numpy(targets[start : start + batch_size]).pow(2).mean(-1).sqrt()
            amplitudes = level_matched(amplitudes, out.f0_hz, rms[:, None] if amplitudes.dim() == 3 else rms)
        audio = model.synthesize(out.f0_hz, amplitudes, n_samples, hop_length=HOP)
        lsd_all.append(lsd(torch.from_numpy(targets[start : start + batch_size]), audio, per_clip=True).numpy())
    f0 = np.concatenate(f0_all)
    pitched = data.f0_hz > 0  # noise-only clips (f0 0) have no pitch to score
    f0 = f0[pitched]
    truth = np.repeat(data.f0_hz[pitched, None], f0.shape[1], axis=1)
    return {
        "rpa": 100 * raw_pitch_accuracy(truth, f0),
        "rca": 100 * raw_chroma_accuracy(truth, f0),
        "lsd": float(np.concatenate(lsd_all).mean()),
    }


def with_readout(model: HarmonicModel, temperature: float | None) -> HarmonicModel:
    """`model` (same weights, eval mode) reading f0 at soft-argmax `temperature` in eval mode
    (`EncoderConfig.readout_temperature`; None: the training temperature), its config saying so."""
    encoder = dataclasses.replace(model.config.encoder, readout_temperature=None if temperature is None else float(temperature))
    model.config = dataclasses.replace(model.config, encoder=encoder)
    model.encoder.config = encoder
    return model.eval()


def choose_readout(model: HarmonicModel, val_split: EncodedSplit, temperatures: tuple[float, ...]) -> dict:
    """The soft-argmax temperature among `temperatures` at which `model` resynthesizes the validation
    split best: lowest LSD over every frame (`evaluate_split`; no labels used). The training
    temperature averages in posterior mass far from the peak (an octave below a pure tone's pitch,
    say), which pulls f0 flat; a cooler reading follows the peak. Returns
    `{"chosen": T, "temperatures": [...], "val_lsd": [...]}`; `model`'s own readout is left as it was."""
    before = model.config.encoder.readout_temperature
    scores = []
    for temperature in temperatures:
        scores.append(evaluate_split(with_readout(model, temperature), val_split)["lsd"])
    chosen = float(temperatures[int(np.argmin(scores))])
    with_readout(model, before)
    return {"chosen": chosen, "temperatures": [float(t) for t in temperatures], "val_lsd": [round(float(x), 4) for x in scores]}


def loss_targets(data: Dataset, peak: float) -> np.ndarray:
    """The clips as the loss and LSD see them, `[clips, samples]`: each rescaled to `peak`. The
    encoder is blind to level (it LayerNorms its frame) and `estimate` sets the synthesizer's
    level from the input, so clips drawn at -40..0 dBFS (`realistic`) are compared at one level;
    clips already at that peak (the paper's, 0.9) are returned unchanged."""
    peaks = np.abs(data.audio).max(axis=1)
    if np.allclose(peaks, peak, rtol=1e-5):
        return data.audio
    return (data.audio * (peak / np.maximum(peaks, 1e-12))[:, None]).astype(np.float32)


def _phase_gains(stages: tuple[Stage, ...], n_harmonics: int):
    """For each phase, a function: step within the phase -> gain per partial `[K]` (0 silences
    a partial; partials new to the phase fade in over `fade_in_steps`)."""
    out, previous = [], 0
    for stage in stages:
        active = n_harmonics if stage.n_harmonics is None else min(stage.n_harmonics, n_harmonics)
        k = torch.arange(n_harmonics)

        def gains(t: int, active=active, previous=previous, fade=stage.fade_in_steps) -> torch.Tensor:
            ramp = 1.0 if fade <= 0 else min(1.0, (t + 1) / fade)
            return torch.where(k < previous, 1.0, torch.where(k < active, ramp, 0.0))

        out.append((stage, gains))
        previous = active
    return out


def _stage_loss(config: RunConfig, stage: Stage, sot_only: bool = False) -> SpectralLoss:
    """The run's loss with the phase's overrides (`Stage.loss`); `sot_only`: its SOT term alone."""
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in stage.loss.items()}
    if sot_only:
        overrides.update(lin_weight=0.0, log_weight=0.0)
    return SpectralLoss(dataclasses.replace(config.loss, **overrides))


@torch.no_grad()
def _phase_loss(model, loss_fn, stage, gains, frames, audio, batch_size: int = 200) -> float:
    """`loss_fn` as the phase applies it, on the validation clips' middle frames (no labels involved)."""
    model.eval()
    total = 0.0
    for start in range(0, len(frames), batch_size):
        out = model(frames[start : start + batch_size])
        value = loss_fn.from_parameters(audio[start : start + batch_size], out.f0_hz, out.amplitudes * gains, stage.split_gradients, stage.sot_mass, stage.sot_tone)
        total += value.item() * len(out.f0_hz)
    return total / len(frames)


def train(
    config: RunConfig,
    seed: int,
    out_dir: Path | None = None,
    steps: int | None = None,
    device: str = "cpu",
    prepared: dict[str, EncodedSplit] | None = None,
    progress: bool = True,
) -> tuple[HarmonicModel, dict]:
    """Train one seed of `config`; save the best-validation-LSD weights to `out_dir` if given.

    Returns the best model (on CPU) and the metrics written to metrics.json: the validation
    curve, the best step and its metrics, steps, and wall time.
    """
    if steps is not None:
        config = dataclasses.replace(config, train=config.train.with_steps(steps))
    tc = config.train
    started = time.perf_counter()
    prepared = prepared or prepare(config)
    train_split, val_split = prepared["train"], prepared["val"]

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = HarmonicModel(config)
    if tc.init_from is not None:
        start = load(tc.init_from)
        same_head = dict(amplitude_head=config.encoder.amplitude_head, harmonic_hidden=config.encoder.harmonic_hidden,
                         readout_temperature=config.encoder.readout_temperature)
        if dataclasses.replace(start.config.encoder, **same_head) != config.encoder:
            raise ValueError(f"init_from {tc.init_from!r} has other encoder sizes than {config.name!r}")
        state = start.encoder.state_dict()
        if start.config.encoder.amplitude_head != config.encoder.amplitude_head:  # a new kind of head starts from scratch
            state = {k: v for k, v in state.items() if not k.startswith("amplitude_head.")}
            state.update({k: v for k, v in model.encoder.state_dict().items() if k.startswith("amplitude_head.")})
        model.encoder.load_state_dict(state)
    model = model.to(device)

    def new_optimizer() -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=tc.learning_rate, weight_decay=tc.weight_decay)

    optimizer = new_optimizer()
    amplitude_head = {id(p) for p in model.encoder.amplitude_head.parameters()}
    pitch_path = [p for p in model.parameters() if id(p) not in amplitude_head]
    frames = train_split.frames.to(device)  # [clips, frames, bins]
    middle = frames.shape[1] // 2
    audio = torch.from_numpy(loss_targets(train_split.data, config.data.peak)).to(device)
    val_frames, val_audio = val_split.middle.to(device), torch.from_numpy(loss_targets(val_split.data, config.data.peak)).to(device)
    n_clips = audio.shape[0]

    curve: list[dict] = []
    best: dict = {"val_lsd": float("inf")}
    best_state = None
    kept: list[dict] = []
    window_losses: list[float] = []
    phases = _phase_gains(tc.stages(), config.encoder.n_harmonics)
    losses = [_stage_loss(config, stage).to(device) for stage, _ in phases]
    criteria = [_stage_loss(config, stage, sot_only=True).to(device) if stage.keep_best else None for stage, _ in phases]
    schedule = [(number, stage, t, gains) for number, (stage, gains) in enumerate(phases) for t in range(stage.steps)]
    phase_best: dict = {"loss": float("inf")}
    bar = tqdm(range(1, tc.steps + 1), desc=f"{config.name} seed {seed}", disable=not progress, dynamic_ncols=True)
    for step in bar:
        number, stage, t, gains = schedule[step - 1]
        loss_fn = losses[number]
        for group in optimizer.param_groups:
            group["lr"] = stage.learning_rate(tc.learning_rate, t)
        model.train()
        index = torch.from_numpy(rng.choice(n_clips, size=min(tc.batch_size, n_clips), replace=False)).to(device)
        if stage.input_frame == "any":
            at = torch.from_numpy(rng.integers(0, frames.shape[1], size=len(index))).to(device)
        else:
            at = torch.full_like(index, middle)
        out = model(frames[index, at], stage.amplitudes_train_trunk)
        f0 = out.f0_hz if stage.train_f0 else out.f0_hz.detach()
        amplitudes = out.amplitudes * gains(t).to(device)
        if stage.match_level:
            amplitudes = level_matched(amplitudes, f0, audio[index].pow(2).mean(-1).sqrt(), config.data.sample_rate)
        loss = loss_fn.from_parameters(audio[index], f0, amplitudes, stage.split_gradients, stage.sot_mass, stage.sot_tone)
        if stage.sharpen_weight > 0:
            loss = loss + stage.sharpen_weight * posterior_spread(out.logits, config.encoder.temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if not stage.train_f0:  # f0 stays put: only the amplitude head learns (the trunk feeds the pitch head too)
            for parameter in pitch_path:
                parameter.grad = None
        optimizer.step()
        window_losses.append(loss.item())
        end_of_phase = t == stage.steps - 1
        if step % tc.eval_every == 0 or step == tc.steps or (stage.keep_best and end_of_phase):
            cpu_model = model if device == "cpu" else copy.deepcopy(model).cpu()
            val = evaluate_split(cpu_model, val_split, all_frames=False)
            train_loss = float(np.mean(window_losses))
            window_losses = []
            point = {"step": step, "train_loss": train_loss, "val_lsd": val["lsd"], "val_rpa": val["rpa"], "val_rca": val["rca"]}
            if stage.keep_best:
                point["phase_val_sot"] = _phase_loss(model, criteria[number], stage, gains(t).to(device), val_frames, val_audio)
                if point["phase_val_sot"] < phase_best["loss"]:
                    phase_best = {"loss": point["phase_val_sot"], "step": step, "state": copy.deepcopy(model.state_dict())}
            curve.append(point)
            if val["lsd"] < best["val_lsd"]:
                best = {"step": step, "val_lsd": val["lsd"], "val_rpa": val["rpa"], "val_rca": val["rca"]}
                best_state = {k: v.detach().cpu().clone() for k, v in model.encoder.state_dict().items()}
            bar.set_postfix(loss=f"{train_loss:.4g}", val_rpa=f"{val['rpa']:.1f}", val_lsd=f"{val['lsd']:.1f}")
        if stage.keep_best and end_of_phase:
            model.load_state_dict(phase_best["state"])
            optimizer = new_optimizer()
            kept.append({"phase": number + 1, "step": phase_best["step"], "phase_val_sot": phase_best["loss"]})
            phase_best = {"loss": float("inf")}

    best_model = HarmonicModel(config)
    best_model.encoder.load_state_dict(best_state)
    best_model.eval()
    readout = choose_readout(best_model, val_split, tc.readout_temperatures) if tc.readout_temperatures else None
    if readout is not None:
        best_model = with_readout(best_model, readout["chosen"])
    metrics = {
        "config": config.name,
        "seed": seed,
        "steps": tc.steps,
        "device": device,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "best_step": best["step"],
        "best_val_lsd": best["val_lsd"],
        "best_val_rpa": best["val_rpa"],
        "best_val_rca": best["val_rca"],
        "kept": kept,
        "curve": curve,
    }
    if readout is not None:
        metrics["readout"] = readout
    if out_dir is not None:
        save(best_model, out_dir, {"seed": seed}, metrics)
    return best_model, metrics
