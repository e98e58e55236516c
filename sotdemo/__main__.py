"""Command line: `sotdemo train|evaluate|estimate|app` or `python -m sotdemo ...` (thin wrappers over the package)."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources
from pathlib import Path

# Only what --help needs is imported here (it answers in well under a second); torch, librosa and
# the model come in with the command that uses them.
DECODER_CHOICES = ("viterbi", "peak")  # estimate.DECODERS, without importing it (tests/test_cli.py checks they agree)
ENGINE_CHOICES = ("auto", "torch", "onnxruntime")  # engine.ENGINES, likewise


def _config_names() -> list[str]:
    """The shipped configurations' names, read off the package data without importing torch."""
    return sorted(p.name[: -len(".json")] for p in (resources.files("sotdemo") / "configs").iterdir() if p.name.endswith(".json"))


def _train(args: argparse.Namespace) -> int:
    import torch

    from .config import load_config
    from .model import checkpoint_root
    from .train import train

    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.config)
    out_dir = Path(args.out) if args.out else checkpoint_root() / config.name / f"seed-{args.seed}"
    _, metrics = train(config, args.seed, out_dir=out_dir, steps=args.steps, device=args.device)
    print(
        f"{config.name} seed {args.seed}: best step {metrics['best_step']}, val LSD {metrics['best_val_lsd']:.2f}, "
        f"val RPA {metrics['best_val_rpa']:.2f} %, RCA {metrics['best_val_rca']:.2f} % "
        f"({metrics['wall_time_s']:.0f} s) -> {out_dir}"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_all, write_table

    results = evaluate_all(Path(args.checkpoints) if args.checkpoints else None)
    if not results:
        print("error: no checkpoints with seeds found", file=sys.stderr)
        return 2
    print(write_table(results, Path(args.out)))
    return 0


def _with_path(text: str, file: str) -> str:
    """A message about `file` that starts with the file's name (as the loader writes it: "take.wav: ..." or
    "take.wav is clipped ..."), with the path as given instead, so that two take1.wav in different folders can
    be told apart; `<file>: ` prefixed otherwise."""
    from .audio import display_name

    name = display_name(Path(file).name)
    starts = text.startswith(name + ":") or text.startswith(name + " ")  # "take.wav: ..." or "take.wav is clipped ..."
    return f"{file}{text[len(name):]}" if starts else f"{file}: {text}"


def _warn(warnings: list[str], file: str) -> None:
    """Each warning on stderr as `warning: <path>: <text>`, one a line."""
    for text in warnings:
        print(f"warning: {_with_path(text, file)}", file=sys.stderr)


def csv_names(files: list[str]) -> list[str]:
    """One distinct CSV name per input: `stem.csv`; where stems repeat (a.m4a, a.webm), the whole
    file name (`a.m4a.csv`); where whole names repeat (two folders), a number (`a.m4a-2.csv`)."""
    stems = [Path(f).stem for f in files]
    names = [Path(f).stem if stems.count(Path(f).stem) == 1 else Path(f).name for f in files]
    out, seen = [], {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{name}.csv" if seen[name] == 1 else f"{name}-{seen[name]}.csv")
    return out


def expand_file_lists(files: list[str]) -> list[str]:
    """The inputs with each `@LIST` replaced by the paths it lists (`batch.read_file_list`: one a line)."""
    out: list[str] = []
    for item in files:
        if item.startswith("@"):
            from .batch import read_file_list

            out += read_file_list(item[1:])
        else:
            out.append(item)
    return out


def _client(address: str):
    """A `dask.distributed.Client` connected to the scheduler at `address`; ValueError saying what to do otherwise."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--dask needs Dask's distributed scheduler: pip install 'dask[distributed]' (or sotdemo[cluster])") from None
    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {error}") from None


def _estimate(args: argparse.Namespace) -> int:
    import numpy as np

    from .batch import iter_estimate_files
    from .estimate import write_csv

    files = expand_file_lists(args.files)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = {Path(f).resolve() for f in files}
    names = csv_names(files)
    outputs = [out_dir / n for n in names] + ([out_dir / (n[: -len(".csv")] + ".resynthesis.wav") for n in names] if args.resynthesis else [])
    clash = [path for path in outputs if path.resolve() in inputs]
    if clash:
        print(f"error: writing {clash[0]} would overwrite an input file; choose another --out", file=sys.stderr)
        return 2
    options = dict(level_db=args.level_db, min_confidence=args.min_confidence, decoder=args.decoder,
                   min_harmonicity=args.min_harmonicity, resynthesize=args.resynthesis, engine=args.engine, refine=not args.no_refine)
    jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(files)))  # worker start-up (~3 s) pays off on long files only
    client = _client(args.dask) if args.dask else None
    failures = 0
    try:
        for file, name, outcome in zip(files, names, iter_estimate_files(files, args.model, client=client, jobs=jobs, **options)):
            if outcome.error is not None:
                print(f"error: {_with_path(outcome.error, file)}", file=sys.stderr)
                failures += 1
                continue
            result = outcome.estimate
            _warn(result.warnings, file)
            target = out_dir / name
            write_csv(result, target)
            if args.resynthesis:
                import soundfile as sf

                sf.write(target.with_name(target.stem + ".resynthesis.wav"), result.resynthesis, result.sample_rate, subtype="PCM_16")
            voiced = result.f0_hz[result.voiced]
            median = f"median f0 {np.median(voiced):.1f} Hz" if voiced.size else "no voiced frame"
            print(f"{file}: {len(result.f0_hz)} frames, {result.voiced.mean() * 100:.0f} % voiced, {median} -> {target}")
    finally:
        if client is not None:
            client.close()
    if failures:
        print(f"error: {failures} of {len(files)} files could not be analysed (messages above)", file=sys.stderr)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(prog="sotdemo", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sotdemo {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one seed of a named configuration")
    train.add_argument("--config", required=True, choices=_config_names())
    train.add_argument("--seed", type=int, required=True)
    train.add_argument("--steps", type=int, help="override the configuration's number of steps")
    train.add_argument("--device", default="cpu", help="cpu or cuda")
    train.add_argument("--out", help="checkpoint folder (default: checkpoints/CONFIG/seed-N)")
    train.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="score every shipped checkpoint on the test split")
    evaluate.add_argument("--out", default="results/paper_table.md")
    evaluate.add_argument("--checkpoints", help="checkpoint root (default: checkpoints/)")
    evaluate.set_defaults(run=_evaluate)

    from .voicing import MIN_CONFIDENCE, MIN_HARMONICITY, MIN_LEVEL_DB  # numpy only

    estimate = commands.add_parser("estimate", help="per-frame f0 and harmonic amplitudes of audio files -> CSV",
                                   formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    estimate.add_argument("files", nargs="+", help="audio files; @LIST reads the paths listed in the text file LIST, one a line")
    estimate.add_argument("--model", default=None, help="CONFIG (its best seed), CONFIG/seed-N, or default")
    estimate.add_argument("--out", default=".", help="folder for the CSV files (one per input)")
    estimate.add_argument("--level-db", type=float, default=MIN_LEVEL_DB, help="voicing level gate, dBFS")
    estimate.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE,
                          help="voicing: posterior mass within a semitone of f0 and its octaves (frames clearly harmonic need none)")
    estimate.add_argument("--min-harmonicity", type=float, default=MIN_HARMONICITY,
                          help="voicing: share of a frame's power on the harmonic comb of f0 (noise scores 0.1-0.5)")
    estimate.add_argument("--decoder", default="viterbi", choices=DECODER_CHOICES,
                          help="pitch track: viterbi (smooth path through the clip, default) or peak (each frame's own posterior peak)")
    estimate.add_argument("--no-refine", action="store_true",
                          help="keep the decoded f0 (default: moved onto the peaks of its partials in a short STFT, at most 100 cents)")
    estimate.add_argument("--jobs", type=int, default=1,
                          help="worker processes (0: one per core); 1: this process, with every core for torch (workers take "
                               "seconds to start: they pay off on long files). Files go through the encoder 8 at a time either way")
    estimate.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster: the scheduler's address (tcp://HOST:8786); the "
                          "workers need sotdemo installed and read the files by the paths given (docs/deployment.md)")
    estimate.add_argument("--engine", default="auto", choices=ENGINE_CHOICES,
                          help="what runs the encoder: auto (torch bfloat16 where the CPU has it natively, else ONNX Runtime if "
                               "installed, else torch float32), torch or onnxruntime")
    estimate.add_argument("--resynthesis", action="store_true",
                          help="also write each file's resynthesis (NAME.resynthesis.wav, 16 kHz, next to its CSV); without it only pitch work is done")
    estimate.set_defaults(run=_estimate)

    commands.add_parser("app", help="serve the web app on 127.0.0.1:7860 (sotdemo app --help for its options)", add_help=False)

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["app"]:  # the app parses its own options (sotdemo.serve)
        from .serve import main as serve

        serve(argv[1:])
        return 0
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
