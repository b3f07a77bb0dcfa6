"""The ``na64tools demo`` chain: what NA64μ reaches with the embedded default setup.

Signal yield per exposure, before detector efficiency (NA64MU_FACTS.md section 3, thin-target limit):

    N_sig / N_MOT = BR(X → invisible) · n_A · L_T · σ(E_0; x > x_cut; m, g),   x_cut = 1 − p_cut/E_0

with n_A the nuclei per cm³ of the target material and L_T its thickness (both from the setup).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Setup
from .physics import br_invisible, cross_section, material

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
                 "(NA64MU_FACTS.md section 3).")
    return "\n".join(lines)
