"""The muon-philic ALP (pseudoscalar, ``na64tools.physics.alp``, ``model="alp"``).

Every expected value is independent of the code under test: the DMG4 pseudoscalar formula
written out here with its own photon-flux integral, exact inequalities between the pseudoscalar
and scalar brackets derived by hand, widths evaluated by hand at chosen points (τ = 1, 2, the
heavy-muon limit), the g-2 limits of the one-loop integral and invariants of the decay law.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from na64tools.physics import alp
from na64tools.physics.cross_section import MODELS, cross_section, dsigma_dx, dsigma_dx_dtheta
from na64tools.physics.gminus2 import G2_2021, G2_2025, delta_amu, g2_band, g2_upper_bound
from na64tools.physics.widths import width_scalar_mumu

# constants written out here (not imported from the library), with their sources
ALPHA_EM = 1 / 137.035999084  # CODATA 2018
M_MU = 0.1056583755  # GeV, PDG
M_E = 0.51099895e-3  # GeV, PDG
HBARC2_PB = 0.3893793721e9  # (hbar c)^2 in GeV^2 pb, PDG
HBARC_CM = 1.973269804e-14  # hbar c in GeV cm, PDG
PB_Z, PB_A = 82.0, 207.2  # PDG
E0 = 160.0  # GeV


# ------------------------------------------------------------------------------ production


def _dmg4_pseudoscalar(x: float, theta: float, m: float, g: float) -> float:
    """d2sigma/(dx dtheta) [pb/rad] of DMG4 DarkMuPhilicPseudoScalars::CrossSectionDSDXDTheta
    times its prefactor 2 eps^2 alpha^3 E0^2 (eps^2 alpha = g^2/4pi), Pb at 160 GeV, with the
    flux chi = Z^2 int_tmin^tmax (t - tmin)/t^2 G(t)^2 dt of Tsai's elastic form factor
    (t_a = (m_e Z^1/3/111)^2, t_d = 0.164 A^-2/3 GeV^2), t_max = E0^2, integrated here."""
    ta = (M_E * PB_Z ** (1 / 3) / 111.0) ** 2
    td = 0.164 * PB_A ** (-2 / 3)
    u = -x * E0**2 * theta**2 - m * m * (1 - x) / x - M_MU**2 * x
    tmin = u * u / (4 * E0**2 * (1 - x) ** 2)
    tmax = E0**2

    def f(lt: float) -> float:
        t = math.exp(lt)
        return t * (t - tmin) / t**2 * (t / (t + ta)) ** 2 * (td / (t + td)) ** 2

    chi = PB_Z**2 * integrate.quad(f, math.log(tmin), math.log(tmax), limit=400, epsrel=1e-11,
                                   points=[math.log(ta), math.log(td)])[0]
    amp = x * x / (1 - x) + 2 * m * m / u**2 * (u * x + m * m * (1 - x) + M_MU**2 * x * x)
    pref = 2 * (g * g / (4 * math.pi)) * ALPHA_EM**2 * E0**2
    return HBARC2_PB * pref * math.sin(theta) * math.sqrt(x * x - m * m / E0**2) * (1 - x) / u**2 \
        * amp * chi


@pytest.mark.parametrize("x, theta, m", [(0.9, 1e-3, 0.5), (0.6, 3e-4, 0.05), (0.99, 2e-3, 1.0)])
def test_double_differential_equals_the_dmg4_pseudoscalar_formula(x, theta, m):
    g = 1e-3
    got = dsigma_dx_dtheta(x, theta, m, g, model="alp", energy=E0, target="Pb")
    assert got == pytest.approx(_dmg4_pseudoscalar(x, theta, m, g), rel=2e-4)


def test_alp_is_a_model_of_the_cross_section_module():
    assert "alp" in MODELS
    assert MODELS[:3] == ("vector", "dark_photon", "scalar")  # the old ones unchanged, in order


@pytest.mark.parametrize("m", [0.3, 1.0, 5.0])
def test_pointwise_bracket_ratio_to_the_scalar_by_hand(m):
    """B_a/B_S at fixed (x, θ): the flux and kinematic factors are the same (t_max = E_0² for
    both), so the ratio of the double differentials is the ratio of the brackets, written here:
    B = x²/(1-x) - 2 M² x q/u² with M² = m² (ALP) or m² - 4m_μ² (scalar), q = x E_0² θ²."""
    x = np.array([0.55, 0.8, 0.95, 0.995])
    th = np.array([1e-4, 1e-3, 3e-3, 1e-2])
    xx, tt = np.meshgrid(x, th)
    q = xx * E0**2 * tt**2
    u = q + m * m * (1 - xx) / xx + M_MU**2 * xx
    b_a = xx**2 / (1 - xx) - 2 * m * m * xx * q / u**2
    b_s = xx**2 / (1 - xx) - 2 * (m * m - 4 * M_MU**2) * xx * q / u**2
    got = dsigma_dx_dtheta(xx, tt, m, 1.0, model="alp") / dsigma_dx_dtheta(xx, tt, m, 1.0,
                                                                             model="scalar")
    np.testing.assert_allclose(got, b_a / b_s, rtol=1e-10)


@pytest.mark.parametrize("m", [0.3, 1.0, 5.0, 20.0])
@pytest.mark.parametrize("x_min", [0.0, 0.5])
def test_total_cross_section_within_the_hand_bound_of_the_scalar(m, x_min):
    """B_S - B_a = 8 m_μ² x q/u² >= 0 and 2 m² x q/u² <= x²/(2(1-x)) (q/u² <= 1/(4 u_0),
    u_0 >= m²(1-x)/x), so B_S >= x²/(2(1-x)) and 0 <= (B_S - B_a)/B_S <= 4 m_μ²/m² at every
    (x, θ): 1 - 4 m_μ²/m² <= σ_a/σ_S < 1 (→ 1 for m >> m_μ)."""
    r = cross_section(m, 1e-3, model="alp", x_min=x_min) / cross_section(m, 1e-3, model="scalar",
                                                                         x_min=x_min)
    assert 1 - 4 * M_MU**2 / m**2 <= r < 1 - 1e-7
    # the differential too, at x where both are non-zero
    xs = np.array([0.6, 0.9, 0.99])
    rd = dsigma_dx(xs, m, 1.0, model="alp") / dsigma_dx(xs, m, 1.0, model="scalar")
    assert np.all((rd >= 1 - 4 * M_MU**2 / m**2) & (rd < 1))


def test_cross_section_scales_with_coupling_squared_and_sampler():
    s1 = cross_section(0.2, 1e-3, model="alp", x_min=0.5)
    assert cross_section(0.2, 2e-3, model="alp", x_min=0.5) == pytest.approx(4 * s1, rel=1e-12)
    smp = alp.make_sampler(0.2, 160.0, "Pb", 0.5)
    assert smp.sigma_at(1e-3) == pytest.approx(s1, rel=1e-12)
    x, th = smp.sample(2000, np.random.default_rng(7))
    assert x.shape == th.shape == (2000,)
    assert np.all((x >= 0.5) & (x < 1)) and np.all((th >= 0) & (th <= 0.3))
    x2, th2 = alp.make_sampler(0.2, 160.0, "Pb", 0.5).sample(2000, np.random.default_rng(7))
    assert np.array_equal(x, x2) and np.array_equal(th, th2)
    # the sampled x follows dσ/dx: mean of x against the quadrature of x dσ/dx
    grid = np.linspace(0.5, 1 - 1e-9, 20001)
    w = dsigma_dx(grid, 0.2, 1.0, model="alp")
    mean = np.trapezoid(grid * w, grid) / np.trapezoid(w, grid)
    x3, _ = smp.sample(200000, np.random.default_rng(1))
    assert x3.mean() == pytest.approx(mean, abs=3e-3)


# ------------------------------------------------------------------------------ decays


def test_width_mumu_by_hand_and_against_the_scalar():
    # g = 1e-3, m = 1 GeV: 1e-6 * 1/(8 pi) * sqrt(1 - 4 m_mu^2) = 3.8890e-8 GeV
    assert alp.width_mumu(1.0, 1e-3) == pytest.approx(
        1e-6 / (8 * math.pi) * math.sqrt(1 - 4 * M_MU**2), rel=1e-6)
    assert alp.width_mumu(1.0, 1e-3) == pytest.approx(3.8890e-8, rel=1e-4)
    # pseudoscalar: beta, scalar: beta^3 (widths.width_scalar_mumu, an independent function)
    for m in (0.25, 0.5, 2.0):
        beta2 = 1 - 4 * M_MU**2 / m**2
        assert alp.width_mumu(m, 1e-3) == pytest.approx(width_scalar_mumu(m, 1e-3) / beta2,
                                                        rel=1e-9)
    assert alp.width_mumu(0.2, 1e-3) == 0.0  # below 2 m_mu


def _gg_heavy(m, g):
    """alpha^2 g^2 m^3/(64 pi^3 m_mu^2): the tau -> infinity limit (Steinberger 1949)."""
    return ALPHA_EM**2 * g * g * m**3 / (64 * math.pi**3 * M_MU**2)


def test_width_gammagamma_at_hand_points():
    g = 1e-3
    # tau = 2 (m = sqrt(2) m_mu): f = arcsin(1/sqrt 2) = pi/4, tau f^2 = pi^2/8
    m2 = math.sqrt(2) * M_MU
    assert alp.width_gammagamma(m2, g) == pytest.approx(_gg_heavy(m2, g) * (math.pi**2 / 8) ** 2,
                                                        rel=1e-6)
    assert alp.width_gammagamma(m2, g, basis="derivative") == pytest.approx(
        _gg_heavy(m2, g) * (1 - math.pi**2 / 8) ** 2, rel=1e-6)
    # tau = 1 (m = 2 m_mu, just below): tau f^2 = pi^2/4
    m1 = 2 * M_MU * (1 - 1e-12)
    assert alp.width_gammagamma(m1, g) == pytest.approx(_gg_heavy(m1, g) * (math.pi**2 / 4) ** 2,
                                                        rel=1e-5)
    # heavy-muon limit: tau f^2 = 1 + 1/(3 tau) + ...; m = 1 MeV: tau = 4.5e4
    assert alp.width_gammagamma(1e-3, g) == pytest.approx(_gg_heavy(1e-3, g), rel=1e-4)
    # one number by hand: m = 0.1 GeV, tau = 4.4655, arcsin(0.47323) = 0.49289,
    # tau f^2 = 1.0849: Gamma = 5.3251e-5 * 1e-15 / 22.153 * 1.1769 = 2.829e-15 GeV
    assert alp.width_gammagamma(0.1, g) == pytest.approx(2.829e-15, rel=1e-3)


def test_width_gammagamma_light_muon_limits():
    """m_a >> m_mu: the Yukawa loop vanishes (helicity, |tau f^2| ~ tau ln^2(4/tau)/4 -> 0),
    the derivative one tends to the anomaly value 1."""
    m, g = 50.0, 1e-3
    assert alp.width_gammagamma(m, g, basis="derivative") == pytest.approx(_gg_heavy(m, g),
                                                                          rel=2e-3)
    assert alp.width_gammagamma(m, g) < 1e-5 * _gg_heavy(m, g)
    # continuity across tau = 1 (the two branches of f)
    lo = alp.width_gammagamma(2 * M_MU * (1 - 1e-9), g)
    hi = alp.width_gammagamma(2 * M_MU * (1 + 1e-9), g)
    assert hi == pytest.approx(lo, rel=1e-3)


def test_widths_scale_with_coupling_squared_and_reject_bad_input():
    assert alp.width_total(0.5, 2e-3) == pytest.approx(4 * alp.width_total(0.5, 1e-3), rel=1e-12)
    with pytest.raises(ValueError, match="mass"):
        alp.width_mumu(-1.0, 1e-3)
    with pytest.raises(ValueError, match="coupling"):
        alp.width_gammagamma(0.1, 0.0)
    with pytest.raises(ValueError, match="basis"):
        alp.width_gammagamma(0.1, 1e-3, basis="chiral")


# ------------------------------------------------------------------------------ invisible fraction


def test_br_invisible_default_is_the_dark_mode():
    assert alp.DEFAULT_MODE == "invisible"
    m = np.array([0.01, 0.1, 0.5, 2.0])
    np.testing.assert_array_equal(alp.br_invisible(m, 1e-3), np.ones(4))
    assert alp.br_invisible(0.5, 1e-2, br_dark=0.3) == 0.3
    with pytest.raises(ValueError, match="br_dark"):
        alp.br_invisible(0.5, 1e-3, br_dark=1.5)
    with pytest.raises(ValueError, match="mode"):
        alp.br_invisible(0.5, 1e-3, mode="visible")


def test_long_lived_fraction_by_hand():
    # m = 0.1 GeV (< 2 m_mu: only gamma gamma), g = 1e-3, E = 80 GeV, L = 1500 cm:
    # gamma beta c tau = sqrt(80^2 - 0.01)/0.1 * 1.9733e-14 / 2.829e-15 = 5580 cm
    ell = math.sqrt(80.0**2 - 0.01) / 0.1 * HBARC_CM / 2.829e-15
    assert alp.decay_length_cm(0.1, 1e-3) == pytest.approx(ell, rel=1e-3)
    p = alp.br_invisible(0.1, 1e-3, mode="long-lived")
    assert p == pytest.approx(math.exp(-1500.0 / ell), rel=1e-3)
    assert 0.75 < p < 0.78
    # above 2 m_mu the muon width makes it prompt (decay length ~ 1e-4 cm): nothing invisible
    assert alp.decay_length_cm(0.5, 1e-3) < 1e-3
    assert alp.br_invisible(0.5, 1e-3, mode="long-lived") == 0.0


def test_long_lived_invariants():
    m = 0.08
    p1 = alp.decay_beyond_probability(m, 2e-3, length_cm=700.0)
    # twice the length: P squared; twice the coupling: the exponent times 4
    assert alp.decay_beyond_probability(m, 2e-3, length_cm=1400.0) == pytest.approx(p1**2,
                                                                                    rel=1e-12)
    assert alp.decay_beyond_probability(m, 4e-3, length_cm=700.0) == pytest.approx(p1**4,
                                                                                   rel=1e-12)
    # larger energy, longer decay length, more invisible
    assert alp.decay_beyond_probability(m, 2e-3, energy=160.0) > alp.decay_beyond_probability(
        m, 2e-3, energy=80.0)
    # derivative basis: the photon loop cancels at tau >> 1, far longer lived
    assert alp.decay_length_cm(m, 1e-3, basis="derivative") > 10 * alp.decay_length_cm(m, 1e-3)


def test_long_lived_coupling_interval_solves_the_yield_equation():
    m, n_ref, g_ref, s_up = 0.1, 400.0, 1e-3, 2.3
    g_lo, g_hi = alp.long_lived_coupling_interval(m, n_ref, g_ref, s_up)
    assert g_lo < g_hi

    def n(g):
        return n_ref * (g / g_ref) ** 2 * alp.br_invisible(m, g, mode="long-lived")

    assert n(g_lo) == pytest.approx(s_up, rel=1e-9)
    assert n(g_hi) == pytest.approx(s_up, rel=1e-9)
    assert n(math.sqrt(g_lo * g_hi)) > s_up
    # a weak experiment excludes nothing
    lo, hi = alp.long_lived_coupling_interval(m, 1e-3, g_ref, s_up)
    assert math.isnan(lo) and math.isnan(hi)


# ------------------------------------------------------------------------------ g-2


def test_delta_amu_pseudoscalar_limits_and_sign():
    g = 1e-3
    # m << m_mu: -g^2/(16 pi^2)
    assert delta_amu(1e-7, g, model="alp") == pytest.approx(-g * g / (16 * math.pi**2), rel=1e-6)
    # m >> m_mu: -(g^2/8pi^2)(m_mu^2/m^2)(ln(m^2/m_mu^2) - 11/6), r = 1e6: corrections ~ ln r/r
    m = 1000 * M_MU
    r = 1e6
    assert delta_amu(m, g, model="alp") == pytest.approx(
        -g * g / (8 * math.pi**2 * r) * (math.log(r) - 11 / 6), rel=1e-4)
    assert np.all(np.asarray(delta_amu([0.01, 0.1, 1.0], g, model="alp")) < 0)


def test_g2_bound_for_a_negative_contribution():
    m = np.array([0.01, 0.1, 1.0])
    g = g2_upper_bound(m, G2_2025, "alp")
    # Delta a(m, g_up) = Delta - 2 sigma = 38.5e-11 - 2 * 63.7e-11 = -88.9e-11
    np.testing.assert_allclose(delta_amu(m, g, model="alp"), -88.9e-11, rtol=2e-3)
    with pytest.raises(ValueError, match="negative"):
        g2_band(m, G2_2021, "alp")


# ------------------------------------------------------------------------------ interface


def test_model_info_interface():
    info = alp.MODEL_INFO
    assert set(info) >= {"name", "label", "coupling", "coupling_label", "coupling_unit", "pdgid",
                         "reference", "description"}
    assert info["name"] == "alp" and info["coupling_unit"] == ""
    assert isinstance(info["pdgid"], int)
    assert "invisible" in info["description"]
