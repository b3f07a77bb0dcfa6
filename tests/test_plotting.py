"""Figures a newcomer trusts: legends and the NA64μ label clear of the data, per-model axis names,
exposures as powers of ten, the excluded side of (g−2)μ 2025 shown, a single mass drawn.

Overlaps are measured here independently of the placement code in na64tools.plotting: after
``fig.canvas.draw()`` (Agg), the legend's window extent is compared with the display coordinates
of every plotted line (sampled finely between its points), the outlines of the filled bands and
bars, and the extent of the "NA64μ simulation" label text.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from na64tools import plotting  # noqa: E402
from na64tools.config import default_setup  # noqa: E402
from na64tools.stats.background import BackgroundEstimate  # noqa: E402
from na64tools.stats.efficiency import EfficiencyFactors  # noqa: E402
from na64tools.stats.limits import CouplingLimit, ExpectedLimits  # noqa: E402

MASSES = np.geomspace(0.01, 1.0, 30)


def _limit(masses=MASSES, coincide=False):
    """A synthetic coupling limit ∝ m^0.7; ``coincide``: median = ±1σ = observed (n_obs = 0, b ≪ 1)."""
    obs = 2e-4 * (masses / 0.01) ** 0.7
    k = (1.0, 1.0, 1.0, 1.0, 1.4) if coincide else (0.6, 0.8, 1.1, 1.5, 2.0)
    exp = ExpectedLimits(*(obs * f for f in k))
    ev = ExpectedLimits(2.3, 2.3, 2.3, 2.3, 3.9)
    return CouplingLimit(np.asarray(masses, dtype=float), obs, exp, 2.3, ev, 0.9, 1e-4)


def _projections(masses=MASSES):
    return [(f"projection {plotting.format_mot(mot)} (expected)", masses, 2e-4 * (masses / 0.01) ** 0.7 * f)
            for mot, f in ((1e11, 0.4), (3.5e11, 0.25), (2e13, 0.05))]


def _samples(line, n=50):
    """Display points along a plotted line, n between each pair of its points (as drawn)."""
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    if line.get_drawstyle().startswith("steps"):  # only steps-mid is used here
        mid = (x[1:] + x[:-1]) / 2
        x = np.concatenate([[x[0]], np.repeat(mid, 2), [x[-1]]])
        y = np.repeat(y, 2)
    xy = line.get_transform().transform(np.column_stack([x, y]))
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2 or line.get_linestyle() in ("None", "none", ""):
        return xy
    t = np.linspace(0, 1, n)
    return np.concatenate([a + (b - a) * t[:, None] for a, b in zip(xy[:-1], xy[1:], strict=True)])


def _inside(pts, bb, pad=2.0):
    return bool(np.any((pts[:, 0] > bb.x0 - pad) & (pts[:, 0] < bb.x1 + pad)
                       & (pts[:, 1] > bb.y0 - pad) & (pts[:, 1] < bb.y1 + pad)))


def _check_clear(fig, ax):
    """The legend covers no line, band outline or bar, and neither it nor the data hit the label."""
    fig.canvas.draw()
    leg = ax.get_legend()
    assert leg is not None
    lbb = leg.get_window_extent()
    label = [t for t in ax.texts if "NA64" in t.get_text()]
    assert label, "every figure carries the NA64μ simulation label"
    tbb = label[0].get_window_extent()
    assert not lbb.overlaps(tbb), "legend drawn over the NA64μ simulation label"
    axbb = ax.get_window_extent()
    for line in ax.lines:
        pts = _samples(line)
        pts = pts[(pts[:, 0] >= axbb.x0) & (pts[:, 0] <= axbb.x1) & (pts[:, 1] >= axbb.y0) & (pts[:, 1] <= axbb.y1)]
        assert not _inside(pts, lbb), f"legend drawn over the line {line.get_label()!r}"
        assert not _inside(pts, tbb), f"line {line.get_label()!r} drawn over the NA64μ label"
    for coll in ax.collections:
        if coll.get_hatch():  # the hatched excluded region may lie under the legend
            continue
        for path in coll.get_paths() if isinstance(coll, PolyCollection) else []:
            poly = coll.get_transform().transform_path(path)
            verts = poly.vertices[np.all(np.isfinite(poly.vertices), axis=1)]
            assert not _inside(verts, lbb, pad=0), f"legend drawn over the band {coll.get_label()!r}"
            corners = np.array([[lbb.x0, lbb.y0], [lbb.x1, lbb.y1], [lbb.x0, lbb.y1], [lbb.x1, lbb.y0]])
            assert not poly.contains_points(corners).any(), f"legend inside the band {coll.get_label()!r}"
    for patch in ax.patches:
        if patch.get_fill():  # a bar
            assert not patch.get_window_extent().overlaps(lbb), "legend drawn over a bar"
        else:  # an outline (a histogram's steps): its drawn vertices, sampled
            xy = patch.get_transform().transform(patch.get_path().vertices)
            xy = xy[np.all(np.isfinite(xy), axis=1)]
            t = np.linspace(0, 1, 50)[:, None]
            pts = np.concatenate([a + (b - a) * t for a, b in zip(xy[:-1], xy[1:], strict=True)])
            assert not _inside(pts, lbb), "legend drawn over a histogram"
    return leg


def _factors(m):
    return EfficiencyFactors(1000, 800 + int(100 * m), 600, 300 + int(100 * m))


FIGURES = {
    "exclusion": lambda: plotting.plot_exclusion(_limit(), model="vector", projections=_projections(),
                                                 status="reproduction status"),
    "exclusion_coincide": lambda: plotting.plot_exclusion(_limit(coincide=True), model="vector",
                                                          projections=_projections()),
    "exclusion_dark_photon": lambda: plotting.plot_exclusion(_limit(), model="dark_photon"),
    "ldm": lambda: plotting.plot_ldm(_limit(coincide=True), projections=_projections()),
    "efficiency": lambda: plotting.plot_efficiency(MASSES[::5], np.linspace(0.3, 0.45, 6), np.full(6, 0.01),
                                                   model="vector"),
    "efficiency_factors": lambda: plotting.plot_efficiency_factors({m: _factors(m) for m in MASSES[::5]},
                                                                   model="vector"),
    "background": lambda: plotting.plot_background(
        {"misreconstruction": BackgroundEstimate("misreconstruction", 0.046, 0.006, 0.027, 90),
         "decays_in_flight": BackgroundEstimate("decays_in_flight", 0.010, 0.001, 0.001, 900),
         "non_hermeticity": BackgroundEstimate("non_hermeticity", 0.005, 0.005, 0.001, 1)},
        published=default_setup().backgrounds, mot=1.98e10),
    "cutflow": lambda: plotting.plot_cutflow(
        {"background": {"all": 1e7, "trigger": 1e7, "beam": 8e6, "p_out": 1e6, "ecal": 1e5, "hcal": 0.06},
         "signal_m0.1": {"all": 1600, "trigger": 1600, "beam": 1300, "p_out": 800, "ecal": 680, "hcal": 540}},
        normalise=True),
    "p_out": lambda: plotting.plot_pout(np.linspace(0, 200, 101),
                                        {"signal": 100 * np.exp(-np.linspace(0, 200, 100) / 60),
                                         "background": 1e-3 * np.linspace(0, 200, 100)}, cut=80.0),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_legend_and_label_clear_of_the_data(name, tmp_path):
    fig, ax = FIGURES[name]()
    try:
        _check_clear(fig, ax)
        fig.savefig(tmp_path / f"{name}.png", dpi=100)  # the size the docs show: 7x5 in at 100 dpi
    finally:
        plt.close(fig)


@pytest.mark.parametrize("model, xlab, ylab", [("vector", r"m_{Z^\prime}", r"g_{Z^\prime}"),
                                                ("scalar", "m_{S}", "g_S"),
                                                ("dark_photon", r"m_{A^\prime}", r"\epsilon")])
def test_axis_names_follow_the_model(model, xlab, ylab):
    fig, ax = plotting.plot_exclusion(_limit(), model=model)
    try:
        assert xlab in ax.get_xlabel() and "m_X" not in ax.get_xlabel()
        assert ax.get_ylabel() == f"${ylab}$"
        assert "[GeV]" in ax.get_xlabel()
    finally:
        plt.close(fig)
    fig, ax = plotting.plot_efficiency([0.1, 1.0], [0.3, 0.4], model=model)
    try:
        assert xlab in ax.get_xlabel()
    finally:
        plt.close(fig)


def test_exposure_written_as_a_power_of_ten():
    assert plotting.format_mot(1e11) == "$10^{11}$ MOT"
    assert plotting.format_mot(3.5e11) == r"$3.5 \times 10^{11}$ MOT"
    assert plotting.format_mot(1.98e10) == r"$1.98 \times 10^{10}$ MOT"
    assert plotting.format_mot(9.999e10) == "$10^{11}$ MOT"
    fig, ax = FIGURES["exclusion"]()
    try:
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "projection $10^{11}$ MOT (expected)" in texts
        assert not any("e+" in t for t in texts)
    finally:
        plt.close(fig)


def test_g2_2025_excluded_side_hatched_above_the_bound():
    fig, ax = plotting.plot_exclusion(_limit(), model="vector")
    try:
        hatched = [c for c in ax.collections if c.get_hatch()]
        assert len(hatched) == 1 and "excluded by" in hatched[0].get_label()
        verts = hatched[0].get_paths()[0].vertices
        from na64tools.physics import G2_2025, g2_upper_bound

        # every vertex lies on or above the 2025 bound: the shaded side is the excluded one
        bound = g2_upper_bound(verts[:, 0], G2_2025, "vector")
        assert np.all(verts[:, 1] >= bound * (1 - 1e-9))
        assert any("excluded by" in t.get_text() for t in ax.get_legend().get_texts())
    finally:
        plt.close(fig)


def test_median_equal_to_observed_is_drawn_and_said():
    fig, ax = plotting.plot_exclusion(_limit(coincide=True), model="vector")
    try:
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        med = [t for t in texts if t.startswith("expected (median)")]
        assert med and "= observed" in med[0] and "zero width" in med[0]
        assert not any(t == r"expected $\pm 1\sigma$" for t in texts), "an invisible band is not listed"
        (line,) = [ln for ln in ax.lines if ln.get_label().startswith("expected (median)")]
        obs = [ln for ln in ax.lines if "observed" in ln.get_label() and "median" not in ln.get_label()][0]
        assert line.get_color() != obs.get_color() and line.get_zorder() > obs.get_zorder()
    finally:
        plt.close(fig)


def test_single_mass_is_drawn_as_points():
    lim = _limit(masses=np.array([0.5]))
    proj = _projections(np.array([0.5]))
    for fig, ax in (plotting.plot_exclusion(lim, model="vector", projections=proj),
                    plotting.plot_ldm(lim, projections=proj)):
        try:
            _check_clear(fig, ax)
            obs = [ln for ln in ax.lines if "CL" in ln.get_label()]
            assert obs and obs[0].get_marker() not in (None, "None", "") and len(obs[0].get_xdata()) == 1
            # every legend entry stands for something visible in the axes
            labels = {t.get_text() for t in ax.get_legend().get_texts()}
            drawn = {a.get_label() for a in [*ax.lines, *ax.collections, *ax.containers]}
            assert labels <= drawn
            lo, hi = ax.get_xlim()
            assert lo < obs[0].get_xdata()[0] < hi
            for line in ax.lines:  # a one-point line is visible only with a marker
                if len(line.get_xdata()) == 1:
                    assert line.get_marker() not in (None, "None", "none", ""), line.get_label()
        finally:
            plt.close(fig)


def test_cutflow_folds_the_trivial_trigger_row():
    flows = {"background": {"all": 10.0, "trigger": 10.0, "beam": 5.0},
             "signal": {"all": 4.0, "trigger": 4.0, "beam": 3.0}}
    fig, ax = plotting.plot_cutflow(flows, normalise=True)
    try:
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks == [plotting.ALL_TRIGGERED, "beam"]
        assert ax.get_ylabel() == "fraction of stored events passing"
        np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.5])
        np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 0.75])
    finally:
        plt.close(fig)
    flows["signal"]["trigger"] = 3.5  # a sample that stores untriggered events keeps the row
    fig, ax = plotting.plot_cutflow(flows)
    try:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["all", "trigger", "beam"]
    finally:
        plt.close(fig)


def test_chi_is_drawn_as_chi():
    fig, ax = plotting.plot_ldm(_limit())
    try:
        xl = ax.xaxis.get_label()
        assert r"\mathit{\chi}" in xl.get_text() and xl.get_math_fontfamily() == plotting.CHI_FONT
        assert "m_X" not in ax.get_ylabel() and r"m_{Z^\prime}" in ax.get_ylabel()
    finally:
        plt.close(fig)
