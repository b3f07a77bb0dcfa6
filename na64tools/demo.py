"""The ``na64tools demo`` chain: what NA64μ reaches with the embedded default setup.

Signal yield per exposure, before detector efficiency (docs/references.md, thin-target limit):

    N_sig / N_MOT = BR(X → invisible) · n_A · L_T · σ(E_0; x > x_cut; m, g),   x_cut = 1 − p_cut/E_0

with n_A the nuclei per cm³ of the target material and L_T its thickness (both from the setup).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Setup

__all__ = ["PhysicsRow", "physics_table", "format_physics_table", "PB_TO_CM2"]

#: 1 pb = 1e-36 cm²
PB_TO_CM2 = 1e-36


@dataclass(frozen=True)
class PhysicsRow:
    model: str
    mass: float  #: GeV
    sigma: float  #: pb, x > x_cut
    br_inv: float
    yield_per_1e10: float  #: signal events per 1e10 MOT before efficiency


def physics_table(setup: Setup, masses, *, coupling: float = 1e-4,
                  models=("vector", "scalar")) -> list[PhysicsRow]:
    """σ(x > x_cut) and the signal yield per 1e10 MOT (efficiency 1) for each model and mass."""
    from .physics import br_invisible, cross_section, material

    energy = float(setup.beam.energy)
    x_cut = 1.0 - setup.cuts.p_out_max / energy
    mat = material(setup.target.material)
    per_mot_per_pb = mat.n_atoms * float(setup.target.thickness) * PB_TO_CM2
    rows = []
    for model in models:
        for m in masses:
            sigma = cross_section(m, coupling, model=model, energy=energy, target=mat.name, x_min=x_cut)
            br = br_invisible(m, coupling, model=model)
            rows.append(PhysicsRow(model, float(m), sigma, br, 1e10 * br * per_mot_per_pb * sigma))
    return rows


def format_physics_table(setup: Setup, rows: list[PhysicsRow], *, coupling: float) -> str:
    energy = float(setup.beam.energy)
    x_cut = 1.0 - setup.cuts.p_out_max / energy
    sigma_head = f"sigma(x>{x_cut:.2f}) [pb]"
    lines = [
        f"NA64mu setup {setup.name}: {energy:g} GeV muons on {float(setup.target.thickness):g} cm "
        f"{setup.target.material}, {float(setup.run.mot):.3g} MOT, p_out < {setup.cuts.p_out_max:g} GeV "
        f"(x > {x_cut:.2f})",
        f"Dark-boson production mu N -> mu N X (WW), coupling g = {coupling:g}",
        "",
        f"{'model':<8} {'m_X [GeV]':>10} {sigma_head:>20} {'BR(inv)':>8} "
        f"{'N_sig / 1e10 MOT':>17}",
    ]
    for r in rows:
        lines.append(f"{r.model:<8} {r.mass:>10.3g} {r.sigma:>20.4g} {r.br_inv:>8.3f} {r.yield_per_1e10:>17.4g}")
    lines.append("")
    lines.append("N_sig = N_MOT * BR(inv) * n_A * L_T * sigma(x > x_cut), before detector efficiency "
                 "(docs/references.md).")
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
    from .run import run, save_output
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
