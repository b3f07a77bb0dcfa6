"""Tests of na64tools.stats.limits: exact CLs for a counting experiment, bands, couplings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from na64tools.stats import limits as L

# These tests call the functions in the pre-CountingExperiment form, still supported for one
# release with a DeprecationWarning; tests/test_counting_experiment.py checks that both forms
# give the same numbers and that the old one warns.
pytestmark = pytest.mark.filterwarnings("ignore:.*CountingExperiment:DeprecationWarning")

LN10 = math.log(10.0)  # -ln(0.1) = 2.302585...


# ------------------------------------------------------------------------------------------
# n_obs = 0: the textbook facts (docs/references.md)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("background", [0.0, 0.07, 0.5, 3.0, 50.0, 1000.0])
def test_zero_observed_is_minus_ln_alpha_whatever_the_background(background):
    assert L.upper_limit(0, background) == pytest.approx(LN10, rel=1e-6)


@pytest.mark.parametrize(
    ("background", "uncertainty"), [(0.07, 0.03), (1.0, 0.5), (5.0, 5.0), (0.2, 1.0)]
)
def test_zero_observed_with_background_uncertainty_stays_2p30(background, uncertainty):
    assert L.upper_limit(0, background, uncertainty) == pytest.approx(LN10, rel=1e-6)


def test_zero_observed_at_95_percent_is_3p00():
    s95 = L.upper_limit(0, 0.07, 0.03, cl=0.95)
    assert s95 == pytest.approx(-math.log(0.05), rel=1e-6)
    assert round(s95, 2) == 3.00


def test_signal_uncertainty_pushes_the_limit_up_by_the_closed_form():
    # n_obs = 0: CLs = E_k[exp(-s k)] = (1 + s r^2)^(-1/r^2) for k ~ Gamma(mean 1, rel. std r)
    r = 0.1
    expected = (0.1 ** (-(r**2)) - 1.0) / r**2  # 2.3293
    got = L.upper_limit(0, 0.07, 0.03, signal_uncertainty=r)
    assert got == pytest.approx(expected, rel=1e-9)
    ups = [L.upper_limit(0, 0.07, 0.03, signal_uncertainty=x) for x in (0.0, 0.05, 0.1, 0.2, 0.4)]
    assert np.all(np.diff(ups) > 0)
    assert ups[1] - ups[0] < 0.01  # "slightly": 5 % gives well under 1 % more


def test_tiny_signal_uncertainty_is_continuous_with_none():
    for n in (0, 4):
        a = L.upper_limit(n, 2.0, 0.5)
        b = L.upper_limit(n, 2.0, 0.5, signal_uncertainty=1e-6)
        assert b == pytest.approx(a, rel=1e-9)
        assert b >= a


# ------------------------------------------------------------------------------------------
# exact values against independent computations
# ------------------------------------------------------------------------------------------
# PDG Review of Particle Physics, Statistics, table "Poisson upper limits for n observed
# events" (b = 0): identical for classical, CLs and flat-prior Bayesian limits.
PDG_90 = [2.30, 3.89, 5.32, 6.68, 7.99, 9.27, 10.53, 11.77, 12.99, 14.21, 15.41]
PDG_95 = [3.00, 4.74, 6.30, 7.75, 9.15, 10.51, 11.84, 13.15, 14.43, 15.71, 16.96]


@pytest.mark.parametrize("method", ["cls", "bayes"])
def test_pdg_table_without_background(method):
    for n, (u90, u95) in enumerate(zip(PDG_90, PDG_95, strict=True)):
        assert round(L.upper_limit(n, 0.0, method=method), 2) == u90
        assert round(L.upper_limit(n, 0.0, cl=0.95, method=method), 2) == u95


@pytest.mark.parametrize(("n", "b", "s"), [(0, 0.07, 2.0), (3, 1.2, 4.0), (12, 9.5, 7.0)])
def test_cls_equals_ratio_of_poisson_cdfs(n, b, s):
    clsb, clb, cls = L.cls_pvalues(s, n, b)
    assert clsb == pytest.approx(special.pdtr(n, s + b), rel=1e-10)
    assert clb == pytest.approx(special.pdtr(n, b), rel=1e-10)
    assert cls == pytest.approx(special.pdtr(n, s + b) / special.pdtr(n, b), rel=1e-10)


def test_limit_solves_cls_equal_alpha():
    for n, b, db, r in [(2, 0.5, 0.2, 0.0), (7, 4.0, 1.0, 0.15), (0, 0.07, 0.03, 0.3)]:
        s = L.upper_limit(n, b, db, signal_uncertainty=r)
        assert L.cls_pvalues(s, n, b, db, signal_uncertainty=r)[2] == pytest.approx(0.1, rel=1e-8)


def _gamma(mean, sd):
    shape = (mean / sd) ** 2
    return stats.gamma(shape, scale=mean / shape)


@pytest.mark.parametrize(("n", "b", "db", "s"), [(0, 0.07, 0.03, 2.0), (4, 2.0, 0.8, 5.0)])
def test_background_uncertainty_matches_numerical_integration(n, b, db, s):
    prior = _gamma(b, db)

    def marginal(sig):
        return integrate.quad(
            lambda x: special.pdtr(n, sig + x) * prior.pdf(x), 0, np.inf, epsabs=0, epsrel=1e-11
        )[0]

    clsb, clb, cls = L.cls_pvalues(s, n, b, db)
    assert clsb == pytest.approx(marginal(s), rel=1e-7)
    assert clb == pytest.approx(marginal(0.0), rel=1e-7)
    assert cls == pytest.approx(marginal(s) / marginal(0.0), rel=1e-7)


def test_signal_uncertainty_matches_numerical_integration():
    n, b, s, r = 3, 1.5, 6.0, 0.25
    prior = _gamma(1.0, r)
    num = integrate.quad(lambda k: special.pdtr(n, s * k + b) * prior.pdf(k), 0, np.inf)[0]
    clsb, clb, _ = L.cls_pvalues(s, n, b, signal_uncertainty=r)
    assert clsb == pytest.approx(num, rel=1e-7)
    assert clb == pytest.approx(special.pdtr(n, b), rel=1e-12)


# ------------------------------------------------------------------------------------------
# monotonicity and shape
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("b", "db", "r"), [(0.07, 0.03, 0.0), (5.0, 0.0, 0.1), (5.0, 2.0, 0.2)])
def test_monotonic_in_n_obs(b, db, r):
    ups = [L.upper_limit(n, b, db, signal_uncertainty=r) for n in range(31)]
    assert np.all(np.diff(ups) > 0)


@pytest.mark.parametrize("n", [1, 3, 10])
def test_limit_decreases_with_background_at_fixed_n(n):
    ups = [L.upper_limit(n, b) for b in np.linspace(0.0, 30.0, 31)]
    assert np.all(np.diff(ups) < 0)
    assert ups[-1] > LN10  # CLs never excludes below the n_obs = 0 limit


def test_bayes_flat_prior_equals_cls_without_signal_uncertainty():
    # Helene (1983): for a Poisson count with known b the two limits coincide.
    for n, b, db in [(0, 3.0, 0.0), (2, 1.0, 0.0), (9, 6.5, 0.0), (4, 2.0, 1.0)]:
        bayes = L.upper_limit(n, b, db, method="bayes")
        cls = L.upper_limit(n, b, db)
        if db == 0.0:
            assert bayes == pytest.approx(cls, rel=1e-9)
        else:  # integrated background: the two differ, but only slightly
            assert bayes == pytest.approx(cls, rel=0.05)


def test_bayes_with_signal_uncertainty_matches_numerical_posterior():
    n, b, r, cl = 2, 1.0, 0.3, 0.9
    # marginal likelihood E_k[Pois(n | s k + b)], k ~ Gamma(shape a, rate a), by Gauss-Laguerre
    a = 1.0 / r**2
    u, w = special.roots_genlaguerre(80, a - 1.0)
    k, w = u / a, w / special.gamma(a)

    def like(s):
        return float(np.sum(w * stats.poisson.pmf(n, s * k + b)))

    s_up = L.upper_limit(n, b, signal_uncertainty=r, method="bayes")
    inside = integrate.quad(like, 0, s_up, epsrel=1e-10)[0]
    total = inside + integrate.quad(like, s_up, np.inf, epsrel=1e-10)[0]
    assert inside / total == pytest.approx(cl, abs=1e-7)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(0, 40),
    b=st.floats(0.0, 40.0),
    rel_db=st.floats(0.0, 2.0),
    r=st.floats(0.0, 0.9),
    method=st.sampled_from(["cls", "bayes"]),
)
def test_limit_properties(n, b, rel_db, r, method):
    db = rel_db * b
    s = L.upper_limit(n, b, db, signal_uncertainty=r, method=method)
    assert s >= LN10 * (1 - 1e-9)  # n_obs = 0 is the strongest possible limit
    assert L.upper_limit(n + 1, b, db, signal_uncertainty=r, method=method) > s
    if method == "cls":
        assert L.cls_pvalues(s, n, b, db, signal_uncertainty=r)[2] == pytest.approx(0.1, rel=1e-6)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(0, 40), b=st.floats(0.01, 40.0), rel_db=st.floats(0.0, 1.0))
def test_asymptotic_limit_is_finite_and_increasing(n, b, rel_db):
    s = L.upper_limit(n, b, rel_db * b, method="asymptotic")
    assert 0 < s < L.upper_limit(n + 1, b, rel_db * b, method="asymptotic")


# ------------------------------------------------------------------------------------------
# asymptotic method and pyhf
# ------------------------------------------------------------------------------------------
def test_asymptotic_is_badly_off_at_zero_observed():
    asym = L.upper_limit(0, 0.07, 0.03, method="asymptotic")
    assert asym == pytest.approx(1.44, abs=0.01)
    assert asym < 0.7 * L.upper_limit(0, 0.07, 0.03)


@pytest.mark.parametrize(("n", "b", "db"), [(5, 3.0, 1.0), (10, 8.0, 2.0), (20, 15.0, 3.0)])
def test_exact_is_about_half_an_event_above_asymptotic(n, b, db):
    # the continuity correction of a discrete count: P(n <= n_obs) ~ continuous n_obs + 1/2
    diff = L.upper_limit(n, b, db) - L.upper_limit(n, b, db, method="asymptotic")
    assert 0.3 < diff < 0.8


def test_exact_approaches_asymptotic_for_large_counts():
    n = b = 1000
    exact = L.upper_limit(n, b, 5.0)
    asym = L.upper_limit(n, b, 5.0, method="asymptotic")
    assert exact - asym == pytest.approx(0.5, abs=0.15)
    assert exact / asym - 1 < 0.01


PYHF_CASES = [(5, 3.0, 1.0), (8, 5.0, 1.5), (10, 8.0, 2.0), (14, 10.0, 0.5), (20, 15.0, 3.0)]


@pytest.mark.filterwarnings("ignore:jsonschema.RefResolver:DeprecationWarning")
@pytest.mark.parametrize(("n", "b", "db"), PYHF_CASES)
def test_asymptotic_pvalues_match_pyhf(n, b, db):
    pyhf = pytest.importorskip("pyhf")
    pyhf.set_backend("numpy")
    model = pyhf.simplemodels.uncorrelated_background(signal=[1.0], bkg=[b], bkg_uncertainty=[db])
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, 100.0)
    data = [float(n), *model.config.auxdata]
    for s in (0.5 * b, L.upper_limit(n, b, db, method="asymptotic"), 2.0 * b):
        cls, (clsb, clb) = pyhf.infer.hypotest(
            s, data, model, test_stat="qtilde", par_bounds=bounds, return_tail_probs=True
        )
        ours = L.cls_pvalues(s, n, b, db, method="asymptotic")
        assert ours == pytest.approx((float(clsb), float(clb), float(cls)), rel=1e-4)


def test_upper_limit_pyhf_respects_the_level():
    pytest.importorskip("pyhf")
    n, b, db = 10, 8.0, 2.0
    u90 = L.upper_limit_pyhf(n, b, db, cl=0.9)
    u95 = L.upper_limit_pyhf(n, b, db, cl=0.95)
    assert u90 == pytest.approx(L.upper_limit(n, b, db, method="asymptotic"), rel=1e-3)
    assert u95 == pytest.approx(L.upper_limit(n, b, db, cl=0.95, method="asymptotic"), rel=1e-3)
    assert u95 > u90 * 1.1
    # the exact limit: half an event above pyhf's asymptotic one
    assert 0.3 < L.upper_limit(n, b, db) - u90 < 0.8
    with pytest.raises(ValueError, match="edge of the scan"):
        L.upper_limit_pyhf(n, b, db, scan=np.linspace(0.1, 2.0, 5))
    with pytest.raises(ValueError, match="background_uncertainty > 0"):
        L.upper_limit_pyhf(n, b, 0.0)


# ------------------------------------------------------------------------------------------
# expected limits
# ------------------------------------------------------------------------------------------
def test_expected_limits_for_the_2022_background():
    band = L.expected_limits(0.07, 0.03)
    s0 = L.upper_limit(0, 0.07, 0.03)
    # P(n = 0) = 0.93 (NB prior predictive): every quantile up to Φ(1) is n = 0, Φ(2) is n = 1
    assert band.minus2 == band.minus1 == band.median == band.plus1 == s0
    assert band.plus2 == L.upper_limit(1, 0.07, 0.03)


def test_expected_limits_zero_background_is_degenerate():
    band = L.expected_limits(0.0)
    assert all(v == pytest.approx(LN10, rel=1e-12) for v in band.as_dict().values())


@pytest.mark.parametrize(("b", "db"), [(5.3, 0.0), (12.0, 3.0), (0.8, 0.4)])
def test_expected_limits_are_quantiles_of_the_limit_distribution(b, db):
    # brute force: the distribution of the limit over n, and its quantiles by definition
    ns = np.arange(200)
    if db == 0:
        pn = stats.poisson.pmf(ns, b)
    else:
        shape = (b / db) ** 2
        pn = stats.nbinom.pmf(ns, shape, shape / (shape + b))
    quant = L.background_only_quantiles(b, db)
    band = L.expected_limits(b, db)
    ups = np.array([L.upper_limit(n, b, db) for n in range(max(quant.values()) + 3)])
    cdf_ul = np.cumsum(pn[: ups.size])  # P(UL <= ups[k]) because UL is increasing in n
    for name, z in L.QUANTILES.items():
        q = special.ndtr(z)
        first = int(np.argmax(cdf_ul >= q))  # smallest value with P(UL <= x) >= q
        assert getattr(band, name) == ups[first]
        if db == 0:
            assert quant[name] == stats.poisson.ppf(q, b)
    values = list(band.as_dict().values())
    assert values == sorted(values)


# ------------------------------------------------------------------------------------------
# coupling limits
# ------------------------------------------------------------------------------------------
def _scan(n_mass=100):
    masses = np.geomspace(0.01, 2.0, n_mass)
    yields = 50.0 * np.exp(-masses)  # any positive shape
    yields[-1] = 0.0  # no sensitivity at the last mass
    return masses, yields


def test_coupling_limit_formula_and_zero_yield():
    masses, yields = _scan()
    g_ref = 1e-3
    res = L.coupling_limit(
        masses, yields, g_ref, n_obs=0, background=0.07, background_uncertainty=0.03
    )
    s_up = L.upper_limit(0, 0.07, 0.03)
    assert res.events_observed == s_up
    np.testing.assert_allclose(res.observed[:-1], g_ref * np.sqrt(s_up / yields[:-1]), rtol=1e-14)
    assert np.isinf(res.observed[-1])
    assert all(np.isinf(v[-1]) for v in res.expected.as_dict().values())
    np.testing.assert_array_equal(res.masses, masses)
    # expected band in couplings is the event band mapped through the same formula
    band = L.expected_limits(0.07, 0.03)
    np.testing.assert_allclose(res.expected.plus2[:-1], g_ref * np.sqrt(band.plus2 / yields[:-1]))


def test_coupling_limit_scales_as_sqrt_of_yield_and_matches_per_mass_loop():
    masses, yields = _scan(20)
    yields = yields[:-1] + 1.0
    masses = masses[:-1]
    kw = dict(n_obs=3, background=1.5, background_uncertainty=0.5, signal_uncertainty=0.1)
    res = L.coupling_limit(masses, yields, 2e-4, **kw)
    res4 = L.coupling_limit(masses, 4.0 * yields, 2e-4, **kw)
    np.testing.assert_allclose(res4.observed, res.observed / 2.0, rtol=1e-14)
    # σ ∝ g²: the yield at the limiting coupling equals the event limit, mass by mass
    for m_i, n_i, g_i in zip(masses, yields, res.observed, strict=True):
        assert n_i * (g_i / 2e-4) ** 2 == pytest.approx(
            L.upper_limit(3, 1.5, 0.5, signal_uncertainty=0.1), rel=1e-12
        ), m_i


# ------------------------------------------------------------------------------------------
# projections in MOT
# ------------------------------------------------------------------------------------------
PROJ = dict(mot_ref=1.98e10, masses=[0.05, 0.5], signal_yield_ref=[200.0, 8.0], g_ref=1e-3)


def test_projection_zero_background_scales_as_mot_to_minus_half():
    mot = np.array([1.98e10, 1e11, 3.5e11, 2e13])
    p = L.project(mot, background_ref=0.0, **PROJ)
    for name, g in p.expected.as_dict().items():
        assert g.shape == (4, 2)
        np.testing.assert_allclose(
            g, g[:1] * np.sqrt(mot[0] / mot)[:, None], rtol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(p.events_expected.median, LN10, rtol=1e-12)


def test_projection_with_background_degrades_towards_minus_quarter():
    mot = np.geomspace(1.98e10, 1.98e16, 13)
    p = L.project(mot, background_ref=0.07, **PROJ)
    np.testing.assert_allclose(p.background, 0.07 * mot / 1.98e10)
    for g in p.expected.as_dict().values():
        assert np.all(np.diff(g, axis=0) < 0)  # improves monotonically with exposure
    slope = np.diff(np.log(p.expected.median[:, 0])) / np.diff(np.log(mot))
    assert slope[0] == pytest.approx(-0.5, abs=1e-9)  # still b << 1: n = 0 dominates
    assert -0.30 < slope[-1] < -0.22  # b ~ 1e5: sqrt(b)/N ∝ MOT^{-1/2}
    assert slope[-1] > slope[0]


def test_projection_with_fixed_relative_background_uncertainty_saturates():
    mot = np.array([1e14, 1e15, 1e16])
    p = L.project(mot, background_ref=0.07, background_uncertainty_ref=0.03, **PROJ)
    slope = np.diff(np.log(p.expected.median[:, 0])) / np.diff(np.log(mot))
    assert np.all(slope < 0)
    assert slope[-1] > -0.01  # systematics-limited: more MOT hardly helps


def test_projection_scalar_mot_and_the_2022_point():
    p = L.project(1.98e10, background_ref=0.07, background_uncertainty_ref=0.03, **PROJ)
    direct = L.coupling_limit(
        PROJ["masses"],
        PROJ["signal_yield_ref"],
        1e-3,
        n_obs=0,
        background=0.07,
        background_uncertainty=0.03,
    )
    np.testing.assert_allclose(p.expected.median[0], direct.expected.median, rtol=1e-14)
    np.testing.assert_array_equal(p.mot, [1.98e10])


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_obs=-1, background=1.0), "n_obs.*-1"),
        (dict(n_obs=2.5, background=1.0), "n_obs.*2.5"),
        (dict(n_obs=True, background=1.0), "n_obs"),
        (dict(n_obs="3", background=1.0), "n_obs"),
        (dict(n_obs=1, background=-0.1), "background.*-0.1"),
        (dict(n_obs=1, background=float("nan")), "background.*nan"),
        (
            dict(n_obs=1, background=1.0, background_uncertainty=-0.2),
            "background_uncertainty.*-0.2",
        ),
        (dict(n_obs=1, background=0.0, background_uncertainty=0.2), "needs background > 0"),
        (dict(n_obs=1, background=1.0, cl=1.0), "cl.*1.0"),
        (dict(n_obs=1, background=1.0, cl=0.0), "cl.*0.0"),
        (dict(n_obs=1, background=1.0, cl=90), "cl.*90"),
        (dict(n_obs=1, background=1.0, signal_uncertainty=-0.1), "signal_uncertainty.*-0.1"),
        (dict(n_obs=1, background=1.0, method="fc"), "method.*fc"),
        (dict(n_obs=1, background=1.0, signal_uncertainty=1.5, method="bayes"), "1.5"),
        (dict(n_obs=1, background=1.0, signal_uncertainty=0.1, method="asymptotic"), "0.1"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.upper_limit(**kwargs)


def test_integral_float_n_obs_is_accepted():
    assert L.upper_limit(3.0, 1.0) == L.upper_limit(np.int64(3), 1.0) == L.upper_limit(3, 1.0)


@pytest.mark.parametrize(
    ("yields", "match"),
    [([1.0, -2.0, 3.0], "signal_yield_ref.*entry 1.*-2.0"), ([1.0, float("nan"), 3.0], "nan")],
)
def test_bad_yields(yields, match):
    with pytest.raises(ValueError, match=match):
        L.coupling_limit([0.1, 0.2, 0.3], yields, 1e-3, n_obs=0, background=0.07)


def test_bad_scan_arguments():
    with pytest.raises(ValueError, match="one value per mass"):
        L.coupling_limit([0.1, 0.2], [1.0], 1e-3, n_obs=0, background=0.07)
    with pytest.raises(ValueError, match="g_ref.*0"):
        L.coupling_limit([0.1], [1.0], 0.0, n_obs=0, background=0.07)
    with pytest.raises(ValueError, match="mot.*-1"):
        L.project([1e11, -1.0], background_ref=0.07, **PROJ)
    with pytest.raises(ValueError, match="background_ref.*-0.07"):
        L.project(1e11, background_ref=-0.07, **PROJ)


def test_public_names():
    import na64tools
    from na64tools import stats

    assert na64tools.limits is L
    for name in L.__all__:
        assert getattr(stats, name) is getattr(L, name)


# ------------------------------------------------------------------------------------------
# signal-yield systematics of the setup (WW, acceptance model, MOT) in the limit
# ------------------------------------------------------------------------------------------
def test_setup_signal_uncertainty_is_the_quadrature_sum():
    from na64tools import default_setup
    from na64tools.stats.signal import signal_systematics, signal_uncertainty

    setup = default_setup()
    parts = signal_systematics(setup)
    assert parts == {"ww_approximation": 0.10, "acceptance_model": 0.10,
                     "mot": pytest.approx(0.02 / 1.98, rel=1e-12)}  # (1.98 ± 0.02)e10 MOT
    assert signal_uncertainty(setup) == pytest.approx(math.sqrt(0.01 + 0.01 + (0.02 / 1.98) ** 2), rel=1e-12)
    assert signal_uncertainty(setup) == pytest.approx(0.14178, abs=1e-5)
    for name in ("ww_approximation", "acceptance_model"):
        q = getattr(setup.systematics, name)
        assert q.unit == "1" and "assumption" in q.source


def _s_up_smeared(pdf, lo=0.0):
    """n_obs = 0 CLs limit with the signal yield smeared by ``pdf`` (numerical integration)."""
    norm = integrate.quad(pdf, lo, np.inf)[0]

    def cls(s):
        return integrate.quad(lambda k: np.exp(-s * k) * pdf(k), lo, np.inf)[0] / norm

    from scipy.optimize import brentq

    return brentq(lambda s: cls(s) - 0.1, 1.0, 10.0, xtol=1e-12)


@pytest.mark.parametrize("r", [0.1, 0.14178])
def test_signal_uncertainty_limit_against_independent_integration(r):
    assert L.upper_limit(0, 0.07, 0.03) == pytest.approx(-math.log(0.1), rel=1e-10)  # 2.303
    got = L.upper_limit(0, 0.07, 0.03, signal_uncertainty=r)
    assert got > -math.log(0.1) * (1 + r * r / 4)  # the uncertainty pushes the limit up
    # the same Gamma prior integrated numerically (independent of the closed form)
    gamma = _gamma(1.0, r)
    assert got == pytest.approx(_s_up_smeared(gamma.pdf), rel=1e-7)
    # a Gaussian prior truncated at 0 (the other common choice) agrees within a few per mille
    normal = stats.norm(1.0, r)
    assert got == pytest.approx(_s_up_smeared(normal.pdf), rel=5e-3)
