"""The shipped models beyond the Z' (ALP, millicharged, lfv_tau) through the whole chain, as a user
runs it: ``na64tools simulate --model NAME`` -> ``na64tools run`` -> ``na64tools limits``.

Each model's physics has its own cited cross-checks (tests/test_alp.py, test_millicharged.py,
test_lfv.py); these tests check what the chain adds: the sample's exposure carries the model's
cross-section and invisible fraction, and the printed limit follows from the cutflow by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot

# pyhf 0.7 validates with jsonschema's deprecated RefResolver
pytestmark = pytest.mark.filterwarnings("ignore:jsonschema.RefResolver:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
MOT = 1.98e10  # the setup's exposure, the limits' default
G_REF = 1e-4  # the simulate default coupling
EVENTS = 3000
#: (model, mass [GeV]); lfv_tau is produced at the tau mass only (PDG 2024: 1.77693 GeV)
SAMPLES = (("alp", 0.1), ("millicharged", 0.05), ("lfv_tau", 1.77693))
#: BR(tau -> mu nu nu-bar) = 17.39 % (PDG 2024); the ALP (invisible mode) and the millicharged
#: pair escape with probability 1 (docs/models/)
BR_INVISIBLE = {"alp": 1.0, "millicharged": 1.0, "lfv_tau": 0.1739}
COUPLING = {"alp": "g_aμμ", "millicharged": "ε = Q_χ/e", "lfv_tau": "G_mutau"}
PDGID = {"alp": 9000005, "millicharged": 22, "lfv_tau": 15}


def _run(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="agg")
    return subprocess.run([sys.executable, "-m", "na64tools", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("models_chain")
    sim = d / "sim"
    procs = [_run("simulate", "--sample", "background", "--events", 20000, "--seed", 1,
                  "--out", sim, "--no-progress")]
    for i, (model, mass) in enumerate(SAMPLES):
        procs.append(_run("simulate", "--sample", "signal", "--model", model, "--mass", mass,
                          "--events", EVENTS, "--seed", 10 + i, "--out", sim, "--no-progress"))
    for p in procs:
        assert p.returncode == 0, p.stderr
    run = _run("run", sim, "--workers", 1, "--no-progress", "--out", d / "run")
    assert run.returncode == 0, run.stderr
    return d


def _runs(chain, model):
    (path,) = sorted((chain / "sim").glob(f"signal_{model}_m*.root"))
    with uproot.open(path) as f:
        runs = f["Runs"].arrays(library="np")
        pdg = np.concatenate(f["Events"]["GenPart_pdgId"].array(library="np"))
    return {k: v[0] for k, v in runs.items()}, pdg


def test_simulated_files_carry_the_model(chain):
    for model, mass in SAMPLES:
        runs, pdg = _runs(chain, model)
        assert runs["model"] == model
        assert runs["mass"] == pytest.approx(mass)
        assert runs["coupling"] == pytest.approx(G_REF)
        assert PDGID[model] in pdg


def test_exposure_carries_the_invisible_fraction(chain):
    """MOT of a signal sample = N_generated / (n_A L_T sigma BR): the ratio
    N / (MOT sigma) between two models is the ratio of their invisible fractions, whatever
    n_A L_T is. lfv_tau against the ALP gives BR(tau -> mu nu nu-bar) = 0.1739 (PDG)."""
    per = {}
    for model, _ in SAMPLES:
        runs, _ = _runs(chain, model)
        per[model] = runs["nGenerated"] / (runs["mot"] * runs["sigma"])
        assert runs["brInvisible"] == pytest.approx(BR_INVISIBLE[model], rel=1e-3)
    for model in ("millicharged", "lfv_tau"):
        assert per[model] / per["alp"] == pytest.approx(BR_INVISIBLE[model], rel=1e-3)


@pytest.mark.parametrize("model,mass", SAMPLES)
def test_limits_cli_follow_from_the_cutflow(chain, model, mass):
    """The coupling limit g_up = g_ref sqrt(s_up / N_sig), N_sig = MOT x (signal events per MOT
    after the last cut, from the processor's cutflow): the signal yield is ∝ g² for all three
    (BR independent of the coupling)."""
    out = chain / f"lim_{model}"
    proc = _run("limits", chain / "run", "--model", model, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert f"model {model}" in proc.stdout and COUPLING[model] in proc.stdout

    cutflow = json.loads((chain / "run" / "output.json").read_text())["cutflow"]
    (dataset,) = [k for k in cutflow if k.startswith(f"signal_{model}_")]
    per_mot = cutflow[dataset]["vhcal"][3]  # [events, sum w, sum w (exact), per MOT]
    n_sig = MOT * per_mot
    assert n_sig > 0

    lim = json.loads((out / "result.json").read_text())["limits"]
    i = int(np.argmin(np.abs(np.log(np.asarray(lim["masses"]) / mass))))
    assert lim["masses"][i] == pytest.approx(mass, rel=1e-3)
    expected = G_REF * np.sqrt(lim["events_observed"] / n_sig)
    assert lim["observed"][i] == pytest.approx(expected, rel=1e-3)

    # the reusable export: one pyhf workspace per simulated mass, valid for pyhf
    pytest.importorskip("pyhf")
    from na64tools.export import validate_pyhf_workspace

    (ws_path,) = sorted((out / "pyhf").glob(f"{model}_m*GeV.json"))
    ws = validate_pyhf_workspace(json.loads(ws_path.read_text()))
    assert ws.model().config.poi_name == "mu"
    assert (out / "exclusion.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    if model == "alp":
        # the ALP's negative one-loop (g-2) contribution: no anomaly band, the 2025 bound
        # |Δa_μ| < 2σ - Δ = 88.9e-11 (gminus2.g2_upper_bound), at 0.1 GeV
        from na64tools.physics import G2_2025, g2_upper_bound

        bound = float(g2_upper_bound(mass, G2_2025, "alp"))
        assert 1e-4 < bound < 1e-2
        assert f"< {bound:.3g}" in report
