"""Write a sample as K files, serially or on Dask workers.

Files are the unit of work: file ``i`` of ``K`` holds the generated events with numbers in
``[N i // K, N (i+1) // K)`` (:meth:`SamplePlan.file_range`) and its bytes depend only on the
plan and ``(i, K)``, not on the worker that writes it. The ``Runs`` entry of each file holds the
MOT it represents, ``mot * n_file / N``, so that summing ``Runs.mot`` over the files gives the
requested exposure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._version import __version__
from .generator import concat_blocks, events_range, final_state
from .plan import BLOCK_SIZE, SamplePlan, layout, make_plan
from .writer import check_output_dir, write_file

__all__ = ["simulate", "file_name", "write_sample_file", "runs_entry", "BASKET_EVENTS"]

#: written events per chunk (TBasket) of a file
BASKET_EVENTS = 100_000


def file_name(plan: SamplePlan, index: int) -> str:
    """File name of file ``index`` of a sample, e.g. ``background_seed0_0003.root``.

    Parameters
    ----------
    plan : SamplePlan
        The sample (:func:`make_plan`).
    index : int
        The file number, from 0.

    Returns
    -------
    str
        The name.
    """
    if plan.sample == "signal":
        tag = f"signal_{plan.model}_m{plan.mass:g}_g{plan.coupling:g}"
        if plan.x_min:
            tag += f"_x{plan.x_min:g}"
    else:
        tag = plan.sample
    return f"{tag}_seed{plan.seed}_{index:04d}.root"


def _stratum_counts(plan: SamplePlan, start: int, stop: int) -> np.ndarray:
    """Generated events of each stratum with event number in ``[start, stop)``."""
    k = len(plan.strata)
    full = np.bincount(plan.block_layout, minlength=k).astype(np.int64)

    def upto(n: int) -> np.ndarray:  # events 0..n-1
        q, r = divmod(n, BLOCK_SIZE)
        c = q * full
        if r:
            c = c + np.bincount(layout(r, plan.shares), minlength=k)
        return c

    return upto(stop) - upto(start)


def _trigger_note(plan: SamplePlan) -> str:
    """What ``Runs.generator`` adds after the version when the sample is not written by the
    scattered-muon trigger: the calorimeter trigger of an electron final state (``lfv_e``)."""
    if final_state(plan) != "electron":
        return ""
    from ..config import LfvECuts

    return (f"; trigger: calorimeter, ECAL >= {LfvECuts().trigger_ecal_min:g} GeV and no S_mu "
            "hit (Trigger_scattered false)")


def runs_entry(plan: SamplePlan, index: int, files: int) -> dict[str, object]:
    """The ``Runs`` entry of file ``index`` (without the written-event sums).

    Parameters
    ----------
    plan : SamplePlan
        The validated sample (:func:`~na64tools.sim.make_plan`).
    index : int
        The file number, from 0.
    files : int
        The number of files of the sample.

    Returns
    -------
    dict
        The ``Runs`` branches of the file (docs/ntuple_format.md): ``run`` (``index + 1``), ``mot``
        (the file's share of the sample's MOT), ``nGenerated``, ``genEventSumw``, the sample,
        model, mass [GeV], coupling, ``xMin``, ``sigma`` [pb], ``brInvisible``, the setup's name,
        hash and file name, the generator (and, for an electron final state, ``lfv_e``, the
        calorimeter trigger it was written with), the seed and ``firstEvent``.
    """
    start, stop = plan.file_range(index, files)
    n = stop - start
    counts = _stratum_counts(plan, start, stop)
    setup = plan.setup
    return {
        "run": index + 1,
        "mot": plan.mot * n / plan.n_events,
        "nGenerated": n,
        "genEventSumw": float(np.dot(counts, plan.weights)),
        "sample": plan.sample,
        "model": plan.model,
        "mass": plan.mass,
        "coupling": plan.coupling,
        "xMin": plan.x_min,
        "sigma": plan.sigma_pb,
        "brInvisible": plan.br_invisible,
        "setup": setup.name,
        "setupHash": setup.hash,
        "setupFile": os.path.basename(setup.source_file),  # portable: no machine path (setupHash = content)
        "generator": f"na64tools {__version__}" + _trigger_note(plan),
        "seed": plan.seed,
        "firstEvent": start,
    }


def write_sample_file(plan: SamplePlan, index: int, files: int, out: str | os.PathLike,
                      progress=None) -> Path:
    """Generate and write file ``index`` of ``files`` of ``plan`` into directory ``out``.

    Parameters
    ----------
    plan : SamplePlan
        The sample (:func:`make_plan`).
    index : int
        The file number, from 0.
    files : int
        The number of files of the sample.
    out : str or path
        The output directory.
    progress : callable, optional
        Called with the number of events generated after each block.

    Returns
    -------
    Path
        The file written.
    """
    start, stop = plan.file_range(index, files)
    path = Path(out) / file_name(plan, index)

    def chunks():
        # blocks are grouped into chunks of >= BASKET_EVENTS written events (one TBasket per
        # branch and chunk): fewer, larger baskets halve uproot's writing time
        pending: list = []
        size = 0
        for b in range(start // BLOCK_SIZE, (stop - 1) // BLOCK_SIZE + 1) if stop > start else ():
            lo, hi = max(start, b * BLOCK_SIZE), min(stop, (b + 1) * BLOCK_SIZE)
            blk = events_range(plan, lo, hi)
            blk["run"] = np.full(blk["event"].size, index + 1, np.int32)
            pending.append(blk)
            size += blk["event"].size
            if progress is not None:
                progress(hi - lo)
            if size >= BASKET_EVENTS:
                yield concat_blocks(pending)
                pending, size = [], 0
        if pending:
            yield concat_blocks(pending)

    key = f"{plan.setup.hash}:{plan.sample}:{plan.model}:{plan.mass!r}:{plan.coupling!r}:{plan.seed}:{index}:{files}"
    return write_file(path, chunks(), runs_entry(plan, index, files), uuid_key=key)


def simulate(
    sample: str,
    *,
    setup=None,
    model: str | object = "vector",
    mass: float | None = None,
    coupling: float | None = None,
    mot: float | None = None,
    events: int | None = None,
    seed: int = 0,
    out: str | os.PathLike = ".",
    files: int = 1,
    x_min: float = 0.0,
    client=None,
    progress: bool = False,
) -> list[Path]:
    """Generate a sample and write it as ``files`` ROOT files in ``out``.

    Parameters
    ----------
    sample : {"signal", "background"}
    setup : Setup or path, optional
        Setup description or its YAML file (default: the shipped 2022 setup).
    model, mass, coupling : signal only
        X model (a name of the registry :mod:`na64tools.models`: ``vector``, ``dark_photon``,
        ``scalar`` or a registered model; or a :class:`~na64tools.models.Model`), mass [GeV] and
        coupling (default 1e-4). The model object travels with the plan to the Dask workers.
    mot : float, optional
        Muons on target the sample stands for (background default: the setup's run MOT).
    events : int, optional
        Generated events (before the trigger). For the signal, give ``mot`` or ``events``.
    seed : int
        Random seed (>= 0). Same seed and setup give the same events whatever ``files``/workers.
    out : path
        Output directory (created if needed).
    files : int
        Number of files (the unit of parallel work).
    x_min : float
        Signal only: generate X with ``x = E_X/E_0 > x_min``.
    client : distributed.Client, optional
        Write the files on these Dask workers (they must see ``out``).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of Path
        The files, in order.

    Raises
    ------
    ValueError
        For invalid inputs (naming the value) or an unwritable output directory.

    Examples
    --------
    A small signal sample (2 000 generated events of a 0.5 GeV vector X, one file) and a
    background sample, written into a temporary directory:

    >>> import tempfile
    >>> from na64tools.sim import simulate
    >>> out = tempfile.mkdtemp()
    >>> files = simulate("signal", mass=0.5, events=2000, seed=1, out=out + "/signal")
    >>> [f.name for f in files]
    ['signal_vector_m0.5_g0.0001_seed1_0000.root']
    >>> [f.name for f in simulate("background", events=20000, seed=2, out=out + "/background")]
    ['background_seed2_0000.root']
    """
    files = int(files) if not isinstance(files, bool) and float(files) == int(files) else files
    if not isinstance(files, int) or files < 1:
        raise ValueError(f"files: value {files!r} must be a positive integer")
    plan = make_plan(sample, setup=setup, model=model, mass=mass, coupling=coupling, mot=mot,
                     events=events, seed=seed, x_min=x_min)
    if files > plan.n_events:
        raise ValueError(f"files: value {files!r} exceeds the number of generated events {plan.n_events}")
    outdir = check_output_dir(out)
    if client is None:
        bar = _bar(progress, plan.n_events, "events")
        try:
            update = bar.update if bar is not None else None
            return [write_sample_file(plan, i, files, outdir, update) for i in range(files)]
        finally:
            if bar is not None:
                bar.close()
    from distributed import as_completed

    _check_shippable(plan)
    futures = [client.submit(write_sample_file, plan, i, files, str(outdir), pure=False)
               for i in range(files)]
    bar = _bar(progress, files, "files")
    try:
        for fut in as_completed(futures):
            fut.result()
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return [Path(f.result()) for f in futures]


def _check_shippable(plan: SamplePlan) -> None:
    """Refuse, in one line, a signal model that cannot be sent to worker processes."""
    if plan.signal_model is None:
        return
    import cloudpickle

    try:
        cloudpickle.dumps(plan.signal_model)
    except Exception as err:
        raise ValueError(
            f"model {plan.model!r} cannot be sent to the Dask workers ({type(err).__name__}: "
            f"{' '.join(str(err).split())}): its make_sampler, br_invisible and cross_section must "
            "be picklable (module-level functions or functools.partial of them), or register it "
            "from a file (--model-file, na64tools.models.load_model_file); docs/models.md") from None


def _bar(enabled: bool, total: int, unit: str):
    """A tqdm bar; events in SI units (``1.20M/4.00M events``), files as whole numbers
    (``1/4 files``, not ``1.00/4.00``)."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit != "files", desc="na64tools simulate")
