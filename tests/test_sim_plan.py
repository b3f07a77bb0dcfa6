"""na64tools.sim: strata, probabilities, weights and MOT accounting; bad input."""

import math

import numpy as np
import pytest

from na64tools.config import default_setup
from na64tools.sim import BLOCK_SIZE, generate, make_plan
from na64tools.sim.plan import BACKGROUND_STRATA, background_rates, layout, loss_probabilities


@pytest.fixture(scope="module")
def setup():
    return default_setup()


def test_background_strata_partition_the_mot(setup):
    rates = background_rates(setup)
    assert all(r > 0 for r in rates)
    assert math.fsum(rates) == pytest.approx(1.0, abs=1e-12)
    lp = loss_probabilities(setup)
    assert lp["none"] + lp["brems"] + lp["pair"] + lp["photonuclear"] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("events", [3 * BLOCK_SIZE + 12345, 5000])
def test_weights_sum_to_mot_over_generated_events(setup, events):
    """sum over generated events of stratum s of genWeight = mot r_s, so the total is mot."""
    mot = 3.7e12
    plan = make_plan("background", setup=setup, events=events, mot=mot, seed=1)
    assert plan.counts.sum() == events
    per_stratum = plan.counts * plan.weights
    np.testing.assert_allclose(per_stratum, mot * np.array(plan.rates), rtol=1e-12)
    assert math.fsum(per_stratum) == pytest.approx(mot, rel=1e-12)


def test_generated_weights_and_counts_match_plan(setup):
    n = 20000
    a = generate("background", setup=setup, events=n, mot=1e11, seed=2)
    plan = make_plan("background", setup=setup, events=n, mot=1e11, seed=2)
    assert len(a["genWeight"]) == n
    assert math.fsum(a["genWeight"]) == pytest.approx(1e11, rel=1e-12)
    assert np.array_equal(a["event"], np.arange(n))
    # each stratum's weight appears exactly counts times
    for w, c in zip(plan.weights, plan.counts, strict=True):
        assert np.count_nonzero(a["genWeight"] == w) == c


def test_layout_follows_shares():
    shares = [s.share for s in BACKGROUND_STRATA]
    for length in (BLOCK_SIZE, 1000, 77):
        counts = np.bincount(layout(length, shares), minlength=len(shares))
        assert counts.sum() == length
        assert np.all(np.abs(counts - length * np.array(shares)) <= 2 + 1e-3 * length)


def test_signal_events_and_mot_modes(setup):
    p = make_plan("signal", setup=setup, mass=0.1, coupling=1e-4, events=1000)
    rate = p.rates[0]
    assert p.mot == pytest.approx(1000 / rate, rel=1e-12)
    assert p.weights[0] == pytest.approx(1.0, rel=1e-12)
    # rate = n_A L sigma BR, sigma from the physics module
    from na64tools.physics import br_invisible, cross_section, material

    sigma = cross_section(0.1, 1e-4, model="vector", energy=160.0, target="Pb")
    expect = material("Pb").n_atoms * float(setup.target.thickness) * sigma * 1e-36 * br_invisible(0.1, 1e-4)
    assert rate == pytest.approx(expect, rel=1e-6)
    q = make_plan("signal", setup=setup, mass=0.1, coupling=1e-4, mot=2.5 * p.mot)
    assert q.n_events == 2500
    assert q.counts.sum() * q.weights[0] == pytest.approx(2.5 * p.mot * rate, rel=1e-12)
    # sigma scales with coupling^2: 4x the coupling -> 16x the rate
    r = make_plan("signal", setup=setup, mass=0.1, coupling=4e-4, events=1000)
    assert r.rates[0] == pytest.approx(16 * rate, rel=1e-9)


def test_signal_x_min_restricts_phase_space(setup):
    a = generate("signal", setup=setup, mass=0.5, coupling=1e-4, events=3000, x_min=0.5, seed=3)
    assert np.all(a["Gen_x"] > 0.5)
    p0 = make_plan("signal", setup=setup, mass=0.5, coupling=1e-4, events=10)
    p1 = make_plan("signal", setup=setup, mass=0.5, coupling=1e-4, events=10, x_min=0.5)
    assert 0 < p1.sigma_pb < p0.sigma_pb


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sample="bogus"), r"unknown sample 'bogus'"),
        (dict(sample="signal", mass=0.0), r"mass: value 0\.0 must be > 0"),
        (dict(sample="signal", mass=-1.0), r"mass: value -1\.0 must be > 0"),
        (dict(sample="signal", mass=300.0), r"mass 300\.0 GeV is above the kinematic limit"),
        (dict(sample="signal", mass=0.1, model="axion"), r"unknown model 'axion'"),
        (dict(sample="signal"), r"mass: a signal sample needs"),
        (dict(sample="signal", mass=0.1, coupling=-1e-4), r"coupling: value -0\.0001 must be > 0"),
        (dict(sample="signal", mass=0.1, mot=1e10, events=100), r"give mot .* or events .*, not both"),
        (dict(sample="signal", mass=0.5, x_min=1.0), r"x_min: value 1\.0 must be in \[0, 1\)"),
        (dict(sample="signal", mass=0.5, mot=1e30), r"mot: value 1e\+30 means .* signal events"),
        (dict(sample="scalar_only", mass=0.5), r"unknown sample"),
        (dict(sample="background", mot=-1.0), r"mot: value -1\.0 must be > 0"),
        (dict(sample="background", mot=float("nan")), r"mot: value nan is not a finite number"),
        (dict(sample="background", events=0), r"events: value 0 must be > 0"),
        (dict(sample="background", events=2.5), r"events: value 2\.5 must be an integer"),
        (dict(sample="background", events=10), r"events: value 10 is too small .*need at least [0-9]+ events"),
        (dict(sample="background", seed=-3), r"seed: value -3 must be >= 0"),
    ],
)
def test_bad_input_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_plan(**kwargs)


def test_scalar_above_dimuon_threshold_has_no_invisible_signal(setup):
    with pytest.raises(ValueError, match=r"mass: value 0\.5 GeV gives no invisible signal for model 'scalar'"):
        make_plan("signal", setup=setup, mass=0.5, model="scalar", events=10)


def test_setup_from_a_yaml_file(tmp_path, setup):
    import yaml

    data = yaml.safe_load(setup.to_yaml())
    data["beam"]["intensity"]["value"] = 0.0  # no pile-up
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = make_plan("background", setup=path, events=5000)
    assert plan.setup.source_file == str(path) and plan.beam.pileup_mean == 0.0
    a = generate("background", setup=str(path), events=5000, seed=1)
    n_tracks = a["nTrack"][a["Gen_process"] == 0]
    # no pile-up: the muon's track or none (a muon outside the MS2 apertures has no Track)
    assert np.all(n_tracks <= 1) and np.mean(n_tracks == 1) > 0.95
