"""The fill machinery under the processor (na64tools.accumulate) and the chunking of files.

The histograms of :func:`na64tools.accumulate.fill_selection` are checked against sums written
out from the definition (events selected by the masks by hand, bins from hist's own axes, the
per-bin sums with ``math.fsum``), not against the function itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from coffea.processor.executor import FileMeta

from na64tools.accumulate import MAX_WEIGHT_CLASSES, NMINUS1, Fill, fill_selection, weight_classes
from na64tools.exact import ExactHist
from na64tools.processor import _STAGE_AXIS, HIST_AXES
from na64tools.runner import split_entries


def _fsum_hist(axes, process, values, weights, nproc):
    """Per (process, bin with flow) sums of ``weights`` by math.fsum; bins from hist's axes."""
    shape = (nproc, *(ax.extent for ax in axes))
    out = [[] for _ in range(int(np.prod(shape)))]
    idx = [np.asarray(ax.index(v)) + (1 if ax.traits.underflow else 0) for ax, v in zip(axes, values, strict=True)]
    for i in range(len(weights)):
        flat = int(process[i])
        for ax_i, ext in zip(idx, shape[1:], strict=True):
            flat = flat * ext + int(ax_i[i])
        out[flat].append(weights[i])
    return np.array([math.fsum(x) for x in out]).reshape(shape)


@pytest.mark.parametrize("weights", ["continuous", "strata"])
def test_fill_selection_equals_sums_from_the_definition(weights):
    """Both ways of summing: weight slices (any weights) and exact counts per distinct weight
    (the strata of a simulated sample, here with negative, zero, tiny and huge weights and a
    rare one that first appears after the first 4096 events)."""
    rng = np.random.default_rng(3)
    n, nproc = 4000, 3
    cuts = ("a", "b", "c")
    # the masks pass most events, so that every N-1 histogram has entries
    masks = {c: rng.random(n) < 0.8 for c in cuts}
    pre = rng.random(n) < 0.5
    x = rng.normal(150.0, 30.0, n)
    x[:5] = [np.inf, -np.inf, 100.0, 200.0, 125.0]        # flow bins and bin edges
    k = rng.integers(0, 8, n).astype(np.float64)          # an Integer axis, with overflow
    w = rng.lognormal(0.0, 3.0, n) * 1e-7                  # weights over many binades
    if weights == "strata":
        strata = np.array([3.7e-9, 0.1, 1.0 / 3.0, 2.5, 4.0e4, -0.75, 0.0, 5e-320, 1e150])
        w = strata[rng.integers(0, 6, n)]
        w[[7, 100, 2000]] = strata[6:]
        w[3999] = np.nextafter(1.0 / 3.0, 1.0)               # a value met once, at the end
        assert weight_classes(w) is not None
    else:
        assert weight_classes(w) is None
    proc = rng.integers(0, nproc, n)
    variables = {"x": x, "k": k}
    names = tuple(f"p{i}" for i in range(nproc))
    cutflow = ExactHist([_STAGE_AXIS.__class__(0, len(cuts) + 1, underflow=False, overflow=False)],
                        "cutflow", names)
    h_x = ExactHist([HIST_AXES["p_in"]], "nm1_x", names, counts=False)
    h_k = ExactHist([HIST_AXES["n_tracks"]], "nm1_k", names, counts=False)
    h_2d = ExactHist([HIST_AXES["p_in"], HIST_AXES["n_tracks"]], "pre_xk", names, counts=False)
    fills = [Fill(h_x, ("x",), NMINUS1, "b"), Fill(h_k, ("k",), NMINUS1, "c"), Fill(h_2d, ("x", "k"))]
    # two chunks filled separately, then merged: exact whatever the split
    for part in (slice(0, 1500), slice(1500, n)):
        fill_selection("ds", cutflow, fills, {c: m[part] for c, m in masks.items()}, pre[part],
                       {v: a[part] for v, a in variables.items()}, w[part], proc[part])

    m = np.array([masks[c] for c in cuts])
    stage = np.zeros(n, int)
    for i in range(n):   # the stage reached: the number of leading cuts passed
        while stage[i] < len(cuts) and m[stage[i], i]:
            stage[i] += 1
    counts, sw, sw2 = cutflow.sample_arrays("ds")
    np.testing.assert_array_equal(sw, _fsum_hist(cutflow.axes, proc, [stage], w, nproc))
    np.testing.assert_array_equal(sw2, _fsum_hist(cutflow.axes, proc, [stage], w * w, nproc))
    assert counts.sum() == n and counts[:, -1].sum() == int(np.all(m, axis=0).sum())

    for h, var, cut in ((h_x, "x", "b"), (h_k, "k", "c")):
        others = np.all([masks[c] for c in cuts if c != cut], axis=0)
        sel = np.flatnonzero(others)   # N-1: all the other cuts pass, this one whatever
        _, hw, hw2 = h.sample_arrays("ds")
        np.testing.assert_array_equal(hw, _fsum_hist(h.axes, proc[sel], [variables[var][sel]], w[sel], nproc))
        np.testing.assert_array_equal(hw2, _fsum_hist(h.axes, proc[sel], [variables[var][sel]],
                                                      w[sel] ** 2, nproc))
    sel = np.flatnonzero(pre)
    _, hw, _ = h_2d.sample_arrays("ds")
    np.testing.assert_array_equal(hw, _fsum_hist(h_2d.axes, proc[sel], [x[sel], k[sel]], w[sel], nproc))
    assert hw[:, -1, :].sum() > 0 and hw[:, 0, :].sum() > 0   # the flow bins were reached


def test_weight_classes_are_exact_or_none():
    w = np.array([0.5, 0.25, 0.5, -0.0, 0.0, 3.0] * 1000 + [0.5 + 2**-53 * 2])
    codes, values = weight_classes(w)
    np.testing.assert_array_equal(values[codes], w)
    assert len(values) == 5        # -0.0 and 0.0 are one class (both add nothing)
    many = np.arange(MAX_WEIGHT_CLASSES + 1, dtype=np.float64)
    assert weight_classes(many) is None
    assert weight_classes(np.array([1.0, np.inf])) is None and weight_classes(np.zeros(0)) is None
    assert weight_classes(np.array([1.0, 1e300])) is None   # w**2 overflows: the slices raise


def test_fill_selection_rejects_an_unknown_event_selection():
    h = ExactHist([HIST_AXES["p_in"]], "h", ("p",), counts=False)
    cf = ExactHist([_STAGE_AXIS.__class__(0, 2, underflow=False, overflow=False)], "cf", ("p",))
    with pytest.raises(ValueError, match="unknown events 'all'"):
        fill_selection("ds", cf, [Fill(h, ("x",), "all")], {"a": np.ones(3, bool)}, np.ones(3, bool),
                       {"x": np.ones(3)}, np.ones(3), np.zeros(3, int))


@pytest.mark.parametrize("n", [0, 1, 999, 1_000_000, 1_500_000, 1_576_843, 2_499_999, 15_768_430])
@pytest.mark.parametrize("chunksize", [1000, 500_000, 1_000_000])
def test_split_entries_covers_the_file_in_equal_chunks(n, chunksize):
    chunks = split_entries(n, chunksize)
    if n == 0:
        assert chunks == [(0, 0)]
        return
    assert chunks[0][0] == 0 and chunks[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))  # no gap, no overlap
    n_target = max(round(n / chunksize), 1)
    sizes = [b - a for a, b in chunks]
    # chunks of ceil(n / n_target) entries, the last one shorter: at most n_target chunks
    assert set(sizes[:-1]) <= {math.ceil(n / n_target)} and sizes[-1] <= sizes[0]
    assert len(chunks) <= n_target
    # a file of 1.5 million events is two chunks at the default size: two workers share it
    if n == 1_500_000 and chunksize == 1_000_000:
        assert chunks == [(0, 750_000), (750_000, 1_500_000)]
    # as coffea splits them (FileMeta.chunks)
    fm = FileMeta("d", "f", "Events", {"numentries": n, "uuid": "u"})
    assert chunks == [(w.entrystart, w.entrystop) for w in fm.chunks(chunksize, False)]


def test_simulated_files_counting_path_equals_slices_any_chunking(tmp_path, monkeypatch):
    """On files of na64tools.sim (few distinct weights: the counting path), the output is
    bit-identical to the weight-slice path, and to another chunking on another executor."""
    import uproot

    import na64tools.accumulate as acc
    import na64tools.runner as na64run
    from na64tools.sim import simulate

    files = [str(p) for p in simulate("background", events=30_000, seed=5, out=tmp_path, files=2)]
    with uproot.open(files[0]) as f:
        w = f["Events"]["genWeight"].array(library="np")
    assert weight_classes(w) is not None and len(weight_classes(w)[1]) > 3

    def run(**kw):
        out = na64run.run({"bkg": files}, progress=False, **kw)
        return ({k: (h.values(flow=True), h.variances(flow=True)) for k, h in out["hists"].items()},
                out["cutflow"], out["cutflow_by_process"])

    counting = run(executor="iterative", chunksize=997)
    other = run(executor="futures", workers=2, chunksize=4000)
    monkeypatch.setattr(acc, "weight_classes", lambda w: None)
    slices = run(executor="iterative", chunksize=997)
    for b in (other, slices):
        assert counting[1:] == b[1:]
        for k, (v, var) in counting[0].items():
            np.testing.assert_array_equal(v, b[0][k][0], err_msg=k)
            np.testing.assert_array_equal(var, b[0][k][1], err_msg=k)
    assert counting[1]["bkg"]["all"].events > 5000


def test_no_blas_call_in_the_chunk_path():
    """issue 13: OpenBLAS threads spin after a call (np.dot, a float matmul) and take the core
    another worker needs; the per-chunk code (processor, accumulate, exact sums, selection)
    makes no such call."""
    import ast
    from pathlib import Path

    import na64tools

    root = Path(na64tools.__file__).parent
    found = []
    for name in ("processor.py", "accumulate.py", "exact.py", "selection.py", "behaviors.py"):
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                src = ast.unparse(node)
                # an integer product (numpy's own loop) is allowed where it says so
                if "cf @ t.T" not in src:
                    found.append(f"{name}:{node.lineno}: {src}")
            if isinstance(node, ast.Attribute) and node.attr in ("dot", "matmul", "vdot", "inner",
                                                                 "tensordot", "einsum"):
                found.append(f"{name}:{node.lineno}: .{node.attr}")
    assert not found, found

