"""LFV conversion in flight (na64tools.physics.lfv): checks against hand calculations and
published inputs. Every expected number below is typed from its source or derived by hand in the
comment next to it, never computed by the function under test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from na64tools.physics import lfv

M_TAU = 1.77693  # GeV, PDG 2024
M_MU = 0.1056584  # GeV
M_N = 0.938919  # GeV, (m_p + m_n)/2
G_F = 1.1663788e-5  # GeV^-2


# --- branching ratio and model info ------------------------------------------------------------
def test_br_is_pdg_tau_to_mu_nu_nu():
    # PDG 2024: BR(tau -> mu nu nu) = (17.39 +- 0.04) %
    assert lfv.br_invisible_tau(M_TAU, 1e-3) == pytest.approx(0.1739, abs=1e-6)
    assert lfv.br_invisible(M_TAU, 5.0) == pytest.approx(0.1739, abs=1e-6)
    assert lfv.br_invisible_e(0.000511, 1e-3) == 1.0


def test_mass_must_be_the_lepton_mass():
    with pytest.raises(ValueError, match="no free mass"):
        lfv.br_invisible_tau(0.5, 1e-3)
    with pytest.raises(ValueError, match="no free mass"):
        lfv.make_sampler(1.0, 160.0, "Pb", 0.0)
    with pytest.raises(ValueError, match="positive G"):
        lfv.br_invisible_tau(M_TAU, -1.0)


def test_model_info_keys():
    keys = {"name", "label", "coupling", "coupling_label", "coupling_unit", "pdgid", "reference",
            "description"}
    for name, (mk, br, info) in lfv.MODELS.items():
        assert callable(mk) and callable(br)
        assert set(info) == keys and info["name"] == name
        assert info["coupling_unit"] == "GeV^-2"
    assert lfv.MODEL_INFO["pdgid"] == 15 and lfv.MODEL_INFO_E["pdgid"] == 11


# --- Michel spectrum -----------------------------------------------------------------------------
def test_michel_means_by_hand():
    # unpolarised: <z> = int z (1/3)(1-z)(5+5z-4z^2) dz = (1/3)(5/2 - 3 + 4/5) ... = 7/20
    # V-A (P = -1): f = (4/3)(1 - z^3), <z> = (4/3)(1/2 - 1/5) = 2/5
    z = np.linspace(0.0, 1.0, 20001)
    for pol, mean in ((0.0, 0.35), (-1.0, 0.40), (1.0, 0.30)):
        f = lfv.michel_pdf(z, pol)
        assert np.trapezoid(f, z) == pytest.approx(1.0, abs=1e-6)
        assert np.trapezoid(z * f, z) == pytest.approx(mean, abs=1e-6)
    # CDF at 1/2 for P = -1: (4/3)(1/2 - 1/64) = 0.645833
    assert float(lfv.michel_cdf(0.5, -1.0)) == pytest.approx(0.6458333, abs=1e-6)


def test_sampled_decay_muon_follows_boosted_michel():
    rng = np.random.default_rng(7)
    for pol, mean in ((-1.0, 0.40), (0.0, 0.35)):
        s = lfv.LfvSampler("lfv_tau", 160.0, "Pb", 0.0, recoil_max=0.0, polarization=pol)
        k = s.sample_kinematics(40000, rng)
        z = k["e_mu"] / k["e_lepton"]
        assert z.mean() == pytest.approx(mean, abs=0.005)


# --- kinematics ----------------------------------------------------------------------------------
def test_tau_threshold_on_a_nucleon():
    # s_min = (m_tau + M)^2 = M^2 + m_mu^2 + 2 M E  ->  E_th = 3.4524 GeV
    e_th = ((M_TAU + M_N) ** 2 - M_N**2 - M_MU**2) / (2 * M_N)
    assert e_th == pytest.approx(3.4524, abs=1e-3)
    assert lfv.threshold_energy(lfv.M_TAU) == pytest.approx(e_th, rel=1e-4)
    assert lfv.dis_sigma(e_th * 0.98, G_F) == 0.0
    assert lfv.dis_sigma(e_th * 1.5, G_F) > 0.0


def test_muon_decay_in_flight_by_hand():
    # P = L m / (p c tau) = 2000 cm * 0.10566 / (160 * 65864 cm) = 2.005e-5
    assert lfv.muon_decay_probability(160.0, 2000.0) == pytest.approx(2.005e-5, rel=1e-3)


def test_scale_convention():
    # Lambda = (sqrt2/G)^(1/2): G = G_F -> sqrt(1.41421/1.16638e-5) = 348.2 GeV
    assert lfv.scale_from_coupling(G_F) == pytest.approx(348.2, abs=0.1)
    assert lfv.coupling_from_scale(348.2) == pytest.approx(G_F, rel=1e-3)


# --- DIS cross-section ---------------------------------------------------------------------------
def test_massless_limit_is_the_measured_neutrino_cc_cross_section():
    # same V-A structure with u and d both coupling: a fully left-handed mu- (helicity -1) has
    # sigma(mu- N -> e X; G_F) = 2 sigma(nu N); unpolarised, half of it: 1 x sigma(nu N).
    # PDG: sigma_nu/E = 0.677e-38, sigma_nubar/E = 0.334e-38 cm^2/GeV (mu+ is nubar-like and
    # couples when right-handed)
    # (compared in units of 1e-38 cm^2/GeV: pytest.approx's absolute 1e-12 would hide anything)
    for charge, ref in ((-1, 0.677), (1, 0.334)):
        s = lfv.dis_sigma(100.0, G_F, lepton="lfv_e", charge=charge) * 1e-36 / 100.0 * 1e38
        assert s == pytest.approx(ref, rel=0.01)
        full = lfv.dis_sigma(100.0, G_F, lepton="lfv_e", charge=charge, beam_helicity=charge)
        assert full * 1e-36 / 100.0 * 1e38 == pytest.approx(2 * ref, rel=0.01)
        assert lfv.dis_sigma(100.0, G_F, lepton="lfv_e", charge=charge, beam_helicity=-charge) == 0.0


def test_cross_section_scales_with_energy_and_coupling_squared():
    s1 = lfv.dis_sigma(80.0, G_F, lepton="lfv_e")
    assert lfv.dis_sigma(160.0, G_F, lepton="lfv_e") == pytest.approx(2 * s1, rel=1e-3)
    assert lfv.dis_sigma(80.0, 3 * G_F, lepton="lfv_e") == pytest.approx(9 * s1, rel=1e-9)
    # per nucleus = A x per nucleon (Pb: 207.2)
    assert lfv.dis_sigma(80.0, G_F, lepton="lfv_e", target="Pb") == pytest.approx(207.2 * s1)


def test_valence_quark_number_from_the_neutrino_normalisation():
    # the nu/nubar data fix P_q = 0.402, P_qbar = 0.077 (hand: Q = (9a-3b)/8 with a, b the
    # measured sigma/E over 2 G_F^2 M / pi); the valence shape then counts ~3 quarks
    pq, pqb = lfv.quark_momentum_fractions()
    assert pq == pytest.approx(0.402, abs=0.002) and pqb == pytest.approx(0.077, abs=0.002)
    assert 2.6 < lfv.valence_number() < 3.3


def test_y_shape_by_hand():
    # mu- (massless lepton): dsigma/dy = c [P_q + P_qbar (1-y)^2] ->
    # ratio y=1 : y=0 = P_q/(P_q + P_qbar) = 0.402/0.479 = 0.839 (y = 0.999: the electron mass
    # closes y = 1 exactly)
    d = lfv.dis_dsigma_dy(np.array([0.0, 0.999]), 160.0, G_F, lepton="lfv_e", charge=-1)
    assert d[1] / d[0] == pytest.approx(0.839, abs=0.003)
    # mu+: the roles swap -> ratio P_qbar/(P_q + P_qbar) = 0.161
    d = lfv.dis_dsigma_dy(np.array([0.0, 0.999]), 160.0, G_F, lepton="lfv_e", charge=1)
    assert d[1] / d[0] == pytest.approx(0.161, abs=0.003)
    # and dsigma/dy integrates to sigma
    y = np.linspace(0.0, 1.0, 4001)
    d = lfv.dis_dsigma_dy(y, 160.0, G_F, lepton="lfv_tau")
    assert np.trapezoid(d, y) == pytest.approx(lfv.dis_sigma(160.0, G_F), rel=2e-3)


def test_tau_mass_suppression():
    # far above threshold the tau mass does not matter; at 160 GeV it costs 15-35 %
    hi_t, hi_e = lfv.dis_sigma(1e5, G_F), lfv.dis_sigma(1e5, G_F, lepton="lfv_e")
    assert hi_t / hi_e == pytest.approx(1.0, abs=0.01)
    r = lfv.dis_sigma(160.0, G_F) / lfv.dis_sigma(160.0, G_F, lepton="lfv_e")
    assert 0.65 < r < 0.85
    # and the tau is never produced with y > 1 - m_tau^2/(2 M E) (x <= 1)
    y_end = 1 - M_TAU**2 / (2 * M_N * 160.0)
    assert lfv.dis_dsigma_dy(np.array([y_end + 1e-3]), 160.0, G_F)[0] == 0.0


def test_small_recoil_fraction_by_hand():
    # massless, mu-: sigma(y < Y)/sigma = (P_q Y + P_qbar (1 - (1-Y)^3)/3)/(P_q + P_qbar/3)
    pq, pqb = 0.402, 0.077
    y_max = 1.0 / 160.0
    ref = (pq * y_max + pqb * (1 - (1 - y_max) ** 3) / 3) / (pq + pqb / 3)
    got = lfv.acceptance_small_recoil(y_max, 160.0, lepton="lfv_e", charge=-1)
    assert got == pytest.approx(ref, rel=0.01)
    # the recoil cut of the 2022 setup: (1.0 - 0.35)/0.6 GeV
    assert lfv.max_invisible_recoil() == pytest.approx(1.0833, abs=1e-3)


# --- coherent -----------------------------------------------------------------------------------
def test_coherent_against_closed_form():
    # F^2 = exp(-b|t|): sigma = G^2 C^2/(4 pi) exp(-b t_min)/b, C = 3 A, t_min = ((m^2-m_mu^2)/2E)^2
    b, g, e = 500.0, 1e-5, 160.0
    c = 3 * 207.2
    t_min = ((M_TAU**2 - M_MU**2) / (2 * e)) ** 2
    ref = g**2 * c**2 / (4 * math.pi) * math.exp(-b * t_min) / b * 0.3893794e9  # pb
    got = lfv.coherent_sigma(e, g, target="Pb", form_factor=lambda t: np.exp(-0.5 * b * t))
    assert got == pytest.approx(ref, rel=2e-3)
    # a mu+ of helicity +1 couples fully: twice the unpolarised rate; helicity -1: nothing
    ff = lambda t: np.exp(-0.5 * b * t)  # noqa: E731
    assert lfv.coherent_sigma(e, g, form_factor=ff, beam_helicity=1.0) == pytest.approx(2 * ref, rel=2e-3)
    assert lfv.coherent_sigma(e, g, form_factor=ff, beam_helicity=-1.0) == 0.0


def test_helm_form_factor():
    assert float(lfv.helm_form_factor(0.0, 207.2)) == pytest.approx(1.0)
    # Pb: c = 1.23*207.2^(1/3) - 0.6 = 6.679 fm, R_n = sqrt(c^2 + 7/3 pi^2 0.52^2 - 5*0.81)
    # = 6.840 fm; first zero at q R_n = 4.4934 -> q = 0.1296 GeV
    assert abs(float(lfv.helm_form_factor(0.1296, 207.2))) < 3e-3


# --- sampler -------------------------------------------------------------------------------------
def test_sampler_interface_and_x_min():
    s = lfv.make_sampler(M_TAU, 160.0, "Pb", 0.0)
    assert s.sigma_at(2e-4) == pytest.approx(4 * s.sigma_at(1e-4), rel=1e-12)
    assert s.sigma == pytest.approx(s.sigma_coherent + s.sigma_dis_kept, rel=1e-3)
    # coherent only: sigma(x > 1/2)/sigma = P(z < 1/2) = 0.6458 (hand, P = -1)
    c0 = lfv.make_sampler(M_TAU, 160.0, "Pb", 0.0, recoil_max=0.0)
    c5 = lfv.make_sampler(M_TAU, 160.0, "Pb", 0.5, recoil_max=0.0)
    assert c5.sigma / c0.sigma == pytest.approx(0.6458, abs=2e-3)
    x, th = c5.sample(5000, np.random.default_rng(3))
    assert x.shape == th.shape == (5000,) and x.min() > 0.5 and np.all(th >= 0)


def test_sampler_deterministic_and_missing_pt_is_the_muon_pt():
    s = lfv.make_sampler(M_TAU, 160.0, "Pb", 0.0)
    a = s.sample_kinematics(3000, np.random.default_rng(11))
    b = s.sample_kinematics(3000, np.random.default_rng(11))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # p_T of the muon = p_T of p0 - p_mu; |p_miss| ~ x E0
    p_mu = np.sqrt(a["e_mu"] ** 2 - M_MU**2)
    pt_mu = p_mu * np.sin(a["theta_mu"])
    pt_miss = a["x"] * 160.0 * np.sin(a["theta"])
    np.testing.assert_allclose(pt_miss, pt_mu, rtol=2e-2, atol=1e-4)
    # channel mix follows the cross-sections
    frac_coh = s.sigma_coherent / (s.sigma_coherent + s.sigma_dis_kept)
    assert np.mean(a["channel"] == 0) == pytest.approx(frac_coh, abs=0.03)
    assert np.all(a["recoil"][a["channel"] == 0] == 0.0)
    assert a["recoil"].max() <= s.recoil_max + 1e-9


# --- lfv_e selection and backgrounds --------------------------------------------------------------
def test_lfv_e_decay_in_flight_background_by_hand():
    # N = MOT * P_decay * P(z > 0.9); unpolarised: 1 - F(0.9) = 1 - (4.5 - 2.187 + 0.6561)/3
    # = 0.010300
    bkg = lfv.lfv_e_backgrounds(1.98e10, 160.0, decay_length=2000.0, z_min=0.9)
    assert bkg["decay_probability"] == pytest.approx(2.005e-5, rel=1e-3)
    assert bkg["muon_decay_in_flight"] == pytest.approx(1.98e10 * 2.005e-5 * 0.010300, rel=2e-3)
    assert bkg["beam_electrons"] is None and bkg["hadrons"] is None
    # doubling the exposure doubles it
    assert lfv.lfv_e_backgrounds(3.96e10)["muon_decay_in_flight"] == pytest.approx(
        2 * bkg["muon_decay_in_flight"])


def test_lfv_e_selection_efficiency_by_hand():
    # sigma_rel = hypot(0.10/sqrt(160), 0.038) = 0.03880; P(ratio > 0.9) = Phi(0.1/0.0388) = 0.9950
    eff = lfv.lfv_e_selection_efficiency(160.0, z_min=0.9)
    assert eff == pytest.approx(0.98 * 0.9950, abs=1e-3)
    assert lfv.lfv_e_selection_efficiency(channel="dis") < 0.05 * eff


def test_bad_input_messages():
    with pytest.raises(ValueError, match="x_min"):
        lfv.make_sampler(M_TAU, 160.0, "Pb", 1.2)
    with pytest.raises(ValueError, match="unknown target"):
        lfv.make_sampler(M_TAU, 160.0, "Xx", 0.0)
    with pytest.raises(ValueError, match="charge"):
        lfv.dis_sigma(160.0, G_F, charge=0)
    with pytest.raises(ValueError, match="energy"):
        lfv.coherent_sigma(-1.0, G_F)
