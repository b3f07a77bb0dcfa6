"""Truth process codes stored in the ``Gen_process`` branch, and the background source of each.

The simulation writes the code of the physics process that produced each event; the processor
fills its ``process`` histogram axis and its background-by-source tables from it. The published
background table of NA64μ (PRL 132 (2024) 211803) has three sources; every simulated background
process maps onto one of them, or onto ``"other"``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PROCESSES", "CODES", "SOURCE_OF", "SOURCES", "process_name", "source_of_codes"]

#: code -> name of the true process written by :mod:`na64tools.sim`
PROCESSES: dict[int, str] = {
    0: "mip",             # beam muon that only ionised (and possibly was mismeasured)
    1: "signal",          # mu N -> mu N X, X invisible
    2: "brems",           # muon bremsstrahlung in the target
    3: "pair",            # e+e- pair production by the muon in the target
    4: "photonuclear",    # muon photonuclear interaction, hadrons contained
    5: "escape",          # photonuclear interaction with hadrons/neutrals escaping ECAL+HCAL
    6: "pi_decay",        # beam pi+ -> mu+ nu in flight
    7: "k_decay",         # beam K+ -> mu+ nu in flight
}
CODES: dict[str, int] = {v: k for k, v in PROCESSES.items()}

#: published background sources (L. Molina Bueno, CPAN days 2024, background table; PRL 132 (2024) 211803)
SOURCES: tuple[str, ...] = ("misreconstruction", "decays_in_flight", "non_hermeticity", "other")

#: true process -> published background source (signal has none)
SOURCE_OF: dict[str, str] = {
    "mip": "misreconstruction",
    "brems": "misreconstruction",
    "pair": "misreconstruction",
    "photonuclear": "misreconstruction",
    "escape": "non_hermeticity",
    "pi_decay": "decays_in_flight",
    "k_decay": "decays_in_flight",
}


def process_name(code: int) -> str:
    """The name of a ``Gen_process`` code (:data:`PROCESSES`).

    Parameters
    ----------
    code : int
        The code.

    Returns
    -------
    str
        Its name.

    Raises
    ------
    ValueError
        An unknown code.
    """
    try:
        return PROCESSES[int(code)]
    except KeyError:
        raise ValueError(f"unknown Gen_process code {code!r} (expected one of {sorted(PROCESSES)})") from None


def source_of_codes(codes: np.ndarray) -> np.ndarray:
    """Vectorised map of ``Gen_process`` codes to source names (``"signal"`` for code 1).

    Parameters
    ----------
    codes : numpy.ndarray of int
        ``Gen_process`` codes.

    Returns
    -------
    numpy.ndarray of object
        The source name of each code.

    Raises
    ------
    ValueError
        An unknown code.
    """
    lut = np.array([SOURCE_OF.get(PROCESSES[i], "signal") for i in range(len(PROCESSES))], dtype=object)
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() >= len(PROCESSES)):
        bad = codes[(codes < 0) | (codes >= len(PROCESSES))][0]
        raise ValueError(f"unknown Gen_process code {bad!r} (expected 0..{len(PROCESSES) - 1})")
    return lut[codes]
