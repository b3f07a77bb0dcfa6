"""The ``na64tools demo`` chain: what NA64μ reaches with the embedded default setup.

Signal yield, with the one definition of the signal efficiency ε used everywhere
(:mod:`na64tools.stats.efficiency`, docs/limits_method.md):

    N_sig = N_MOT · n_A · L_T · σ(E_0; x > x_min; m, g) · BR(X → invisible) · ε

with n_A the nuclei per cm³ of the target material and L_T its thickness (both from the setup),
x_min the generation cut of the signal samples (0: every produced X) and ε the fraction of the
produced X with x > x_min passing trigger, acceptance and all cuts (the p_out cut included). The
physics table gives N_sig/ε; the report gives ε; their product is the yield the limit uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Setup

__all__ = ["PhysicsRow", "physics_table", "format_physics_table", "PB_TO_CM2", "DEMO_LABEL"]

#: 1 pb = 1e-36 cm²
PB_TO_CM2 = 1e-36

#: how the demo's curves are labelled: a reproduction with the simulation, not the NA64 result
DEMO_LABEL = "NA64μ 2022 reproduction (simulation)"


@dataclass(frozen=True)
class PhysicsRow:
    model: str
    mass: float  #: GeV
    sigma: float  #: pb, x > x_min
    br_inv: float
    yield_per_1e10: float  #: N_sig/ε per 1e10 MOT: produced invisible X with x > x_min
    x_min: float = 0.0


def physics_table(setup: Setup, masses, *, coupling: float = 1e-4,
                  models=("vector", "scalar"), x_min: float = 0.0) -> list[PhysicsRow]:
    """σ(x > x_min) and N_sig/ε per 1e10 MOT for each model and mass.

    ``x_min`` must be the generation cut of the signal samples whose ε multiplies the yield
    (the demo generates with x_min = 0). Same code path as the limit
    (:func:`na64tools.stats.signal.yield_per_mot`).

    Parameters
    ----------
    setup : Setup
        The setup (beam energy [GeV], target material and thickness [cm]).
    masses : sequence of float
        X masses [GeV].
    coupling : float
        The coupling (g, or ε for the dark photon).
    models : sequence of str
        The X models.
    x_min : float
        Lower bound of x = E_X/E_0.

    Returns
    -------
    list of PhysicsRow
        One row per model and mass: σ [pb], BR(invisible) and N_sig/ε per 1e10 MOT.
    """
    from .models import get_model
    from .physics import material
    from .stats.signal import yield_per_mot

    energy = float(setup.beam.energy)
    mat = material(setup.target.material)
    rows = []
    for model in models:
        spec = get_model(model)  # any registered model (na64tools.models)
        for m in masses:
            sigma = spec.sigma(m, coupling, energy, mat.name, x_min)
            br = spec.branching(m, coupling)
            per_mot = float(yield_per_mot([m], coupling, setup=setup, model=model, x_min=x_min)[0])
            rows.append(PhysicsRow(model, float(m), sigma, br, 1e10 * per_mot, x_min))
    return rows


def format_physics_table(setup: Setup, rows: list[PhysicsRow], *, coupling: float) -> str:
    """The physics table as plain text, under a header naming the setup (beam [GeV], target [cm],
    exposure [MOT], p_out cut [GeV]) and the coupling.

    Parameters
    ----------
    setup : Setup
        The setup description.
    rows : list of PhysicsRow
        The rows of :func:`physics_table`.
    coupling : float
        The coupling the rows were computed at.

    Returns
    -------
    str
        The table.
    """
    energy = float(setup.beam.energy)
    x_min = rows[0].x_min if rows else 0.0
    sigma_head = f"sigma(x>{x_min:g}) [pb]"
    w = max([8, *(len(r.model) for r in rows)])  # a registered model's name may be longer
    lines = [
        f"NA64mu setup {setup.name}: {energy:g} GeV muons on {float(setup.target.thickness):g} cm "
        f"{setup.target.material}, {float(setup.run.mot):.3g} MOT, p_out < {setup.cuts.p_out_max:g} GeV",
        f"Dark-boson production mu N -> mu N X (WW), coupling g = {coupling:g}, X generated with x > {x_min:g}",
        "",
        f"{'model':<{w}} {'m_X [GeV]':>10} {sigma_head:>18} {'BR(inv)':>8} "
        f"{'N_sig/eps / 1e10 MOT':>21}",
    ]
    for r in rows:
        lines.append(f"{r.model:<{w}} {r.mass:>10.3g} {r.sigma:>18.4g} {r.br_inv:>8.3f} {r.yield_per_1e10:>21.4g}")
    lines.append("")
    lines.append(f"N_sig = N_MOT * n_A * L_T * sigma(x > {x_min:g}) * BR(inv) * eps, eps = fraction of the "
                 f"produced X (x > {x_min:g}) passing trigger, acceptance and all cuts (p_out < "
                 f"{setup.cuts.p_out_max:g} GeV included); eps is measured on the simulated samples "
                 "(report.md, efficiency.csv).")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# the whole chain
# --------------------------------------------------------------------------------------------

#: embedded default of the demo: X masses [GeV] of the signal samples, sample sizes, seed
DEMO_MASSES: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
DEMO_SIGNAL_EVENTS = 20_000
DEMO_BACKGROUND_EVENTS = 400_000
DEMO_SEED = 2022


def run_demo(out="na64-demo", *, setup: Setup | None = None, model: str = "vector",
             masses=DEMO_MASSES, signal_events: int = DEMO_SIGNAL_EVENTS,
             background_events: int = DEMO_BACKGROUND_EVENTS, seed: int = DEMO_SEED,
             executor: str = "dask", workers: int = 2, coupling: float = 1e-4,
             progress: bool = True, log=print) -> dict:
    """Simulate, process on a local Dask cluster, estimate, compute limits, plot and report.

    Writes into ``out``: ``data/`` (the ROOT ntuples), ``output.json`` and ``output.root`` (the
    processor output, :func:`na64tools.load_output` reads it), ``summary.json``, ``report.md``, the plots (PNG) and the exports
    (``limits.csv``, ``efficiency.csv``, ``result.json``, ``hepdata/``). Returns a dict of the paths.
    """
    from pathlib import Path

    from .analysis import Analysis
    from .config import default_setup
    from .report import write_results
    from .runner import run, save_output
    from .sim import simulate

    setup = setup or default_setup()
    out = Path(out)
    data = out / "data"
    out.mkdir(parents=True, exist_ok=True)
    n_steps = 5
    masses = tuple(sorted(float(m) for m in masses))

    log(f"[1/{n_steps}] simulating {len(masses)} signal samples ({model}, {signal_events} events each)")
    fileset = {}
    for i, m in enumerate(masses):
        files = simulate("signal", setup=setup, model=model, mass=m, coupling=coupling,
                         events=signal_events, seed=seed + 1 + i, out=data / f"signal_m{m:g}")
        fileset[f"signal_{model}_m{m:g}"] = [str(f) for f in files]
    log(f"[2/{n_steps}] simulating the background: {background_events} events for "
        f"{float(setup.run.mot):.3g} MOT")
    files = simulate("background", setup=setup, events=background_events, mot=float(setup.run.mot),
                     seed=seed, out=data / "background", files=2, progress=progress)
    fileset["background"] = [str(f) for f in files]

    log(f"[3/{n_steps}] running the missing-momentum processor ({executor}, {workers} workers)")
    output = run(fileset, executor=executor, workers=workers, progress=progress)
    index, root = save_output(output, out / "output")

    log(f"[4/{n_steps}] estimating efficiency, background and limits")
    analysis = Analysis(output, setup=setup)
    result = analysis.evaluate(model=model)

    log(f"[5/{n_steps}] plotting, exporting, writing summary.json and report.md")
    paths = {"data": data, "output": index, "output_root": root}
    paths.update(write_results(result, output, setup, out))
    return paths
