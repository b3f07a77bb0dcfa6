"""The selection is declared once (na64tools.config.Cuts): a cut added in one place — one
subclass of Cuts with one more threshold and one more cut of the flow — appears in the masks, the
cutflow, the preselection check, the CutExplorer's groups and cutflow, and the widget labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from na64tools.config import ConfigError, Cut, Cuts, default_setup, threshold
from na64tools.selection import (
    CUT_GROUPS,
    CUTFLOW,
    Preselection,
    cumulative,
    cumulative_masks,
    cut_masks,
    cutflow,
    declaration,
    passes,
    stages,
)


@dataclass(frozen=True)
class MoreCuts(Cuts):
    """The published selection plus a floor on p_out: the one place the new cut is declared."""

    FLOW = (*Cuts.FLOW, Cut("p_out_floor", "p_out floor", "the outgoing muon kept some energy",
                            "some energy left"))
    p_out_min: float = threshold(
        20.0, "GeV", "scattered muon momentum (MS2), lower bound", lo=0.0, cut="p_out_floor",
        variable="p_out", op=">=", label="p_out min", public="Muon out: least energy",
        help="Keep events whose outgoing muon kept at least this energy.")


def _variables(n=5000, seed=3):
    rng = np.random.default_rng(seed)
    return {
        "p_in": rng.normal(160, 8, n), "beam_chi2": rng.exponential(1.5, n),
        "n_tracks": rng.integers(0, 3, n).astype(float), "track_chi2": rng.exponential(1.5, n),
        "track_hits": rng.integers(5, 12, n).astype(float), "p_out": rng.uniform(0, 160, n),
        "ecal": rng.exponential(0.6, n), "hcal": rng.exponential(2.0, n),
        "veto": rng.exponential(0.01, n), "vhcal": rng.exponential(0.5, n),
        "trigger": rng.random(n) < 0.9,
    }


def test_published_masks_are_the_published_cuts_by_hand():
    """The declared comparisons are the published ones (strict '<' for upper bounds, '>=' for
    the ECAL and hits lower bounds), written out independently here."""
    v, c = _variables(), Cuts()
    hand = {
        "trigger": v["trigger"],
        "beam": (v["p_in"] > 150) & (v["p_in"] < 170) & (v["beam_chi2"] < 3),
        "n_tracks": (v["n_tracks"] >= 1) & (v["n_tracks"] <= 1),
        "track_quality": (v["track_chi2"] < 3) & (v["track_hits"] >= 8),
        "p_out": v["p_out"] < 80, "ecal": (v["ecal"] >= 0) & (v["ecal"] < 1),
        "hcal": v["hcal"] < 4, "veto": v["veto"] < 0.015, "vhcal": v["vhcal"] < 1,
    }
    masks = cut_masks(v, c)
    assert list(masks) == list(hand) == list(CUTFLOW)
    for name in hand:
        np.testing.assert_array_equal(masks[name], hand[name], err_msg=name)
    everything = np.logical_and.reduce(list(hand.values()))
    np.testing.assert_array_equal(passes(v, c), everything)
    # on the boundary: p_out exactly at the cut fails (strict), ECAL exactly at 0 passes
    edge = {**v, "p_out": np.full(len(v["p_out"]), 80.0), "ecal": np.zeros(len(v["ecal"]))}
    m = cut_masks(edge, c)
    assert not m["p_out"].any() and m["ecal"].all()


def test_cutflow_counts_by_hand():
    v, c = _variables(), Cuts()
    stage = stages(cut_masks(v, c))
    flow = cutflow(stage, len(CUTFLOW))[0]
    hand = [len(stage)]
    alive = np.ones(len(stage), bool)
    for name in CUTFLOW:
        alive = alive & cut_masks(v, c)[name]
        hand.append(int(alive.sum()))
    assert flow.tolist() == hand
    assert [int(m.sum()) for m in cumulative_masks(v, c).values()] == hand
    # weighted and by category: the categories add up to the total
    w = np.linspace(0.5, 1.5, len(stage))
    cat = np.arange(len(stage)) % 3
    by_cat = cutflow(stage, len(CUTFLOW), w, cat, 3)
    np.testing.assert_allclose(by_cat.sum(axis=0), cutflow(stage, len(CUTFLOW), w)[0])
    assert cumulative(np.array([1, 2, 3])).tolist() == [6, 5, 3]


def test_a_cut_added_in_one_place_is_in_masks_cutflow_and_preselection():
    decl = declaration(MoreCuts)
    assert decl.names == (*CUTFLOW, "p_out_floor")
    assert decl.groups == {**CUT_GROUPS, "p_out_floor": ("p_out_min",)}
    assert decl.thresholds["p_out_min"].side == "min"
    v, c = _variables(), MoreCuts()
    masks = cut_masks(v, c)
    np.testing.assert_array_equal(masks["p_out_floor"], v["p_out"] >= 20.0)
    np.testing.assert_array_equal(passes(v, c), passes(v, Cuts()) & (v["p_out"] >= 20.0))
    flow = cutflow(stages(masks, decl.names), len(decl.names))[0]
    assert flow[-1] == int((passes(v, Cuts()) & (v["p_out"] >= 20.0)).sum())
    # the validator knows the new lower bound sits below p_out_max on the same variable
    with pytest.raises(ConfigError, match="p_out_min: value 90.0 must be below p_out_max"):
        MoreCuts(p_out_min=90.0)
    assert MoreCuts.from_mapping({"p_out_min": 10}).p_out_min == 10.0
    Preselection().check_looser_than(c)


def test_a_declaration_that_does_not_hold_together_is_refused():
    @dataclass(frozen=True)
    class Orphan(Cuts):
        x_max: float = threshold(1.0, "GeV", "a cut of no cut", cut="nowhere", variable="ecal",
                                 op="<", label="x", public="x", help="x")

    with pytest.raises(ConfigError, match="cut 'nowhere' is not in FLOW"):
        declaration(Orphan)

    @dataclass(frozen=True)
    class WrongUnit(Cuts):
        FLOW = (*Cuts.FLOW, Cut("x", "x", "x", "x"))
        x_max: float = threshold(1.0, "MeV", "ECAL in the wrong unit", cut="x", variable="ecal",
                                 op="<", label="x", public="x", help="x")

    with pytest.raises(ConfigError, match="not a cut variable in that unit"):
        declaration(WrongUnit)


def test_a_cut_added_in_one_place_is_in_the_explorer_and_its_widgets(small_output):
    from na64tools.interactive import CutExplorer, CutExplorerModel

    setup = default_setup().replace(cuts=MoreCuts())
    model = CutExplorerModel(small_output, setup=setup)
    assert model.groups["p_out_floor"] == ("p_out_min",)
    rows = {r.stage: r for r in model.summary.cutflow}
    assert list(rows)[-1] == "p_out_floor" and rows["p_out_floor"].label == "p_out floor"
    # the last stage is the events passing the whole selection, the floor included
    v = model.table.variables()
    n_pass = int(passes(v, MoreCuts()).sum())
    assert 0 < n_pass < int(passes(v, Cuts()).sum())
    assert rows["p_out_floor"].background_entries <= rows["vhcal"].background_entries
    assert model.ranges["p_out_min"].side == "min"
    off = model.set_cuts(p_out_floor=False)
    assert off.cuts.p_out_min == model.ranges["p_out_min"].off
    model.reset()

    e = CutExplorer(small_output, figure=False, setup=setup)
    assert e.sliders["p_out_min"].description == "p_out min"
    assert "p_out_floor" in e.toggles
    assert "kept at least this energy" in e.sliders["p_out_min"].tooltip
    pub = CutExplorer(small_output, figure=False, public=True, setup=setup)
    assert pub.sliders["p_out_min"].description == "Muon out: least energy"
    assert pub.toggles["p_out_floor"].description == "some energy left"


def test_the_processor_refuses_cuts_it_has_no_histograms_for():
    from na64tools.processor import MissingMomentumProcessor

    with pytest.raises(ConfigError, match="MoreCuts with other cuts"):
        MissingMomentumProcessor(MoreCuts())
