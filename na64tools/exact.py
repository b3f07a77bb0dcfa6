"""Exact, order-independent sums of float64 weights, and a histogram built on them.

Floating-point addition is not associative: summing the same weights chunk by chunk, in another
chunking or another merge order (coffea's futures executor merges in completion order, Dask in a
tree) changes the last bits of a sum of weights. To give *bit-identical* histograms and cutflows
whatever the executor, the number of workers and the chunk size, na64tools sums weights exactly:

- every float64 ``w = M · 2**q`` (``M`` a 53-bit integer, from :func:`numpy.frexp`) is split into
  two exactly representable halves; within a chunk the halves are summed per (bin, exponent) with
  :func:`numpy.bincount`, which is exact because every partial sum stays below 2**53;
- the per-chunk sums are carried into a fixed-point integer representation (16-bit limbs of a
  number in units of 2**-1152, below the smallest float64), where addition is exact integer
  addition and hence associative and commutative;
- only at the end is each bin rounded once to the nearest float64 (round-half-even), i.e. the
  result equals ``math.fsum`` of the weights in the bin.

:class:`ExactSums` is the exact accumulator for a flat array of bins; :class:`ExactHist` a
weighted histogram (hist ``Weight()`` storage) with two category axes (``sample``, ``process``)
whose ``to_hist()`` returns an ordinary :class:`hist.Hist`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["ExactSums", "ExactHist", "Decomposed", "decompose"]

LIMB = 16                    # bits per limb
_MASK = (1 << LIMB) - 1
_MASK32 = (1 << 32) - 1
BASE_EXP = -1152             # value = sum_j limb_j * 2**(LIMB*(j + k0) + BASE_EXP); multiple of LIMB
_MAX_CHUNK = 1 << 26         # events per decomposition (keeps bincount partial sums below 2**53)


class Decomposed:
    """A float64 array split for exact summation: ``w = (hi·2**26 + lo) · 2**q``.

    ``data`` has rows ``hi`` and ``lo`` (exact integers stored as float64); ``qidx`` is the
    index of ``q`` into the sorted distinct exponents ``qs``.
    """

    __slots__ = ("data", "qidx", "qs", "n")

    def __init__(self, data: np.ndarray, qidx: np.ndarray, qs: np.ndarray):
        self.data, self.qidx, self.qs = data, qidx, qs
        self.n = data.shape[1]

    @property
    def hi(self) -> np.ndarray:
        return self.data[0]

    @property
    def lo(self) -> np.ndarray:
        return self.data[1]

    def take(self, mask_or_index) -> Decomposed:
        idx = np.asarray(mask_or_index)
        if idx.dtype == bool:
            return Decomposed(np.compress(idx, self.data, axis=1), self.qidx[idx], self.qs)
        return Decomposed(np.take(self.data, idx, axis=1), self.qidx[idx], self.qs)


def decompose(values) -> Decomposed:
    """Split finite float64 ``values`` for exact summation (see :class:`Decomposed`).

    Uses the IEEE-754 binary64 layout: biased exponent ``E`` (11 bits) and fraction ``F``
    (52 bits); ``|w| = (2**52 + F) · 2**(E - 1075)`` for normal numbers and ``F · 2**-1074``
    for subnormals.
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"expected a 1-D array of weights, got shape {v.shape}")
    if len(v) >= _MAX_CHUNK:
        raise ValueError(f"too many values for one exact decomposition ({len(v)} >= {_MAX_CHUNK})")
    bits = v.view(np.int64)
    E = (bits >> 52) & 0x7FF
    if np.any(E == 0x7FF):
        bad = v[E == 0x7FF][0]
        raise ValueError(f"weight {bad!r} is not finite")
    M = bits & ((1 << 52) - 1)
    if np.all(E > 0):                                  # fast path: only normal numbers
        M |= 1 << 52                                   # 53-bit integer mantissa
        q = E - 1075
    else:
        normal = E > 0
        M = np.where(normal, M | (1 << 52), M)
        q = np.where(normal, E - 1075, -1074)
    hi = M >> 26
    lo = M & ((1 << 26) - 1)
    neg = bits < 0
    if neg.any():
        # -(hi·2**26 + lo) = (-hi - 1)·2**26 + (2**26 - lo) when lo > 0
        hi = np.where(neg, np.where(lo > 0, -hi - 1, -hi), hi)
        lo = np.where(neg & (lo > 0), (1 << 26) - lo, lo)
    if len(q):
        zero = M == 0
        if zero.any() and not zero.all():
            q[zero] = q[~zero][0]  # zeros add nothing; do not widen the exponent set
        qmin = int(q.min())
        present = np.bincount(q - qmin) > 0
        qs = np.nonzero(present)[0].astype(np.int64) + qmin
        lut = np.full(len(present), -1, np.int64)
        lut[present] = np.arange(int(present.sum()))
        qidx = lut[q - qmin]
    else:
        qs = np.zeros(0, np.int64)
        qidx = np.zeros(0, np.int64)
    data = np.empty((2, len(v)), np.float64)
    data[0], data[1] = hi, lo
    return Decomposed(data, qidx, qs)


class ExactSums:
    """Exact sums of float64 values in ``nbins`` bins; ``+`` and ``-`` are exact.

    The value of bin ``b`` is ``sum_j limbs[b, j] * 2**(16*(j + k0) - 1152)``.
    """

    __slots__ = ("nbins", "k0", "limbs")

    def __init__(self, nbins: int, k0: int = 0, limbs: np.ndarray | None = None):
        self.nbins = int(nbins)
        self.k0 = int(k0)
        self.limbs = np.zeros((self.nbins, 0), np.int64) if limbs is None else limbs

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_bins(cls, bins: np.ndarray, weights: Decomposed, nbins: int) -> ExactSums:
        """Exact per-bin sums of ``weights`` (already :func:`decompose` d) falling in ``bins``."""
        bins = np.asarray(bins, dtype=np.int64)
        if len(bins) != weights.n:
            raise ValueError(f"{len(bins)} bin indices for {weights.n} weights")
        nq = len(weights.qs)
        if len(bins) == 0 or nq == 0:
            return cls(nbins)
        flat = bins * nq + weights.qidx
        size = nbins * nq
        s_hi = np.bincount(flat, weights=weights.data[0], minlength=size).reshape(nbins, nq)
        s_lo = np.bincount(flat, weights=weights.data[1], minlength=size).reshape(nbins, nq)
        if nbins > 8192:  # many (mostly empty) bins: work on the non-zero cells only
            b_idx, qi = np.nonzero((s_hi != 0) | (s_lo != 0))
            S = np.concatenate([s_hi[b_idx, qi], s_lo[b_idx, qi]]).astype(np.int64)
            r = np.concatenate([weights.qs[qi] + 26, weights.qs[qi]])
            return cls._from_terms(np.concatenate([b_idx, b_idx]), S, r, nbins)
        # columns of integer terms S (|S| < 2**53) times 2**r: r = q + 26 (hi), r = q (lo)
        terms = np.concatenate([s_hi.T, s_lo.T]).astype(np.int64)   # (2 nq, nbins), rows contiguous
        r = np.concatenate([weights.qs + 26, weights.qs])
        t = r - BASE_EXP
        j, sh = t >> 4, t & (LIMB - 1)          # limb index and shift (LIMB = 16)
        k0 = int(j.min())
        limbs = np.zeros((int(j.max()) - k0 + 3, nbins), np.int64)
        for c in np.nonzero(np.any(terms != 0, axis=1))[0]:
            # S = P1·2**32 + P0 with P0 < 2**32: P0·2**sh < 2**47 goes to limb j, P1·2**sh to
            # limb j + 2 (limbs are integer coefficients and need not be below 2**16)
            base, k = int(j[c]) - k0, int(sh[c])
            limbs[base] += (terms[c] & _MASK32) << k
            limbs[base + 2] += (terms[c] >> 32) << k
        return cls(nbins, k0, np.ascontiguousarray(limbs.T))

    @classmethod
    def _from_terms(cls, b: np.ndarray, S: np.ndarray, r: np.ndarray, nbins: int) -> ExactSums:
        """Sum integer terms ``S * 2**r`` (|S| < 2**53) into bins ``b`` exactly."""
        t = r - BASE_EXP
        j, sh = t >> 4, t & (LIMB - 1)
        # S = P1·2**32 + P0: P0·2**sh (< 2**47) to limb j, P1·2**sh (|.| < 2**36) to limb j + 2
        pieces = np.concatenate([(S & _MASK32) << sh, (S >> 32) << sh])
        limb_of = np.concatenate([j, j + 2])
        k0 = int(limb_of.min())
        nl = int(limb_of.max()) - k0 + 1
        # at most 2 x 16 exponents share a limb of a bin: partial sums stay below 2**52, so the
        # float64 bincount is exact
        flat = np.tile(b, 2) * nl + (limb_of - k0)
        limbs = np.rint(np.bincount(flat, weights=pieces.astype(np.float64),
                                    minlength=nbins * nl)).astype(np.int64).reshape(nbins, nl)
        return cls(nbins, k0, limbs)

    # --- arithmetic -----------------------------------------------------------------------
    def _maybe_normalise(self) -> None:
        """Carry only when limbs could overflow int64 in further additions (limbs need not be
        normalised to represent the value exactly)."""
        if self.limbs.size and int(np.abs(self.limbs).max()) >= (1 << 60):
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
            return
        lo, hi = int(nz[0]), int(nz[-1])
        self.limbs = np.ascontiguousarray(L[:, lo:hi + 1])
        self.k0 += lo

    def _aligned(self, other: ExactSums):
        if self.nbins != other.nbins:
            raise ValueError(f"cannot add exact sums of {self.nbins} and {other.nbins} bins")
        if self.limbs.shape[1] == 0:
            return other.k0, np.zeros_like(other.limbs), other.limbs
        if other.limbs.shape[1] == 0:
            return self.k0, self.limbs, np.zeros_like(self.limbs)
        k0 = min(self.k0, other.k0)
        top = max(self.k0 + self.limbs.shape[1], other.k0 + other.limbs.shape[1])
        a = np.zeros((self.nbins, top - k0), np.int64)
        b = np.zeros_like(a)
        a[:, self.k0 - k0:self.k0 - k0 + self.limbs.shape[1]] = self.limbs
        b[:, other.k0 - k0:other.k0 - k0 + other.limbs.shape[1]] = other.limbs
        return k0, a, b

    def __add__(self, other: ExactSums) -> ExactSums:
        k0, a, b = self._aligned(other)
        out = ExactSums(self.nbins, k0, a + b)
        out._maybe_normalise()
        return out

    def __sub__(self, other: ExactSums) -> ExactSums:
        k0, a, b = self._aligned(other)
        out = ExactSums(self.nbins, k0, a - b)
        out._maybe_normalise()
        return out

    __iadd__ = __add__
    __isub__ = __sub__

    def cumsum_reverse(self, shape: tuple[int, ...], axis: int) -> ExactSums:
        """Exact reversed cumulative sum along ``axis`` of the bins viewed with ``shape``."""
        nl = self.limbs.shape[1]
        L = self.limbs.reshape(*shape, nl)
        L = np.flip(np.cumsum(np.flip(L, axis=axis), axis=axis), axis=axis)
        out = ExactSums(self.nbins, self.k0, np.ascontiguousarray(L.reshape(self.nbins, nl)))
        out._maybe_normalise()
        return out

    # --- results --------------------------------------------------------------------------
    def to_int(self) -> list[int]:
        """The exact value of each bin as a Python integer in units of ``2**exponent``."""
        nl = self.limbs.shape[1]
        acc = np.zeros(self.nbins, dtype=object)
        for j in range(nl - 1, -1, -1):
            acc = acc * (1 << LIMB) + self.limbs[:, j].astype(object)
        return [int(x) for x in acc]

    @property
    def exponent(self) -> int:
        return LIMB * self.k0 + BASE_EXP

    def to_float(self) -> np.ndarray:
        """Each bin rounded once to the nearest float64 (ties to even)."""
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
    """

    def __init__(self, axes: Sequence, label: str = "", processes: Sequence[str] = (),
                 counts: bool = True):
        self.axes = tuple(axes)
        self.label = label
        self.processes = tuple(processes)
        self.with_counts = bool(counts)
        self.shape = tuple(ax.extent for ax in self.axes)  # with flow bins
        self.nbins = int(np.prod(self.shape)) if self.shape else 1
        self.samples: dict[str, list] = {}  # sample -> [counts, ExactSums(w), ExactSums(w2)]

    @property
    def _total(self) -> int:
        return max(len(self.processes), 1) * self.nbins

    def empty_like(self) -> ExactHist:
        return ExactHist(self.axes, self.label, self.processes, self.with_counts)

    def flat_index(self, *values) -> np.ndarray:
        """Flat dense-bin index (with flow) of each entry, as boost-histogram bins them."""
        if len(values) != len(self.axes):
            raise ValueError(f"expected {len(self.axes)} value arrays, got {len(values)}")
        flat = None
        for ax, extent, val in zip(self.axes, self.shape, values, strict=True):
            idx = np.asarray(ax.index(np.asarray(val)), dtype=np.int64)
            if ax.traits.underflow:
                idx = idx + 1
            # values beyond an axis without flow bins are dropped by boost-histogram
            idx = np.where((idx < 0) | (idx >= extent), -(1 << 40), idx)
            flat = idx if flat is None else flat * extent + idx
        return flat

    def fill(self, sample: str, process: np.ndarray, *values, weight: Decomposed,
             weight2: Decomposed) -> None:
        """Fill entries of one ``sample`` with process codes, axis values and (squared) weights."""
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
        """Fill several histograms from rows of the same weights in one exact summation.

        ``items`` are ``(hist, process, values, rows)``: process codes, a tuple of axis-value
        arrays and the indices of their rows in ``weight``/``weight2``. Equivalent to calling
        :meth:`fill` on each histogram with ``weight.take(rows)``, but with two exact sums in
        all instead of two per histogram.
        """
        flats, rows_all, spans, total = [], [], [], 0
        for h, process, values, rows in items:
            flat = h.flat_index(*values)
            keep = flat >= 0
            flat = np.asarray(process, dtype=np.int64)[keep] * h.nbins + flat[keep]
            flats.append(flat + total)
            rows_all.append(np.asarray(rows)[keep])
            spans.append((h, total, flat))
            total += h._total
        flat_all = np.concatenate(flats) if flats else np.zeros(0, np.int64)
        rows = np.concatenate(rows_all) if rows_all else np.zeros(0, np.int64)
        w = ExactSums.from_bins(flat_all, weight.take(rows), total)
        w2 = ExactSums.from_bins(flat_all, weight2.take(rows), total)
        for h, start, flat in spans:
            n = h._total
            counts = (np.bincount(flat, minlength=n).astype(np.int64) if h.with_counts
                      else np.zeros(0, np.int64))
            part = [ExactSums(n, x.k0, x.limbs[start:start + n]) if x.limbs.shape[1]
                    else ExactSums(n) for x in (w, w2)]
            h._add_sample(sample, counts, *part)

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
        """
        c, w, w2 = self.samples[sample]
        shape = (max(len(self.processes), 1), *self.shape)
        counts = c.reshape(shape) if self.with_counts else None
        return counts, w.to_float().reshape(shape), w2.to_float().reshape(shape)

    def to_hist(self, *, sample_label: str = "sample (dataset)", process_label: str = "true process"):
        """A :class:`hist.Hist` (``Weight()`` storage) with ``sample`` and ``process`` axes.

        Categories are in canonical order (samples sorted, processes by code), and only
        processes with entries appear, so the result is identical whatever the merge order.
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
