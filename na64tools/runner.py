"""Run the missing-momentum processor on a fileset: iteratively, on local processes, or on Dask.

::

    import na64tools
    out = na64tools.run({"background": ["bkg_0.root", "bkg_1.root"]}, executor="futures", workers=2)
    out["cutflow"]["background"]["p_out"]          # (events, sum of weights) after the p_out cut
    out["hists"]["p_out"]                          # hist.Hist with dataset and process axes

:func:`run` builds the coffea ``Runner`` and executor, inspects every file first (readable, the
``Events`` branches of the format, baskets inside the file, the ``Runs`` tree), processes the
chunks, and finalises the output. Results are bit-identical for every executor, number of
workers and chunk size (exact sums, :mod:`na64tools.exact`).

Bad files: by default an unreadable, truncated or corrupt file raises :class:`BadFileError`
naming it. With ``skip_bad_files=True`` the run completes without it; ``out["skipped"]`` lists
each skipped file with the reason and its MOT (``None`` when its ``Runs`` tree is unreadable),
and the contribution of its chunks that were read before the error is removed exactly.

Reliability (docs/scale.md): a file listed twice, the same file content under two paths (same
ROOT file UUID) or overlapping event ranges of one simulated sample raise
:class:`DuplicateFileError`; files of different setups raise :class:`MixedSetupError` naming two
of them; every chunk must come back exactly once with its number of events, or the run raises
instead of returning a partial result. ``out["complete"]`` says whether every event of every file
of the fileset is in the output (``False`` with skipped files or ``maxchunks``). A lost Dask
worker is harmless (the scheduler recomputes its tasks); a chunk that fails on every try raises
a :class:`BadFileError` naming the file and the entries, or :class:`WorkerLostError` if the
workers running it kept dying. :func:`merge_outputs` adds the outputs of runs on disjoint parts
of a fileset exactly, as if they had been one run.
"""

from __future__ import annotations

import contextlib
import copy
import glob
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import uproot
from coffea import processor as cproc
from coffea.processor.executor import WorkItem

from .output import load_output, save_output
from .processor import (
    UPROOT_OPTIONS,
    BadFileError,
    FileRecord,
    MissingMomentumProcessor,
    MMAccumulator,
    finalise,
    read_runs,
)
from .schema import NA64Schema, NA64SchemaError

__all__ = ["run", "save_output", "load_output", "make_fileset", "inspect_file", "make_pool",
           "merge_outputs", "load_table", "TableIndex", "TABLE_INDEX", "split_entries",
           "SkippedFile", "FilesetError", "DuplicateFileError", "MixedSetupError",
           "WorkerLostError", "DEFAULT_CHUNKSIZE", "EXECUTORS"]

#: default number of events per chunk (see benchmarks/bench_processor.py and docs/processor.md)
DEFAULT_CHUNKSIZE = 1_000_000

EXECUTORS = ("iterative", "futures", "dask")


class FilesetError(ValueError):
    """The fileset as a whole is inconsistent (the message names the files involved)."""


class DuplicateFileError(FilesetError):
    """The same events would be counted twice: a file listed twice, the same file content under
    two paths, or two files of one simulated sample with overlapping event ranges."""


class MixedSetupError(FilesetError):
    """Files simulated with different setup descriptions (``Runs.setupHash``) in one run, or
    different samples (``sample``, ``model``, ``mass``, ``coupling``) in one dataset."""


class WorkerLostError(RuntimeError):
    """The workers running a chunk died repeatedly (segfault, out of memory, killed): no result."""


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of a run with ``skip_bad_files=True``.

    ``mot`` is the MOT of its ``Runs`` tree, or ``None`` if that tree could not be read (then
    the exposure of the dataset is unknown by that amount: check ``reason``).
    """

    dataset: str
    filename: str
    reason: str
    mot: float | None
    n_written: int | None


@dataclass(frozen=True)
class _FileInfo:
    dataset: str
    filename: str
    treename: str
    numentries: int
    uuid: bytes
    record: FileRecord | None
    error: str | None
    usermeta: dict | None = None
    first_event: int | None = None
    run_number: int | None = None


# --------------------------------------------------------------------------------------------
# filesets
# --------------------------------------------------------------------------------------------
def _expand(paths: str | os.PathLike | Iterable) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if "://" in p:
            out.append(p)
        elif os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(p, "*.root")))
            if not found:
                raise FileNotFoundError(f"{p}: no .root files found in this directory (give the "
                                        "directory of the ntuples, e.g. the --out of "
                                        "`na64tools simulate`)")
            out.extend(found)
        elif any(c in p for c in "*?["):
            found = sorted(glob.glob(p))
            if not found:
                raise FileNotFoundError(f"{p}: no file matches")
            out.extend(found)
        else:
            out.append(p)
    return out


def make_fileset(paths, *, treename: str = "Events") -> dict[str, dict]:
    """Group ntuples into datasets by the ``sample``, ``model`` and ``mass`` of their ``Runs``
    tree.

    ``paths``: files, directories (their ``*.root``) or glob patterns. Dataset names are
    ``background`` or ``signal_<model>_m<mass>`` (e.g. ``signal_vector_m0.1``); a file whose
    ``Runs`` tree cannot be read goes to the dataset ``unreadable`` (and :func:`run` reports it).
    A file given twice (also through a directory or a glob pattern) raises
    :class:`DuplicateFileError`; a directory without ``*.root`` files ``FileNotFoundError``.

    Parameters
    ----------
    paths : str, path or iterable of them
        Files, directories or glob patterns.
    treename : str
        The events tree of the files.

    Returns
    -------
    dict
        ``{dataset: {"files": {path: treename}, "metadata": {...}}}``, the fileset of :func:`run`.
    """
    return _make_fileset(paths, treename=treename)


def _make_fileset(paths, *, treename: str = "Events", check: bool = False) -> dict[str, dict]:
    """:func:`make_fileset`; ``check``: raise at once, with :func:`_unreadable_message`, for a
    file that would go to ``unreadable`` (before any executor starts)."""
    fileset: dict[str, dict] = {}
    given: dict[str, str] = {}
    for path in _expand(paths):
        key = path if "://" in path else os.path.realpath(path)
        if key in given:
            also = "" if given[key] == path else f" (also as {given[key]})"
            raise DuplicateFileError(f"{path} is given twice{also}: its events would be counted "
                                     "twice; give each file (or directory) once")
        given[key] = path
        try:
            rec = read_runs(path)
            if rec.sample == "signal":
                name = f"signal_{rec.model or 'unknown'}_m{rec.mass:g}"
            else:
                name = rec.sample or "unknown"
        except (BadFileError, OSError) as err:
            if check:
                raise BadFileError(_unreadable_message(path, err)) from None
            name = "unreadable"
        fileset.setdefault(name, {"files": {}, "treename": treename})["files"][path] = treename
    return dict(sorted(fileset.items()))


#: the first bytes of every ROOT file
ROOT_SIGNATURE = b"root"


def _local_file_problem(filename: str, *, missing_ok: bool = False) -> str | None:
    """What is wrong with a local input file before ROOT reads it (missing, a directory, not a
    ROOT file), or ``None``; remote files (``root://``, ``https://``) are not looked at.
    ``missing_ok``: a path that does not exist here is not a problem (the Dask workers of a
    fileset may see files that this machine does not)."""
    if "://" in filename:
        return None
    if not os.path.exists(filename):
        return None if missing_ok else f"{filename}: no such file"
    if os.path.isdir(filename):
        return f"{filename}: a directory, not a ROOT file"
    try:
        with open(filename, "rb") as f:
            head = f.read(len(ROOT_SIGNATURE))
    except OSError as err:
        return f"{filename}: cannot read ({err.strerror})"
    if not head:
        return f"{filename}: an empty file (0 bytes), not a ROOT file"
    if head != ROOT_SIGNATURE:
        return (f"{filename}: not a ROOT file (it does not begin with the ROOT signature "
                f"{ROOT_SIGNATURE.decode()!r}): give ntuples written by `na64tools simulate` "
                "(docs/ntuple_format.md)")
    return None


def _unreadable_message(filename: str, err: BaseException) -> str:
    """A message for an input whose ``Runs`` tree cannot be read: what the file is instead
    (missing, not ROOT, a processor output) and what to give, else the reading error."""
    problem = _local_file_problem(filename)
    if problem is not None:
        return problem
    try:
        with uproot.open(filename) as f:
            names = {k.split(";")[0].split("/")[0] for k in f.keys(recursive=False)}
    except Exception:
        return str(err)
    if "Runs" not in names and "Events" not in names and any(n.startswith("nminus1_") for n in names):
        stem = filename[:-5] if filename.endswith(".root") else filename
        return (f"{filename}: a processor output written by `na64tools run`, not an ntuple: "
                f"give {stem}.json (or its directory) to `na64tools limits`, and ntuples to "
                "`na64tools run`")
    return str(err)


_RESERVED = {"dataset", "filename", "treename", "entrystart", "entrystop", "fileuuid",
             "numentries", "uuid", "clusters", "preload"}


def _normalise_fileset(fileset, *, check: bool = False) -> list[tuple[str, str, str, dict | None]]:
    """(dataset, file, tree, user metadata) in canonical order (datasets sorted, files as given).

    ``check``: raise :class:`BadFileError` at once for a local file that is not a ROOT file, or,
    for files given as paths (read here by :func:`make_fileset`), that is missing or whose
    ``Runs`` tree cannot be read: before any executor starts.
    """
    if isinstance(fileset, (str, os.PathLike)) or (isinstance(fileset, Iterable) and not isinstance(fileset, Mapping)):
        paths = [fileset] if isinstance(fileset, (str, os.PathLike)) else list(fileset)
        if not paths:
            raise ValueError("fileset: no input files given")
        fileset = _make_fileset(paths, check=check)
    if not isinstance(fileset, Mapping) or not fileset:
        raise ValueError(f"fileset: expected a non-empty mapping {{dataset: files}}, got {fileset!r}")
    items = []
    seen_paths: dict[str, tuple[str, str]] = {}
    for dataset in sorted(fileset):
        spec = fileset[dataset]
        meta, tree = None, "Events"
        if isinstance(spec, Mapping):
            if "files" not in spec:
                raise ValueError(f"fileset[{dataset!r}]: expected a 'files' entry")
            meta = dict(spec.get("metadata") or {}) or None
            if meta and _RESERVED & set(meta):
                raise ValueError(f"fileset[{dataset!r}].metadata: reserved key {sorted(_RESERVED & set(meta))[0]!r}")
            tree = spec.get("treename", tree)
            files = spec["files"]
        else:
            files = spec
        if isinstance(files, Mapping):
            pairs = [(os.fspath(f), t or tree) for f, t in files.items()]
        elif isinstance(files, (str, os.PathLike)):
            pairs = [(f, tree) for f in _expand(files)]
        else:
            pairs = [(f, tree) for f in _expand(list(files))]
        if not pairs:
            raise ValueError(f"fileset[{dataset!r}]: no files")
        for f, t in pairs:
            key = f if "://" in f else os.path.realpath(f)
            if key in seen_paths:
                d0, f0 = seen_paths[key]
                where = f"fileset[{dataset!r}]" if d0 == dataset else f"fileset[{d0!r}] and fileset[{dataset!r}]"
                same = f"file {f} listed twice" if f0 == f else f"file {f} listed twice (also as {f0})"
                raise DuplicateFileError(f"{where}: {same}: its events would be counted twice")
            seen_paths[key] = (str(dataset), f)
            if check and (problem := _local_file_problem(f, missing_ok=True)) is not None:
                raise BadFileError(problem)
            items.append((str(dataset), f, t, meta))
    return items


# --------------------------------------------------------------------------------------------
# file inspection (on the Dask workers; in the client for the iterative and futures executors)
# --------------------------------------------------------------------------------------------
def inspect_file(item: tuple[str, str, str, dict | None]) -> dict[tuple[str, str], _FileInfo]:
    """Check one file before processing: readable, the Events branches of the format (through
    :class:`NA64Schema`), every basket inside the file, a consistent ``Runs`` tree.

    Returns ``{(dataset, file): info}``; a problem is recorded in ``info.error`` (never raised),
    so that all bad files are reported together.

    Parameters
    ----------
    item : tuple of (str, str, str, dict or None)
        ``(dataset, filename, treename, metadata)`` of one file of the fileset.

    Returns
    -------
    dict
        ``{(dataset, filename): info}``.
    """
    dataset, filename, treename, meta = item
    record, n, uuid, first, run_number = None, -1, b"", None, None
    try:
        try:
            record = read_runs(filename, dataset)
        except (BadFileError, OSError) as err:
            raise BadFileError(_unreadable_message(filename, err)) from None
        with uproot.open(filename) as f:
            if treename not in f:
                raise BadFileError(f"{filename}: no {treename!r} tree (docs/ntuple_format.md)")
            tree = f[treename]
            n = int(tree.num_entries)
            uuid = f.file.fUUID
            if record.n_runs_entries == 1:  # ids of the generated events, for duplicates
                runs = f["Runs"]
                run_number = int(runs["run"].array(library="np")[0])
                if "firstEvent" in runs:
                    first = int(runs["firstEvent"].array(library="np")[0])
            size = f.file.source.num_bytes if hasattr(f.file.source, "num_bytes") else None
            if size is None:
                size = os.path.getsize(filename) if os.path.exists(filename) else None
            if size is not None:
                for br in tree.itervalues(recursive=True):
                    seeks = br.member("fBasketSeek")[: br.num_baskets]
                    nbytes = br.member("fBasketBytes")[: br.num_baskets]
                    if len(seeks) and int(np.max(np.asarray(seeks) + np.asarray(nbytes))) > size:
                        raise BadFileError(f"{filename}: branch {br.name!r} has baskets beyond the "
                                           f"end of the file ({size} bytes): the file is truncated")
            from coffea.nanoevents import NanoEventsFactory

            NanoEventsFactory.from_root(f, treepath=treename, schemaclass=NA64Schema,
                                        metadata={"filename": filename, "dataset": dataset},
                                        entry_start=0, entry_stop=0, mode="virtual")
        if record.n_written != n:
            raise BadFileError(f"{filename}: Runs.nWritten = {record.n_written} but {treename} has "
                               f"{n} entries: the file is incomplete or inconsistent")
        error = None
    except NA64SchemaError as err:
        error = str(err)
    except BadFileError as err:
        error = str(err)
    except Exception as err:
        error = f"{filename}: cannot read: {type(err).__name__}: {err}"
    return {(dataset, filename): _FileInfo(dataset, filename, treename, n, uuid, record, error, meta, first,
                                          run_number)}


# --------------------------------------------------------------------------------------------
# executors
# --------------------------------------------------------------------------------------------
#: memory growth (bytes) above which loky restarts a worker; its default (300 MB) is below the
#: transient memory of one chunk, and restarts (re-importing coffea) cost seconds each
WORKER_MEMORY_GROWTH = int(4e9)


def _worker_init(limit: int) -> None:
    import loky.process_executor

    loky.process_executor._MAX_MEMORY_LEAK_SIZE = limit
    # what every chunk needs (coffea, uproot, the processor): imported as the worker starts,
    # while the client inspects the files, not when the first chunk arrives (this module is
    # imported already, by unpickling this function)
    import na64tools.processor  # noqa: F401


#: environment of the futures executor's workers: one thread per BLAS/OpenMP library, as Dask's
#: nanny sets for its workers. N workers share N cores, and an idle OpenBLAS thread spins after
#: each call, taking the core of another worker (docs/processor.md, "What was changed for it")
WORKER_ENV: dict[str, str] = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                              "MKL_NUM_THREADS": "1"}


def make_pool(workers: int = 2):
    """A loky process pool for ``executor="futures"`` (pass it as ``client=`` to reuse it).

    Workers are not restarted by loky's memory-leak heuristic below
    :data:`WORKER_MEMORY_GROWTH`: processing a chunk legitimately grows a worker by a few
    hundred MB. Each worker runs one BLAS/OpenMP thread (:data:`WORKER_ENV`). Shut it down with
    ``pool.shutdown()``.

    Parameters
    ----------
    workers : int
        Number of worker processes.

    Returns
    -------
    loky.ProcessPoolExecutor
        The pool (its workers ignore a terminal's Ctrl-C; the caller handles it).
    """
    from loky import ProcessPoolExecutor

    from ._signals import children_started

    pool = None
    try:
        with children_started():  # the workers ignore a terminal's Ctrl-C (na64tools._signals)
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                                       initargs=(WORKER_MEMORY_GROWTH,), env=WORKER_ENV)
            # start them now, inside the block: loky spawns every worker (and its management
            # thread) in submit(). No waiting for the workers: they import coffea (0.5 s of CPU
            # each) while the caller goes on (na64tools.run inspects the files meanwhile)
            pool.submit(int)
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=True)
        raise
    return pool


class _Executors:
    """The coffea executor for ``executor`` with the resources it owns (pool, Dask client)."""

    def __init__(self, executor, *, client, workers: int, progress: bool, retries: int,
                 worker_timeout: float | None = None):
        self.owned_pool = None
        self.owned_client = None
        self.ran_on: set[str] = set()   # the Dask workers that ran tasks
        #: the executor of the file inspection: the local pool's workers are still starting
        #: (importing coffea) when it runs, so the client inspects the local files itself
        self.inspector = None
        if isinstance(executor, cproc.executor.ExecutorBase):
            # the caller's own coffea executor (and the pool or client in it, which the caller
            # keeps and closes)
            self.executor = executor
            if isinstance(executor, cproc.DaskExecutor):
                _RAN_ON[id(self.executor)] = self.ran_on
        elif executor == "iterative":
            self.executor = cproc.IterativeExecutor(status=progress, retries=retries)
        elif executor == "futures":
            import concurrent.futures

            if isinstance(client, concurrent.futures.Executor):
                pool = client  # a pool the caller keeps (and shuts down)
            else:
                pool = self.owned_pool = make_pool(workers)
            # compression=None: coffea's futures executor would otherwise re-pickle and
            # re-compress the whole merged output after every batch of chunks (quadratic)
            self.executor = cproc.FuturesExecutor(pool=pool, workers=workers, status=progress,
                                                  retries=retries, compression=None)
            self.inspector = cproc.IterativeExecutor(status=progress)
        elif executor == "dask":
            if client is None:
                from .clients import make_client

                client = self.owned_client = make_client("local", n_workers=workers)
                try:   # a failed chunk is reported once, by run(): not also by the workers' log
                    client.run(_quiet_compute_failed)
                except BaseException:   # interrupted here: close the cluster just started
                    self.close()
                    raise
            elif isinstance(client, str):
                from .clients import make_client

                client = self.owned_client = make_client(client)
            self.executor = cproc.DaskExecutor(client=client, status=progress, retries=retries)
            _RAN_ON[id(self.executor)] = self.ran_on
            from .clients import WORKER_TIMEOUT, wait_for_workers

            timeout = WORKER_TIMEOUT if worker_timeout is None else worker_timeout
            self._no_workers = None
            try:  # a cluster whose workers never come: a clear error, not an endless wait
                wait_for_workers(client, 1, timeout)
            except BaseException:
                self.close()
                raise
            # and all workers gone for good during the run (batch jobs at their walltime): the
            # tasks fail after the same time instead of waiting forever (needs na64tools on the
            # scheduler, as a run does anyway on the workers; best effort)
            if timeout is not None:
                with contextlib.suppress(Exception):
                    self._no_workers = (client, client.run_on_scheduler(
                        _set_no_workers_timeout, float(timeout)))
            self._coffea_progress = _use_leaf_progress() if progress else None
        else:
            raise ValueError(f"executor: unknown executor {executor!r} (expected one of {', '.join(EXECUTORS)})")

    def map(self, items: list, function, *, desc: str, unit: str, inspect: bool = False) -> dict:
        ex = (self.inspector if inspect and self.inspector is not None
              else self.executor).copy(desc=desc, unit=unit)
        if isinstance(ex, cproc.DaskExecutor):
            ex.heavy_input = None
            with _task_stream(ex.client, self.ran_on):
                out = ex(items, function, {})
            return out[0] if isinstance(out, tuple) else out
        out = ex(items, function, {})
        return out[0] if isinstance(out, tuple) else out

    def close(self) -> None:
        if getattr(self, "_coffea_progress", None) is not None:
            from coffea.processor import _dask

            _dask.progress = self._coffea_progress
            self._coffea_progress = None
        if hasattr(self, "executor"):
            _RAN_ON.pop(id(self.executor), None)
        no_workers, self._no_workers = getattr(self, "_no_workers", None), None
        if no_workers is not None and no_workers[1] != "unchanged":
            with contextlib.suppress(Exception):  # the scheduler's own setting back
                no_workers[0].run_on_scheduler(_set_no_workers_timeout, no_workers[1],
                                               force=True)
        if self.owned_pool is not None:
            # nothing is left to compute (or the run is stopping): workers that exit normally
            # finalise coffea, numba and their heaps first, 0.3-3 s on a busy machine
            self.owned_pool.shutdown(wait=True, kill_workers=True)
        if self.owned_client is not None:
            from .clients import close_client

            close_client(self.owned_client)


def _not_compute_failed(record) -> bool:
    """Logging filter: drop the Dask worker's "Compute Failed" record (with its traceback)."""
    return not str(record.msg).startswith("Compute Failed")


def _quiet_compute_failed() -> None:
    """On the workers of a local cluster :func:`run` starts (``client.run``): their log does not
    print the traceback of a failed chunk; :func:`run` raises one :class:`BadFileError` naming
    the file and the entries instead."""
    import logging

    logging.getLogger("distributed.worker").addFilter(_not_compute_failed)


#: key prefixes of coffea's own Dask tasks (its tree reduction, the processor it sends along):
#: not counted by the progress bars
_COFFEA_TASKS = frozenset({"reduce", "lambda"})


def _leaf_progress(work, description: str = "Processing", unit: str = "tasks", **_) -> None:
    """The progress bar of coffea's Dask executor, counting only the tasks mapped over the
    items (files, chunks) and not coffea's tree-reduction tasks ("8/8 files", not "9/9"), and
    printing no traceback when a task fails (:func:`run` raises one error naming the file)."""
    from coffea.util import rich_bar
    from distributed.diagnostics.progressbar import MultiProgressBar
    from distributed.utils import LoopRunner

    class Bar(MultiProgressBar):
        def __init__(self, futures):
            super().__init__(futures, complete=True)
            self.pbar = rich_bar()
            self.pbar.start()
            self.task = self.pbar.add_task(description, total=None, unit=unit)
            LoopRunner(loop=None).run_sync(self.listen)

        def _counts(self, remaining, all):
            n = sum(v for k, v in all.items() if k not in _COFFEA_TASKS)
            return n, n - sum(v for k, v in remaining.items() if k not in _COFFEA_TASKS)

        def _draw_bar(self, remaining, all, **_):
            n, done = self._counts(remaining, all)
            self.pbar.update(self.task, total=n, completed=done, refresh=True)

        def _draw_stop(self, remaining, all, status, **_):
            n, done = self._counts(remaining, all)
            self.pbar.update(self.task, total=n, completed=done, refresh=True)
            self.pbar.stop()

    from distributed.client import futures_of

    Bar(futures_of(work))


def _use_leaf_progress():
    """Make coffea's Dask executor draw :func:`_leaf_progress`; returns what it drew before."""
    from coffea.processor import _dask

    before = _dask.progress
    _dask.progress = _leaf_progress
    return before


def split_entries(numentries: int, chunksize: int) -> list[tuple[int, int]]:
    """The chunks ``[(start, stop), ...]`` of a tree of ``numentries`` entries.

    A file is split into chunks of ``ceil(numentries / n)`` entries with ``n = max(round(
    numentries / chunksize), 1)`` (the last one shorter; at most ``n`` chunks), as coffea's
    ``FileMeta.chunks`` does: a file of
    1.5 million events is two chunks at the default chunk size, so that two workers share it.
    An empty tree is one empty chunk (its ``Runs`` tree is still read).

    Parameters
    ----------
    numentries : int
        Entries of the tree.
    chunksize : int
        Target number of entries per chunk.

    Returns
    -------
    list of (int, int)
        The ``(start, stop)`` entry ranges, covering ``0 .. numentries`` in order.
    """
    if numentries <= 0:
        return [(0, 0)]
    n = max(round(numentries / chunksize), 1)
    size = math.ceil(numentries / n)
    return [(a, min(a + size, numentries)) for a in range(0, numentries, size)]


def _chunks(infos: list[_FileInfo], chunksize: int, maxchunks: int | None):
    items = []
    per_dataset: dict[str, int] = {}
    for info in infos:
        for start, stop in split_entries(info.numentries, chunksize):
            if maxchunks is not None and per_dataset.get(info.dataset, 0) >= maxchunks:
                break
            per_dataset[info.dataset] = per_dataset.get(info.dataset, 0) + 1
            items.append(WorkItem(info.dataset, info.filename, info.treename, start, stop,
                                  info.uuid, dict(info.usermeta or {})))
    return items


def _bad_file_message(err: BaseException) -> str:
    """The message of the BadFileError inside ``err`` (coffea wraps worker exceptions)."""
    e: BaseException | None = err
    while e is not None:
        if isinstance(e, (BadFileError, NA64SchemaError)):
            return str(e)
        e = e.__cause__ or e.__context__
    text = str(err)
    m = re.search(r"BadFileError\((['\"])(.*?)\1\)", text, flags=re.S)
    return m.group(2) if m else text


def _worker_lost(err: BaseException) -> bool:
    """Whether ``err`` says that the workers running a task died (Dask ``KilledWorker``)."""
    e: BaseException | None = err
    while e is not None:
        if type(e).__name__ == "KilledWorker" or "KilledWorker" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


#: chunks submitted at once per Dask worker. coffea's Dask executor keeps the output of every
#: chunk (~3 MB of exact histogram sums) on the workers until its tree reduction, which Dask runs
#: after all the chunks it was given: submitting in batches keeps a worker's memory independent of
#: the number of chunks (docs/scale.md), for ~3 % of idle time at the end of each batch
DASK_CHUNKS_PER_WORKER = 16


def _set_no_workers_timeout(timeout, force=False, dask_scheduler=None):
    """On the scheduler: fail tasks that wait ``timeout`` s for a worker (none left), unless the
    scheduler has its own setting. Returns the previous value (``"unchanged"`` if kept)."""
    old = dask_scheduler.no_workers_timeout
    if old is not None and not force:
        return "unchanged"
    dask_scheduler.no_workers_timeout = timeout
    return old


def _no_workers_left(err: BaseException) -> bool:
    """Whether ``err`` says that tasks waited too long without any worker (Dask's
    ``NoWorkerError`` from ``distributed.scheduler.no-workers-timeout``)."""
    e: BaseException | None = err
    while e is not None:
        names = ("NoWorkerError", "NoValidWorkerError")
        if type(e).__name__ in names or "waiting without any running workers" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


#: id(DaskExecutor of a run) -> the names of the workers that ran its tasks (out["run"])
_RAN_ON: dict[int, set[str]] = {}


def _dask_workers(executor) -> int:
    """The workers connected to the scheduler now (at least 1)."""
    try:
        return max(1, len(executor.client.scheduler_info()["workers"]))
    except Exception:
        return 1


@contextlib.contextmanager
def _task_stream(client, ran_on: set[str] | None):
    """Record in ``ran_on`` the names of the Dask workers that run tasks inside the block."""
    if ran_on is None:
        yield
        return
    from distributed import get_task_stream

    with get_task_stream(client) as ts:
        yield
    for task in ts.data:
        if task.get("worker"):
            ran_on.add(str(task["worker"]))


def _process(runner_executor, items, proc) -> MMAccumulator:
    if isinstance(runner_executor, cproc.DaskExecutor):
        ran_on = _RAN_ON.get(id(runner_executor))
        # the batch size follows the workers present when it is submitted: batches grow as
        # batch jobs or adaptive workers join (results do not depend on the batching)
        acc, i = None, 0
        while i < len(items) or acc is None:
            size = DASK_CHUNKS_PER_WORKER * _dask_workers(runner_executor)
            with _task_stream(runner_executor.client, ran_on):
                part = _process_batch(runner_executor, items[i:i + size], proc)
            acc = part if acc is None else acc + part
            i += size
        return acc
    return _process_batch(runner_executor, items, proc)


def _process_batch(runner_executor, items, proc) -> MMAccumulator:
    runner = cproc.Runner(executor=runner_executor, schema=NA64Schema, skipbadfiles=False,
                          savemetrics=False)
    try:
        wrapped = runner.run(items, proc, uproot_options=UPROOT_OPTIONS)
    except (BadFileError, NA64SchemaError):
        raise
    except Exception as err:
        if _no_workers_left(err):
            from .clients import ClusterError

            raise ClusterError(
                "every Dask worker left and none joined again: chunks waited in vain "
                "(batch jobs at their walltime or killed? see the batch system; wait longer "
                "with --worker-timeout / worker_timeout=)") from None
        if _worker_lost(err):
            raise WorkerLostError(
                f"{_bad_file_message(err)}: the Dask workers running this chunk died repeatedly "
                "(segfault, out of memory or killed; distributed.scheduler.allowed-failures); "
                "no partial result is returned") from err
        raise BadFileError(_bad_file_message(err)) from err
    return wrapped["out"]


def _check_fileset(infos: list[_FileInfo]) -> None:
    """Raise if the good files of a run would double-count events or mix setups or samples.

    - the same ROOT file UUID under two paths (a copy of a file);
    - two files of one simulated sample (same setup, sample, model, mass, coupling and seed)
      with overlapping ranges of generated event numbers ``[firstEvent, firstEvent +
      nGenerated)`` (or, without ``firstEvent``, the same ``Runs.run``);
    - different ``Runs.setupHash`` among the files of the run, or in the ``Runs`` tree of one file;
    - different ``sample``, ``model``, ``mass`` or ``coupling`` among the files of one dataset.
    """
    by_uuid: dict[bytes, _FileInfo] = {}
    by_sample: dict[tuple, list[_FileInfo]] = {}
    first_setup: _FileInfo | None = None
    first_of_dataset: dict[str, _FileInfo] = {}
    for info in infos:
        rec = info.record
        if info.uuid:
            other = by_uuid.setdefault(bytes(info.uuid), info)
            if other is not info:
                raise DuplicateFileError(
                    f"{other.filename} and {info.filename} are the same file (same ROOT file UUID "
                    f"{bytes(info.uuid).hex()}): its events would be counted twice")
        if rec is None:
            continue
        if "," in rec.setup_hash:
            raise MixedSetupError(f"{info.filename}: its Runs tree mixes setups "
                                  f"{rec.setup_hash.replace(',', ', ')}: one setup per file")
        if first_setup is None:
            first_setup = info
        elif rec.setup_hash != first_setup.record.setup_hash:
            a = first_setup.record
            raise MixedSetupError(
                f"{first_setup.filename} (setup {a.setup!r}, setupHash {a.setup_hash[:16]}) and "
                f"{info.filename} (setup {rec.setup!r}, setupHash {rec.setup_hash[:16]}) were "
                "simulated with different setups: run each setup separately")
        sample = (rec.sample, rec.model, rec.mass, rec.coupling)
        first = first_of_dataset.setdefault(info.dataset, info)
        fr = first.record
        if (fr.sample, fr.model, fr.mass, fr.coupling) != sample:
            raise MixedSetupError(
                f"dataset {info.dataset!r} mixes samples: {first.filename} is {fr.sample} "
                f"(model {fr.model!r}, mass {fr.mass:g}, coupling {fr.coupling:g}), {info.filename} "
                f"is {rec.sample} (model {rec.model!r}, mass {rec.mass:g}, coupling {rec.coupling:g})")
        key = (rec.setup_hash, *sample, rec.seed)
        for other in by_sample.setdefault(key, []):
            o = other.record
            if info.first_event is not None and other.first_event is not None:
                lo, hi = info.first_event, info.first_event + rec.n_generated
                olo, ohi = other.first_event, other.first_event + o.n_generated
                overlap = lo < ohi and olo < hi
            else:
                overlap = info.run_number is not None and info.run_number == other.run_number
            if overlap:
                raise DuplicateFileError(
                    f"{other.filename} and {info.filename} hold the same simulated events (sample "
                    f"{rec.sample}, seed {rec.seed}, overlapping generated events): they would be "
                    "counted twice")
        by_sample[key].append(info)


# --------------------------------------------------------------------------------------------
# the cut table as Parquet partitions written by the workers
# --------------------------------------------------------------------------------------------
#: name of the index of a partitioned cut table (in its directory)
TABLE_INDEX = "_na64tools_table.json"
#: rows per Parquet row group of a partition: what a streaming reader holds at once
TABLE_ROW_GROUP = 1 << 16


class _ParquetTable(MissingMomentumProcessor):
    """The processor, with the cut table of every chunk written by the worker that made it to a
    Parquet partition of ``directory`` instead of being sent back: the client then holds no
    table at all, whatever the number of events.

    Partition of the chunk ``(dataset, file, start)``: ``<dataset>/<sha1(file)[:16]>-<start>.parquet``
    (deterministic; a chunk computed twice writes the same bytes, atomically), rows in entry order,
    the processor's table columns plus ``dataset`` and ``file``.
    """

    def __init__(self, inner: MissingMomentumProcessor, directory: str):
        self.__dict__.update(inner.__dict__)
        self.table = True
        self._table_dir = directory

    def process(self, events):
        out = super().process(events)
        for key in list(out.table):
            _write_partition(self._table_dir, key, out.table.pop(key))
        return out


def _partition_name(key: tuple) -> str:
    import hashlib

    dataset, filename, start = key[0], key[1], int(key[2])
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", dataset) or "_"
    return f"{safe}/{hashlib.sha1(filename.encode()).hexdigest()[:16]}-{start:012d}.parquet"


def _write_partition(directory: str, key: tuple, cols: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = os.path.join(directory, _partition_name(key))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = len(cols["genWeight"]) if cols else 0
    table = pa.table({**{c: np.asarray(v) for c, v in cols.items()},
                      "dataset": pa.array([key[0]] * n, pa.string()).dictionary_encode(),
                      "file": pa.array([key[1]] * n, pa.string()).dictionary_encode()})
    tmp = f"{path}.{os.getpid()}.{id(cols)}.tmp"
    # row groups of TABLE_ROW_GROUP rows: a reader holds one at a time (TableIndex.iter)
    pq.write_table(table, tmp, compression="zstd", row_group_size=TABLE_ROW_GROUP)
    os.replace(tmp, path)   # atomic: a chunk computed twice (a lost worker) writes the same bytes


def _prepare_table_dir(directory) -> str:
    directory = os.path.abspath(os.fspath(directory))
    if os.path.isdir(directory) and os.listdir(directory):
        raise ValueError(f"table_dir {directory}: not empty (the partitions of another run would "
                         "mix with this one): give a new or empty directory")
    os.makedirs(directory, exist_ok=True)
    return directory


def _finish_table_dir(directory: str, acc: MMAccumulator, preselection) -> dict[str, Any]:
    """Keep exactly the partitions of the chunks in ``acc`` (those of files dropped after an error
    removed), write the index, and return ``{"path", "partitions", "rows"}``."""
    import json

    import pyarrow.parquet as pq

    keep = sorted({(d, f, a) for d, f, a, _ in acc.chunks})
    names = [_partition_name(k) for k in keep]
    wanted = set(names)
    for root, _, files in os.walk(directory):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), directory).replace(os.sep, "/")
            if rel != TABLE_INDEX and rel not in wanted:
                os.remove(os.path.join(root, name))
    missing = [n for n in names if not os.path.exists(os.path.join(directory, n))]
    if missing:
        raise RuntimeError(f"{directory}: the table partition {missing[0]} was not written (a "
                           "worker that cannot write there?): the table would be incomplete")
    rows = [pq.read_metadata(os.path.join(directory, n)).num_rows for n in names]
    def sample(k):
        rec = acc.files.get((k[0], k[1]))
        return rec.sample if rec is not None else "unknown"

    index = {"format": "na64tools-cut-table", "version": 1,
             "preselection": preselection.to_dict(),
             "partitions": [{"path": n, "dataset": k[0], "file": k[1], "entrystart": k[2],
                             "sample": sample(k), "rows": r}
                            for n, k, r in zip(names, keep, rows, strict=True)]}
    with open(os.path.join(directory, TABLE_INDEX), "w") as f:
        json.dump(index, f, indent=1)
    return {"path": directory, "partitions": len(names), "rows": int(sum(rows))}


class TableIndex:
    """A cut table written with ``run(table_dir=...)``, checked against its index and read
    partition by partition (nothing held but the index).

    Opening checks that the index is there and readable, that every partition it lists exists
    and holds the rows it says (Parquet metadata, no data read), and, with ``expect`` (the
    ``out["run"]["table"]`` record of the run), that the partitions and rows are those the run
    wrote; any mismatch is a one-line ``ValueError`` naming the file.

    Attributes: ``path``, ``partitions`` (the index entries, in the order of the in-memory
    table), ``preselection``, ``datasets``/``samples``/``files`` (sorted names, as in the
    in-memory :class:`~na64tools.processor.CutTable`), ``rows``.

    Parameters
    ----------
    path : str or path
        The directory given as ``table_dir``.
    expect : mapping, optional
        The ``out["run"]["table"]`` record of the run (``partitions``, ``rows``) to check the
        directory against.

    Raises
    ------
    ValueError
        The directory, its index or a partition is missing, or a row count differs.
    """

    def __init__(self, path: str | os.PathLike, *, expect: Mapping | None = None):
        import json

        import pyarrow.parquet as pq

        directory = os.fspath(path)
        if not os.path.isdir(directory):
            raise ValueError(f"{directory}: the cut table directory does not exist (moved or "
                             "deleted? the output's run.table.path points there)")
        try:
            with open(os.path.join(directory, TABLE_INDEX)) as f:
                index = json.load(f)
            parts = list(index["partitions"])
            preselection = dict(index["preselection"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{directory}: not a complete cut table written by "
                             f"na64tools.run(table_dir=...): cannot read {TABLE_INDEX}: "
                             f"{err!r}") from None
        for p in parts:
            f = os.path.join(directory, p["path"])
            try:
                n = pq.read_metadata(f).num_rows
            except (OSError, ValueError) as err:
                raise ValueError(f"{f}: a partition of the cut table listed in {TABLE_INDEX} "
                                 f"is missing or unreadable ({err}): the table is incomplete") \
                    from None
            if n != p["rows"]:
                raise ValueError(f"{f}: {n} rows, the index says {p['rows']}: the table was "
                                 "modified")
        rows = int(sum(p["rows"] for p in parts))
        if expect is not None:
            want = (int(expect.get("partitions", -1)), int(expect.get("rows", -1)))
            if want != (len(parts), rows):
                raise ValueError(f"{directory}: {len(parts)} partitions, {rows} rows, but the run "
                                 f"wrote {want[0]} partitions, {want[1]} rows: not the table of "
                                 "this output (or an incomplete one)")
        self.path = directory
        self.partitions: list[dict] = parts
        self.preselection: dict[str, float] = preselection
        self.rows = rows
        names = {k: sorted({p[k] for p in parts}) for k in ("dataset", "sample", "file")}
        self.datasets: list[str] = names["dataset"]
        self.samples: list[str] = names["sample"]
        self.files: list[str] = names["file"]

    def __len__(self) -> int:
        return self.rows

    @classmethod
    def of_output(cls, output: Mapping) -> TableIndex:
        """The on-disk table of a processor output (``out["run"]["table"]``), checked.

        Parameters
        ----------
        output : mapping
            A :func:`run` output written with ``table_dir``.

        Returns
        -------
        TableIndex
            Its table, checked against the run's record.
        """
        info = (output.get("run") or {}).get("table")
        if not isinstance(info, Mapping) or "path" not in info:
            raise ValueError("the processor output has no cut table: neither 'table' nor "
                             "run.table (na64tools.run(table_dir=...)); run the processor with its "
                             "table enabled")
        return cls(info["path"], expect=info)

    def read(self, part: Mapping, columns: Iterable[str]) -> dict[str, np.ndarray]:
        """``columns`` of one partition as numpy arrays with the dtypes of the in-memory table.

        Parameters
        ----------
        part : mapping
            One entry of :attr:`partitions`.
        columns : iterable of str
            Table columns to read.

        Returns
        -------
        dict of str to numpy.ndarray
            One array per column, the partition's rows in order.
        """
        import pyarrow.parquet as pq

        columns = list(columns)
        t = pq.read_table(os.path.join(self.path, part["path"]), columns=columns)
        if t.num_rows != part["rows"]:
            raise ValueError(f"{self.path}/{part['path']}: {t.num_rows} rows, the index says "
                             f"{part['rows']}: the table was modified")
        return {c: t.column(c).to_numpy().astype(_TABLE_DTYPES.get(c, np.float64), copy=False)
                for c in columns}

    def blocks(self, part: Mapping, columns: Iterable[str]):
        """``columns`` of one partition, one Parquet row group (:data:`TABLE_ROW_GROUP` rows) at
        a time, in row order: the memory held is that of one row group, whatever the partition.

        Parameters
        ----------
        part : mapping
            One entry of :attr:`partitions`.
        columns : iterable of str
            Table columns to read.

        Yields
        ------
        dict of str to numpy.ndarray
            The columns of one row group.
        """
        import pyarrow.parquet as pq

        columns = list(columns)
        n = 0
        with pq.ParquetFile(os.path.join(self.path, part["path"])) as f:
            for g in range(f.num_row_groups):
                t = f.read_row_group(g, columns=columns)
                n += t.num_rows
                yield {c: t.column(c).to_numpy().astype(_TABLE_DTYPES.get(c, np.float64),
                                                        copy=False) for c in columns}
        if n != part["rows"]:
            raise ValueError(f"{self.path}/{part['path']}: {n} rows, the index says "
                             f"{part['rows']}: the table was modified")

    def iter(self, columns: Iterable[str], *, datasets: Iterable[str] | None = None):
        """``(index entry, {column: array})`` per row group of each partition, in table order.

        Parameters
        ----------
        columns : iterable of str
            Table columns to read.
        datasets : iterable of str, optional
            Only the partitions of these datasets.

        Yields
        ------
        tuple of (dict, dict of str to numpy.ndarray)
            The partition's index entry and the columns of one of its row groups.
        """
        columns = list(columns)
        wanted = None if datasets is None else set(datasets)
        for p in self.partitions:
            if wanted is None or p["dataset"] in wanted:
                for cols in self.blocks(p, columns):
                    yield p, cols


#: the dtypes of the in-memory table (processor._table); other columns float64
_TABLE_DTYPES = {"trigger": bool, "process": np.int8, "entry": np.int64}


def load_table(path: str | os.PathLike, *, datasets: Iterable[str] | None = None,
               columns: Iterable[str] | None = None):
    """Read a cut table written with ``run(table_dir=path)`` into a
    :class:`~na64tools.processor.CutTable` (the rows of ``datasets`` only, if given; the
    table columns ``columns`` only, if given: the cut variables, ``genWeight`` and ``process``
    are what :class:`~na64tools.analysis.Analysis` needs).

    The result is the in-memory table the run would have returned (same rows, same order, same
    values): ``out["table"] = load_table(out["run"]["table"]["path"])`` makes an output usable
    by :class:`~na64tools.analysis.Analysis` and the CutExplorer. It holds every row it reads;
    :class:`~na64tools.analysis.Analysis` and the CutExplorer also take the output as it is
    (``out["table"] is None``) and then read the partitions one at a time (docs/dask.md).
    A missing or incomplete table (index, partition, row count) raises ``ValueError``.

    Parameters
    ----------
    path : str, path or TableIndex
        The directory given as ``table_dir`` (or its checked :class:`TableIndex`).
    datasets : iterable of str, optional
        Read only the rows of these datasets.
    columns : iterable of str, optional
        Read only these columns of the table.

    Returns
    -------
    CutTable
        The cut table.
    """
    from .processor import _TABLE_COLUMNS, CutTable

    index = path if isinstance(path, TableIndex) else TableIndex(path)
    directory = index.path
    parts = index.partitions
    if datasets is not None:
        wanted = set(datasets)
        unknown = wanted - {p["dataset"] for p in parts}
        if unknown:
            raise ValueError(f"{directory}: no dataset {sorted(unknown)[0]!r} in this table")
        parts = [p for p in parts if p["dataset"] in wanted]
    cols = list(_TABLE_COLUMNS) if columns is None else list(columns)
    unknown_cols = set(cols) - set(_TABLE_COLUMNS)
    if unknown_cols:
        raise ValueError(f"{directory}: no column {sorted(unknown_cols)[0]!r} in the cut table "
                         f"(have: {', '.join(_TABLE_COLUMNS)})")
    names = {k: sorted({p[k] for p in parts}) for k in ("dataset", "sample", "file")}
    # filled row group by row group: the memory is the table's, plus one row group
    n = sum(p["rows"] for p in parts)
    columns_out = {c: np.empty(n, _TABLE_DTYPES.get(c, np.float64)) for c in cols}
    at = 0
    for p in parts:
        for block in index.blocks(p, cols):
            k = len(block[cols[0]]) if cols else 0
            for c in cols:
                columns_out[c][at:at + k] = block[c]
            at += k
    for key, dtype in (("dataset", np.int16), ("sample", np.int8), ("file", np.int32)):
        idx = {v: i for i, v in enumerate(names[key])}
        columns_out[key] = np.repeat(np.array([idx[p[key]] for p in parts], dtype=dtype),
                                     [p["rows"] for p in parts]).astype(dtype)
    return CutTable(columns_out, names["dataset"], names["sample"], names["file"],
                    dict(index.preselection))


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------
def run(fileset, processor: cproc.ProcessorABC | None = None, *, executor="futures",
        client=None, chunksize: int = DEFAULT_CHUNKSIZE, workers: int = 2,
        skip_bad_files: bool = False, progress: bool = True, save: str | os.PathLike | None = None,
        maxchunks: int | None = None, retries: int = 0, accumulator: bool = False,
        worker_timeout: float | None = None,
        table_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Run ``processor`` (default: :class:`MissingMomentumProcessor` with the published cuts).

    Parameters
    ----------
    fileset
        ``{dataset: {"files": {path: "Events"}, "metadata": {...}}}``, ``{dataset: [paths]}``, or
        paths / directories / globs (grouped into datasets by :func:`make_fileset`).
    processor
        A :class:`MissingMomentumProcessor` (the whole accounting below: MOT, completeness,
        exact sums, the checks of every file), or any other coffea ``ProcessorABC`` (your own
        analysis of the ntuples, e.g. the teaching processor of notebook 03): it runs through
        coffea's ``Runner`` with :class:`~na64tools.schema.NA64Schema` on the same files, chunks
        and executor, and ``run`` returns what the processor accumulated (after its
        ``postprocess``), nothing added: no MOT, no ``complete`` flag, and only ``executor``,
        ``chunksize``, ``maxchunks`` and ``progress`` apply.
    executor
        ``"iterative"`` (one process), ``"futures"`` (``workers`` local processes), ``"dask"``, or
        a coffea executor object (``coffea.processor.IterativeExecutor``, ``FuturesExecutor``,
        ``DaskExecutor``, ...) configured by the caller, who keeps and closes its pool or client;
        ``client`` and ``workers`` are then not used.
    client
        For ``"dask"``: a ``distributed.Client``, a scheduler address (``tcp://host:port``), or
        ``None`` for a new local cluster of ``workers`` processes (closed at the end). Clients for
        batch systems and gateways: :func:`na64tools.clients.make_client`. For ``"futures"``:
        optionally a ``concurrent.futures`` process pool to reuse across runs.
    chunksize
        Events per chunk. Results do not depend on it.
    workers
        Local processes for ``"futures"``, and for ``"dask"`` the workers of the local cluster
        started when ``client`` is ``None``.
    skip_bad_files
        Leave out unreadable or corrupt files and list them in ``out["skipped"]`` (with their
        MOT) instead of raising :class:`BadFileError`.
    progress
        Show progress bars.
    save
        Save the output with :func:`na64tools.output.save_output` to this path (``.json`` and
        ``.root`` added; no pickle).
    maxchunks
        Process at most this many chunks per dataset (quick looks; MOT then covers whole files,
        ``out["complete"]`` is ``False`` and ``out["processed"]`` says how many events of each
        file were read: :class:`~na64tools.analysis.Analysis` and ``na64tools limits`` refuse
        such an output unless ``allow_partial=True`` / ``--allow-partial``).
    retries
        Retries of a failed chunk (useful on clusters with flaky storage); with
        ``skip_bad_files`` a file is dropped only if one of its chunks fails ``retries + 1`` times.
    accumulator
        Keep the exact accumulator in ``out["accumulator"]``, so that :func:`merge_outputs` can
        add this output to others exactly.
    worker_timeout
        For ``"dask"``: seconds to wait for the first worker to join the scheduler before raising
        :class:`~na64tools.clients.ClusterError` (default
        :data:`na64tools.clients.WORKER_TIMEOUT`); batch jobs that never start, a scheduler
        without workers, a gateway that cannot start them all end in that error.
    table_dir
        Write the cut table as Parquet partitions into this new (or empty) directory, from the
        workers, one partition per chunk (deterministic names, rows in entry order, an index
        ``_na64tools_table.json`` listing them in the order of the in-memory table) instead of
        collecting it in the client: ``out["table"]`` is then ``None`` and
        ``out["run"]["table"]`` holds ``{"path", "partitions", "rows"}``. The directory must
        be writable by the workers (a shared file system). For runs too large for the
        in-memory table (docs/dask.md); the processor must have ``table=True``.

    Returns
    -------
    dict
        ``hists``, ``cutflow``, ``cutflow_by_process``, ``table``, ``mot``, ``files``,
        ``processed`` (events read per file), ``skipped``, ``cuts``, ``preselection``,
        ``complete`` (every event of every file of the fileset is in the output), ``run`` (how it
        ran); see docs/processor.md.

    Raises
    ------
    BadFileError
        A file is unreadable, truncated, corrupt or not in the ntuple format (values of its
        ``Runs`` tree included, and its counters ``nX`` against their collections), its
        ``Runs.sumw``/``sumw2`` differ from the sums of the weights read, or a chunk failed on
        every try (the message names the file and the entries).
    DuplicateFileError, MixedSetupError
        The fileset counts events twice or mixes setups (or samples within a dataset).
    WorkerLostError
        The Dask workers running a chunk died repeatedly.

    Examples
    --------
    Simulate a small signal and background sample, and run the processor in this process:

    >>> import tempfile
    >>> from na64tools import run
    >>> from na64tools.sim import simulate
    >>> d = tempfile.mkdtemp()
    >>> _ = simulate("signal", mass=0.5, events=2000, seed=1, out=d + "/signal")
    >>> _ = simulate("background", events=20000, seed=2, out=d + "/background")
    >>> out = run([d + "/signal", d + "/background"], executor="iterative", progress=False)
    >>> sorted(out["mot"])
    ['background', 'signal_vector_m0.5']
    >>> out["complete"]
    True
    """
    if processor is None:
        processor = MissingMomentumProcessor()
    if not isinstance(processor, cproc.ProcessorABC):
        raise TypeError(f"processor: expected a coffea ProcessorABC (e.g. MissingMomentumProcessor), "
                        f"got {type(processor).__name__}")
    if not isinstance(executor, (str, cproc.executor.ExecutorBase)):
        raise TypeError(f"executor: expected one of {', '.join(EXECUTORS)} or a coffea executor "
                        f"object, got {type(executor).__name__}")
    if not isinstance(processor, MissingMomentumProcessor):
        return _run_other(fileset, processor, executor=executor, client=client,
                          chunksize=chunksize, workers=workers, progress=progress,
                          maxchunks=maxchunks)
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize: expected a positive integer, got {chunksize!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries: expected a non-negative integer, got {retries!r}")
    items = _normalise_fileset(fileset, check=not skip_bad_files)  # bad paths fail before any bar
    proc = copy.copy(processor)
    proc._finalise = False
    proc._catch_errors = bool(skip_bad_files)
    if table_dir is not None:
        if not processor.table:
            raise ValueError("table_dir: the processor has table=False: there is no table to write")
        table_dir = _prepare_table_dir(table_dir)
        proc = _ParquetTable(proc, table_dir)

    from coffea.util import coffea_console

    quiet = coffea_console.quiet
    coffea_console.quiet = quiet or not progress
    ex = _Executors(executor, client=client, workers=workers, progress=progress, retries=retries,
                    worker_timeout=worker_timeout)
    try:
        # in this process (the futures executor's inspector), while the new workers import coffea
        infos_map = ex.map(items, inspect_file, desc="Inspecting files", unit="file", inspect=True)
        infos = [infos_map[(d, f)] for d, f, _, _ in items]
        bad = [i for i in infos if i.error]
        if bad and not skip_bad_files:
            more = f" (and {len(bad) - 1} more bad files)" if len(bad) > 1 else ""
            raise BadFileError(bad[0].error + more)
        skipped = [SkippedFile(i.dataset, i.filename, i.error,
                               i.record.mot if i.record else None,
                               i.record.n_written if i.record else None) for i in bad]
        good = [i for i in infos if not i.error]
        if not good:
            raise BadFileError("no readable input file: " + "; ".join(s.reason for s in skipped))
        _check_fileset(good)
        work = _chunks(good, chunksize, maxchunks)
        acc = _process(ex.executor, work, proc)
        for _ in range(retries if skip_bad_files else 0):
            if not acc.failed:
                break
            acc = _retry_failed(acc, work, proc, ex.executor)
        if acc.failed:
            acc, more_skipped = _drop_failed_files(acc, work, proc, ex.executor, infos_map)
            skipped.extend(more_skipped)
        _check_complete(acc, work, {(s.dataset, s.filename) for s in skipped})
        bad_sums = _check_weight_sums(acc, infos_map)
        if bad_sums and not skip_bad_files:
            raise BadFileError(next(iter(bad_sums.values())))
        if bad_sums:
            acc.failed = {next(_key(wi) for wi in work if (wi.dataset, wi.filename) == k): msg
                          for k, msg in bad_sums.items()}
            acc, more_skipped = _drop_failed_files(acc, work, proc, ex.executor, infos_map,
                                                   plain=True)
            skipped.extend(more_skipped)
    finally:
        ex.close()
        coffea_console.quiet = quiet
    n_all = len(_chunks(good, chunksize, None)) if maxchunks is not None else len(work)
    table_info = (_finish_table_dir(table_dir, acc, processor.preselection)
                  if table_dir is not None else None)
    out = finalise(acc, processor, skipped=skipped)
    out.pop("failed", None)
    if table_info is not None:
        out["table"] = None
    out["complete"] = not skipped and len(work) == n_all
    out["run"] = {"executor": executor if isinstance(executor, str) else type(executor).__name__,
                  "chunksize": chunksize, "workers": workers,
                  "n_files": len(items), "n_chunks": len(work), "retries": retries}
    if isinstance(ex.executor, cproc.DaskExecutor):  # the workers that ran tasks (batch jobs,
        # adaptive workers)
        out["run"]["workers_used"] = sorted(ex.ran_on)
    if table_info is not None:
        out["run"]["table"] = table_info
    if accumulator:
        out["accumulator"] = acc
    if save is not None:
        save_output(out, save)
    return out


def _run_other(fileset, processor, *, executor, client, chunksize: int, workers: int,
               progress: bool, maxchunks: int | None):
    """:func:`run` for a coffea processor other than :class:`MissingMomentumProcessor`: coffea's
    ``Runner`` on the same files and chunks; returns the processor's output as coffea gives it."""
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize: expected a positive integer, got {chunksize!r}")
    items = _normalise_fileset(fileset, check=True)
    files: dict[str, dict] = {}
    for dataset, filename, tree, metadata in items:
        entry = files.setdefault(dataset, {"files": {}, **({"metadata": metadata} if metadata else {})})
        entry["files"][filename] = tree
    ex = _Executors(executor, client=client, workers=workers, progress=progress, retries=0)
    try:
        runner = cproc.Runner(executor=ex.executor, schema=NA64Schema, chunksize=chunksize,
                              maxchunks=maxchunks, savemetrics=False)
        return runner(files, processor, uproot_options=UPROOT_OPTIONS)
    finally:
        ex.close()


def _key(wi) -> tuple:
    return (wi.dataset, wi.filename, wi.entrystart, wi.entrystop)


def _retry_failed(acc: MMAccumulator, work, proc, executor) -> MMAccumulator:
    """Process the failed chunks of ``acc`` once more; keep what succeeds."""
    redo = [wi for wi in work if _key(wi) in acc.failed]
    again = _process(executor, redo, proc)
    acc.failed = {}
    return acc + again


def _drop_failed_files(acc: MMAccumulator, work, proc, executor, infos_map, *, plain=False):
    """Remove every file with a failed chunk: re-run its good chunks and subtract them exactly.

    ``plain``: the messages of ``acc.failed`` are the reasons as they stand (not about the
    entries of the chunk)."""
    bad_files = sorted({(k[0], k[1]) for k in acc.failed})
    reasons: dict[tuple, str] = {}
    for (d, f, a, b), msg in sorted(acc.failed.items()):
        reasons.setdefault((d, f), msg if plain else f"{f}: entries {a}-{b}: {msg}")
    # subtract exactly what acc holds of those files (the chunks that succeeded), computed again
    redo = [wi for wi in work if (wi.dataset, wi.filename) in bad_files and _key(wi) in acc.chunks]
    if redo:
        again = _process(executor, redo, proc)
        if again.failed or set(again.chunks) != {_key(wi) for wi in redo}:
            raise BadFileError(f"{redo[0].filename}: chunks that succeeded once failed when read "
                               "again: cannot remove the file exactly")
        acc = acc - again
    acc.failed = {}
    skipped = []
    for key in bad_files:
        rec = infos_map[key].record
        skipped.append(SkippedFile(key[0], key[1], reasons[key], rec.mot if rec else None,
                                   rec.n_written if rec else None))
    return acc, skipped


def _check_complete(acc: MMAccumulator, work, skipped: set[tuple[str, str]]) -> None:
    """Every chunk of every kept file came back exactly once with all its events; nothing else."""
    expected = {_key(wi): wi.entrystop - wi.entrystart for wi in work
                if (wi.dataset, wi.filename) not in skipped}
    missing = sorted(set(expected) - set(acc.chunks))
    if missing:
        d, f, a, b = missing[0]
        more = f" (and {len(missing) - 1} more chunks)" if len(missing) > 1 else ""
        raise RuntimeError(f"{f}: chunk {a}-{b} of dataset {d!r} did not come back from the "
                           f"executor{more}: the output would be incomplete")
    extra = sorted(set(acc.chunks) - set(expected))
    if extra:
        d, f, a, b = extra[0]
        raise RuntimeError(f"{f}: chunk {a}-{b} of dataset {d!r} is in the output but was not "
                           "submitted (or belongs to a skipped file)")
    short = [(k, n, expected[k]) for k, n in sorted(acc.chunks.items()) if n != expected[k]]
    if short:
        (d, f, a, b), n, m = short[0]
        raise BadFileError(f"{f}: entries {a}-{b} of dataset {d!r}: {n} events read, {m} expected")
    starts = {(wi.dataset, wi.filename) for wi in work if wi.entrystart == 0} - skipped
    nomot = sorted(starts - set(acc.files))
    if nomot:
        raise RuntimeError(f"{nomot[0][1]}: its Runs record (MOT) is missing from the output")


#: relative tolerance of the comparison of ``Runs.sumw``/``sumw2`` with the sums of the
#: ``genWeight`` read (float64 sums of up to 10^9 terms in another order: ~1e-12 apart)
SUMW_RTOL = 1e-9


def _check_weight_sums(acc: MMAccumulator, infos_map) -> dict[tuple[str, str], str]:
    """Files read in full whose ``Runs.sumw`` or ``sumw2`` differ from the sum of the weights of
    their events (within :data:`SUMW_RTOL`): ``{(dataset, file): message}``.

    The sums come from the chunks (the processor sums ``genWeight`` as it reads it): no second
    read. Files not read in full (``maxchunks``) are not checked.
    """
    per_file: dict[tuple[str, str], list] = {}
    for (d, f, a, b), sums in sorted(acc.weights.items()):
        per_file.setdefault((d, f), []).append((b - a, sums))
    read = {(k[0], k[1]) for k in acc.chunks}
    for key, info in infos_map.items():   # files without events: their sums are 0
        if info.numentries == 0 and info.record is not None and not info.error and key in read:
            per_file[key] = [(0, (0.0, 0.0))]
    bad = {}
    for key, parts in per_file.items():
        info = infos_map.get(key)
        if info is None or info.record is None or sum(n for n, _ in parts) != info.numentries:
            continue
        rec = info.record
        for i, (name, value) in enumerate((("sumw", rec.sumw), ("sumw2", rec.sumw2))):
            total = math.fsum(s[i] for _, s in parts)
            if not math.isclose(total, value, rel_tol=SUMW_RTOL, abs_tol=1e-300):
                label = "genWeight" if i == 0 else "genWeight²"
                bad[key] = (f"{key[1]}: Runs.{name} = {value!r} but the {label} of its "
                            f"{info.numentries} events sum to {total!r}: the Runs tree does not "
                            "describe the events of the file")
                break
    return bad


def merge_outputs(outputs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add the outputs of runs on disjoint parts of a fileset, exactly.

    Each output must come from :func:`run` with ``accumulator=True`` and the same cuts,
    preselection and table setting. The result equals (to the last bit) the output of one run on
    the union of the parts, and keeps the merged ``accumulator`` for further merging. A chunk
    present in two outputs raises :class:`DuplicateFileError`; files of different setups
    :class:`MixedSetupError`.

    Parameters
    ----------
    outputs : iterable of dict
        Outputs of :func:`run` with ``accumulator=True``.

    Returns
    -------
    dict
        The merged output, in the format of :func:`run`.

    Raises
    ------
    ValueError
        No output, or one without its ``accumulator`` or with other cuts, preselection or table
        setting.
    """
    outputs = list(outputs)
    if not outputs:
        raise ValueError("merge_outputs: no output to merge")
    for i, o in enumerate(outputs):
        if not isinstance(o, Mapping) or not isinstance(o.get("accumulator"), MMAccumulator):
            raise ValueError(f"merge_outputs: output {i} has no exact accumulator: run it with "
                             "na64tools.run(..., accumulator=True)")
    first = outputs[0]
    for i, o in enumerate(outputs[1:], 1):
        for key in ("cuts", "preselection"):
            if o[key] != first[key]:
                raise ValueError(f"merge_outputs: output {i} has other {key} ({o[key]!r}) than "
                                 f"output 0 ({first[key]!r})")
        if (o["table"] is None) != (first["table"] is None):
            raise ValueError(f"merge_outputs: output {i} {'lacks' if o['table'] is None else 'has'} "
                             "a cut table, output 0 does not")
    ranges: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    for i, o in enumerate(outputs):
        for d, f, a, b in o["accumulator"].chunks:
            ranges.setdefault((d, f), []).append((a, b, i))
    for (d, f), rs in sorted(ranges.items()):
        rs.sort()
        for (_a0, b0, i0), (a1, b1, i1) in zip(rs, rs[1:], strict=False):
            if a1 < b0:
                raise DuplicateFileError(
                    f"merge_outputs: {f} (dataset {d!r}) entries {a1}-{min(b0, b1)} are in outputs "
                    f"{i0} and {i1}: they would be counted twice")
    acc = outputs[0]["accumulator"]
    for o in outputs[1:]:
        acc = acc + o["accumulator"]
    hashes: dict[str, str] = {}
    for (_, fn), rec in sorted(acc.files.items()):
        hashes.setdefault(rec.setup_hash, fn)
    if len(hashes) > 1:
        (h1, f1), (h2, f2) = list(hashes.items())[:2]
        raise MixedSetupError(f"merge_outputs: {f1} (setupHash {h1[:16]}) and {f2} (setupHash "
                              f"{h2[:16]}) were simulated with different setups")
    proc = MissingMomentumProcessor(first["cuts"], preselection=first["preselection"],
                                    table=first["table"] is not None)
    skipped = [s for o in outputs for s in o.get("skipped", [])]
    out = finalise(acc, proc, skipped=skipped)
    out.pop("failed", None)
    out["complete"] = all(o.get("complete", False) for o in outputs)
    runs = [o.get("run", {}) for o in outputs]
    out["run"] = {"merged": runs, "n_files": sum(r.get("n_files", 0) for r in runs),
                  "n_chunks": sum(r.get("n_chunks", 0) for r in runs)}
    out["accumulator"] = acc
    return out
