"""What a sample is made of: validated inputs, strata, their probabilities per MOT, event counts and
weights, and the fixed-size blocks that make the generation deterministic.

Importance sampling by strata
-----------------------------
A background sample of N generated events stands for ``mot`` muons on target. The space of what
can happen to one muon on target is split into disjoint *strata* ``s`` with probabilities ``r_s``
per MOT (``sum_s r_s = 1`` exactly, see :data:`BACKGROUND_STRATA`). A fixed share of the generated
events goes to each stratum (``n_s`` events, whatever its probability), and each event of
stratum ``s`` carries

    genWeight = mot * r_s / n_s        [MOT: muons on target this event stands for]

so that, exactly,

    sum of genWeight over the generated events of stratum s  = mot * r_s,
    sum of genWeight over all generated events               = mot,

and the weighted number of generated events in any region of phase space is an unbiased estimate
of the number of muons out of ``mot`` that end up there; the expected number of events passing a
selection in an exposure ``MOT_T`` is ``(MOT_T / sum(Runs.mot)) * sum(genWeight of passing events)``.

The signal sample has one stratum, invisible signal events with ``x > x_min``, of probability
``r = n_A L sigma(x > x_min) BR(X -> inv)`` per MOT; ``--events N`` makes ``mot = N / r``
(genWeight = 1: each generated event is one expected signal event), ``--mot M`` makes
``N = round(M r)`` (at least 1) and genWeight = ``M r / N``. The same formula as for the
background gives the expected signal yield, and ``efficiency = N_pass / N_generated``.

Determinism
-----------
Events are generated in blocks of :data:`BLOCK_SIZE` consecutive event numbers. The stratum of
the event at position ``j`` of a block is fixed by an integer golden-ratio sequence (a
deterministic, well-mixed layout), and every random number of a block comes from streams seeded
by ``SeedSequence([seed, sample, block, stream])``. A file is a range of event numbers; it
generates the blocks overlapping its range and keeps its events, so the concatenated events of K
files are identical whatever K, and a file's bytes do not depend on which worker writes it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..config import Setup, default_setup, load_setup
from .beam import BeamModel
from .detector import TrackModel
from .geometry import GeometryModel
from .processes import (
    SM_PROCESSES,
    V_MIN,
    PhotonuclearModel,
    TargetModel,
    eloss_sigma,
    signal_rate,
)

__all__ = [
    "SAMPLES",
    "MODELS",
    "BLOCK_SIZE",
    "DEFAULT_EVENTS",
    "MAX_EVENTS",
    "V_SPLIT",
    "S_MIN",
    "V_ESC",
    "Z_ESC",
    "Z_WIDE",
    "Stratum",
    "SamplePlan",
    "make_plan",
]

SAMPLES = ("signal", "background")
#: the shipped signal models; any model of the registry is accepted
#: (:func:`na64tools.models.available_models`)
MODELS = ("vector", "dark_photon", "scalar")
#: id of each sample in the seed sequence
SAMPLE_ID = {"signal": 1, "background": 2}

#: events per generation block
BLOCK_SIZE = 1 << 16
#: generated events when neither ``mot`` nor ``events`` fixes them
DEFAULT_EVENTS = {"background": 1_000_000, "signal": 100_000}
#: largest number of generated events of one sample
MAX_EVENTS = 10**11

# Generator settings (not physics: they move events between strata, not the expectations;
# docs/simulation.md explains each choice)
#: energy-loss fraction above which a muon may fire the trigger without mismeasurement
V_SPLIT = 0.05
#: relative curvature error of a forced MS2 mismeasurement (p 160 -> 145 GeV, trigger eff. < 1e-11)
S_MIN = 0.1
#: smallest v of the forced-escape photonuclear strata (p_out < 120 GeV: covers the loose
#: preselection p_out < 100 GeV of the processor with > 3 sigma of the MS2 resolution)
V_ESC = 0.25
#: smallest leading-hadron fraction z of the forced-escape stratum (soft system < 15 % of nu:
#: the events that can pass the published HCAL/ECAL MIP cuts)
Z_ESC = 0.85
#: smallest z of the wide forced-escape stratum (Z_WIDE < z < Z_ESC): a soft system of up to 70 %
#: of nu, which can still pass the loose preselection (ECAL < 10, HCAL < 20 GeV)
Z_WIDE = 0.3


@dataclass(frozen=True)
class Stratum:
    """One stratum of a sample.

    Attributes
    ----------
    name : str
        Short name.
    kind : {"muon", "k", "pi", "signal"}
        The incoming particle (beam muon, K+ or pi+ decaying in flight) or a muon radiating X.
    loss : str
        The SM energy loss in the target: ``"bulk"`` (none or soft, natural proportions),
        ``"none"``, ``"soft:<process>"`` (``V_MIN <= v < V_SPLIT``), ``"hard:<process>"``
        (``v >= V_SPLIT``), ``"escape"`` (photonuclear ``v >= V_ESC``), ``"natural"`` (any, with
        the natural probabilities).
    tail : {"natural", "forced", "exclude"}
        MS2 measurement of the muon: natural, forced into the tail with ``d > S_MIN``, or natural
        without that region.
    pn : {"natural", "exclude", "force", "force_wide", "force_charged"}
        Photonuclear final state: natural; without the escape configurations (for
        ``v >= V_ESC``: a leading hadron with ``z > Z_WIDE`` that leaves the ECAL and is lost in
        the HCAL, either charge); or forced into one of them: a neutral with ``z > Z_ESC``
        (``force``), a neutral with ``Z_WIDE < z < Z_ESC`` (``force_wide``), a charged hadron
        with ``z > Z_WIDE`` (``force_charged``).
    share : float
        Fraction of the generated events.
    """

    name: str
    kind: str
    loss: str
    tail: str
    pn: str
    share: float


#: the strata of a background sample, in stream order
BACKGROUND_STRATA: tuple[Stratum, ...] = (
    Stratum("mip", "muon", "bulk", "exclude", "natural", 0.05),
    Stratum("mip_tail", "muon", "none", "forced", "natural", 0.20),
    Stratum("brems_soft_tail", "muon", "soft:brems", "forced", "natural", 0.03),
    Stratum("pair_soft_tail", "muon", "soft:pair", "forced", "natural", 0.03),
    Stratum("photonuclear_soft_tail", "muon", "soft:photonuclear", "forced", "natural", 0.02),
    Stratum("brems_hard", "muon", "hard:brems", "exclude", "natural", 0.11),
    Stratum("pair_hard", "muon", "hard:pair", "exclude", "natural", 0.07),
    Stratum("photonuclear_hard", "muon", "hard:photonuclear", "exclude", "exclude", 0.09),
    Stratum("brems_hard_tail", "muon", "hard:brems", "forced", "natural", 0.02),
    Stratum("pair_hard_tail", "muon", "hard:pair", "forced", "natural", 0.02),
    Stratum("photonuclear_hard_tail", "muon", "hard:photonuclear", "forced", "exclude", 0.02),
    Stratum("escape", "muon", "escape", "natural", "force", 0.10),
    Stratum("escape_wide", "muon", "escape", "natural", "force_wide", 0.04),
    Stratum("escape_charged", "muon", "escape", "natural", "force_charged", 0.03),
    Stratum("k_decay", "k", "natural", "natural", "natural", 0.10),
    Stratum("pi_decay", "pi", "natural", "natural", "natural", 0.07),
)
SIGNAL_STRATA: tuple[Stratum, ...] = (Stratum("signal", "signal", "natural", "natural", "natural", 1.0),)

_GOLDEN = 2654435769  # round(2^32 / golden ratio): Knuth's multiplicative constant


def _layout_thresholds(shares: list[float]) -> np.ndarray:
    cum = np.cumsum(shares)
    cum = cum / cum[-1]
    return np.round(cum[:-1] * 2.0**32).astype(np.uint64)


def layout(length: int, shares: list[float]) -> np.ndarray:
    """Stratum index of each position ``0..length-1`` of a block (integer golden-ratio sequence)."""
    j = np.arange(1, length + 1, dtype=np.uint64)
    u = (j * np.uint64(_GOLDEN)) & np.uint64(0xFFFFFFFF)
    return np.searchsorted(_layout_thresholds(shares), u, side="right").astype(np.int16)


def _check_number(name: str, value, *, positive: bool = True, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}: value {value!r} is not a finite number")
    if positive and v <= 0:
        raise ValueError(f"{name}: value {value!r} must be > 0")
    if integer:
        if v != int(v):
            raise ValueError(f"{name}: value {value!r} must be an integer")
        return int(v)
    return v


@dataclass(frozen=True)
class SamplePlan:
    """A fully specified sample: inputs, strata with probabilities, counts and weights.

    Build it with :func:`make_plan`. Picklable (sent to Dask workers).
    """

    sample: str
    setup: Setup
    model: str
    mass: float
    coupling: float
    x_min: float
    seed: int
    n_events: int
    mot: float
    strata: tuple[Stratum, ...]
    rates: tuple[float, ...]
    sigma_pb: float = 0.0
    br_invisible: float = 0.0
    extra: dict = field(default_factory=dict, compare=False)
    #: the signal model object (:class:`na64tools.models.Model`), sent with the plan to the
    #: workers, so that a model registered in this process only is known there too
    signal_model: object = field(default=None, compare=False, repr=False)

    # --- derived ---------------------------------------------------------------------------
    @property
    def sample_id(self) -> int:
        return SAMPLE_ID[self.sample]

    @cached_property
    def shares(self) -> list[float]:
        return [s.share for s in self.strata]

    @cached_property
    def block_layout(self) -> np.ndarray:
        """Stratum index of each position of a full block."""
        return layout(BLOCK_SIZE, self.shares)

    def block_range(self, block: int) -> tuple[int, int]:
        """First and last+1 event number of ``block``.

        Parameters
        ----------
        block : int
            The block number.

        Returns
        -------
        (int, int)
            ``(start, stop)``.
        """
        return block * BLOCK_SIZE, min((block + 1) * BLOCK_SIZE, self.n_events)

    @property
    def n_blocks(self) -> int:
        return -(-self.n_events // BLOCK_SIZE)

    def layout_of(self, block: int) -> np.ndarray:
        """The stratum of each event of ``block`` (the block layout, cut to a shorter last block).

        Parameters
        ----------
        block : int
            The block number.

        Returns
        -------
        numpy.ndarray of int
            One stratum index per event of the block.
        """
        lo, hi = self.block_range(block)
        lay = self.block_layout
        return lay if hi - lo == BLOCK_SIZE else lay[: hi - lo]

    @cached_property
    def counts(self) -> np.ndarray:
        """Generated events per stratum in the whole sample."""
        k = len(self.strata)
        full, rest = divmod(self.n_events, BLOCK_SIZE)
        c = full * np.bincount(self.block_layout, minlength=k).astype(np.int64)
        if rest:
            c += np.bincount(self.block_layout[:rest], minlength=k)
        return c

    @cached_property
    def weights(self) -> np.ndarray:
        """genWeight of each stratum [MOT]: ``mot * r_s / n_s``."""
        return np.array([self.mot * r / n if n else 0.0 for r, n in zip(self.rates, self.counts, strict=True)])

    def file_range(self, index: int, files: int) -> tuple[int, int]:
        """Event numbers ``[start, stop)`` of file ``index`` of ``files``.

        Parameters
        ----------
        index : int
            The file number, from 0.
        files : int
            The number of files.

        Returns
        -------
        (int, int)
            ``(start, stop)``.
        """
        return self.n_events * index // files, self.n_events * (index + 1) // files

    # --- models ----------------------------------------------------------------------------
    @cached_property
    def beam(self) -> BeamModel:
        return BeamModel.from_setup(self.setup)

    @cached_property
    def target(self) -> TargetModel:
        return TargetModel.from_setup(self.setup)

    @cached_property
    def ms1(self) -> TrackModel:
        return TrackModel.from_setup(self.setup.ms1, "setup.ms1")

    @cached_property
    def ms2(self) -> TrackModel:
        return TrackModel.from_setup(self.setup.ms2, "setup.ms2")

    @cached_property
    def geometry(self) -> GeometryModel:
        return GeometryModel.from_setup(self.setup)

    @cached_property
    def pn(self) -> PhotonuclearModel:
        return PhotonuclearModel.from_setup(self.setup)

    def __getstate__(self):
        # drop cached models (rebuilt on the worker); keep the dataclass fields
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    def __setstate__(self, state):
        for k, v in state.items():
            object.__setattr__(self, k, v)


# ------------------------------------------------------------------------------------------
# probabilities
# ------------------------------------------------------------------------------------------
def loss_probabilities(setup: Setup) -> dict[str, float]:
    """Probabilities per muon of each SM interaction class in the target.

    ``P(none) = exp(-mu)``, ``P(k) = (mu_k / mu)(1 - exp(-mu))`` with
    ``mu_k = n_A L sigma_k(v > V_MIN)`` (one interaction per muon); split into ``soft``
    (``v < V_SPLIT``), ``hard`` (``v >= V_SPLIT``) and, for photonuclear, ``esc`` (``v >= V_ESC``).
    """
    tgt = TargetModel.from_setup(setup)
    e0 = float(setup.beam.energy)
    nl = tgt.n_atoms * tgt.thickness
    mu = {k: nl * eloss_sigma(k, e0, tgt.material, V_MIN, None) for k in SM_PROCESSES}
    mu_tot = sum(mu.values())
    p_any = -math.expm1(-mu_tot)
    out = {"none": math.exp(-mu_tot)}
    for k in SM_PROCESSES:
        pk = mu[k] / mu_tot * p_any
        s_all = eloss_sigma(k, e0, tgt.material, V_MIN, None)
        out[k] = pk
        out[f"{k}:soft"] = pk * eloss_sigma(k, e0, tgt.material, V_MIN, V_SPLIT) / s_all
        out[f"{k}:hard"] = pk - out[f"{k}:soft"]  # exact partition of P(k)
        if k == "photonuclear":
            out[f"{k}:esc"] = pk * eloss_sigma(k, e0, tgt.material, V_ESC, None) / s_all
    return out


def background_rates(setup: Setup) -> tuple[float, ...]:
    """Probability per MOT of each stratum of :data:`BACKGROUND_STRATA` (they sum to 1)."""
    beam = BeamModel.from_setup(setup)
    ms2 = TrackModel.from_setup(setup.ms2, "setup.ms2")
    pn = PhotonuclearModel.from_setup(setup)
    tgt = TargetModel.from_setup(setup)
    lp = loss_probabilities(setup)
    r_k, r_pi = beam.decay_rate("k"), beam.decay_rate("pi")
    muon = 1.0 - r_k - r_pi
    t_up = ms2.tail_probability * ms2.tail_exceeds(S_MIN)
    p_soft = lp["none"] + sum(lp[f"{k}:soft"] for k in SM_PROCESSES)
    r_esc = muon * lp["photonuclear:esc"] * pn.forced_probability(tgt, Z_ESC)
    r_wide = muon * lp["photonuclear:esc"] * pn.forced_probability(tgt, Z_WIDE, Z_ESC)
    r_ch = muon * lp["photonuclear:esc"] * pn.forced_probability(tgt, Z_WIDE, charge="charged")
    r_all = r_esc + r_wide + r_ch
    rates = {
        "mip": muon * p_soft * (1.0 - t_up),
        "mip_tail": muon * lp["none"] * t_up,
        "brems_soft_tail": muon * lp["brems:soft"] * t_up,
        "pair_soft_tail": muon * lp["pair:soft"] * t_up,
        "photonuclear_soft_tail": muon * lp["photonuclear:soft"] * t_up,
        "brems_hard": muon * lp["brems:hard"] * (1.0 - t_up),
        "pair_hard": muon * lp["pair:hard"] * (1.0 - t_up),
        "photonuclear_hard": (muon * lp["photonuclear:hard"] - r_all) * (1.0 - t_up),
        "brems_hard_tail": muon * lp["brems:hard"] * t_up,
        "pair_hard_tail": muon * lp["pair:hard"] * t_up,
        "photonuclear_hard_tail": (muon * lp["photonuclear:hard"] - r_all) * t_up,
        "escape": r_esc,
        "escape_wide": r_wide,
        "escape_charged": r_ch,
        "k_decay": r_k,
        "pi_decay": r_pi,
    }
    return tuple(rates[s.name] for s in BACKGROUND_STRATA)


# ------------------------------------------------------------------------------------------
# construction with validation
# ------------------------------------------------------------------------------------------
def make_plan(
    sample: str,
    *,
    setup: Setup | str | os.PathLike | None = None,
    model: str | object = "vector",
    mass: float | None = None,
    coupling: float | None = None,
    mot: float | None = None,
    events: int | None = None,
    seed: int = 0,
    x_min: float = 0.0,
) -> SamplePlan:
    """Validate the inputs and build the :class:`SamplePlan` of a sample.

    Parameters
    ----------
    sample : {"signal", "background"}
        The sample.
    setup : Setup or path, optional
        Setup description or its YAML file (default: the shipped 2022 setup).
    model : str or Model
        Signal only: the X model, a name of the registry (``vector``, ``dark_photon``,
        ``scalar`` or a registered model, :mod:`na64tools.models`) or a
        :class:`~na64tools.models.Model`.
    mass : float, optional
        Signal only: X mass [GeV].
    coupling : float, optional
        Signal only: the coupling (default 1e-4).
    mot : float, optional
        Muons on target the sample stands for [MOT] (background default: the setup's run).
    events : int, optional
        Generated events (before the trigger).
    seed : int
        Random seed (>= 0).
    x_min : float
        Signal only: generate X with x = E_X/E_0 > x_min.

    Returns
    -------
    SamplePlan
        The validated sample: inputs, strata with probabilities, counts and weights, the number
        of events and the exposure [MOT].

    Raises
    ------
    ValueError
        Naming the bad value: unknown sample or model, mass <= 0 or above the kinematic limit,
        coupling <= 0, mot <= 0, events < 1, seed < 0, x_min outside [0, 1), or a sample too
        small to hold every stratum.
    """
    if sample not in SAMPLES:
        raise ValueError(f"unknown sample {sample!r} (expected one of: {', '.join(SAMPLES)})")
    if setup is None:
        setup = default_setup()
    elif isinstance(setup, (str, os.PathLike)):
        setup = load_setup(setup)
    if not isinstance(setup, Setup):
        raise ValueError(f"setup: expected a na64tools.config.Setup, got {type(setup).__name__}")
    GeometryModel.from_setup(setup)  # validates the geometry (ValueError naming the key)
    seed = _check_number("seed", seed, positive=False, integer=True)
    if seed < 0:
        raise ValueError(f"seed: value {seed!r} must be >= 0")
    if mot is not None:
        mot = _check_number("mot", mot)
    if events is not None:
        events = _check_number("events", events, integer=True)
        if events > MAX_EVENTS:
            raise ValueError(f"events: value {events!r} exceeds the maximum {MAX_EVENTS:.0e}")
    x_min = _check_number("x_min", x_min, positive=False)
    if not 0.0 <= x_min < 1.0:
        raise ValueError(f"x_min: value {x_min!r} must be in [0, 1)")

    if sample == "background":
        mot = float(setup.run.mot) if mot is None else mot
        events = DEFAULT_EVENTS["background"] if events is None else events
        rates = background_rates(setup)
        plan = SamplePlan(sample, setup, "", 0.0, 0.0, 0.0, seed, events, mot, BACKGROUND_STRATA, rates)
        empty = [s.name for s, n in zip(plan.strata, plan.counts, strict=True) if n == 0]
        if empty:
            need = next(n for n in range(1, BLOCK_SIZE + 1)
                        if np.all(np.bincount(plan.block_layout[:n], minlength=len(plan.strata)) > 0))
            raise ValueError(f"events: value {events!r} is too small for a background sample: "
                             f"stratum {empty[0]!r} gets no event (need at least {need} events)")
        return plan

    # signal
    from ..models import get_model

    spec = get_model(model)  # ValueError naming the model and the registered ones
    model = spec.name
    if mass is None:
        raise ValueError("mass: a signal sample needs the X mass (GeV)")
    mass = _check_number("mass", mass)
    coupling = 1e-4 if coupling is None else _check_number("coupling", coupling)
    tgt = TargetModel.from_setup(setup)
    e0 = float(setup.beam.energy)
    from ..physics import x_range

    try:
        x_lo, x_hi = x_range(mass, energy=e0, target=tgt.material)
    except ValueError as err:
        raise ValueError(f"mass: {err}") from None
    if not x_lo < x_hi:
        raise ValueError(f"mass: value {mass!r} GeV is above the kinematic limit for a {e0:g} GeV muon")
    if max(x_lo, x_min) >= x_hi:
        raise ValueError(f"x_min: value {x_min!r} leaves no phase space for mass {mass!r} GeV "
                         f"(x < {x_hi:.6g})")
    rate, sigma_pb, br = signal_rate(mass, coupling, spec, e0, tgt, x_min)
    if not rate > 0.0:
        raise ValueError(f"mass: value {mass!r} GeV gives no invisible signal for model {model!r} "
                         f"(BR(X -> invisible) = {br:g}, sigma = {sigma_pb:g} pb)")
    if mot is not None and events is not None:
        raise ValueError(f"signal: give mot ({mot!r}) or events ({events!r}), not both: they are "
                         "tied by the cross-section")
    if mot is None:
        events = DEFAULT_EVENTS["signal"] if events is None else events
        mot = events / rate
    else:
        expected = mot * rate
        if expected > MAX_EVENTS:
            raise ValueError(f"mot: value {mot!r} means {expected:.3g} signal events at coupling "
                             f"{coupling!r} (maximum {MAX_EVENTS:.0e}); use events instead")
        events = max(1, round(expected))
    return SamplePlan(sample, setup, model, mass, coupling, x_min, seed, events, mot,
                      SIGNAL_STRATA, (rate,), sigma_pb=sigma_pb, br_invisible=br, signal_model=spec)
