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

from .exact import ExactHist, decompose

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
    # the stage each event reaches (cutflow) and the number of cuts it passes (N-1)
    stage = np.zeros(n, np.int8)
    npass = np.zeros(n, np.int8)
    alive = np.ones(n, bool)
    for m in masks.values():
        alive &= m
        stage += alive
        npass += m
    items = [(cutflow, process, (stage,), None)]
    # N-1 rows of a cut: the events that pass all cuts, or all but this one. Gathers with
    # ``take`` and integer indices (several times faster than boolean or fancy indexing)
    cand = np.flatnonzero(npass >= len(masks) - 1)
    full = npass.take(cand) == len(masks)
    nminus1: dict[str, np.ndarray] = {}
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
        items.append((f.hist, process.take(rows), tuple(variables[v].take(rows) for v in f.variables),
                      rows))
    # all histograms and the cutflow in one exact summation of w and one of w**2 (the weights
    # of a row set shared by several histograms are taken once)
    w = np.asarray(weight, dtype=np.float64)
    ExactHist.fill_group(dataset, items, weight=decompose(w), weight2=decompose(w * w))


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
    exits. ``na64tools`` calls this in :meth:`MissingMomentumProcessor.process`; set the
    environment variable ``NA64TOOLS_TUNE_MEMORY=0`` to leave the process alone. Returns whether
    the settings are applied (the same answer on every call).
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
    """
    dtype = np.dtype(dtype)
    return np.frombuffer(bytearray(n * dtype.itemsize), dtype=dtype)
