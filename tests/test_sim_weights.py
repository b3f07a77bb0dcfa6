"""Importance sampling covers every region the processor's loose preselection admits: no single
stored event carries more than a few per cent of the background of the published selection or of
the loose preselection (every CutExplorer cut switched off), and independent samples agree within
their errors (a region reached only by a rare natural configuration would show up as one event of
weight ~100-300 deciding the estimate of one seed)."""

import math

import numpy as np
import pytest

from na64tools.config import default_setup
from na64tools.processor import Preselection
from na64tools.selection import passes, variables_from_branches
from na64tools.sim import generate

SETUP = default_setup()
EVENTS = 200_000
SEEDS = (2022, 7, 3)


PRE = Preselection()


def _loose(v, pre=PRE):
    return (v["trigger"] & (v["p_in"] > pre.p_in_min) & (v["p_in"] < pre.p_in_max)
            & (v["n_tracks"] >= 1) & (v["n_tracks"] <= pre.n_tracks_max)
            & (v["p_out"] < pre.p_out_max) & (v["ecal"] < pre.ecal_max) & (v["hcal"] < pre.hcal_max))


@pytest.fixture(scope="module")
def estimates():
    out = {}
    for seed in SEEDS:
        a = generate("background", events=EVENTS, seed=seed, triggered_only=True)
        v = variables_from_branches(a)
        w = a["genWeight"]
        out[seed] = {name: w[m] for name, m in (("loose", _loose(v)), ("published", passes(v, SETUP.cuts)))}
    return out


@pytest.mark.parametrize("cuts", ["loose", "published"])
def test_no_event_dominates(estimates, cuts):
    for seed, e in estimates.items():
        w = e[cuts]
        assert w.size > 100
        assert w.max() / w.sum() < 0.05, (seed, cuts, w.max(), w.sum())


def test_loose_background_agrees_between_seeds(estimates):
    vals = [(e["loose"].sum(), math.sqrt(float(np.dot(e["loose"], e["loose"])))) for e in estimates.values()]
    for i in range(len(vals)):
        for j in range(i + 1, len(vals)):
            (a, ea), (b, eb) = vals[i], vals[j]
            assert abs(a - b) < 4 * math.hypot(ea, eb), vals
    # and the relative error of each is that of thousands of events, not of one
    assert all(err < 0.1 * val for val, err in vals)
