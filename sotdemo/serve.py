"""Launch the sotdemo web app: `sotdemo app` or `python app.py` [--host 127.0.0.1] [--port 7860] [--workers 2] [--queue-size 64].

Binds to 127.0.0.1 by default (no public share link, ever). `--workers` computing events run at
once for all users together (one per core; torch gets the cores divided among them),
`--queue-size` more may wait before clients are turned away, uploads are capped at
`sotdemo.ui.MAX_UPLOAD_MB` and cached files deleted after `--cache-ttl` seconds
(docs/deployment.md). The first estimation loads the model and compiles the OT kernel; a background
thread does both right after start-up so the first click is fast, and logs "warm-up done" when it has.
Start-up time (to the page's first answer) is the imports' CPU time: bench/app_startup.py,
results/app_startup.md.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import threading
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine
TRIM_EVERY_S = 5.0


def _bound_heap() -> None:
    """Return freed memory to the OS (glibc only; elsewhere nothing happens).

    glibc keeps what a thread frees in that thread's arena, and gradio runs events on a pool of
    up to 40 threads: without this, the server's resident memory creeps up to about one 60 s
    request's working set per thread that ever ran one (+47 % after warm-up in a first load test).
    Arenas are capped at 2 and the heap is trimmed every `TRIM_EVERY_S` seconds."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        return

    def trim() -> None:
        while True:
            time.sleep(TRIM_EVERY_S)
            libc.malloc_trim(0)

    threading.Thread(target=trim, daemon=True, name="malloc-trim").start()


def _warm_up() -> None:
    """Load the default model and run each numerical path once (errors only logged)."""
    start = time.perf_counter()
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
        logging.getLogger("sotdemo.app").info("warm-up done in %.1f s", time.perf_counter() - start)
    except Exception:  # noqa: BLE001 - warm-up is an optimisation only
        logging.getLogger("sotdemo.app").exception("warm-up failed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from sotdemo.ui import CACHE_TTL_S, QUEUE_SIZE, WORKERS

    parser = argparse.ArgumentParser(prog="sotdemo app", description=__doc__.split("\n")[0])
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")  # a Hugging Face Space sets it to 0.0.0.0; nothing else should
    parser.add_argument("--host", default=host, help=f"interface to bind (default {host}: $GRADIO_SERVER_NAME or 127.0.0.1; "
                                                     "0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"computing events at once, all users together (default {WORKERS})")
    parser.add_argument("--queue-size", type=int, default=QUEUE_SIZE, help=f"events that may wait (default {QUEUE_SIZE})")
    parser.add_argument("--cache-ttl", type=int, default=CACHE_TTL_S, help=f"seconds uploads and downloads are kept (default {CACHE_TTL_S})")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.queue_size < 1 or args.cache_ttl < 1:
        parser.error("--workers, --queue-size and --cache-ttl must be at least 1")
    return args


def launch_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of `Blocks.launch`: the bind address, no share link, the upload limit, the page's styles."""
    from sotdemo.ui import CSS, MAX_FILE_SIZE

    return dict(server_name=args.host, server_port=args.port, share=False, max_file_size=MAX_FILE_SIZE,
                footer_links=["api", "gradio"], css=CSS)


def main(argv: list[str] | None = None) -> None:
    """Parse `argv` (default: the command line), build the UI and serve it until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import torch

    from sotdemo.ui import build

    torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // args.workers))  # the workers share the cores
    _bound_heap()
    demo = build(workers=args.workers, cache_ttl_s=args.cache_ttl)
    threading.Thread(target=_warm_up, daemon=True).start()
    demo.queue(max_size=args.queue_size, default_concurrency_limit=1).launch(**launch_options(args))


if __name__ == "__main__":
    main()
