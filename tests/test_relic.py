"""Light dark matter: g*(T) table, thermal-relic target against the literature, LDM limit.

Independent values: the free-gas counting of g* (106.75; 3.36 / 3.91 after e+e- annihilation),
the published required <sigma v> of Steigman, Dasgupta & Beacom (PRD 86 (2012) 023506,
arXiv:1204.3622), hand-computed widths and branching fractions.
"""

from __future__ import annotations

import numpy as np
import pytest

from na64tools.physics import br_invisible, width_dark, width_zprime
from na64tools.physics import constants as phys
from na64tools.physics.relic import (
    g_star,
    g_star_s,
    ldm_coupling_limit,
    sigma_v_coefficients,
    y_from_coupling,
    y_thermal,
)

CM3_PER_S = phys.GEV2_TO_PB * 1e-36 * 2.99792458e10  # GeV^-2 -> cm^3/s


# --------------------------------------------------------------------------- g*(T)


def test_g_star_limits_match_free_gas_counting():
    # high T: all SM species relativistic, 106.75 for a free gas; the interacting SM of the table
    # is 2-3 % lower (perturbative QCD/electroweak corrections), never above
    for T in (1e3, 1e5):
        assert 0.97 * 106.75 < g_star(T) < 106.75
        assert 0.97 * 106.75 < g_star_s(T) < 106.75
    # low T: photons + 3 neutrinos at T_nu = (4/11)^(1/3) T: 3.36 and 3.91 (instantaneous
    # decoupling); the table's non-instantaneous decoupling (N_eff = 3.045) adds < 1 %
    g_rho0 = 2 + 7 / 8 * 6 * (4 / 11) ** (4 / 3)
    g_s0 = 2 + 7 / 8 * 6 * 4 / 11
    assert g_rho0 == pytest.approx(3.363, abs=1e-3) and g_s0 == pytest.approx(3.909, abs=1e-3)
    assert g_star(1e-6) == pytest.approx(g_rho0, rel=0.01)
    assert g_star_s(1e-6) == pytest.approx(g_s0, rel=0.01)
    # between e+e- annihilation and the muon threshold: gamma, e, 3 nu = 10.75
    assert g_star(3e-3) == pytest.approx(10.75, rel=0.005)
    assert g_star_s(3e-3) == pytest.approx(10.75, rel=0.005)


def test_g_star_continuous_on_a_fine_grid():
    T = np.geomspace(1e-6, 1e4, 20001)  # ratio 1.0012 between neighbours
    for g in (g_star(T), g_star_s(T)):
        assert np.all(np.isfinite(g))
        # the steepest published change (QCD crossover) is ~ +8 % per 5 % in T: a continuous
        # curve moves < 0.5 % between neighbours, a step function (the old model: 17.25 -> 61.75)
        # would move by a factor 3.6
        assert np.max(np.abs(np.diff(np.log(g)))) < 5e-3


def test_g_star_bad_input():
    with pytest.raises(ValueError, match="-1"):
        g_star(-1.0)


# --------------------------------------------------------------------------- thermal target


@pytest.mark.parametrize(("m_chi", "published"), [(20.0, 2.2e-26), (100.0, 2.2e-26), (0.3, 5.2e-26)])
def test_thermal_sigma_v_matches_steigman_dasgupta_beacom(m_chi, published):
    """An s-wave Dirac relic needs twice the <sigma v> of a self-conjugate one; Steigman et al.:
    2.2e-26 cm^3/s above 10 GeV, maximum 5.2e-26 cm^3/s near 0.3 GeV (self-conjugate)."""
    y = y_thermal(m_chi, dm="dirac")
    a, b = sigma_v_coefficients(m_chi, y, dm="dirac")
    assert b == 0.0
    assert float(a) * CM3_PER_S == pytest.approx(2 * published, rel=0.10)


def test_thermal_target_smooth_in_mass():
    """No sawtooth from g* steps: the log-slope of y(m) changes little between neighbours.

    The ranges avoid m_chi = m_mu, where chi chi -> mu mu opens (a physical threshold of the
    annihilation, sqrt(1 - m_mu^2/m_chi^2)); the old step-function g* jumped at 2.7 MeV and 0.1 GeV.
    """
    for lo, hi in ((1e-3, 0.1), (0.12, 1.5)):
        m = np.geomspace(lo, hi, 81)
        for dm in ("scalar", "dirac"):
            y = y_thermal(m, dm=dm, portal="lmutau")
            slope = np.diff(np.log(y)) / np.diff(np.log(m))
            assert np.all(np.diff(y) > 0)
            assert np.max(np.abs(np.diff(slope))) < 0.25


def test_thermal_target_scales_with_omega():
    """Omega h^2 ~ x_f/<sigma v>: half the density needs twice y, times x_f(2y)/x_f(y) with
    x_f ~ 17 growing by ln 2 (about +4 %)."""
    y1 = y_thermal(0.05, dm="dirac", omega_h2=0.12)
    y2 = y_thermal(0.05, dm="dirac", omega_h2=0.06)
    assert 2.0 < y2 / y1 < 2.2


# --------------------------------------------------------------------------- LDM


def test_br_chichi_dominates_for_large_alpha_d():
    m, g, alpha_d = 0.6, 1e-3, 0.1
    br = br_invisible(m, g, m_chi=m / 3, alpha_D=alpha_d)
    vis = width_zprime(m, g, "mumu") + width_zprime(m, g, "tautau")
    chi = width_dark(m, m / 3, alpha_d)
    # 1 - BR = Gamma_vis / Gamma_tot = O(g^2/alpha_D)
    assert 1 - br == pytest.approx(vis / (vis + chi + width_zprime(m, g, "nunu")), rel=1e-9)
    assert 0 < 1 - br < 10 * g**2 / (4 * np.pi * alpha_d)
    assert br_invisible(m, 1e-5, m_chi=m / 3) > 1 - 1e-9


def test_br_ldm_hand_computed_point():
    # m = 0.3 GeV, m_chi = 0.1, g = 0.01, alpha_D = 0.1, by hand:
    m, g = 0.3, 0.01
    r_chi, r_mu = (0.1 / 0.3) ** 2, (phys.M_MU / 0.3) ** 2
    g_chi = 0.1 * 0.3 / 3 * (1 + 2 * r_chi) * np.sqrt(1 - 4 * r_chi)  # 0.01 * (11/9) * sqrt(5)/3
    assert g_chi == pytest.approx(0.01 * 11 / 9 * np.sqrt(5) / 3, rel=1e-12)
    g_nu = g**2 * m / (12 * np.pi)
    g_mu = g**2 * m / (12 * np.pi) * (1 + 2 * r_mu) * np.sqrt(1 - 4 * r_mu)
    expect = (g_nu + g_chi) / (g_nu + g_chi + g_mu)
    assert expect == pytest.approx(0.99992, abs=2e-5)
    assert br_invisible(m, g, m_chi=0.1, alpha_D=0.1) == pytest.approx(expect, rel=1e-12)


def test_ldm_limit_conversion():
    m = np.array([0.1, 0.3, 1.0, 5.0])
    g_nu = np.full(4, 1e-3)
    g_ldm = ldm_coupling_limit(m, g_nu)
    # g^2 BR is what the search bounds: g_ldm^2 BR_ldm(g_ldm) = g_nu^2 BR_nunu
    br_ldm = [br_invisible(mi, gi, m_chi=mi / 3) for mi, gi in zip(m, g_ldm, strict=True)]
    lhs = g_ldm**2 * np.array(br_ldm)
    rhs = g_nu**2 * np.array([br_invisible(mi, 1e-3) for mi in m])
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    # below 2 m_mu nothing changes; above, g^2 drops by BR(nunu) ~ 1/2 (1/3 above 2 m_tau)
    assert g_ldm[0] == pytest.approx(1e-3, rel=1e-6)
    assert (g_ldm[2] / 1e-3) ** 2 == pytest.approx(0.5, abs=0.01)
    assert (g_ldm[3] / 1e-3) ** 2 == pytest.approx(1 / 3, abs=0.02)
    assert ldm_coupling_limit([0.1], [np.inf])[0] == np.inf
    # the dark-photon limit already includes chi chi-bar (alpha_D = 0.1, m_chi = m/3): unchanged
    np.testing.assert_allclose(ldm_coupling_limit(m, g_nu, model="dark_photon"), g_nu, rtol=1e-9)
    with pytest.raises(ValueError, match="axial"):
        ldm_coupling_limit(m, g_nu, model="axial")


def test_ldm_y_limit_has_no_kink_at_two_muon_masses():
    """Full chain: the signal yield of the 2022 setup -> coupling limit -> LDM y limit."""
    from na64tools.config import default_setup
    from na64tools.stats.limits import CountingExperiment, coupling_limit
    from na64tools.stats.signal import yield_per_mot

    m = np.geomspace(0.1, 0.5, 41)  # m_X across 2 m_mu = 0.211 GeV
    yields = yield_per_mot(m, 1e-4, setup=default_setup()) * 2e10 * 0.5
    lim = coupling_limit(m, yields, 1e-4, CountingExperiment(0, 0.07))
    y_nu = y_from_coupling(lim.observed, m / 3, portal="lmutau")
    y_ldm = y_from_coupling(ldm_coupling_limit(m, lim.observed), m / 3, portal="lmutau")

    def max_slope_change(y):
        s = np.diff(np.log(y)) / np.diff(np.log(m))
        return np.max(np.abs(np.diff(s)))

    assert max_slope_change(y_nu) > 3  # the neutrino-only limit weakens abruptly at 2 m_mu
    assert max_slope_change(y_ldm) < 0.1
    # above threshold the LDM limit on y is about twice as strong
    assert y_ldm[-1] / y_nu[-1] == pytest.approx(
        float(br_invisible(m[-1], 1e-4)), rel=1e-3)
