"""Exact, order-independent sums of float64 weights, and a histogram built on them.

Floating-point addition is not associative: summing the same weights chunk by chunk, in another
chunking or another merge order (coffea's futures executor merges in completion order, Dask in a
tree) changes the last bits of a sum of weights. To give *bit-identical* histograms and cutflows
whatever the executor, the number of workers and the chunk size, na64tools sums weights exactly:

- the weights of a chunk are split (:func:`decompose`) into a few *slices* ``w = h_1 + h_2 + ...``
  on an exponent grid: slice ``h_k`` is a multiple of ``2**e_k`` with ``|h_k| <= 2**(e_k + W)``,
  ``e_{k+1} = e_k - W``, and ``W = 53 - ceil(log2 n)`` for ``n`` weights. Each slice is taken
  from the remainder of the previous ones by rounding to the grid, ``h = (r + C) - C`` with
  ``C = 1.5 * 2**(e_k + 52)`` (an error-free transformation: ``r - h`` is exact), so the split
  costs two additions per slice and weight. Weights of a chunk spanning a few binades need two
  or three slices;
- per slice, the sums per bin are one :func:`numpy.bincount`, which is exact: at most ``n``
  terms, multiples of ``2**e_k`` below ``2**(e_k + W)``, sum to a multiple of ``2**e_k`` below
  ``2**(e_k + 53)``, an integer times ``2**e_k`` that float64 holds exactly whatever the order;
- the per-slice sums are carried into a fixed-point integer representation (16-bit limbs of a
  number in units of 2**-1152, below the smallest float64), where addition is exact integer
  addition and hence associative and commutative;
- only at the end is each bin rounded once to the nearest float64 (round-half-even), i.e. the
  result equals ``math.fsum`` of the weights in the bin.

:class:`ExactSums` is the exact accumulator for a flat array of bins; :class:`ExactHist` a
weighted histogram (hist ``Weight()`` storage) with two category axes (``sample``, ``process``)
whose ``to_hist()`` returns an ordinary :class:`hist.Hist`.

Reference for the extraction ``(r + C) - C``: S. M. Rump, T. Ogita, S. Oishi, "Accurate
floating-point summation part I", SIAM J. Sci. Comput. 31 (2008) 189 (ExtractScalar), and
J. Demmel, H. D. Nguyen, "Parallel reproducible summation", IEEE Trans. Comput. 64 (2015) 2060.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import boost_histogram as bh
import numpy as np

__all__ = ["ExactSums", "ExactHist", "Decomposed", "decompose"]

LIMB = 16                    # bits per limb
_MASK32 = (1 << 32) - 1
BASE_EXP = -1152             # value = sum_j limb_j * 2**(LIMB*(j + k0) + BASE_EXP); multiple of LIMB
_EMIN = -1074                # exponent of the smallest subnormal float64
_MAX_VALUES = 1 << 45        # values per decomposition (slices keep at least 8 bits)


class Decomposed:
    """Float64 values split into slices for exact summation (see :func:`decompose`).

    ``data`` is a list of arrays: ``data[k]`` holds slice ``k`` of every value, float64
    multiples of ``2**exps[k]`` not above ``2**(exps[k] + width)`` in magnitude; the slices of a
    value add up to it exactly. Sums of at most ``capacity = 2**(53 - width)`` slice values are
    exact in float64, in any order.

    Parameters
    ----------
    data : list of numpy.ndarray
        The slices, as above.
    exps : numpy.ndarray of int
        The exponent of each slice.
    width : int
        Bits per slice ``W``.
    n : int
        Number of values.
    """

    __slots__ = ("data", "exps", "width", "n")

    def __init__(self, data: list[np.ndarray], exps: np.ndarray, width: int, n: int):
        self.data, self.exps, self.width, self.n = data, exps, int(width), int(n)

    @property
    def capacity(self) -> int:
        """Most terms a float64 sum of one slice may have and stay exact."""
        return 1 << (53 - self.width)

    def take(self, mask_or_index) -> Decomposed:
        """The values at a boolean mask or at indices (the slices are unchanged).

        Parameters
        ----------
        mask_or_index : numpy.ndarray of bool or int
            A mask of the values, or their indices.

        Returns
        -------
        Decomposed
            The selected values.
        """
        idx = np.asarray(mask_or_index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return Decomposed([d.take(idx) for d in self.data], self.exps, self.width, len(idx))


def _width(n: int) -> int:
    """Bits per slice for sums of ``n`` terms: ``n * 2**W <= 2**53``."""
    return min(50, 53 - max(int(n) - 1, 1).bit_length())


def decompose(values) -> Decomposed:
    """Split finite float64 ``values`` into slices for exact summation (see :class:`Decomposed`).

    The first slice starts at the binade of the largest ``|value|``; slices follow every ``W``
    bits down until nothing is left (at most ``(1075 + e_max) / W + 1`` of them, two or three
    for weights spread over a few binades).

    Parameters
    ----------
    values : array_like of float
        Finite float64 values, 1-D.

    Returns
    -------
    Decomposed
        The slices.

    Raises
    ------
    ValueError
        Not 1-D, too many values, or a non-finite value.
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"expected a 1-D array of weights, got shape {v.shape}")
    n = len(v)
    if n >= _MAX_VALUES:
        raise ValueError(f"too many values for one exact decomposition ({n} >= {_MAX_VALUES})")
    width = _width(n)
    if n == 0:
        return Decomposed([], np.zeros(0, np.int64), width, 0)
    top = float(np.max(np.abs(v)))
    if not math.isfinite(top):
        bad = v[~np.isfinite(v)][0]
        raise ValueError(f"weight {bad!r} is not finite")
    if top == 0.0:
        return Decomposed([], np.zeros(0, np.int64), width, n)
    e = max(math.frexp(top)[1] - width, _EMIN)     # |v| < 2**(e + width)
    slices, exps = [], []
    r = v.copy()                                        # the remainder, updated in place
    while True:
        h = np.empty_like(r)
        if e + 52 <= 1022:
            c = 1.5 * 2.0 ** (e + 52)
            np.add(r, c, out=h)
            h -= c                                      # r rounded to a multiple of 2**e
        else:                                           # huge values: truncate (no overflow)
            h[:] = np.ldexp(np.trunc(np.ldexp(r, -e)), e)
        r -= h                                          # exact
        slices.append(h)
        exps.append(e)
        if e == _EMIN or not r.any():
            break
        e = max(e - width, _EMIN)
    return Decomposed(slices, np.array(exps, np.int64), width, n)


class ExactSums:
    """Exact sums of float64 values in ``nbins`` bins; ``+`` and ``-`` are exact.

    The value of bin ``b`` is ``sum_j limbs[b, j] * 2**(16*(j + k0) - 1152)``. ``bound`` is an
    upper bound of ``|limbs|`` (kept through additions, so that carries are only propagated
    when a limb could overflow int64).

    Parameters
    ----------
    nbins : int
        Number of bins.
    k0 : int
        Limb offset (see above).
    limbs : numpy.ndarray of int64, optional
        Shape ``(nbins, n_limbs)``; default: zero limbs (all bins 0).
    bound : int, optional
        Upper bound of ``|limbs|`` (default: computed).
    """

    __slots__ = ("nbins", "k0", "limbs", "bound")

    def __init__(self, nbins: int, k0: int = 0, limbs: np.ndarray | None = None,
                 bound: int | None = None):
        self.nbins = int(nbins)
        self.k0 = int(k0)
        self.limbs = np.zeros((self.nbins, 0), np.int64) if limbs is None else limbs
        if bound is None:
            bound = int(np.abs(self.limbs).max()) if self.limbs.size else 0
        self.bound = int(bound)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_bins(cls, bins: np.ndarray, weights: Decomposed, nbins: int, *,
                  rows: np.ndarray | None = None, max_per_bin: int | None = None) -> ExactSums:
        """Exact per-bin sums of ``weights`` (already :func:`decompose` d) falling in ``bins``.

        ``rows``: the entries of ``weights`` that go to ``bins`` (default: all, in order);
        taken one slice at a time. ``max_per_bin``: an upper bound on the number of entries of
        any one bin, if known (otherwise ``len(bins)``); above the capacity of the slices the
        sum is done in pieces.

        Parameters
        ----------
        bins : numpy.ndarray of int
            The bin of each entry, in ``0 .. nbins - 1``.
        weights : Decomposed
            The decomposed weights.
        nbins : int
            Number of bins.
        rows : numpy.ndarray of int, optional
            See above.
        max_per_bin : int, optional
            See above.

        Returns
        -------
        ExactSums
            The sums.
        """
        bins = np.asarray(bins, dtype=np.int64)
        if rows is not None:
            rows = np.asarray(rows, dtype=np.intp)
            if len(rows) != len(bins):
                raise ValueError(f"{len(bins)} bin indices for {len(rows)} rows")
        elif len(bins) != weights.n:
            raise ValueError(f"{len(bins)} bin indices for {weights.n} weights")
        nbins = int(nbins)
        if len(bins) == 0 or len(weights.exps) == 0:
            return cls(nbins)
        bound = len(bins) if max_per_bin is None else min(int(max_per_bin), len(bins))
        step = len(bins) if bound <= weights.capacity else weights.capacity
        if len(bins) > 256 * step:   # keep the int64 terms below 2**62: add blocks exactly
            block = 256 * step
            out = cls(nbins)
            for a in range(0, len(bins), block):
                if rows is None:
                    part = Decomposed([d[a:a + block] for d in weights.data], weights.exps,
                                      weights.width, len(bins[a:a + block]))
                    out = out + cls.from_bins(bins[a:a + block], part, nbins, max_per_bin=bound)
                else:
                    out = out + cls.from_bins(bins[a:a + block], weights, nbins,
                                              rows=rows[a:a + block], max_per_bin=bound)
            return out
        # per slice k, integer terms S_k with the bin sums S_k * 2**e_k: one bincount of at
        # most `capacity` terms per bin is exact (|S_k| <= 2**53)
        terms = np.zeros((len(weights.exps), nbins), np.int64)
        for k, e in enumerate(weights.exps.tolist()):
            data = weights.data[k] if rows is None else weights.data[k].take(rows)
            for a in range(0, len(bins), step):
                s = np.bincount(bins[a:a + step], weights=data[a:a + step], minlength=nbins)
                terms[k] += np.ldexp(s, -e).astype(np.int64)
        return cls.from_terms(terms, weights.exps)

    @classmethod
    def from_terms(cls, terms: np.ndarray, exps: np.ndarray) -> ExactSums:
        """Exact sums ``sum_k terms[k, b] * 2**exps[k]`` of int64 terms below 2**62 in magnitude.

        Parameters
        ----------
        terms : numpy.ndarray of int64
            Shape ``(k, nbins)``.
        exps : numpy.ndarray of int
            The exponent of each row of ``terms``.

        Returns
        -------
        ExactSums
            The sums.
        """
        t = np.asarray(exps, np.int64) - BASE_EXP
        if len(t) == 0:
            return cls(terms.shape[1])
        j, sh = t >> 4, t & (LIMB - 1)          # limb index and shift (LIMB = 16)
        k0 = int(j.min())
        limbs = np.zeros((int(j.max()) - k0 + 3, terms.shape[1]), np.int64)
        for k in range(len(t)):
            row = terms[k]
            if not row.any():
                continue
            # S = P1·2**32 + P0 with 0 <= P0 < 2**32: P0·2**sh (< 2**47) goes to limb j,
            # P1·2**sh (< 2**45) to limb j + 2 (limbs are integer coefficients of 2**(16 j)
            # and need not be below 2**16)
            base, s = int(j[k]) - k0, int(sh[k])
            limbs[base] += (row & _MASK32) << s
            limbs[base + 2] += (row >> 32) << s
        return cls(terms.shape[1], k0, np.ascontiguousarray(limbs.T))

    # --- arithmetic -----------------------------------------------------------------------
    def _maybe_normalise(self) -> None:
        """Carry only when limbs could overflow int64 in further additions (limbs need not be
        normalised to represent the value exactly)."""
        if self.bound >= (1 << 60):
            self.bound = int(np.abs(self.limbs).max()) if self.limbs.size else 0
            if self.bound >= (1 << 60):
                self._normalise()

    def _normalise(self) -> None:
        """Carry so that every limb but the top one is in [0, 2**16); trim zero limbs."""
        L = self.limbs
        if L.shape[1] == 0:
            return
        # room for carries
        L = np.concatenate([L, np.zeros((self.nbins, 4), np.int64)], axis=1)
        for j in range(L.shape[1] - 1):
            c = L[:, j] >> LIMB
            L[:, j] -= c << LIMB
            L[:, j + 1] += c
        nz = np.nonzero(np.any(L != 0, axis=0))[0]
        if len(nz) == 0:
            self.limbs = np.zeros((self.nbins, 0), np.int64)
            self.k0 = 0
            self.bound = 0
            return
        lo, hi = int(nz[0]), int(nz[-1])
        self.limbs = np.ascontiguousarray(L[:, lo:hi + 1])
        self.k0 += lo
        self.bound = int(np.abs(self.limbs).max())

    def _aligned(self, other: ExactSums):
        if self.nbins != other.nbins:
            raise ValueError(f"cannot add exact sums of {self.nbins} and {other.nbins} bins")
        if self.limbs.shape[1] == 0:
            return other.k0, np.zeros_like(other.limbs), other.limbs
        if other.limbs.shape[1] == 0:
            return self.k0, self.limbs, np.zeros_like(self.limbs)
        if self.k0 == other.k0 and self.limbs.shape == other.limbs.shape:
            return self.k0, self.limbs, other.limbs
        k0 = min(self.k0, other.k0)
        top = max(self.k0 + self.limbs.shape[1], other.k0 + other.limbs.shape[1])
        a = np.zeros((self.nbins, top - k0), np.int64)
        b = np.zeros_like(a)
        a[:, self.k0 - k0:self.k0 - k0 + self.limbs.shape[1]] = self.limbs
        b[:, other.k0 - k0:other.k0 - k0 + other.limbs.shape[1]] = other.limbs
        return k0, a, b

    def __add__(self, other: ExactSums) -> ExactSums:
        k0, a, b = self._aligned(other)
        out = ExactSums(self.nbins, k0, a + b, self.bound + other.bound)
        out._maybe_normalise()
        return out

    def __sub__(self, other: ExactSums) -> ExactSums:
        k0, a, b = self._aligned(other)
        out = ExactSums(self.nbins, k0, a - b, self.bound + other.bound)
        out._maybe_normalise()
        return out

    __iadd__ = __add__
    __isub__ = __sub__

    def cumsum_reverse(self, shape: tuple[int, ...], axis: int) -> ExactSums:
        """Exact reversed cumulative sum along ``axis`` of the bins viewed with ``shape``.

        Parameters
        ----------
        shape : tuple of int
            The bins viewed as an array of this shape (product ``nbins``).
        axis : int
            The axis to sum along.

        Returns
        -------
        ExactSums
            The cumulative sums (same number of bins).
        """
        nl = self.limbs.shape[1]
        L = self.limbs.reshape(*shape, nl)
        L = np.flip(np.cumsum(np.flip(L, axis=axis), axis=axis), axis=axis)
        out = ExactSums(self.nbins, self.k0, np.ascontiguousarray(L.reshape(self.nbins, nl)))
        out._maybe_normalise()
        return out

    # --- results --------------------------------------------------------------------------
    def to_int(self) -> list[int]:
        """The exact value of each bin as a Python integer in units of ``2**exponent``.

        Returns
        -------
        list of int
            One integer per bin.
        """
        nl = self.limbs.shape[1]
        acc = np.zeros(self.nbins, dtype=object)
        for j in range(nl - 1, -1, -1):
            acc = acc * (1 << LIMB) + self.limbs[:, j].astype(object)
        return [int(x) for x in acc]

    @property
    def exponent(self) -> int:
        return LIMB * self.k0 + BASE_EXP

    def to_float(self) -> np.ndarray:
        """Each bin rounded once to the nearest float64 (ties to even).

        Returns
        -------
        numpy.ndarray of float64
            One value per bin.
        """
        out = np.zeros(self.nbins, np.float64)
        if self.limbs.shape[1] == 0:
            return out
        E = self.exponent
        nonzero = np.nonzero(np.any(self.limbs != 0, axis=1))[0]
        ints = ExactSums(len(nonzero), self.k0, self.limbs[nonzero]).to_int()
        out[nonzero] = [_round_scaled(n, E) for n in ints]
        return out


def _round_scaled(n: int, E: int) -> float:
    """Correctly rounded float64 of ``n * 2**E`` (n an exact integer)."""
    if n == 0:
        return 0.0
    sign = -1.0 if n < 0 else 1.0
    n = abs(n)
    b = n.bit_length()
    if b > 64:  # keep 64 bits and a sticky bit: int -> float then rounds correctly
        sh = b - 64
        sticky = 1 if n & ((1 << sh) - 1) else 0
        n = (n >> sh) | sticky
        E += sh
    return sign * math.ldexp(float(n), E)


# --------------------------------------------------------------------------------------------
# histogram with exact sums
# --------------------------------------------------------------------------------------------
class ExactHist:
    """A weighted histogram with ``sample`` and ``process`` category axes and exact sums.

    Parameters
    ----------
    axes
        The dense :mod:`hist` axes (Regular, Variable, Integer), with their flow bins.
    label
        Label of the histogram (its storage holds weighted events).
    processes
        Names of the process categories, indexed by the integer codes passed to :meth:`fill`.

    Addition (``+``) is exact, so the result does not depend on the merge order. Per sample the
    histogram keeps the counts (int64), the sum of weights and the sum of squared weights.

    Other Parameters
    ----------------
    counts : bool
        Keep the event counts (``False``: sums of weights only; :meth:`sample_arrays` then gives
        ``None`` counts).
    """

    def __init__(self, axes: Sequence, label: str = "", processes: Sequence[str] = (),
                 counts: bool = True):
        self.axes = tuple(axes)
        self.label = label
        self.processes = tuple(processes)
        self.with_counts = bool(counts)
        self.shape = tuple(ax.extent for ax in self.axes)  # with flow bins
        self._all_flow = all(ax.traits.underflow and ax.traits.overflow for ax in self.axes)
        self.nbins = int(np.prod(self.shape)) if self.shape else 1
        self.samples: dict[str, list] = {}  # sample -> [counts, ExactSums(w), ExactSums(w2)]

    @property
    def _total(self) -> int:
        return max(len(self.processes), 1) * self.nbins

    def empty_like(self) -> ExactHist:
        """An empty histogram with the same axes, label, processes and counts setting.

        Returns
        -------
        ExactHist
            The empty histogram.
        """
        return ExactHist(self.axes, self.label, self.processes, self.with_counts)

    def flat_index(self, *values) -> np.ndarray:
        """Flat dense-bin index (with flow) of each entry, as boost-histogram bins them.

        Parameters
        ----------
        *values : array_like
            One array of values per axis, of equal lengths.

        Returns
        -------
        numpy.ndarray of int
            The flat index of each entry (with flow bins, as boost-histogram bins them); negative
            for an entry outside an axis without flow bins (:meth:`fill` drops it).

        Raises
        ------
        ValueError
            Not one value array per axis.
        """
        if len(values) != len(self.axes):
            raise ValueError(f"expected {len(self.axes)} value arrays, got {len(values)}")
        flat = None
        for ax, extent, val in zip(self.axes, self.shape, values, strict=True):
            val = np.asarray(val)
            if (val.dtype.kind == "i" or (val.dtype.kind == "u" and val.dtype.itemsize < 8)) \
                    and isinstance(ax, bh.axis.Integer):
                # integers on an Integer axis: the bin is the offset from the first value
                idx = np.clip(val.astype(np.int64) - int(ax.edges[0]), -1, ax.size)
            else:
                idx = np.asarray(ax.index(val), dtype=np.int64)
            if ax.traits.underflow:
                idx += 1
            if not (ax.traits.underflow and ax.traits.overflow):
                # values beyond an axis without flow bins are dropped by boost-histogram
                idx = np.where((idx < 0) | (idx >= extent), -(1 << 40), idx)
            if flat is None:
                flat = idx
            else:
                flat *= extent
                flat += idx
        return flat

    def fill(self, sample: str, process: np.ndarray, *values, weight: Decomposed,
             weight2: Decomposed) -> None:
        """Fill entries of one ``sample`` with process codes, axis values and (squared) weights.

        Parameters
        ----------
        sample : str
            The sample (dataset) category.
        process : array_like of int
            Process code of each entry (index into ``processes``).
        *values : array_like
            One array of values per axis.
        weight, weight2 : Decomposed
            The weights and squared weights (:func:`decompose`).
        """
        process = np.asarray(process, dtype=np.int64)
        flat = self.flat_index(*values)
        keep = flat >= 0
        if not np.all(keep):
            flat, process = flat[keep], process[keep]
            weight, weight2 = weight.take(keep), weight2.take(keep)
        bins = process * self.nbins + flat
        total = self._total
        counts = (np.bincount(bins, minlength=total).astype(np.int64) if self.with_counts
                  else np.zeros(0, np.int64))
        w = ExactSums.from_bins(bins, weight, total)
        w2 = ExactSums.from_bins(bins, weight2, total)
        self._add_sample(sample, counts, w, w2)

    def _add_sample(self, sample: str, counts, w: ExactSums, w2: ExactSums) -> None:
        if sample in self.samples:
            c0, w0, w20 = self.samples[sample]
            self.samples[sample] = [c0 + counts, w0 + w, w20 + w2]
        else:
            self.samples[sample] = [counts, w, w2]

    @staticmethod
    def fill_group(sample: str, items: Sequence[tuple], *, weight: Decomposed,
                   weight2: Decomposed) -> None:
        """Fill several histograms from rows of the same (decomposed) weights.

        ``items`` are ``(hist, process, values, rows)`` or ``(hist, process, values, rows,
        select)``: process codes, a tuple of axis-value arrays, the indices of their rows in
        ``weight``/``weight2`` (``None``: all rows) and optionally a boolean mask of the
        entries to fill (the others are skipped). Equivalent to calling :meth:`fill` on each
        histogram with the selected entries; the weights of a ``rows`` array shared by several
        items (the same object) are taken once.

        Parameters
        ----------
        sample : str
            The sample (dataset) category.
        items : sequence of tuple
            As above.
        weight, weight2 : Decomposed
            The weights and squared weights (:func:`decompose`).
        """
        taken: dict[int, tuple] = {}
        for item in items:
            h, process, values, rows = item[:4]
            select = item[4] if len(item) > 4 else None
            if rows is None:
                w, w2 = weight, weight2
            else:
                if id(rows) not in taken:
                    taken[id(rows)] = (rows, weight.take(rows), weight2.take(rows))
                w, w2 = taken[id(rows)][1:]
            total = h._total
            bins = h.flat_index(*values)
            bins += np.asarray(process, dtype=np.int64) * h.nbins
            # entries not selected, or beyond an axis without flow bins, go to an extra bin
            nb = total
            if not h._all_flow:
                skip = bins < 0
                if skip.any():
                    bins[skip] = total
                    nb = total + 1
            if select is not None:
                bins[~np.asarray(select, dtype=bool)] = total
                nb = total + 1
            counts = (np.bincount(bins, minlength=nb)[:total].astype(np.int64) if h.with_counts
                      else np.zeros(0, np.int64))
            sums = [ExactSums.from_bins(bins, x, nb) for x in (w, w2)]
            if nb > total:
                sums = [ExactSums(total, s.k0, s.limbs[:total], s.bound) for s in sums]
            h._add_sample(sample, counts, *sums)

    def _combine(self, other: ExactHist, sign: int) -> ExactHist:
        if (self.axes != other.axes or self.processes != other.processes
                or self.with_counts != other.with_counts):
            raise ValueError(f"cannot combine histograms with different axes ({self.label!r})")
        out = self.empty_like()
        for s in sorted(set(self.samples) | set(other.samples)):
            if s not in other.samples:
                out.samples[s] = list(self.samples[s])
            elif s not in self.samples:
                c, w, w2 = other.samples[s]
                if sign > 0:
                    out.samples[s] = [c, w, w2]
                else:
                    z = ExactSums(self._total)
                    out.samples[s] = [-c, z - w, z - w2]
            else:
                c0, w0, w20 = self.samples[s]
                c, w, w2 = other.samples[s]
                out.samples[s] = ([c0 + c, w0 + w, w20 + w2] if sign > 0
                                  else [c0 - c, w0 - w, w20 - w2])
        return out

    def __add__(self, other: ExactHist) -> ExactHist:
        return self._combine(other, +1)

    def __sub__(self, other: ExactHist) -> ExactHist:
        return self._combine(other, -1)

    def sample_arrays(self, sample: str):
        """``(counts, sumw, sumw2)`` of one sample, shaped ``(process, *dense_axes_with_flow)``.

        ``counts`` is ``None`` for a histogram booked with ``counts=False``.

        Parameters
        ----------
        sample : str
            The sample.

        Returns
        -------
        counts : numpy.ndarray of int64 or None
            Event counts.
        sumw, sumw2 : numpy.ndarray of float64
            Sums of weights and of squared weights, each rounded once.
        """
        c, w, w2 = self.samples[sample]
        shape = (max(len(self.processes), 1), *self.shape)
        counts = c.reshape(shape) if self.with_counts else None
        return counts, w.to_float().reshape(shape), w2.to_float().reshape(shape)

    def to_hist(self, *, sample_label: str = "sample (dataset)", process_label: str = "true process"):
        """A :class:`hist.Hist` (``Weight()`` storage) with ``sample`` and ``process`` axes.

        Categories are in canonical order (samples sorted, processes by code), and only
        processes with entries appear, so the result is identical whatever the merge order.

        Parameters
        ----------
        sample_label, process_label : str
            Labels of the two category axes.

        Returns
        -------
        hist.Hist
            The histogram.
        """
        import hist

        samples = sorted(self.samples)
        used = np.zeros(max(len(self.processes), 1), dtype=bool)
        arrays = {}
        for s in samples:
            arrays[s] = self.sample_arrays(s)
            filled = arrays[s][0] if self.with_counts else arrays[s][2] != 0
            used |= filled.reshape(len(used), -1).sum(axis=1) > 0
        procs = [p for p, u in zip(self.processes, used, strict=False) if u]
        h = hist.Hist(
            hist.axis.StrCategory(samples, name="dataset", label=sample_label, growth=True),
            hist.axis.StrCategory(procs, name="process", label=process_label, growth=True),
            *self.axes,
            storage=hist.storage.Weight(),
            label=self.label,
            name=self.label,
        )
        view = h.view(flow=True)
        pidx = np.nonzero(used)[0]
        for i, s in enumerate(samples):
            _, w, w2 = arrays[s]
            # category axes have an overflow bin in the flow view; fill the regular ones
            view.value[i, : len(procs), ...] = w[pidx]
            view.variance[i, : len(procs), ...] = w2[pidx]
        return h
