"""Results users keep: limits and efficiencies as CSV and JSON, as HEPData YAML (hepdata_lib) and
as pyhf JSON workspaces of the counting experiment (one per mass point)."""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = ["write_limits_csv", "write_efficiency_csv", "write_background_csv", "write_json", "write_hepdata",
           "validate_hepdata", "export_result", "hepdata_note", "HEPDATA_MISSING", "PYHF_MISSING",
           "PYHF_CHANNEL", "PYHF_BACKGROUND_MODELS", "pyhf_workspace", "pyhf_metadata",
           "validate_pyhf_workspace", "write_pyhf_workspaces"]

#: what the exports say when the HEPData submission cannot be written (no ``limits`` extra)
HEPDATA_MISSING = ("HEPData not written: install na64tools[limits] (pip install 'na64tools[limits]') "
                   "for hepdata_lib")

#: what the exports say when the pyhf workspaces cannot be written (no ``limits`` extra)
PYHF_MISSING = ("pyhf workspaces not written: install na64tools[limits] (pip install "
                "'na64tools[limits]') for pyhf")

#: the efficiency definition, as written into the HEPData table
_EFF_DEFINITION = ("Signal efficiency eps: the fraction of the produced X with x = E_X/E_0 > x_min "
                   "(the generated signal events) that pass trigger, acceptance and all cuts, "
                   "N_sig = MOT * n_A * L_T * sigma(x > x_min) * BR(X -> inv) * eps; "
                   "eps = eps_trigger * c_set * eps_acceptance * eps_selection, where c_set = "
                   "signal.efficiency_correction is set, not measured.")

_MODEL_COUPLING = {"vector": "g_Z'", "scalar": "g_S", "dark_photon": "epsilon"}


def _coupling_name(model: str) -> str:
    """The coupling's name of a registered model (:mod:`na64tools.models`), ``g`` if unknown."""
    from .models import get_model

    try:
        return get_model(model).coupling
    except ValueError:
        return _MODEL_COUPLING.get(model, "g")


def _path(path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_limits_csv(result, path) -> Path:
    """Observed and expected (median, ±1σ, ±2σ) coupling limits per mass.

    Columns ``mass_GeV``, ``observed``, ``expected_minus2`` ... ``expected_plus2`` (couplings).

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    path : str or path
        The file to write (directories created).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        The result has no limit curve.
    """
    lim = result.limit
    if lim is None:
        raise ValueError("result has no limit curve to export (no signal sample for its model?)")
    e = lim.expected
    path = _path(path)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mass_GeV", "observed", "expected_minus2", "expected_minus1", "expected_median",
                    "expected_plus1", "expected_plus2"])
        for i, m in enumerate(lim.masses):
            w.writerow([repr(float(m)), repr(float(lim.observed[i]))]
                       + [repr(float(np.asarray(v)[i])) for v in (e.minus2, e.minus1, e.median, e.plus1, e.plus2)])
    return path


def write_efficiency_csv(result, path) -> Path:
    """Signal efficiency per simulated mass with its statistical error and its factors.

    ``efficiency`` = n_pass/n_generated, the fraction of the produced X (x > x_min) passing
    trigger, acceptance and all cuts; ``eps_trigger * c_set * eps_acceptance * eps_selection``
    equals it, with ``c_set`` = ``signal.efficiency_correction``, set, not measured (empty factor
    columns when the factors are unavailable, see ``Result.factors_note``).

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    path : str or path
        The file to write (directories created).

    Returns
    -------
    Path
        ``path``.
    """
    path = _path(path)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mass_GeV", "efficiency", "error", "n_pass", "n_generated", "eps_trigger",
                    "c_set_not_measured", "eps_acceptance", "eps_selection", "n_triggered",
                    "n_accepted"])
        for m, e in sorted(result.efficiencies.items()):
            fac = result.factors.get(m) if getattr(result, "factors", None) else None
            extra = (["", "", "", "", "", ""] if fac is None else
                     [repr(fac.trigger), repr(float(fac.correction)), repr(fac.acceptance),
                      repr(fac.selection), fac.n_triggered, fac.n_accepted])
            w.writerow([repr(float(m)), repr(e.value), repr(e.error), e.n_pass, e.n_total, *extra])
    return path


def write_background_csv(result, path) -> Path:
    """Expected background per source and in total, with errors and effective event counts.

    ``n_eff`` = (Σw)²/Σw² of the simulated events behind each estimate; ``low_statistics`` flags
    fewer than :data:`~na64tools.stats.background.LOW_N_EFF` effective events.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    path : str or path
        The file to write (directories created).

    Returns
    -------
    Path
        ``path``.
    """
    path = _path(path)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "events", "stat", "syst", "error", "n_events", "n_eff", "low_statistics",
                    "upper_90cl"])
        for b in [*result.background.values(), result.total_background]:
            w.writerow([b.source, repr(b.value), repr(b.stat), repr(b.syst), repr(b.error), b.n_events,
                        repr(b.n_eff), b.low_statistics, "" if b.upper is None else repr(b.upper)])
    return path


def write_json(result, path, **extra) -> Path:
    """The :meth:`~na64tools.analysis.Result.summary` (plus ``extra`` keys) as JSON.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    path : str or path
        The file to write (directories created).
    **extra
        More top-level keys.

    Returns
    -------
    Path
        ``path``.
    """
    path = _path(path)
    data = {**result.summary(), **extra}
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")
    return path


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def write_hepdata(result, outdir, *, description: str = "") -> Path:
    """A HEPData submission (``submission.yaml`` + one YAML per table) made with hepdata_lib.

    Tables: the observed and expected coupling limits versus mass, and the signal efficiency.
    Writes the folder ``outdir`` and, beside it, the upload archive ``<outdir>.tar.gz``; both are
    checked with hepdata-validator (a failure raises ``RuntimeError`` with the validator's
    messages). Requires the ``limits`` extra (``pip install na64tools[limits]``).

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    outdir : str or path
        The submission folder.
    description : str
        Description of the submission (default: a generated one).

    Returns
    -------
    Path
        ``outdir / "submission.yaml"``, relative if ``outdir`` was given relative.
    """
    try:
        with warnings.catch_warnings():
            # hepdata_validator imports a deprecated jsonschema API at import time
            warnings.simplefilter("ignore", DeprecationWarning)
            from hepdata_lib import Submission, Table, Uncertainty, Variable
    except ImportError as err:
        raise ImportError("HEPData export needs hepdata_lib: pip install 'na64tools[limits]'") from err
    lim = result.limit
    if lim is None:
        raise ValueError("result has no limit curve to export")
    coupling = _coupling_name(result.model)
    sub = Submission()
    sub.comment = description or (f"NA64mu missing-momentum search, {result.mot:.3g} MOT, reproduced with "
                                  "the na64tools simulation (not an official NA64 result).")
    t = Table("Coupling limit")
    t.description = (f"{int(lim.cl * 100)}% CL upper limit on the coupling {coupling} of the {result.model} "
                     "model versus its mass, observed and expected (CLs counting experiment).")
    t.location = "na64tools limits"
    t.keywords["observables"] = ["COUPLING"]
    t.keywords["cmenergies"] = [float(np.sqrt(2 * 0.938 * 160.0))]
    mass = Variable("m_X", is_independent=True, is_binned=False, units="GeV")
    mass.values = [float(m) for m in lim.masses]
    obs = Variable(f"{coupling} observed", is_independent=False, is_binned=False)
    obs.values = [float(v) for v in lim.observed]
    exp = Variable(f"{coupling} expected", is_independent=False, is_binned=False)
    e = lim.expected
    exp.values = [float(v) for v in np.asarray(e.median)]
    for name, lo, hi in (("1 sigma", e.minus1, e.plus1), ("2 sigma", e.minus2, e.plus2)):
        u = Uncertainty(name, is_symmetric=False)
        u.values = [(float(a) - float(m), float(b) - float(m))
                    for a, b, m in zip(np.asarray(lo), np.asarray(hi), np.asarray(e.median), strict=True)]
        exp.add_uncertainty(u)
    for v in (mass, obs, exp):
        t.add_variable(v)
    sub.add_table(t)

    te = Table("Signal efficiency")
    te.description = _EFF_DEFINITION + " Versus the X mass (simulation)."
    te.location = "na64tools limits"
    te.keywords["observables"] = ["EFF"]
    em = Variable("m_X", is_independent=True, is_binned=False, units="GeV")
    ev = Variable("efficiency", is_independent=False, is_binned=False)
    items = sorted(result.efficiencies.items())
    em.values = [float(m) for m, _ in items]
    ev.values = [e.value for _, e in items]
    ue = Uncertainty("stat", is_symmetric=True)
    ue.values = [e.error for _, e in items]
    ev.add_uncertainty(ue)
    te.add_variable(em)
    te.add_variable(ev)
    factors = getattr(result, "factors", None) or {}
    if factors and all(m in factors for m, _ in items):
        for attr, name in (("trigger", "efficiency trigger factor"),
                           ("correction", "efficiency correction c_set (set, not measured)"),
                           ("acceptance", "efficiency acceptance factor"),
                           ("selection", "efficiency selection factor")):
            fv = Variable(name, is_independent=False, is_binned=False)
            fv.values = [float(getattr(factors[m], attr)) for m, _ in items]
            te.add_variable(fv)
    sub.add_table(te)

    out = Path(outdir)
    outdir = out.resolve()
    archive = outdir.parent / f"{outdir.name}.tar.gz"
    outdir.parent.mkdir(parents=True, exist_ok=True)
    # hepdata_lib writes (and validates) its tarball ``submission.tar.gz`` in the working directory:
    # run it from the parent of ``outdir`` and move the tarball BESIDE the folder (inside it, the
    # validator rejects the folder: "submission.tar.gz is not referenced in the submission").
    # Not thread-safe: os.chdir is process-wide.
    cwd = os.getcwd()
    try:
        os.chdir(outdir.parent)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # hepdata_validator leaves the YAML files it validates open (third-party ResourceWarning)
            warnings.simplefilter("ignore", ResourceWarning)
            sub.create_files(outdir.name, validate=True, remove_old=True)
        os.replace(outdir.parent / "submission.tar.gz", archive)
    finally:
        os.chdir(cwd)
    errors = validate_hepdata(outdir)
    if errors:
        raise RuntimeError(f"HEPData submission {out} fails hepdata-validator: " + "; ".join(errors))
    return out / "submission.yaml"


def validate_hepdata(path) -> list[str]:
    """Validate a HEPData submission folder or ``.tar.gz`` archive with hepdata-validator.

    Parameters
    ----------
    path : str or os.PathLike
        The submission folder (holding ``submission.yaml``) or its archive.

    Returns
    -------
    list of str
        The validator's error messages, ``"file: message"``; empty when the submission is valid.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        from hepdata_validator.full_submission_validator import FullSubmissionValidator

        v = FullSubmissionValidator()
        path = Path(path)
        ok = v.validate(archive=str(path)) if path.is_file() else v.validate(directory=str(path))
    errors = [f"{Path(f).name}: {m.message}" for f, msgs in v.get_messages().items() for m in msgs
              if m.level == "error"]
    if not ok and not errors:
        errors = ["invalid (no message from the validator)"]
    return errors


# --------------------------------------------------------------------------------------------
# pyhf workspaces: the counting experiment as a likelihood others can combine and recast
# --------------------------------------------------------------------------------------------
#: the one channel (one bin) of every workspace, named for NA64μ so that a combination with
#: another experiment's workspace (``pyhf.Workspace.combine``) keeps the channels apart
PYHF_CHANNEL = "na64mu_signal_region"

#: what the modifiers of a workspace are, as written into its metadata
_PYHF_MODIFIERS = (
    "signal: normfactor 'mu' (the POI; mu = 1 is the signal at the reference coupling) and, when "
    "the signal-yield uncertainty r > 0, a shapesys 'na64mu_signal_yield' of data r*N: a Poisson "
    "auxiliary measurement of tau = 1/r^2 events, the Gamma(mean 1, rel. std r) prior of "
    "na64tools' limit. Background: one sample per source, 'background_<source>', each with its own "
    "shapesys 'na64mu_background_<source>' of data = the source's error sqrt(stat^2 + syst^2) "
    "(a Poisson auxiliary measurement, the modifier of pyhf.simplemodels.uncorrelated_background; "
    "it stays positive for the 100 % systematics of some sources, where a normsys would reach zero). "
    "The sources are uncorrelated in the workspace; na64tools' own limit uses ONE Gamma prior on the "
    "total background, with the sources' statistical errors added in quadrature and their "
    "systematics added linearly (na64tools.stats.background.total_background). The two agree "
    "exactly for a single source and for n_obs = 0 (where the CLs limit does not depend on the "
    "background); otherwise they differ by the correlation of the systematics only.")

#: which calculator reproduces na64tools' limit, as written into the metadata
_PYHF_CALCULATOR = (
    "na64tools' limit is an exact CLs with the number of events as test statistic and the nuisance "
    "parameters integrated over their priors (hybrid, Cousins & Highland, NIM A 320 (1992) 331); "
    "na64tools.stats.limits. pyhf's asymptotic calculator (Cowan et al., EPJ C 71 (2011) 1554) is not "
    "valid for a handful of events: at n_obs = 0 it gives about 1.4 signal events instead of "
    "-ln(0.1) = 2.30 at 90 % CL. Use toys (calctype='toybased') or a hybrid CLs on this likelihood "
    "for small counts; for combinations with large counts the asymptotic formulae apply.")


def _require_pyhf():
    """Import pyhf, or raise a one-line ImportError naming the extra."""
    try:
        import pyhf
    except ImportError as err:
        raise ImportError("pyhf workspaces need pyhf: pip install 'na64tools[limits]'") from err
    return pyhf


def _mass_key(mass: float) -> str:
    return f"{float(mass):g}"


def _signal_at(result, mass: float) -> tuple[float, str]:
    """(N_sig at the reference coupling and ``mass``, how it was obtained) from the limit curve.

    At a mass of the limit curve's grid the yield is the one behind the limit; between grid points
    it is interpolated linearly in (log m, log N), as the coupling limits printed by
    ``na64tools limits`` (g ∝ N^-1/2, so the two interpolations agree exactly).
    """
    lim = result.limit
    if lim is None or result.signal_yield_ref is None:
        raise ValueError("result has no limit curve (no signal sample for its model?): no pyhf "
                         "workspace can be written")
    masses = np.asarray(lim.masses, dtype=float)
    yields = np.asarray(result.signal_yield_ref, dtype=float)
    m = float(mass)
    if not (math.isfinite(m) and masses[0] * (1 - 1e-9) <= m <= masses[-1] * (1 + 1e-9)):
        raise ValueError(f"mass {mass!r} GeV is outside the limit curve [{masses[0]:g}, "
                         f"{masses[-1]:g}] GeV of model {result.model!r}")
    hit = np.flatnonzero(np.isclose(masses, m, rtol=1e-9, atol=0.0))
    if hit.size:
        return float(yields[hit[0]]), "the signal yield of the limit curve at this mass"
    j = int(np.searchsorted(masses, m))
    x0, x1 = np.log(masses[j - 1]), np.log(masses[j])
    t = (math.log(m) - x0) / (x1 - x0)
    y0, y1 = yields[j - 1], yields[j]
    if y0 > 0 and y1 > 0:
        value = float(np.exp((1 - t) * np.log(y0) + t * np.log(y1)))
    else:
        value = float((1 - t) * y0 + t * y1)
    return value, ("interpolated linearly in (log m, log N) between the limit curve's masses "
                   f"{masses[j - 1]:.6g} and {masses[j]:.6g} GeV")


#: the background models of :func:`pyhf_workspace`
PYHF_BACKGROUND_MODELS = ("by_source", "total")


def _median_count(result) -> int:
    """The median observed count under the background-only hypothesis
    (:func:`na64tools.stats.limits.background_only_quantiles`): the count at which na64tools'
    median expected limit is the limit."""
    from .stats.limits import background_only_quantiles

    b = result.total_background
    return background_only_quantiles(float(b.value), float(b.error))["median"]


def pyhf_workspace(result, mass: float, *, background: str = "by_source") -> dict:
    """The counting experiment at one mass as a pyhf JSON workspace (one channel, one bin).

    Samples: ``signal`` with the normfactor POI ``mu`` (``mu = 1`` is the expected signal at the
    reference coupling ``result.g_ref``) and its yield uncertainty (``shapesys``
    ``na64mu_signal_yield``, the Gamma prior of na64tools' limit); one ``background_<source>``
    sample per background source with its error as a ``shapesys``. Observations: the observed
    count (for an expected-only result, the median count under the background-only hypothesis,
    at which na64tools' median expected limit is the limit: see :func:`pyhf_metadata`). Measurement: POI ``mu``, bounds ``[0, mu_max]`` wide enough for the
    limit. The workspace schema admits no metadata: :func:`pyhf_metadata` gives it (written
    beside the workspace by :func:`write_pyhf_workspaces`).

    For a signal yield ∝ g² with a g-independent invisible branching ratio (the assumption of
    na64tools' own coupling limit), the coupling limit is ``g_ref * sqrt(mu_up)``.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`, with its limit curve.
    mass : float
        The mass [GeV], inside the limit curve (a simulated mass, or any mass between them).
    background : str
        ``"by_source"`` (default): one sample per source, as above. ``"total"``: one sample
        ``background_total`` with the total background and its error as one ``shapesys``, exactly
        na64tools' own counting model (``pyhf.simplemodels.uncorrelated_background`` plus the
        signal-yield uncertainty), without the split.

    Returns
    -------
    dict
        The workspace specification (``pyhf.Workspace(spec)`` accepts it; the JSON file is
        ``json.dumps(spec)``).

    Raises
    ------
    ValueError
        No limit curve, a mass outside it, or an unknown ``background``.

    Examples
    --------
    >>> import pyhf  # doctest: +SKIP
    >>> ws = pyhf.Workspace(pyhf_workspace(result, 0.1))  # doctest: +SKIP
    >>> model, data = ws.model(), ws.data(ws.model())  # doctest: +SKIP
    """
    if background not in PYHF_BACKGROUND_MODELS:
        raise ValueError(f"background {background!r}: expected one of {', '.join(PYHF_BACKGROUND_MODELS)}")
    n_sig, _how = _signal_at(result, mass)
    r = float(result.signal_uncertainty)
    signal_mods: list[dict] = [{"name": "mu", "type": "normfactor", "data": None}]
    if r > 0 and n_sig > 0:
        signal_mods.append({"name": "na64mu_signal_yield", "type": "shapesys", "data": [r * n_sig]})
    samples = [{"name": "signal", "data": [n_sig], "modifiers": signal_mods}]
    sources = (result.background if background == "by_source" else
               {"total": result.total_background})
    for src, b in sources.items():
        mods = []
        if b.value > 0 and b.error > 0:
            mods.append({"name": f"na64mu_background_{src}", "type": "shapesys", "data": [float(b.error)]})
        samples.append({"name": f"background_{src}", "data": [float(b.value)], "modifiers": mods})
    observed = float(result.n_obs) if result.observed else float(_median_count(result))
    lim = result.limit
    s_events = [float(v) for v in lim.events_expected.as_dict().values()]
    if result.observed and math.isfinite(float(lim.events_observed)):
        s_events.append(float(lim.events_observed))
    mu_max = 10.0 if n_sig <= 0 else max(10.0, 10.0 * max(s_events) / n_sig)
    return {
        "version": "1.0.0",
        "channels": [{"name": PYHF_CHANNEL, "samples": samples}],
        "observations": [{"name": PYHF_CHANNEL, "data": [observed]}],
        "measurements": [{
            "name": f"na64mu_{result.model}_m{_mass_key(mass)}GeV",
            "config": {"poi": "mu", "parameters": [
                {"name": "mu", "bounds": [[0.0, float(mu_max)]], "inits": [1.0]}]},
        }],
    }


def pyhf_metadata(result, mass: float, *, setup=None) -> dict:
    """What the workspace of :func:`pyhf_workspace` at ``mass`` is: model, coupling, exposure,
    cuts, efficiency, the mapping of ``mu`` to the coupling, the modifier choice and na64tools' own
    limit there (to compare with).

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`, with its limit curve.
    mass : float
        The mass [GeV], inside the limit curve.
    setup : Setup, optional
        The setup the result was computed with (its name and hash are recorded; without it the
        metadata says that they are unknown).

    Returns
    -------
    dict
        JSON-serialisable metadata.
    """
    from ._version import __version__
    from .analysis import EFFICIENCY_DEFINITION

    n_sig, how = _signal_at(result, mass)
    m = float(mass)
    lim = result.limit
    coupling = _coupling_name(result.model)
    g_ref = float(result.g_ref)
    eff = next((e for k, e in result.efficiencies.items() if math.isclose(k, m, rel_tol=1e-9)), None)
    if eff is not None:
        efficiency = {"value": eff.value, "error": eff.error, "n_pass": eff.n_pass,
                      "n_generated": eff.n_total, "simulated_mass": True}
    elif result.curve is not None:
        efficiency = {"value": float(result.curve(m)), "error": float(result.curve.error(m)),
                      "simulated_mass": False,
                      "note": "interpolated between the simulated masses (log m)"}
    else:  # pragma: no cover - a limit implies an efficiency curve
        efficiency = None

    def limit_at(events):
        events = float(events)
        if not math.isfinite(events):
            return None, None
        if n_sig <= 0:
            return math.inf, math.inf
        mu = events / n_sig
        return mu, g_ref * math.sqrt(mu)

    mu_obs, g_obs = limit_at(lim.events_observed) if result.observed else (None, None)
    mu_exp, g_exp = limit_at(lim.events_expected.median)
    return {
        "description": (f"NA64mu missing-momentum search, counting experiment at m = {m:g} GeV for "
                        f"the {result.model} model, {result.mot:.4g} MOT; reproduced with the "
                        "na64tools simulation (not an official NA64 result)."),
        "na64tools_version": __version__,
        "model": result.model,
        "coupling": coupling,
        "mass_GeV": m,
        "mot": float(result.mot),
        "setup": ({"name": setup.name, "hash": setup.hash} if setup is not None else
                  {"name": None, "hash": None, "note": "setup not given to the export"}),
        "cuts": result.cuts.to_dict(),
        "signal_efficiency": efficiency,
        "efficiency_definition": EFFICIENCY_DEFINITION,
        "poi": "mu",
        "reference_coupling": g_ref,
        "signal_events_at_reference_coupling": n_sig,
        "signal_events_source": how,
        "mu_to_coupling": (f"mu scales the signal yield; mu = 1 is the signal at {coupling} = "
                           f"{g_ref:g}. The signal yield is proportional to {coupling}^2 with an "
                           f"invisible branching ratio independent of {coupling} (na64tools' "
                           f"assumption for its own coupling limit), so {coupling}_up = {g_ref:g} * "
                           f"sqrt(mu_up). For a model whose invisible branching ratio (or decay "
                           f"length) depends on {coupling}, solve N({coupling})/N({g_ref:g}) = mu_up "
                           "instead."),
        "signal_uncertainty": float(result.signal_uncertainty),
        "signal_systematics": dict(result.signal_systematics),
        "background": {s: b.as_dict() for s, b in result.background.items()},
        "background_total": result.total_background.as_dict(),
        "modifiers": _PYHF_MODIFIERS,
        "observed": result.n_obs if result.observed else None,
        "observations_note": ("the observed count" if result.observed else
                              "NO observed count for this exposure: the observation is the median "
                              "count under the background-only hypothesis (Poisson, or negative "
                              "binomial with the background uncertainty), for expected limits only: "
                              "na64tools' median expected limit is the limit at this count "
                              f"({_median_count(result)} events). An Asimov data set (n = the "
                              "expected background) gives a weaker limit when the background "
                              "uncertainty is large."),
        "na64tools_limit": {
            "cl": float(lim.cl),
            "method": lim.method,
            "events_observed": float(lim.events_observed) if result.observed else None,
            "mu_observed": mu_obs,
            "coupling_observed": g_obs,
            "events_expected_median": float(lim.events_expected.median),
            "mu_expected_median": mu_exp,
            "coupling_expected_median": g_exp,
        },
        "calculator": _PYHF_CALCULATOR,
        "partial": bool(getattr(result, "partial", False)),
        "notes": list(result.notes),
    }


def validate_pyhf_workspace(spec: dict):
    """Check a workspace specification against pyhf's JSON schema and build its model.

    Parameters
    ----------
    spec : dict
        A pyhf workspace specification (e.g. from :func:`pyhf_workspace`).

    Returns
    -------
    pyhf.Workspace
        The workspace.

    Raises
    ------
    ValueError
        The specification fails pyhf's schema or its model cannot be built (pyhf's message).
    ImportError
        pyhf is not installed (``pip install 'na64tools[limits]'``).
    """
    pyhf = _require_pyhf()
    with warnings.catch_warnings():
        # pyhf 0.7.6 validates its schema with the deprecated jsonschema.RefResolver
        warnings.filterwarnings("ignore", "jsonschema.RefResolver", DeprecationWarning)
        try:
            ws = pyhf.Workspace(spec)
            ws.model()
        except (pyhf.exceptions.InvalidSpecification, pyhf.exceptions.InvalidModel) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(f"pyhf workspace is not valid: {first}") from err
    return ws


def write_pyhf_workspaces(result, directory, *, masses=None, setup=None) -> list[Path]:
    """One pyhf JSON workspace per mass point of ``result``'s model, each validated by pyhf.

    Files ``<model>_m<mass>GeV.json`` (the workspace: ``pyhf.Workspace(json.load(f))``, or
    ``pyhf cls FILE``) and, beside each, ``<model>_m<mass>GeV.metadata.json``
    (:func:`pyhf_metadata`: the workspace schema admits no metadata of its own).

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`, with its limit curve.
    directory : str or path
        The folder to write (created).
    masses : sequence of float, optional
        Masses [GeV] (default: the simulated masses inside the limit curve).
    setup : Setup, optional
        The setup of the result (name and hash go into the metadata).

    Returns
    -------
    list of Path
        The workspace files (not the metadata files), in order of mass.

    Raises
    ------
    ImportError
        pyhf is not installed (``pip install 'na64tools[limits]'``).
    ValueError
        No limit curve, a mass outside it, or a workspace pyhf rejects.
    """
    _require_pyhf()
    if result.limit is None:
        raise ValueError("result has no limit curve to export (no signal sample for its model?)")
    if masses is None:
        lo, hi = float(result.limit.masses[0]), float(result.limit.masses[-1])
        masses = [m for m in sorted(result.efficiencies) if lo * (1 - 1e-9) <= m <= hi * (1 + 1e-9)]
    specs = []
    for m in masses:
        spec = pyhf_workspace(result, m)
        validate_pyhf_workspace(spec)
        specs.append((float(m), spec, pyhf_metadata(result, m, setup=setup)))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for m, spec, meta in specs:
        stem = f"{result.model}_m{_mass_key(m)}GeV"
        path = directory / f"{stem}.json"
        path.write_text(json.dumps(spec, indent=2, default=_json_default) + "\n")
        (directory / f"{stem}.metadata.json").write_text(
            json.dumps(meta, indent=2, default=_json_default) + "\n")
        paths.append(path)
    return paths


def export_result(result, outdir, *, hepdata: bool = True, pyhf: bool = True,
                  setup=None) -> dict[str, Path]:
    """Write limits.csv, efficiency.csv, background.csv, result.json and (if hepdata_lib is
    installed) the HEPData submission ``hepdata/`` with its archive ``hepdata.tar.gz``, and (if
    pyhf is installed) one pyhf workspace per simulated mass in ``pyhf/``
    (:func:`write_pyhf_workspaces`).

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    outdir : str or path
        The output directory.
    hepdata : bool
        Also write the HEPData submission (when hepdata_lib is installed).
    pyhf : bool
        Also write the pyhf workspaces (when pyhf is installed).
    setup : Setup, optional
        The setup of the result (its name and hash go into the pyhf workspaces' metadata).

    Returns
    -------
    dict
        name -> path of each file written (``"pyhf_workspaces"``: their folder). Without
        hepdata_lib there is no ``"hepdata"`` key, without pyhf no ``"pyhf_workspaces"`` key; the
        caller says so with :data:`HEPDATA_MISSING` / :data:`PYHF_MISSING` (see
        :func:`hepdata_note`).
    """
    outdir = Path(outdir)
    paths = {
        "limits_csv": write_limits_csv(result, outdir / "limits.csv") if result.limit is not None else None,
        "efficiency_csv": write_efficiency_csv(result, outdir / "efficiency.csv"),
        "background_csv": write_background_csv(result, outdir / "background.csv"),
        "json": write_json(result, outdir / "result.json"),
    }
    if hepdata and result.limit is not None:
        try:
            paths["hepdata"] = write_hepdata(result, outdir / "hepdata")
            paths["hepdata_archive"] = outdir / "hepdata.tar.gz"
        except ImportError:
            paths["hepdata"] = None
    if pyhf and result.limit is not None:
        try:
            write_pyhf_workspaces(result, outdir / "pyhf", setup=setup)
            paths["pyhf_workspaces"] = outdir / "pyhf"
        except ImportError:
            paths["pyhf_workspaces"] = None
    return {k: v for k, v in paths.items() if v is not None}


def hepdata_note(result, paths) -> str | None:
    """:data:`HEPDATA_MISSING` when ``result`` has a limit but ``paths`` (from
    :func:`export_result`) holds no HEPData submission, and/or :data:`PYHF_MISSING` when it holds
    no pyhf workspaces because pyhf is not installed; else ``None``.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    paths : mapping of str to Path
        What :func:`export_result` wrote.

    Returns
    -------
    str or None
        The note, or ``None``.
    """
    if result.limit is None:
        return None
    notes = []
    if paths.get("hepdata") is None:
        notes.append(HEPDATA_MISSING)
    if paths.get("pyhf_workspaces") is None:
        try:
            _require_pyhf()
        except ImportError:
            notes.append(PYHF_MISSING)
    return " ".join(notes) or None
