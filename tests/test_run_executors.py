"""na64tools.run takes a coffea executor object as well as an executor name, and refuses what is
neither; the output is the same to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("coffea")

import ntuple_factory as nf  # noqa: E402
from coffea import processor  # noqa: E402

from na64tools import MissingMomentumProcessor, run  # noqa: E402


@pytest.fixture(scope="module")
def fileset(tmp_path_factory):
    d = tmp_path_factory.mktemp("executors")
    nf.write_ntuple(d / "a.root", 1200, seed=31, basket=300)
    nf.write_ntuple(d / "b.root", 700, seed=32, basket=300)
    return {"background": [str(d / "a.root"), str(d / "b.root")]}


def _same(a, b):
    assert a["cutflow"] == b["cutflow"]
    assert a["mot"] == b["mot"]
    for key, h in a["hists"].items():
        assert np.array_equal(h.values(flow=True), b["hists"][key].values(flow=True)), key
        assert np.array_equal(h.variances(flow=True), b["hists"][key].variances(flow=True)), key


def test_a_coffea_executor_object_gives_the_same_output(fileset):
    ref = run(fileset, MissingMomentumProcessor(), executor="iterative", chunksize=500,
              progress=False)
    assert ref["cutflow"]["background"]["all"].events == 1900
    mine = run(fileset, MissingMomentumProcessor(), chunksize=500, progress=False,
               executor=processor.IterativeExecutor(status=False))
    _same(ref, mine)
    assert mine["run"]["executor"] == "IterativeExecutor" and mine["complete"]
    import concurrent.futures

    with concurrent.futures.ProcessPoolExecutor(2) as pool:  # the caller's pool, kept open
        futures = processor.FuturesExecutor(pool=pool, workers=2, status=False, compression=None)
        _same(ref, run(fileset, MissingMomentumProcessor(), chunksize=300, progress=False,
                       executor=futures))


def test_what_is_neither_an_executor_nor_a_processor_is_refused(fileset):
    with pytest.raises(TypeError, match="executor: expected one of iterative, futures, dask or a coffea executor"):
        run(fileset, executor=4, progress=False)
    with pytest.raises(ValueError, match="executor: unknown executor 'threads'"):
        run(fileset, executor="threads", progress=False)
    with pytest.raises(TypeError, match="processor: expected a coffea ProcessorABC"):
        run(fileset, processor=object(), progress=False)


def test_futures_workers_run_one_blas_thread():
    """issue 13: the futures executor's workers run one BLAS/OpenMP thread each (an idle
    OpenBLAS thread spins after a call and takes the core of another worker)."""
    import os

    from na64tools.runner import make_pool

    pool = make_pool(1)
    try:
        env = {k: pool.submit(os.getenv, k).result(timeout=120)
               for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    finally:
        pool.shutdown(wait=True)
    assert env == {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
