"""The cut optimiser: the hash split is deterministic and exact in its bookkeeping, the search
sees only the tuning half, and the reported gain is computed on the held-out half."""

from __future__ import annotations

import math

import numpy as np
import pytest

from na64tools.analysis import Analysis
from na64tools.config import Cuts
from na64tools.interactive import CutExplorerModel, split_output
from na64tools.interactive.optimise import _figures, split_mask
from na64tools.processor import CutTable


@pytest.fixture(scope="module")
def output(small_output):
    return small_output


@pytest.fixture(scope="module")
def model(output):
    return CutExplorerModel(output)


def _keys(table, mask):
    c = table.columns
    return {(table.datasets[d], table.files[f], e)
            for d, f, e in zip(c["dataset"][mask], c["file"][mask], c["entry"][mask], strict=True)}


def test_split_is_deterministic_balanced_and_independent_of_row_order(output):
    t = output["table"]
    a = split_mask(t)
    np.testing.assert_array_equal(a, split_mask(t))
    n = len(t)
    assert abs(a.sum() - n / 2) < 5 * math.sqrt(n / 4)  # a fair coin per event
    perm = np.random.default_rng(0).permutation(n)
    shuffled = CutTable({k: np.asarray(v)[perm] for k, v in t.columns.items()}, t.datasets, t.samples,
                        t.files, t.preselection)
    assert _keys(shuffled, split_mask(shuffled)) == _keys(t, a)
    assert not np.array_equal(split_mask(t, salt=1), a)  # another salt, another split


def test_split_output_partitions_rows_and_bookkeeping(output):
    first, second = split_output(output)
    t, t1, t2 = output["table"], first["table"], second["table"]
    assert len(t1) + len(t2) == len(t)
    assert _keys(t1, slice(None)).isdisjoint(_keys(t2, slice(None)))
    for ds, m in output["mot"].items():
        m1, m2 = first["mot"][ds], second["mot"][ds]
        assert m1.n_written + m2.n_written == m.n_written
        assert m1.mot + m2.mot == pytest.approx(m.mot, rel=1e-12)
        assert m1.sumw + m2.sumw == pytest.approx(m.sumw, rel=1e-12)
        assert abs(m1.n_generated + m2.n_generated - m.n_generated) <= len(output["files"][ds])
        # each half carries about half of the exposure
        assert 0.4 < m1.mot / m.mot < 0.6
    assert "hists" not in first and "cutflow" not in second
    with pytest.raises(ValueError, match="fraction"):
        split_output(output, fraction=1.0)


def test_halves_estimate_the_full_sample(output):
    full = Analysis(output, projections=()).evaluate()
    for part in split_output(output):
        half = Analysis(part, projections=()).evaluate()
        for m, e in full.efficiencies.items():
            assert abs(half.efficiencies[m].value - e.value) < 5 * math.sqrt(2) * e.error + 1e-12


def test_gain_is_measured_on_the_held_out_half(output, model):
    fields = ("p_out_max", "hcal_max", "ecal_max")
    opt = model.optimise(mass=0.1, max_background=0.2, fields=fields, sweeps=1, points=6)
    assert opt.fields == fields and opt.masses == (0.1,)
    # recompute the reported figures independently, on the half the search never saw
    tune_out, hold_out = split_output(output)
    kw = dict(model.analysis_kwargs, projections=())
    hold = Analysis(hold_out, **kw)
    tune = Analysis(tune_out, **kw)
    for cuts, fig in ((opt.cuts, opt.holdout_best), (opt.start, opt.holdout_start)):
        r = hold.evaluate(cuts, model=model.model)
        g = np.exp(np.interp(np.log(0.1), np.log(r.limit.masses), np.log(r.limit.expected.median)))
        assert fig.expected_limit == pytest.approx(float(g), rel=1e-12)
        assert fig.background == pytest.approx(r.total_background.value, rel=1e-12)
    assert opt.gain == opt.holdout_start.expected_limit / opt.holdout_best.expected_limit
    assert opt.gain_tuning == opt.tuning_start.expected_limit / opt.tuning_best.expected_limit
    # the search worked on the other half: its figures are the tuning half's, not the held-out's
    r = tune.evaluate(opt.cuts, model=model.model)
    assert opt.tuning_best.background == pytest.approx(r.total_background.value, rel=1e-12)
    assert opt.tuning_best.background != opt.holdout_best.background
    # and on the tuning half the constraint holds and nothing got worse
    assert opt.tuning_best.background <= 0.2
    assert opt.tuning_best.expected_limit <= opt.tuning_start.expected_limit
    assert set(opt.changed) <= set(fields)
    assert "held-out half" in opt.report()


def test_figures_respect_the_background_constraint(output, model):
    tune = Analysis(split_output(output)[0], **dict(model.analysis_kwargs, projections=()))
    f = _figures(tune, model.model, Cuts(), (0.1,), None)
    assert math.isfinite(f.expected_limit) and f.feasible
    g = _figures(tune, model.model, Cuts(), (0.1,), f.background / 2)
    assert not g.feasible and g.background == f.background


def test_optimiser_input_errors(model):
    with pytest.raises(ValueError, match="outside the simulated signal masses"):
        model.optimise(mass=5.0, fields=("p_out_max",), sweeps=1, points=3)
    with pytest.raises(ValueError, match="max_background"):
        model.optimise(mass=0.1, max_background=-1.0)
    with pytest.raises(ValueError, match="unknown cut 'pout'"):
        model.optimise(mass=0.1, fields=("pout",))
    with pytest.raises(ValueError, match="no cut set tried"):
        model.optimise(mass=0.1, max_background=1e-12, fields=("p_out_max",), sweeps=1, points=3)
    with pytest.raises(ValueError, match="not from an Analysis"):
        CutExplorerModel(model.analysis).optimise(mass=0.1)


def test_mass_range_objective(model):
    opt = model.optimise(mass=(0.01, 0.5), max_background=0.5, fields=("p_out_max",), sweeps=1, points=4)
    assert opt.masses[0] == 0.01 and opt.masses[-1] == 0.5 and len(opt.masses) > 2
    assert opt.tuning_best.expected_limit <= opt.tuning_start.expected_limit


def test_model_and_optimiser_do_not_import_each_other():
    """issue 13: model.py and optimise.py no longer import each other at module level (their
    shared per-event hashing lives in na64tools.interactive.hashing); the model loads the
    optimiser only inside ``CutExplorerModel.optimise``, and only its public entry point."""
    import ast
    from pathlib import Path

    import na64tools.interactive as pkg

    def imports(path, top_level_only):
        tree = ast.parse(Path(path).read_text())
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        return [(n.module, [a.name for a in n.names]) for n in nodes
                if isinstance(n, ast.ImportFrom) and n.level == 1]

    here = Path(pkg.__file__).parent
    assert not [m for m, _ in imports(here / "model.py", True) if m == "optimise"]
    assert not [m for m, _ in imports(here / "optimise.py", True) if m == "model"]
    lazy = [names for m, names in imports(here / "model.py", False) if m == "optimise"]
    assert lazy == [["optimise_cuts"]]
