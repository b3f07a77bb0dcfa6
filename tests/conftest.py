"""Shared fixtures: a small simulated dataset (signal at three masses + background) and the
processor output on it, made once per test session."""

from __future__ import annotations

import pytest

#: small-sample parameters shared by the analysis, export and interactive tests
SMALL_MASSES = (0.01, 0.1, 0.5)
SMALL_SIGNAL_EVENTS = 4000
SMALL_BACKGROUND_EVENTS = 60_000


@pytest.fixture(scope="session")
def small_fileset(tmp_path_factory):
    """{dataset: [paths]} of small simulated samples written with na64tools.sim."""
    from na64tools.sim import simulate

    base = tmp_path_factory.mktemp("small_dataset")
    fileset = {}
    for i, m in enumerate(SMALL_MASSES):
        files = simulate("signal", mass=m, events=SMALL_SIGNAL_EVENTS, seed=100 + i, out=base / f"sig_{m:g}")
        fileset[f"signal_vector_m{m:g}"] = [str(f) for f in files]
    files = simulate("background", events=SMALL_BACKGROUND_EVENTS, seed=7, out=base / "bkg")
    fileset["background"] = [str(f) for f in files]
    return fileset


@pytest.fixture(scope="session")
def small_output(small_fileset):
    """Processor output (iterative executor) on :func:`small_fileset`."""
    from na64tools.runner import run

    return run(small_fileset, executor="iterative", progress=False)
