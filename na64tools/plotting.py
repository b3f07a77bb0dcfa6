"""mplhep figures of the NA64μ analysis; every function returns ``(fig, ax)`` and saves when asked.

All plots of simulated data carry the label "NA64μ simulation". Axes are labelled with units.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import mplhep as hep
import numpy as np

from .physics import G2_2021, G2_2025, g2_band, g2_upper_bound, y_from_coupling, y_thermal

__all__ = [
    "plot_efficiency",
    "plot_efficiency_factors",
    "plot_background",
    "plot_cutflow",
    "plot_exclusion",
    "plot_ldm",
    "plot_pout",
    "LABEL",
]

#: experiment label drawn on every figure of simulated data
LABEL = "NA64μ simulation"

_SOURCE_LABELS = {
    "misreconstruction": "(I) momentum misreconstruction",
    "decays_in_flight": "(II) decays in flight",
    "non_hermeticity": "(III) non-hermeticity",
    "other": "other",
}


#: mplhep's ROOT style with font sizes that fit a 7x5 inch figure
_STYLE = [hep.style.ROOT, {"font.size": 14, "axes.labelsize": 16, "xtick.labelsize": 13,
                           "ytick.labelsize": 13, "legend.fontsize": 11, "axes.titlesize": 14}]


def _styled(func):
    """Draw inside the na64tools style without changing the caller's global rcParams."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.style.context(_STYLE):
            return func(*args, **kwargs)

    return wrapper


def _axes(ax, figsize=(7, 5)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def _label(ax, text: str = ""):
    ax.text(0.02, 0.98, f"$\\bf{{NA64\\mu}}$ simulation {text}".rstrip(), transform=ax.transAxes,
            ha="left", va="top", fontsize=12)


def _finish(fig, save):
    if save is not None:
        save = Path(save)
        save.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, bbox_inches="tight", dpi=120)
    return fig


@_styled
def plot_efficiency(masses, values, errors=None, *, ax=None, label="signal efficiency", save=None):
    """Signal efficiency after all cuts versus the X mass (log x axis)."""
    fig, ax = _axes(ax)
    ax.errorbar(masses, values, yerr=errors, fmt="o-", label=label)
    ax.set_xscale("log")
    ax.set_xlabel(r"$m_X$ [GeV]")
    ax.set_ylabel("efficiency after all cuts")
    ax.set_ylim(0, max(1.05 * float(np.max(values)) if len(values) else 1.0, 0.1))
    ax.legend(loc="lower right")
    _label(ax)
    return _finish(fig, save), ax


@_styled
def plot_efficiency_factors(factors: Mapping, *, errors: Mapping | None = None, model: str = "",
                            ax=None, save=None):
    """ε_trigger, ε_acceptance, ε_selection and their product ε versus the X mass.

    ``factors``: mass -> :class:`~na64tools.stats.efficiency.EfficiencyFactors`; ``errors``:
    mass -> statistical error of ε (drawn on the product). ε is the fraction of the produced X
    (x > x_min) passing trigger, acceptance and all cuts (docs/limits_method.md).
    """
    fig, ax = _axes(ax)
    masses = sorted(factors)
    for attr, lab, fmt in (("trigger", r"$\varepsilon_\mathrm{trigger}$", "s--"),
                           ("acceptance", r"$\varepsilon_\mathrm{acceptance}$", "^--"),
                           ("selection", r"$\varepsilon_\mathrm{selection}$", "v--")):
        ax.plot(masses, [getattr(factors[m], attr) for m in masses], fmt, lw=1, label=lab)
    yerr = [errors[m] for m in masses] if errors else None
    ax.errorbar(masses, [factors[m].total for m in masses], yerr=yerr, fmt="ko-", lw=2,
                label=r"$\varepsilon = \varepsilon_\mathrm{trig}\,\varepsilon_\mathrm{acc}\,"
                      r"\varepsilon_\mathrm{sel}$")
    ax.set_xscale("log")
    ax.set_xlabel(r"$m_X$ [GeV]")
    ax.set_ylabel("efficiency (produced X with $x > x_{min}$)")
    ax.set_ylim(0, 1.15)
    ax.legend(loc="lower right", fontsize=10, ncol=2)
    _label(ax, model)
    return _finish(fig, save), ax


@_styled
def plot_background(estimates: Mapping, *, published=None, mot: float | None = None, ax=None, save=None):
    """Expected background by source with errors, beside the published table when given.

    ``estimates``: source -> :class:`~na64tools.stats.background.BackgroundEstimate`;
    ``published``: the setup's ``backgrounds`` section.
    """
    fig, ax = _axes(ax)
    names = [s for s in estimates if s != "total"]
    x = np.arange(len(names))
    vals = np.array([estimates[s].value for s in names])
    errs = np.array([estimates[s].error for s in names])
    ups = [estimates[s].upper for s in names]
    ax.bar(x - 0.2, vals, width=0.4, yerr=errs, capsize=4, label="this simulation")
    for xi, up in zip(x, ups, strict=True):
        if up is not None:
            ax.plot([xi - 0.4, xi], [up, up], "k--", lw=1)
            ax.annotate("90% CL", (xi - 0.2, up), ha="center", va="bottom", fontsize=9)
    if published is not None:
        pub = [getattr(published, s, None) for s in names]
        measured = [i for i, p in enumerate(pub) if p is not None and not p.upper_limit]
        limits = [i for i, p in enumerate(pub) if p is not None and p.upper_limit]
        ax.bar(x[measured] + 0.2, [pub[i].value for i in measured], width=0.4,
               yerr=[pub[i].uncertainty for i in measured], capsize=4, alpha=0.6,
               label="published (PRL 132 (2024) 211803)")
        for i in limits:  # published upper limits: a bar top with a downward arrow
            ax.annotate("", xy=(x[i] + 0.2, 0.0), xytext=(x[i] + 0.2, pub[i].value),
                        arrowprops={"arrowstyle": "->", "color": "tab:orange", "lw": 2})
            ax.plot([x[i], x[i] + 0.4], [pub[i].value] * 2, color="tab:orange", lw=2)
            ax.annotate("published\nupper limit", (x[i] + 0.2, pub[i].value), ha="center", va="bottom",
                        fontsize=9, color="tab:orange")
    ax.set_xticks(x, [_SOURCE_LABELS.get(s, s) for s in names], rotation=15, ha="right", fontsize=11)
    ax.set_ylabel("expected background events")
    if mot:
        ax.set_title(f"{mot:.3g} MOT", loc="right")
    ax.legend(loc="upper right")
    _label(ax)
    return _finish(fig, save), ax


@_styled
def plot_cutflow(cutflow: Mapping[str, Mapping[str, float]], *, ax=None, save=None, key="sumw"):
    """Cutflow: ``{sample: {stage: value}}`` (e.g. sum of weights after each cut), log scale."""
    fig, ax = _axes(ax, figsize=(8, 5))
    for sample, flow in cutflow.items():
        stages = list(flow)
        ax.step(np.arange(len(stages)), [max(flow[s], 1e-300) for s in stages], where="mid", label=sample)
    ax.set_xticks(np.arange(len(stages)), stages, rotation=30, ha="right", fontsize=11)
    ax.set_yscale("log")
    ax.set_ylabel("events after cut (weighted)" if key == "sumw" else "events after cut")
    ax.legend(fontsize=9, loc="lower left")
    _label(ax)
    return _finish(fig, save), ax


@_styled
def plot_pout(edges, counts: Mapping[str, np.ndarray], *, cut: float | None = None, ax=None, save=None):
    """The scattered-muon momentum p_out by sample or process, with the cut drawn."""
    fig, ax = _axes(ax)
    for name, c in counts.items():
        hep.histplot(np.asarray(c), np.asarray(edges), ax=ax, label=name)
    if cut is not None:
        ax.axvline(cut, color="k", ls="--", label=f"$p_{{out}}$ < {cut:g} GeV")
    ax.set_xlabel(r"$p_{out}$ [GeV]")
    ax.set_ylabel("events")
    ax.set_yscale("log")
    ax.legend(fontsize=9)
    _label(ax)
    return _finish(fig, save), ax


@_styled
def plot_exclusion(limit, *, model: str = "vector", projections: Sequence | None = None,
                   g2: Sequence[str] = ("2021", "2025"), ax=None, save=None,
                   label="NA64μ 2022 reproduction (simulation)", status: str | None = None):
    """Exclusion plot g versus m (log-log) with the Brazil band, (g−2)_μ and projections.

    ``limit`` is a :class:`~na64tools.stats.limits.CouplingLimit`; ``projections`` a list of
    ``(label, masses, expected_median)``. The (g−2)_μ 2021 ±2σ band is drawn labelled as
    superseded, the 2025 result as an upper bound (docs/references.md). ``status``: a one-line
    reproduction status written under the axes (e.g.
    ``na64tools.report.reproduction_status(short=True)``).
    """
    fig, ax = _axes(ax)
    m = np.asarray(limit.masses)
    e = limit.expected
    ax.fill_between(m, e.minus2, e.plus2, color="#FFDF7F", label=r"expected $\pm 2\sigma$")
    ax.fill_between(m, e.minus1, e.plus1, color="#85D1FB", label=r"expected $\pm 1\sigma$")
    ax.plot(m, e.median, "k--", lw=1, label="expected (median)")
    if np.any(np.isfinite(limit.observed)):  # NaN: no observed limit (expected only)
        ax.plot(m, limit.observed, "k-", lw=2, label=f"{label}, observed {int(limit.cl * 100)}% CL")
    mm = np.geomspace(m.min(), m.max(), 200)
    g2_model = model  # delta_amu knows each model's coupling (ε for the dark photon)
    if "2021" in g2:
        lo, hi = g2_band(mm, G2_2021, g2_model, nsigma=2)
        ax.fill_between(mm, lo, hi, color="green", alpha=0.25, label=r"$(g-2)_\mu$ 2021 $\pm2\sigma$ (superseded)")
    if "2025" in g2:
        ax.plot(mm, g2_upper_bound(mm, G2_2025, g2_model), color="green", lw=1.5,
                label=r"$(g-2)_\mu$ 2025 upper bound")
    for lab, pm, pg in projections or []:
        ax.plot(pm, pg, ":", lw=1.5, label=lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$m_X$ [GeV]")
    ax.set_ylabel({"vector": r"$g_{Z'}$", "scalar": r"$g_S$", "dark_photon": r"$\epsilon$"}.get(model, "g"))
    ax.legend(fontsize=8, loc="lower right")
    _label(ax, {"vector": r"$L_\mu - L_\tau$ $Z'$", "scalar": "muon-philic scalar",
                "dark_photon": "dark photon"}.get(model, model))
    if status:
        ax.text(0.0, -0.16, status, transform=ax.transAxes, ha="left", va="top", fontsize=8,
                style="italic")
    return _finish(fig, save), ax


@_styled
def plot_ldm(limit, *, portal: str = "lmutau", alpha_D: float = 0.1, ratio: float = 3.0,
             projections: Sequence | None = None, limit_br_kwargs: dict | None = None, ax=None,
             save=None):
    """Light dark matter: y = ε² α_D (m_χ/m_X)⁴ versus m_χ = m_X/ratio with the thermal targets.

    The coupling limits (``limit`` and ``projections``) were computed with the invisible
    branching fraction of the search model (``"vector"`` for ``portal="lmutau"``: Z' → νν̄ only;
    ``"dark_photon"`` otherwise) and ``limit_br_kwargs``; they are converted to the LDM model,
    where X → χχ̄ (Dirac χ, α_D, m_χ = m_X/ratio) makes BR(X → invisible) ≈ 1, by
    :func:`~na64tools.physics.relic.ldm_coupling_limit` (g² BR is what the search bounds).
    Sources: Izaguirre, Krnjaic, Schuster, Toro, PRL 115 (2015) 251301, arXiv:1505.00011 (y); thermal targets:
    :func:`~na64tools.physics.relic.y_thermal`.
    """
    from .physics.relic import ldm_coupling_limit

    model = "vector" if portal == "lmutau" else "dark_photon"

    def to_y(masses, g):
        masses = np.asarray(masses, dtype=float)
        g_ldm = ldm_coupling_limit(masses, g, model=model, alpha_D=alpha_D, ratio=ratio,
                                   limit_br_kwargs=limit_br_kwargs)
        return y_from_coupling(g_ldm, masses / ratio, alpha_D, ratio, portal)

    fig, ax = _axes(ax)
    mchi = np.asarray(limit.masses) / ratio
    if np.any(np.isfinite(limit.observed)):  # NaN: no observed limit (expected only)
        ax.plot(mchi, to_y(limit.masses, limit.observed), "k-", lw=2,
                label=f"NA64μ (this toolkit) {int(limit.cl * 100)}% CL")
    ax.plot(mchi, to_y(limit.masses, limit.expected.median), "k--", lw=1,
            label="expected (median)")
    for lab, pm, pg in projections or []:
        ax.plot(np.asarray(pm) / ratio, to_y(pm, pg), ":", label=lab)
    mm = np.geomspace(mchi.min(), mchi.max(), 200)
    for dm, ls in (("scalar", "-"), ("dirac", "-.")):
        ax.plot(mm, y_thermal(mm, dm=dm, portal=portal, ratio=ratio), color="tab:red", ls=ls,
                label=f"thermal target ({dm})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$m_\chi$ [GeV]")
    ax.set_ylabel(r"$y = \epsilon^2 \alpha_D (m_\chi/m_X)^4$")
    ax.legend(fontsize=8, loc="lower right")
    _label(ax, rf"$\alpha_D$ = {alpha_D:g}, $m_X = {ratio:g}\,m_\chi$")
    return _finish(fig, save), ax
