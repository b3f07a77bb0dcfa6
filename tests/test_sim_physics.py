"""Validation of the simulation against the physics it claims: signal x spectrum = dsigma/dx,
Landau MIP deposits, SM energy-loss spectra = cross-sections, trigger turn-on, pile-up, decay
kinematics."""

import math

import awkward as ak
import numpy as np
import pytest
from scipy import integrate, optimize, stats

from na64tools.config import default_setup
from na64tools.physics import dsigma_dx, material, x_range
from na64tools.physics.eloss import total_cross_section
from na64tools.sim import generate
from na64tools.sim.beam import HADRONS, MUON_MASS
from na64tools.sim.plan import V_SPLIT, loss_probabilities, make_plan
from na64tools.sim.processes import V_MIN

SETUP = default_setup()
E0 = float(SETUP.beam.energy)


@pytest.fixture(scope="module")
def bkg():
    """All generated events (not only triggered) of a background sample."""
    return generate("background", events=200_000, mot=1e12, seed=31)


def _mask_weight(a, w):
    return a["genWeight"] == w


def _stratum_weight(name, events=200_000, mot=1e12):
    plan = make_plan("background", events=events, mot=mot, seed=31)
    return plan.weights[[s.name for s in plan.strata].index(name)]


# ------------------------------------------------------------------------------------------
# signal
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "mass"), [("vector", 0.1), ("vector", 1.0), ("scalar", 0.1),
                                             ("dark_photon", 0.02)])
def test_signal_x_follows_dsigma_dx(model, mass):
    a = generate("signal", model=model, mass=mass, coupling=1e-4, events=20000, seed=41)
    assert np.all(a["Gen_process"] == 1)
    x = np.asarray(a["Gen_x"], dtype=float)
    lo, hi = x_range(mass, energy=E0, target="Pb")
    # reference CDF: cumulative integral of dsigma/dx on a fine grid (log-spaced in x and in 1-x)
    g = np.unique(np.concatenate([np.geomspace(lo, 0.5, 400), 1.0 - np.geomspace(1.0 - hi, 0.5, 400)]))
    f = dsigma_dx(g, mass, 1e-4, model=model, energy=E0, target="Pb")
    cdf = integrate.cumulative_trapezoid(f, g, initial=0.0)
    cdf /= cdf[-1]
    res = stats.kstest(x, lambda v: np.interp(v, g, cdf))
    assert res.pvalue > 1e-3, res
    # the X is invisible and the muon keeps (1 - x) of the beam energy
    gp, ge, gs = a["GenPart_pdgId"], a["GenPart_energy"], a["GenPart_status"]
    e_mu = ak.to_numpy(ak.sum(ge[(gs == 1) & (gp == -13)], axis=1))
    e_x = ak.to_numpy(ak.sum(ge[gs == 2], axis=1))
    e_in = ak.to_numpy(ak.sum(ge[gs == 0], axis=1))
    # events without an SM energy loss above V_MIN: beam muon, muon, X only
    no_loss = np.asarray(a["nGenPart"]) == 3
    p0 = loss_probabilities(SETUP)["none"]
    assert no_loss.mean() == pytest.approx(p0, abs=5 * math.sqrt(p0 * (1 - p0) / x.size))
    np.testing.assert_allclose(e_mu[no_loss] + e_x[no_loss], e_in[no_loss], rtol=1e-5)
    np.testing.assert_allclose(e_x[no_loss] / e_in[no_loss], x[no_loss], rtol=2e-5)


# ------------------------------------------------------------------------------------------
# MIP deposits
# ------------------------------------------------------------------------------------------
def _landau_mode():
    return optimize.minimize_scalar(lambda v: -stats.landau.pdf(v), bracket=(-1.0, -0.4, 0.5)).x


def _clean_mips(a):
    """Beam muons of the bulk stratum that only ionised, without pile-up."""
    w = _stratum_weight("mip")
    return _mask_weight(a, w) & (a["Gen_process"] == 0) & (a["nTrack"] == 1)


def test_hcal_mip_is_landau(bkg):
    sel = _clean_mips(bkg)
    assert sel.sum() > 5000
    mode = _landau_mode()
    hc = SETUP.hcal
    e = ak.to_numpy(bkg["HCAL_energy"][sel])
    ref = stats.landau(loc=float(hc.mip) - float(hc.mip_width) * mode, scale=float(hc.mip_width))
    for m in range(e.shape[1]):
        assert stats.kstest(e[:, m], ref.cdf).pvalue > 1e-3
    # not a Gaussian: the knock-on tail, P(E > mip + 10 width) ~ 2/(10 pi)
    frac = np.mean(e[:, 0] > float(hc.mip) + 10 * float(hc.mip_width))
    assert frac == pytest.approx(ref.sf(float(hc.mip) + 10 * float(hc.mip_width)), rel=0.15)


def test_ecal_mip_is_landau_with_its_peak_at_the_mip(bkg):
    sel = _clean_mips(bkg)
    ec = SETUP.ecal
    f = float(SETUP.target.preshower_depth) / float(SETUP.target.radiation_lengths)
    mode = _landau_mode()
    c1, c2 = f * float(ec.mip_width), (1 - f) * float(ec.mip_width)
    l1, l2 = f * float(ec.mip) - c1 * mode, (1 - f) * float(ec.mip) - c2 * mode
    c = c1 + c2
    # sum of two Landau deposits (preshower + main section) is a Landau (stable law)
    loc = l1 + l2 - 2 / math.pi * (c1 * math.log(c1) + c2 * math.log(c2) - c * math.log(c))
    e = np.asarray(bkg["ECAL_energy"][sel], dtype=float)
    assert stats.kstest(e, stats.landau(loc=loc, scale=c).cdf).pvalue > 1e-3
    h, edges = np.histogram(e, bins=np.arange(0.2, 0.8, 0.01))
    peak = edges[np.argmax(h)] + 0.005
    assert peak == pytest.approx(float(ec.mip), abs=0.02)
    ps = np.asarray(bkg["ECAL_preshower"][sel], dtype=float)
    assert np.median(ps / e) == pytest.approx(f, rel=0.2)


# ------------------------------------------------------------------------------------------
# SM energy loss
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("process", ["brems", "pair", "photonuclear"])
def test_energy_loss_spectrum_matches_cross_sections(bkg, process):
    """Weighted v spectrum of beam muons = MOT x probability from the cross-sections."""
    codes = {"brems": [2], "pair": [3], "photonuclear": [4, 5]}[process]
    plan = make_plan("background", events=200_000, mot=1e12, seed=31)
    muon_strata = [i for i, s in enumerate(plan.strata) if s.kind == "muon"]
    is_muon = np.isin(bkg["genWeight"], plan.weights[muon_strata])
    sel = np.isin(bkg["Gen_process"], codes) & is_muon
    v = np.asarray(bkg["Gen_x"][sel], dtype=float)
    w = bkg["genWeight"][sel]
    # expectation: one interaction above V_MIN per muon, P(k) = mu_k/mu (1 - exp(-mu))
    nl = material("Pb").n_atoms * float(SETUP.target.thickness)
    mu = {k: nl * float(total_cross_section(k, E0, "Pb", v_min=V_MIN)) for k in ("brems", "pair", "photonuclear")}
    mu_tot = sum(mu.values())
    beam = plan.beam
    n_mu = plan.mot * (1 - beam.decay_rate("k") - beam.decay_rate("pi"))
    scale = n_mu * (-math.expm1(-mu_tot)) / mu_tot * nl
    edges = np.concatenate([[V_MIN, 0.01, V_SPLIT], np.geomspace(V_SPLIT, 0.95, 9)[1:]])
    hw, _ = np.histogram(v, edges, weights=w)
    hw2, _ = np.histogram(v, edges, weights=w * w)
    exp = np.array([scale * float(total_cross_section(process, E0, "Pb", v_min=a, v_max=b))
                    for a, b in zip(edges[:-1], edges[1:], strict=True)])
    pull = (hw - exp) / np.sqrt(hw2 + 1e-300)
    chi2 = float(np.sum(pull**2))
    assert stats.chi2.sf(chi2, len(exp)) > 1e-3, (pull, hw / exp)


def test_every_generated_muon_is_accounted_for(bkg):
    """Sum of weights of all generated events = MOT; of the bulk muons that only ionised or lost
    less than V_SPLIT = MOT x P(that) within its statistical error."""
    assert math.fsum(bkg["genWeight"]) == pytest.approx(1e12, rel=1e-12)
    w = _stratum_weight("mip")
    bulk = _mask_weight(bkg, w)
    nothing = bulk & (bkg["Gen_process"] == 0)
    nl = material("Pb").n_atoms * float(SETUP.target.thickness)
    mu_tot = nl * sum(float(total_cross_section(k, E0, "Pb", v_min=V_MIN)) for k in ("brems", "pair", "photonuclear"))
    frac = bkg["genWeight"][nothing].sum() / 1e12
    n = bulk.sum()
    p = math.exp(-mu_tot)
    assert frac == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))


# ------------------------------------------------------------------------------------------
# trigger, pile-up, hadron decays
# ------------------------------------------------------------------------------------------
def test_trigger_ignores_unscattered_beam_muons(bkg):
    """Beam muons measured at the beam momentum land beside the counters (the geometric trigger,
    tests/test_geometry.py): only a few per cent of the unscattered, well measured muons fire."""
    p = ak.to_numpy(ak.firsts(bkg["Track_p"]))
    fired = np.asarray(bkg["Trigger_scattered"])
    clean = (p > 150) & (bkg["Gen_process"] == 0) & ~np.asarray(bkg["Gen_mismeasured"])
    assert clean.sum() > 1000
    assert fired[clean].mean() < 0.1
    low = (p < 80) & (bkg["Gen_process"] == 0) & np.asarray(bkg["Gen_mismeasured"])
    assert low.sum() > 100
    assert fired[low].mean() > 0.5  # a mismeasured (kinked) muon fires as a real soft one


def test_pileup_is_poisson(bkg):
    sel = _mask_weight(bkg, _stratum_weight("mip")) & (bkg["Gen_process"] == 0)
    extra = np.asarray(bkg["nTrack"][sel]) - 1
    mu = float(SETUP.beam.intensity) * float(SETUP.beam.readout_window) * 1e-9
    assert extra.mean() == pytest.approx(mu, abs=5 * math.sqrt(mu / sel.sum()))
    assert np.mean(extra == 0) == pytest.approx(math.exp(-mu), abs=5 * math.sqrt(mu / sel.sum()))


def test_kaon_decay_muon_energy_is_uniform(bkg):
    sel = _mask_weight(bkg, _stratum_weight("k_decay"))
    assert np.all(bkg["Gen_process"][sel] == 7)
    frac = 1.0 - np.asarray(bkg["Gen_x"][sel], dtype=float)  # E_mu / E_K
    r = (MUON_MASS / HADRONS["k"].mass) ** 2
    assert frac.min() >= r - 1e-4 and frac.max() <= 1.0 + 1e-6
    assert stats.kstest(frac, stats.uniform(r, 1 - r).cdf).pvalue > 1e-3
    pdg_in = ak.to_numpy(ak.firsts(bkg["GenPart_pdgId"][sel]))
    assert np.all(pdg_in == 321)
