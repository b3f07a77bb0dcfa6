r"""The signal-model registry: every dark-sector model the chain can simulate and interpret.

A signal model is one declarative :class:`Model` object registered under a name. The simulation
(``na64tools simulate --model NAME``, :func:`na64tools.sim.simulate`), the signal yield of the
limits (:func:`na64tools.stats.signal.yield_per_mot`), the plots, the exports and the
CutExplorer ask the registry for the model by name, so a model registered here goes through the
same chain as the shipped ones (docs/models.md has a worked example).

What a model provides (units: GeV, pb, rad):

- ``make_sampler(mass, energy, material, x_min) -> sampler``: the production
  :math:`\mu N \to \mu N + \text{invisible}` at coupling 1. The sampler has ``sigma`` (the total
  cross-section [pb] at coupling 1 for ``x > x_min``), ``sigma_at(coupling)`` [pb] and
  ``sample(n, rng) -> (x, theta)``: the fraction ``x = E_inv/E_0`` of the beam energy carried
  away invisibly and the polar angle ``theta`` of the invisible system (the generator puts the
  outgoing muon at ``(1 - x) E_0``, recoiling against it). The interface of
  :class:`na64tools.physics.XThetaSampler`.
- ``br_invisible(mass, coupling) -> float``: the fraction of the produced events that are
  invisible (BR(invisible), or the probability to decay beyond the detector).
- The coupling's name, plot label and unit, the PDG id written in ``GenPart``, the citation of
  the production formula, a one-sentence description.
- Optionally: ``cross_section`` (a faster σ [pb] than building a sampler), ``reference_lines``
  (curves drawn on the exclusion plot: other experiments' limits, preferred regions, each with
  its source), ``g2`` / ``relic_portal`` (the (g−2)_μ curves of
  :mod:`na64tools.physics.gminus2` and the light-dark-matter plot of
  :mod:`na64tools.physics.relic`, for the shipped models that have them).

Where models come from (all through :func:`register_model`):

1. the shipped ``vector`` (L_μ−L_τ Z′), ``dark_photon`` and ``scalar`` models, defined at the end
   of this module;
2. the entry-point group ``na64tools.models`` of installed packages (loaded once, when a name is
   first looked up): an entry point names a :class:`Model`, or a callable returning a model or a
   list of models;
3. a Python file, :func:`load_model_file` (``--model-file FILE`` of ``na64tools simulate``,
   ``run`` and ``limits``), that calls :func:`register_model`;
4. a notebook or script calling :func:`register_model`.

Worker processes (Dask) receive the :class:`Model` object inside the sample plan, so a model
registered in the parent process only reaches them: a model loaded from a file travels as its
file's source text (re-executed in the worker), any other model is pickled (its functions by
reference when importable, else by value with cloudpickle, as Dask does).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Model",
    "ReferenceCurve",
    "ENTRY_POINT_GROUP",
    "SHIPPED_MODELS",
    "FINAL_STATES",
    "register_model",
    "get_model",
    "available_models",
    "load_model_file",
    "model_from_info",
    "register_module",
]

#: the entry-point group of installed packages that provide models
ENTRY_POINT_GROUP = "na64tools.models"

#: what the generator puts after the production vertex (:attr:`Model.final_state`)
FINAL_STATES = ("muon", "electron")

#: a model name: used in file names (``signal_<name>_m0.1_...root``) and dataset names
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ReferenceCurve:
    """A curve drawn on a model's exclusion plot (another experiment's limit, a preferred region).

    Parameters
    ----------
    label : str
        Legend label.
    masses : numpy.ndarray
        Masses [GeV].
    couplings : numpy.ndarray
        Couplings at those masses (the model's coupling, in its unit).
    source : str
        Where the curve comes from (publication, and "digitised from Fig. N" for digitised points).
    """

    label: str
    masses: np.ndarray
    couplings: np.ndarray
    source: str


@dataclass(frozen=True)
class Model:
    r"""One signal model: production, invisible fraction, labels, references.

    Parameters
    ----------
    name : str
        Registry name (lower case letters, digits, ``_``; it goes into file and dataset names).
    label : str
        Plain-text name for legends and reports, e.g. ``"L_mu - L_tau Z'"``.
    coupling : str
        The coupling's name in plain text, e.g. ``"g_Z'"``, ``"epsilon"``.
    coupling_label : str
        The coupling in matplotlib math text, e.g. ``r"$g_{Z^\prime}$"`` (``$`` added if absent).
    coupling_unit : str
        The coupling's unit (``""`` for a dimensionless coupling, e.g. ``"GeV^-1"``).
    pdgid : int
        PDG id written for the invisible particle in ``GenPart``.
    reference : str
        Citation of the production formula.
    description : str
        One sentence.
    make_sampler : callable
        ``make_sampler(mass, energy, material, x_min) -> sampler`` (module docstring). Must be
        picklable (a module-level function or a ``functools.partial`` of one) to reach Dask workers
        when the model is not loaded from a file.
    br_invisible : callable
        ``br_invisible(mass, coupling, **kwargs) -> float`` in [0, 1].
    mass_symbol : str
        The particle in math text without ``$`` (mass axis ``m_{symbol}``), default ``X``.
    plot_label : str
        The name in legends (math text allowed); default: ``label``.
    cross_section : callable, optional
        ``cross_section(mass, coupling, energy, material, x_min) -> float`` [pb]; default:
        ``make_sampler(...).sigma_at(coupling)``.
    reference_lines : tuple of callables
        Each ``f(masses) -> ReferenceCurve`` (masses [GeV], the plot's range).
    final_state : {"muon", "electron"}
        What the generator puts after the production vertex (default ``"muon"``): ``"muon"``, the
        outgoing muon at ``(1 - x) E_0`` recoiling against the invisible system (the
        missing-momentum signature of every model but ``lfv_e``); ``"electron"``, no outgoing
        muon and an electron shower of ``(1 - x) E_0`` in the ECAL, recorded by the calorimeter
        trigger (μN → eX, :mod:`na64tools.physics.lfv`; docs/models/lfv.md). Such a model is
        selected by the processor's ``lfv_e`` selection, not the missing-momentum one.
    background_estimate : callable, optional
        ``background_estimate(mot, setup, cuts) -> dict`` of labelled background estimates
        ``{source: {"value": events, "error": events, "label": str}}`` for ``mot`` muons on
        target with the model's selection ``cuts`` (for an electron final state the processor's
        :class:`~na64tools.config.LfvECuts`), used by the limits *instead of* the simulated
        background sample when the simulation does not model the model's backgrounds
        (``lfv_e``: muon decays in flight); every output says so.
    g2 : str, optional
        The model key of :mod:`na64tools.physics.gminus2` (``vector``, ``scalar``,
        ``dark_photon``, ``alp``): the plots draw the (g−2)_μ band (not for the ALP, whose
        contribution is negative) and bound.
    relic_portal : str, optional
        The portal of :func:`na64tools.plotting.plot_ldm` (``lmutau``, ``dark_photon``): the
        report draws the light-dark-matter plot.
    source : tuple, optional
        Set by :func:`load_model_file`: ``(path, source text)`` of the file that registered the
        model (how it is sent to worker processes).
    """

    name: str
    label: str
    coupling: str
    coupling_label: str
    coupling_unit: str
    pdgid: int
    reference: str
    description: str
    make_sampler: Callable[..., Any]
    br_invisible: Callable[..., float]
    mass_symbol: str = "X"
    plot_label: str = ""
    cross_section: Callable[..., float] | None = None
    reference_lines: tuple = ()
    final_state: str = "muon"
    background_estimate: Callable[..., dict] | None = None
    g2: str | None = None
    relic_portal: str | None = None
    source: tuple | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"model name {self.name!r}: expected lower-case letters, digits and _ "
                             "starting with a letter (it is used in file names)")
        for key in ("label", "coupling", "coupling_label", "reference", "description"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"model {self.name!r}: {key} must be a non-empty string, got {value!r}")
        if not isinstance(self.coupling_unit, str):
            raise ValueError(f"model {self.name!r}: coupling_unit must be a string, got "
                             f"{self.coupling_unit!r}")
        if not self.plot_label:
            object.__setattr__(self, "plot_label", self.label)
        if "$" not in self.coupling_label:
            object.__setattr__(self, "coupling_label", f"${self.coupling_label}$")
        if isinstance(self.pdgid, bool) or not isinstance(self.pdgid, (int, np.integer)):
            raise ValueError(f"model {self.name!r}: pdgid must be an integer, got {self.pdgid!r}")
        object.__setattr__(self, "pdgid", int(self.pdgid))
        for key in ("make_sampler", "br_invisible"):
            if not callable(getattr(self, key)):
                raise ValueError(f"model {self.name!r}: {key} must be callable, got "
                                 f"{getattr(self, key)!r}")
        if self.final_state not in FINAL_STATES:
            raise ValueError(f"model {self.name!r}: final_state {self.final_state!r}, expected one "
                             f"of {', '.join(FINAL_STATES)}")
        if self.background_estimate is not None and not callable(self.background_estimate):
            raise ValueError(f"model {self.name!r}: background_estimate must be callable or None")
        if self.cross_section is not None and not callable(self.cross_section):
            raise ValueError(f"model {self.name!r}: cross_section must be callable or None")
        lines = tuple(self.reference_lines)
        if not all(callable(f) for f in lines):
            raise ValueError(f"model {self.name!r}: reference_lines must be callables "
                             "f(masses) -> ReferenceCurve")
        object.__setattr__(self, "reference_lines", lines)

    # --- what the chain uses --------------------------------------------------------------
    @property
    def axis_label(self) -> str:
        """The coupling axis label, with its unit: e.g. ``$g_{a\\mu\\mu}$ [GeV$^{-1}$]``."""
        return self.coupling_label + (f" [{self.coupling_unit}]" if self.coupling_unit else "")

    def sampler(self, mass: float, energy: float, material: str, x_min: float):
        """The model's sampler for this configuration, built once per process (cached).

        Parameters
        ----------
        mass : float
            Mass [GeV].
        energy : float
            Beam energy [GeV].
        material : str
            Target material.
        x_min : float
            Lower bound of x = E_inv/E_0.

        Returns
        -------
        object
            ``make_sampler(mass, energy, material, x_min)``: ``sigma``, ``sigma_at``, ``sample``
            (module docstring).
        """
        return _cached_sampler(self, float(mass), float(energy), str(material), float(x_min))

    def sigma(self, mass: float, coupling: float, energy: float, material: str,
              x_min: float = 0.0) -> float:
        """Total production cross-section [pb] at ``coupling`` for x > x_min.

        Parameters
        ----------
        mass : float
            Mass [GeV].
        coupling : float
            The coupling (in :attr:`coupling_unit`).
        energy : float
            Beam energy [GeV].
        material : str
            Target material.
        x_min : float
            Lower bound of x = E_inv/E_0.

        Returns
        -------
        float
            σ [pb].
        """
        if self.cross_section is not None:
            return float(self.cross_section(mass, coupling, energy, material, x_min))
        return float(self.sampler(mass, energy, material, x_min).sigma_at(coupling))

    def branching(self, mass: float, coupling: float, **kwargs) -> float:
        """``br_invisible(mass, coupling, **kwargs)``, checked to lie in [0, 1].

        Parameters
        ----------
        mass : float
            Mass [GeV].
        coupling : float
            The coupling.
        **kwargs
            Extra arguments of the model's ``br_invisible`` (e.g. ``m_chi``, ``alpha_D``).

        Returns
        -------
        float
            The invisible fraction.

        Raises
        ------
        ValueError
            A value outside [0, 1] or not a number.
        """
        try:
            arr = np.asarray(self.br_invisible(mass, coupling, **kwargs), dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"model {self.name!r}: br_invisible({mass!r}, {coupling!r}) is not a "
                             f"number ({err})") from None
        if arr.size != 1:
            raise ValueError(f"model {self.name!r}: br_invisible({mass!r}, {coupling!r}) returned "
                             f"{arr.size} values, expected one fraction")
        br = float(arr.reshape(-1)[0])
        if not 0.0 <= br <= 1.0:
            raise ValueError(f"model {self.name!r}: br_invisible({mass!r}, {coupling!r}) = {br!r}, "
                             "expected a fraction in [0, 1]")
        return br

    def curves(self, masses) -> list[ReferenceCurve]:
        """The model's reference curves over ``masses`` [GeV] (:attr:`reference_lines`).

        Parameters
        ----------
        masses : array_like
            Masses [GeV].

        Returns
        -------
        list of ReferenceCurve
            One per reference line.
        """
        m = np.asarray(masses, dtype=float)
        return [f(m) for f in self.reference_lines]

    # --- pickling: a file model travels as its file's source ------------------------------
    def __reduce__(self):
        if self.source is not None:
            return (_model_from_source, (self.name, *self.source))
        if self.name in _BUILTIN and _REGISTRY.get(self.name) is self:  # every process has it
            return (get_model, (self.name,))
        return (_rebuild, (type(self), {f.name: getattr(self, f.name) for f in fields(self)}))


def _rebuild(cls, values: dict) -> Model:
    return cls(**values)


@functools.lru_cache(maxsize=64)
def _cached_sampler(model: Model, mass: float, energy: float, material: str, x_min: float):
    return model.make_sampler(mass, energy, material, x_min)


# ------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Model] = {}
#: shipped models of a physics module, imported when first asked for (:func:`_register_lazily`):
#: name -> (module, register_module options)
_LAZY: dict[str, tuple[str, dict]] = {}
_LOCK = threading.RLock()
_ENTRY_POINTS_LOADED = False
#: entry points that failed to load: name -> one-line reason (said in get_model's error)
_BROKEN: dict[str, str] = {}
#: the model file being executed by load_model_file: (path, source)
_LOADING: list[tuple[str, str]] = []


def register_model(model: Model, *, replace: bool = False) -> Model:
    """Register ``model`` under ``model.name``.

    Parameters
    ----------
    model : Model
        The model.
    replace : bool
        Replace a model already registered under that name (default: refuse).

    Returns
    -------
    Model
        The registered model (called from a model file: tagged with the file's source, which is
        how it reaches worker processes).

    Raises
    ------
    ValueError
        Not a :class:`Model`, or the name is taken and ``replace`` is false.
    """
    if not isinstance(model, Model):
        raise ValueError(f"register_model: expected a na64tools.models.Model, got {type(model).__name__}")
    with _LOCK:
        if _LOADING:
            model = _tag(model, _LOADING[-1])
        if not replace and model.name in _LAZY and model.name not in _REGISTRY:
            _resolve(model.name)  # a lazily registered shipped model takes its name first
        old = _REGISTRY.get(model.name)
        if old is not None and not replace and not _same_file(old, model):
            where = f" (from {old.source[0]})" if old.source else ""
            raise ValueError(f"model {model.name!r} is already registered{where}: choose another "
                             "name, or register_model(model, replace=True)")
        _REGISTRY[model.name] = model
    return model


def _tag(model: Model, source: tuple[str, str]) -> Model:
    return model if model.source == source else replace(model, source=source)


def _same_file(old: Model, new: Model) -> bool:
    """The same model file loaded again (same source text): not a conflict."""
    return old.source is not None and new.source is not None and old.source[1] == new.source[1]


def get_model(name: str | Model) -> Model:
    """The registered model called ``name`` (a :class:`Model` is returned as it is).

    Parameters
    ----------
    name : str or Model
        The model's name.

    Returns
    -------
    Model
        The model.

    Raises
    ------
    ValueError
        An unknown name: the message names it, the registered models and how to register one.
    """
    if isinstance(name, Model):
        return name
    with _LOCK:
        model = _REGISTRY.get(name) if isinstance(name, str) else None
        if model is None and name in _LAZY:
            model = _resolve(name)
        if model is None:
            _load_entry_points()
            model = _REGISTRY.get(name) if isinstance(name, str) else None
    if model is None:
        broken = "".join(f"; entry point {k!r} failed to load: {v}" for k, v in sorted(_BROKEN.items()))
        raise ValueError(f"unknown model {name!r} (available: {', '.join(available_models())}); a "
                         "model of your own must be registered first: --model-file FILE on the "
                         "command line, or na64tools.models.register_model / load_model_file in "
                         f"Python (docs/models.md){broken}")
    return model


def available_models() -> tuple[str, ...]:
    """The names of the registered models: the shipped ones first, then in registration order.

    Returns
    -------
    tuple of str
        The names.
    """
    with _LOCK:
        _load_entry_points()
        return (*SHIPPED_MODELS, *(n for n in _REGISTRY if n not in _BUILTIN))


def _load_entry_points() -> None:
    """Register the models of the ``na64tools.models`` entry points, once per process."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if not isinstance(obj, Model) and callable(obj):
                obj = obj()
            items = [obj] if isinstance(obj, Model) else list(obj or ())
            for m in items:
                if m.name not in _REGISTRY or _REGISTRY[m.name] is not m:
                    register_model(m)
        except Exception as err:  # a broken plugin must not break the shipped models
            reason = " ".join(f"{type(err).__name__}: {err}".split())
            _BROKEN[ep.name] = reason
            warnings.warn(f"na64tools: model entry point {ep.name!r} ({ep.value}) failed to load: "
                          f"{reason}", RuntimeWarning, stacklevel=3)


def load_model_file(path: str | Path) -> tuple[str, ...]:
    """Execute a Python file that registers models (``--model-file``) and return their names.

    The file is run as a module of its own (``na64tools_model_<stem>``); it calls
    :func:`register_model`. Loading the same file (same text) again is allowed and re-registers
    its models.

    Parameters
    ----------
    path : str or path
        The file.

    Returns
    -------
    tuple of str
        The names of the models the file registered.

    Raises
    ------
    ValueError
        One line naming the file: unreadable, an error while running it, or no model registered.
    """
    path = Path(path)
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--model-file {path}: cannot read it ({type(err).__name__}: {err})") from None
    names = _exec_model_source(str(path), source)
    if not names:
        raise ValueError(f"--model-file {path}: the file registers no model (it must call "
                         "na64tools.models.register_model(Model(...)); docs/models.md)")
    return names


def _exec_model_source(path: str, source: str) -> tuple[str, ...]:
    """Run a model file's text as a fresh module; the names of the models it registered."""
    stem = re.sub(r"\W", "_", Path(path).stem)
    modname = f"na64tools_model_{stem}"
    spec = importlib.util.spec_from_loader(modname, loader=None, origin=path)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = path
    with _LOCK:
        before = dict(_REGISTRY)
        _LOADING.append((path, source))
        sys.modules[modname] = module  # dataclasses and pickling look the module up
        try:
            exec(compile(source, path, "exec"), module.__dict__)
        except Exception as err:
            sys.modules.pop(modname, None)
            _REGISTRY.clear()
            _REGISTRY.update(before)
            line = ""
            tb = err.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == path:
                    line = f" line {tb.tb_lineno}"
                tb = tb.tb_next
            if isinstance(err, SyntaxError) and err.lineno:
                line = f" line {err.lineno}"
            msg = " ".join(str(err).split())
            raise ValueError(f"--model-file {path}:{line} {type(err).__name__}: {msg}") from None
        finally:
            _LOADING.pop()
        return tuple(n for n, m in _REGISTRY.items() if m.source == (path, source)
                     and before.get(n) is not m)


def _model_from_source(name: str, path: str, source: str) -> Model:
    """Unpickle a file model: the registered one if this process has it, else run the file."""
    with _LOCK:
        old = _REGISTRY.get(name)
        if old is not None and old.source is not None and old.source[1] == source:
            return old
        _exec_model_source(path, source)
        model = _REGISTRY.get(name)
    if model is None:  # pragma: no cover - the file registered it in the parent
        raise ValueError(f"model file {path}: does not register model {name!r} in this process")
    return model


def model_from_info(info: dict, *, make_sampler: Callable, br_invisible: Callable,
                    **options) -> Model:
    """A :class:`Model` from a physics module's ``MODEL_INFO`` dict and its two functions.

    Parameters
    ----------
    info : dict
        Keys ``name``, ``label``, ``coupling``, ``coupling_label``, ``coupling_unit``, ``pdgid``,
        ``reference``, ``description`` (other keys are passed to :class:`Model` too).
    make_sampler : callable
        ``make_sampler(mass, energy, material, x_min) -> sampler`` (module docstring).
    br_invisible : callable
        ``br_invisible(mass, coupling) -> float``.
    **options
        Further :class:`Model` fields (``mass_symbol``, ``reference_lines``, ``cross_section``).

    Returns
    -------
    Model
        The model (not registered: pass it to :func:`register_model`).
    """
    known = {f.name for f in fields(Model)}
    unknown = sorted(set(info) - known)
    if unknown:
        raise ValueError(f"MODEL_INFO {info.get('name')!r}: unknown key(s) {', '.join(unknown)} "
                         f"(expected: {', '.join(sorted(known))})")
    return Model(**info, make_sampler=make_sampler, br_invisible=br_invisible, **options)


def register_module(module, *, info: str = "MODEL_INFO", make_sampler: str = "make_sampler",
                    br_invisible: str = "br_invisible", replace: bool = False, **options) -> Model:
    """Register the model of a physics module that exposes ``MODEL_INFO``, ``make_sampler`` and
    ``br_invisible`` (the interface of the physics modules, :func:`model_from_info`).

    Parameters
    ----------
    module : str or module
        The module or its import name, e.g. ``"na64tools.physics.alp"``.
    info, make_sampler, br_invisible : str
        The names of the three attributes in the module (for a module with several models, e.g.
        ``info="MODEL_INFO_TAU", make_sampler="make_sampler_tau"``).
    replace : bool
        Replace a model already registered under that name.
    **options
        Further :class:`Model` fields (``mass_symbol``, ``reference_lines``, ``cross_section``).

    Returns
    -------
    Model
        The registered model.
    """
    mod = importlib.import_module(module) if isinstance(module, str) else module
    try:
        spec = model_from_info(getattr(mod, info), make_sampler=getattr(mod, make_sampler),
                               br_invisible=getattr(mod, br_invisible), **options)
    except AttributeError as err:
        raise ValueError(f"module {mod.__name__}: {err}") from None
    return register_model(spec, replace=replace)


# ------------------------------------------------------------------------------------------
# the shipped models (docs/physics.md): the functions of na64tools.physics
# ------------------------------------------------------------------------------------------
def _x_sampler(mass: float, energy: float, material: str, x_min: float, *, model: str):
    """:func:`na64tools.physics.get_sampler` (WW dσ/dx dθ, cached) of a shipped model."""
    from .physics.cross_section import get_sampler

    return get_sampler(mass, model=model, energy=energy, target=material, x_min=x_min)


def _x_sigma(mass: float, coupling: float, energy: float, material: str, x_min: float, *,
             model: str) -> float:
    """:func:`na64tools.physics.cross_section` [pb] of a shipped model."""
    from .physics.cross_section import cross_section

    return cross_section(mass, coupling, model=model, energy=energy, target=material, x_min=x_min)


def _x_br(mass, coupling, *, model: str, **kwargs):
    """:func:`na64tools.physics.widths.br_invisible` of a shipped model."""
    from .physics.widths import br_invisible

    return br_invisible(mass, coupling, model, **kwargs)


_PRODUCTION = ("Bjorken, Essig, Schuster, Toro, PRD 80 (2009) 075018 (arXiv:0906.0580), with the "
               "muon mass kept; Kirpichnikov et al., PRD 104 (2021) 076012 (arXiv:2107.13297); "
               "WW double-differential cross-section as in DMG4")


def _shipped(name: str, **kw) -> Model:
    return Model(name=name, make_sampler=functools.partial(_x_sampler, model=name),
                 br_invisible=functools.partial(_x_br, model=name),
                 cross_section=functools.partial(_x_sigma, model=name), g2=name, **kw)


for _m in (
    _shipped("vector", label="L_mu - L_tau Z'", coupling="g_Z'", coupling_label=r"$g_{Z^\prime}$",
             coupling_unit="", pdgid=32, mass_symbol=r"Z^\prime", relic_portal="lmutau",
             plot_label=r"$L_\mu - L_\tau$ $Z^\prime$",
             reference=_PRODUCTION,
             description="A Z' gauge boson of L_mu - L_tau coupled to muons with strength g_Z', "
                         "invisible through Z' -> nu nu-bar."),
    _shipped("dark_photon", label="dark photon", coupling="epsilon", coupling_label=r"$\epsilon$",
             coupling_unit="", pdgid=32, mass_symbol=r"A^\prime", relic_portal="dark_photon",
             reference=_PRODUCTION,
             description="A kinetically mixed dark photon A' (mixing epsilon) decaying to light "
                         "dark matter, A' -> chi chi-bar."),
    _shipped("scalar", label="muon-philic scalar", coupling="g_S", coupling_label="$g_S$",
             coupling_unit="", pdgid=9000006, mass_symbol="S",
             reference=_PRODUCTION.replace("WW", "WW (scalar amplitude)"),
             description="A scalar S coupled to muons, g_S S mu-bar mu, invisible below the "
                         "dimuon threshold."),
):
    register_model(_m)
del _m

def _lfv_e_background(mot: float, setup, cuts=None) -> dict:
    """:func:`na64tools.physics.lfv.lfv_e_background_estimate` (the labelled analytic lfv_e
    background: the fast simulation does not model muon decays in flight)."""
    from .physics.lfv import lfv_e_background_estimate

    return lfv_e_background_estimate(mot, setup, cuts)


def _register_lazily(name: str, module: str, **options) -> None:
    """Register the model ``name`` of the physics module ``module`` (:func:`register_module`
    with ``options``) when it is first asked for: importing na64tools (and ``na64tools --help``)
    does not import the physics modules and their dependencies."""
    _LAZY[name] = (module, options)


def _resolve(name: str) -> Model:
    """Import the module of a lazily registered shipped model and register it."""
    module, options = _LAZY[name]
    model = register_module(module, replace=True, **options)
    if model.name != name:  # a programming error of the shipped table below
        raise RuntimeError(f"{module}: MODEL_INFO name {model.name!r}, registered as {name!r}")
    return model


# the models of the other physics modules of na64tools, one line each (docs/models/)
_register_lazily("alp", "na64tools.physics.alp", mass_symbol="a", g2="alp")
_register_lazily("millicharged", "na64tools.physics.millicharged", mass_symbol=r"\chi")
_register_lazily("lfv_tau", "na64tools.physics.lfv", info="MODEL_INFO_TAU",
                 make_sampler="make_sampler_tau", br_invisible="br_invisible_tau")
_register_lazily("lfv_e", "na64tools.physics.lfv", info="MODEL_INFO_E",
                 make_sampler="make_sampler_e", br_invisible="br_invisible_e",
                 final_state="electron", background_estimate=_lfv_e_background)

#: the models shipped with na64tools, in registration order
SHIPPED_MODELS = (*_REGISTRY, *_LAZY)
#: the models na64tools registers when imported or first asked for (sent to workers by name)
_BUILTIN = frozenset(SHIPPED_MODELS)
