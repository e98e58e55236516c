"""A corpus of audio files -> one `Estimate` per file, here or on a Dask cluster.

`estimate_files(paths)` (and `iter_estimate_files`, which yields as it goes) splits the files into
chunks of `FILES_PER_TASK`; each chunk is one unit of work (`estimate_chunk`): its files are loaded
and their CQT frames go through the encoder together (`estimate.estimate_many`: full batches however
short each file is), then each file is post-processed on its own. The chunks run in this process,
in worker processes (`jobs`), or as Dask tasks (`client`, a `dask.distributed.Client`); the chunks
and so the encoder's batches are the same whichever runs them, and so are the results. A file that
cannot be analysed gets its error message (`FileResult.error`) and the others carry on.

Progress: a tqdm bar on stderr where stderr is a terminal; with Dask, the scheduler's dashboard
link is logged first (`on_message`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

__all__ = ["FILES_PER_TASK", "FileResult", "estimate_chunk", "estimate_files", "iter_estimate_files", "read_file_list"]

FILES_PER_TASK = 8  # files per unit of work: encoder batches fill up on short files, 200 files still make 25 tasks


@dataclass
class FileResult:
    """One input's outcome: its `estimate` (an `estimate.Estimate`), or None and the `error` message."""

    path: str
    estimate: object | None
    error: str | None = None


def read_file_list(path: str | os.PathLike) -> list[str]:
    """The paths listed in a text file, one a line (blank lines and lines starting with '#' skipped),
    as written: relative ones are relative to the current folder, as on the command line.

    Raises:
        ValueError: the list cannot be read, or lists nothing.
    """
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the file list {path}: {error}") from None
    files = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not files:
        raise ValueError(f"the file list {path} lists no file")
    return files


def _message(path: str, error: Exception) -> str:
    """A user's error (`AudioError`, `ValueError`) as it is (the loader's name the file); anything
    else with the file's name and the exception's type."""
    from .audio import display_name

    name = display_name(Path(path).name)
    text = str(error)
    if isinstance(error, ValueError):
        return text if text.startswith(name) else f"{name}: {text}"
    return f"{name}: {type(error).__name__}: {text}"


_HEAP_CHECKED = False
HEAP_THRESHOLD_BYTES = 64 * 2**20  # glibc's mmap and trim thresholds in a Dask worker (`_roomy_heap`)


def _roomy_heap() -> None:
    """Undo, in this process, a small `MALLOC_TRIM_THRESHOLD_` (Dask's nanny gives its workers 65536).

    Setting the trim threshold turns glibc's dynamic mmap threshold off: every array above 128 KiB
    is then mmap-ed afresh and page-faulted in, and an estimate ran ~2x slower in a Dask worker than
    in a plain process (bench/corpus_files.py). Here the mmap threshold goes to
    `HEAP_THRESHOLD_BYTES` and the trim threshold above it, once per process; memory freed after a
    task is still returned above that. glibc only (elsewhere nothing happens)."""
    global _HEAP_CHECKED
    if _HEAP_CHECKED:
        return
    _HEAP_CHECKED = True
    try:
        if int(os.environ.get("MALLOC_TRIM_THRESHOLD_", HEAP_THRESHOLD_BYTES)) >= HEAP_THRESHOLD_BYTES:
            return
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, HEAP_THRESHOLD_BYTES)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 2 * HEAP_THRESHOLD_BYTES)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError, ValueError):
        return


def estimate_chunk(paths: Sequence[str], model: str | None = None, max_seconds: float | None = None, threads: int | None = None,
                   **options) -> list[FileResult]:
    """One unit of work: `paths` loaded (`audio.load`, all of each file by default), their frames
    through the encoder together (`estimate.estimate_many`), one `FileResult` per path in order.
    `threads`: torch threads for this call (a Dask task or a worker process: 1, the cores being
    shared out among tasks); None leaves torch's setting alone. `options`: as `estimate.estimate`.
    Never raises for a bad file: its result carries the message.

    Raises:
        ValueError: the model cannot be loaded (an unknown name), once a file of the chunk could be read.
        TypeError: an unknown option."""
    import torch

    from .audio import load
    from .estimate import (
        CLEAR_HARMONICITY, CLEAR_MIN_CONFIDENCE, DEFAULT_LEVEL_DB, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_HARMONICITY, _engine_label, _finish, _infer_many, _prepare,
        _resolve,
    )

    if threads:
        torch.set_num_threads(threads)
    _roomy_heap()
    results: list[FileResult] = [FileResult(str(p), None) for p in paths]
    options = dict(options)
    engine, precision, decoder = options.pop("engine", "auto"), options.pop("precision", "auto"), options.pop("decoder", "viterbi")
    settings = dict(level_db=options.pop("level_db", DEFAULT_LEVEL_DB), min_confidence=options.pop("min_confidence", DEFAULT_MIN_CONFIDENCE),
                    resynthesize=options.pop("resynthesize", True), octave_check=options.pop("octave_check", True), decoder=decoder,
                    min_harmonicity=options.pop("min_harmonicity", DEFAULT_MIN_HARMONICITY),
                    clear_harmonicity=options.pop("clear_harmonicity", CLEAR_HARMONICITY),
                    clear_min_confidence=options.pop("clear_min_confidence", CLEAR_MIN_CONFIDENCE), refine=options.pop("refine", True))
    if options:
        raise TypeError(f"unknown options: {', '.join(sorted(options))}")
    ready, loaded = [], []
    for i, path in enumerate(paths):
        try:
            loaded.append(load(path, max_seconds=max_seconds))
            ready.append(i)
        except Exception as error:  # noqa: BLE001 - reported per file, the others carry on
            results[i].error = _message(str(path), error)
    if not ready:
        return results
    # the model only once a file needs it: a chunk of unreadable files reports them, whatever the model
    model_, name, chosen, bfloat16 = _resolve(model, decoder, precision, engine)
    clips, loaded_warnings, kept = [], [], []
    for i, audio in zip(ready, loaded):
        try:
            clips.append(_prepare(audio, audio.sample_rate, model_))
            loaded_warnings.append(audio.warnings)
            kept.append(i)
        except Exception as error:  # noqa: BLE001
            results[i].error = _message(str(paths[i]), error)
    ready = kept
    label = _engine_label(chosen, bfloat16)
    with torch.no_grad():
        encoded = _infer_many(model_, clips, chosen, bfloat16)
        for i, clip, warnings, (posterior, amps) in zip(ready, clips, loaded_warnings, encoded):
            try:
                result = _finish(model_, name, clip, posterior, amps, label, **settings)
                result.warnings[:0] = warnings
                results[i].estimate = result
            except Exception as error:  # noqa: BLE001
                results[i].error = _message(str(paths[i]), error)
    return results


def _chunks(paths: Sequence[str], size: int) -> list[list[str]]:
    return [list(paths[i : i + size]) for i in range(0, len(paths), size)]


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)  # the worker processes share the cores


def iter_estimate_files(paths: Sequence[str | os.PathLike], model: str | None = None, *, client=None, jobs: int = 1,
                        max_seconds: float | None = None, files_per_task: int = FILES_PER_TASK, progress: bool | None = None,
                        on_message: Callable[[str], None] | None = None, **options) -> Iterator[FileResult]:
    """`FileResult`s of `paths` in input order, each as soon as it and those before it are done.

    Args:
        paths: audio files (any format `audio.load` reads); on a cluster, paths the workers can read.
        model: a checkpoint name (`model.load`) or None for the default; each process loads it once.
        client: a `dask.distributed.Client`: each chunk becomes a task (one torch thread each: start
            workers with one thread per core). None: here, in this process (`jobs` 1) or in `jobs`
            spawned worker processes.
        max_seconds: analyse only the first seconds of each file (default: all of it).
        files_per_task: files per unit of work (`estimate_chunk`).
        progress: a tqdm bar on stderr (None: only where stderr is a terminal).
        on_message: where to say where progress can be watched (the Dask dashboard); default stderr.
        options: as `estimate.estimate` (`resynthesize`, `decoder`, voicing thresholds, `engine`...).

    Raises:
        ValueError: `jobs` or `files_per_task` below 1, a wrong decoder, precision or engine (checked before any
            work); a model that cannot be loaded, here or in worker processes (on Dask: each file of the
            task gets the message).
    """
    import sys

    from tqdm import tqdm

    from .estimate import _check

    files = [os.fspath(p) for p in paths]
    if jobs < 1 or files_per_task < 1:
        raise ValueError(f"jobs and files_per_task must be at least 1, got {jobs} and {files_per_task}")
    _check(options.get("decoder", "viterbi"), options.get("precision", "auto"), options.get("engine", "auto"))  # fail early
    say = on_message or (lambda text: print(text, file=sys.stderr))
    chunks = _chunks(files, files_per_task)
    bar = tqdm(total=len(files), unit="file", disable=None if progress is None else not progress, file=sys.stderr)
    try:
        if client is not None:
            yield from _on_dask(client, chunks, model, max_seconds, options, bar, say)
        elif jobs == 1:
            for chunk in chunks:
                for result in estimate_chunk(chunk, model, max_seconds, **options):
                    bar.update()
                    yield result
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(min(jobs, len(chunks)), mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread) as pool:
                futures = [pool.submit(estimate_chunk, chunk, model, max_seconds, **options) for chunk in chunks]
                for future in futures:
                    for result in future.result():
                        bar.update()
                        yield result
    finally:
        bar.close()


def _on_dask(client, chunks: list[list[str]], model: str | None, max_seconds: float | None, options: dict, bar,
             say: Callable[[str], None]) -> Iterator[FileResult]:
    """The chunks as Dask tasks (`estimate_chunk` with one torch thread), results yielded in input
    order; a task that fails as a whole (a worker lost, sotdemo missing there) fails its files, each
    with the message."""
    from distributed import as_completed

    link = getattr(client, "dashboard_link", None)
    say(f"dask: {len(chunks)} tasks on {client.scheduler.address}" + (f"; progress at {link}" if link else ""))
    futures = [client.submit(estimate_chunk, chunk, model, max_seconds, 1, pure=False, **options) for chunk in chunks]
    done: dict[int, list[FileResult]] = {}
    index = {future.key: i for i, future in enumerate(futures)}
    following = 0
    try:
        for future in as_completed(futures):
            i = index[future.key]
            try:
                done[i] = future.result()
            except Exception as error:  # noqa: BLE001 - the task as a whole: each of its files says why
                done[i] = [FileResult(path, None, f"{path}: the Dask task failed: {type(error).__name__}: {error}") for path in chunks[i]]
            bar.update(len(chunks[i]))
            while following in done:
                yield from done.pop(following)
                following += 1
    finally:
        client.cancel([f for f in futures if not f.done()])


def estimate_files(paths: Sequence[str | os.PathLike], model: str | None = None, **kwargs) -> list[FileResult]:
    """`iter_estimate_files` collected in a list (same arguments: `client=` for a Dask cluster,
    `jobs=`, `max_seconds=`, `progress=` and `estimate`'s options)."""
    return list(iter_estimate_files(paths, model, **kwargs))
