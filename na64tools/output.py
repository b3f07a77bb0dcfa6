"""Save and load processor outputs in a format that runs no code when loaded.

:func:`save_output` writes two files next to each other:

``<stem>.root``
    Every histogram as ``<name>/<dataset>/<process>`` (TH1D/TH2D with the sums of squared
    weights, under- and overflow), and the TTrees ``cutflow``, ``mot``, ``skipped`` and
    ``CutTable`` (the per-event cut table). Readable with ROOT or uproot alone.
``<stem>.json``
    The index: format name and version, the histogram axes (UHI serialisation), the cutflow
    (also by process), the MOT and per-file ``Runs`` records, skipped files, cuts,
    preselection, the cut-table layout (column dtypes, dataset/sample/file names),
    ``complete``, ``run`` and ``version``, and the UUID of the ROOT file it belongs to.

:func:`load_output` rebuilds the output dict of :func:`na64tools.run` from them exactly:
histogram values and variances, cutflow sums and table columns to the last bit. Only the
exact accumulator (``out["accumulator"]`` of ``run(..., accumulator=True)``, needed by
:func:`na64tools.runner.merge_outputs`) is not kept.

A ``.coffea`` file (coffea ``util.save``) is a pickle, and loading a pickle executes code stored
in it: :func:`load_output` reads one only with ``trusted=True``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["save_output", "load_output", "OutputFormatError", "FORMAT", "FORMAT_VERSION",
           "PICKLE_SUFFIXES"]

#: name and version of the safe format (in the JSON index)
FORMAT = "na64tools-output"
FORMAT_VERSION = 1

#: file name endings taken for a pickle
PICKLE_SUFFIXES = (".coffea", ".pkl", ".pickle")

#: keys of the output dict written into the JSON index as they are
_PLAIN_KEYS = ("complete", "run", "version", "n_chunks")


class OutputFormatError(ValueError):
    """A saved output is missing, incomplete, inconsistent or (untrusted) a pickle."""


# --------------------------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------------------------
def save_output(out: Mapping[str, Any], path: str | os.PathLike, *,
                pickle: bool = False) -> tuple[Path, ...]:
    """Save ``out`` (from :func:`na64tools.run`) as ``<path>.json`` and ``<path>.root``.

    Parameters
    ----------
    out
        The processor output.
    path
        The file stem; a ``.json``, ``.root`` or ``.coffea`` ending is removed.
    pickle
        Also write ``<path>.coffea`` (coffea ``util.save``, a pickle: loading it runs code).

    Returns
    -------
    tuple of Path
        ``(<path>.json, <path>.root)``, then ``<path>.coffea`` with ``pickle=True``.

    Raises
    ------
    TypeError
        A key of ``out`` holds something the format cannot store (the message names it).
    """
    import uproot

    stem = _stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta_path, root_path = _with(stem, ".json"), _with(stem, ".root")
    index = _index(out)
    tmp_root = root_path.with_name(root_path.name + ".tmp")
    try:
        with uproot.recreate(tmp_root) as f:
            index["hists"] = _write_hists(f, out.get("hists") or {})
            _write_trees(f, out)
        with uproot.open(tmp_root) as f:
            index["root_uuid"] = bytes(f.file.fUUID).hex()
        text = json.dumps(index, indent=1, allow_nan=True) + "\n"
        tmp_meta = meta_path.with_name(meta_path.name + ".tmp")
        tmp_meta.write_text(text)
    except BaseException:
        tmp_root.unlink(missing_ok=True)
        raise
    os.replace(tmp_root, root_path)
    os.replace(tmp_meta, meta_path)  # the index last: its presence means the pair is complete
    paths: tuple[Path, ...] = (meta_path, root_path)
    if pickle:
        from coffea.util import save

        pkl = _with(stem, ".coffea")
        save(dict(out), os.fspath(pkl))
        paths += (pkl,)
    return paths


def _stem(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix in (".json", ".root", *PICKLE_SUFFIXES):
        path = path.with_suffix("")
    return path


def _with(stem: Path, suffix: str) -> Path:
    """``stem`` + ``suffix`` (``results/out.v2`` -> ``results/out.v2.json``)."""
    return stem.with_name(stem.name + suffix)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(name))


def _records(obj) -> Any:
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return obj


def _row(r) -> list:
    return [int(r.events), float(r.sumw), float(r.sumw2), float(r.per_mot)]


def _index(out: Mapping[str, Any]) -> dict:
    known = {"hists", "cutflow", "cutflow_by_process", "table", "mot", "files", "skipped",
             "cuts", "preselection", "accumulator", "failed", *_PLAIN_KEYS}
    index: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    index["cutflow"] = {ds: {st: _row(r) for st, r in flow.items()}
                        for ds, flow in (out.get("cutflow") or {}).items()}
    if "cutflow_by_process" in out:
        index["cutflow_by_process"] = {
            ds: {pr: {st: _row(r) for st, r in flow.items()} for pr, flow in procs.items()}
            for ds, procs in out["cutflow_by_process"].items()}
    index["mot"] = {ds: _records(m) for ds, m in (out.get("mot") or {}).items()}
    index["files"] = {ds: {fn: _records(r) for fn, r in recs.items()}
                      for ds, recs in (out.get("files") or {}).items()}
    index["skipped"] = [_records(s) for s in out.get("skipped") or []]
    if "failed" in out:
        index["failed"] = [[list(k), v] for k, v in out["failed"].items()]
    for key in ("cuts", "preselection"):
        if key in out:
            v = out[key]
            index[key] = None if v is None else v.to_dict()
    table = out.get("table", None)
    if "table" in out:
        index["table"] = None if table is None else {
            "n_rows": len(table), "columns": {k: v.dtype.str for k, v in table.columns.items()},
            "datasets": list(table.datasets), "samples": list(table.samples),
            "files": list(table.files), "preselection": dict(table.preselection)}
    for key in _PLAIN_KEYS:
        if key in out:
            index[key] = out[key]
    extra = {k: out[k] for k in out if k not in known}
    if extra:
        index["extra"] = extra
    index["accumulator_saved"] = False
    try:
        json.dumps(index, allow_nan=True)
    except TypeError as err:
        bad = next((k for k in (*_PLAIN_KEYS, *extra) if k in out and not _jsonable(out[k])), "?")
        raise TypeError(f"save_output: out[{bad!r}] cannot be stored without a pickle ({err}); "
                        "save it with pickle=True") from None
    return index


def _jsonable(v) -> bool:
    try:
        json.dumps(v, allow_nan=True)
        return True
    except (TypeError, ValueError):
        return False


def _category_axes(h) -> list[int]:
    import hist

    return [i for i, ax in enumerate(h.axes)
            if isinstance(ax, (hist.axis.StrCategory, hist.axis.IntCategory))]


def _write_hists(f, hists: Mapping[str, Any]) -> dict:
    """Write every histogram as one TH1D/TH2D/TH3D per category bin; return the JSON part."""
    import itertools

    import hist.serialization as hs

    meta = {}
    used: set[str] = set()
    for name, h in hists.items():
        cats = _category_axes(h)
        if h.storage_type.__name__ != "Weight":
            raise TypeError(f"save_output: histogram {name!r} has {h.storage_type.__name__} "
                            "storage (expected Weight)")
        if any(h.axes[i].traits.overflow for i in cats):
            raise TypeError(f"save_output: histogram {name!r} has a category axis with an "
                            "overflow bin (expected growing categories)")
        desc = hs.to_uhi(h)
        desc["storage"] = {"type": desc["storage"]["type"]}
        keys = []
        for combo in itertools.product(*(range(len(h.axes[i])) for i in cats)):
            key = "/".join([_safe(name), *(_safe(h.axes[i].value(j)) for i, j in zip(cats, combo, strict=True))])
            base, n = key, 1
            while key.lower() in used:
                key, n = f"{base}_{n}", n + 1
            used.add(key.lower())
            f[key] = h[{h.axes[i].name: j for i, j in zip(cats, combo, strict=True)}] if cats else h
            keys.append(key)
        meta[name] = {"axes": desc, "keys": keys}
    return meta


def _write_trees(f, out: Mapping[str, Any]) -> None:
    """The cutflow, MOT, skipped-file and cut-table trees (for ROOT users; and the table)."""
    rows = [(ds, st, r.events, r.sumw, r.sumw2, r.per_mot)
            for ds, flow in (out.get("cutflow") or {}).items() for st, r in flow.items()]
    if rows:
        f["cutflow"] = {
            "dataset": np.array([r[0] for r in rows]), "stage": np.array([r[1] for r in rows]),
            "events": np.array([r[2] for r in rows], np.int64),
            "sumw": np.array([r[3] for r in rows]), "sumw2": np.array([r[4] for r in rows]),
            "per_mot": np.array([r[5] for r in rows]),
        }
    mot = out.get("mot") or {}
    if mot:
        f["mot"] = {
            "dataset": np.array(list(mot)), "mot": np.array([m.mot for m in mot.values()]),
            "n_files": np.array([m.n_files for m in mot.values()], np.int64),
            "n_generated": np.array([m.n_generated for m in mot.values()], np.int64),
            "n_written": np.array([m.n_written for m in mot.values()], np.int64),
            "n_processed": np.array([m.n_processed for m in mot.values()], np.int64),
        }
    skipped = out.get("skipped") or []
    if skipped:
        f["skipped"] = {
            "dataset": np.array([s.dataset for s in skipped]),
            "filename": np.array([s.filename for s in skipped]),
            "reason": np.array([s.reason[:500] for s in skipped]),
            "mot": np.array([np.nan if s.mot is None else s.mot for s in skipped]),
        }
    table = out.get("table")
    if table is not None and len(table):
        f["CutTable"] = {k: v.astype(np.int32) if v.dtype in (np.int8, np.int16) else v
                         for k, v in table.columns.items()}


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def load_output(path: str | os.PathLike, *, trusted: bool = False) -> dict[str, Any]:
    """Load a processor output saved by :func:`save_output` (or ``na64tools run``).

    Parameters
    ----------
    path
        ``<stem>.json``, ``<stem>.root`` or ``<stem>`` of the safe format; or a ``.coffea``
        pickle, read only with ``trusted=True``.
    trusted
        Allow reading a pickle. Loading a pickle executes code stored in it: pass ``True``
        only for a file you made yourself or whose origin you trust.

    Returns
    -------
    dict
        The output of :func:`na64tools.run` (without ``accumulator``).

    Raises
    ------
    OutputFormatError
        No such output, an incomplete or inconsistent pair of files, or a pickle without
        ``trusted=True`` (a :class:`ValueError`; the message is one line naming the file).
    """
    p = Path(path)
    if p.suffix in PICKLE_SUFFIXES:
        return _load_pickle(p, trusted)
    stem = _stem(p)
    meta, root = _with(stem, ".json"), _with(stem, ".root")
    if not meta.is_file():
        pkl = _with(stem, ".coffea")
        if p.suffix == "" and pkl.is_file() and not p.is_file():
            return _load_pickle(pkl, trusted)
        what = f"{meta} (written with {root.name} by `na64tools run` or save_output)"
        if p.suffix == ".root" and p.is_file():
            raise OutputFormatError(f"{p}: no {meta.name} next to it: not a complete processor "
                                    f"output (expected {what})")
        raise OutputFormatError(f"{path}: no such processor output (expected {what})")
    try:
        index = json.loads(meta.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise OutputFormatError(f"{meta}: cannot read a processor output index ({err})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise OutputFormatError(f"{meta}: not a na64tools processor output (no format "
                                f"{FORMAT!r})")
    if index.get("format_version") != FORMAT_VERSION:
        raise OutputFormatError(f"{meta}: format version {index.get('format_version')!r}, this "
                                f"na64tools reads version {FORMAT_VERSION}")
    if not root.is_file():
        raise OutputFormatError(f"{meta}: its histograms file {root} is missing")
    try:
        return _from_index(index, root)
    except OutputFormatError:
        raise
    except Exception as err:
        raise OutputFormatError(f"{root}: cannot read the processor output "
                                f"({type(err).__name__}: {err})") from None


def _load_pickle(path: Path, trusted: bool) -> dict[str, Any]:
    if not path.is_file():
        raise OutputFormatError(f"{path}: no such processor output")
    if not trusted:
        raise OutputFormatError(
            f"{path}: a .coffea file is a pickle, and loading a pickle executes code stored in it; "
            "load it only if you trust its origin: load_output(path, trusted=True) "
            "(na64tools limits --trust-pickle)")
    from coffea.util import load

    try:
        out = load(os.fspath(path))
    except Exception as err:
        raise OutputFormatError(f"{path}: cannot read a processor output ({type(err).__name__}: "
                                f"{err})") from None
    if not isinstance(out, dict):
        raise OutputFormatError(f"{path}: expected a processor output (a dict), got "
                                f"{type(out).__name__}")
    return out


def _from_index(index: dict, root: Path) -> dict[str, Any]:
    import uproot

    from .config import Cuts
    from .processor import CutflowRow, CutTable, FileRecord, MOTRecord, Preselection
    from .runner import SkippedFile

    out: dict[str, Any] = {}
    with uproot.open(root) as f:
        uuid = bytes(f.file.fUUID).hex()
        if uuid != index.get("root_uuid"):
            raise OutputFormatError(f"{root}: not the ROOT file of {root.with_suffix('.json').name} "
                                    "(different file UUID): the pair was mixed up")
        out["hists"] = {name: _read_hist(f, name, spec) for name, spec in index["hists"].items()}
        out["cutflow"] = {ds: {st: CutflowRow(*r) for st, r in flow.items()}
                          for ds, flow in index["cutflow"].items()}
        if "cutflow_by_process" in index:
            out["cutflow_by_process"] = {
                ds: {pr: {st: CutflowRow(*r) for st, r in flow.items()} for pr, flow in procs.items()}
                for ds, procs in index["cutflow_by_process"].items()}
        if "table" in index:
            out["table"] = None if index["table"] is None else _read_table(f, index["table"])
    out["mot"] = {ds: MOTRecord(**m) for ds, m in index["mot"].items()}
    out["files"] = {ds: {fn: FileRecord(**r) for fn, r in recs.items()}
                    for ds, recs in index["files"].items()}
    out["skipped"] = [SkippedFile(**s) for s in index["skipped"]]
    if "failed" in index:
        out["failed"] = {tuple(k): v for k, v in index["failed"]}
    if "cuts" in index:
        out["cuts"] = None if index["cuts"] is None else Cuts(**index["cuts"])
    if "preselection" in index:
        p = index["preselection"]
        out["preselection"] = None if p is None else Preselection(**p)
    for key in _PLAIN_KEYS:
        if key in index:
            out[key] = index[key]
    out.update(index.get("extra", {}))
    if out.get("table") is not None:
        out["table"] = CutTable(out["table"]["columns"], index["table"]["datasets"],
                                index["table"]["samples"], index["table"]["files"],
                                index["table"]["preselection"])
    return out


def _read_hist(f, name: str, spec: dict):
    import itertools

    import hist.serialization as hs

    desc = dict(spec["axes"])
    axes_desc = desc["axes"]
    shape = []
    for a in axes_desc:
        if a["type"].startswith("category"):
            shape.append(len(a["categories"]) + (1 if a.get("flow") else 0))
        else:
            n = a["bins"] if "bins" in a else len(a["edges"]) - 1
            shape.append(n + int(a.get("underflow", False)) + int(a.get("overflow", False)))
    values = np.zeros(shape)
    variances = np.zeros(shape)
    cats = [i for i, a in enumerate(axes_desc) if a["type"].startswith("category")]
    # a TH1/TH2/TH3 has both flow bins on every axis: keep those the histogram has
    flows = [(0 if a.get("underflow", False) else 1,
              _nbins(a) + (2 if a.get("overflow", False) else 1))
             for a in axes_desc if not a["type"].startswith("category")]
    combos = list(itertools.product(*(range(len(axes_desc[i]["categories"])) for i in cats)))
    if len(combos) != len(spec["keys"]):
        raise OutputFormatError(f"{name}: {len(spec['keys'])} ROOT keys for {len(combos)} "
                                "category bins")
    for combo, key in zip(combos, spec["keys"], strict=True):
        if key not in f:
            raise OutputFormatError(f"{f.file.file_path}: histogram {key!r} is missing")
        th = f[key]
        sel = tuple(slice(lo, hi) for lo, hi in flows)
        v = np.asarray(th.values(flow=True))[sel]
        w = np.asarray(th.variances(flow=True))[sel]
        idx = [slice(None)] * len(shape)
        for i, j in zip(cats, combo, strict=True):
            idx[i] = j
        values[tuple(idx)] = v
        variances[tuple(idx)] = w
    return hs.from_uhi({**desc, "storage": {"type": "weighted", "values": values,
                                            "variances": variances}})


def _nbins(a: dict) -> int:
    return a["bins"] if "bins" in a else len(a["edges"]) - 1


def _read_table(f, spec: dict) -> dict:
    dtypes = {k: np.dtype(v) for k, v in spec["columns"].items()}
    n = spec["n_rows"]
    if n == 0:
        return {"columns": {k: np.empty(0, dt) for k, dt in dtypes.items()}}
    if "CutTable" not in f:
        raise OutputFormatError(f"{f.file.file_path}: the CutTable tree is missing")
    tree = f["CutTable"]
    if tree.num_entries != n:
        raise OutputFormatError(f"{f.file.file_path}: CutTable has {tree.num_entries} entries, "
                                f"the index says {n}")
    arrays = tree.arrays(list(dtypes), library="np")
    cols = {}
    for k, dt in dtypes.items():
        a = arrays[k]
        c = a.astype(dt)
        if not np.array_equal(c, a):
            raise OutputFormatError(f"{f.file.file_path}: CutTable column {k!r} does not fit {dt}")
        cols[k] = c
    return {"columns": cols}
