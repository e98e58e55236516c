"""Launch the sotdemo web app: `python app.py [--host 127.0.0.1] [--port 7860]`.

Binds to 127.0.0.1 by default (no public share link). The first estimation loads the model and
compiles the OT kernel; a background thread does both right after start-up so the first click
is fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine


def _warm_up() -> None:
    """Load the default model and run each numerical path once (errors only logged)."""
    try:
        import numpy as np
        import torch

        from sotdemo import ot
        from sotdemo.estimate import estimate
        from sotdemo.views import default_model

        name = default_model()
        if name:
            estimate(np.zeros(4096, dtype=np.float32), 16000, name)
        x = torch.rand(2, 16, dtype=torch.float64)
        ot.wasserstein_1d(x[0], x[1], torch.linspace(0, 1, 16, dtype=torch.float64), 2, True)
    except Exception:  # noqa: BLE001 - warm-up is an optimisation only
        logging.getLogger("sotdemo.app").exception("warm-up failed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from sotdemo.ui import MAX_FILE_SIZE, build

    demo = build()
    threading.Thread(target=_warm_up, daemon=True).start()
    demo.queue(default_concurrency_limit=1).launch(
        server_name=args.host, server_port=args.port, share=False, max_file_size=MAX_FILE_SIZE, footer_links=["api", "gradio"]
    )


if __name__ == "__main__":
    main()
