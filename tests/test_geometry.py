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
