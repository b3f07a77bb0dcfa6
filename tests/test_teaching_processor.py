"""The teaching processor of notebooks/03 (coffea's PackedSelection and hist, the cuts written out
with awkward on NanoEvents) gives the cutflow and the N−1 p_out histogram of
MissingMomentumProcessor, on the samples of tests/ntuple_factory.py: two independent codings of
the published selection agree event by event."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

pytest.importorskip("coffea")

import ntuple_factory as nf  # noqa: E402
from coffea import processor  # noqa: E402

from na64tools import MissingMomentumProcessor, NA64Schema  # noqa: E402
from na64tools.config import Cuts  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_processor_and_dask.ipynb"


def _teaching_processor_class():
    """The class defined in the notebook (its cell is self-contained)."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
             if c.cell_type == "code" and "class TeachingProcessor" in c.source]
    assert len(cells) == 1, "notebook 03 defines TeachingProcessor in one cell"
    namespace: dict = {}
    exec(compile(cells[0], str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    return namespace["TeachingProcessor"]


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    d = tmp_path_factory.mktemp("teaching")
    nf.write_ntuple(d / "bkg.root", 1500, seed=21, basket=300)
    nf.write_ntuple(d / "sig.root", 900, seed=23, sample="signal", model="vector", mass=0.1,
                    coupling=1e-4)
    return {"background": {"files": {str(d / "bkg.root"): "Events"}},
            "signal": {"files": {str(d / "sig.root"): "Events"}}}


@pytest.mark.parametrize("cuts", [Cuts(), Cuts(p_out_max=60.0, hcal_max=3.0, track_hits_min=9.0)],
                         ids=["published", "tighter"])
def test_teaching_processor_gives_the_processor_cutflow(fileset, cuts):
    runner = processor.Runner(processor.IterativeExecutor(status=False, retries=0), schema=NA64Schema,
                              chunksize=400)
    teaching = runner(fileset, _teaching_processor_class()(cuts))
    ours = runner(fileset, MissingMomentumProcessor(cuts))
    for ds, rows in ours["cutflow"].items():
        assert list(teaching[ds]["events"]) == list(rows)
        assert {s: int(n) for s, n in teaching[ds]["events"].items()} == {s: r.events for s, r in rows.items()}
        assert rows["vhcal"].events > 0  # the comparison is not between empty selections
        for stage, row in rows.items():
            assert teaching[ds]["sumw"][stage] == pytest.approx(row.sumw, rel=1e-12)
        h = ours["hists"]["nminus1_p_out"][ds, sum, :]
        np.testing.assert_allclose(teaching[ds]["nminus1_p_out"].values(), h.values(), rtol=1e-12)


@pytest.mark.parametrize("executor", ["iterative", "futures"])
def test_teaching_processor_runs_through_na64tools_run(fileset, executor):
    """na64tools.run takes any coffea processor: the teaching processor on the same files gives
    the cutflow that na64tools.run gives with MissingMomentumProcessor."""
    from na64tools import run

    teaching = run(fileset, _teaching_processor_class()(Cuts()), executor=executor, workers=2,
                   chunksize=400, progress=False)
    ours = run(fileset, MissingMomentumProcessor(), executor="iterative", chunksize=400,
               progress=False)
    for ds, rows in ours["cutflow"].items():
        assert {s: int(n) for s, n in teaching[ds]["events"].items()} == {s: r.events for s, r in rows.items()}
    assert ours["cutflow"]["background"]["all"].events == 1500  # every event of the file, once
