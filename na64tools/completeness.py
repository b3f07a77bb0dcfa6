"""Is a processor output fit for physics? The single check before efficiencies, backgrounds, limits.

A processor output states the exposure of each dataset (``out["mot"]``, from the ``Runs`` trees)
for whole files. If the run did not read every event of those files (``na64tools.run(...,
maxchunks=N)``, or a plain coffea ``Runner`` stopped early), the events are a fraction of what the
MOT and the generated counts stand for: a background would come out too low and an efficiency
too small by that fraction, silently. :func:`check_physics_ready` refuses such an output with a
one-line :class:`PartialOutputError`, unless the caller opts in with ``allow_partial=True``; then
the MOT and generated counts of each file are scaled to the events actually processed (the
output records them per file in ``out["processed"]``), and the returned :class:`Exposure` says so
(``partial`` and ``notes``, which :class:`na64tools.analysis.Result` and every report carry).

Files left out with ``skip_bad_files=True`` are not in the output's MOT at all: an output with
skipped files is also refused unless ``allow_partial=True`` (then nothing needs scaling, and the
notes name the skipped files), because its exposure is not the exposure the user asked for.

Used by :class:`na64tools.analysis.Analysis` (hence ``na64tools limits``, the demo, the
CutExplorer and its dashboard, and the exports, which all start from an ``Analysis``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Exposure", "PartialOutputError", "check_physics_ready"]


class PartialOutputError(ValueError):
    """The processor output does not hold every event of its files (or files were skipped)."""


@dataclass(frozen=True)
class Exposure:
    """What the events of a processor output stand for, per dataset.

    ``mot`` and ``n_generated`` equal the ``out["mot"]`` records for a complete output; for a
    partial output accepted with ``allow_partial=True`` each file contributes
    ``Runs.mot × processed / nWritten`` and ``Runs.nGenerated × processed / nWritten`` (the
    generated count rounded to an integer per dataset). That scaling assumes the processed events
    are a representative part of the file's written events (the first chunks of a file are; they
    are not a random sample, so treat the result as an estimate, as ``notes`` says).
    """

    mot: dict[str, float]
    n_generated: dict[str, int]
    partial: bool
    notes: tuple[str, ...]


def _records(output):
    if not isinstance(output, Mapping):
        raise ValueError(f"expected a processor output (the dict of na64tools.run), got "
                         f"{type(output).__name__}")
    try:
        return output["files"], output["mot"]
    except KeyError:
        raise ValueError("processor output lacks 'files'/'mot' bookkeeping: pass the output of "
                         "na64tools.run() or MissingMomentumProcessor") from None


def check_physics_ready(output, allow_partial: bool = False) -> Exposure:
    """Check that ``output`` holds every event of its files; return the :class:`Exposure`.

    Parameters
    ----------
    output
        A processor output (``na64tools.run(...)`` or ``MissingMomentumProcessor``).
    allow_partial
        Accept an incomplete output: scale MOT and generated counts to the events processed
        (per file, from ``output["processed"]``) and say so in ``Exposure.notes``.

    Returns
    -------
    Exposure

    Raises
    ------
    PartialOutputError
        The output is incomplete and ``allow_partial`` is false, or it is incomplete and lacks
        the per-file processed counts needed to scale it.
    """
    files, mots = _records(output)
    processed = output.get("processed")
    skipped = list(output.get("skipped") or [])
    complete = output.get("complete")
    # events processed vs written, per file (exact integers)
    short: list[tuple[str, str, int, int]] = []   # dataset, file, processed, written
    n_proc_total = n_written_total = 0
    if isinstance(processed, Mapping):
        for ds, recs in files.items():
            for fn, rec in recs.items():
                p = int(processed.get(ds, {}).get(fn, 0))
                n_proc_total += p
                n_written_total += int(rec.n_written)
                if p != int(rec.n_written):
                    short.append((ds, fn, p, int(rec.n_written)))
    else:
        for ds, m in mots.items():
            n_proc_total += int(m.n_processed)
            n_written_total += int(m.n_written)
            if int(m.n_processed) != int(m.n_written):
                short.append((ds, "", int(m.n_processed), int(m.n_written)))
    if complete is None:
        complete = not short and not skipped
    elif complete:
        short = []   # na64tools.run checked every chunk (split outputs keep the parent's counts)
    exposure = {ds: float(m.mot) for ds, m in mots.items()}
    generated = {ds: int(m.n_generated) for ds, m in mots.items()}
    if complete:
        return Exposure(exposure, generated, False, ())

    reasons = []
    if short:
        nf = len(short)
        reasons.append(f"only {n_proc_total} of {n_written_total} events processed ({nf} file"
                       f"{'s' if nf > 1 else ''} read in part, e.g. {short[0][1] or short[0][0]}: "
                       f"{short[0][2]} of {short[0][3]}; na64tools.run(maxchunks=...)?)")
    if skipped:
        names = ", ".join(str(getattr(s, "filename", s)) for s in skipped[:2])
        more = f" and {len(skipped) - 2} more" if len(skipped) > 2 else ""
        reasons.append(f"{len(skipped)} file{'s' if len(skipped) > 1 else ''} skipped ({names}{more})")
    if not reasons:
        reasons.append("the output is marked incomplete (out['complete'] is False)")
    why = "; ".join(reasons)
    if not allow_partial:
        raise PartialOutputError(
            f"incomplete processor output: {why}. Its MOT and generated counts cover whole files, "
            "so a background or an efficiency from it would be wrong: process every file, or opt "
            "in with allow_partial=True (na64tools limits --allow-partial) to scale them to the "
            "events processed")
    notes = [f"PARTIAL OUTPUT: {why}."]
    if short:
        if not isinstance(processed, Mapping):
            raise PartialOutputError(
                "incomplete processor output without per-file processed-event counts "
                "('processed'): its MOT cannot be scaled to the events read; run the processor "
                "again with this version of na64tools")
        for ds, recs in files.items():
            mot_parts, gen = [], 0.0
            for fn, rec in recs.items():
                p, w = int(processed.get(ds, {}).get(fn, 0)), int(rec.n_written)
                f = p / w if w else 1.0
                mot_parts.append(float(rec.mot) * f)
                gen += int(rec.n_generated) * f
            exposure[ds] = math.fsum(mot_parts)
            generated[ds] = int(round(gen))
        notes.append("MOT and generated events of each file are scaled by the fraction of its "
                     "written events that was processed (an estimate: the first chunks of a file "
                     "stand for the whole file).")
    if skipped:
        notes.append("The MOT of the skipped files is not counted: the exposure is that of the "
                     "files read.")
    return Exposure(exposure, generated, True, tuple(notes))
