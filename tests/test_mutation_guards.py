"""Guards against mutations that a mutation spot-check found the suite blind to (issue 12, item 6).

Each test checks an independent value: a hand calculation from the processor's cut table, an
analytic number, a published number or an invariant under a change of exposure. None compares
a function with itself. docs/testing.md lists the mutation each test catches.
"""

from __future__ import annotations

import math
import re

import awkward as ak
import numpy as np
import pytest
import uproot
from scipy import integrate

from na64tools import Cuts, default_setup
from na64tools.analysis import Analysis
from na64tools.physics import cross_section
from na64tools.processes import CODES, SOURCES, source_of_codes
from na64tools.selection import passes
from na64tools.stats.background import ZERO_EVENT_UPPER, background_by_source, total_background
from na64tools.stats.signal import signal_yield, yield_per_mot

# --------------------------------------------------------------------------------------------
# constants written out here (not imported from the library), with their sources
# --------------------------------------------------------------------------------------------
N_AVOGADRO = 6.02214076e23  # 1/mol, CODATA 2018 (exact)
PB_DENSITY = 11.35  # g/cm^3, PDG "Atomic and nuclear properties of materials" (Pb)
PB_A = 207.2  # g/mol, PDG (Pb)
PB_Z = 82.0
ALPHA_EM = 1 / 137.035999084  # CODATA 2018
M_MU_GEV = 0.1056583755  # PDG
M_E_GEV = 0.51099895e-3  # PDG
HBARC2_PB = 0.3893793721e9  # (hbar c)^2 in GeV^2 pb, PDG
E_BEAM = 160.0  # GeV, PRL 132 (2024) 211803


def _hand_source(code: int) -> str:
    """Published source of a truth process, from the physics of the NA64mu background table
    (PRL 132 (2024) 211803): (I) momentum misreconstruction of a muon that lost energy or only
    ionised, (II) pi/K decays in flight upstream of the target, (III) hadrons escaping the
    hermetic calorimetry after a photonuclear interaction."""
    table = {
        "mip": "misreconstruction",
        "brems": "misreconstruction",
        "pair": "misreconstruction",
        "photonuclear": "misreconstruction",
        "pi_decay": "decays_in_flight",
        "k_decay": "decays_in_flight",
        "escape": "non_hermeticity",
    }
    name = {v: k for k, v in CODES.items()}[int(code)]
    return table[name]


@pytest.fixture(scope="module")
def table_and_mot(small_output):
    t = small_output["table"]
    ds = np.asarray(t.datasets, dtype=object)[np.asarray(t.columns["dataset"])]
    bkg = ds == "background"
    mot_sample = float(small_output["mot"]["background"].mot)
    return t, bkg, mot_sample


# --------------------------------------------------------------------------------------------
# (a) background scaled to the requested exposure
# --------------------------------------------------------------------------------------------
def test_background_is_hand_sum_of_weights_scaled_to_the_requested_exposure(small_output, table_and_mot):
    t, bkg, mot_sample = table_and_mot
    cuts = Cuts(p_out_max=80.0, hcal_max=6.0)  # looser than published: more passing events
    p = passes(t.variables(), cuts)
    w = np.asarray(t.columns["genWeight"], dtype=float)
    codes = np.asarray(t.columns["process"])
    mot = 3.7e10  # not the sample's MOT, so that a missing scale factor shows
    res = Analysis(small_output, mot=mot, projections=()).evaluate(cuts, limits=False)
    total = 0.0
    hand_src = np.array([_hand_source(c) for c in codes[bkg]], dtype=object)
    for src in ("misreconstruction", "decays_in_flight", "non_hermeticity"):
        mine = np.zeros(len(t), dtype=bool)
        mine[bkg] = hand_src == src
        mine &= p
        hand = float(w[mine].sum()) * mot / mot_sample
        total += hand
        assert res.background[src].value == pytest.approx(hand, rel=1e-9, abs=1e-300), src
    assert total > 0
    assert res.total_background.value == pytest.approx(total, rel=1e-9)


def test_doubling_the_exposure_doubles_every_background(small_output):
    cuts = Cuts(p_out_max=80.0, hcal_max=6.0)
    one = Analysis(small_output, mot=2.5e10, projections=()).evaluate(cuts, limits=False)
    two = Analysis(small_output, mot=5.0e10, projections=()).evaluate(cuts, limits=False)
    assert one.total_background.value > 0
    for src in SOURCES:
        a, b = one.background[src], two.background[src]
        assert b.value == pytest.approx(2 * a.value, rel=1e-12, abs=1e-300)
        assert b.stat == pytest.approx(2 * a.stat, rel=1e-12, abs=1e-300)
        if a.upper is not None:
            assert b.upper == pytest.approx(2 * a.upper, rel=1e-12)
    assert two.total_background.value == pytest.approx(2 * one.total_background.value, rel=1e-12)


# --------------------------------------------------------------------------------------------
# (b) signal yield: units pb -> cm^2, n_A = N_A rho / A, L_T
# --------------------------------------------------------------------------------------------
def _sigma_vector_pb(m: float, g: float) -> float:
    """sigma(mu Pb -> mu Pb Z') [pb] for the L_mu-L_tau Z' at 160 GeV, x > 0, integrated here
    with scipy from the published WW double-differential (Bjorken, Essig, Schuster, Toro
    PRD 80 (2009) 075018 with the muon mass kept; Kirpichnikov et al. arXiv:2107.13297; DMG4
    DarkZ.cc), Tsai's elastic form factor with t_a = (m_e Z^1/3 / 111)^2, t_d = 0.164 A^-2/3 GeV^2,
    t_max = m^2 + m_mu^2, and eps^2 alpha = g^2 / (4 pi)."""
    e0, mm = E_BEAM, M_MU_GEV
    ta = (M_E_GEV * PB_Z ** (1 / 3) / 111.0) ** 2
    td = 0.164 * PB_A ** (-2 / 3)
    tmax = m * m + mm * mm

    def chi(tmin: float) -> float:
        f = lambda t: (t - tmin) / t**2 * (t / (t + ta)) ** 2 * (td / (t + td)) ** 2  # noqa: E731
        pts = [p for p in (ta, td) if tmin < p < tmax]
        return PB_Z**2 * integrate.quad(f, tmin, tmax, points=pts or None, limit=200, epsrel=1e-10)[0]

    def integrand(lt: float, x: float) -> float:
        th = math.exp(lt)
        u = -x * e0 * e0 * th * th - m * m * (1 - x) / x - mm * mm * x
        tmin = u * u / (4 * e0 * e0 * (1 - x) ** 2)
        if tmin >= tmax:
            return 0.0
        amp = 2 * (2 - 2 * x + x * x) / (1 - x) + 4 * (m * m + 2 * mm * mm) / u**2 * (
            u * x + m * m * (1 - x) + mm * mm * x * x)
        if amp <= 0:
            return 0.0
        return th * math.sin(th) * math.sqrt(x * x - m * m / e0**2) * (1 - x) / u**2 * amp * chi(tmin)

    def inner(x: float) -> float:
        th0 = math.log(math.sqrt((m * m * (1 - x) / x + mm * mm * x) / (x * e0 * e0)))
        pts = [th0 + k for k in (-2.0, 0.0, 2.0) if th0 + k < math.log(0.3)]
        return integrate.quad(integrand, th0 - 12, math.log(0.3), args=(x,), points=pts, limit=200,
                              epsrel=1e-8)[0]

    lo, hi = m / e0, 1 - m**4 / (8 * e0**3 * PB_A) - mm / e0
    pts = [p for p in (*lo * np.geomspace(1.001, 0.5 / lo, 10), *(1 - np.geomspace(0.5, 1 - hi, 10)[1:-1]))
           if lo < p < hi]
    val = integrate.quad(inner, lo, hi, points=pts, limit=300, epsrel=1e-7)[0]
    return HBARC2_PB * 2 * (g * g / (4 * math.pi)) * ALPHA_EM**2 * e0**2 * val


def test_cross_section_equals_scipy_integral_of_the_published_formula():
    """One WW cross-section value pinned against scipy on the formula written out above."""
    m, g = 0.1, 1e-4
    assert cross_section(m, g, model="vector", energy=E_BEAM, target="Pb") == pytest.approx(
        _sigma_vector_pb(m, g), rel=1e-4)


def test_signal_yield_per_mot_from_hand_units():
    """N_sig/MOT = BR n_A L_T sigma, with n_A = N_A rho/A and 1 pb = 1e-36 cm^2, all by hand
    (sigma in pb from :func:`cross_section`, pinned by the test above).
    m = 0.1 GeV < 2 m_mu: the L_mu-L_tau Z' decays only to neutrinos, BR(inv) = 1."""
    setup = default_setup()
    assert setup.target.material == "Pb"
    m, g = 0.1, 1e-4
    sigma_pb = cross_section(m, g, model="vector", energy=E_BEAM, target="Pb")
    assert 1e-3 < sigma_pb < 1e3  # pb: a unit slip of the cross-section itself would show here
    n_a = N_AVOGADRO * PB_DENSITY / PB_A  # nuclei / cm^3
    assert n_a == pytest.approx(3.299e22, rel=1e-3)
    l_t = float(setup.target.thickness)  # cm
    per_mot = n_a * l_t * sigma_pb * 1e-36
    assert float(yield_per_mot(m, g, setup=setup, model="vector")[0]) == pytest.approx(per_mot, rel=1e-4)
    n = signal_yield([m], g, setup=setup, efficiency=0.5, mot=2e10, model="vector")
    assert float(n[0]) == pytest.approx(2e10 * 0.5 * per_mot, rel=1e-4)


def test_analysis_signal_yield_scales_with_exposure(small_output):
    """The limit's reference yield is proportional to the requested exposure (N_sig ∝ N_MOT)."""
    a = Analysis(small_output, mot=1e10, projections=()).evaluate()
    b = Analysis(small_output, mot=3e10, projections=()).evaluate()
    np.testing.assert_allclose(b.signal_yield_ref, 3 * a.signal_yield_ref, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# (c) truth process -> published source, on generated events
# --------------------------------------------------------------------------------------------
def test_every_truth_process_maps_to_its_published_source():
    for name, code in CODES.items():
        if name == "signal":
            continue
        assert source_of_codes(np.array([code]))[0] == _hand_source(code), name


def test_generated_events_map_to_the_source_of_their_physics(small_fileset):
    """In simulated background events, an incoming pi+ or K+ (decay in flight) is source (II),
    a muon beam particle never is; a mismeasured MS2 momentum of a muon with no hadron is (I)."""
    seen = set()
    for path in small_fileset["background"]:
        with uproot.open(path) as f:
            ev = f["Events"].arrays(["GenPart_pdgId", "GenPart_status", "Gen_process", "Gen_mismeasured"],
                                    library="ak")
        incoming = ak.to_numpy(ak.firsts(ev.GenPart_pdgId[ev.GenPart_status == 0]))
        src = source_of_codes(ak.to_numpy(ev.Gen_process))
        hadron_decay = np.isin(np.abs(incoming), (211, 321))
        assert np.all(src[hadron_decay] == "decays_in_flight")
        assert np.all(src[~hadron_decay] != "decays_in_flight")
        pdg = abs(ev.GenPart_pdgId)
        hadron = (pdg == 2112) | (pdg == 211) | (pdg == 130) | (pdg == 2212) | (pdg == 321)
        has_hadron = ak.to_numpy(ak.any(hadron & (ev.GenPart_status == 1), axis=1))
        mis = ak.to_numpy(ev.Gen_mismeasured) & ~hadron_decay & ~has_hadron
        assert np.all(src[mis] == "misreconstruction")
        seen |= {"pi" for _ in range(int(np.any(np.abs(incoming) == 211)))}
        seen |= {"K" for _ in range(int(np.any(np.abs(incoming) == 321)))}
        seen |= {"mis" for _ in range(int(mis.any()))}
    assert seen == {"pi", "K", "mis"}, seen


# --------------------------------------------------------------------------------------------
# (d) systematic of source (I) from the published table
# --------------------------------------------------------------------------------------------
def test_background_systematics_are_the_published_relative_uncertainties(small_output):
    """(I) misreconstruction 0.05 +- 0.03 -> 0.6; (II) decays in flight 0.010 +- 0.001 -> 0.1
    (PRL 132 (2024) 211803), through background_by_source and through Analysis."""
    pub = {"misreconstruction": 0.03 / 0.05, "decays_in_flight": 0.001 / 0.010}
    b = default_setup().backgrounds
    assert b.misreconstruction.uncertainty / b.misreconstruction.value == pytest.approx(0.6)
    est = background_by_source([2.0, 3.0], ["misreconstruction", "decays_in_flight"], [True, True],
                               mot_sample=1.0, mot=1.0)
    for src, rel in pub.items():
        assert est[src].syst == pytest.approx(rel * est[src].value, rel=1e-12)
    res = Analysis(small_output, projections=()).evaluate(Cuts(p_out_max=80.0, hcal_max=6.0), limits=False)
    for src, rel in pub.items():
        assert res.background[src].value > 0
        assert res.background[src].syst == pytest.approx(rel * res.background[src].value, rel=1e-12)


# --------------------------------------------------------------------------------------------
# (e) the zero-event 90 % CL bound
# --------------------------------------------------------------------------------------------
def test_zero_event_bound_is_the_poisson_90_percent_limit(small_output, table_and_mot):
    """P(0 | mu) = exp(-mu) = 0.1  ->  mu = 2.302585... (not 2.996 at 95 %)."""
    assert ZERO_EVENT_UPPER == pytest.approx(2.302585092994046, rel=1e-12)
    est = background_by_source([0.5, 2.0], ["non_hermeticity"] * 2, [False, False],
                               mot_sample=10.0, mot=40.0)
    assert est["non_hermeticity"].value == 0.0
    assert est["non_hermeticity"].upper == pytest.approx(2.302585092994046 * 2.0 * 4.0, rel=1e-12)
    # through Analysis: a selection nothing passes (p_out below any simulated momentum)
    t, bkg, mot_sample = table_and_mot
    mot = 5e10
    res = Analysis(small_output, mot=mot, projections=()).evaluate(Cuts(p_out_max=0.5), limits=False)
    w = np.asarray(t.columns["genWeight"], dtype=float)
    codes = np.asarray(t.columns["process"])
    hand_src = np.array([_hand_source(c) for c in codes[bkg]], dtype=object)
    for src in ("misreconstruction", "decays_in_flight", "non_hermeticity"):
        mine = np.zeros(len(t), dtype=bool)
        mine[bkg] = hand_src == src
        if not mine.any():
            continue
        e = res.background[src]
        assert e.value == 0.0
        assert e.upper == pytest.approx(2.302585092994046 * w[mine].max() * mot / mot_sample, rel=1e-9)


# --------------------------------------------------------------------------------------------
# (f) the optimiser's search sees only the tuning half
# --------------------------------------------------------------------------------------------
def _poisoned(output, rows: np.ndarray, name: str, value: float):
    from na64tools.processor import CutTable

    t = output["table"]
    cols = {k: np.array(v, copy=True) for k, v in t.columns.items()}
    cols[name][rows] = value
    return {**output, "table": CutTable(cols, list(t.datasets), list(t.samples), list(t.files),
                                         dict(t.preselection))}


def test_optimiser_search_ignores_the_held_out_half(small_output):
    """Poisoning the held-out half's p_out values leaves the search (cut sets tried, chosen cuts)
    unchanged; poisoning the tuning half changes the cut sets tried. The split is by hash of
    (dataset, file, entry), so it is the same for the poisoned outputs."""
    from na64tools.interactive import CutExplorerModel
    from na64tools.interactive.optimise import split_mask

    kw = dict(mass=0.1, max_background=0.2, fields=("p_out_max",), sweeps=1, points=6)
    tuning = split_mask(small_output["table"])
    base = CutExplorerModel(small_output).optimise(**kw)
    held = CutExplorerModel(_poisoned(small_output, ~tuning, "p_out", 33.3)).optimise(**kw)
    assert held.cuts == base.cuts
    assert held.n_evaluations == base.n_evaluations
    assert held.tuning_best == base.tuning_best
    tuned = CutExplorerModel(_poisoned(small_output, tuning, "p_out", 33.3)).optimise(**kw)
    assert tuned.n_evaluations != base.n_evaluations


# --------------------------------------------------------------------------------------------
# survivors of the mutmut run (docs/testing.md): background_by_source / total_background by hand
# --------------------------------------------------------------------------------------------
def test_background_by_source_hand_numbers_at_three_times_the_sample_exposure():
    # weights 3 and 4 pass (source I), 2 and 5 fail (II and III); passed given as 0/1 integers
    est = background_by_source([3.0, 4.0, 2.0, 5.0],
                               ["misreconstruction", "misreconstruction", "decays_in_flight", "non_hermeticity"],
                               [1, 1, 0, 0], mot_sample=10.0, mot=30.0)
    mis, dif, nh, oth = (est[s] for s in ("misreconstruction", "decays_in_flight", "non_hermeticity", "other"))
    assert [e.source for e in (mis, dif, nh, oth)] == ["misreconstruction", "decays_in_flight",
                                                        "non_hermeticity", "other"]
    assert mis.value == pytest.approx(21.0) and mis.stat == pytest.approx(15.0)  # 7 x 3, 5 x 3
    assert mis.syst == pytest.approx(0.6 * 21.0) and mis.n_events == 2 and mis.upper is None
    assert dif.value == 0.0 and dif.n_events == 0
    assert dif.upper == pytest.approx(2.302585092994046 * 2.0 * 3.0)
    assert nh.upper == pytest.approx(2.302585092994046 * 5.0 * 3.0)
    assert oth.value == 0.0 and oth.upper is None  # no simulated event of that source: no bound
    tot = total_background(est)
    assert tot.source == "total" and tot.n_events == 2
    assert tot.value == pytest.approx(21.0) and tot.stat == pytest.approx(15.0)
    # own systematics replace the defaults
    own = background_by_source([3.0], ["misreconstruction"], [True], mot_sample=1.0, mot=1.0,
                               systematics={"misreconstruction": 0.25, "decays_in_flight": 0.0,
                                            "non_hermeticity": 0.0, "other": 0.0})
    assert own["misreconstruction"].syst == pytest.approx(0.75)


def test_total_background_adds_stat_in_quadrature_and_syst_linearly():
    from na64tools.stats.background import BackgroundEstimate

    parts = {"a": BackgroundEstimate("a", 1.0, 0.3, 0.5, 3), "b": BackgroundEstimate("b", 2.0, 0.4, 0.25, 4)}
    tot = total_background(parts)
    assert (tot.value, tot.n_events, tot.source) == (3.0, 7, "total")
    assert tot.stat == pytest.approx(0.5, rel=1e-12)  # 3-4-5
    assert tot.syst == pytest.approx(0.75, rel=1e-12)
    assert tot.error == pytest.approx(math.hypot(0.5, 0.75), rel=1e-12)


def test_background_by_source_input_checks():
    ok = background_by_source([0.0, 1.0], ["other", "other"], [True, False], mot_sample=1.0, mot=0.0)
    assert ok["other"].value == 0.0  # zero weights and zero exposure are valid
    assert background_by_source([1.0], ["other"], [True], mot_sample=2.0, mot=1.0,
                                systematics={s: 0.0 for s in SOURCES})["other"].syst == 0.0
    bad = [
        (dict(yields=[0.0, 0.5, -2.0], sources=["other"] * 3, passed=[True] * 3), "-2.0"),
        (dict(yields=[1.0, np.nan]), "nan"),
        (dict(mot_sample=0.0), "mot_sample=0.0"),
        (dict(mot_sample=np.inf), "mot_sample=inf"),
        (dict(mot=-1.0), "mot=-1.0"),
        (dict(mot=np.nan), "mot=nan"),
        (dict(sources=["other", "cosmics"]), "cosmics"),
        (dict(passed=[True]), "same length"),
        (dict(systematics={s: -0.1 for s in SOURCES}), "-0.1"),
    ]
    for kw, needle in bad:
        args = dict(yields=[1.0, 2.0], sources=["other", "other"], passed=[True, False], mot_sample=1.0,
                    mot=1.0)
        args.update(kw)
        with pytest.raises(ValueError, match=re.escape(needle)):
            background_by_source(args.pop("yields"), args.pop("sources"), args.pop("passed"), **args)


def _hand_br_vector(m: float) -> float:
    """BR(Z' -> nu nu) of the L_mu-L_tau Z' without dark decays: Gamma(nu nu, two flavours,
    one helicity) = g^2 m / (12 pi), Gamma(mu mu) = g^2 m / (12 pi) (1 + 2 r) sqrt(1 - 4 r),
    r = m_mu^2 / m^2, below the tau threshold (e.g. Bauer, Foldenauer, Jaeckel JHEP 07 (2018) 094)."""
    r = M_MU_GEV**2 / m**2
    mumu = (1 + 2 * r) * math.sqrt(1 - 4 * r) if 4 * r < 1 else 0.0
    return 1.0 / (1.0 + mumu)


def test_signal_yield_defaults_model_branching_and_efficiency_paths():
    setup = default_setup()
    n_a = N_AVOGADRO * PB_DENSITY / PB_A
    l_t = float(setup.target.thickness)
    m, g = 0.3, 1e-4  # above 2 m_mu: BR(inv) ~ 0.53
    sigma = cross_section(m, g, model="vector", energy=E_BEAM, target="Pb")
    hand = n_a * l_t * sigma * 1e-36 * _hand_br_vector(m)
    assert _hand_br_vector(m) == pytest.approx(0.530, abs=1e-3)
    # default exposure: the setup's run, 1.98e10 MOT (PRL 132 (2024) 211803)
    n = signal_yield([m], g, setup=setup, efficiency=0.25)
    assert float(n[0]) == pytest.approx(1.98e10 * 0.25 * hand, rel=1e-3)
    # a callable efficiency is evaluated at the masses
    n2 = signal_yield([m, m], g, setup=setup, efficiency=lambda ms: np.full(len(ms), 0.5), mot=1e10)
    np.testing.assert_allclose(n2, 1e10 * 0.5 * hand, rtol=1e-3)
    # x_min is passed on: sigma(x > 0.5) by hand
    s5 = cross_section(m, g, model="vector", energy=E_BEAM, target="Pb", x_min=0.5)
    n3 = signal_yield([m], g, setup=setup, efficiency=1.0, mot=1e10, x_min=0.5)
    assert float(n3[0]) == pytest.approx(1e10 * n_a * l_t * s5 * 1e-36 * _hand_br_vector(m), rel=1e-3)
    # the model is passed on: the scalar's cross-section, not the vector's
    ss = cross_section(0.1, g, model="scalar", energy=E_BEAM, target="Pb")
    n4 = signal_yield([0.1], g, setup=setup, efficiency=1.0, mot=1e10, model="scalar")
    assert float(n4[0]) == pytest.approx(1e10 * n_a * l_t * ss * 1e-36, rel=1e-3)  # BR = 1 below 2 m_mu
    # br_kwargs are passed on: an open dark channel (m_chi < m/2) raises BR(inv)
    n5 = signal_yield([m], g, setup=setup, efficiency=1.0, mot=1e10, br_kwargs={"m_chi": 0.05})
    assert float(n5[0]) > 1.2 * 1e10 * hand


def test_signal_yield_input_checks():
    setup = default_setup()
    kw = dict(setup=setup, efficiency=0.5, mot=1e10)
    for eff in (0.0, 1.0):  # the ends of [0, 1] are valid
        assert np.all(np.isfinite(signal_yield([0.1], 1e-4, **{**kw, "efficiency": eff})))
    assert float(signal_yield([0.1], 1e-4, **{**kw, "mot": 0.5})[0]) > 0  # any non-negative exposure
    assert float(signal_yield([0.1], 1e-4, **{**kw, "mot": 0.0})[0]) == 0.0
    for bad in (dict(efficiency=1.5), dict(efficiency=-0.1), dict(efficiency=np.nan),
                dict(mot=-1.0), dict(mot=np.inf)):
        with pytest.raises(ValueError):
            signal_yield([0.1], 1e-4, **{**kw, **bad})
    for g in (0.0, -1e-4, np.nan):
        with pytest.raises(ValueError, match="coupling"):
            signal_yield([0.1], g, **kw)


def test_analyse_passes_cuts_model_and_options(small_output, table_and_mot):
    from na64tools.analysis import analyse

    t, bkg, mot_sample = table_and_mot
    cuts = Cuts(p_out_max=70.0, hcal_max=6.0)
    p = passes(t.variables(), cuts)
    w = np.asarray(t.columns["genWeight"], dtype=float)
    r = analyse(small_output, cuts=cuts, model="vector", mot=4e10, projections=())
    assert r.total_background.value == pytest.approx(float(w[bkg & p].sum()) * 4e10 / mot_sample, rel=1e-9)
    assert r.projection is None and r.model == "vector"
    # the model reaches Analysis: the output has vector signal only, so "scalar" is refused
    with pytest.raises(ValueError, match="no signal sample for model 'scalar'"):
        analyse(small_output, model="scalar", projections=())


def test_efficiency_curve_range_ends_and_scalar_input(small_output):
    r = Analysis(small_output, projections=()).evaluate(limits=False)
    lo, hi = 0.01, 0.5  # the lightest and heaviest simulated masses (tests/conftest.py)
    assert r.curve(lo) == pytest.approx(r.efficiencies[lo].value, rel=1e-12)  # the ends are inside
    assert r.curve(hi) == pytest.approx(r.efficiencies[hi].value, rel=1e-12)
    assert np.ndim(r.curve(0.1)) == 0 and np.shape(r.curve([0.1, 0.2])) == (2,)
    for m in (0.99 * lo, 1.01 * hi):
        with pytest.raises(ValueError, match="outside the simulated range"):
            r.curve(m)
    masses, _ = Analysis(small_output, n_masses=17, projections=()).yield_grid("vector")
    assert len(masses) == 17 and masses[0] == pytest.approx(lo) and masses[-1] == pytest.approx(hi)


@pytest.fixture(scope="module")
def x_min_output(tmp_path_factory):
    """One signal mass (0.1 GeV) generated with x > 0.5, and a small background."""
    from na64tools.runner import run
    from na64tools.sim import simulate

    base = tmp_path_factory.mktemp("x_min")
    sig = simulate("signal", mass=0.1, events=1500, seed=3, x_min=0.5, out=base / "sig")
    bkg = simulate("background", events=20_000, seed=4, out=base / "bkg")
    return run({"signal_vector_m0.1": [str(p) for p in sig], "background": [str(p) for p in bkg]},
               executor="iterative", progress=False)


def test_single_mass_sample(x_min_output):
    """One signal mass: the limit grid is that mass and the efficiency curve is the measured
    N_pass/N_gen there (counted by hand on the cut table)."""
    out = x_min_output
    a = Analysis(out, projections=())
    masses, _ = a.yield_grid("vector")
    assert masses.tolist() == [0.1]
    r = a.evaluate(limits=False)
    t = out["table"]
    ds = np.asarray(t.datasets, dtype=object)[np.asarray(t.columns["dataset"])]
    n_pass = int(np.count_nonzero(passes(t.variables(), default_setup().cuts) & (ds == "signal_vector_m0.1")))
    assert 0 < n_pass < 1500
    assert r.curve(0.1) == pytest.approx(n_pass / 1500, rel=1e-12)


def test_yield_of_a_sample_generated_with_x_min_uses_sigma_above_x_min(x_min_output):
    a = Analysis(x_min_output, projections=())
    _, per_mot = a.yield_grid("vector")
    s5 = cross_section(0.1, a.g_ref, model="vector", energy=E_BEAM, target="Pb", x_min=0.5)
    hand = N_AVOGADRO * PB_DENSITY / PB_A * float(default_setup().target.thickness) * s5 * 1e-36  # BR = 1
    assert float(per_mot[0]) == pytest.approx(hand, rel=1e-4)


# --------------------------------------------------------------------------------------------
# survivors in selection.py: cut variables read from branches, checked with plain Python lists
# --------------------------------------------------------------------------------------------
def _branches(tracks, hcal, layout):
    """Raw branches of len(tracks) events; tracks are (p, chi2, hits) lists, hcal lists of energies."""
    n = len(tracks)

    def jag(lists, dtype):
        arr = ak.values_astype(ak.Array([list(x) for x in lists]), dtype)
        if layout == "offsets":
            return arr
        if layout == "listarray":  # starts/stops into a content that begins with two unused values
            counts = np.array([len(x) for x in lists], dtype=np.int64)
            content = np.concatenate([[-99, -99], [v for x in lists for v in x]]).astype(dtype)
            starts = 2 + np.concatenate([[0], np.cumsum(counts)[:-1]])
            lay = ak.contents.ListArray(ak.index.Index64(starts), ak.index.Index64(starts + counts),
                                        ak.contents.NumpyArray(content))
            return ak.Array(lay)
        if layout == "option":  # an option layer over the lists: the generic ak.num/flatten path
            return ak.Array(ak.contents.UnmaskedArray(ak.to_layout(arr)))
        raise ValueError(layout)

    flat = ak.Array if layout == "option" else np.asarray  # flat branches as awkward arrays too
    out = {
        "Beam_p": np.linspace(150, 170, n).astype(np.float32),
        "Beam_chi2": np.full(n, 1.5, np.float32),
        "Track_p": jag([[t[0] for t in ev] for ev in tracks], np.float32),
        "Track_chi2": jag([[t[1] for t in ev] for ev in tracks], np.float32),
        "Track_nhits": jag([[t[2] for t in ev] for ev in tracks], np.int32),
        "HCAL_energy": jag(hcal, np.float32),
        "ECAL_energy": np.full(n, 0.3, np.float32),
        "VETO_energy": np.zeros(n, np.float32),
        "VHCAL_energy": np.zeros(n, np.float32),
        "Trigger_scattered": np.array([True, False, True, True][:n] + [True] * max(0, n - 4)),
    }
    return {k: (flat(v) if isinstance(v, np.ndarray) else v) for k, v in out.items()}


@pytest.mark.parametrize("layout", ["offsets", "listarray", "option"])
def test_cut_variables_from_branches_by_hand(layout):
    from na64tools.selection import variables_from_branches

    tracks = [[], [(70.5, 1.25, 11), (120.0, 0.5, 9)], [(33.0, 2.0, 12)], [], [(90.0, 0.75, 8)] * 3]
    hcal = [[0.5, 0.25], [], [1.0], [2.0, 0.5, 0.25], []]
    v = variables_from_branches(_branches(tracks, hcal, layout))
    assert v["n_tracks"].tolist() == [0, 2, 1, 0, 3]
    assert v["p_out"].tolist() == [math.inf, 70.5, 33.0, math.inf, 90.0]
    assert v["track_chi2"].tolist() == [math.inf, 1.25, 2.0, math.inf, 0.75]
    assert v["track_hits"].tolist() == [0, 11, 12, 0, 8]
    assert v["hcal"].tolist() == [0.75, 0.0, 1.0, 2.75, 0.0]
    assert v["p_in"].tolist() == [150.0, 155.0, 160.0, 165.0, 170.0]
    assert v["beam_chi2"].tolist() == [1.5] * 5
    assert v["ecal"].tolist() == pytest.approx([0.3] * 5, rel=1e-7)  # float32 0.3
    assert v["veto"].tolist() == [0.0] * 5 and v["vhcal"].tolist() == [0.0] * 5
    assert v["trigger"].tolist() == [True, False, True, True, True]
    assert all(a.dtype == np.float64 for k, a in v.items() if k != "trigger")
    assert v["trigger"].dtype == bool
    # no track anywhere: every p_out is +inf, every hit count 0
    v0 = variables_from_branches(_branches([[], []], [[], [1.0]], layout))
    assert v0["p_out"].tolist() == [math.inf, math.inf] and v0["track_hits"].tolist() == [0, 0]
    assert v0["hcal"].tolist() == [0.0, 1.0]


def test_yield_follows_the_setup_beam_energy_target_material_and_default_model():
    """A 100 GeV beam on a 10 cm W target: n_A = N_A 19.3/183.84 (PDG), sigma at 100 GeV on W."""
    import dataclasses

    from na64tools.config import Quantity

    base = default_setup()
    setup = base.replace(
        beam=dataclasses.replace(base.beam, energy=Quantity(100.0, "GeV", source="test")),
        target=dataclasses.replace(base.target, material="W", thickness=Quantity(10.0, "cm", source="test")))
    m, g = 0.1, 1e-4
    sigma = cross_section(m, g, model="vector", energy=100.0, target="W")
    assert sigma != pytest.approx(cross_section(m, g, model="vector", energy=160.0, target="Pb"), rel=0.05)
    hand = N_AVOGADRO * 19.3 / 183.84 * 10.0 * sigma * 1e-36  # BR = 1 below 2 m_mu
    assert float(yield_per_mot(m, g, setup=setup)[0]) == pytest.approx(hand, rel=1e-4)  # default model
    assert float(signal_yield([m], g, setup=setup, efficiency=1.0, mot=1.0)[0]) == pytest.approx(hand, rel=1e-4)


def test_source_of_codes_signal_and_range_checks():
    assert source_of_codes(np.array([CODES["signal"], CODES["mip"]])).tolist() == ["signal", "misreconstruction"]
    assert source_of_codes(np.array([], dtype=np.int64)).tolist() == []
    n = len(CODES)
    for codes, bad in (([0, 3, n], n), ([n - 1, -1], -1), ([0, n + 5, -2], n + 5)):
        with pytest.raises(ValueError, match=rf"code (np\.int64\()?{re.escape(str(bad))}\b"):
            source_of_codes(np.array(codes))
    assert source_of_codes(np.array([n - 1]))[0] == "decays_in_flight"  # the last valid code


def test_branching_fraction_is_that_of_the_requested_model():
    """Above 2 m_mu: the muon-philic scalar decays to muons (BR(inv) = 0 in the default scalar
    model, docs of br_invisible), the dark photon to chi chi with alpha_D = 0.1 >> eps^2 alpha
    (BR ~ 1), the L_mu-L_tau Z' half to neutrinos (hand formula above)."""
    setup = default_setup()
    n_a_l = N_AVOGADRO * PB_DENSITY / PB_A * float(setup.target.thickness)
    m = 0.3
    assert float(yield_per_mot(m, 1e-4, setup=setup, model="scalar")[0]) == 0.0
    s_dp = cross_section(m, 1e-4, model="dark_photon", energy=E_BEAM, target="Pb")
    assert float(yield_per_mot(m, 1e-4, setup=setup, model="dark_photon")[0]) == pytest.approx(
        n_a_l * s_dp * 1e-36, rel=1e-6)
    s_v = cross_section(m, 1e-4, model="vector", energy=E_BEAM, target="Pb")
    assert float(yield_per_mot(m, 1e-4, setup=setup, model="vector")[0]) == pytest.approx(
        n_a_l * s_v * 1e-36 * _hand_br_vector(m), rel=1e-4)


def test_cut_masks_by_hand():
    """One event passing every published cut, then one event per cut that fails only that cut
    (values well away from the cut edges, except the integer edges that define the selection:
    exactly one track, at least track_hits_min hits)."""
    from na64tools.selection import CUTFLOW, cumulative_masks, cut_masks

    good = dict(p_in=160.0, beam_chi2=1.0, n_tracks=1.0, track_chi2=1.0, track_hits=8.0, p_out=40.0,
                ecal=0.35, hcal=1.0, veto=0.005, vhcal=0.1, trigger=True)
    bad = [("trigger", "trigger", False), ("beam", "p_in", 140.0), ("beam", "p_in", 180.0),
           ("beam", "beam_chi2", 5.0), ("n_tracks", "n_tracks", 0.0), ("n_tracks", "n_tracks", 2.0),
           ("track_quality", "track_chi2", 5.0), ("track_quality", "track_hits", 7.0),
           ("p_out", "p_out", 100.0), ("ecal", "ecal", 2.0), ("hcal", "hcal", 6.0),
           ("veto", "veto", 0.05), ("vhcal", "vhcal", 3.0)]
    rows = [good] + [{**good, var: val} for _, var, val in bad]
    v = {k: np.array([r[k] for r in rows], dtype=bool if k == "trigger" else float) for k in good}
    cuts = default_setup().cuts
    masks = cut_masks(v, cuts)
    assert list(masks) == list(CUTFLOW)
    for name, m in masks.items():
        expected = [True] + [cut != name for cut, _, _ in bad]
        assert m.tolist() == expected, name
    assert passes(v, cuts).tolist() == [True] + [False] * len(bad)
    cum = cumulative_masks(v, cuts)
    assert cum["all"].all() and cum[CUTFLOW[-1]].tolist() == passes(v, cuts).tolist()
    # the ECAL lower edge, used when ecal_min > 0
    assert cut_masks(v, cuts.replace(ecal_min=0.5))["ecal"][0] == np.False_


def test_evaluate_passes_cl_and_signal_uncertainty_to_the_limit(small_output):
    """With 0 observed events the CLs event limit is -ln(1 - CL) whatever the background:
    2.3026 at 90 % and 2.9957 at 95 % without signal uncertainty (Read, J. Phys. G 28 (2002)
    2693); a 10 % signal uncertainty pushes it up a little."""
    cuts = default_setup().cuts
    r90 = Analysis(small_output, signal_uncertainty=0.0).evaluate(cuts)
    assert float(r90.limit.events_observed) == pytest.approx(-math.log(0.1), rel=2e-3)
    r95 = Analysis(small_output, cl=0.95, signal_uncertainty=0.0).evaluate(cuts)
    assert float(r95.limit.events_observed) == pytest.approx(-math.log(0.05), rel=2e-3)
    assert r95.projection is not None and r95.projection.cl == 0.95
    r10 = Analysis(small_output, signal_uncertainty=0.1).evaluate(cuts)
    assert -math.log(0.1) * 1.001 < float(r10.limit.events_observed) < 2.45
    # the Result carries what was asked
    assert (r95.cuts, r95.mot, r95.model, r95.g_ref) == (cuts, 1.98e10, "vector", 1e-4)
    nolim = Analysis(small_output, mot=3e10).evaluate(cuts, limits=False)
    assert nolim.limit is None and nolim.projection is None and nolim.signal_yield_ref is None
    assert nolim.mot == 3e10
