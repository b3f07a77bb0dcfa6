"""One signal-efficiency definition: ε = ε_trigger · c_set · ε_acceptance · ε_selection (c_set the
set-by-hand signal.efficiency_correction, shown as its own factor), and n_eff of the background
estimates."""

import dataclasses
from fractions import Fraction

import awkward as ak
import numpy as np
import pytest
import uproot

from na64tools import Cuts, default_setup
from na64tools.analysis import Analysis
from na64tools.config import Quantity
from na64tools.stats.background import (
    LOW_N_EFF,
    BackgroundEstimate,
    background_by_source,
    n_effective,
)
from na64tools.stats.efficiency import ACCEPTANCE_STAGES, EfficiencyFactors


@pytest.fixture(scope="module")
def result(small_output):
    return Analysis(small_output).evaluate()


def test_product_of_factors_is_the_efficiency_exactly(result):
    assert result.factors_note == ""
    assert sorted(result.factors) == sorted(result.efficiencies)
    c = default_setup().signal.efficiency_correction
    for m, f in result.factors.items():
        e = result.efficiencies[m]
        # c_set is the setup's number, shown apart from the trigger factor
        assert f.correction == float(c) and f.as_dict()["correction_status"] == "set, not measured"
        # as rational numbers the product telescopes to n_selected / n_produced exactly
        c_q = Fraction(str(float(c)))
        exact = (Fraction(f.n_triggered, f.n_produced) / c_q * c_q * Fraction(f.n_accepted, f.n_triggered)
                 * Fraction(f.n_selected, f.n_accepted))
        assert exact == Fraction(e.n_pass, e.n_total)
        assert f.total == e.value
        assert f.trigger * f.correction * f.acceptance * f.selection == pytest.approx(e.value, rel=1e-14)


def _hand_counts(paths, cuts):
    """(nGenerated, nWritten, passing the acceptance stages) read with uproot, by hand."""
    n_gen = n_wr = n_acc = 0
    for p in paths:
        with uproot.open(p) as f:
            runs = f["Runs"].arrays(["nGenerated", "nWritten"], library="np")
            n_gen += int(runs["nGenerated"].sum())
            n_wr += int(runs["nWritten"].sum())
            ev = f["Events"].arrays(["Trigger_scattered", "Beam_p", "Beam_chi2", "Track_chi2",
                                     "Track_nhits"])
        ntr = ak.num(ev["Track_chi2"])
        first_chi2 = ak.fill_none(ak.firsts(ev["Track_chi2"]), np.inf)
        first_hits = ak.fill_none(ak.firsts(ev["Track_nhits"]), 0)
        ok = (ev["Trigger_scattered"] & (ev["Beam_p"] > cuts.p_in_min) & (ev["Beam_p"] < cuts.p_in_max)
              & (ev["Beam_chi2"] < cuts.beam_chi2_max) & (ntr >= 1) & (ntr <= cuts.n_tracks_max)
              & (first_chi2 < cuts.track_chi2_max) & (first_hits >= cuts.track_hits_min))
        n_acc += int(ak.sum(ok))
    return n_gen, n_wr, n_acc


def test_factors_match_runs_tree_and_hand_selection(result, small_fileset):
    cuts = default_setup().cuts
    for m, f in result.factors.items():
        n_gen, n_wr, n_acc = _hand_counts(small_fileset[f"signal_vector_m{m:g}"], cuts)
        assert (f.n_produced, f.n_triggered, f.n_accepted) == (n_gen, n_wr, n_acc)
        c_set = float(default_setup().signal.efficiency_correction)
        assert f.trigger == pytest.approx(n_wr / n_gen / c_set, rel=1e-14)
    # the trigger (p_out threshold) loses light X, which leave the muon most of its energy
    t = [result.factors[m].trigger for m in sorted(result.factors)]
    assert t[0] < t[-1]


def test_tighter_selection_changes_only_the_selection_factor(small_output, result):
    r = Analysis(small_output).evaluate(Cuts(p_out_max=60.0), limits=False)
    for m, f in r.factors.items():
        ref = result.factors[m]
        assert (f.trigger, f.acceptance) == (ref.trigger, ref.acceptance)
        assert f.selection <= ref.selection


def test_changed_acceptance_cuts_give_no_factors(small_output):
    r = Analysis(small_output).evaluate(Cuts(p_in_min=152.0), limits=False)
    assert r.factors == {} and "p_in_min" in r.factors_note
    assert r.efficiencies  # the overall efficiency is still there
    assert r.summary()["efficiency_factors_note"] == r.factors_note


def test_product_of_factors_on_a_generated_sample():
    """On a signal sample generated here, counted by hand: written / produced is ε_trigger · c_set,
    and ε_trigger (the geometric trigger) does not depend on c_set; the product of the four
    factors is N_pass / N_generated."""
    from na64tools.selection import cut_masks, passes, variables_from_branches
    from na64tools.sim import generate

    setup = default_setup()
    n = 20_000
    counts = {}
    for c in (0.15, 1.0):
        s = setup.replace(signal=dataclasses.replace(
            setup.signal, efficiency_correction=Quantity(c, "1", "test")))
        a = generate("signal", setup=s, mass=0.1, coupling=1e-4, events=n, seed=11, triggered_only=True)
        v = variables_from_branches(a)
        masks = cut_masks(v, s.cuts)
        n_acc = int(np.logical_and.reduce([masks[k] for k in ("trigger", *ACCEPTANCE_STAGES)]).sum())
        counts[c] = (len(a["Trigger_scattered"]), n_acc, int(passes(v, s.cuts).sum()))
    (w15, a15, p15), (w1, a1, p1) = counts[0.15], counts[1.0]
    f15 = EfficiencyFactors(n, w15, a15, p15, 0.15)
    f1 = EfficiencyFactors(n, w1, a1, p1, 1.0)
    # the correction is an independent draw: the kept fraction is c_set within 4 sigma
    assert abs(w15 / w1 - 0.15) < 4 * np.sqrt(0.15 * 0.85 / w1)
    # so the trigger factors agree within their statistical errors (binomial, 4 sigma)
    assert abs(f15.trigger - f1.trigger) < 4 * np.sqrt(f1.trigger / (0.15 * n))
    for f, p in ((f15, p15), (f1, p1)):
        assert f.trigger * f.correction * f.acceptance * f.selection == pytest.approx(p / n, rel=1e-14)
        assert f.total == p / n


def test_efficiency_factors_edge_cases():
    f = EfficiencyFactors(10, 0, 0, 0)
    assert (f.trigger, f.acceptance, f.selection, f.total) == (0.0, 0.0, 0.0, 0.0)
    assert EfficiencyFactors(100, 15, 10, 5, 0.15).trigger == pytest.approx(1.0)
    with pytest.raises(ValueError, match="efficiency_correction"):
        EfficiencyFactors(10, 5, 4, 1, 0.0)
    with pytest.raises(ValueError, match="produced >= triggered"):
        EfficiencyFactors(10, 5, 6, 1)
    with pytest.raises(ValueError, match="produced >= triggered"):
        EfficiencyFactors(10, 5, 4, -1)


def test_summary_states_the_definition(result):
    s = result.summary()
    assert "passing trigger, acceptance and all cuts" in s["efficiency_definition"]
    e = s["efficiency"][1]
    assert e["factors"]["total"] == e["value"]


# --- effective number of events -------------------------------------------------------------
@pytest.mark.parametrize("w, expected", [([1, 1, 1, 1], 4.0), ([1, 0, 0, 100], 101 ** 2 / 10001),
                                         ([3.0], 1.0), ([], 0.0), ([2, 2, 2, 2, 2], 5.0)])
def test_n_effective_by_hand(w, expected):
    assert n_effective(w) == pytest.approx(expected, rel=1e-14)


def test_background_estimate_n_eff_is_independent_of_the_exposure():
    w = np.array([1.0, 0.0, 0.0, 100.0, 2.0])
    for mot in (1.0, 1.98e10):
        b = background_by_source(w, np.array(["misreconstruction"] * 5), np.array([1, 1, 1, 1, 0], bool),
                                 mot_sample=7.0, mot=mot)["misreconstruction"]
        assert b.n_eff == pytest.approx(101 ** 2 / 10001, rel=1e-12)
        assert b.low_statistics and b.as_dict()["n_eff"] == b.n_eff
    assert not BackgroundEstimate("x", 1.0, 1.0 / np.sqrt(LOW_N_EFF + 1), 0.0, 11).low_statistics


def test_n_eff_through_analysis(small_output, result):
    table = small_output["table"]
    a = Analysis(small_output)
    p = a.passed(default_setup().cuts)
    ds = np.asarray(table.datasets)[table.columns["dataset"]]
    w = np.asarray(table.columns["genWeight"])[p & (ds == "background")]
    assert result.total_background.n_eff == pytest.approx(w.sum() ** 2 / np.dot(w, w), rel=1e-10)
    assert result.summary()["background_total"]["n_eff"] == result.total_background.n_eff
    assert result.low_statistics == (result.total_background.n_eff < LOW_N_EFF)


def test_low_statistics_is_flagged_in_the_explorer(small_output):
    from na64tools.interactive.model import CutExplorerModel

    model = CutExplorerModel(small_output)
    s = model.evaluate(Cuts(p_out_max=80.0, veto_max=0.001, ecal_max=0.2, hcal_max=0.5))
    assert s.n_eff == s.total_background.n_eff
    assert s.low_statistics == (s.n_eff < LOW_N_EFF)
    assert any("effective simulated events" in msg for msg in s.messages) == s.low_statistics
    assert s.low_statistics, "these tight cuts should leave fewer than 10 effective background events"
