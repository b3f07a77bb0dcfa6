"""Running the calibration routine (na64tools.sim.calibrate) on a small sample: its measured
backgrounds lie in the published table (PRL 132 (2024) 211803), and a setup with deliberately
wrong rate parameters is brought back to the shipped (calibrated) values."""

import dataclasses

import pytest

from na64tools.config import Quantity, default_setup
from na64tools.sim.calibrate import background_by_source, calibrated_parameters

SETUP = default_setup()
EVENTS = 300_000
TARGETS = {"misreconstruction": 0.05, "decays_in_flight": 0.010, "non_hermeticity": 0.004}


def _q(v, like):
    return Quantity(v, like.unit, "test")


@pytest.fixture(scope="module")
def measured():
    return background_by_source(SETUP, events=EVENTS, seed=31)


def test_calibration_output_matches_the_published_table(measured):
    b = SETUP.backgrounds
    n, err, _ = measured["misreconstruction"]
    assert abs(n - b.misreconstruction.value) < b.misreconstruction.uncertainty
    n, err, _ = measured["decays_in_flight"]
    assert abs(n - b.decays_in_flight.value) < b.decays_in_flight.uncertainty + 3 * err
    n, err, _ = measured["non_hermeticity"]
    assert 0 < n < b.non_hermeticity.value
    n, err, _ = measured["total"]
    assert abs(n - b.total.value) < b.total.uncertainty
    # the shipped parameters are the calibration's fixed point (within the sample's errors)
    new = calibrated_parameters(SETUP, measured, TARGETS)
    assert new["ms2.tail_fraction"] == pytest.approx(float(SETUP.ms2.tail_fraction), rel=0.1)
    assert new["beam.kaon_fraction"] == pytest.approx(float(SETUP.beam.kaon_fraction), rel=0.05)
    assert new["hcal.gap"] == pytest.approx(float(SETUP.hcal.gap), rel=0.35)


def test_calibration_recovers_parameters_from_a_wrong_start():
    """Start 3x off in each rate parameter; one calibration step must come back to the shipped
    values (it fails if e.g. the hcal.gap formula or the kaon scaling is broken)."""
    s = SETUP
    wrong = s.replace(
        ms2=dataclasses.replace(s.ms2, tail_fraction=_q(3 * s.ms2.tail_fraction, s.ms2.tail_fraction)),
        beam=dataclasses.replace(s.beam, kaon_fraction=_q(s.beam.kaon_fraction / 3, s.beam.kaon_fraction)),
        hcal=dataclasses.replace(s.hcal, gap=_q(3 * s.hcal.gap, s.hcal.gap)),
    )
    m = background_by_source(wrong, events=EVENTS, seed=32)
    assert m["misreconstruction"][0] > 2 * TARGETS["misreconstruction"]  # really off
    new = calibrated_parameters(wrong, m, TARGETS)
    assert new["ms2.tail_fraction"] == pytest.approx(float(s.ms2.tail_fraction), rel=0.15)
    assert new["beam.kaon_fraction"] == pytest.approx(float(s.beam.kaon_fraction), rel=0.05)
    assert new["hcal.gap"] == pytest.approx(float(s.hcal.gap), rel=0.35)
