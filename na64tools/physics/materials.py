"""Target materials: atomic number, mass number, density, radiation length.

Z, A and density of Pb and W: docs/references.md (PDG "Atomic and nuclear properties of
materials"). Radiation lengths X0 and nuclear interaction lengths from the same PDG tables.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Material", "MATERIALS", "material", "AVOGADRO"]

#: Avogadro's number [1/mol] (CODATA 2018, exact)
AVOGADRO = 6.02214076e23


@dataclass(frozen=True)
class Material:
    """A target material (element)."""

    name: str
    Z: float
    A: float  #: g/mol
    density: float  #: g/cm^3
    X0: float  #: radiation length, cm
    lambda_int: float  #: nuclear interaction length, cm

    @property
    def n_atoms(self) -> float:
        """Nuclei per cm^3: N_A rho / A."""
        return AVOGADRO * self.density / self.A


#: PDG "Atomic and nuclear properties of materials" (pdg.lbl.gov/AtomicNuclearProperties)
MATERIALS: dict[str, Material] = {
    "Pb": Material("Pb", 82.0, 207.2, 11.35, 0.5612, 17.59),
    "W": Material("W", 74.0, 183.84, 19.3, 0.3504, 9.946),
    "Fe": Material("Fe", 26.0, 55.845, 7.874, 1.757, 16.77),
    "Cu": Material("Cu", 29.0, 63.546, 8.96, 1.436, 15.32),
}


def material(name: str | Material) -> Material:
    """Look up a material by name; raises ``ValueError`` naming the unknown target.

    Parameters
    ----------
    name : str or Material
        A key of :data:`MATERIALS` (a :class:`Material` is returned as it is).

    Returns
    -------
    Material
        Z, A, density [g/cm³], X0 and λ_int [cm].
    """
    if isinstance(name, Material):
        return name
    try:
        return MATERIALS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown target {name!r} (expected one of: {', '.join(MATERIALS)})") from None
