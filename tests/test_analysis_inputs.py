"""Outputs that must not turn into physics silently: partial runs, missing samples, one mass,
another exposure (docs/scale.md, "Bad input")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import uproot

from na64tools import default_setup
from na64tools.analysis import Analysis, samples_from_output
from na64tools.completeness import PartialOutputError, check_physics_ready
from na64tools.interactive.model import CutExplorerModel
from na64tools.runner import run

CHUNK = 50  # below the smallest file of the small samples (~190 triggered signal events)


def _run(fileset, **kw):
    return run(fileset, executor="iterative", progress=False, **kw)


@pytest.fixture(scope="module")
def partial(small_fileset):
    """The first chunk of every dataset only (maxchunks=1)."""
    return _run(small_fileset, chunksize=CHUNK, maxchunks=1)


@pytest.fixture(scope="module")
def runs_trees(small_fileset):
    """The Runs tree of every file, read with uproot (independently of the processor)."""
    out = {}
    for ds, files in small_fileset.items():
        for f in files:
            with uproot.open(f) as fh:
                out[(ds, f)] = fh["Runs"].arrays(["mot", "nGenerated", "nWritten"], library="np")
    return out


def test_processed_events_are_recorded_per_file(partial, small_output, small_fileset, runs_trees):
    assert partial["complete"] is False
    for ds, files in small_fileset.items():
        for f in files:
            n_written = int(runs_trees[(ds, f)]["nWritten"][0])
            assert small_output["processed"][ds][f] == n_written
            # the events in the partial output: those of its "all" cutflow stage (one file each)
            assert partial["processed"][ds][f] == partial["cutflow"][ds]["all"].events
            assert 0 < partial["processed"][ds][f] < n_written


def test_partial_output_is_refused_with_one_line(partial):
    for make in (lambda: Analysis(partial), lambda: samples_from_output(partial),
                 lambda: CutExplorerModel(partial), lambda: check_physics_ready(partial)):
        with pytest.raises(PartialOutputError) as err:
            make()
        msg = str(err.value)
        assert "\n" not in msg
        assert msg.startswith("incomplete processor output: only ")
        assert "maxchunks" in msg and "allow_partial=True" in msg and "--allow-partial" in msg


def test_allow_partial_scales_mot_and_generated_to_the_events_processed(partial, runs_trees):
    a = Analysis(partial, allow_partial=True)
    assert a.partial and a.notes[0].startswith("PARTIAL OUTPUT: only ")
    for (ds, _f), r in runs_trees.items():
        frac = partial["cutflow"][ds]["all"].events / int(r["nWritten"][0])
        assert 0.001 < frac < 0.6
        s = a.samples[ds]
        # hand calculation from the Runs tree: MOT × processed / written (10× off would fail)
        assert s.mot == pytest.approx(float(r["mot"][0]) * frac, rel=1e-12)
        assert s.n_generated == round(int(r["nGenerated"][0]) * frac)
    res = a.evaluate()
    assert res.partial and res.notes[:2] == a.notes[:2]
    summary = res.summary()
    assert summary["partial"] is True and "PARTIAL OUTPUT" in summary["notes"][0]
    # efficiencies are N_pass / (scaled N_generated), background uses the scaled MOT
    for m, e in res.efficiencies.items():
        assert e.n_total == a.samples[f"signal_vector_m{m:g}"].n_generated
    m = CutExplorerModel(partial, allow_partial=True)
    assert m.analysis.partial


def test_allow_partial_background_is_consistent_with_the_full_run(small_fileset, small_output):
    """Scaled to what was read, a partial background estimates the full one (not 1/fraction
    of it): the weights passing the loose cut p_out < 100 agree within their statistics."""
    from na64tools import Cuts

    loose = Cuts(p_out_max=100.0, ecal_max=10.0, hcal_max=20.0, veto_max=1.0, vhcal_max=10.0)
    n = small_output["mot"]["background"].n_written
    partial = _run({"background": small_fileset["background"]}, chunksize=n // 3 + 1, maxchunks=1)
    full = Analysis(small_output).evaluate(loose, limits=False).total_background
    part = Analysis(partial, allow_partial=True).evaluate(loose, limits=False).total_background
    frac = partial["cutflow"]["background"]["all"].events / n
    assert 0.2 < frac < 0.5 and full.value > 0
    # unscaled, the partial background would be ~frac × the full one
    assert 0.5 < part.value / full.value < 2.0
    assert abs(part.value - full.value) < 5 * part.stat   # measured: within 1 %, 0.4 sigma


def test_output_with_skipped_files_is_refused_unless_allowed(small_fileset, tmp_path):
    junk = tmp_path / "junk.root"
    junk.write_bytes(b"not a ROOT file" * 10)
    fs = {k: list(v) for k, v in small_fileset.items()}
    fs["background"] = fs["background"] + [str(junk)]
    out = _run(fs, skip_bad_files=True)
    with pytest.raises(PartialOutputError, match=rf"incomplete processor output: 1 file skipped \({junk}\)"):
        Analysis(out)
    a = Analysis(out, allow_partial=True)
    assert a.partial and str(junk) in a.notes[0]
    # nothing to scale: the MOT is that of the files read
    assert a.samples["background"].mot == out["mot"]["background"].mot


def test_complete_output_is_not_partial(small_output):
    e = check_physics_ready(small_output)
    assert not e.partial and e.notes == ()
    assert e.mot == {ds: m.mot for ds, m in small_output["mot"].items()}
    r = Analysis(small_output).evaluate()
    assert r.partial is False and r.summary()["partial"] is False


def test_model_without_signal_sample(small_output):
    a = Analysis(small_output)
    with pytest.raises(ValueError, match=r"^no signal sample for model 'scalar' in the processor "
                                         r"output \(have: vector\)$"):
        a.evaluate(model="scalar")


@pytest.fixture(scope="module")
def background_only(small_fileset):
    return _run({"background": small_fileset["background"]})


def test_background_only_output(background_only):
    a = Analysis(background_only)
    with pytest.raises(ValueError, match="^the processor output has no signal sample: no limit"):
        a.evaluate()
    r = a.evaluate(limits=False)   # a background study needs no signal
    assert r.limit is None and r.total_background.value > 0
    with pytest.raises(ValueError, match="no signal sample"):
        CutExplorerModel(background_only)


def test_signal_only_output(small_fileset):
    out = _run({k: v for k, v in small_fileset.items() if k != "background"})
    with pytest.raises(ValueError, match="^processor output has no background dataset"):
        Analysis(out).evaluate()


def test_one_mass_gives_a_point_limit(small_fileset, small_output):
    out = _run({k: small_fileset[k] for k in ("signal_vector_m0.1", "background")})
    r = Analysis(out).evaluate()
    assert r.limit is not None and r.limit.masses.tolist() == [0.1]
    assert any(n.startswith("One simulated mass (0.1 GeV)") for n in r.notes)
    # the same limit as the curve of three masses gives at 0.1 GeV (same efficiency there)
    full = Analysis(small_output).evaluate()
    assert r.efficiencies[0.1].value == full.efficiencies[0.1].value
    assert float(r.limit.events_observed) == pytest.approx(float(full.limit.events_observed))


def test_other_exposure_gives_expected_limits_only(small_output):
    run_mot = float(default_setup().run.mot)
    a = Analysis(small_output, mot=1e15)
    assert a.n_obs is None
    r = a.evaluate()
    assert r.n_obs is None and not r.observed
    assert np.all(np.isnan(r.limit.observed)) and math.isnan(r.limit.events_observed)
    assert np.all(np.isfinite(r.limit.expected.median))
    assert any(n.startswith("Expected limits only: 1e+15 MOT is not the exposure") for n in r.notes)
    s = r.summary()
    assert s["limits"]["observed"] is None and s["limits"]["events_observed"] is None
    # the run's own exposure, or an explicit n_obs, keep the observed limit
    assert Analysis(small_output, mot=run_mot).evaluate().observed
    r2 = Analysis(small_output, mot=1e15, n_obs=0).evaluate()
    assert r2.observed and np.all(np.isfinite(r2.limit.observed)) and r2.notes == ()
    # expected limits at 1e15 are those an n_obs = 0 computation gives for the expected band
    np.testing.assert_array_equal(r.limit.expected.median, r2.limit.expected.median)
