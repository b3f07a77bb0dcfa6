"""Widths / invisible branching fractions, (g-2)_mu contributions and relic-target helpers."""

from __future__ import annotations

import numpy as np
import pytest

import na64tools.physics as phys
from na64tools.physics import (
    ALPHA,
    G2_2021,
    G2_2025,
    M_MU,
    M_TAU,
    br_invisible,
    delta_amu,
    g2_band,
    g2_upper_bound,
    width_dark,
    width_scalar_mumu,
    width_zprime,
    widths_lmutau,
    y_from_coupling,
    y_thermal,
)
from na64tools.physics.relic import sigma_v_coefficients
from na64tools.physics.widths import width_dark_photon_leptons

# --------------------------------------------------------------------------- constants


def test_constants():
    assert 1 / ALPHA == pytest.approx(137.036, abs=1e-3)
    assert M_MU == pytest.approx(0.1056583745, rel=1e-7)  # DMG4 value, PDG 2016
    assert phys.GEV2_TO_PB == pytest.approx(3.894e8, rel=1e-3)
    assert M_TAU == pytest.approx(1.777, abs=1e-3)


def test_eloss_reexport_is_guarded():
    # whether or not eloss.py exists yet, the package imports; when it does, the names are there
    try:
        import na64tools.physics.eloss  # noqa: F401
    except ModuleNotFoundError:
        assert "dsigma_dv_brems" not in phys.__all__
    else:
        for name in ("dsigma_dv_brems", "dsigma_dv_pair", "dsigma_dv_photonuclear", "b_value"):
            assert name in phys.__all__ and callable(getattr(phys, name))
    assert callable(phys.material) and "Pb" in phys.MATERIALS


# --------------------------------------------------------------------------- widths


def test_lmutau_widths_formulas():
    g, m = 1e-3, 1.0
    nu = g * g * m / (24 * np.pi)
    assert width_zprime(m, g, "nu_mu") == pytest.approx(nu, rel=1e-14)
    assert width_zprime(m, g, "nunu") == pytest.approx(2 * nu, rel=1e-14)
    r = (M_MU / m) ** 2
    assert width_zprime(m, g, "mumu") == pytest.approx(
        g * g * m / (12 * np.pi) * (1 + 2 * r) * np.sqrt(1 - 4 * r), rel=1e-14
    )
    assert width_zprime(m, g, "tautau") == 0.0  # below 2 m_tau
    w = widths_lmutau(m, g)
    assert set(w) == {"nunu", "mumu", "tautau"}
    assert sum(w.values()) == pytest.approx(width_zprime(m, g, "total"), rel=1e-14)
    # vectorised over mass
    arr = width_zprime(np.array([0.1, 1.0, 5.0]), g, "total")
    assert arr.shape == (3,) and np.all(np.diff(arr) > 0)


def test_br_invisible_limits_lmutau():
    g = 1e-3
    # below 2 m_mu only neutrinos
    assert br_invisible(0.2, g) == 1.0
    # far above 2 m_mu, below 2 m_tau: nu nu (g^2 m/12pi) = mu mu -> 1/2
    assert br_invisible(3.0, g) == pytest.approx(0.5, abs=2e-3)
    # far above 2 m_tau: nu nu : mu mu : tau tau = 1 : 1 : 1 -> 1/3
    assert br_invisible(1e3, g) == pytest.approx(1 / 3, rel=1e-5)
    # independent of g
    assert br_invisible(0.5, 1e-5) == pytest.approx(br_invisible(0.5, 0.1), rel=1e-14)
    # a dark channel with alpha_D = 0.1 >> g^2/4pi makes it invisible
    assert br_invisible(0.5, 1e-4, m_chi=0.1) == pytest.approx(1.0, abs=1e-6)


def test_dark_widths_and_dark_photon_br():
    a_d, m = 0.1, 0.3
    assert width_dark(m, 0.0, a_d) == pytest.approx(a_d * m / 3, rel=1e-14)
    assert width_dark(m, 0.2, a_d) == 0.0  # closed: 2 m_chi > m
    assert width_dark(m, 0.1, a_d) == pytest.approx(
        a_d * m / 3 * (1 + 2 / 9) * np.sqrt(1 - 4 / 9), rel=1e-14
    )
    # A' -> chi chi with alpha_D = 0.1 >> eps^2 alpha: BR = 1 up to eps^2 alpha / alpha_D
    br = br_invisible(np.array([0.01, 0.1, 1.0]), 1e-3, "dark_photon")
    np.testing.assert_allclose(br, 1.0, atol=1e-6)
    gamma_vis = width_dark_photon_leptons(1.0, 1e-3)
    assert gamma_vis == pytest.approx(
        1e-6 * ALPHA / 3 * (1 + (1 + 2 * (M_MU) ** 2) * np.sqrt(1 - 4 * M_MU**2)), rel=1e-5
    )


def test_scalar_width_and_br():
    g, m = 1e-3, 1.0
    r = (M_MU / m) ** 2
    assert width_scalar_mumu(m, g) == pytest.approx(
        g * g * m / (8 * np.pi) * (1 - 4 * r) ** 1.5, rel=1e-14
    )
    assert width_scalar_mumu(0.2, g) == 0.0
    assert br_invisible(0.1, g, "scalar") == 1.0
    assert br_invisible(0.5, g, "scalar") == 0.0
    gi = width_scalar_mumu(0.5, g)
    assert br_invisible(0.5, g, "scalar", scalar_width_invisible=gi) == pytest.approx(
        0.5, rel=1e-14
    )


def test_widths_bad_input():
    with pytest.raises(ValueError, match="ee"):
        width_zprime(1.0, 1e-3, "ee")
    with pytest.raises(ValueError, match="-1"):
        width_zprime(-1.0, 1e-3, "total")
    with pytest.raises(ValueError, match="axial"):
        br_invisible(1.0, 1e-3, "axial")
    with pytest.raises(ValueError, match="0"):
        br_invisible(1.0, 0.0)


# --------------------------------------------------------------------------- g-2


def test_delta_amu_light_limits():
    g = 1e-3
    assert delta_amu(1e-7, g) == pytest.approx(g * g / (8 * np.pi**2), rel=1e-5)
    assert delta_amu(1e-7, g, model="scalar") == pytest.approx(
        3 * g * g / (16 * np.pi**2), rel=1e-5
    )


def test_delta_amu_heavy_limits():
    g, m = 1e-3, 50.0
    r = (M_MU / m) ** 2
    assert delta_amu(m, g) == pytest.approx(g * g * r / (12 * np.pi**2), rel=1e-3)
    assert delta_amu(m, g, model="scalar") == pytest.approx(
        g * g * r / (8 * np.pi**2) * (np.log(1 / r) - 7 / 6), rel=1e-3
    )


def test_delta_amu_vectorised_monotonic_and_dark_photon():
    masses = np.geomspace(1e-3, 10, 30)
    d = delta_amu(masses, 1e-3)
    assert d.shape == (30,) and np.all(np.diff(d) < 0)
    eps = 1e-3
    assert delta_amu(0.05, eps, model="dark_photon") == pytest.approx(
        delta_amu(0.05, eps * np.sqrt(4 * np.pi * ALPHA)), rel=1e-14
    )
    assert delta_amu(0.1, 2e-3) == pytest.approx(4 * delta_amu(0.1, 1e-3), rel=1e-14)


def test_g2_references():
    assert G2_2021.delta == pytest.approx(251e-11) and G2_2021.sigma == pytest.approx(59e-11)
    assert G2_2025.delta == pytest.approx(38.5e-11, rel=1e-6)
    assert G2_2025.sigma == pytest.approx(63.67e-11, rel=1e-3)
    assert G2_2021.kind == "band" and G2_2025.kind == "upper_bound"
    assert "2506.03069" in G2_2025.source and "2505.21476" in G2_2025.source


def test_g2_band_and_bound():
    m = np.array([0.01, 0.1, 1.0])
    lo, hi = g2_band(m, G2_2021, "vector", nsigma=2)
    np.testing.assert_allclose(delta_amu(m, lo), G2_2021.delta - 2 * G2_2021.sigma, rtol=1e-12)
    np.testing.assert_allclose(delta_amu(m, hi), G2_2021.delta + 2 * G2_2021.sigma, rtol=1e-12)
    # the well-known L_mu-L_tau explanation: g ~ 4-6e-4 at 10 MeV
    assert 3e-4 < lo[0] < hi[0] < 7e-4
    up = g2_upper_bound(m, G2_2025, "vector")
    np.testing.assert_allclose(delta_amu(m, up), G2_2025.delta + 2 * G2_2025.sigma, rtol=1e-12)
    # 2025 has no lower edge at 2 sigma
    lo25, _ = g2_band(m, G2_2025)
    np.testing.assert_array_equal(lo25, 0.0)


# --------------------------------------------------------------------------- relic


def test_y_from_coupling():
    assert y_from_coupling(1e-3, 0.1) == pytest.approx(1e-6 * 0.1 / 81, rel=1e-14)
    assert y_from_coupling(1e-3, 0.1, portal="lmutau") == pytest.approx(
        1e-6 / (4 * np.pi * ALPHA) * 0.1 / 81, rel=1e-14
    )
    arr = y_from_coupling(np.array([1e-4, 1e-3]), np.array([0.01, 0.1]), alpha_D=0.5, ratio=2.5)
    np.testing.assert_allclose(arr, np.array([1e-8, 1e-6]) * 0.5 / 2.5**4, rtol=1e-14)
    with pytest.raises(ValueError, match="lmu_tau"):
        y_from_coupling(1e-3, 0.1, portal="lmu_tau")


def test_y_thermal_reproduces_relic_density_and_sigma_v():
    m = np.array([0.003, 0.03, 0.3])
    y = y_thermal(m, dm="dirac")
    a, _ = sigma_v_coefficients(m, y, dm="dirac")
    sv_cm3 = a * phys.GEV2_TO_PB * 1e-36 * 2.99792458e10  # GeV^-2 -> cm^2 -> cm^3/s
    # a Dirac relic needs twice the 2.2-5.2e-26 cm^3/s of a self-conjugate one (Steigman,
    # Dasgupta, Beacom PRD 86 (2012) 023506; closer comparison in tests/test_relic.py)
    assert np.all((sv_cm3 > 5e-26) & (sv_cm3 < 1.5e-25))
    ys = y_thermal(m, dm="scalar")
    assert np.all(ys > y) and np.all(np.diff(ys) > 0)
    assert y_thermal(0.1) == pytest.approx(float(y_thermal(np.array([0.1]))[0]), rel=1e-12)
    # y independent of the overall sigma v normalisation: doubling y halves Omega
    from na64tools.physics.relic import _omega_h2

    om1 = _omega_h2(m, ys, "scalar", "dark_photon", 3.0)
    np.testing.assert_allclose(om1, 0.12, rtol=1e-8)


def test_y_thermal_bad_input():
    with pytest.raises(ValueError, match="majorana"):
        y_thermal(0.1, dm="majorana")
    with pytest.raises(ValueError, match="1.5"):
        y_thermal(0.1, ratio=1.5)
    with pytest.raises(ValueError, match="-0.1"):
        y_thermal(-0.1)
