"""Command line: `python -m sotdemo train ...` (thin wrapper over sotdemo.train)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import config_names, load_config
from .model import checkpoint_root


def _train(args: argparse.Namespace) -> int:
    import torch

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sotdemo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one seed of a named configuration")
    train.add_argument("--config", required=True, choices=config_names())
    train.add_argument("--seed", type=int, required=True)
    train.add_argument("--steps", type=int, help="override the configuration's number of steps")
    train.add_argument("--device", default="cpu", help="cpu or cuda")
    train.add_argument("--out", help="checkpoint folder (default: checkpoints/CONFIG/seed-N)")
    train.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    train.set_defaults(run=_train)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
