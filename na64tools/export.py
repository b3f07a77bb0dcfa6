"""Results users keep: limits and efficiencies as CSV and JSON, and as HEPData YAML (hepdata_lib)."""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = ["write_limits_csv", "write_efficiency_csv", "write_background_csv", "write_json", "write_hepdata",
           "validate_hepdata", "export_result", "hepdata_note", "HEPDATA_MISSING"]

#: what the exports say when the HEPData submission cannot be written (no ``limits`` extra)
HEPDATA_MISSING = ("HEPData not written: install na64tools[limits] (pip install 'na64tools[limits]') "
                   "for hepdata_lib")

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


def export_result(result, outdir, *, hepdata: bool = True) -> dict[str, Path]:
    """Write limits.csv, efficiency.csv, background.csv, result.json and (if hepdata_lib is
    installed) the HEPData submission ``hepdata/`` with its archive ``hepdata.tar.gz``.

    Parameters
    ----------
    result : Result
        The result of :meth:`na64tools.analysis.Analysis.evaluate`.
    outdir : str or path
        The output directory.
    hepdata : bool
        Also write the HEPData submission (when hepdata_lib is installed).

    Returns
    -------
    dict
        name -> path of each file written. Without hepdata_lib there is no ``"hepdata"`` key; the
        caller says so with :data:`HEPDATA_MISSING` (see :func:`hepdata_note`).
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
    return {k: v for k, v in paths.items() if v is not None}


def hepdata_note(result, paths) -> str | None:
    """:data:`HEPDATA_MISSING` when ``result`` has a limit but ``paths`` (from
    :func:`export_result`) holds no HEPData submission, else ``None``.

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
    if result.limit is not None and paths.get("hepdata") is None:
        return HEPDATA_MISSING
    return None
