"""The 2022 setup with the published selection reproduces the published background table
(PRL 132 (2024) 211803) from a generated sample, with its statistical
error; and each source arises from its mechanism (truth), not from a label."""

import math

import awkward as ak
import numpy as np
import pytest

from na64tools.config import default_setup
from na64tools.processes import source_of_codes
from na64tools.selection import passes, variables_from_branches
from na64tools.sim import generate

SETUP = default_setup()
#: generated events: the statistical errors are ~3 % (I), ~1 % (II), ~8 % (III)
EVENTS = 400_000


@pytest.fixture(scope="module")
def selected():
    a = generate("background", events=EVENTS, seed=2022, triggered_only=True)
    v = variables_from_branches(a)
    m = passes(v, SETUP.cuts)
    return {k: (x[m] if not isinstance(x, ak.Array) else x[m]) for k, x in a.items()}


def _yield(sel, source):
    """Expected events for the run's 1.98e10 MOT and the statistical error."""
    w = sel["genWeight"][source_of_codes(sel["Gen_process"]) == source]
    return float(w.sum()), math.sqrt(float((w * w).sum())), int(w.size)


def test_sample_stands_for_the_run():
    a = generate("background", events=5000, seed=1)
    assert math.fsum(a["genWeight"]) == pytest.approx(float(SETUP.run.mot), rel=1e-12)


def test_misreconstruction(selected):
    pub = SETUP.backgrounds.misreconstruction  # 0.05 +- 0.03
    n, err, count = _yield(selected, "misreconstruction")
    assert count > 300 and err < 0.1 * pub.value
    assert abs(n - pub.value) < 3 * err + 0.1 * pub.value, (n, err)


def test_decays_in_flight(selected):
    pub = SETUP.backgrounds.decays_in_flight  # 0.010 +- 0.001
    n, err, count = _yield(selected, "decays_in_flight")
    assert count > 1000 and err < 0.3 * pub.uncertainty
    assert abs(n - pub.value) < 3 * err + 0.3 * pub.uncertainty, (n, err)


def test_non_hermeticity(selected):
    pub = SETUP.backgrounds.non_hermeticity  # < 0.01
    assert pub.upper_limit
    n, err, count = _yield(selected, "non_hermeticity")
    assert count > 50
    assert n > 0 and n + 3 * err < pub.value, (n, err)


def test_total(selected):
    pub = SETUP.backgrounds.total  # 0.07 +- 0.03
    w = selected["genWeight"]
    assert abs(w.sum() - pub.value) < pub.uncertainty
    # nothing else passes: every selected event belongs to one of the published sources
    assert set(source_of_codes(selected["Gen_process"])) <= {"misreconstruction", "decays_in_flight",
                                                            "non_hermeticity"}


def test_each_source_arises_from_its_mechanism(selected):
    gp, ge, gs = selected["GenPart_pdgId"], selected["GenPart_energy"], selected["GenPart_status"]
    e_mu = ak.to_numpy(ak.sum(ge[(gs == 1) & (gp == -13)], axis=1))
    src = source_of_codes(selected["Gen_process"])
    # (I): a muon that kept more than the p_out cut, measured in the MS2 tail
    mis = src == "misreconstruction"
    assert np.all(selected["Gen_mismeasured"][mis])
    assert np.all(e_mu[mis] > SETUP.cuts.p_out_max)
    # (II): a beam hadron whose decay muon has less than the cut, measured correctly
    dec = src == "decays_in_flight"
    pdg_in = ak.to_numpy(ak.firsts(gp[dec]))
    assert set(pdg_in) <= {321, 211} and np.mean(pdg_in == 321) > 0.9
    # a pi -> mu nu muon keeps > (m_mu/m_pi)^2 = 57 % of the pion energy: it enters only through
    # the MS2 core resolution (p_out above 0.57 x 150 GeV, measured below the cut)
    assert np.all(e_mu[dec][pdg_in == 211] > 0.57 * SETUP.cuts.p_in_min)
    assert np.mean(e_mu[dec] < SETUP.cuts.p_out_max) > 0.95  # the rest: MS2 core resolution
    assert np.all(e_mu[dec] < SETUP.cuts.p_out_max * 1.3) and not np.any(selected["Gen_mismeasured"][dec])
    # (III): a hard photonuclear interaction whose leading neutral hadron escaped
    her = src == "non_hermeticity"
    lead = ak.to_numpy(ak.firsts(gp[her][gs[her] == 1][:, 1:]))
    assert np.all(lead == 2112)
    assert np.all(e_mu[her] < SETUP.cuts.p_out_max * 1.3)
