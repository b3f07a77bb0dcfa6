"""The signal-model registry (na64tools.models): registration rules, the shipped models unchanged,
and a user model defined in a small Python file going through the same chain as the shipped
ones (simulate -> run -> limits, command line and Python API, Dask worker processes).

The user model is the L_mu-L_tau vector model with its cross-section doubled (the same (x, θ)
distribution and BR): its expected signal events per MOT must be exactly twice the vector ones,
its generated events the same (same seed), and its coupling limit the vector one divided by √2
(the limit is on N_sig ∝ σ g²) — values fixed by the definition, not by the code under test.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import uproot

from na64tools import models
from na64tools.models import (
    Model,
    available_models,
    get_model,
    load_model_file,
    model_from_info,
    register_model,
)

ROOT = Path(__file__).resolve().parents[1]

USER_MODEL = textwrap.dedent('''
    """Test model: the L_mu-L_tau Z' with its production cross-section doubled."""
    from na64tools.models import Model, register_model
    from na64tools.physics import br_invisible, get_sampler


    class Doubled:
        def __init__(self, inner):
            self.inner = inner
            self.sigma = 2.0 * inner.sigma

        def sigma_at(self, coupling):
            return 2.0 * self.inner.sigma_at(coupling)

        def sample(self, n, rng):
            return self.inner.sample(n, rng)


    def make_sampler(mass, energy, material, x_min):
        return Doubled(get_sampler(mass, model="vector", energy=energy, target=material, x_min=x_min))


    def br(mass, coupling):
        return float(br_invisible(mass, coupling, "vector"))


    register_model(Model(
        name="double_vector", label="twice the L_mu-L_tau Z'", coupling="g_2",
        coupling_label="g_2", coupling_unit="", pdgid=9900032,
        reference="twice Bjorken, Essig, Schuster, Toro, PRD 80 (2009) 075018 (test model)",
        description="The vector model with a doubled cross-section (a test of the registry).",
        make_sampler=make_sampler, br_invisible=br))
''')

MASSES = (0.1, 0.5)
EVENTS = 3000


def _run(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="agg")
    return subprocess.run([sys.executable, "-m", "na64tools", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "double_model.py"
    path.write_text(USER_MODEL)
    return path


@pytest.fixture(scope="module")
def user_model(model_file) -> Model:
    assert load_model_file(model_file) == ("double_vector",)
    return get_model("double_vector")


def _dummy(model_name: str, **kw) -> Model:
    spec = dict(name=model_name, label="dummy", coupling="g", coupling_label="g", coupling_unit="",
                pdgid=9900001, reference="none (a test)", description="A test model.",
                make_sampler=models._x_sampler, br_invisible=models._x_br)
    spec.update(kw)
    return Model(**spec)


@pytest.fixture
def clean_registry():
    """Restore the registry after a test that registers models."""
    before = dict(models._REGISTRY)
    yield
    models._REGISTRY.clear()
    models._REGISTRY.update(before)


# --------------------------------------------------------------------------- registry rules


def test_shipped_models_are_registered_first():
    assert available_models()[:3] == ("vector", "dark_photon", "scalar")
    from na64tools.physics.cross_section import MODELS
    from na64tools.sim import MODELS as SIM_MODELS

    assert SIM_MODELS == ("vector", "dark_photon", "scalar")  # backward compatible constant
    assert set(MODELS) == {*SIM_MODELS, "alp"}  # the models of the WW cross-section code
    assert models.SHIPPED_MODELS == (*SIM_MODELS, "alp", "millicharged", "lfv_tau", "lfv_e")
    assert set(models.SHIPPED_MODELS) == models._BUILTIN


def test_unknown_model_error_names_it_and_the_available_ones():
    with pytest.raises(ValueError) as err:
        get_model("no_such_model")
    msg = str(err.value)
    assert "'no_such_model'" in msg and "vector, dark_photon, scalar" in msg
    assert "--model-file" in msg and "\n" not in msg


def test_duplicate_registration_is_refused_and_replace_allows_it(clean_registry):
    first = register_model(_dummy("dup_test"))
    with pytest.raises(ValueError, match="'dup_test' is already registered"):
        register_model(_dummy("dup_test", label="another"))
    assert get_model("dup_test") is first
    second = register_model(_dummy("dup_test", label="another"), replace=True)
    assert get_model("dup_test") is second and second.label == "another"
    with pytest.raises(ValueError, match="already registered"):
        register_model(_dummy("vector"))  # a shipped model is not replaced by accident


@pytest.mark.parametrize("bad, match", [
    (dict(name="Bad Name"), "lower-case"),
    (dict(label=""), "label must be a non-empty string"),
    (dict(pdgid="32"), "pdgid must be an integer"),
    (dict(make_sampler=None), "make_sampler must be callable"),
])
def test_invalid_model_fields_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        _dummy("ok_name", **bad)


def test_model_from_info_takes_the_physics_modules_interface(clean_registry):
    info = dict(name="info_test", label="info", coupling="g", coupling_label=r"g_{a\mu\mu}",
                coupling_unit="GeV^-1", pdgid=9900002, reference="a test", description="A test.")
    m = register_model(model_from_info(info, make_sampler=models._x_sampler,
                                       br_invisible=models._x_br))
    assert get_model("info_test") is m
    assert m.coupling_label == r"$g_{a\mu\mu}$"  # math text delimiters added
    from na64tools.plotting import coupling_label, mass_label

    assert coupling_label("info_test") == r"$g_{a\mu\mu}$ [GeV^-1]"
    assert mass_label("info_test") == "$m_{X}$ [GeV]"


def test_register_module_reads_the_physics_module_interface(clean_registry):
    """What the lead writes for a new physics module: one register_module call."""
    import types

    mod = types.ModuleType("fake_physics")
    mod.MODEL_INFO = dict(name="fake_alp", label="fake ALP", coupling="g_amumu",
                          coupling_label=r"$g_{a\mu\mu}$", coupling_unit="GeV^-1", pdgid=9000005,
                          reference="a test", description="A test.")
    mod.make_sampler = models._x_sampler
    mod.br_invisible = models._x_br
    m = models.register_module(mod, mass_symbol="a")
    assert get_model("fake_alp") is m and m.mass_symbol == "a" and m.pdgid == 9000005
    mod.MODEL_INFO = dict(mod.MODEL_INFO, name="fake2", colour="red")
    with pytest.raises(ValueError, match="unknown key.*colour"):
        models.register_module(mod)
    with pytest.raises(ValueError, match="fake_physics"):
        models.register_module(mod, info="MODEL_INFO_TAU")


def test_shipped_labels_are_unchanged():
    from na64tools.plotting import coupling_label, mass_label

    assert [coupling_label(m) for m in ("vector", "scalar", "dark_photon", "")] == [
        r"$g_{Z^\prime}$", "$g_S$", r"$\epsilon$", "$g$"]
    assert mass_label("vector") == r"$m_{Z^\prime}$ [GeV]"
    assert get_model("scalar").pdgid == 9000006 and get_model("dark_photon").pdgid == 32


def test_shipped_yield_is_the_physics_formula():
    """N/MOT = n_A L σ BR with σ and BR of na64tools.physics (what the chain used before)."""
    from na64tools.config import default_setup
    from na64tools.physics import br_invisible, cross_section, material
    from na64tools.stats.signal import yield_per_mot

    setup = default_setup()
    mat = material(setup.target.material)
    for model in ("vector", "dark_photon", "scalar"):
        m = [0.05, 0.2]
        got = yield_per_mot(m, 1e-4, setup=setup, model=model)
        want = [mat.n_atoms * float(setup.target.thickness) * 1e-36
                * cross_section(mi, 1e-4, model=model, energy=float(setup.beam.energy), target=mat.name)
                * float(br_invisible(mi, 1e-4, model)) for mi in m]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_model_file_with_an_error_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "broken_model.py"
    bad.write_text("x = 1\nraise RuntimeError('oops')\n")
    with pytest.raises(ValueError) as err:
        load_model_file(bad)
    assert str(bad) in str(err.value) and "line 2" in str(err.value) and "oops" in str(err.value)
    empty = tmp_path / "empty_model.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="registers no model"):
        load_model_file(empty)
    with pytest.raises(ValueError, match="cannot read it"):
        load_model_file(tmp_path / "missing.py")
    proc = _run("simulate", "--sample", "signal", "--model-file", bad, "--model", "x", "--mass", 0.1,
                "--events", 100, "--out", tmp_path / "o", "--no-progress")
    assert proc.returncode == 1
    err_lines = proc.stderr.strip().splitlines()
    assert len(err_lines) == 1 and str(bad) in err_lines[0] and "Traceback" not in proc.stderr


def test_loading_the_same_file_twice_is_allowed(model_file, user_model):
    assert load_model_file(model_file) == ("double_vector",)
    assert get_model("double_vector").source == user_model.source


def test_entry_points_are_loaded_once(monkeypatch, clean_registry):
    """An installed package's entry point (group na64tools.models) registers its model lazily."""
    import importlib.metadata as md

    calls = []

    class EP:
        name, value = "fake", "fake_pkg:model"

        def load(self):
            calls.append(1)
            return lambda: _dummy("from_entry_point")

    class Broken(EP):
        name = "broken"

        def load(self):
            raise ImportError("no module fake_pkg2")

    monkeypatch.setattr(md, "entry_points", lambda group: [EP(), Broken()] if group == models.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(models, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setattr(models, "_BROKEN", {})
    with pytest.warns(RuntimeWarning, match="'broken'"):
        assert "from_entry_point" in available_models()
    assert get_model("from_entry_point").name == "from_entry_point"
    available_models()
    assert calls == [1]
    with pytest.raises(ValueError, match="entry point 'broken' failed to load"):
        get_model("not_there")


# --------------------------------------------------------------------------- the user model


def test_user_yield_is_exactly_twice_the_vector_one(user_model):
    from na64tools.config import default_setup
    from na64tools.stats.signal import yield_per_mot

    setup = default_setup()
    m = [0.02, 0.1, 0.5, 2.0]
    vec = yield_per_mot(m, 3e-4, setup=setup, model="vector")
    usr = yield_per_mot(m, 3e-4, setup=setup, model="double_vector")
    np.testing.assert_allclose(usr, 2.0 * vec, rtol=1e-12)
    assert np.all(vec > 0)


def test_user_model_plan_and_pickle(user_model):
    """The plan carries the model; pickled, a file model travels as its source text."""
    from na64tools.sim import make_plan

    vec = make_plan("signal", model="vector", mass=0.1, events=1000)
    usr = make_plan("signal", model="double_vector", mass=0.1, events=1000)
    user_model = get_model("double_vector")  # (a later load of the same file re-registers it)
    assert usr.model == "double_vector" and usr.signal_model is user_model
    assert usr.sigma_pb == pytest.approx(2.0 * vec.sigma_pb, rel=1e-12)
    assert usr.mot == pytest.approx(vec.mot / 2.0, rel=1e-12)  # twice the rate: half the MOT
    blob = pickle.dumps(user_model)
    assert b"_model_from_source" in blob and user_model.source[1].encode() in blob
    assert pickle.loads(blob) is user_model  # known in this process: the registered object
    assert pickle.loads(pickle.dumps(get_model("vector"))) is get_model("vector")


def test_user_model_reaches_a_fresh_process(user_model, tmp_path):
    """A worker process that never loaded the file gets the model from the pickled plan and
    generates the same events as this process."""
    from na64tools.sim import make_plan
    from na64tools.sim.generator import events_range

    plan = make_plan("signal", model="double_vector", mass=0.1, events=500, seed=3)
    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(plan))
    script = ("import pickle, sys, numpy as np\n"
              "from na64tools import models\n"
              "assert 'double_vector' not in models._REGISTRY\n"
              "from na64tools.sim.generator import events_range\n"
              "plan = pickle.load(open(sys.argv[1], 'rb'))\n"
              "b = events_range(plan, 0, 500)\n"
              "np.save(sys.argv[2], np.asarray(b['Gen_x']))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script, tmp_path / "plan.pkl", tmp_path / "x.npy"],
                   check=True, env=env, timeout=300)
    here = np.asarray(events_range(plan, 0, 500)["Gen_x"])
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), here)


def test_user_model_on_dask_worker_processes(user_model, tmp_path):
    """simulate(client=...) with worker processes: the model registered here only reaches them."""
    distributed = pytest.importorskip("distributed")
    from na64tools.sim import simulate

    serial = simulate("signal", model="double_vector", mass=0.1, events=2000, seed=5,
                      out=tmp_path / "serial", files=2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster) as client:
        assert "double_vector" not in client.run(lambda: list(models._REGISTRY)).popitem()[1]
        remote = simulate("signal", model="double_vector", mass=0.1, events=2000, seed=5,
                          out=tmp_path / "dask", files=2, client=client)
    for a, b in zip(serial, remote, strict=True):
        ea, eb = uproot.open(a)["Events"].arrays(library="np"), uproot.open(b)["Events"].arrays(library="np")
        assert ea.keys() == eb.keys()
        for k in ea:
            np.testing.assert_array_equal(np.concatenate(ea[k]) if ea[k].dtype == object else ea[k],
                                          np.concatenate(eb[k]) if eb[k].dtype == object else eb[k])


def test_unpicklable_model_is_refused_before_the_workers(clean_registry, tmp_path):
    from na64tools.sim.parallel import _check_shippable
    from na64tools.sim.plan import make_plan

    class NoPickle:
        def __call__(self, *a, **k):
            return models._x_br(*a, model="vector", **k)

        def __reduce__(self):
            raise TypeError("not picklable")

    register_model(_dummy("nopickle", br_invisible=NoPickle(),
                          make_sampler=lambda m, e, mat, x: models._x_sampler(m, e, mat, x, model="vector")))
    plan = make_plan("signal", model="nopickle", mass=0.1, events=100)
    with pytest.raises(ValueError, match="cannot be sent to the Dask workers"):
        _check_shippable(plan)


# --------------------------------------------------------------------------- the whole chain


@pytest.fixture(scope="module")
def chain(model_file, tmp_path_factory):
    """simulate (CLI, one fresh process per sample) -> run (CLI) for the vector and the user
    model at the same masses and seeds, with one background sample."""
    d = tmp_path_factory.mktemp("chain")
    sim = d / "sim"
    procs = [_run("simulate", "--sample", "background", "--events", 20000, "--seed", 1,
                  "--out", sim, "--no-progress")]
    for i, m in enumerate(MASSES):
        procs.append(_run("simulate", "--sample", "signal", "--model", "vector", "--mass", m,
                          "--events", EVENTS, "--seed", 10 + i, "--out", sim, "--no-progress"))
        procs.append(_run("simulate", "--sample", "signal", "--model-file", model_file, "--model",
                          "double_vector", "--mass", m, "--events", EVENTS, "--seed", 10 + i,
                          "--out", sim, "--no-progress"))
    for p in procs:
        assert p.returncode == 0, p.stderr
    run = _run("run", sim, "--workers", 1, "--no-progress", "--out", d / "run")
    assert run.returncode == 0, run.stderr
    return d


def test_chain_files_store_the_user_model(chain):
    files = sorted((chain / "sim").glob("signal_double_vector_m0.1_*.root"))
    vec = sorted((chain / "sim").glob("signal_vector_m0.1_*.root"))
    assert len(files) == len(vec) == 1
    ru, rv = (uproot.open(f)["Runs"].arrays(library="np") for f in (files[0], vec[0]))
    assert ru["model"][0] == "double_vector"
    assert ru["sigma"][0] == pytest.approx(2.0 * rv["sigma"][0], rel=1e-12)
    assert ru["mot"][0] == pytest.approx(rv["mot"][0] / 2.0, rel=1e-12)
    gu = uproot.open(files[0])["Events"]["GenPart_pdgId"].array(library="np")
    assert 9900032 in np.concatenate(gu)


def test_chain_limits_cli_with_the_model_file(chain, model_file):
    proc = _run("limits", chain / "run", "--model-file", model_file, "--model", "double_vector",
                "--out", chain / "lim_user")
    assert proc.returncode == 0, proc.stderr
    assert "model double_vector" in proc.stdout and "g_2 observed" in proc.stdout
    assert (chain / "lim_user" / "exclusion.png").exists()
    assert not (chain / "lim_user" / "ldm.png").exists()  # no LDM interpretation for this model
    report = (chain / "lim_user" / "report.md").read_text()
    assert "double_vector" in report


def test_chain_limits_cli_without_the_model_file_says_what_to_do(chain):
    proc = _run("limits", chain / "run", "--model", "double_vector", "--out", chain / "lim_none")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'double_vector'" in lines[0] and "--model-file" in lines[0]
    proc = _run("limits", chain / "run", "--model", "nope", "--out", chain / "lim_nope")
    assert proc.returncode == 1 and "unknown model 'nope'" in proc.stderr


def test_chain_python_api_limit_is_the_vector_one_over_sqrt2(chain, user_model):
    """Same seeds: identical events, so the same efficiencies; twice the yield, so the coupling
    limit (on N ∝ σ g²) is the vector one divided by √2."""
    from na64tools.analysis import Analysis
    from na64tools.output import load_output

    analysis = Analysis(load_output(chain / "run" / "output.json"))
    assert analysis.models == ["double_vector", "vector"]
    usr = analysis.evaluate(model="double_vector")
    vec = analysis.evaluate(model="vector")
    assert {m: e.value for m, e in usr.efficiencies.items()} == {m: e.value for m, e in vec.efficiencies.items()}
    np.testing.assert_allclose(usr.limit.observed, vec.limit.observed / math.sqrt(2.0), rtol=1e-6)
    np.testing.assert_allclose(usr.limit.expected.median, vec.limit.expected.median / math.sqrt(2.0),
                               rtol=1e-6)


def test_chain_cut_explorer_and_plots_for_the_user_model(chain, user_model):
    """The CutExplorer and the exclusion plot take the user model: its coupling label, no (g-2)
    band (the model has none), its reference lines."""
    import dataclasses

    import matplotlib.pyplot as plt

    from na64tools.analysis import Analysis
    from na64tools.interactive import CutExplorer
    from na64tools.output import load_output
    from na64tools.plotting import plot_exclusion

    output = load_output(chain / "run" / "output.json")
    e = CutExplorer(output, model="double_vector")
    assert e.message_html.value == ""
    svg = e.panels["limit"].value
    assert svg.startswith("<svg") and "coupling g_2" in svg and "(g−2)" not in svg
    result = Analysis(output).evaluate(model="double_vector")
    line = models.ReferenceCurve("a digitised constraint", np.array([0.1, 0.5]), np.array([1e-3, 2e-3]),
                                 "a test, not a publication")
    with_line = dataclasses.replace(get_model("double_vector"), name="double_vector_ref",
                                    source=None, reference_lines=(lambda m: line,))
    register_model(with_line, replace=True)
    try:
        fig, ax = plot_exclusion(result.limit, model="double_vector_ref")
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("a digitised constraint" in t for t in labels)
        assert not any("g-2" in t for t in labels)
        assert ax.get_ylabel() == "$g_2$"
        plt.close(fig)
    finally:
        models._REGISTRY.pop("double_vector_ref", None)


def test_physics_module_models_are_imported_when_first_asked_for():
    """alp, millicharged and lfv_tau are listed without importing their modules (fast CLI help);
    get_model imports and registers them; a user model cannot take their names silently."""
    code = ("import sys, na64tools.models as m; names = m.available_models(); "
            "before = 'na64tools.physics.alp' in sys.modules; a = m.get_model('alp'); "
            "print(names[3:6], before, 'na64tools.physics.alp' in sys.modules, a.pdgid, "
            "m.get_model('alp') is a)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.stdout.split() == ["('alp',", "'millicharged',", "'lfv_tau')", "False", "True",
                                  "9000005", "True"]


def test_a_user_model_cannot_take_a_lazily_registered_name(clean_registry):
    with pytest.raises(ValueError, match="'millicharged' is already registered"):
        register_model(_dummy("millicharged"))


@pytest.mark.parametrize("name", ["vector", "dark_photon", "scalar", "alp", "millicharged",
                                  "lfv_tau", "lfv_e"])
def test_shipped_models_scale_as_the_coupling_squared(name):
    """Every printed coupling limit is g_ref sqrt(s_up / N(g_ref)): N ∝ g² must hold."""
    from na64tools.config import default_setup
    from na64tools.stats.signal import check_coupling_scaling, yield_per_mot

    mass = {"lfv_tau": 1.77693, "lfv_e": 0.000511}.get(name, 0.1)
    setup = default_setup()
    check_coupling_scaling([mass], 1e-4, setup=setup, model=name)
    n1, n3 = (yield_per_mot([mass], g, setup=setup, model=name)[0] for g in (1e-4, 3e-4))
    assert n3 / n1 == pytest.approx(9.0, rel=1e-6)


def test_a_coupling_dependent_invisible_fraction_is_refused(clean_registry):
    """The long-lived ALP (decays inside the detector removed, P ∝ exp(-L/ell), ell ∝ 1/g²):
    N(2g)/N(g) = 4 P(2g)/P(g) != 4, and the Analysis's limit scaling must refuse it, naming
    the ratio computed here by hand from the decay probability."""
    import functools

    from na64tools.config import default_setup
    from na64tools.physics import alp
    from na64tools.stats.signal import check_coupling_scaling

    info = dict(alp.MODEL_INFO, name="alp_long_lived")
    register_model(models.model_from_info(
        info, make_sampler=alp.make_sampler,
        br_invisible=functools.partial(alp.br_invisible, mode="long-lived")))
    g, m = 1e-3, 0.1
    p1 = alp.br_invisible(m, g, mode="long-lived")
    p2 = alp.br_invisible(m, 2 * g, mode="long-lived")
    assert p2 < p1 < 1.0
    with pytest.raises(ValueError, match="does not scale as the coupling squared") as err:
        check_coupling_scaling([m], g, setup=default_setup(), model="alp_long_lived")
    assert f"{4 * p2 / p1:.6g}" in str(err.value) and "'alp_long_lived'" in str(err.value)
