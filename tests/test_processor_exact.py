"""Exact sums: equal to math.fsum whatever the chunking and merge order; histograms like hist's."""

from __future__ import annotations

import math

import hist
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from na64tools.exact import ExactHist, ExactSums, decompose

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


def _sums(values, bins, nbins):
    return ExactSums.from_bins(np.asarray(bins), decompose(np.asarray(values, dtype=np.float64)), nbins)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_exact_sum_equals_fsum_any_chunking_and_order(values, rnd):
    values = np.array(values)
    bins = np.array([rnd.randrange(3) for _ in values])
    ref = np.array([math.fsum(values[bins == b]) for b in range(3)])
    cuts = sorted(rnd.randrange(len(values) + 1) for _ in range(rnd.randrange(4)))
    parts = [p for p in np.split(np.arange(len(values)), cuts)]
    partials = [_sums(values[p], bins[p], 3) for p in parts]
    rnd.shuffle(partials)
    total = ExactSums(3)
    for p in partials:
        total = total + p
    np.testing.assert_array_equal(total.to_float(), ref)


def test_naive_chunked_float_sums_differ_so_the_test_above_can_fail():
    rng = np.random.default_rng(7)
    w = rng.lognormal(0, 1, 10_000)
    naive = {float(sum(np.sum(c) for c in np.array_split(w, k))) for k in range(2, 40)}
    assert len(naive) > 1  # plain float sums depend on the chunking
    exact = _sums(w, np.zeros(len(w), int), 1).to_float()[0]
    assert exact == math.fsum(w)


def test_subtraction_and_extreme_magnitudes():
    v = np.array([1e300, 1.0, -1e300, 5e-324, 2.5e-310, 3.0, -0.0, 0.0])
    s = _sums(v, np.zeros(len(v), int), 1)
    assert s.to_float()[0] == math.fsum(v) == 4.0 + 5e-324 + 2.5e-310
    part = _sums(v[:3], np.zeros(3, int), 1)
    assert (s - part).to_float()[0] == math.fsum(v[3:])
    assert (part - part).to_float()[0] == 0.0
    # rounding happens once, at the end: 1 + 2**-53 + 2**-53 is 1 + 2**-52 exactly
    tiny = np.array([1.0, 2.0**-53, 2.0**-53])
    assert _sums(tiny, np.zeros(3, int), 1).to_float()[0] == 1.0 + 2.0**-52
    assert (1.0 + 2.0**-53) + 2.0**-53 == 1.0  # naive left-to-right loses both


def test_carries_keep_large_sums_exact():
    s = _sums(np.array([1.5, 2.0**-40]), np.zeros(2, int), 1)
    for _ in range(90):  # limbs pass 2**60 and are carried
        s = s + s
    assert s.to_float()[0] == 1.5 * 2.0**90 + 2.0**50
    assert (s - s).to_float()[0] == 0.0


def test_rejects_non_finite_weights():
    with pytest.raises(ValueError, match="not finite"):
        decompose(np.array([1.0, np.nan]))


def test_exact_hist_matches_hist_fill_including_flow():
    axes = [hist.axis.Regular(10, 0.0, 1.0, name="x"), hist.axis.Integer(0, 3, name="n")]
    h = ExactHist(axes, "h", ("a", "b"))
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-0.5, 1.5, 500), [np.inf, -np.inf, 1.0, 0.0]])
    n = rng.integers(-1, 5, len(x))
    proc = rng.integers(0, 2, len(x))
    w = rng.integers(1, 50, len(x)).astype(float)  # integer weights: hist's float sums are exact
    h.fill("ds", proc, x, n, weight=decompose(w), weight2=decompose(w * w))
    out = h.to_hist()
    ref = hist.Hist(hist.axis.StrCategory(["ds"], name="dataset", growth=True),
                    hist.axis.StrCategory(["a", "b"], name="process", growth=True), *axes,
                    storage=hist.storage.Weight())
    ref.fill(dataset="ds", process=np.array(["a", "b"])[proc], x=x, n=n, weight=w)
    np.testing.assert_array_equal(out.values(flow=True), ref.values(flow=True))
    np.testing.assert_array_equal(out.variances(flow=True), ref.variances(flow=True))
    assert list(out.axes["process"]) == ["a", "b"]
    # counts are kept exactly too
    counts, _, _ = h.sample_arrays("ds")
    assert counts.sum() == len(x)


def test_exact_hist_merge_is_order_independent_and_canonical():
    axes = [hist.axis.Regular(5, 0.0, 1.0, name="x")]
    rng = np.random.default_rng(5)
    parts = []
    for i in range(6):
        h = ExactHist(axes, "h", ("p0", "p1", "p2"))
        x = rng.uniform(0, 1, 100)
        w = rng.lognormal(0, 2, 100)
        h.fill(f"ds{i % 3}", np.full(100, i % 2 * 2), x, weight=decompose(w), weight2=decompose(w * w))
        parts.append(h)
    a = parts[0]
    for p in parts[1:]:
        a = a + p
    b = parts[-1]
    for p in parts[-2::-1]:
        b = p + b
    ha, hb = a.to_hist(), b.to_hist()
    assert list(ha.axes["dataset"]) == ["ds0", "ds1", "ds2"] == list(hb.axes["dataset"])
    assert list(ha.axes["process"]) == ["p0", "p2"]  # only processes with entries, in code order
    np.testing.assert_array_equal(ha.values(flow=True), hb.values(flow=True))
    np.testing.assert_array_equal(ha.variances(flow=True), hb.variances(flow=True))
    # subtraction removes a part exactly
    np.testing.assert_array_equal((a - parts[0]).to_hist()[{"dataset": "ds1"}].values(),
                                  ha[{"dataset": "ds1"}].values())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
def test_slices_add_up_exactly_and_sit_on_their_grid(values):
    v = np.array(values)
    d = decompose(v)
    assert len(d.data) == len(d.exps)
    total = [math.fsum(col) for col in zip(*d.data, strict=True)] if d.data else [0.0] * len(v)
    np.testing.assert_array_equal(np.array(total) + 0.0, v + 0.0)  # -0.0 == 0.0
    for h, e in zip(d.data, d.exps.tolist(), strict=True):
        scaled = np.ldexp(h, -e)
        assert np.array_equal(scaled, np.round(scaled))            # multiples of 2**e
        assert np.all(np.abs(scaled) <= 2.0 ** d.width)             # at most W bits
    assert d.capacity * 2.0 ** d.width <= 2.0 ** 53


def test_sums_beyond_the_slice_capacity_are_done_in_exact_pieces(monkeypatch):
    import na64tools.exact as exact

    monkeypatch.setattr(exact, "_width", lambda n: 50)   # capacity 8 terms per float64 sum
    rng = np.random.default_rng(11)
    w = rng.lognormal(0, 2, 5000) * 2.0**40 * np.where(rng.random(5000) < 0.3, -1, 1)
    bins = rng.integers(0, 3, len(w))
    d = decompose(w)
    assert d.capacity == 8
    got = ExactSums.from_bins(bins, d, 3).to_float()
    np.testing.assert_array_equal(got, [math.fsum(w[bins == b]) for b in range(3)])
    # and with rows taken one slice at a time
    rows = rng.integers(0, len(w), 3000)
    got = ExactSums.from_bins(bins[rows], d, 3, rows=rows).to_float()
    np.testing.assert_array_equal(got, [math.fsum(w[rows][bins[rows] == b]) for b in range(3)])


def test_huge_and_subnormal_weights():
    v = np.array([1.7976931348623157e308, -1.7976931348623157e308, 1.5e308, 5e-324, -1e-320, 2.0**-1022, 3.0])
    d = decompose(v)
    assert len(d.exps) > 3  # the whole exponent range, truncation for the top slices
    s = ExactSums.from_bins(np.zeros(len(v), int), d, 1).to_float()[0]
    assert s == math.fsum(v)


def test_fill_group_selects_shares_rows_and_equals_fill():
    axes = [hist.axis.Regular(8, 0.0, 1.0, name="x")]
    stage = [hist.axis.Integer(0, 4, name="s", underflow=False, overflow=False)]
    rng = np.random.default_rng(2)
    n = 400
    x = rng.uniform(-0.2, 1.2, n)
    s = rng.integers(-1, 6, n).astype(np.int8)        # some beyond the flow-less axis
    proc = rng.integers(0, 2, n)
    w = rng.lognormal(0, 1, n)
    rows = np.flatnonzero(rng.random(n) < 0.6)
    select = rng.random(len(rows)) < 0.7
    wd, w2d = decompose(w), decompose(w * w)
    group = [ExactHist(axes, "a", ("p", "q")), ExactHist(axes, "b", ("p", "q")),
             ExactHist(stage, "c", ("p", "q"))]
    ExactHist.fill_group("ds", [(group[0], proc[rows], (x[rows],), rows, select),
                                (group[1], proc[rows], (x[rows] ** 2,), rows),
                                (group[2], proc, (s,), None)], weight=wd, weight2=w2d)
    one = [h.empty_like() for h in group]
    keep = rows[select]
    one[0].fill("ds", proc[keep], x[keep], weight=decompose(w[keep]), weight2=decompose(w[keep] ** 2))
    one[1].fill("ds", proc[rows], x[rows] ** 2, weight=decompose(w[rows]), weight2=decompose(w[rows] ** 2))
    one[2].fill("ds", proc, s, weight=wd, weight2=w2d)
    for a, b in zip(group, one, strict=True):
        ha, hb = a.to_hist(), b.to_hist()
        np.testing.assert_array_equal(ha.values(flow=True), hb.values(flow=True))
        np.testing.assert_array_equal(ha.variances(flow=True), hb.variances(flow=True))
    counts, _, _ = group[2].sample_arrays("ds")
    assert counts.sum() == np.count_nonzero((s >= 0) & (s < 4))   # flow-less axis drops the rest


def test_integer_axis_index_matches_boost_for_integer_values():
    v = np.arange(-20, 20)
    for ax in [hist.axis.Integer(0, 6, name="n"), hist.axis.Integer(-3, 4, name="m", underflow=False),
               hist.axis.Integer(0, 10, name="s", underflow=False, overflow=False)]:
        h = ExactHist([ax])
        for dtype in (np.int8, np.int32, np.int64):
            np.testing.assert_array_equal(h.flat_index(v.astype(dtype)), h.flat_index(v.astype(float)))
        u = np.array([0, 3, 9, 250], np.uint8)
        np.testing.assert_array_equal(h.flat_index(u), h.flat_index(u.astype(float)))
