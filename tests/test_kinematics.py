"""The kinematic limit of mu N -> mu N X: the true two-body threshold, checked by hand."""

import math

import pytest

from na64tools.physics.cross_section import cross_section, mass_threshold, nuclear_mass, x_range


def _threshold_by_hand(energy, a_molar):
    """sqrt(s) - M_N - m_mu, nucleus at rest, M_N = A x 0.9314941 GeV (CODATA u), m_mu = 0.1056584 GeV."""
    mn = a_molar * 0.9314941
    mmu = 0.1056584
    s = mn**2 + mmu**2 + 2 * energy * mn
    return math.sqrt(s) - mn - mmu


def test_threshold_matches_hand_calculation():
    # Pb: M_N = 207.2 x 0.93149 = 193.0 GeV; sqrt(s) = sqrt(193.0^2 + 2 x 160 x 193.0) = 314.66 GeV
    assert nuclear_mass("Pb") == pytest.approx(193.0, abs=0.05)
    assert mass_threshold(160.0, "Pb") == pytest.approx(121.55, abs=0.01)
    assert mass_threshold(160.0, "Pb") == pytest.approx(_threshold_by_hand(160.0, 207.2), rel=1e-6)
    assert mass_threshold(100.0, "Fe") == pytest.approx(_threshold_by_hand(100.0, 55.845), rel=1e-6)
    # far above the nucleus mass the threshold tends to sqrt(2 E M_N); far below to E (minus m_mu)
    assert mass_threshold(1.0, "Pb") == pytest.approx(1.0 - 0.1057, abs=0.01)


@pytest.mark.parametrize("mass", [1.0, 100.0, 121.0, 121.5])
def test_masses_below_threshold_accepted(mass):
    lo, hi = x_range(mass, energy=160.0, target="Pb")
    assert lo < hi
    assert cross_section(mass, 1e-4, energy=160.0, target="Pb") > 0


@pytest.mark.parametrize("mass", [121.6, 122.0, 130.0, 148.0])
def test_masses_above_threshold_rejected_with_the_formula(mass):
    with pytest.raises(ValueError) as err:
        cross_section(mass, 1e-4, energy=160.0, target="Pb")
    msg = str(err.value)
    assert "above the kinematic limit" in msg
    assert "sqrt(s) - M_N - m_mu = 121.6 GeV" in msg
    assert "s = M_N^2 + m_mu^2 + 2 E M_N" in msg
    assert "193 GeV" in msg
    assert "8 E^3 A" not in msg


def test_simulation_plan_rejects_above_threshold():
    from na64tools.config import default_setup
    from na64tools.sim.plan import make_plan

    with pytest.raises(ValueError, match=r"mass: mass 130(\.0)? GeV is above the kinematic limit"):
        make_plan("signal", setup=default_setup(), mass=130.0, events=10)
