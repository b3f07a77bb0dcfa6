"""The tutorial notebooks of ``notebooks/``: committed clean, and executed with small parameters.

Every notebook is executed top to bottom with papermill, in a fresh working directory (the
notebooks write their data relative to the current directory), with ``MPLBACKEND=agg`` and the
small parameters of :data:`SMALL` injected after its ``parameters`` cell. A check cell appended to
the executed copy reports, as JSON, the figures left open (their axis labels and texts) and the
values of a few expressions per notebook (:data:`CHECKS`); the tests assert on those.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: the tutorials the documentation and the issue promise, in order
EXPECTED = [
    "01_missing_momentum",
    "02_simulate_and_explore",
    "03_processor_and_dask",
    "04_cut_optimisation",
    "05_limits_and_projections",
]

#: small parameters: all notebooks together run in well under three minutes on two cores
SMALL: dict[str, dict] = {
    "01_missing_momentum": {"SIGNAL_EVENTS": 2000, "BACKGROUND_EVENTS": 20_000},
    "02_simulate_and_explore": {"SIGNAL_EVENTS": 2000, "BACKGROUND_EVENTS": 20_000},
    "03_processor_and_dask": {"MASSES": [0.05, 0.5], "SIGNAL_EVENTS": 2000, "BACKGROUND_EVENTS": 20_000,
                              "FILES": 2, "CHUNKSIZE": 5000, "WORKERS": 2},
    "04_cut_optimisation": {"MASSES": [0.01, 0.1, 0.5], "SIGNAL_EVENTS": 2000, "BACKGROUND_EVENTS": 20_000},
    "05_limits_and_projections": {"MASSES": [0.01, 0.1, 0.5], "SIGNAL_EVENTS": 2000,
                                  "BACKGROUND_EVENTS": 20_000},
}

#: expressions evaluated in the kernel after the last cell: name -> expression (JSON-able result)
CHECKS: dict[str, dict[str, str]] = {
    "01_missing_momentum": {
        "signal_efficiency": "float(pass_sig.mean())",
        "background_mot": "float(bkg['genWeight'].sum())",
        "run_mot": "float(setup.run.mot)",
        "x_cut": "float(x_cut)",
        "examples_pass": "[bool(passes(variables_from_branches(ev), cuts)[i]) for ev, i, _ in examples]",
        "examples_process": "[PROCESSES[int(ev['Gen_process'][i])] for ev, i, _ in examples]",
        "mip_p_out_over_p_in": "float(np.asarray(v_bkg['p_out'])[examples[1][1]] / "
                               "np.asarray(v_bkg['p_in'])[examples[1][1]])",
    },
    "02_simulate_and_explore": {
        "n_signal_files": "len(signal_files)",
        "n_read": "len(background)",
        "n_written": "int(runs_info(background_files[0])['nWritten'])",
        "expected_signal": "float(expected['signal'])",
        "expected_background": "float(expected['background'])",
        "g_excluded": "float(g_excluded)",
    },
    "03_processor_and_dask": {
        "identical": "bool(identical)",
        "same_events": "bool(same_events)",
        "dask_executor": "out_dask['run']['executor']",
        "client_status": "str(client.status)",
        "n_datasets": "len(out_local['cutflow'])",
        "teaching_matches": "bool(teaching_matches)",
    },
    "04_cut_optimisation": {
        "error": "explorer.error",
        "published_efficiency": "float(published.efficiency(MASS))",
        "published_background": "float(published.total_background.value)",
        "ecal_off_background": "float(off.total_background.value)",
        "scan_background": "[float(s.total_background.value) for s in scan]",
        "scan_efficiency": "[float(s.efficiency(MASS)) for s in scan]",
        "n_evaluations": "int(optimisation.n_evaluations)",
        "widget_follows_model": "float(explorer.sliders['p_out_max'].value) == float(explorer.model.cuts.p_out_max)",
        "cut_file_round_trip": "cuts == explorer.model.cuts",
    },
    "05_limits_and_projections": {
        "events_observed": "float(limit.events_observed)",
        "g_min": "float(limit.observed.min())",
        "g_max": "float(limit.observed.max())",
        "projection_mot": "[float(x) for x in proj.mot]",
        "projection_improves": "bool(np.all(proj.expected.median[-1] < limit.expected.median))",
        "background_total": "float(result.total_background.value)",
        "exported": "sorted(Path(p).name for p in files.values())",
    },
}

#: figures each notebook must leave open (with MPLBACKEND=agg nothing closes them)
MIN_FIGURES = {
    "01_missing_momentum": 4,
    "02_simulate_and_explore": 2,
    "03_processor_and_dask": 2,
    "04_cut_optimisation": 2,
    "05_limits_and_projections": 6,
}

MARKER = "NA64-NOTEBOOK-CHECK "

#: peak resident memory a notebook's kernel may reach at the test's sizes [MB]: five notebooks
#: open together must fit in Binder's 2 GB, so each stays well under 1 GB
MAX_RSS_MB = 1000.0

_CHECK_CELL = '''
import json as _json
from pathlib import Path

import matplotlib.pyplot as _plt
from matplotlib.text import Text as _Text


def _axis_report(ax):
    categorical = type(ax.xaxis.get_major_formatter()).__name__ in ("FixedFormatter", "FuncFormatter")
    twins = ax.get_shared_x_axes().get_siblings(ax)  # a twinx() axes shares the x axis of another
    return {"visible": bool(ax.axison), "colorbar": ax.get_label() == "<colorbar>",
            "xlabel": ax.get_xlabel() or " ".join(t.get_xlabel() for t in twins).strip(),
            "ylabel": ax.get_ylabel(), "categorical_x": categorical}


def _figure_report(fig):
    texts = [t.get_text() for t in fig.findobj(_Text)]
    return {"axes": [_axis_report(ax) for ax in fig.axes], "texts": [t for t in texts if t]}


import resource as _resource

_report = {"figures": [_figure_report(_plt.figure(n)) for n in _plt.get_fignums()],
           "values": {_k: eval(_v) for _k, _v in CHECKS.items()},
           # peak resident memory of this kernel and of its finished children (Dask workers) [MB]
           "peak_rss_mb": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024,
           "children_peak_rss_mb": _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
print(MARKER + _json.dumps(_report))
'''


def _load(path: Path):
    return nbformat.read(path, as_version=4)


def _parameter_names(cell) -> set[str]:
    tree = ast.parse(cell.source)
    return {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
            if isinstance(t, ast.Name)}


def _ids(paths):
    return [p.stem for p in paths]


# --------------------------------------------------------------------------------------------
# the committed notebooks
# --------------------------------------------------------------------------------------------
def test_every_promised_notebook_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_is_clean(path):
    nb = _load(path)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    for cell in code:
        assert cell.outputs == [], f"{path.name}: committed with outputs (run jupyter nbconvert --clear-output)"
        assert cell.execution_count is None, f"{path.name}: committed with execution counts"
    first = nb.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", []), \
        f"{path.name}: the first cell must be the code cell tagged 'parameters'"
    assert set(SMALL[path.stem]) <= _parameter_names(first), \
        f"{path.name}: the test shrinks parameters the first cell does not define"
    assert any(c.cell_type == "markdown" and c.source.lstrip().startswith("# ") for c in nb.cells), \
        f"{path.name} has no title"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_no_absolute_paths(path):
    for cell in _load(path).cells:
        if cell.cell_type != "code":
            continue
        for s in re.findall(r"""["']((?:/|[A-Za-z]:\\\\|~/)[^"'\n]*)["']""", cell.source):
            pytest.fail(f"{path.name}: absolute path {s!r} in a code cell")


# --------------------------------------------------------------------------------------------
# executed with small parameters
# --------------------------------------------------------------------------------------------
def execute(name: str, tmp_path: Path, monkeypatch) -> dict:
    """Run notebook ``name`` with SMALL parameters in ``tmp_path``; return the check report."""
    nb = _load(NOTEBOOK_DIR / f"{name}.ipynb")
    check = _CHECK_CELL.replace("CHECKS", repr(CHECKS[name])).replace("MARKER", repr(MARKER))
    nb.cells.append(nbformat.v4.new_code_cell(check))
    src = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, src)
    monkeypatch.setenv("MPLBACKEND", "agg")
    # the kernel imports the checkout under test, as the documentation build does
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.chdir(tmp_path)
    out = papermill.execute_notebook(str(src), str(tmp_path / f"{name}.out.ipynb"),
                                     parameters=SMALL[name], kernel_name="python3", cwd=str(tmp_path),
                                     progress_bar=False, log_output=False, execution_timeout=600)
    text = "".join(o.get("text", "") for o in out.cells[-1].outputs if o.output_type == "stream")
    assert MARKER in text, f"{name}: no check report in the output of the last cell: {text[-2000:]}"
    report = json.loads(text.split(MARKER, 1)[1].strip())
    print(f"{name}: kernel peak RSS {report['peak_rss_mb']:.0f} MB, "
          f"finished children {report['children_peak_rss_mb']:.0f} MB")
    assert report["peak_rss_mb"] < MAX_RSS_MB, f"{name}: the kernel peaked at {report['peak_rss_mb']:.0f} MB"
    assert report["children_peak_rss_mb"] < MAX_RSS_MB, name
    return report


def assert_figures(name: str, report: dict) -> None:
    figures = report["figures"]
    assert len(figures) >= MIN_FIGURES[name], f"{name}: {len(figures)} figures"
    for k, fig in enumerate(figures):
        assert any("NA64" in t for t in fig["texts"]), f"{name}, figure {k}: no 'NA64μ simulation' label"
        for ax in fig["axes"]:
            if not ax["visible"]:
                continue  # schematic drawings
            if ax["colorbar"]:
                assert ax["xlabel"] or ax["ylabel"], f"{name}, figure {k}: colour bar without label"
                continue
            assert ax["ylabel"], f"{name}, figure {k}: y axis without label"
            assert ax["xlabel"] or ax["categorical_x"], f"{name}, figure {k}: x axis without label"


@pytest.mark.slow
def test_01_missing_momentum(tmp_path, monkeypatch):
    report = execute("01_missing_momentum", tmp_path, monkeypatch)
    assert_figures("01_missing_momentum", report)
    v = report["values"]
    assert v["x_cut"] == 0.5  # p_out < 80 GeV out of 160 GeV
    # all produced Z' at 0.1 GeV, with the geometric acceptance and signal.efficiency_correction
    # (0.15) of the 2022 setup: a few per cent (docs/simulation.md section 1b)
    assert 0.01 < v["signal_efficiency"] < 0.9
    # the weights of the background sample add up to the muons on target it stands for
    assert v["background_mot"] == pytest.approx(v["run_mot"], rel=1e-9)
    assert v["examples_process"] == ["signal", "mip", "brems", "k_decay"]
    assert v["examples_pass"][:3] == [True, False, False]
    # the text: the muon that only ionises keeps (nearly) all its momentum in the picture
    assert v["mip_p_out_over_p_in"] > 0.95


@pytest.mark.slow
def test_02_simulate_and_explore(tmp_path, monkeypatch):
    report = execute("02_simulate_and_explore", tmp_path, monkeypatch)
    assert_figures("02_simulate_and_explore", report)
    v = report["values"]
    assert v["n_signal_files"] == 1
    assert v["n_read"] == v["n_written"] > 0  # NanoEvents reads every written event
    assert 0 < v["expected_background"] < 1  # the published 0.07, within the small sample's precision
    assert 0.005 < v["expected_signal"] < 5  # ~0.04 events at g = 1e-4, m = 0.1 GeV (eff. ~3 %)
    assert 5e-5 < v["g_excluded"] < 2e-3


@pytest.mark.slow
@pytest.mark.cluster
def test_03_processor_and_dask(tmp_path, monkeypatch):
    report = execute("03_processor_and_dask", tmp_path, monkeypatch)
    assert_figures("03_processor_and_dask", report)
    v = report["values"]
    assert v["identical"] is True  # Dask and iterative give the same bits
    assert v["same_events"] is True  # simulated on the workers or here: the same events
    assert v["dask_executor"] == "dask"
    assert v["client_status"] == "closed"
    assert v["n_datasets"] == 3
    assert v["teaching_matches"] is True  # the PackedSelection processor: the same cutflow


@pytest.mark.slow
def test_04_cut_optimisation(tmp_path, monkeypatch):
    report = execute("04_cut_optimisation", tmp_path, monkeypatch)
    assert_figures("04_cut_optimisation", report)
    v = report["values"]
    assert v["error"] is None  # the explorer started
    assert 0.01 < v["published_efficiency"] < 0.9  # a few per cent with the 2022 geometry and correction
    assert 0 < v["published_background"] < v["ecal_off_background"]
    # a looser p_out cut keeps every event a tighter one keeps: background and efficiency grow
    assert v["scan_background"] == sorted(v["scan_background"])
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(v["scan_efficiency"]))
    assert v["n_evaluations"] > 1
    assert v["widget_follows_model"] is True
    assert v["cut_file_round_trip"] is True


@pytest.mark.slow
def test_05_limits_and_projections(tmp_path, monkeypatch):
    report = execute("05_limits_and_projections", tmp_path, monkeypatch)
    assert_figures("05_limits_and_projections", report)
    v = report["values"]
    # zero observed events: s_up = ln 10 = 2.30, a little more with the 10 % signal uncertainty
    assert 2.30 < v["events_observed"] < 2.45
    assert 1e-5 < v["g_min"] < v["g_max"] < 1e-1
    assert v["projection_mot"][-1] == 2e13
    assert v["projection_improves"] is True
    assert 0 < v["background_total"] < 1
    assert v["exported"] == ["background.csv", "efficiency.csv", "limits.csv", "pyhf", "result.json"]
