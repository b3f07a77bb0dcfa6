"""Write NA64 ntuples (``docs/ntuple_format.md``): ROOT TTrees ``Events`` and ``Runs`` with uproot.

The trees are created with ``file.mktree(...)`` and filled with ``extend(...)`` in chunks (one
TBasket per branch and chunk), NanoAOD style: jagged collections become ``Coll_field`` branches
with a counter ``nColl``. (Assigning a dict, ``file["Events"] = {...}``, would write an RNTuple
with uproot >= 5.7, which NanoAOD readers do not expect.)

A file is written in a private temporary directory inside its final directory and renamed at the
end (``os.replace``, atomic on POSIX), so an interrupted or failed job never leaves a
half-written file under the final name; the temporary directory is removed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from .generator import COLLECTIONS, FLAT_BRANCHES, Block

__all__ = ["RUNS_BRANCHES", "COMPRESSION", "check_output_dir", "write_file", "events_tree_types",
           "content_hash"]

#: Runs branches and their types (docs/ntuple_format.md)
RUNS_BRANCHES: dict[str, str] = {
    "run": "int32", "mot": "float64", "nGenerated": "int64", "nWritten": "int64",
    "sumw": "float64", "sumw2": "float64", "genEventSumw": "float64",
    "sample": "string", "model": "string", "mass": "float64", "coupling": "float64",
    "xMin": "float64", "sigma": "float64", "brInvisible": "float64",
    "setup": "string", "setupHash": "string", "setupFile": "string",
    "generator": "string", "seed": "int64", "firstEvent": "int64",
}

#: compression of the written files: ZSTD level 1 writes ~7x faster than ZLIB(1) for ~14 % larger
#: files; LZ4(1) writes ~2x faster still but its files are ~24 % larger (benchmarks/bench_sim.py).
#: uproot reads ZSTD with its own dependency cramjam
COMPRESSION = uproot.ZSTD(1)

_NT = ak.types
#: awkward type of a string branch (built directly: uproot would parse the datashape "string"
#: once per branch and per file, ~10 ms each)
_STRING = _NT.ListType(_NT.NumpyType("uint8", parameters={"__array__": "char"}),
                       parameters={"__array__": "string"})


def events_tree_types() -> dict[str, object]:
    """Branch types of ``Events`` for ``mktree``: numpy dtypes and ``var * {record}`` collections
    (as awkward types, so that uproot does not parse datashape strings).

    Returns
    -------
    dict
        Branch name -> type.
    """
    types: dict[str, object] = {k: np.dtype(t) for k, t in FLAT_BRANCHES.items()}
    for c, fields in COLLECTIONS.items():
        types[c] = _NT.ListType(_NT.RecordType([_NT.NumpyType(np.dtype(t).name) for t in fields.values()],
                                               list(fields)))
    return types


def runs_tree_types() -> dict[str, object]:
    """Branch types of ``Runs`` for ``mktree``."""
    return {k: (_STRING if t == "string" else np.dtype(t)) for k, t in RUNS_BRANCHES.items()}


def check_output_dir(out: str | os.PathLike) -> Path:
    """Create ``out`` if needed and check that files can be created in it.

    Parameters
    ----------
    out : str or path
        The directory.

    Returns
    -------
    Path
        The directory.

    Raises
    ------
    ValueError
        Naming the directory when it cannot be created or written.
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"output directory {str(path)!r} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"output directory {str(path)!r} cannot be created ({err.strerror})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".na64tools-probe-", dir=path)
    except OSError as err:
        raise ValueError(f"output directory {str(path)!r} is not writable ({err.strerror})") from None
    os.close(fd)
    os.unlink(probe)
    return path


def _chunk_dict(b: Block) -> dict[str, object]:
    d: dict[str, object] = {k: np.ascontiguousarray(b[k]) for k in FLAT_BRANCHES}
    for c in COLLECTIONS:
        counts, content = b[c]
        d[c] = ak.unflatten(ak.zip({f: content[f] for f in COLLECTIONS[c]}, depth_limit=1), counts)
    return d


def _uuids(key: str):
    """Deterministic UUIDs for the file and its directories (uproot's ``uuid_function``)."""
    counter = iter(range(1 << 30))
    return lambda: uuid.uuid5(uuid.NAMESPACE_URL, f"na64tools:{key}:{next(counter)}")


def write_file(path: str | os.PathLike, chunks: Iterable[Block], runs: Mapping[str, object],
               *, compression=None, uuid_key: str | None = None) -> Path:
    """Write ``Events`` from ``chunks`` and one ``Runs`` entry to ``path`` (atomically).

    ``runs`` maps every name of :data:`RUNS_BRANCHES` to its value; ``nWritten``, ``sumw`` and
    ``sumw2`` are filled here from the written events if absent. With ``uuid_key`` the file
    UUIDs are derived from it (reproducible); the creation times in the ROOT headers are the
    only bytes that differ between two writes of the same content.

    Parameters
    ----------
    path : str or path
        The file to write (replaced atomically).
    chunks : iterable of Block
        The events, one ``Events`` basket per chunk.
    runs : mapping
        The ``Runs`` entry.
    compression : optional
        uproot compression (default :data:`COMPRESSION`, ZSTD level 1).
    uuid_key : str, optional
        Derive the file UUIDs from this key.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    # a private temporary directory next to the final file, so that the file keeps its final
    # name inside the ROOT header and the rename stays on one file system
    tmpdir = Path(tempfile.mkdtemp(prefix=".na64tools-tmp-", dir=path.parent))
    tmp = tmpdir / path.name
    try:
        n_written, sumw, sumw2 = 0, 0.0, 0.0
        opts = {"uuid_function": _uuids(uuid_key)} if uuid_key is not None else {}
        with uproot.recreate(tmp, compression=COMPRESSION if compression is None else compression,
                             **opts) as f:
            tree = f.mktree("Events", events_tree_types(), title="NA64 events")
            for b in chunks:
                w = b["genWeight"]
                n_written += int(w.size)
                sumw += float(w.sum())
                sumw2 += float(np.dot(w, w))
                tree.extend(_chunk_dict(b))
            info = {"nWritten": n_written, "sumw": sumw, "sumw2": sumw2, **runs}
            missing = sorted(set(RUNS_BRANCHES) - set(info))
            if missing:
                raise ValueError(f"Runs entry lacks {missing[0]!r}")
            rt = f.mktree("Runs", runs_tree_types(), title="NA64 runs")
            rt.extend({k: (np.array([str(info[k])]) if t == "string" else np.array([info[k]], dtype=t))
                       for k, t in RUNS_BRANCHES.items()})
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        try:
            tmpdir.rmdir()
        except OSError:
            pass
    return path


def remove_partial(out: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Remove the unfinished files ``names`` from the temporary directories in ``out``.

    What :func:`write_file` leaves behind when its process is killed before it could clean up
    (a Dask worker stopped with its cluster): ``out/.na64tools-tmp-*/<name>``. Temporary files
    of other names (another job writing into ``out``) are left alone. Returns the removed files.
    """
    names = set(names)
    removed = []
    for tmpdir in sorted(Path(out).glob(".na64tools-tmp-*")):
        for name in names:
            part = tmpdir / name
            if part.is_file():
                part.unlink()
                removed.append(part)
        try:
            tmpdir.rmdir()  # only if it is now empty
        except OSError:
            pass
    return removed


def content_hash(paths: str | os.PathLike | Iterable[str | os.PathLike], *,
                 exclude: tuple[str, ...] = ("run",)) -> str:
    """SHA-256 of the ``Events`` content of ``paths`` concatenated in order.

    Every branch except ``exclude`` (default: ``run``, the file number) contributes its name and
    the bytes of its values (jagged branches: counts and content), so that a sample split into
    any number of files has the same hash as the same sample in one file.

    Parameters
    ----------
    paths : str, path or iterable of them
        The files, in order.
    exclude : tuple of str
        Branches left out.

    Returns
    -------
    str
        The hex digest.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    arrays: dict[str, list] = {}
    for p in paths:
        with uproot.open(p) as f:
            tree = f["Events"]
            for name, arr in tree.arrays(library="ak", how=dict).items():
                if name not in exclude:
                    arrays.setdefault(name, []).append(arr)
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = ak.concatenate(arrays[name]) if len(arrays[name]) > 1 else arrays[name][0]
        h.update(name.encode())
        if a.ndim > 1:
            h.update(np.ascontiguousarray(ak.to_numpy(ak.num(a, axis=1)), dtype=np.int64).tobytes())
            a = ak.flatten(a)
        h.update(np.ascontiguousarray(ak.to_numpy(a)).tobytes())
    return h.hexdigest()
