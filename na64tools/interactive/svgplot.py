"""A tiny SVG plotter for the CutExplorer panels: drawn in the browser, built in about a millisecond.

The live figure of :class:`~na64tools.interactive.CutExplorer` is four inline SVG panels in
``ipywidgets.HTML`` widgets: the kernel only builds a few kilobytes of text and the browser draws
it, so a slider move updates the page in milliseconds (a matplotlib PNG of the same four panels
took 0.7–1.1 s of CPU per event), it works offline in Voilà and JupyterLab (no JavaScript
extension), the text stays sharp and readable at any width (the SVG scales to its box), and every
panel carries its own accessible name (``role="img"``, ``aria-label`` and ``<title>``/``<desc>``).

Only what a panel needs is here: linear and log axes with ticks, lines, steps, error bars, filled
bands, horizontal bars, a legend *below* the axes (never over the data) and text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["Panel"]

#: font sizes in SVG user units; the panels are 400 units wide and shown at >= 330 px (a phone,
#: two panels side by side on a laptop), so the smallest text (15 units) is >= 12 px
FONT = 16
SMALL = 15


def _num(x: float) -> str:
    return f"{x:.1f}"


def _tick_label(v: float, log: bool) -> str:
    if v == 0:
        return "0"
    if log:
        e = int(round(math.log10(v)))
        if -2 <= e <= 3:
            return f"{v:g}"
        return f"10{_sup(e)}"
    return f"{v:g}"


def _sup(e: int) -> str:
    table = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return str(e).translate(table)


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    k = math.floor(math.log10(raw))
    step = next(f * 10.0 ** k for f in (1, 2, 2.5, 5, 10) if f * 10.0 ** k >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    out, v = [], start
    while v <= hi + 1e-9 * span:
        out.append(float(f"{v:.10g}"))
        v += step
    return out


class Panel:
    """One plot panel: axes, data, legend below; :meth:`svg` returns the markup.

    Parameters
    ----------
    title, xlabel, ylabel
        Texts (plain unicode).
    xlim, ylim
        Axis ranges (for a log axis: positive).
    xlog, ylog
        Log axes.
    alt
        The panel's text alternative (``aria-label`` and ``<desc>``): what it shows in words.
    key : str
        Unique name of the panel in the page (the id of its clip path).
    categories : sequence of str, optional
        Names of the x ticks ``0, 1, ...`` (a categorical x axis), instead of numbers.
    """

    W, H = 400.0, 300.0  #: width and height of the axes part (the legend is added below)

    def __init__(self, title: str, xlabel: str, ylabel: str, xlim, ylim, *, xlog=False, ylog=False,
                 alt: str = "", key: str = "panel",
                 categories: Sequence[str] | None = None):
        self.key = key
        self.categories = list(categories) if categories is not None else None
        self.title, self.xlabel, self.ylabel, self.alt = title, xlabel, ylabel, alt
        self.xlog, self.ylog = xlog, ylog
        self.xlim = tuple(float(v) for v in xlim)
        self.ylim = tuple(float(v) for v in ylim)
        self.left, self.right, self.top = 66.0, 14.0, 30.0
        self.bottom = 48.0  # x tick labels and axis label; the legend goes below, one entry a row
        self.items: list[str] = []
        self.legend: list[tuple[str, str]] = []  # (swatch markup, text)

    # --- coordinates -----------------------------------------------------------------------
    def _t(self, v, lo, hi, log):
        v = np.asarray(v, dtype=float)
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.log10(np.where(v > 0, v, np.nan))
            lo, hi = math.log10(lo), math.log10(hi)
        return (v - lo) / (hi - lo)

    def x(self, v):
        """SVG x coordinate of data values ``v`` (NaN for a non-positive value on a log axis).

        Parameters
        ----------
        v : float or array_like
            Data values.

        Returns
        -------
        float or numpy.ndarray
            The coordinates.
        """
        return self.left + self._t(v, *self.xlim, self.xlog) * (self.W - self.left - self.right)

    def y(self, v):
        """SVG y coordinate of data values ``v``, clipped to 5 % beyond the axes.

        Parameters
        ----------
        v : float or array_like
            Data values.

        Returns
        -------
        float or numpy.ndarray
            The coordinates.
        """
        h = self.H - self.top - self.bottom
        return self.top + (1 - np.clip(self._t(v, *self.ylim, self.ylog), -0.05, 1.05)) * h

    # --- drawing -----------------------------------------------------------------------------
    def _path(self, xs, ys) -> str:
        parts, pen = [], "M"
        for a, b in zip(xs, ys, strict=True):
            if not (math.isfinite(a) and math.isfinite(b)):
                pen = "M"
                continue
            parts.append(f"{pen}{_num(a)},{_num(b)}")
            pen = "L"
        return " ".join(parts)

    def line(self, x, y, *, color="#000", width=2.0, dash: str | None = None, label: str | None = None,
             markers: bool = False) -> None:
        """A polyline through ``(x, y)``, broken at non-finite points.

        Parameters
        ----------
        x, y : array_like
            Data values.
        color : str
            SVG colour.
        width : float
            Line width (SVG units).
        dash : str, optional
            SVG ``stroke-dasharray`` (e.g. ``"6 4"``); solid without it.
        label : str, optional
            Legend text (no legend entry without it).
        markers : bool
            Also a dot at each point.
        """
        d = self._path(self.x(x), self.y(y))
        if d:
            da = f' stroke-dasharray="{dash}"' if dash else ""
            self.items.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"{da}/>')
        if markers:
            for a, b in zip(self.x(x), self.y(y), strict=True):
                if math.isfinite(a) and math.isfinite(b):
                    self.items.append(f'<circle cx="{_num(a)}" cy="{_num(b)}" r="3.5" fill="{color}"/>')
        if label:
            da = f' stroke-dasharray="{dash}"' if dash else ""
            self.legend.append((f'<line x1="0" y1="0" x2="22" y2="0" stroke="{color}" '
                                f'stroke-width="{width}"{da}/>', label))

    def errorbars(self, x, y, err, *, color="#000") -> None:
        """Vertical error bars ``y ± err`` at ``x`` (the lower end not below the axis).

        Parameters
        ----------
        x, y, err : array_like
            Positions and half-lengths, in data units.
        color : str
            SVG colour.
        """
        for xi, yi, ei in zip(x, y, err, strict=True):
            lo, hi = self.y(max(yi - ei, self.ylim[0])), self.y(yi + ei)
            px = float(self.x(xi))
            if math.isfinite(px) and math.isfinite(lo) and math.isfinite(hi):
                self.items.append(f'<path d="M{_num(px)},{_num(lo)} L{_num(px)},{_num(hi)}" '
                                  f'stroke="{color}" stroke-width="1.5"/>')

    def steps(self, edges, counts, *, color="#000", width=2.0, label=None, dash=None) -> None:
        """A histogram outline (on a log axis, empty bins are drawn below the axis).

        Parameters
        ----------
        edges : array_like
            Bin edges (``len(counts) + 1``).
        counts : array_like
            Bin contents.
        color : str
            SVG colour.
        width : float
            Line width.
        label : str, optional
            Legend text (no legend entry without it).
        dash : str, optional
            SVG ``stroke-dasharray`` (e.g. ``"6 4"``); solid without it.
        """
        e = np.asarray(edges, dtype=float)
        c = np.asarray(counts, dtype=float)
        xs = np.repeat(e, 2)[1:-1]
        ys = np.repeat(c, 2)
        floor = self.ylim[0] * 0.5 if self.ylog else self.ylim[0]
        ys = np.where(ys > 0, ys, floor) if self.ylog else ys
        self.line(xs, ys, color=color, width=width, label=label, dash=dash)

    def band(self, x, lo, hi, *, color="#ccc", opacity=1.0, label=None) -> None:
        """A filled band between ``lo`` and ``hi`` along ``x``.

        Parameters
        ----------
        x, lo, hi : array_like
            Positions and the lower and upper edges.
        color : str
            SVG colour.
        opacity : float
            Fill opacity in [0, 1].
        label : str, optional
            Legend text (no legend entry without it).
        """
        xs = np.concatenate([self.x(x), self.x(x)[::-1]])
        ys = np.concatenate([self.y(hi), self.y(lo)[::-1]])
        ok = np.isfinite(xs) & np.isfinite(ys)
        if ok.sum() >= 3:
            pts = " ".join(f"{_num(a)},{_num(b)}" for a, b in zip(xs[ok], ys[ok], strict=True))
            self.items.append(f'<polygon points="{pts}" fill="{color}" fill-opacity="{opacity}"/>')
        if label:
            self.legend.append((f'<rect x="0" y="-6" width="22" height="12" fill="{color}" '
                                f'fill-opacity="{opacity}"/>', label))

    def vline(self, xv, *, color="#000", dash="6 4", label=None, shade_left: str | None = None) -> None:
        """A vertical dashed line at ``xv`` (nothing if it is off a log axis).

        Parameters
        ----------
        xv : float
            Position, in data units.
        color : str
            SVG colour.
        dash : str
            SVG ``stroke-dasharray``.
        label : str, optional
            Legend text (no legend entry without it).
        shade_left : str, optional
            Colour of a light shade over the axes left of the line.
        """
        px = float(self.x(xv))
        if not math.isfinite(px):
            return
        top, bot = self.top, self.H - self.bottom
        if shade_left:
            self.items.append(f'<rect x="{_num(self.left)}" y="{_num(top)}" '
                              f'width="{_num(max(px - self.left, 0))}" height="{_num(bot - top)}" '
                              f'fill="{shade_left}" fill-opacity="0.12"/>')
        self.items.append(f'<path d="M{_num(px)},{_num(top)} L{_num(px)},{_num(bot)}" stroke="{color}" '
                          f'stroke-width="2" stroke-dasharray="{dash}"/>')
        if label:
            self.legend.append((f'<line x1="0" y1="0" x2="22" y2="0" stroke="{color}" stroke-width="2" '
                                f'stroke-dasharray="{dash}"/>', label))

    def text(self, x_frac: float, y_frac: float, s: str, *, anchor="middle", size=FONT, color="#333") -> None:
        """A text at a fraction of the axes box.

        Parameters
        ----------
        x_frac, y_frac : float
            Position, as fractions of the axes width and height (0, 0: bottom left).
        s : str
            The text (escaped).
        anchor : str
            SVG ``text-anchor`` (``start``, ``middle``, ``end``).
        size : float
            Font size.
        color : str
            SVG colour.
        """
        px = self.left + x_frac * (self.W - self.left - self.right)
        py = self.top + (1 - y_frac) * (self.H - self.top - self.bottom)
        self.items.append(f'<text x="{_num(px)}" y="{_num(py)}" text-anchor="{anchor}" font-size="{size}" '
                          f'fill="{color}">{html.escape(s)}</text>')

    def bar(self, xc: float, width: float, value: float, *, color="#4878d0", opacity=1.0) -> None:
        """A vertical bar from the bottom of the axes to ``value`` (nothing for value <= 0 on
        log).

        Parameters
        ----------
        xc, width : float
            Centre and width of the bar, in data units.
        value : float
            Its height, in data units.
        color : str
            SVG colour.
        opacity : float
            Fill opacity in [0, 1].
        """
        x0, x1 = float(self.x(xc - width / 2)), float(self.x(xc + width / 2))
        ytop = float(self.y(value))
        ybot = self.H - self.bottom
        if math.isfinite(ytop) and ytop < ybot:
            self.items.append(f'<rect x="{_num(x0)}" y="{_num(ytop)}" width="{_num(x1 - x0)}" '
                              f'height="{_num(ybot - ytop)}" fill="{color}" fill-opacity="{opacity}"/>')

    def legend_entry(self, swatch: str, label: str) -> None:
        """Add a legend entry.

        Parameters
        ----------
        swatch : str
            SVG markup of the symbol, drawn in a 22 × 12 box around ``(0, 0)``.
        label : str
            The text.
        """
        self.legend.append((swatch, label))

    # --- axes ------------------------------------------------------------------------------------
    def _ticks(self, lim, log) -> list[float]:
        lo, hi = lim
        if log:
            a, b = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
            step = max(1, math.ceil((b - a + 1) / 6))
            return [10.0 ** e for e in range(a, b + 1, step) if lo * (1 - 1e-9) <= 10.0 ** e <= hi * (1 + 1e-9)]
        return _nice_ticks(lo, hi)

    def _axes(self) -> list[str]:
        x0, x1 = self.left, self.W - self.right
        y0, y1 = self.top, self.H - self.bottom
        out = [f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}" '
               'fill="#fff" stroke="#444" stroke-width="1"/>']
        xt = (list(range(len(self.categories))) if self.categories is not None
              else self._ticks(self.xlim, self.xlog))
        for v in xt:
            px = float(self.x(v))
            if self.categories is not None:
                out.append(f'<text x="{_num(px)}" y="{_num(y1 + 16)}" text-anchor="middle" '
                           f'font-size="{SMALL}">{html.escape(self.categories[v])}</text>')
                continue
            out.append(f'<path d="M{_num(px)},{_num(y1)} L{_num(px)},{_num(y1 - 5)}" stroke="#444"/>'
                       f'<text x="{_num(px)}" y="{_num(y1 + 16)}" text-anchor="middle" '
                       f'font-size="{SMALL}">{_tick_label(v, self.xlog)}</text>')
        for v in self._ticks(self.ylim, self.ylog):
            py = float(self.y(v))
            out.append(f'<path d="M{_num(x0)},{_num(py)} L{_num(x1)},{_num(py)}" stroke="#e6e6e6"/>'
                       f'<text x="{_num(x0 - 5)}" y="{_num(py + 4)}" text-anchor="end" '
                       f'font-size="{SMALL}">{_tick_label(v, self.ylog)}</text>')
        out.append(f'<text x="{_num((x0 + x1) / 2)}" y="{_num(y1 + 34)}" text-anchor="middle" '
                   f'font-size="{FONT}">{html.escape(self.xlabel)}</text>')
        cy = (y0 + y1) / 2
        out.append(f'<text x="14" y="{_num(cy)}" text-anchor="middle" font-size="{FONT}" '
                   f'transform="rotate(-90 14 {_num(cy)})">{html.escape(self.ylabel)}</text>')
        out.append(f'<text x="{_num(x0)}" y="20" font-size="{FONT + 1}" font-weight="bold">'
                   f'{html.escape(self.title)}</text>')
        return out

    def _legend(self) -> list[str]:
        out = []
        for i, (swatch, label) in enumerate(self.legend):
            cx = 16.0
            cy = self.H + 12 + i * 21
            out.append(f'<g transform="translate({_num(cx)},{_num(cy)})">{swatch}'
                       f'<text x="28" y="5" font-size="{SMALL}">{html.escape(label)}</text></g>')
        return out

    def svg(self) -> str:
        """The panel as an ``<svg>`` element (scales to the width of its box).

        Returns
        -------
        str
            The SVG markup.
        """
        clip = f"na64-clip-{self.key}"
        height = self.H + (21 * len(self.legend) + 8 if self.legend else 0)
        x0, y0 = self.left, self.top
        w, h = self.W - self.left - self.right, self.H - self.top - self.bottom
        return (f'<svg viewBox="0 0 {self.W:g} {height:g}" role="img" aria-label="{html.escape(self.alt)}" '
                f'xmlns="http://www.w3.org/2000/svg" style="width:100%;height:auto;display:block;'
                f'font-family:DejaVu Sans,Arial,sans-serif">'
                f'<title>{html.escape(self.title)}</title><desc>{html.escape(self.alt)}</desc>'
                f'<defs><clipPath id="{clip}"><rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(w)}" '
                f'height="{_num(h)}"/></clipPath></defs>'
                + "".join(self._axes())
                + f'<g clip-path="url(#{clip})">' + "".join(self.items) + "</g>"
                + "".join(self._legend()) + "</svg>")


def log_limits(values: Sequence[float], *, floor: float, pad: float = 2.0) -> tuple[float, float]:
    """A log axis range covering the positive finite ``values`` (at least one decade)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x) and x > 0], dtype=float)
    if v.size == 0:
        return floor, floor * 100
    lo, hi = max(v.min() / pad, floor), v.max() * pad
    lo = 10.0 ** math.floor(math.log10(lo))
    hi = 10.0 ** math.ceil(math.log10(hi))
    if hi <= lo:
        hi = lo * 10
    return lo, hi
