"""The performance machinery below :class:`na64tools.MissingMomentumProcessor`.

The processor says *what* to fill: the cutflow, and a list of :class:`Fill` (a histogram, the
cut variables on its axes, and which events: the N−1 events of a cut or the preselected ones).
:func:`fill_selection` fills them for one chunk with exact sums (:mod:`na64tools.exact`):

- the cut masks come from :func:`na64tools.selection.cut_masks` (the one declaration of the
  cuts) and the preselection mask from :meth:`na64tools.processor.Preselection.mask`;
- from the masks, the cutflow stage of every event and the rows of each N−1 histogram (the
  events that pass all cuts, or all but this one) are computed once;
- the weights ``w`` and ``w**2`` of the chunk are split once into slices
  (:func:`na64tools.exact.decompose`); every histogram and the cutflow are filled from them
  (:meth:`na64tools.exact.ExactHist.fill_group`: per histogram and slice one ``bincount``,
  exact whatever the order), the weights of a row set shared by several histograms taken once.

Also here, the memory settings of a process that runs chunks: :func:`tune_memory` (glibc
``mallopt``, no transparent huge pages) and :func:`plain_empty` (the table's arrays). Why each
piece is there, with the measurements: docs/processor.md, "Speed".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .exact import ExactHist, ExactSums, decompose
from .selection import stages

__all__ = ["Fill", "fill_selection", "tune_memory", "plain_empty", "MALLOC_SETTINGS"]

#: which events a :class:`Fill` takes
NMINUS1, PRESELECTED = "nminus1", "preselected"


@dataclass(frozen=True)
class Fill:
    """One histogram to fill from the cut variables of a chunk.

    ``variables``: the cut variables on its axes (in axis order). ``events``: ``"preselected"``
    (the events passing the preselection) or ``"nminus1"`` (the events that pass every cut
    except possibly ``cut``: its N−1 histogram).
    """

    hist: ExactHist
    variables: tuple[str, ...]
    events: str = PRESELECTED
    cut: str | None = None


# --------------------------------------------------------------------------------------------
# the fill
# --------------------------------------------------------------------------------------------
def fill_selection(dataset: str, cutflow: ExactHist, fills: Sequence[Fill],
                   masks: Mapping[str, np.ndarray], preselected: np.ndarray,
                   variables: Mapping[str, np.ndarray], weight: np.ndarray,
                   process: np.ndarray) -> None:
    """Fill the cutflow and ``fills`` with the events of one chunk of ``dataset`` (exact sums).

    Parameters
    ----------
    dataset
        The sample category of the histograms.
    cutflow
        Histogram (one Integer axis without flow bins, with counts) of the cutflow stage each
        event reaches: 0 (no cut passed) to ``len(masks)`` (all passed), cuts taken in order.
    fills
        The other histograms (:class:`Fill`).
    masks
        Each cut's own pass mask, in cutflow order (:func:`na64tools.selection.cut_masks`).
    preselected
        The events of the ``"preselected"`` fills (a boolean mask).
    variables
        The cut variables, one value per event (float64 or bool arrays).
    weight, process
        ``genWeight`` (float64) and the process code (0 .. number of processes - 1) per event.
    """
    process = np.asarray(process).astype(np.intp, copy=False)
    n = len(weight)
    # the stage each event reaches (the cutflow, na64tools.selection.stages) and the number of
    # cuts it passes (N-1)
    stage = stages(masks, masks.keys())
    npass = np.zeros(n, np.int8)
    for m in masks.values():
        npass += m
    items = [(cutflow, process, (stage,), None)]
    # N-1 rows of a cut: the events that pass all cuts, or all but this one. Gathers with
    # ``take`` and integer indices (several times faster than boolean or fancy indexing)
    cand = np.flatnonzero(npass >= len(masks) - 1)
    full = npass.take(cand) == len(masks)
    nminus1: dict[str, np.ndarray] = {}
    proc_rows: dict[int, np.ndarray] = {}
    pre = None
    for f in fills:
        if f.events == NMINUS1:
            if f.cut not in nminus1:
                nminus1[f.cut] = cand.take(np.flatnonzero(full | ~masks[f.cut].take(cand)))
            rows = nminus1[f.cut]
        elif f.events == PRESELECTED:
            pre = np.flatnonzero(preselected) if pre is None else pre
            rows = pre
        else:
            raise ValueError(f"{f.hist.label}: unknown events {f.events!r}")
        if id(rows) not in proc_rows:
            proc_rows[id(rows)] = process.take(rows)
        items.append((f.hist, proc_rows[id(rows)], tuple(variables[v].take(rows) for v in f.variables),
                      rows))
    w = np.asarray(weight, dtype=np.float64)
    classes = weight_classes(w)
    if classes is not None:   # few distinct weights (the strata of a simulated sample)
        _fill_by_class(dataset, items, *classes)
        return
    # all histograms and the cutflow in one exact summation of w and one of w**2 (the weights
    # of a row set shared by several histograms are taken once)
    ExactHist.fill_group(dataset, items, weight=decompose(w), weight2=decompose(w * w))


#: at most this many distinct weights in a chunk for the counting path of :func:`fill_selection`
MAX_WEIGHT_CLASSES = 256
_MAX_COUNT = 1 << 35   # counts x 27-bit integers stay below 2**62 (ExactSums.from_terms)


def weight_classes(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, values)`` with ``w == values[codes]`` if ``w`` (finite, with finite squares) takes at most
    :data:`MAX_WEIGHT_CLASSES` distinct values, else None.

    Background files of :func:`na64tools.sim.simulate` hold one weight per importance-sampling
    stratum (about 16 distinct values per chunk): the histograms are then exact integer counts
    per (bin, weight), multiplied out exactly. Found with two small ``np.unique`` and a
    ``searchsorted`` (no sort of the whole chunk).
    """
    n = len(w)
    if n == 0 or n >= _MAX_COUNT:
        return None
    values = np.unique(w[:4096])
    for _ in range(2):
        with np.errstate(over="ignore"):   # w and w**2 finite, or the slices say what is wrong
            if len(values) > MAX_WEIGHT_CLASSES or not np.isfinite(values * values).all():
                return None
        codes = _codes(w, values)
        miss = values.take(codes) != w
        if not miss.any():
            return codes, values
        values = np.union1d(values, w[miss][: 2 * MAX_WEIGHT_CLASSES])
    return None


def _codes(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The index in the sorted ``values`` of each ``w`` (any index where ``w`` is not one of
    them): a look-up on the top 20 bits of the float64 (sign, exponent, 8 bits of significand)
    when they tell the values apart, else a binary search (~3 times slower)."""
    keys = values.view(np.uint64) >> np.uint64(44)
    if len(np.unique(keys)) == len(values):
        lut = np.zeros(1 << 20, np.uint8)
        lut[keys.astype(np.intp)] = np.arange(len(values), dtype=np.uint8)
        return lut.take((w.view(np.uint64) >> np.uint64(44)).astype(np.intp))
    return np.minimum(np.searchsorted(values, w), len(values) - 1)


def _fill_by_class(dataset: str, items: Sequence[tuple], codes: np.ndarray, values: np.ndarray) -> None:
    """Fill the ``(hist, process, values, rows)`` items with exact sums of the weights
    ``values[codes]`` and their squares: per bin, the integer count of each weight, times the
    weight split exactly into two integers times powers of two (``ExactSums.from_terms``)."""
    nu = len(values)
    terms_w, exps_w = _split(values)
    terms_w2, exps_w2 = _split(values * values)   # the float64 squares, as w * w
    # per row set, once: the (process, weight) class of each row, process * nu + code
    keys: dict[tuple[int, int], np.ndarray] = {}
    counts = []
    for h, process, axis_values, rows in items:
        k = (id(rows), id(process))
        if k not in keys:
            key = np.asarray(process, dtype=np.int64) * nu
            key += codes if rows is None else codes.take(rows)
            keys[k] = key
        key = keys[k]
        nproc = h._total // h.nbins
        # one bincount over (bin, process, weight class); counts[process * nbins + bin, class]
        bins = h.flat_index(*axis_values)
        if not h._all_flow and (bins < 0).any():   # beyond an axis without flow bins: dropped
            keep = bins >= 0
            bins, key = bins[keep], key[keep]
        bins *= nproc * nu
        bins += key
        c = np.bincount(bins, minlength=h._total * nu).reshape(h.nbins, nproc, nu)
        counts.append(c.transpose(1, 0, 2).reshape(h._total, nu))
    # sum_u count[b, u] * values[u], exactly: terms[k, b] = sum_u count[b, u] * t[k, u], for
    # the filled bins of all histograms at once, in int64 (|terms| <= n * 2**27). An integer
    # matrix product: numpy's own loop, no BLAS (whose threads spin after a call and take a core
    # from the other workers)
    allc = np.concatenate(counts)
    filled = np.flatnonzero(allc.any(axis=1))
    cf = allc.take(filled, axis=0)
    sums = []
    for t, e in ((terms_w, exps_w), (terms_w2, exps_w2)):
        part = cf @ t.T
        terms = np.zeros((len(e), len(allc)), np.int64)
        terms[:, filled] = part.T
        sums.append(ExactSums.from_terms(terms, e))
    a = 0
    for (h, *_), c in zip(items, counts, strict=True):
        b = a + h._total
        part = [ExactSums(h._total, s.k0, np.ascontiguousarray(s.limbs[a:b])) for s in sums]
        h._add_sample(dataset, c.sum(axis=1) if h.with_counts else np.zeros(0, np.int64), *part)
        a = b


def _split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values[u] = sum_k t[k, u] * 2**e[k]`` exactly, with int64 ``t`` below 2**27 in magnitude:
    per value its 53-bit integer significand ``M * 2**E`` split as ``H * 2**(E + 27) + L * 2**E``.
    Returns ``(t, e)`` with one pair of rows (L, H) per distinct exponent E."""
    m, ex = np.frexp(values)
    M = np.ldexp(m, 53).astype(np.int64)            # exact: |M| < 2**53
    E = ex.astype(np.int64) - 53
    H = M >> 27
    L = M - (H << 27)                                # 0 <= L < 2**27, |H| < 2**26
    exps = np.unique(E)
    t = np.zeros((2 * len(exps), len(values)), np.int64)
    for k, e in enumerate(exps):
        sel = E == e
        t[2 * k, sel] = L[sel]
        t[2 * k + 1, sel] = H[sel]
    return t, np.repeat(exps, 2) + np.tile([0, 27], len(exps))


# --------------------------------------------------------------------------------------------
# memory of the process that runs the chunks
# --------------------------------------------------------------------------------------------
#: glibc ``mallopt`` settings applied once in each process that runs chunks: serve arrays up to
#: 32 MiB from the heap (``M_MMAP_THRESHOLD``) and keep freed heap memory (``M_TRIM_THRESHOLD``)
MALLOC_SETTINGS = {-3: 32 << 20, -1: 1 << 30}
_memory_tuned: bool | None = None   # the result of the first call of tune_memory


def tune_memory() -> bool:
    """Memory settings for a process that runs chunks (applied once; Linux only).

    A chunk allocates and frees a few hundred MB of numpy temporaries, and every first touch
    of a fresh page costs a page fault, which on virtual machines is as expensive as the
    arithmetic. Two process-wide settings avoid most of them:

    - glibc keeps and reuses freed memory (:data:`MALLOC_SETTINGS`) instead of returning
      large blocks to the kernel after every chunk;
    - numpy does not advise the kernel to back its arrays with transparent huge pages: where
      the kernel then compacts memory synchronously at the first touch (``defrag = madvise``,
      a common default and the one of the development machine) that costs more than the huge
      pages save for arrays that are written once and read once or twice.

    The peak memory is unchanged, but the process keeps up to 1 GiB of freed memory until it
    exits. ``na64tools`` calls this before each chunk
    (:func:`na64tools.processor.chunk_machinery`); set the environment variable
    ``NA64TOOLS_TUNE_MEMORY=0`` to leave the process alone. Returns whether
    the settings are applied (the same answer on every call).

    Returns
    -------
    bool
        Whether the settings are applied.
    """
    global _memory_tuned
    if _memory_tuned is None:
        _memory_tuned = _apply_memory_settings()
    return _memory_tuned


def _apply_memory_settings() -> bool:
    if os.environ.get("NA64TOOLS_TUNE_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    ok = all(mallopt(param, value) == 1 for param, value in MALLOC_SETTINGS.items())
    # numpy's switch for its huge-page advice (numpy >= 1.20; NUMPY_MADVISE_HUGEPAGE=0 at start)
    switch = getattr(getattr(getattr(np, "_core", None), "multiarray", None),
                     "_set_madvise_hugepage", None)
    if switch is not None:
        switch(False)
    return ok


def plain_empty(n: int, dtype) -> np.ndarray:
    """An uninitialised array of ``n`` elements in memory allocated without asking for
    transparent huge pages.

    numpy advises the kernel to back arrays of 4 MB and more with huge pages; where the kernel
    then compacts memory synchronously at the first touch (``defrag = madvise``) filling a
    fresh 300 MB table costs about twice as long. The table is written once and read
    sequentially: ordinary pages are as good.

    Parameters
    ----------
    n : int
        Number of elements.
    dtype : numpy.dtype or str
        Element type.

    Returns
    -------
    numpy.ndarray
        A writable 1-D array of ``n`` elements.
    """
    dtype = np.dtype(dtype)
    return np.frombuffer(bytearray(n * dtype.itemsize), dtype=dtype)
