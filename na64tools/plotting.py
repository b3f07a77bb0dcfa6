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
from matplotlib.cbook import STEP_LOOKUP_MAP
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
from matplotlib.transforms import Bbox

from .physics import (
    G2_2021,
    G2_2025,
    explains_anomaly,
    g2_band,
    g2_upper_bound,
    y_from_coupling,
    y_thermal,
)

__all__ = [
    "plot_efficiency",
    "plot_efficiency_factors",
    "plot_background",
    "plot_cutflow",
    "plot_exclusion",
    "plot_ldm",
    "plot_pout",
    "LABEL",
    "CHI",
    "CHI_FONT",
    "ALL_TRIGGERED",
    "mass_label",
    "coupling_label",
    "format_mot",
    "drawn_points",
    "overlaps_data",
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

#: the dark-matter particle in math text; draw it in a Text with ``math_fontfamily=CHI_FONT``: the
#: STIX italic χ is unmistakable, the ROOT style's upright TeX Gyre Heros χ reads as an X
CHI = r"\mathit{\chi}"
CHI_FONT = "stix"

#: per shipped model: (mass symbol, coupling symbol) in math text (kept for backward
#: compatibility: the labels come from the model registry, :mod:`na64tools.models`)
_MODEL_SYMBOLS = {"vector": ("Z^\\prime", "g_{Z^\\prime}"), "scalar": ("S", "g_S"),
                  "dark_photon": ("A^\\prime", "\\epsilon")}


def _model_or_none(model):
    """The registered model of that name, or None (unknown or unspecified: generic labels)."""
    from .models import get_model

    if not model:
        return None
    try:
        return get_model(model)
    except ValueError:
        return None


def mass_label(model: str = "") -> str:
    """Axis label of the boson mass for ``model``: m_Z′ (vector), m_S (scalar), m_A′ (dark
    photon), the ``mass_symbol`` of a registered model (:mod:`na64tools.models`), m_X for an
    unknown or unspecified model.

    Parameters
    ----------
    model : str
        The X model.

    Returns
    -------
    str
        Matplotlib math text, e.g. ``$m_{Z′}$ [GeV]``.
    """
    spec = _model_or_none(model)
    return rf"$m_{{{spec.mass_symbol if spec is not None else 'X'}}}$ [GeV]"


def coupling_label(model: str = "") -> str:
    """Axis label of the coupling for ``model``: g_Z′ (vector), g_S (scalar), ε (dark photon), the
    ``coupling_label`` (with its unit) of a registered model (:mod:`na64tools.models`), g for an
    unknown model.

    Parameters
    ----------
    model : str
        The X model.

    Returns
    -------
    str
        Matplotlib math text.
    """
    spec = _model_or_none(model)
    return spec.axis_label if spec is not None else "$g$"


def format_mot(mot: float) -> str:
    """An exposure in MOT as math text with a power of ten, e.g. ``$10^{11}$ MOT``,
    ``$1.98     imes 10^{10}$ MOT`` (3 significant digits).

    Parameters
    ----------
    mot : float
        The exposure [MOT].

    Returns
    -------
    str
        The text.
    """
    mant, exp = f"{float(mot):.2e}".split("e")
    m, e = float(mant), int(exp)
    if m == 10.0:  # rounding up, e.g. 9.96e10
        m, e = 1.0, e + 1
    return (rf"$10^{{{e}}}$" if m == 1.0 else rf"${m:g} \times 10^{{{e}}}$") + " MOT"


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
        fig._na64_own = True  # the legend may go outside the axes when nothing fits inside
    else:
        fig = ax.figure
    return fig, ax


def _label(ax, text: str = "", *, math_fontfamily: str | None = None):
    """The "NA64μ simulation" label, top left; ``text`` (e.g. the model) beside it, or on a second
    line in its own math font when ``math_fontfamily`` is given. Returns the list of label texts."""
    box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0}
    same_line = math_fontfamily is None
    main = ax.text(0.02, 0.98, f"$\\bf{{NA64\\mu}}$ simulation {text if same_line else ''}".rstrip(),
                   transform=ax.transAxes, ha="left", va="top", fontsize=12, gid="na64-label", bbox=box)
    if same_line or not text:
        return [main]
    sub = ax.annotate(text, xy=(0.0, 0.0), xycoords=main, xytext=(0.0, -3.0), textcoords="offset points",
                      ha="left", va="top", fontsize=12, gid="na64-label", bbox=box,
                      math_fontfamily=math_fontfamily)
    return [main, sub]


#: gid of artists that may lie under the legend (e.g. a shaded excluded region)
_BACKDROP = "na64-backdrop"


def _dense(xy: np.ndarray, n: int = 24) -> np.ndarray:
    """Points along a polyline (display coordinates), ``n`` per segment; non-finite points dropped."""
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return xy
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    return (xy[:-1, None, :] * (1 - t) + xy[1:, None, :] * t).reshape(-1, 2)


def drawn_points(ax) -> tuple[np.ndarray, list]:
    """What ``ax`` shows, in display coordinates: points along every line, errorbar and outline,
    and the filled paths (bands, bars). Artists with gid ``na64-backdrop`` are left out.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes (drawn: the figure's canvas has been rendered).

    Returns
    -------
    (points, paths)
        ``points`` an (n, 2) array; ``paths`` a list of :class:`matplotlib.path.Path` in display
        coordinates (filled areas).
    """
    from matplotlib.collections import LineCollection, PolyCollection

    pts, paths = [np.empty((0, 2))], []
    for line in ax.lines:
        if not line.get_visible() or line.get_gid() == _BACKDROP:
            continue
        x, y = (np.asarray(v, dtype=float) for v in line.get_data())
        if line.get_drawstyle() in STEP_LOOKUP_MAP and line.get_drawstyle() != "default":
            x, y = STEP_LOOKUP_MAP[line.get_drawstyle()](x, y)  # the drawn staircase
        xy = line.get_transform().transform(np.column_stack([x, y]))
        pts.append(_dense(xy) if line.get_linestyle() not in ("None", "none", "") else xy)
        if line.get_marker() not in (None, "None", "none", ""):
            pts.append(xy[np.all(np.isfinite(xy), axis=1)])
    for coll in ax.collections:
        if not coll.get_visible() or coll.get_gid() == _BACKDROP:
            continue
        tr = coll.get_transform()
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                if len(seg):
                    pts.append(_dense(tr.transform(np.asarray(seg, dtype=float))))
        elif isinstance(coll, PolyCollection):
            for path in coll.get_paths():
                dp = tr.transform_path(path)
                paths.append(dp)
                pts.append(_dense(dp.vertices))
        else:
            off = coll.get_offsets()
            if len(off):
                pts.append(coll.get_offset_transform().transform(np.asarray(off, dtype=float)))
    for patch in ax.patches:
        if patch.get_visible() and patch.get_gid() != _BACKDROP:
            dp = patch.get_transform().transform_path(patch.get_path())
            if patch.get_fill():  # an outline only (e.g. a histogram's StepPatch) covers no area
                paths.append(dp)
            pts.append(_dense(dp.vertices))
    return np.concatenate(pts), paths


def overlaps_data(ax, bbox, renderer=None, pad: float = 5.0) -> int:
    """How many drawn points of ``ax`` (and annotation texts other than the NA64μ label) fall
    inside the display-coordinate ``bbox`` widened by ``pad`` pixels (line widths, marker
    sizes); a filled area covering it counts too.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    bbox : matplotlib.transforms.Bbox
        The box, in display coordinates.
    renderer : optional
        The renderer for the text extents (default: the figure's).
    pad : float
        Widening of the box [pixels].

    Returns
    -------
    int
        The number of overlaps (0: the box is free).
    """
    pts, paths = drawn_points(ax)
    x0, y0, x1, y1 = bbox.x0 - pad, bbox.y0 - pad, bbox.x1 + pad, bbox.y1 + pad
    n = int(np.count_nonzero((pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)))
    grid = np.stack(np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 5)), -1).reshape(-1, 2)
    n += sum(int(np.count_nonzero(p.contains_points(grid))) for p in paths)
    for t in ax.texts:
        if t.get_visible() and t.get_gid() != "na64-label" and t.get_text():
            n += int(t.get_window_extent(renderer).overlaps(bbox))
    return n


def _grown(ax, ylim, k: int, mode: str, frac: float = 0.15) -> tuple[float, float]:
    """``ylim`` extended by ``k * frac`` of its height (in the axis scale) at the ``mode`` end
    ("top", "bottom" or "both"); a linear axis starting at 0 only grows upwards."""
    lo, hi = ylim
    if ax.get_yscale() == "log":
        r = (hi / lo) ** (k * frac)
        return (lo / r if mode != "top" else lo), (hi * r if mode != "bottom" else hi)
    d = (hi - lo) * k * frac
    return (lo - d if mode != "top" else lo), (hi + d if mode != "bottom" else hi)


_LOCS = ("upper right", "lower right", "lower left", "upper left", "center right", "lower center",
         "upper center", "center left", "center")


def _legend(ax, label: Sequence | None = None, *, max_grow: int = 4, **kw):
    """Place the legend (and keep the NA64μ ``label`` texts) where they cover no data.

    Tries the standard locations; when none is free (or the label covers data) the y range grows
    (upwards, downwards or both, in steps of 15 % of its height) and the search repeats. A figure
    made here gets its legend outside the axes, right of them, if nothing fits; on a caller's axes
    the least covered location is kept.
    """
    fig = ax.figure
    renderer = fig._get_renderer()  # also for a bare Figure() (canvas without get_renderer)
    kw.setdefault("framealpha", 0.9)
    ylim0 = ax.get_ylim()
    modes = ("top",) if ax.get_yscale() != "log" and ylim0[0] == 0 else ("top", "bottom", "both")
    clear_ylim, best = None, None
    for k in range(max_grow + 1):
        for mode in modes if k else ("top",):
            ax.set_ylim(*_grown(ax, ylim0, k, mode))
            lab_bb = Bbox.union([t.get_window_extent(renderer) for t in label]) if label else None
            label_hits = overlaps_data(ax, lab_bb, renderer) if label else 0
            if label_hits == 0 and clear_ylim is None:
                clear_ylim = ax.get_ylim()
            for loc in _LOCS:
                leg = ax.legend(loc=loc, **kw)
                bb = leg.get_window_extent(renderer)
                hits = overlaps_data(ax, bb, renderer) + (100 if lab_bb is not None and bb.overlaps(lab_bb)
                                                          else 0)
                if best is None or hits + label_hits < best[0]:
                    best = (hits + label_hits, loc, ax.get_ylim())
                if hits == 0 and label_hits == 0:
                    return leg
    if getattr(fig, "_na64_own", False):
        ax.set_ylim(*(clear_ylim or best[2]))  # head room for the label only: the legend goes outside
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)
    ax.set_ylim(*best[2])
    return ax.legend(loc=best[1], **kw)


def _finish(fig, save):
    if save is not None:
        save = Path(save)
        save.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, bbox_inches="tight", dpi=120)
    return fig


@_styled
def plot_efficiency(masses, values, errors=None, *, ax=None, label="signal efficiency", model: str = "",
                    save=None):
    """Signal efficiency after all cuts versus the boson mass (log x axis).

    Parameters
    ----------
    masses, values, errors
        Masses (GeV), efficiencies and their statistical errors (optional).
    model
        Names the mass axis (m_Z′, m_S, m_A′; m_X when empty).
    label : str
        Legend label.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    fig, ax = _axes(ax)
    ax.errorbar(masses, values, yerr=errors, fmt="o-", label=label)
    ax.set_xscale("log")
    ax.set_xlabel(mass_label(model))
    ax.set_ylabel("efficiency after all cuts")
    top = np.asarray(values, dtype=float) + (0 if errors is None else np.asarray(errors, dtype=float))
    ax.set_ylim(0, max(1.05 * float(np.max(top)) if len(top) else 1.0, 0.1))
    _legend(ax, _label(ax))
    return _finish(fig, save), ax


@_styled
def plot_efficiency_factors(factors: Mapping, *, errors: Mapping | None = None, model: str = "",
                            ax=None, save=None):
    """ε_trigger, c_set, ε_acceptance, ε_selection and their product ε versus the boson mass.

    ``factors``: mass -> :class:`~na64tools.stats.efficiency.EfficiencyFactors`; ``errors``:
    mass -> statistical error of ε (drawn on the product). ε is the fraction of the produced X
    (x > x_min) passing trigger, acceptance and all cuts (docs/limits_method.md); c_set is
    ``signal.efficiency_correction``, drawn apart and labelled "set, not measured".

    Parameters
    ----------
    factors : mapping of float to EfficiencyFactors
        ``{mass [GeV]: factors}``.
    errors : mapping of float to float, optional
        ``{mass [GeV]: statistical error of ε}``.
    model : str
        Names the mass axis (m_Z′, m_S, m_A′; m_X when empty).
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    from .stats.efficiency import CORRECTION_LABEL

    fig, ax = _axes(ax)
    masses = sorted(factors)
    for attr, lab, fmt in (("trigger", r"$\varepsilon_\mathrm{trigger}$", "s--"),
                           ("correction", r"$c_\mathrm{set}$ (" + CORRECTION_LABEL + ")", "x:"),
                           ("acceptance", r"$\varepsilon_\mathrm{acceptance}$", "^--"),
                           ("selection", r"$\varepsilon_\mathrm{selection}$", "v--")):
        ax.plot(masses, [float(getattr(factors[m], attr)) for m in masses], fmt, lw=1, label=lab)
    yerr = [errors[m] for m in masses] if errors else None
    ax.errorbar(masses, [factors[m].total for m in masses], yerr=yerr, fmt="ko-", lw=2,
                label=r"$\varepsilon = \varepsilon_\mathrm{trig}\,c_\mathrm{set}\,"
                      r"\varepsilon_\mathrm{acc}\,\varepsilon_\mathrm{sel}$")
    ax.set_xscale("log")
    ax.set_xlabel(mass_label(model))
    ax.set_ylabel("efficiency (produced X with $x > x_{min}$)")
    ax.set_ylim(0, 1.15)
    _legend(ax, _label(ax, _model_name(model)), fontsize=10, ncol=2)
    return _finish(fig, save), ax


@_styled
def plot_background(estimates: Mapping, *, published=None, mot: float | None = None, ax=None, save=None,
                    label: str = "this simulation"):
    """Expected background by source with errors, beside the published table when given.

    ``estimates``: source -> :class:`~na64tools.stats.background.BackgroundEstimate`;
    ``published``: the setup's ``backgrounds`` section.

    Parameters
    ----------
    estimates : mapping of str to BackgroundEstimate
        The expected background [events] by source.
    published : mapping, optional
        The setup's ``backgrounds`` section (the published estimates).
    mot : float, optional
        The exposure [MOT] of the estimates, for the title.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).
    label : str
        Legend of the estimates (default ``"this simulation"``; e.g. ``"analytic estimate (not
        simulated)"`` for a labelled estimate).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    fig, ax = _axes(ax)
    names = [s for s in estimates if s != "total"]
    x = np.arange(len(names))
    vals = np.array([estimates[s].value for s in names])
    errs = np.array([estimates[s].error for s in names])
    ups = [estimates[s].upper for s in names]
    ax.bar(x - 0.2, vals, width=0.4, yerr=errs, capsize=4, label=label)
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
    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)  # the highest error bar is not cut by the frame
    if mot:
        ax.set_title(format_mot(mot), loc="right")
    _legend(ax, _label(ax))
    return _finish(fig, save), ax


#: name of the first cutflow stage when every stored event passed the trigger
ALL_TRIGGERED = "all stored (triggered)"


@_styled
def plot_cutflow(cutflow: Mapping[str, Mapping[str, float]], *, ax=None, save=None, key="sumw",
                 normalise: bool = False):
    """Cutflow: ``{sample: {stage: value}}`` (e.g. sum of weights after each cut), log scale.

    ``normalise=True`` divides each sample by its first stage (signal and background then share
    one axis: the fraction of stored events passing). The simulation stores triggered events only,
    so a ``trigger`` stage equal to ``all`` in every sample is not drawn as a step of its own: the
    first stage is then named "all stored (triggered)". A stage at zero is drawn at the axis floor.

    Parameters
    ----------
    cutflow : mapping of str to mapping of str to float
        ``{sample: {stage: value}}``.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).
    key : str
        What the values are, for the y label: ``"sumw"`` (weighted events) or event counts.
    normalise : bool
        Divide each sample by its first stage.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    fig, ax = _axes(ax, figsize=(8, 5))
    stages = list(next(iter(cutflow.values()))) if cutflow else []
    trivial = (stages[:2] == ["all", "trigger"]
               and all(flow["trigger"] == flow["all"] for flow in cutflow.values()))
    shown = [s for s in stages if not (trivial and s == "trigger")]
    names = [ALL_TRIGGERED if (trivial and s == "all") else s for s in shown]
    floor = None
    for sample, flow in cutflow.items():
        v = np.array([float(flow[s]) for s in shown])
        if normalise and v[0] > 0:
            v = v / v[0]
        pos = v[v > 0]
        if len(pos):
            floor = min(floor or np.inf, pos.min())
        ax.step(np.arange(len(shown)), v, where="mid", marker="o", ms=4,
                ls="--" if "signal" in sample else "-", label=sample)
    if floor is not None:
        ax.set_ylim(bottom=floor / 10)
    ax.set_xticks(np.arange(len(shown)), names, rotation=30, ha="right", fontsize=11)
    ax.set_xlim(-0.5, len(shown) - 0.5)
    ax.set_yscale("log")
    if normalise:
        ax.set_ylabel("fraction of stored events passing")
    else:
        ax.set_ylabel("events after cut (weighted)" if key == "sumw" else "events after cut")
    _legend(ax, _label(ax), fontsize=9)
    return _finish(fig, save), ax


@_styled
def plot_pout(edges, counts: Mapping[str, np.ndarray], *, cut: float | None = None, ax=None, save=None):
    """The scattered-muon momentum p_out by sample or process, with the cut drawn.

    Parameters
    ----------
    edges : array_like
        Bin edges of p_out [GeV].
    counts : mapping of str to array_like
        ``{label: counts per bin}``.
    cut : float, optional
        The p_out cut [GeV] to draw.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    fig, ax = _axes(ax)
    for name, c in counts.items():
        hep.histplot(np.asarray(c), np.asarray(edges), ax=ax, label=name)
    if cut is not None:
        ax.axvline(cut, color="k", ls="--", label=f"$p_{{out}}$ < {cut:g} GeV")
    ax.set_xlabel(r"$p_{out}$ [GeV]")
    ax.set_ylabel("events")
    ax.set_yscale("log")
    _legend(ax, _label(ax), fontsize=9)
    return _finish(fig, save), ax


#: colour of an expected median drawn on top of an equal observed curve (grey dashes on black:
#: both stay visible, and the legend entry too); not a colour of the default cycle
_MEDIAN_ON_OBS = "0.6"

def _projection_style(masses) -> dict:
    """A dotted curve, or a marker when the projection has a single mass."""
    if len(np.atleast_1d(masses)) == 1:
        return {"ls": "none", "marker": "v", "ms": 8}
    return {"ls": ":", "lw": 1.5}


def _narrow_log_ticks(axis) -> None:
    """Readable ticks on a log axis spanning less than a decade: 1, 2, 3, 5 x 10^k labelled
    plainly (e.g. 0.3), minor ticks unlabelled."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())


_MODEL_NAMES = {"vector": r"$L_\mu - L_\tau$ $Z^\prime$", "scalar": "muon-philic scalar",
                "dark_photon": "dark photon"}


def _model_name(model: str) -> str:
    """The legend name of a model: its ``plot_label`` in the registry, else the name itself."""
    spec = _model_or_none(model)
    return spec.plot_label if spec is not None else _MODEL_NAMES.get(model, model)


def _same(a, b, rtol: float = 0.01) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    return bool(ok.any() and np.allclose(a[ok], b[ok], rtol=rtol, atol=0.0))


@_styled
def plot_exclusion(limit, *, model: str = "vector", projections: Sequence | None = None,
                   g2: Sequence[str] = ("2021", "2025"), ax=None, save=None,
                   label="NA64μ 2022 reproduction (simulation)", status: str | None = None):
    """Exclusion plot: coupling versus mass (log-log) with the Brazil band, (g−2)_μ and
    projections.

    ``limit`` is a :class:`~na64tools.stats.limits.CouplingLimit`; ``projections`` a list of
    ``(label, masses, expected_median)`` (write exposures with :func:`format_mot`). The
    (g−2)_μ 2021 ±2σ band is drawn labelled as superseded; the 2025 result as an upper bound whose
    excluded side (couplings above it) is hatched. ``status``: a one-line reproduction status
    written under the axes (e.g. ``na64tools.report.reproduction_status(short=True)``).

    When the expected ±1σ band has no width or the median equals the observed limit (0 observed
    events with b ≪ 1: the background-only outcome is almost always n = 0) the legend says so and
    the median is drawn dashed on top of the observed curve. A single mass is drawn as points with
    error bars (the expected ±1σ/±2σ ranges) and the (g−2) curves over a short mass range around
    it.

    Parameters
    ----------
    limit : CouplingLimit
        The coupling limits versus mass [GeV].
    model : str
        The X model, a name of :mod:`na64tools.models` (axis labels, the (g−2)_μ curves of the
        models that have them, the model's ``reference_lines``).
    projections : sequence of (str, array_like, array_like), optional
        ``(label, masses [GeV], expected median coupling)`` of each projection.
    g2 : sequence of str
        The (g−2)_μ references to draw (``"2021"``, ``"2025"``).
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).
    label : str
        Legend label of the observed limit.
    status : str, optional
        The reproduction-status line written under the axes.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    fig, ax = _axes(ax)
    m = np.asarray(limit.masses, dtype=float)
    e = limit.expected
    med, lo1, hi1 = (np.asarray(v, dtype=float) for v in (e.median, e.minus1, e.plus1))
    lo2, hi2 = np.asarray(e.minus2, dtype=float), np.asarray(e.plus2, dtype=float)
    obs = np.asarray(limit.observed, dtype=float)
    flat1, flat2 = _same(lo1, hi1), _same(lo2, hi2)
    med_is_obs = _same(med, obs)
    med_label = "expected (median)"
    if med_is_obs:
        med_label += " = observed"
    if flat1:
        med_label += r", $\pm1\sigma$ band of zero width"
    if med_is_obs or flat1:  # b << 1: the background-only outcome is n = 0 in most pseudo-experiments
        med_label += r" ($b \ll 1$)"
    cl = int(round(limit.cl * 100))
    if len(m) == 1:  # a single mass: points with the expected ranges as error bars
        x = m[0]
        if not flat2:
            ax.errorbar([x], med, yerr=[med - lo2, hi2 - med], fmt="none", ecolor="#FFC000", elinewidth=10,
                        label=r"expected $\pm 2\sigma$")
        if not flat1:
            ax.errorbar([x], med, yerr=[med - lo1, hi1 - med], fmt="none", ecolor="#3A9AD9", elinewidth=10,
                        label=r"expected $\pm 1\sigma$")
        if np.any(np.isfinite(obs)):  # NaN: no observed limit (expected only)
            ax.plot([x], obs, "ko", ms=9, label=f"{label}, observed {cl}% CL")
        ax.plot([x], med, ls="none", marker="_", color=_MEDIAN_ON_OBS, ms=22, mew=2, label=med_label)
        mm = np.geomspace(x / 1.5, x * 1.5, 50)
    else:
        if not flat2:
            ax.fill_between(m, lo2, hi2, color="#FFDF7F", label=r"expected $\pm 2\sigma$")
        if not flat1:
            ax.fill_between(m, lo1, hi1, color="#85D1FB", label=r"expected $\pm 1\sigma$")
        if np.any(np.isfinite(obs)):  # NaN: no observed limit (expected only)
            ax.plot(m, obs, "k-", lw=2, label=f"{label}, observed {cl}% CL")
        ax.plot(m, med, "--", color=_MEDIAN_ON_OBS if med_is_obs else "k", lw=1.3, label=med_label, zorder=3)
        mm = np.geomspace(m.min(), m.max(), 200)
    spec = _model_or_none(model)
    g2_model = spec.g2 if spec is not None else None  # the (g-2) curves, for the models that have them
    if g2_model is None:
        g2 = ()
    for curve in spec.curves(mm) if spec is not None else ():  # the model's reference lines
        ax.plot(curve.masses, curve.couplings, lw=1.5, label=curve.label)
    if "2021" in g2 and explains_anomaly(g2_model):  # not for a negative contribution (ALP)
        glo, ghi = g2_band(mm, G2_2021, g2_model, nsigma=2)
        ax.fill_between(mm, glo, ghi, color="green", alpha=0.25,
                        label=r"$(g-2)_\mu$ 2021 $\pm2\sigma$ (superseded)")
    for lab, pm, pg in projections or []:
        ax.plot(pm, pg, **_projection_style(pm), label=lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if len(m) == 1:
        ax.set_xlim(mm[0], mm[-1])
        _narrow_log_ticks(ax.xaxis)
    if "2025" in g2:
        bound = g2_upper_bound(mm, G2_2025, g2_model)
        ax.autoscale_view()
        lo, hi = ax.get_ylim()
        lo, hi = min(lo, float(np.min(bound)) / 2), max(hi, float(np.max(bound)) * 2)
        ax.plot(mm, bound, color="darkgreen", lw=1.5)
        ax.fill_between(mm, bound, hi * 1e6, facecolor="none", edgecolor="darkgreen", hatch="///",
                        lw=0.0, alpha=0.5, gid=_BACKDROP,
                        label=r"excluded by $(g-2)_\mu$ 2025 (above the line)")
        ax.set_ylim(lo, hi)
    ax.set_xlabel(mass_label(model))
    ax.set_ylabel(coupling_label(model))
    _legend(ax, _label(ax, _model_name(model)), fontsize=8)
    if status:
        ax.text(0.0, -0.16, status, transform=ax.transAxes, ha="left", va="top", fontsize=8,
                style="italic")
    return _finish(fig, save), ax


@_styled
def plot_ldm(limit, *, portal: str = "lmutau", alpha_D: float = 0.1, ratio: float = 3.0,
             projections: Sequence | None = None, limit_br_kwargs: dict | None = None, ax=None,
             save=None):
    """Light dark matter: y = ε² α_D (m_χ/m_X)⁴ versus m_χ = m_X/ratio with the thermal targets.

    The coupling limits (``limit`` and ``projections``) were computed with the invisible branching
    fraction of the search model (``"vector"`` for ``portal="lmutau"``: Z' → νν̄ only;
    ``"dark_photon"`` otherwise) and ``limit_br_kwargs``; they are converted to the LDM model,
    where X → χχ̄ (Dirac χ, α_D, m_χ = m_X/ratio) makes BR(X → invisible) ≈ 1, by
    :func:`~na64tools.physics.relic.ldm_coupling_limit` (g² BR is what the search bounds). Sources:
    Izaguirre, Krnjaic, Schuster, Toro, PRL 115 (2015) 251301, arXiv:1505.00011 (y); thermal
    targets: :func:`~na64tools.physics.relic.y_thermal`.

    The mediator X is the Z′ of L_μ−L_τ (``portal="lmutau"``) or the dark photon A′
    (``portal="dark_photon"``). A single mass is drawn as points.

    Parameters
    ----------
    limit : CouplingLimit
        The coupling limits of the search model versus m_X [GeV].
    portal : {"lmutau", "dark_photon"}
        The mediator X.
    alpha_D : float
        Dark coupling α_D.
    ratio : float
        m_X / m_χ.
    projections : sequence of (str, array_like, array_like), optional
        ``(label, masses [GeV], expected median coupling)`` of each projection.
    limit_br_kwargs : dict, optional
        The branching-fraction options the limits were computed with.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new figure).
    save : str or path, optional
        Also save the figure there (directories created, 120 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    ax : matplotlib.axes.Axes
        The axes.
    """
    from .physics.relic import ldm_coupling_limit

    model = "vector" if portal == "lmutau" else "dark_photon"

    def to_y(masses, g):
        masses = np.asarray(masses, dtype=float)
        g = np.asarray(g, dtype=float)
        y = np.full(masses.shape, np.nan)  # NaN stays NaN (no observed limit: expected only)
        ok = ~np.isnan(g)
        if ok.any():
            g_ldm = ldm_coupling_limit(masses[ok], g[ok], model=model, alpha_D=alpha_D, ratio=ratio,
                                       limit_br_kwargs=limit_br_kwargs)
            y[ok] = y_from_coupling(g_ldm, masses[ok] / ratio, alpha_D, ratio, portal)
        return y

    fig, ax = _axes(ax)
    med_sym = "Z^\\prime" if portal == "lmutau" else "A^\\prime" if portal == "dark_photon" else "X"
    mchi = np.asarray(limit.masses) / ratio
    single = len(mchi) == 1
    y_obs = to_y(limit.masses, limit.observed)
    y_med = to_y(limit.masses, limit.expected.median)
    med_is_obs = _same(y_med, y_obs)
    if np.any(np.isfinite(y_obs)):  # NaN: no observed limit (expected only)
        ax.plot(mchi, y_obs, "ko" if single else "k-", lw=2,
                label=f"NA64μ (this toolkit) {int(round(limit.cl * 100))}% CL")
    ax.plot(mchi, y_med, ls="none" if single else "--", marker="_" if single else None,
            color=_MEDIAN_ON_OBS if med_is_obs or single else "k", lw=1.3, ms=22, mew=2, zorder=3,
            label="expected (median)" + (" = observed" if med_is_obs else ""))
    for lab, pm, pg in projections or []:
        ax.plot(np.asarray(pm) / ratio, to_y(pm, pg),
                **_projection_style(pm), label=lab)
    mm = np.geomspace(mchi.min() / (1.5 if single else 1), mchi.max() * (1.5 if single else 1), 200)
    for dm, ls in (("scalar", "-"), ("dirac", "-.")):
        ax.plot(mm, y_thermal(mm, dm=dm, portal=portal, ratio=ratio), color="tab:red", ls=ls,
                label=f"thermal target ({dm})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.margins(y=0.08)  # no curve or point on the frame
    ax.autoscale_view()
    if single:
        _narrow_log_ticks(ax.xaxis)
    ax.set_xlabel(rf"$m_{{{CHI}}}$ [GeV]", math_fontfamily=CHI_FONT)
    ax.set_ylabel(rf"$y = \epsilon^2 \alpha_D (m_{{{CHI}}}/m_{{{med_sym}}})^4$", math_fontfamily=CHI_FONT)
    _legend(ax, _label(ax, rf"$\alpha_D$ = {alpha_D:g}, $m_{{{med_sym}}} = {ratio:g}\,m_{{{CHI}}}$",
                       math_fontfamily=CHI_FONT), fontsize=8)
    return _finish(fig, save), ax
