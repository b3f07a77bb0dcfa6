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

import copy
import glob
import math
import os
import re
import sys
import types
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
           "merge_outputs", "split_entries",
           "SkippedFile", "BadFileError", "FilesetError", "DuplicateFileError", "MixedSetupError",
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
            out.extend(sorted(glob.glob(os.path.join(p, "*.root"))))
        elif any(c in p for c in "*?["):
            found = sorted(glob.glob(p))
            if not found:
                raise FileNotFoundError(f"{p}: no file matches")
            out.extend(found)
        else:
            out.append(p)
    return out


def make_fileset(paths, *, treename: str = "Events") -> dict[str, dict]:
    """Group ntuples into datasets by the ``sample``, ``model`` and ``mass`` of their ``Runs`` tree.

    ``paths``: files, directories (their ``*.root``) or glob patterns. Dataset names are
    ``background`` or ``signal_<model>_m<mass>`` (e.g. ``signal_vector_m0.1``); a file whose
    ``Runs`` tree cannot be read goes to the dataset ``unreadable`` (and :func:`run` reports it).
    """
    fileset: dict[str, dict] = {}
    for path in _expand(paths):
        try:
            rec = read_runs(path)
            if rec.sample == "signal":
                name = f"signal_{rec.model or 'unknown'}_m{rec.mass:g}"
            else:
                name = rec.sample or "unknown"
        except (BadFileError, OSError):
            name = "unreadable"
        fileset.setdefault(name, {"files": {}, "treename": treename})["files"][path] = treename
    return dict(sorted(fileset.items()))


_RESERVED = {"dataset", "filename", "treename", "entrystart", "entrystop", "fileuuid",
             "numentries", "uuid", "clusters", "preload"}


def _normalise_fileset(fileset) -> list[tuple[str, str, str, dict | None]]:
    """(dataset, file, tree, user metadata) in canonical order (datasets sorted, files as given)."""
    if isinstance(fileset, (str, os.PathLike)) or (isinstance(fileset, Iterable) and not isinstance(fileset, Mapping)):
        fileset = make_fileset(fileset)
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
            items.append((str(dataset), f, t, meta))
    return items


# --------------------------------------------------------------------------------------------
# file inspection (runs on the executor)
# --------------------------------------------------------------------------------------------
def inspect_file(item: tuple[str, str, str, dict | None]) -> dict[tuple[str, str], _FileInfo]:
    """Check one file before processing: readable, the Events branches of the format (through
    :class:`NA64Schema`), every basket inside the file, a consistent ``Runs`` tree.

    Returns ``{(dataset, file): info}``; a problem is recorded in ``info.error`` (never raised),
    so that all bad files are reported together.
    """
    dataset, filename, treename, meta = item
    record, n, uuid, first, run_number = None, -1, b"", None, None
    try:
        try:
            record = read_runs(filename, dataset)
        except BadFileError as err:
            raise BadFileError(str(err)) from None
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


def make_pool(workers: int = 2):
    """A loky process pool for ``executor="futures"`` (pass it as ``client=`` to reuse it).

    Workers are not restarted by loky's memory-leak heuristic below
    :data:`WORKER_MEMORY_GROWTH`: processing a chunk legitimately grows a worker by a few
    hundred MB. Shut it down with ``pool.shutdown()``.
    """
    from loky import ProcessPoolExecutor

    from ._signals import children_started

    pool = None
    try:
        with children_started():  # the workers ignore a terminal's Ctrl-C (na64tools._signals)
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                                       initargs=(WORKER_MEMORY_GROWTH,))
            pool.submit(int).result()  # start them now, inside the block
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=True)
        raise
    return pool


class _Executors:
    """The coffea executor for ``executor`` with the resources it owns (pool, Dask client)."""

    def __init__(self, executor: str, *, client, workers: int, progress: bool, retries: int):
        self.owned_pool = None
        self.owned_client = None
        if executor == "iterative":
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
        elif executor == "dask":
            if client is None:
                from .clients import make_client

                client = self.owned_client = make_client("local", n_workers=workers)
            elif isinstance(client, str):
                from .clients import make_client

                client = self.owned_client = make_client(client)
            self.executor = cproc.DaskExecutor(client=client, status=progress, retries=retries)
        else:
            raise ValueError(f"executor: unknown executor {executor!r} (expected one of {', '.join(EXECUTORS)})")

    def map(self, items: list, function, *, desc: str, unit: str) -> dict:
        ex = self.executor.copy(desc=desc, unit=unit)
        if isinstance(ex, cproc.DaskExecutor):
            ex.heavy_input = None
        out = ex(items, function, {})
        return out[0] if isinstance(out, tuple) else out

    def close(self) -> None:
        if self.owned_pool is not None:
            # nothing is left to compute (or the run is stopping): workers that exit normally
            # finalise coffea, numba and their heaps first, 0.3-3 s on a busy machine
            self.owned_pool.shutdown(wait=True, kill_workers=True)
        if self.owned_client is not None:
            from .clients import close_client

            close_client(self.owned_client)


def split_entries(numentries: int, chunksize: int) -> list[tuple[int, int]]:
    """The chunks ``[(start, stop), ...]`` of a tree of ``numentries`` entries.

    A file is split into chunks of ``ceil(numentries / n)`` entries with ``n = max(round(
    numentries / chunksize), 1)`` (the last one shorter; at most ``n`` chunks), as coffea's
    ``FileMeta.chunks`` does: a file of
    1.5 million events is two chunks at the default chunk size, so that two workers share it.
    An empty tree is one empty chunk (its ``Runs`` tree is still read).
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


def _dask_workers(executor) -> int:
    try:
        return max(1, len(executor.client.scheduler_info()["workers"]))
    except Exception:
        return 1


def _process(runner_executor, items, proc) -> MMAccumulator:
    if isinstance(runner_executor, cproc.DaskExecutor):
        size = DASK_CHUNKS_PER_WORKER * _dask_workers(runner_executor)
        if len(items) > size:
            acc = None
            for i in range(0, len(items), size):
                part = _process_batch(runner_executor, items[i:i + size], proc)
                acc = part if acc is None else acc + part
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
# run
# --------------------------------------------------------------------------------------------
def run(fileset, processor: MissingMomentumProcessor | None = None, *, executor: str = "futures",
        client=None, chunksize: int = DEFAULT_CHUNKSIZE, workers: int = 2,
        skip_bad_files: bool = False, progress: bool = True, save: str | os.PathLike | None = None,
        maxchunks: int | None = None, retries: int = 0, accumulator: bool = False) -> dict[str, Any]:
    """Run ``processor`` (default: :class:`MissingMomentumProcessor` with the published cuts).

    Parameters
    ----------
    fileset
        ``{dataset: {"files": {path: "Events"}, "metadata": {...}}}``, ``{dataset: [paths]}``, or
        paths / directories / globs (grouped into datasets by :func:`make_fileset`).
    executor
        ``"iterative"`` (one process), ``"futures"`` (``workers`` local processes) or ``"dask"``.
    client
        For ``"dask"``: a ``distributed.Client``, a scheduler address (``tcp://host:port``), or
        ``None`` for a new local cluster of ``workers`` processes (closed at the end). Clients for
        batch systems and gateways: :func:`na64tools.clients.make_client`. For ``"futures"``:
        optionally a ``concurrent.futures`` process pool to reuse across runs.
    chunksize
        Events per chunk. Results do not depend on it.
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
    """
    if processor is None:
        processor = MissingMomentumProcessor()
    if not isinstance(processor, MissingMomentumProcessor):
        raise TypeError(f"processor: expected a MissingMomentumProcessor, got {type(processor).__name__}")
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize: expected a positive integer, got {chunksize!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries: expected a non-negative integer, got {retries!r}")
    items = _normalise_fileset(fileset)
    proc = copy.copy(processor)
    proc._finalise = False
    proc._catch_errors = bool(skip_bad_files)

    from coffea.util import coffea_console

    quiet = coffea_console.quiet
    coffea_console.quiet = quiet or not progress
    ex = _Executors(executor, client=client, workers=workers, progress=progress, retries=retries)
    try:
        infos_map = ex.map(items, inspect_file, desc="Inspecting files", unit="file")
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
    out = finalise(acc, processor, skipped=skipped)
    out.pop("failed", None)
    out["complete"] = not skipped and len(work) == n_all
    out["run"] = {"executor": executor, "chunksize": chunksize, "workers": workers,
                  "n_files": len(items), "n_chunks": len(work), "retries": retries}
    if accumulator:
        out["accumulator"] = acc
    if save is not None:
        save_output(out, save)
    return out


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


# --------------------------------------------------------------------------------------------
# ``na64tools.run`` is both this module and the function: make the module callable, so that
# ``na64tools.run(fileset)`` works even after ``import na64tools.run`` bound the module there.
# --------------------------------------------------------------------------------------------
class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

# and the helpers are reachable from the function too: ``na64tools.run.save_output(...)``
for _helper in (save_output, load_output, make_fileset, make_pool, inspect_file, merge_outputs,
                split_entries):
    setattr(run, _helper.__name__, _helper)
run.DEFAULT_CHUNKSIZE = DEFAULT_CHUNKSIZE
