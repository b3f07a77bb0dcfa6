"""CutExplorerModel: the numbers are the Analysis's, the bookkeeping (cutflow, p_out, toggles,
ranges, messages) is consistent with them, bad input gives clear errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from na64tools.analysis import Analysis
from na64tools.config import Cuts
from na64tools.interactive import CUT_GROUPS, CutExplorerModel, CutRangeError
from na64tools.selection import cut_masks
from na64tools.stats.background import background_by_source

MASSES = (0.01, 0.1, 0.5)


@pytest.fixture(scope="module")
def output(small_output):
    """The shared small processor output of tests/conftest.py (signal at three masses + background)."""
    return small_output


@pytest.fixture(scope="module")
def _model(output):
    return CutExplorerModel(output)


@pytest.fixture
def model(_model):
    _model.reset()
    return _model


def assert_same_result(a, b):
    assert a.efficiencies == b.efficiencies
    assert a.background == b.background
    assert a.total_background == b.total_background
    np.testing.assert_array_equal(a.limit.observed, b.limit.observed)
    np.testing.assert_array_equal(a.limit.expected.median, b.limit.expected.median)
    np.testing.assert_array_equal(a.projection.expected.median, b.projection.expected.median)


def test_published_summary_is_the_analysis_result(output, model):
    ref = Analysis(output, projections=(3.5e11,)).evaluate()
    assert model.summary.cuts == Cuts()
    assert_same_result(model.summary.result, ref)
    assert sorted(model.summary.efficiencies) == list(MASSES)


def test_set_cuts_matches_analysis(output, model):
    a = Analysis(output, projections=(3.5e11,))
    s = model.set_cuts(p_out_max=60.0)
    assert model.cuts == Cuts(p_out_max=60.0)
    assert_same_result(s.result, a.evaluate(Cuts(p_out_max=60.0)))
    s = model.set_cuts(hcal_max=3.0, veto_max=0.02)  # relative to the current cuts
    expected = Cuts(p_out_max=60.0, hcal_max=3.0, veto_max=0.02)
    assert s.cuts == expected
    assert_same_result(s.result, a.evaluate(expected))


def test_background_fast_path_equals_background_by_source(model):
    a = model.analysis
    rng = np.random.default_rng(3)
    for _ in range(15):
        c = Cuts(p_out_max=float(rng.uniform(1, 100)), veto_max=float(rng.uniform(0, 0.1)),
                 hcal_max=float(rng.uniform(0.5, 20)), ecal_max=float(rng.uniform(0.1, 10)))
        p = a.passed(c)
        ref = background_by_source(a._weight[a._is_bkg], a._source, p[a._is_bkg],
                                   mot_sample=a.mot_background, mot=a.mot)
        assert a.background(c, p) == ref  # the same floats, to the last bit


def test_incremental_masks_equal_full_masks(model):
    rng = np.random.default_rng(5)
    names = list(model.ranges)
    for _ in range(40):
        if rng.random() < 0.15:
            change = {list(CUT_GROUPS)[rng.integers(len(CUT_GROUPS))]: bool(rng.random() < 0.5)}
        else:
            name = names[rng.integers(len(names))]
            r = model.ranges[name]
            v = r.lo + (r.hi - r.lo) * rng.random()
            change = {name: float(round(v)) if r.integer else float(v)}
        try:
            model.set_cuts(**change)
        except CutRangeError:
            continue
        cached_cuts, cached = model._mask_cache
        assert cached_cuts == model.cuts
        full = cut_masks(model._vars, model.cuts)
        for g in full:
            np.testing.assert_array_equal(cached[g], full[g], err_msg=g)
        assert model.summary.efficiencies == model.analysis.evaluate(model.cuts, limits=False).efficiencies


def test_cut_groups_cover_cuts_and_touch_only_their_own_mask(model):
    listed = [n for names in CUT_GROUPS.values() for n in names]
    assert sorted(listed) == sorted(Cuts.names())
    base = cut_masks(model._vars, model.published)
    for group, names in CUT_GROUPS.items():
        for name in names:
            r = model.ranges[name]
            other = model.published.replace(**{name: r.off})
            masks = cut_masks(model._vars, other)
            for g in masks:
                if g != group:
                    np.testing.assert_array_equal(masks[g], base[g], err_msg=f"{name} changed {g}")


def test_cutflow_is_monotone_and_ends_at_the_result(model):
    s = model.set_cuts(p_out_max=70.0)
    flow = s.cutflow
    assert [r.stage for r in flow][0] == "stored" and flow[-1].stage == "vhcal"
    for m in MASSES:
        col = [r.signal[m] for r in flow]
        assert all(x >= y for x, y in zip(col, col[1:], strict=False))
        assert flow[-1].signal[m] == pytest.approx(s.efficiencies[m].value, rel=1e-12)
    bkg = [r.background for r in flow]
    assert all(x >= y * (1 - 1e-12) for x, y in zip(bkg, bkg[1:], strict=False))
    assert flow[-1].background == pytest.approx(s.total_background.value, rel=1e-9)
    assert flow[-1].background_entries == s.total_background.n_events


def test_pout_is_the_n_minus_1_distribution(model):
    s = model.set_cuts(p_out_max=80.0)  # a bin edge of the 2-GeV binning
    h = s.pout
    below = h.edges[1:] <= 80.0 + 1e-9
    assert h.cut == 80.0
    total = sum(c[below].sum() for c in h.background.values())
    assert total == pytest.approx(s.total_background.value, rel=1e-9)
    for m in MASSES:
        n_pass = h.signal[m][below].sum() / model._signal_scale[m]
        assert n_pass == pytest.approx(s.efficiencies[m].n_pass, rel=1e-9)
        assert h.signal[m].sum() >= h.signal[m][below].sum()  # events above the cut are drawn too


def test_toggle_switches_a_cut_off_and_back(model):
    on = model.summary
    s = model.set_cuts(veto=False)
    r = model.ranges["veto_max"]
    assert s.cuts.veto_max == r.off and model.slider_cuts.veto_max == 0.015
    assert "veto" in s.off
    assert np.all(cut_masks(model._vars, s.cuts)["veto"])  # nothing stored is cut any more
    assert s.total_background.value >= on.total_background.value
    s = model.set_cuts(veto=True)
    assert s.cuts == Cuts() and not s.off
    assert_same_result(s.result, on.result)
    assert model.set_cuts(veto_max=None).cuts.veto_max == r.off  # None = off as well
    assert model.set_cuts(veto_max=0.01).cuts.veto_max == 0.01  # a value switches it on again


def test_ranges_come_from_preselection_and_data(model):
    pres = model.table.preselection
    rg = model.ranges
    assert rg["p_out_max"].hi == rg["p_out_max"].hard_hi == pres["p_out_max"]
    assert rg["p_in_min"].hard_lo == pres["p_in_min"] and rg["p_in_max"].hard_hi == pres["p_in_max"]
    assert rg["n_tracks_max"].integer and rg["n_tracks_max"].step == 1
    assert rg["track_hits_min"].integer
    for name, r in rg.items():
        assert r.lo <= r.published <= r.hi, name
        assert r.unit == Cuts.unit(name)
        if r.side == "max":
            assert r.off > r.data_hi or r.off == r.hard_hi, name


def test_bad_values_raise_clear_errors_and_keep_the_state(model):
    before = model.summary
    with pytest.raises(CutRangeError, match=r"p_out_max = 120 GeV.*p_out < 100 GeV.*preselection"):
        model.set_cuts(p_out_max=120)
    with pytest.raises(CutRangeError, match=r"p_in_min = 130 GeV.*p_in > 140"):
        model.set_cuts(p_in_min=130)
    with pytest.raises(CutRangeError, match="must be below p_in_max"):
        model.set_cuts(p_in_min=175)
    with pytest.raises(CutRangeError, match="unknown cut 'pout'"):
        model.set_cuts(pout=3)
    with pytest.raises(CutRangeError, match="not a finite number"):
        model.set_cuts(veto_max=math.nan)
    with pytest.raises(CutRangeError, match="not a number"):
        model.set_cuts(veto_max="low")
    with pytest.raises(CutRangeError, match="whole number"):
        model.set_cuts(track_hits_min=7.5)
    with pytest.raises(CutRangeError, match="True .on. or False"):
        model.set_cuts(veto=3)
    assert model.summary is before and model.cuts == Cuts()


def test_cuts_beyond_the_data_give_messages_not_errors(model):
    r = model.ranges["p_out_max"]
    s = model.set_cuts(p_out_max=r.data_lo / 2)
    assert any("removes every stored event" in m for m in s.messages)
    assert any("no simulated signal event passes" in m for m in s.messages)
    assert all(e.n_pass == 0 for e in s.efficiencies.values())
    assert np.all(np.isinf(s.limit.observed))
    s = model.set_cuts(p_out_max=80.0, veto_max=model.ranges["veto_max"].hi * 2)
    assert any("outside the range of the stored data" in m for m in s.messages)


def test_output_without_the_table_is_refused_clearly(output):
    no_table = {k: v for k, v in output.items() if k != "table"}
    with pytest.raises(ValueError, match="no cached cut table"):
        CutExplorerModel(no_table)
    with pytest.raises(ValueError, match="needs the processor output"):
        CutExplorerModel([1, 2, 3])


def test_yaml_export_round_trip(model, tmp_path):
    model.set_cuts(p_out_max=60.0, veto_max=0.02)
    path = model.export_yaml(tmp_path / "cuts.yaml")
    assert Cuts.from_file(path) == model.cuts
    with pytest.raises(ValueError, match=r"\.yaml"):
        model.export_yaml(tmp_path / "cuts.txt")


def test_summary_helpers_and_json(model):
    s = model.summary
    assert s.efficiency(0.1) == s.efficiencies[0.1].value
    lo, hi = s.efficiency(0.01), s.efficiency(0.1)
    assert min(lo, hi) <= s.efficiency(0.03) <= max(lo, hi)
    i = len(s.limit.masses) // 2
    assert s.expected_limit(s.limit.masses[i]) == pytest.approx(s.limit.expected.median[i], rel=1e-12)
    with pytest.raises(ValueError, match="outside the limit curve"):
        s.expected_limit(5.0)
    d = json.loads(json.dumps(s.as_dict()))
    assert d["cutflow"][-1]["stage"] == "vhcal" and d["cuts"]["p_out_max"] == 80.0
