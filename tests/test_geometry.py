"""The geometric detector model (na64tools.sim.geometry) against hand calculations with the
shipped 2022 geometry: where a muon lands, which counters it crosses, which MS2 stations see it."""

import numpy as np
import pytest

from na64tools.config import ConfigError, default_setup
from na64tools.sim.geometry import GeometryModel
from na64tools.sim.plan import make_plan

SETUP = default_setup()
GEO = GeometryModel.from_setup(SETUP)
G = SETUP.geometry


def _one(p, tx=0.0, ty=0.0, x=0.0, y=0.0, d=0.0):
    a = [np.atleast_1d(np.asarray(v, float)) for v in (x, y, tx, ty)]
    bend = GEO.kick(np.atleast_1d(float(p)), d)
    return a, bend


def test_kick_is_the_field_integral_over_p():
    # hand calculation: 0.2998 x 2.8 T m / 160 GeV = 5.246 mrad
    assert float(GEO.kick(np.array([160.0]))[0]) == pytest.approx(0.2998 * 2.8 / 160, rel=1e-3)
    assert float(GEO.kick(np.array([80.0]))[0]) == pytest.approx(2 * float(GEO.kick(np.array([160.0]))[0]))


def test_straight_beam_muon_on_axis_misses_the_counters_but_is_tracked():
    (x, y, tx, ty), bend = _one(160.0)
    assert not GEO.counters_hit(x, y, tx, ty, bend)[0]
    assert GEO.ms2_lost_planes(x, y, tx, ty, bend)[0] == 0
    assert GEO.in_hcal(x, y, tx, ty, bend)[0]
    # where it lands at S_mu: 5.246 mrad x (1700 - 600) cm = 5.77 cm, inside the 8.4 cm edge
    xs, ys = GEO.at(float(G.smu_z), x, y, tx, ty, bend)
    assert xs[0] == pytest.approx(0.2998 * 2.8 / 160 * (1700 - 600), rel=1e-3) and ys[0] == 0.0


def test_soft_muon_on_axis_hits_both_counters():
    (x, y, tx, ty), bend = _one(60.0)
    assert GEO.counters_hit(x, y, tx, ty, bend)[0]
    assert GEO.ms2_lost_planes(x, y, tx, ty, bend)[0] == 0


def test_momentum_threshold_of_an_on_axis_muon():
    """Hand calculation: S4 is reached for p < 0.2998*2.8*650/5.0 = 109.1 GeV, S_mu for
    p < 0.2998*2.8*1100/8.4 = 109.9 GeV: the coincidence turns on at 109.1 GeV."""
    p = np.linspace(100.0, 120.0, 2001)
    z = np.zeros_like(p)
    hit = GEO.counters_hit(z, z, z, z, GEO.kick(p))
    edge = p[hit].max()
    assert edge == pytest.approx(0.2998 * 2.8 * 650 / 5.0, abs=0.05)
    assert np.all(hit[p < edge]) and not np.any(hit[p > edge + 0.02])


def test_muon_at_20_mrad_misses_the_downstream_counters():
    # 20 mrad in y: at S4 (1250 cm, vertex at 22.5 cm) y = 24.6 cm > 20 cm; at the first Micromegas
    # (250 cm) y = 4.55 cm > 4 cm, so at all three upstream stations, and at the last downstream
    # one (1100 cm: y = 21.6 cm > 20 cm) -> 4 stations x 2 planes lost, fewer than 6 hits left
    (x, y, tx, ty), bend = _one(60.0, ty=0.020)
    assert not GEO.counters_hit(x, y, tx, ty, bend)[0]
    assert GEO.ms2_lost_planes(x, y, tx, ty, bend)[0] == 8
    # 20 mrad towards -x: lands at 60 GeV kick 14.0 mrad x 1100 - 20 mrad x 1678 = -18 cm at S_mu
    (x, y, tx, ty), bend = _one(60.0, tx=-0.020)
    assert not GEO.counters_hit(x, y, tx, ty, bend)[0]
    # 2 mrad (any azimuth) stays inside
    for phi in np.linspace(0, 2 * np.pi, 8, endpoint=False):
        (x, y, tx, ty), bend = _one(60.0, tx=0.002 * np.cos(phi), ty=0.002 * np.sin(phi))
        assert GEO.counters_hit(x, y, tx, ty, bend)[0]


def test_acceptance_falls_with_angle():
    rng = np.random.default_rng(1)
    n = 20000
    phi = rng.uniform(0, 2 * np.pi, n)
    p = np.full(n, 60.0)
    acc = []
    for theta in (0.0, 0.004, 0.008, 0.012, 0.016, 0.024):
        tx, ty = theta * np.cos(phi), theta * np.sin(phi)
        z = np.zeros(n)
        bend = GEO.kick(p)
        ok = GEO.counters_hit(z, z, tx, ty, bend) & (GEO.ms2_lost_planes(z, z, tx, ty, bend) <= 4)
        acc.append(ok.mean())
    assert acc[0] == 1.0
    assert all(a >= b for a, b in zip(acc[:-1], acc[1:], strict=True)) and acc[-1] < 0.3


def test_signal_acceptance_falls_with_mass():
    """Heavier Z' -> larger muon angles (3 mrad median at 10 MeV, 20 mrad at 1 GeV) -> fewer
    triggered events per generated one."""
    from na64tools.sim import generate

    frac = []
    for m in (0.01, 1.0):
        a = generate("signal", mass=m, events=4000, seed=5, x_min=0.5)
        frac.append(np.mean(a["Trigger_scattered"]))
    assert frac[1] < 0.6 * frac[0]


def test_bad_geometry_is_refused():
    g = SETUP.geometry
    import dataclasses

    from na64tools.config import Quantity

    bad = SETUP.replace(geometry=dataclasses.replace(g, magnet_z=Quantity(100.0, "cm", "test")))
    with pytest.raises(ValueError, match="magnet_z"):
        make_plan("background", setup=bad, events=5000)
    assert issubclass(ConfigError, ValueError)


# --- per-station efficiencies and the random veto ---------------------------------------------
def _with(section, **values):
    import dataclasses

    from na64tools.config import Quantity

    sec = getattr(SETUP, section)
    new = {k: Quantity(v, getattr(sec, k).unit, "test") for k, v in values.items()}
    return SETUP.replace(**{section: dataclasses.replace(sec, **new)})


def test_random_veto_probability_by_hand():
    # 2e6 /s x 100 ns = 0.2 beam muons per window; outside the 2.5 cm hole of a 1 cm Gaussian
    # spot: exp(-2.5^2 / 2) = 0.0439; Poisson: 1 - exp(-0.2 x 0.0439) = 0.00874
    p = GEO.random_veto_probability(0.2, 1.0)
    assert p == pytest.approx(1 - np.exp(-0.2 * np.exp(-2.5**2 / 2)), rel=1e-12)
    assert p == pytest.approx(0.00874, abs=1e-5)
    assert GEO.random_veto_probability(0.0, 1.0) == 0.0


def test_random_veto_removes_that_fraction_of_triggers():
    """At 100x the intensity (20 muons per window) the upstream veto fires at random in
    1 - exp(-20 x 0.0439) = 58.5 % of the events: the triggered fraction drops by 0.415."""
    from na64tools.sim import generate

    n = 20_000
    base = generate("signal", setup=_with("beam", intensity=0.0), mass=0.01, events=n, seed=3,
                    triggered_only=True)
    high = generate("signal", setup=_with("beam", intensity=2.0e8), mass=0.01, events=n, seed=3,
                    triggered_only=True)
    n0, n1 = len(base["Trigger_scattered"]), len(high["Trigger_scattered"])
    expect = np.exp(-20 * np.exp(-2.5**2 / 2))
    # the same events up to the veto draw: binomial error of the kept fraction
    assert abs(n1 / n0 - expect) < 4 * np.sqrt(expect * (1 - expect) / n0), (n0, n1, expect)


def test_station_efficiency_removes_tracks_as_counted_by_hand():
    """With every upstream station alive half of the time, a muon inside all apertures keeps a
    two-sided track unless all three upstream stations are dead: 1 - 0.5^3 = 0.875 of the tracks
    survive. With no upstream station ever alive, no track is reconstructed at all."""
    from na64tools.sim import generate

    n = 20_000
    kw = dict(mass=0.01, events=n, seed=4, triggered_only=True)
    counts = []
    for eff in (1.0, 0.5, 1e-9):
        s = _with("geometry", ms2_up_station_efficiency=eff, ms2_down_station_efficiency=1.0)
        s = s.replace(beam=_with("beam", intensity=0.0).beam)  # no pile-up tracks
        a = generate("signal", setup=s, **kw)
        counts.append(int(np.count_nonzero(np.asarray(a["nTrack"]) > 0)))
    full, half, none = counts
    assert none == 0
    assert abs(half / full - 0.875) < 4 * np.sqrt(0.875 * 0.125 / full), counts


def test_pileup_muons_follow_the_geometry():
    """A pile-up beam muon (on axis, 160 GeV) crosses the VETO and the HCAL face but not the
    VHCAL material (it goes through the hole): in a sample without scattered-muon activity
    in the VHCAL, the VHCAL sees only pile-up muons far off axis (beyond 4 cm: 3e-4 of them)."""
    (x, y, tx, ty), bend = _one(160.0)
    assert GEO.in_veto(x, y, tx, ty)[0] and GEO.in_hcal(x, y, tx, ty, bend)[0]
    assert not GEO.in_vhcal_body(x, y, tx, ty)[0]
    assert GEO.in_vhcal_body(x + 5.0, y, tx, ty)[0]
