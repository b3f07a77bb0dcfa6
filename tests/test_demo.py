"""``na64tools demo``: the physics table it prints follows N_sig = N_MOT BR n_A L_T sigma."""

import pytest

from na64tools import default_setup, physics
from na64tools.cli import main
from na64tools.demo import physics_table


def test_physics_table_yield_formula():
    setup = default_setup()
    n_a = 6.02214076e23 * 11.35 / 207.2  # Pb nuclei per cm3 (docs/references.md)
    # default: sigma(x > 0), every produced X, as the demo's signal samples are generated
    for x_min in (0.0, 0.5):
        kw = {} if x_min == 0.0 else {"x_min": x_min}
        rows = physics_table(setup, [0.02, 0.3], coupling=2e-4, models=("vector",), **kw)
        for r in rows:
            sigma = physics.cross_section(r.mass, 2e-4, model="vector", energy=160.0, target="Pb", x_min=x_min)
            assert r.sigma == pytest.approx(sigma, rel=1e-12) and r.x_min == x_min
            assert r.yield_per_1e10 == pytest.approx(1e10 * r.br_inv * n_a * 22.5 * sigma * 1e-36, rel=1e-12)
    rows = physics_table(setup, [0.02, 0.3], coupling=2e-4, models=("vector",))
    # sigma ∝ g^2: the yield at another coupling scales exactly
    rows4 = physics_table(setup, [0.02], coupling=4e-4, models=("vector",))
    assert rows4[0].yield_per_1e10 == pytest.approx(4 * rows[0].yield_per_1e10, rel=1e-12)


def test_demo_prints_table(capsys):
    assert main(["demo", "--masses", "0.1", "0.5", "--physics-only"]) == 0
    out = capsys.readouterr().out
    assert "sigma(x>0) [pb]" in out and "N_sig/eps / 1e10 MOT" in out
    assert "passing trigger, acceptance and all cuts" in out
    assert "1.98e+10 MOT" in out


@pytest.mark.slow
def test_demo_whole_chain_on_dask(tmp_path, capsys):
    """`na64tools demo` end to end on a real local Dask cluster, with small samples."""
    import json

    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--masses", "0.01", "0.1", "0.5", "--signal-events", "3000",
            "--background-events", "60000", "--executor", "dask", "--workers", "2", "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for name in ("summary.json", "report.md", "exclusion.png", "efficiency.png", "efficiency_factors.png",
                 "background.png", "cutflow.png", "ldm.png", "limits.csv", "efficiency.csv",
                 "background.csv", "headline.txt", "output.json", "output.root"):
        assert (out / name).is_file(), name
        assert name in printed
    s = json.loads((out / "summary.json").read_text())
    assert s["mot"] == 1.98e10 and s["n_obs"] == 0
    assert [e["mass"] for e in s["efficiency"]] == [0.01, 0.1, 0.5]
    assert set(s["background"]) == {"misreconstruction", "decays_in_flight", "non_hermeticity", "other"}
    # item 7 of the limits issue: the published background table comes out within its errors
    pub, bkg = s["published_background"], s["background"]
    for src in ("misreconstruction", "decays_in_flight"):
        tol = (pub[src]["uncertainty"] ** 2 + (3 * bkg[src]["stat"]) ** 2) ** 0.5
        assert abs(bkg[src]["value"] - pub[src]["value"]) < tol, src
    assert bkg["non_hermeticity"]["value"] < pub["non_hermeticity"]["value"] + 3 * bkg["non_hermeticity"]["stat"]
    total = sum(b["value"] for b in s["background"].values())
    assert s["background_total"]["value"] == pytest.approx(total, rel=1e-12)
    # the background flow of the summary accounts for every generated MOT
    assert s["mot_samples"]["background"] == pytest.approx(1.98e10, rel=1e-12)
    assert len(s["limits"]["observed"]) == len(s["limits"]["masses"]) > 10
    # zero observed: (1 + s r^2)^(-1/r^2) = 0.1 with r the setup's signal uncertainty in quadrature
    r2 = 0.1 ** 2 + 0.1 ** 2 + (0.02 / 1.98) ** 2
    assert s["signal_uncertainty"]["total"] == pytest.approx(r2 ** 0.5, rel=1e-12)
    assert s["limits"]["events_observed"] == pytest.approx((0.1 ** -r2 - 1) / r2, rel=1e-6)
    report = (out / "report.md").read_text()
    assert "published (PRL 132 (2024) 211803)" in report
    # the outputs say what they are, from the one status constant
    from na64tools.report import REPRODUCTION_STATUS

    assert s["reproduction_status"] == REPRODUCTION_STATUS and REPRODUCTION_STATUS in report
    assert REPRODUCTION_STATUS in printed and "NA64μ 2022 reproduction (simulation)" in printed
    # headline numbers printed last: background with n_eff, limits, (g-2) band
    tail = printed[printed.index("written:"):]
    assert "Expected background" in tail and "effective simulated events" in tail
    assert "g obs 90%CL" in tail and "(g-2) 2021" in tail
    # one efficiency definition: the factors multiply to the efficiency
    for e in s["efficiency"]:
        f = e["factors"]
        assert f["correction_status"] == "set, not measured" and 0 < f["correction"] < 1
        assert (f["trigger"] * f["correction"] * f["acceptance"] * f["selection"]
                == pytest.approx(e["value"], rel=1e-14))

    # the limits command over the saved output with tighter cuts gives a tighter background
    cuts = tmp_path / "cuts.yaml"
    cuts.write_text("cuts:\n  p_out_max: {value: 60.0, unit: GeV}\n")
    assert main(["limits", str(out / "output.json"), "--cuts", str(cuts), "--out", str(tmp_path / "lim")]) == 0
    s2 = json.loads((tmp_path / "lim" / "summary.json").read_text())
    assert s2["cuts"]["p_out_max"] == 60.0
    assert s2["background_total"]["value"] <= s["background_total"]["value"]


def test_limits_cli_bad_input(tmp_path, capsys):
    assert main(["limits", str(tmp_path / "missing.coffea")]) == 1
    assert "no such processor output" in capsys.readouterr().err
    bad = tmp_path / "bad.coffea"
    bad.write_bytes(b"not a pickle")
    assert main(["limits", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "pickle" in err and "executes code" in err and "--trust-pickle" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["limits", str(bad), "--trust-pickle"]) == 1
    assert "cannot read a processor output" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    assert main(["limits", str(tmp_path / "bad.json")]) == 1
    assert "not a na64tools processor output" in capsys.readouterr().err
    assert main(["limits", str(bad), "--cl", "1.5"]) == 1
    assert "--cl 1.5" in capsys.readouterr().err
