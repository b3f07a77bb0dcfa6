"""lfv_e (μN → eX in flight) through the chain: generator, selection, analytic background, limits.

Every expectation is an independent number: a hand calculation from the setup's parameters, the
sampler drawn on its own, the published PDG constants, or an invariant of the counting
experiment; none is the function under test compared with itself.
"""

from __future__ import annotations

import math
import subprocess
import sys

import awkward as ak
import numpy as np
import pytest

from na64tools.config import LfvECuts, default_setup
from na64tools.models import get_model
from na64tools.physics import lfv
from na64tools.physics.constants import M_E, M_MU
from na64tools.selection import LFV_E_FLOW, lfv_e_masks, variables_from_branches
from na64tools.sim import generate

SETUP = default_setup()
E0 = float(SETUP.beam.energy)
#: generated lfv_e events of the module's sample (about 10 % are written: c_set = 0.15 and the
#: showers starting too deep in the ECAL to contain 80 GeV)
N_GEN = 100_000


@pytest.fixture(scope="module")
def written():
    """The lfv_e events the calorimeter trigger writes (as simulate writes them)."""
    return generate("signal", model="lfv_e", mass=M_E, events=N_GEN, seed=11, triggered_only=True)


@pytest.fixture(scope="module")
def everything():
    """Every generated lfv_e event (trigger or not)."""
    return generate("signal", model="lfv_e", mass=M_E, events=10_000, seed=12)


# ------------------------------------------------------------------------------- the model

def test_lfv_e_is_registered_with_its_final_state_and_background():
    spec = get_model("lfv_e")
    assert spec.final_state == "electron" and spec.pdgid == 11
    assert spec.background_estimate is not None
    assert get_model("vector").final_state == "muon" and get_model("lfv_tau").final_state == "muon"


def test_the_cli_says_which_mass_to_give(tmp_path):
    r = subprocess.run([sys.executable, "-m", "na64tools", "simulate", "--sample", "signal",
                        "--model", "lfv_e", "--mass", "0.1", "--events", "100", "--out",
                        str(tmp_path)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "lfv_e model has no free mass" in r.stderr and "0.000510999" in r.stderr
    assert "Traceback" not in r.stderr


# ------------------------------------------------------------------------------- generator

def test_no_outgoing_muon_and_never_the_scattered_muon_trigger(everything, written):
    for a in (everything, written):
        assert not np.any(a["Trigger_scattered"])
        assert np.all(a["Gen_process"] == 1)
    # GenPart: the incoming mu+ and the e+ (charge conserved with the mu+ beam), nothing else
    pdg = ak.to_list(written["GenPart_pdgId"])
    assert all(p == [-13, -11] for p in pdg)
    # no MS2 track but those of pile-up muons: P(no pile-up muon) = exp(-mu), mu = intensity x
    # readout window (hand calculation from the setup; almost every pile-up muon is seen in MS2)
    mu = float(SETUP.beam.intensity) * float(SETUP.beam.readout_window) * 1e-9
    no_track = np.mean(written["nTrack"] == 0)
    n = len(written["nTrack"])
    assert abs(no_track - math.exp(-mu)) < 4 * math.sqrt(math.exp(-mu) * (1 - math.exp(-mu)) / n) + 0.01
    # VETO and VHCAL: only pile-up muons leave energy (no muon after the vertex, no noise)
    quiet = written["nTrack"] == 0
    assert np.all(written["VETO_energy"][quiet] == 0)
    assert np.all(written["VHCAL_energy"][quiet] == 0)


def test_ecal_is_the_electron_shower_of_the_sampler(written):
    # the shower of (1 - x) E_in is measured in the ECAL, its forward leakage (a conversion deep
    # in the ECAL) in the HCAL: without pile-up, <E_ECAL + E_HCAL> = (1 - <x>) <E_in> + the
    # muon's MIP before the vertex (at most the ECAL MIP); <x> from the sampler drawn on its own
    x = make_x(200_000)
    alone = written["nTrack"] == 0          # no pile-up muon seen
    e_in = ak.to_numpy(written["GenPart_energy"][:, 0])[alone]
    hcal = ak.to_numpy(ak.sum(written["HCAL_energy"], axis=1))[alone]
    total = written["ECAL_energy"][alone].astype(float) + hcal
    expected = (1.0 - x.mean()) * e_in.mean()
    err = total.std() / math.sqrt(total.size) + x.std() / math.sqrt(x.size) * E0
    assert -4 * err < total.mean() - expected < float(SETUP.ecal.mip) + 4 * err
    # the electron of GenPart carries (1 - x) E_in
    e_all = ak.to_numpy(written["GenPart_energy"][:, 0])
    e_el = ak.to_numpy(written["GenPart_energy"][:, 1])
    np.testing.assert_allclose(e_el, (1.0 - written["Gen_x"]) * e_all, rtol=2e-6)
    # contained showers (HCAL leakage below 1 %): (E_ECAL - E_e) / sqrt(E_e) has the setup's
    # stochastic term as its Gaussian width (interquartile range / 1.349: robust against the
    # Landau tail of the MIPs)
    full = alone & (ak.to_numpy(ak.sum(written["HCAL_energy"], axis=1)) < 0.01 * e_el)
    r = (written["ECAL_energy"][full] - e_el[full]) / np.sqrt(e_el[full])
    q25, q75 = np.percentile(r, [25, 75])
    assert full.sum() > 1000
    assert (q75 - q25) / 1.349 == pytest.approx(float(SETUP.ecal.stochastic), abs=0.01)


def make_x(n):
    return lfv.make_sampler_e(M_E, E0, "Pb", 0.0).sample(n, np.random.default_rng(99))[0]


def _trigger_chain() -> float:
    """trigger plateau x signal.efficiency_correction x (1 - random veto), the random veto by
    hand: 1 - exp(-mu exp(-R^2 / 2 sigma^2)) (Poisson beam muons outside the veto's hole)."""
    mu = float(SETUP.beam.intensity) * float(SETUP.beam.readout_window) * 1e-9
    r, spot = float(SETUP.geometry.beam_veto_radius), float(SETUP.beam.spot_sigma)
    veto = 1.0 - math.exp(-mu * math.exp(-r * r / (2 * spot * spot)))
    return float(SETUP.trigger.efficiency) * float(SETUP.signal.efficiency_correction) * (1 - veto)


def test_written_fraction_is_the_calorimeter_trigger(written):
    # the calorimeter trigger fires when the ECAL contains >= 80 GeV: the analytic containment
    # of a shower starting at a uniform depth of the 40 X0 (lfv_e_selection_efficiency with
    # z_min = 80 GeV / E0 and no MS1 resolution), times the trigger chain
    contained = lfv.lfv_e_selection_efficiency(E0, z_min=LfvECuts().trigger_ecal_min / E0,
                                               p_in_resolution=0.0, trigger_efficiency=1.0,
                                               target_x0=float(SETUP.target.radiation_lengths))
    p = _trigger_chain() * contained
    n = len(written["event"])
    assert abs(n / N_GEN - p) < 4 * math.sqrt(p * (1 - p) / N_GEN)
    assert np.all(written["ECAL_energy"] >= LfvECuts().trigger_ecal_min)


def test_energy_balance_efficiency_agrees_with_the_analytic_design(written):
    # lfv.lfv_e_selection_efficiency (Gaussian ECAL 10 %/sqrt(E) and MS1 3.8 % resolutions, the
    # shower contained behind a uniformly distributed vertex in 40 X0) against the simulated
    # fraction of the generated events that are written with E_ECAL >= z_min p_in
    ok = written["ECAL_energy"] >= 0.9 * written["Beam_p"]
    sim = ok.sum() / N_GEN
    design = _trigger_chain() * lfv.lfv_e_selection_efficiency(
        E0, z_min=0.9, trigger_efficiency=1.0, target_x0=float(SETUP.target.radiation_lengths))
    assert abs(sim - design) < 4 * math.sqrt(design * (1 - design) / N_GEN)
    # the shower leakage matters (a 40 % effect): the fully contained design is far outside
    full = _trigger_chain() * lfv.lfv_e_selection_efficiency(E0, z_min=0.9, trigger_efficiency=1.0)
    assert sim < 0.7 * full


def test_the_selection_on_the_written_events(written):
    v = variables_from_branches(written)
    masks = lfv_e_masks(v)
    assert tuple(masks) == LFV_E_FLOW
    assert masks["trigger"].all()               # written by the calorimeter trigger
    assert not masks["no_track"][written["nTrack"] > 0].any()
    # the missing-momentum selection needs the scattered-muon trigger: it never keeps lfv_e
    from na64tools.selection import passes

    assert not passes(v, SETUP.cuts).any()


# ------------------------------------------------------------------------------- backgrounds

def test_background_estimate_hand_calculation():
    mot = 1.98e10
    est = lfv.lfv_e_background_estimate(mot)
    b = est["muon_decay_in_flight_estimate"]
    # P_decay = L m_mu / (p c tau_mu), L = 20 m (PDG tau_mu = 2.1969811e-6 s)
    p = math.sqrt(E0**2 - M_MU**2)
    p_dec = 2000.0 * M_MU / (p * 2.99792458e10 * 2.1969811e-6)
    # boosted Michel spectrum of an unpolarised muon, (1/3)(1 - z)(5 + 5z - 4z^2), integrated
    # over z > 0.9 with a plain Riemann sum (0.0103)
    z = np.linspace(0.9, 1.0, 200_001)
    frac_true = float(np.sum((1 - z) * (5 + 5 * z - 4 * z * z) / 3) * (z[1] - z[0]))
    assert frac_true == pytest.approx(0.0103, abs=2e-4)
    # resolution moves decays from just below z_min above it: more, but not 30 % more
    assert mot * p_dec * frac_true < b["value"] < 1.3 * mot * p_dec * frac_true
    assert b["error"] == pytest.approx(lfv.LFV_E_BACKGROUND_UNCERTAINTY * b["value"])
    # exposure invariant: twice the MOT, twice each estimate and its error
    est2 = lfv.lfv_e_background_estimate(2 * mot)
    for k in est:
        assert est2[k]["value"] == pytest.approx(2 * est[k]["value"], rel=1e-12)
        assert est2[k]["error"] == pytest.approx(2 * est[k]["error"], rel=1e-12)


# ------------------------------------------------------------------------------- the chain

@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """simulate (lfv_e signal and a small background) -> run -> limits, by the CLI."""
    d = tmp_path_factory.mktemp("lfve")
    py = [sys.executable, "-m", "na64tools"]

    def call(*args):
        r = subprocess.run([*py, *args], capture_output=True, text=True, env=_env())
        assert r.returncode == 0, r.stderr
        return r.stdout

    call("simulate", "--sample", "signal", "--model", "lfv_e", "--mass", "0.000511", "--events",
         "6000", "--seed", "3", "--out", str(d / "sig"), "--no-progress")
    call("simulate", "--sample", "background", "--events", "70000", "--seed", "4", "--out",
         str(d / "bkg"), "--no-progress")
    ran = call("run", str(d / "sig"), str(d / "bkg"), "--executor", "iterative", "--out",
               str(d / "run"), "--no-progress")
    assert "signal_lfv_e_m0.000511  lfv_e selection" in ran   # its own cutflow is printed
    assert "background  lfv_e selection" not in ran           # nothing on its trigger
    out = call("limits", str(d / "run"), "--model", "lfv_e", "--out", str(d / "lim"))
    return d, out


def _env():
    import os

    env = dict(os.environ)
    env["MPLBACKEND"] = "agg"
    return env


def test_chain_prints_the_estimate_label(chain):
    d, out = chain
    assert "analytic estimate, not simulated" in out
    assert "G_mue [GeV^-2]" in out and "expected only" in out
    report = (d / "lim" / "report.md").read_text()
    assert "background: analytic estimate, not simulated" in report
    import json

    summary = json.loads((d / "lim" / "summary.json").read_text())
    assert summary["background_method"].startswith("background: analytic estimate, not simulated")
    assert summary["selection"]["name"] == "lfv_e"
    assert set(summary["background"]) == {"muon_decay_in_flight_estimate", "hard_loss_lost_muon_estimate"}
    # the printed background is the estimate for 1.98e10 MOT, not the simulated sample's
    est = lfv.lfv_e_background_estimate(float(SETUP.run.mot))
    total = sum(e["value"] for e in est.values())
    assert summary["background_total"]["value"] == pytest.approx(total, rel=1e-12)
    assert f"background: {total:.3g}" in out


def test_chain_efficiency_and_coupling_limit_by_hand(chain):
    import json

    from na64tools import load_output
    from na64tools.analysis import Analysis
    from na64tools.physics import material

    d, _ = chain
    out = load_output(d / "run" / "output.json")
    flow = out["lfv_e_cutflow"]["signal_lfv_e_m0.000511"]
    assert list(flow) == ["all", *LFV_E_FLOW]
    summary = json.loads((d / "lim" / "summary.json").read_text())
    eff = summary["efficiency"][0]["value"]
    assert eff == pytest.approx(flow["vetoes"]["events"] / 6000)
    # the signal events per MOT at g_ref by hand: n_A L sigma(g_ref) (sigma ∝ G^2)
    g_ref = summary["limits"]["g_ref"]
    sigma_ref = lfv.make_sampler_e(M_E, E0, "Pb", 0.0).sigma * g_ref**2  # pb
    per_mot = material("Pb").n_atoms * float(SETUP.target.thickness) * sigma_ref * 1e-36
    s_up = summary["limits"]["events_expected"]["median"]
    g_hand = g_ref * math.sqrt(s_up / (float(SETUP.run.mot) * per_mot * eff))
    assert summary["limits"]["expected"]["median"][0] == pytest.approx(g_hand, rel=1e-3)
    # background-dominated: s_up ~ z sqrt(B + dB^2) with z of a 90 % CL one-sided Gaussian
    # bound (1.28 .. 1.64, CLs): a 10x error in B would be far outside
    b = summary["background_total"]
    assert 1.0 < s_up / math.sqrt(b["value"] + b["error"] ** 2) < 1.9
    # doubling the exposure: B and its error double; the event limit grows by sqrt(2) .. 2
    # (statistics .. systematics dominated) and the coupling limit by at most 2^(1/4) down
    a1 = Analysis(out, mot=float(SETUP.run.mot)).evaluate(model="lfv_e")
    a2 = Analysis(out, mot=2 * float(SETUP.run.mot)).evaluate(model="lfv_e")
    assert a2.total_background.value == pytest.approx(2 * a1.total_background.value, rel=1e-12)
    ratio = float(a2.limit.events_expected.median) / float(a1.limit.events_expected.median)
    assert math.sqrt(2) * 0.97 < ratio < 2.0 * 1.03
    g1, g2 = a1.limit.expected.median[0], a2.limit.expected.median[0]
    assert 2 ** -0.25 * 0.97 < g2 / g1 < 1.03


def test_simulated_background_never_passes_as_the_lfv_e_background(chain):
    from na64tools import load_output
    from na64tools.analysis import Analysis

    d, _ = chain
    out = load_output(d / "run" / "output.json")
    # the background sample was written with the scattered-muon trigger: nothing passes lfv_e
    assert out["lfv_e_cutflow"]["background"]["trigger"]["events"] == 0
    res = Analysis(out).evaluate(model="lfv_e")
    assert res.background_method.startswith("background: analytic estimate, not simulated")
    assert any("is not used for this model" in n for n in res.notes)
    assert res.total_background.value > 1000     # thousands of decays in flight at 1.98e10 MOT
    assert res.n_obs is None and not res.observed   # no lfv_e data: expected limits only


# ------------------------------------------------------------------------------- other models

#: content hashes (na64tools.sim.writer.content_hash) of small samples written by main before
#: the electron final state was added: the vector signal and the background must not change
MAIN_HASHES = {
    "vector": "1d5921689b9bd81b2cefda92de8d11cb1596d65a2102669d5e085e8d11de6254",
    "background": "d64574539af722549602ca7aeb2a72b88adc834f7e3ada6f3e738a9fdd8591b9",
}


def test_other_samples_are_unchanged(tmp_path):
    from na64tools.sim import simulate
    from na64tools.sim.writer import content_hash

    sig = simulate("signal", model="vector", mass=0.1, events=3000, seed=3, out=tmp_path / "v",
                   progress=False)
    bkg = simulate("background", events=70000, seed=4, out=tmp_path / "b", progress=False)
    assert content_hash(sig) == MAIN_HASHES["vector"]
    assert content_hash(bkg) == MAIN_HASHES["background"]


def test_lfv_e_files_do_not_depend_on_the_file_count(tmp_path):
    from na64tools.sim import simulate
    from na64tools.sim.writer import content_hash

    one = simulate("signal", model="lfv_e", mass=M_E, events=5000, seed=8, out=tmp_path / "one",
                   progress=False)
    three = simulate("signal", model="lfv_e", mass=M_E, events=5000, seed=8, out=tmp_path / "three",
                     files=3, progress=False)
    assert content_hash(three) == content_hash(one)
    import uproot

    with uproot.open(one[0]) as f:
        gen = f["Runs"]["generator"].array(library="np")[0]
    assert "trigger: calorimeter, ECAL >= 80 GeV and no S_mu hit" in gen


def test_cut_explorer_says_the_cuts_do_not_apply(chain):
    """The CutExplorer on an lfv_e output: the efficiency and background are lfv_e's (its own
    cutflow, the analytic estimate), moving a missing-momentum cut changes nothing, and every
    summary says so."""
    from na64tools.interactive.model import CutExplorerModel
    from na64tools.output import load_output

    d, _ = chain
    explorer = CutExplorerModel(load_output(d / "run" / "output.json"))
    s0 = explorer.summary
    assert explorer.model == "lfv_e"
    assert any("has its own selection" in m for m in s0.messages)
    est = lfv.lfv_e_background_estimate(float(SETUP.run.mot))
    assert s0.total_background.value == pytest.approx(sum(e["value"] for e in est.values()))
    s1 = explorer.set_cuts(p_out_max=40.0)
    assert s1.efficiencies == s0.efficiencies
    assert any("has its own selection" in m for m in s1.messages)
