"""``na64tools demo``: the physics table it prints follows N_sig = N_MOT BR n_A L_T sigma."""

import pytest

from na64tools import default_setup, physics
from na64tools.cli import main
from na64tools.demo import physics_table


def test_physics_table_yield_formula():
    setup = default_setup()
    rows = physics_table(setup, [0.02, 0.3], coupling=2e-4, models=("vector",))
    n_a = 6.02214076e23 * 11.35 / 207.2  # Pb nuclei per cm3 (NA64MU_FACTS.md section 3)
    for r in rows:
        sigma = physics.cross_section(r.mass, 2e-4, model="vector", energy=160.0, target="Pb", x_min=0.5)
        assert r.sigma == sigma
        assert r.yield_per_1e10 == pytest.approx(1e10 * r.br_inv * n_a * 22.5 * sigma * 1e-36, rel=1e-12)
    # sigma ∝ g^2: the yield at another coupling scales exactly
    rows4 = physics_table(setup, [0.02], coupling=4e-4, models=("vector",))
    assert rows4[0].yield_per_1e10 == pytest.approx(4 * rows[0].yield_per_1e10, rel=1e-12)


def test_demo_prints_table(capsys):
    assert main(["demo", "--masses", "0.1", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "sigma(x>0.50) [pb]" in out and "N_sig / 1e10 MOT" in out
    assert "1.98e+10 MOT" in out
